/*
 * End-to-end tests of `frontdeskd migrate` and the server's start-up schema
 * check, against a real PostgreSQL (PGHOST, PGPORT, PGUSER from the test
 * runner). Each case gets its own scratch database and a temporary
 * migrations folder it writes files into, and calls migrate_command exactly
 * as `frontdeskd migrate` does, capturing what it prints. One case runs the
 * real `frontdeskd migrate up` and kills it with SIGKILL in the middle of a
 * file (docs/RELIABILITY.md).
 */
#include <dirent.h>
#include <libpq-fe.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <unistd.h>

#include "harness.h"
#include "migrate.h"
#include "pg.h"

#define OUT_MAX 16384

struct scratch {
	char db[64];
	char conninfo[96];
	char dir[64];
	PGconn *conn; /* to the scratch database, to look at the outcome */
	char out[OUT_MAX]; /* stdout of the last run */
	char err[OUT_MAX]; /* stderr of the last run */
};

/* Runs a statement on the maintenance database "postgres". Database names
 * cannot be parameters; the only names used are built from integers. */
static bool admin_exec(const char *sql)
{
	PGconn *c = PQconnectdb("dbname=postgres");
	PGresult *res = NULL;
	bool ok = false;

	if (PQstatus(c) != CONNECTION_OK) {
		th_fail(__FILE__, __LINE__, "cannot connect to postgres: %s",
			PQerrorMessage(c));
		goto out;
	}
	res = PQexec(c, sql);
	ok = PQresultStatus(res) == PGRES_COMMAND_OK;
	if (!ok)
		th_fail(__FILE__, __LINE__, "%s: %s", sql,
			PQresultErrorMessage(res));
out:
	PQclear(res);
	PQfinish(c);
	return ok;
}

static bool scratch_open(struct scratch *s)
{
	static int counter;
	char sql[128];

	memset(s, 0, sizeof *s);
	snprintf(s->db, sizeof s->db, "fd_test_migrate_%d_%d", (int)getpid(),
		 ++counter);
	snprintf(s->conninfo, sizeof s->conninfo, "dbname=%s", s->db);
	snprintf(sql, sizeof sql, "CREATE DATABASE %s", s->db);
	if (!admin_exec(sql)) {
		s->db[0] = '\0';
		return false;
	}
	s->conn = PQconnectdb(s->conninfo);
	if (PQstatus(s->conn) != CONNECTION_OK) {
		th_fail(__FILE__, __LINE__, "cannot connect to %s: %s", s->db,
			PQerrorMessage(s->conn));
		return false;
	}
	snprintf(s->dir, sizeof s->dir, "/tmp/fd-test-migrate-XXXXXX");
	if (!mkdtemp(s->dir)) {
		th_fail(__FILE__, __LINE__, "mkdtemp failed");
		s->dir[0] = '\0';
		return false;
	}
	return true;
}

static void remove_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char path[512];

	if (!d)
		return;
	while ((de = readdir(d))) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
		unlink(path);
	}
	closedir(d);
	rmdir(dir);
}

static void scratch_close(struct scratch *s)
{
	char sql[128];

	PQfinish(s->conn);
	if (s->db[0]) {
		snprintf(sql, sizeof sql,
			 "DROP DATABASE IF EXISTS %s WITH (FORCE)", s->db);
		admin_exec(sql);
	}
	if (s->dir[0])
		remove_dir(s->dir);
}

/* Each case body runs between scratch_open and scratch_close, so a failed
 * CHECK (which returns from the body) still drops the database. */
static void with_scratch(void (*body)(struct scratch *))
{
	struct scratch *s = malloc(sizeof *s);

	if (!s) {
		th_fail(__FILE__, __LINE__, "out of memory");
		return;
	}
	if (scratch_open(s))
		body(s);
	scratch_close(s);
	free(s);
}

static void write_file(struct scratch *s, const char *name, const char *text)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof path, "%s/%s", s->dir, name);
	f = fopen(path, "w");
	if (!f) {
		th_fail(__FILE__, __LINE__, "cannot write %s", path);
		return;
	}
	fputs(text, f);
	fclose(f);
}

static void remove_file(struct scratch *s, const char *name)
{
	char path[512];

	snprintf(path, sizeof path, "%s/%s", s->dir, name);
	unlink(path);
}

static void slurp(FILE *f, char *buf)
{
	size_t n;

	rewind(f);
	n = fread(buf, 1, OUT_MAX - 1, f);
	buf[n] = '\0';
	fclose(f);
}

/* Calls migrate_command with stdout and stderr captured into s->out and
 * s->err (libpq's notices go to stderr too). */
static int run_argv(struct scratch *s, int argc, char **argv)
{
	FILE *o = tmpfile(), *e = tmpfile();
	int saved_out, saved_err, rc;

	if (!o || !e) {
		th_fail(__FILE__, __LINE__, "tmpfile failed");
		return -1;
	}
	fflush(stdout);
	fflush(stderr);
	saved_out = dup(STDOUT_FILENO);
	saved_err = dup(STDERR_FILENO);
	dup2(fileno(o), STDOUT_FILENO);
	dup2(fileno(e), STDERR_FILENO);
	rc = migrate_command(argc, argv, s->conninfo);
	fflush(stdout);
	fflush(stderr);
	dup2(saved_out, STDOUT_FILENO);
	dup2(saved_err, STDERR_FILENO);
	close(saved_out);
	close(saved_err);
	slurp(o, s->out);
	slurp(e, s->err);
	return rc;
}

static int run(struct scratch *s, const char *cmd)
{
	char *argv[] = { "migrate", (char *)cmd, "--migrations", s->dir, NULL };

	return run_argv(s, 4, argv);
}

/* Runs a migrate command and fails the case, showing its output, unless it
 * exits with `want`. */
#define CHECK_RUN(s, cmd, want)                                              \
	do {                                                                 \
		int rc_ = run((s), (cmd));                                   \
		CHECK_MSG(rc_ == (want),                                     \
			  "migrate %s: exit %d, want %d\n--- stdout:\n%s"    \
			  "--- stderr:\n%s",                                 \
			  (cmd), rc_, (want), (s)->out, (s)->err);           \
	} while (0)

#define CHECK_HAS(text, needle)                                              \
	CHECK_MSG(strstr((text), (needle)) != NULL,                          \
		  "expected \"%s\" in:\n%s", (needle), (text))

/* First column of the first row of a parameterless query, as a string in
 * buf ("" for NULL, "<error>" on failure). */
static const char *q_str(struct scratch *s, const char *sql, char *buf,
			 size_t size)
{
	PGresult *res = PQexecParams(s->conn, sql, 0, NULL, NULL, NULL, NULL,
				     0);

	if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1)
		snprintf(buf, size, "%s", PQgetvalue(res, 0, 0));
	else
		snprintf(buf, size, "<error: %s>", PQresultErrorMessage(res));
	PQclear(res);
	return buf;
}

static int q_int(struct scratch *s, const char *sql)
{
	char buf[256];

	q_str(s, sql, buf, sizeof buf);
	return buf[0] == '<' ? -1 : atoi(buf);
}

static bool rel_exists(struct scratch *s, const char *name)
{
	const char *params[] = { name };
	PGresult *res = PQexecParams(s->conn,
				     "SELECT to_regclass($1) IS NOT NULL", 1,
				     NULL, params, NULL, NULL, 0);
	bool yes = PQresultStatus(res) == PGRES_TUPLES_OK &&
		   strcmp(PQgetvalue(res, 0, 0), "t") == 0;

	PQclear(res);
	return yes;
}

/* The line of text holding needle, copied into line ("" if none). */
static const char *line_with(const char *text, const char *needle, char *line,
			     size_t size)
{
	const char *p = strstr(text, needle), *start, *end;

	line[0] = '\0';
	if (!p)
		return line;
	for (start = p; start > text && start[-1] != '\n'; start--)
		;
	end = strchr(p, '\n');
	if (!end)
		end = p + strlen(p);
	snprintf(line, size, "%.*s", (int)(end - start), start);
	return line;
}

static void sha256_hex(const char *text, char out[65])
{
	unsigned char h[crypto_hash_sha256_BYTES];

	if (sodium_init() < 0)
		abort();
	crypto_hash_sha256(h, (const unsigned char *)text, strlen(text));
	sodium_bin2hex(out, 65, h, sizeof h);
}

/* ---- cases ---------------------------------------------------------- */

static const char *const PEOPLE = "CREATE TABLE people (id integer PRIMARY KEY);\n";
static const char *const ADD_NAME = "-- depends on 0001\n"
				    "ALTER TABLE people ADD COLUMN name text;\n"
				    "INSERT INTO people VALUES (1, 'a');\n";
static const char *const INDEX = "CREATE INDEX people_name_idx ON people (name);\n";

static void up_applies_in_order_body(struct scratch *s)
{
	char buf[512], sum[65];
	const char *a1, *a2, *a3;

	/* Written out of order so directory order is not file order. */
	write_file(s, "0003_index.sql", INDEX);
	write_file(s, "0002_add_name.sql", ADD_NAME);
	write_file(s, "0001_people.sql", PEOPLE);
	CHECK_RUN(s, "up", 0);
	a1 = strstr(s->out, "applied 0001_people.sql");
	a2 = strstr(s->out, "applied 0002_add_name.sql");
	a3 = strstr(s->out, "applied 0003_index.sql");
	CHECK_MSG(a1 && a2 && a3 && a1 < a2 && a2 < a3, "order:\n%s", s->out);
	CHECK_HAS(s->out, "schema is now at version 3");
	CHECK(rel_exists(s, "people_name_idx"));
	CHECK_INT(q_int(s, "SELECT count(*) FROM people"), 1);
	CHECK_STR(q_str(s, "SELECT string_agg(version || ':' || name, ',' "
			   "ORDER BY version) FROM schema_migrations",
			buf, sizeof buf),
		  "1:people,2:add_name,3:index");
	sha256_hex(PEOPLE, sum);
	CHECK_STR(q_str(s, "SELECT checksum FROM schema_migrations "
			   "WHERE version = 1", buf, sizeof buf), sum);
	sha256_hex(ADD_NAME, sum);
	CHECK_STR(q_str(s, "SELECT checksum FROM schema_migrations "
			   "WHERE version = 2", buf, sizeof buf), sum);
	sha256_hex(INDEX, sum);
	CHECK_STR(q_str(s, "SELECT checksum FROM schema_migrations "
			   "WHERE version = 3", buf, sizeof buf), sum);
	CHECK_INT(q_int(s, "SELECT count(*) FROM schema_migrations "
			   "WHERE applied_at IS NULL"), 0);
	CHECK_RUN(s, "verify", 0);
}

static void up_applies_in_order_and_records_checksums(void)
{
	with_scratch(up_applies_in_order_body);
}

static void up_twice_body(struct scratch *s)
{
	char before[512], after[512];

	write_file(s, "0001_people.sql", PEOPLE);
	write_file(s, "0002_add_name.sql", ADD_NAME);
	CHECK_RUN(s, "up", 0);
	q_str(s, "SELECT string_agg(version || '@' || applied_at, ',' ORDER BY "
		 "version) FROM schema_migrations", before, sizeof before);
	CHECK_RUN(s, "up", 0);
	CHECK_HAS(s->out, "schema is up to date at version 2");
	CHECK(!strstr(s->out, "applied 0001"));
	q_str(s, "SELECT string_agg(version || '@' || applied_at, ',' ORDER BY "
		 "version) FROM schema_migrations", after, sizeof after);
	CHECK_STR(after, before);
	CHECK_INT(q_int(s, "SELECT count(*) FROM people"), 1);
}

static void up_twice_is_noop(void)
{
	with_scratch(up_twice_body);
}

static void changed_file_body(struct scratch *s)
{
	write_file(s, "0001_people.sql", PEOPLE);
	write_file(s, "0002_add_name.sql", ADD_NAME);
	CHECK_RUN(s, "up", 0);

	/* An edit after applying, even a comment, and a new pending file. */
	write_file(s, "0001_people.sql", "-- tidied\nCREATE TABLE people "
					 "(id integer PRIMARY KEY);\n");
	write_file(s, "0003_extra.sql", "CREATE TABLE extra (id integer);\n");
	CHECK_RUN(s, "verify", EX_DATAERR);
	CHECK_HAS(s->err, "0001_people.sql has changed since it was applied");
	CHECK_HAS(s->err, "new migration");
	CHECK_RUN(s, "status", 0);
	CHECK_HAS(s->out, "FILE CHANGED");
	CHECK_RUN(s, "up", EX_DATAERR);
	CHECK_HAS(s->err, "0001_people.sql has changed");
	CHECK_HAS(s->err, "nothing applied");
	CHECK(!rel_exists(s, "extra"));
	CHECK_INT(q_int(s, "SELECT count(*) FROM schema_migrations"), 2);

	/* Putting the file back lets up go on. */
	write_file(s, "0001_people.sql", PEOPLE);
	CHECK_RUN(s, "verify", EX_DATAERR);
	CHECK_HAS(s->err, "0003_extra.sql is pending");
	CHECK_RUN(s, "up", 0);
	CHECK(rel_exists(s, "extra"));
	CHECK_RUN(s, "verify", 0);

	/* An applied migration whose file is gone: a folder older than the
	 * database. */
	remove_file(s, "0003_extra.sql");
	CHECK_RUN(s, "verify", EX_DATAERR);
	CHECK_HAS(s->err, "version 0003 (extra) is applied but");
	CHECK_RUN(s, "status", 0);
	CHECK_HAS(s->out, "NO FILE");
	CHECK_RUN(s, "up", EX_DATAERR);
}

static void changed_file_fails_verify_and_blocks_up(void)
{
	with_scratch(changed_file_body);
}

static void failing_file_body(struct scratch *s)
{
	char buf[64];

	write_file(s, "0001_first.sql", "CREATE TABLE first_t (id integer);\n");
	write_file(s, "0002_second.sql",
		   "CREATE TABLE second_t (id integer);\n"
		   "INSERT INTO second_t VALUES (1);\n"
		   "INSERT INTO no_such_table VALUES (1);\n");
	CHECK_RUN(s, "up", EX_DATAERR);
	CHECK_HAS(s->out, "applied 0001_first.sql");
	CHECK_HAS(s->err, "0002_second.sql failed");
	CHECK_HAS(s->err, "no_such_table"); /* the server's own message */
	CHECK(rel_exists(s, "first_t"));
	CHECK(!rel_exists(s, "second_t"));
	CHECK_STR(q_str(s, "SELECT string_agg(version::text, ',') FROM "
			   "schema_migrations", buf, sizeof buf), "1");

	/* COPY from stdin cannot work in a file: refused, no hang. */
	write_file(s, "0002_second.sql", "CREATE TABLE second_t (id integer);\n"
					 "COPY second_t FROM STDIN;\n");
	CHECK_RUN(s, "up", EX_DATAERR);
	CHECK_HAS(s->err, "COPY");
	CHECK(!rel_exists(s, "second_t"));
	CHECK_INT(q_int(s, "SELECT count(*) FROM schema_migrations"), 1);

	/* Fixed: the rerun applies it. */
	write_file(s, "0002_second.sql", "CREATE TABLE second_t (id integer);\n"
					 "INSERT INTO second_t VALUES (1);\n");
	CHECK_RUN(s, "up", 0);
	CHECK_HAS(s->out, "applied 0002_second.sql");
	CHECK_INT(q_int(s, "SELECT count(*) FROM second_t"), 1);
	CHECK_INT(q_int(s, "SELECT max(version) FROM schema_migrations"), 2);
	CHECK_RUN(s, "verify", 0);
}

static void failing_file_rolls_back_and_rerun_succeeds(void)
{
	with_scratch(failing_file_body);
}

static void file_that_commits_body(struct scratch *s)
{
	write_file(s, "0001_sneaky.sql", "CREATE TABLE sneaky (id integer);\n"
					 "COMMIT;\n");
	CHECK_RUN(s, "up", EX_DATAERR);
	CHECK_HAS(s->err, "ends the transaction itself");
	CHECK_INT(q_int(s, "SELECT count(*) FROM schema_migrations"), 0);
}

static void file_that_commits_is_not_recorded(void)
{
	with_scratch(file_that_commits_body);
}

/* One admin in a child process, output to out_path. */
static pid_t spawn_up(struct scratch *s, const char *out_path)
{
	pid_t pid;

	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid == 0) {
		char *argv[] = { "migrate", "up", "--migrations", s->dir, NULL };

		if (!freopen(out_path, "w", stdout) ||
		    dup2(fileno(stdout), STDERR_FILENO) < 0)
			_exit(99);
		/* _exit: the parent's connection must not be closed here. */
		_exit(migrate_command(4, argv, s->conninfo));
	}
	return pid;
}

static int wait_exit(pid_t pid)
{
	int status;

	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void read_text(const char *path, char *buf)
{
	FILE *f = fopen(path, "r");

	buf[0] = '\0';
	if (f)
		slurp(f, buf);
}

static void concurrent_body(struct scratch *s)
{
	char p1[128], p2[128];
	const char *first, *second;
	pid_t a, b;
	int rc_a, rc_b;

	/* CREATE TABLE fails if run twice; the sleep makes sure the second
	 * admin arrives while the first holds the lock. */
	write_file(s, "0001_slow.sql", "CREATE TABLE slow (id integer);\n"
				       "SELECT pg_sleep(1.5);\n");
	write_file(s, "0002_after.sql", "CREATE TABLE after_slow (id integer);\n");
	snprintf(p1, sizeof p1, "%s/a.out", s->dir);
	snprintf(p2, sizeof p2, "%s/b.out", s->dir);
	a = spawn_up(s, p1);
	b = spawn_up(s, p2);
	rc_a = wait_exit(a);
	rc_b = wait_exit(b);
	read_text(p1, s->out);
	read_text(p2, s->err);
	CHECK_MSG(rc_a == 0 && rc_b == 0, "exits %d %d\n--- a:\n%s--- b:\n%s",
		  rc_a, rc_b, s->out, s->err);
	CHECK_INT(q_int(s, "SELECT count(*) FROM schema_migrations"), 2);
	CHECK(rel_exists(s, "slow"));
	CHECK(rel_exists(s, "after_slow"));
	/* One applied both files; the other waited and found nothing to do. */
	first = strstr(s->out, "applied 0001_slow.sql") ? s->out : s->err;
	second = first == s->out ? s->err : s->out;
	CHECK_HAS(first, "applied 0002_after.sql");
	CHECK_MSG(!strstr(second, "applied 0"), "both applied:\n%s\n%s",
		  first, second);
	CHECK_HAS(second, "waiting");
	CHECK_HAS(second, "schema is up to date at version 2");
}

static void concurrent_up_applies_each_file_once(void)
{
	with_scratch(concurrent_body);
}

/* `frontdeskd migrate up` killed with SIGKILL while PostgreSQL runs one of
 * its files: the file's transaction never commits, so the schema is as
 * before that file (not half of it), and the next `up` applies it and the
 * rest. The orphaned backend finishes its statement, finds its client gone
 * and rolls back, releasing the migration lock; the rerun waits for that. */
static void killed_midway_body(struct scratch *s)
{
	char db_flag[128], out[256], buf[64];
	pid_t pid;
	int status, seen = 0;

	write_file(s, "0001_first.sql", "CREATE TABLE first_t (id integer);\n");
	CHECK_RUN(s, "up", 0);
	write_file(s, "0002_slow.sql", "CREATE TABLE half_t (id integer);\n"
				       "INSERT INTO half_t VALUES (1);\n"
				       "SELECT pg_sleep(1.5);\n"
				       "ALTER TABLE first_t ADD COLUMN note text;\n");
	write_file(s, "0003_after.sql", "CREATE TABLE after_t (id integer);\n");
	snprintf(db_flag, sizeof db_flag, "--db=%s", s->conninfo);
	snprintf(out, sizeof out, "%s/killed.out", s->dir);
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid == 0) {
		if (!freopen(out, "w", stdout) || dup2(fileno(stdout), STDERR_FILENO) < 0)
			_exit(99);
		execl(tp_bin("frontdeskd"), "frontdeskd", db_flag, "migrate", "up", "--migrations",
		      s->dir, (char *)NULL);
		_exit(127);
	}
	CHECK(pid > 0);
	/* Killed once PostgreSQL is inside 0002 (its sleep), not before. */
	for (int i = 0; i < 200 && !seen; i++) {
		seen = q_int(s, "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
				" AND state = 'active' AND query LIKE '%half_t%'"
				" AND pid <> pg_backend_pid()");
		if (!seen)
			usleep(50 * 1000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	CHECK_MSG(seen == 1, "the migrator never reached 0002 (%d)", seen);
	CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);

	/* As before 0002: nothing of it, nothing after it, version 1. */
	CHECK(rel_exists(s, "first_t"));
	CHECK(!rel_exists(s, "half_t"));
	CHECK(!rel_exists(s, "after_t"));
	CHECK_INT(q_int(s, "SELECT count(*) FROM information_schema.columns"
			   " WHERE table_name = 'first_t' AND column_name = 'note'"), 0);
	CHECK_STR(q_str(s, "SELECT string_agg(version::text, ',') FROM schema_migrations", buf,
			sizeof buf), "1");

	/* The rerun applies 0002 whole, then 0003. */
	CHECK_RUN(s, "up", 0);
	CHECK_HAS(s->out, "applied 0002_slow.sql");
	CHECK_HAS(s->out, "applied 0003_after.sql");
	CHECK_INT(q_int(s, "SELECT count(*) FROM half_t"), 1);
	CHECK_INT(q_int(s, "SELECT count(*) FROM information_schema.columns"
			   " WHERE table_name = 'first_t' AND column_name = 'note'"), 1);
	CHECK_INT(q_int(s, "SELECT max(version) FROM schema_migrations"), 3);
	CHECK_RUN(s, "verify", 0);
}

static void killed_midway_leaves_the_schema_as_before_and_rerun_succeeds(void)
{
	with_scratch(killed_midway_body);
}

static void pending_body(struct scratch *s)
{
	char line[512];

	write_file(s, "0001_people.sql", PEOPLE);
	CHECK_RUN(s, "up", 0);
	CHECK_RUN(s, "verify", 0);
	write_file(s, "0002_add_name.sql", ADD_NAME);
	CHECK_RUN(s, "verify", EX_DATAERR);
	CHECK_HAS(s->err, "0002_add_name.sql is pending");
	CHECK_HAS(s->err, "run `frontdeskd migrate up`");
	CHECK(!rel_exists(s, "people_name_idx")); /* verify changes nothing */
	CHECK_INT(q_int(s, "SELECT count(*) FROM schema_migrations"), 1);
	CHECK_RUN(s, "status", 0);
	CHECK_HAS(line_with(s->out, "add_name", line, sizeof line), "pending");
	CHECK_HAS(line_with(s->out, "0002", line, sizeof line), "add_name");
	CHECK_HAS(line_with(s->out, "people", line, sizeof line), "applied 20");
	CHECK_HAS(s->out, "database schema version: 1");
	CHECK_RUN(s, "up", 0);
	CHECK_RUN(s, "verify", 0);
	CHECK_RUN(s, "status", 0);
	CHECK_HAS(line_with(s->out, "add_name", line, sizeof line), "applied");
}

static void pending_file_fails_verify_and_shows_in_status(void)
{
	with_scratch(pending_body);
}

static void status_verify_on_fresh_db_body(struct scratch *s)
{
	write_file(s, "0001_people.sql", PEOPLE);
	CHECK_RUN(s, "status", 0);
	CHECK_HAS(s->out, "pending");
	CHECK_RUN(s, "verify", EX_DATAERR);
	/* Read-only commands leave no bookkeeping table behind. */
	CHECK(!rel_exists(s, "schema_migrations"));
}

static void status_and_verify_are_read_only(void)
{
	with_scratch(status_verify_on_fresh_db_body);
}

static void check_schema_body(struct scratch *s)
{
	char msg[256], tiny[8];

	CHECK_INT(migrate_check_schema(s->conn, 2, msg, sizeof msg), -1);
	CHECK_HAS(msg, "frontdeskd migrate up");
	CHECK_HAS(msg, "version 0");

	write_file(s, "0001_people.sql", PEOPLE);
	CHECK_RUN(s, "up", 0);
	CHECK_INT(migrate_check_schema(s->conn, 2, msg, sizeof msg), -1);
	CHECK_HAS(msg, "at version 1 but this server needs 2");
	CHECK_HAS(msg, "frontdeskd migrate up");

	write_file(s, "0002_add_name.sql", ADD_NAME);
	CHECK_RUN(s, "up", 0);
	CHECK_INT(migrate_check_schema(s->conn, 2, msg, sizeof msg), 0);

	/* A server older than the schema. */
	CHECK_INT(migrate_check_schema(s->conn, 1, msg, sizeof msg), -1);
	CHECK_HAS(msg, "upgrade the server");

	/* A short buffer still gets a terminated (cut) message. */
	memset(tiny, 'x', sizeof tiny);
	CHECK_INT(migrate_check_schema(s->conn, 3, tiny, sizeof tiny), -1);
	CHECK(memchr(tiny, '\0', sizeof tiny) != NULL);

	/* Rows deleted by hand are not "current". */
	CHECK_INT(q_int(s, "WITH d AS (DELETE FROM schema_migrations WHERE "
			   "version = 1 RETURNING 1) SELECT count(*) FROM d"), 1);
	CHECK_INT(migrate_check_schema(s->conn, 2, msg, sizeof msg), -1);
	CHECK_HAS(msg, "frontdeskd migrate status");
	CHECK_RUN(s, "verify", EX_DATAERR);
	CHECK_HAS(s->err, "0001_people.sql is not applied although");
}

static void check_schema_behind_newer_and_current(void)
{
	with_scratch(check_schema_body);
}

static void bad_names_body(struct scratch *s)
{
	static const char *const bad[] = {
		"1_short.sql", "00002_five.sql", "0002-dash.sql",
		"0002_Upper.sql", "0002_.sql", "0002_sp ace.sql",
		"notes.sql", "0002_loud.SQL", ".0002_hidden.sql",
	};

	write_file(s, "0001_ok.sql", "CREATE TABLE ok_t (id integer);\n");
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		write_file(s, bad[i], "CREATE TABLE bad_t (id integer);\n");
		CHECK_RUN(s, "up", EX_DATAERR);
		CHECK_HAS(s->err, bad[i]);
		CHECK_HAS(s->err, "NNNN_name.sql");
		remove_file(s, bad[i]);
	}
	/* Nothing was touched: the folder is checked before the database. */
	CHECK(!rel_exists(s, "schema_migrations"));
	CHECK(!rel_exists(s, "ok_t"));

	write_file(s, "0001_twin.sql", "SELECT 1;\n");
	CHECK_RUN(s, "verify", EX_DATAERR);
	CHECK_HAS(s->err, "same number");
	remove_file(s, "0001_twin.sql");

	write_file(s, "0003_gap.sql", "SELECT 1;\n");
	CHECK_RUN(s, "up", EX_DATAERR);
	CHECK_HAS(s->err, "expected number 0002");
	remove_file(s, "0003_gap.sql");

	remove_file(s, "0001_ok.sql");
	write_file(s, "0000_zero.sql", "SELECT 1;\n");
	CHECK_RUN(s, "status", EX_DATAERR);
	CHECK_HAS(s->err, "expected number 0001");
	remove_file(s, "0000_zero.sql");
	CHECK(!rel_exists(s, "schema_migrations"));

	/* Files that do not end in .sql are not migrations. */
	write_file(s, "0001_ok.sql", "CREATE TABLE ok_t (id integer);\n");
	write_file(s, "README.md", "notes\n");
	write_file(s, "0002_draft.sql.bak", "garbage\n");
	CHECK_RUN(s, "up", 0);
	CHECK(rel_exists(s, "ok_t"));
}

static void bad_file_names_are_rejected(void)
{
	with_scratch(bad_names_body);
}

static void usage_body(struct scratch *s)
{
	char *none[] = { "migrate", NULL };
	char *unknown[] = { "migrate", "sideways", NULL };
	char *no_dir[] = { "migrate", "up", "--migrations", NULL };
	char *two[] = { "migrate", "up", "status", NULL };
	char *help[] = { "migrate", "--help", NULL };
	char *missing[] = { "migrate", "up", "--migrations",
			    "/nonexistent/fd-migrations", NULL };
	char *eq[] = { "migrate", "status", NULL, NULL };
	char eq_arg[128];

	CHECK_INT(run_argv(s, 1, none), EX_USAGE);
	CHECK_HAS(s->err, "usage:");
	CHECK_INT(run_argv(s, 2, unknown), EX_USAGE);
	CHECK_HAS(s->err, "sideways");
	CHECK_INT(run_argv(s, 3, no_dir), EX_USAGE);
	CHECK_INT(run_argv(s, 3, two), EX_USAGE);
	CHECK_INT(run_argv(s, 2, help), 0);
	CHECK_HAS(s->out, "usage:");
	CHECK_INT(run_argv(s, 4, missing), EX_NOINPUT);
	CHECK_HAS(s->err, "/nonexistent/fd-migrations");

	write_file(s, "0001_people.sql", PEOPLE);
	snprintf(eq_arg, sizeof eq_arg, "--migrations=%s", s->dir);
	eq[2] = eq_arg;
	CHECK_INT(run_argv(s, 3, eq), 0);
	CHECK_HAS(s->out, "pending");

	/* A database that is not there. */
	snprintf(s->conninfo, sizeof s->conninfo,
		 "host=/nonexistent-fd-socket port=1 connect_timeout=2");
	CHECK_RUN(s, "up", EX_UNAVAILABLE);
	CHECK_HAS(s->err, "cannot connect");
}

static void usage_errors_and_unreachable_database(void)
{
	with_scratch(usage_body);
}

/* Highest NNNN of the folder's NNNN_*.sql files, -1 if unreadable. */
static int highest_number(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int max = 0;

	if (!d)
		return -1;
	while ((de = readdir(d))) {
		size_t n = strlen(de->d_name);
		int v;

		if (n > 9 && strcmp(de->d_name + n - 4, ".sql") == 0 &&
		    sscanf(de->d_name, "%4d_", &v) == 1 && v > max)
			max = v;
	}
	closedir(d);
	return max;
}

static void repo_body(struct scratch *s)
{
	const char *dir = migrate_default_dir();
	const char *env = getenv("FRONTDESK_MIGRATIONS");
	char *up[] = { "migrate", "up", NULL };
	char *verify[] = { "migrate", "verify", "--migrations", (char *)dir,
			   NULL };
	char path[512], msg[256];

	if (!env || !*env)
		CHECK_STR(dir, FD_SOURCE_DIR "/migrations");
	snprintf(path, sizeof path, "%s/0001_spine.sql", dir);
	CHECK_MSG(access(path, R_OK) == 0, "missing %s", path);
	CHECK_INT(highest_number(dir), FD_SCHEMA_VERSION);

	/* No --migrations: the default folder. */
	CHECK_INT(run_argv(s, 2, up), 0);
	CHECK_HAS(s->out, "applied 0001_spine.sql");
	CHECK(rel_exists(s, "staff"));
	CHECK(rel_exists(s, "sessions"));
	CHECK_INT(migrate_check_schema(s->conn, FD_SCHEMA_VERSION, msg,
				       sizeof msg), 0);
	CHECK_INT(run_argv(s, 2, up), 0);
	CHECK_HAS(s->out, "up to date");
	CHECK_INT(run_argv(s, 4, verify), 0);
}

static void repo_migrations_apply_and_match_schema_version(void)
{
	with_scratch(repo_body);
}

static void default_dir_follows_env(void)
{
	const char *old = getenv("FRONTDESK_MIGRATIONS");
	char *saved = old ? strdup(old) : NULL;
	bool ok_env, ok_empty;

	setenv("FRONTDESK_MIGRATIONS", "/srv/fd/migrations", 1);
	ok_env = strcmp(migrate_default_dir(), "/srv/fd/migrations") == 0;
	setenv("FRONTDESK_MIGRATIONS", "", 1);
	ok_empty = strcmp(migrate_default_dir(), FD_SOURCE_DIR "/migrations") == 0;
	if (saved)
		setenv("FRONTDESK_MIGRATIONS", saved, 1);
	else
		unsetenv("FRONTDESK_MIGRATIONS");
	free(saved);
	CHECK(ok_env);
	CHECK(ok_empty);
}

TH_MAIN(TH_CASE(up_applies_in_order_and_records_checksums),
	TH_CASE(up_twice_is_noop),
	TH_CASE(changed_file_fails_verify_and_blocks_up),
	TH_CASE(failing_file_rolls_back_and_rerun_succeeds),
	TH_CASE(file_that_commits_is_not_recorded),
	TH_CASE(concurrent_up_applies_each_file_once),
	TH_CASE(killed_midway_leaves_the_schema_as_before_and_rerun_succeeds),
	TH_CASE(pending_file_fails_verify_and_shows_in_status),
	TH_CASE(status_and_verify_are_read_only),
	TH_CASE(check_schema_behind_newer_and_current),
	TH_CASE(bad_file_names_are_rejected),
	TH_CASE(usage_errors_and_unreachable_database),
	TH_CASE(repo_migrations_apply_and_match_schema_version),
	TH_CASE(default_dir_follows_env))
