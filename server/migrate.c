/*
 * `frontdeskd migrate` and the schema check the server runs at start; see
 * migrate.h.
 *
 * Every command starts the same way: read and validate the whole folder
 * (before touching the database, so a bad folder changes nothing), read
 * schema_migrations, and merge both into one row per version with a state.
 * Then `status` prints the rows, `verify` judges them and `up` applies the
 * pending ones. File bodies are the only SQL in the project that is not
 * parameterised: they are the operator's own trusted SQL, run with PQexec so
 * one file may hold many statements.
 */
#include "migrate.h"

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <time.h>

#include <sodium.h>

#ifndef FD_SOURCE_DIR
#error "FD_SOURCE_DIR must name the source tree (the Makefile passes it)"
#endif

/* Key of the session advisory lock `up` holds: "FDMIGRAT" read as a
 * big-endian int64. Fixed, so every build and every admin contends for the
 * same lock. */
#define MIGRATE_LOCK_KEY "5063256858195804500"

#define HEX_LEN (crypto_hash_sha256_BYTES * 2)

/* One file of the folder, read whole. */
struct mig_file {
	int version;
	char *file_name; /* "0001_spine.sql" */
	char *name; /* "spine": what schema_migrations.name records */
	char *sql; /* the exact bytes, NUL-terminated for PQexec */
	size_t len;
	char checksum[HEX_LEN + 1];
};

/* One row of schema_migrations. */
struct mig_applied {
	int version;
	char *name;
	char *checksum;
	char *applied_at;
};

/* What is known about one version once folder and database are merged. */
enum mig_state {
	MIG_APPLIED, /* file present and matching its row */
	MIG_PENDING, /* file present, not applied yet */
	MIG_CHANGED, /* file bytes differ from the recorded checksum */
	MIG_RENAMED, /* same bytes, recorded under another name */
	MIG_NO_FILE, /* applied, but the folder has no file with that number */
	MIG_SKIPPED, /* not applied although a later one is: rows edited */
};

struct mig_row {
	int version;
	enum mig_state state;
	const struct mig_file *file; /* NULL for MIG_NO_FILE */
	const struct mig_applied *applied; /* NULL when not applied */
};

struct mig_plan {
	const char *dir;
	struct mig_file *files; /* sorted by version */
	size_t n_files, cap_files;
	bool have_table;
	struct mig_applied *applied; /* sorted by version */
	size_t n_applied;
	int db_version; /* highest applied version, 0 for none */
	struct mig_row *rows; /* sorted by version */
	size_t n_rows;
};

const char *migrate_default_dir(void)
{
	const char *env = getenv("FRONTDESK_MIGRATIONS");

	return env && *env ? env : FD_SOURCE_DIR "/migrations";
}

/* ---- the folder ---------------------------------------------------- */

/* Case-blind, so "0002_x.SQL" is reported as a bad name instead of being
 * skipped as not-a-migration and silently never applied. */
static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);

	return n >= k && strcasecmp(s + n - k, suffix) == 0;
}

/* NNNN_name.sql: 4 digits, '_', name of [a-z0-9_]+, ".sql". Version 0000
 * parses here and is refused by check_numbering with a better message. */
static bool parse_file_name(const char *s, int *version, size_t *name_len)
{
	size_t len = strlen(s);

	if (len < 4 + 1 + 1 + 4 || strcmp(s + len - 4, ".sql") != 0 ||
	    s[4] != '_')
		return false;
	*version = 0;
	for (size_t i = 0; i < 4; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		*version = *version * 10 + (s[i] - '0');
	}
	for (size_t i = 5; i < len - 4; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '_'))
			return false;
	}
	*name_len = len - 4 - 5;
	return true;
}

static char *join_path(const char *dir, const char *name)
{
	size_t n = strlen(dir) + 1 + strlen(name) + 1;
	char *path = malloc(n);

	if (path)
		snprintf(path, n, "%s/%s", dir, name);
	return path;
}

/* Reads a migration file whole. A NUL byte is refused: PQexec would stop
 * there and silently run less than the checksum covers. */
static int read_file(const char *path, char **out, size_t *out_len)
{
	FILE *f = fopen(path, "rb");
	struct stat st;
	char *buf = NULL;
	size_t n;
	int rc = EX_NOINPUT;

	if (!f) {
		fprintf(stderr, "migrate: cannot read %s: %s\n", path,
			strerror(errno));
		return EX_NOINPUT;
	}
	if (fstat(fileno(f), &st) != 0) {
		fprintf(stderr, "migrate: cannot read %s: %s\n", path,
			strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		fprintf(stderr, "migrate: %s is not a regular file\n", path);
		rc = EX_DATAERR;
		goto out;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		fprintf(stderr, "migrate: out of memory reading %s\n", path);
		rc = EX_SOFTWARE;
		goto out;
	}
	n = fread(buf, 1, (size_t)st.st_size, f);
	if (n != (size_t)st.st_size || ferror(f)) {
		fprintf(stderr, "migrate: cannot read %s: short read\n", path);
		goto out;
	}
	buf[n] = '\0';
	if (memchr(buf, '\0', n)) {
		fprintf(stderr, "migrate: %s contains a NUL byte; migration "
				"files must be plain SQL text\n", path);
		rc = EX_DATAERR;
		goto out;
	}
	*out = buf;
	*out_len = n;
	buf = NULL;
	rc = EX_OK;
out:
	free(buf);
	fclose(f);
	return rc;
}

static void checksum_hex(char out[HEX_LEN + 1], const char *bytes, size_t len)
{
	unsigned char hash[crypto_hash_sha256_BYTES];

	crypto_hash_sha256(hash, (const unsigned char *)bytes, len);
	sodium_bin2hex(out, HEX_LEN + 1, hash, sizeof hash);
}

/* Adds one directory entry. Entries not ending in .sql are not migrations
 * (README, editor backups) and are skipped; a .sql file with any other name
 * is an error rather than silently never applied. */
static int add_file(struct mig_plan *p, const char *entry)
{
	struct mig_file *f;
	char *path;
	size_t name_len;
	int version, rc;

	if (!ends_with(entry, ".sql"))
		return EX_OK;
	if (!parse_file_name(entry, &version, &name_len)) {
		fprintf(stderr, "migrate: %s/%s: bad migration file name; "
				"expected NNNN_name.sql (4 digits, '_', then "
				"a name of a-z, 0-9 and _)\n", p->dir, entry);
		return EX_DATAERR;
	}
	if (p->n_files == p->cap_files) {
		size_t cap = p->cap_files ? 2 * p->cap_files : 16;
		struct mig_file *v = realloc(p->files, cap * sizeof *v);

		if (!v)
			return EX_SOFTWARE;
		p->files = v;
		p->cap_files = cap;
	}
	f = &p->files[p->n_files];
	memset(f, 0, sizeof *f);
	f->version = version;
	f->file_name = strdup(entry);
	f->name = strndup(entry + 5, name_len);
	path = join_path(p->dir, entry);
	if (!f->file_name || !f->name || !path) {
		free(f->file_name);
		free(f->name);
		free(path);
		return EX_SOFTWARE;
	}
	p->n_files++; /* owned by the plan from here on */
	rc = read_file(path, &f->sql, &f->len);
	free(path);
	if (rc == EX_OK)
		checksum_hex(f->checksum, f->sql, f->len);
	return rc;
}

static int cmp_file(const void *a, const void *b)
{
	const struct mig_file *x = a, *y = b;

	if (x->version != y->version)
		return x->version < y->version ? -1 : 1;
	return strcmp(x->file_name, y->file_name);
}

/* Numbers must run 1..N: a gap or a duplicate usually means two branches
 * each added "the next" migration, and applying either order silently
 * would leave databases that differ. */
static int check_numbering(const struct mig_plan *p)
{
	for (size_t i = 0; i < p->n_files; i++) {
		const struct mig_file *f = &p->files[i];

		if (i > 0 && f->version == p->files[i - 1].version) {
			fprintf(stderr, "migrate: %s and %s in %s have the same "
					"number: renumber the newer one\n",
				p->files[i - 1].file_name, f->file_name,
				p->dir);
			return EX_DATAERR;
		}
		if (f->version != (int)i + 1) {
			fprintf(stderr, "migrate: %s in %s: expected number "
					"%04d here; migrations are numbered "
					"0001, 0002, ... with no gaps\n",
				f->file_name, p->dir, (int)i + 1);
			return EX_DATAERR;
		}
	}
	return EX_OK;
}

/* Reads every migration of the folder. Goes on after a bad file name so
 * one run reports them all. */
static int load_files(struct mig_plan *p)
{
	DIR *d = opendir(p->dir);
	struct dirent *de;
	int rc = EX_OK;

	if (!d) {
		fprintf(stderr, "migrate: cannot open migrations folder %s: "
				"%s (give --migrations DIR or set "
				"FRONTDESK_MIGRATIONS)\n", p->dir,
			strerror(errno));
		return EX_NOINPUT;
	}
	for (;;) {
		int r;

		errno = 0;
		de = readdir(d);
		if (!de) {
			if (errno) {
				fprintf(stderr, "migrate: cannot list %s: %s\n",
					p->dir, strerror(errno));
				rc = EX_NOINPUT;
			}
			break;
		}
		r = add_file(p, de->d_name);
		if (r == EX_SOFTWARE) {
			fprintf(stderr, "migrate: out of memory\n");
			rc = r;
			break;
		}
		if (r != EX_OK && rc == EX_OK)
			rc = r;
	}
	closedir(d);
	if (rc != EX_OK)
		return rc;
	if (p->n_files)
		qsort(p->files, p->n_files, sizeof *p->files, cmp_file);
	return check_numbering(p);
}

/* ---- the database -------------------------------------------------- */

/* Prints a libpq message (which ends in a newline, and may span lines)
 * after a prefix line, trimmed and indented so it reads as one block. */
static void print_pg_message(const char *msg)
{
	size_t n = strlen(msg);

	while (n && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
		n--;
	fputs("  ", stderr);
	for (size_t i = 0; i < n; i++) {
		fputc(msg[i], stderr);
		if (msg[i] == '\n')
			fputs("  ", stderr);
	}
	fputc('\n', stderr);
}

/* After a failed statement: the database went away, or it said no. */
static int failure_code(PGconn *conn)
{
	return PQstatus(conn) == CONNECTION_BAD ? EX_UNAVAILABLE : EX_SOFTWARE;
}

/* Runs one parameterised statement expecting `want`. On failure prints
 * `what` and the server's message (taken before any other libpq call) and
 * returns NULL; the caller PQclears a non-NULL result. */
static PGresult *query(PGconn *conn, const char *what, const char *sql,
		       int n_params, const char *const *params,
		       ExecStatusType want)
{
	PGresult *res = PQexecParams(conn, sql, n_params, NULL, params, NULL,
				     NULL, 0);

	if (PQresultStatus(res) == want)
		return res;
	fprintf(stderr, "migrate: %s failed:\n", what);
	print_pg_message(res ? PQresultErrorMessage(res) : PQerrorMessage(conn));
	PQclear(res);
	return NULL;
}

static int exec_cmd(PGconn *conn, const char *what, const char *sql)
{
	PGresult *res = query(conn, what, sql, 0, NULL, PGRES_COMMAND_OK);

	if (!res)
		return failure_code(conn);
	PQclear(res);
	return EX_OK;
}

static int connect_db(const char *conninfo, PGconn **out)
{
	/* expand_dbname: conninfo may be a full conninfo string or URI;
	 * empty values fall back to the PG* environment. */
	const char *const keys[] = { "dbname", "fallback_application_name",
				     NULL };
	const char *const vals[] = { conninfo ? conninfo : "",
				     "frontdeskd-migrate", NULL };
	PGconn *conn = PQconnectdbParams(keys, vals, 1);

	if (!conn) {
		fprintf(stderr, "migrate: out of memory\n");
		return EX_SOFTWARE;
	}
	if (PQstatus(conn) != CONNECTION_OK) {
		fprintf(stderr, "migrate: cannot connect to the database:\n");
		print_pg_message(PQerrorMessage(conn));
		PQfinish(conn);
		return EX_UNAVAILABLE;
	}
	*out = conn;
	return EX_OK;
}

static int table_exists(PGconn *conn, bool *exists)
{
	PGresult *res = query(conn, "looking for schema_migrations",
			      "SELECT to_regclass('schema_migrations') "
			      "IS NOT NULL",
			      0, NULL, PGRES_TUPLES_OK);

	if (!res)
		return failure_code(conn);
	*exists = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
	PQclear(res);
	return EX_OK;
}

/* Only `up` creates the table, under the lock: status and verify stay
 * read-only so they can run with a read-only role or on a replica. */
static int create_table(PGconn *conn)
{
	return exec_cmd(conn, "creating schema_migrations",
			"CREATE TABLE schema_migrations ("
			" version integer PRIMARY KEY,"
			" name text NOT NULL,"
			" checksum text NOT NULL,"
			" applied_at timestamptz NOT NULL DEFAULT now())");
}

static int read_applied(PGconn *conn, struct mig_plan *p)
{
	PGresult *res;
	int rc = table_exists(conn, &p->have_table);
	int n;

	if (rc != EX_OK || !p->have_table)
		return rc;
	res = query(conn, "reading schema_migrations",
		    "SELECT version, name, checksum,"
		    " to_char(applied_at, 'YYYY-MM-DD HH24:MI:SSOF')"
		    " FROM schema_migrations ORDER BY version",
		    0, NULL, PGRES_TUPLES_OK);
	if (!res)
		return failure_code(conn);
	n = PQntuples(res);
	p->applied = calloc((size_t)n + 1, sizeof *p->applied);
	if (!p->applied) {
		PQclear(res);
		fprintf(stderr, "migrate: out of memory\n");
		return EX_SOFTWARE;
	}
	for (int i = 0; i < n; i++) {
		struct mig_applied *a = &p->applied[i];

		a->version = atoi(PQgetvalue(res, i, 0));
		a->name = strdup(PQgetvalue(res, i, 1));
		a->checksum = strdup(PQgetvalue(res, i, 2));
		a->applied_at = strdup(PQgetvalue(res, i, 3));
		p->n_applied++;
		if (!a->name || !a->checksum || !a->applied_at) {
			PQclear(res);
			fprintf(stderr, "migrate: out of memory\n");
			return EX_SOFTWARE;
		}
	}
	PQclear(res);
	if (n)
		p->db_version = p->applied[n - 1].version;
	return EX_OK;
}

/* ---- merging folder and database ----------------------------------- */

static enum mig_state classify(const struct mig_row *r, int db_version)
{
	if (!r->file)
		return MIG_NO_FILE;
	if (!r->applied)
		return r->version < db_version ? MIG_SKIPPED : MIG_PENDING;
	if (strcmp(r->applied->checksum, r->file->checksum) != 0)
		return MIG_CHANGED;
	if (strcmp(r->applied->name, r->file->name) != 0)
		return MIG_RENAMED;
	return MIG_APPLIED;
}

/* Merges the two sorted lists into one row per version. */
static int build_rows(struct mig_plan *p)
{
	size_t i = 0, j = 0;

	p->rows = calloc(p->n_files + p->n_applied + 1, sizeof *p->rows);
	if (!p->rows) {
		fprintf(stderr, "migrate: out of memory\n");
		return EX_SOFTWARE;
	}
	while (i < p->n_files || j < p->n_applied) {
		struct mig_row *r = &p->rows[p->n_rows++];
		const struct mig_file *f = i < p->n_files ? &p->files[i] : NULL;
		const struct mig_applied *a =
			j < p->n_applied ? &p->applied[j] : NULL;

		if (f && (!a || f->version <= a->version)) {
			r->file = f;
			i++;
		}
		if (a && (!f || a->version <= f->version)) {
			r->applied = a;
			j++;
		}
		r->version = r->file ? r->file->version : r->applied->version;
		r->state = classify(r, p->db_version);
	}
	return EX_OK;
}

static bool is_problem(enum mig_state s)
{
	return s != MIG_APPLIED && s != MIG_PENDING;
}

/* One line saying what is wrong with a row and what to do about it. */
static void print_problem(FILE *out, const struct mig_plan *p,
			  const struct mig_row *r)
{
	const struct mig_file *f = r->file;
	const struct mig_applied *a = r->applied;

	switch (r->state) {
	case MIG_APPLIED:
		break;
	case MIG_PENDING:
		fprintf(out, "migrate: %s is pending: run `frontdeskd migrate "
			     "up`\n", f->file_name);
		break;
	case MIG_CHANGED:
		fprintf(out, "migrate: %s has changed since it was applied on "
			     "%s (sha256 recorded %.12s..., file now %.12s...): "
			     "put the file back exactly as it was applied and "
			     "make the change in a new migration\n",
			f->file_name, a->applied_at, a->checksum, f->checksum);
		break;
	case MIG_RENAMED:
		fprintf(out, "migrate: %s was applied as %04d_%s.sql: rename "
			     "the file back\n", f->file_name, a->version,
			a->name);
		break;
	case MIG_NO_FILE:
		fprintf(out, "migrate: version %04d (%s) is applied but %s has "
			     "no %04d_*.sql file: use the migrations folder "
			     "this database was migrated with (or a newer "
			     "frontdeskd)\n", a->version, a->name, p->dir,
			a->version);
		break;
	case MIG_SKIPPED:
		fprintf(out, "migrate: %s is not applied although a later "
			     "migration is: schema_migrations was edited by "
			     "hand; compare the schema with the file before "
			     "going on\n", f->file_name);
		break;
	}
}

/* The start every command shares: the whole folder read and checked,
 * then a connection (only once the folder is known good). */
static int plan_load(struct mig_plan *p, const char *dir, PGconn **conn,
		     const char *conninfo)
{
	int rc;

	memset(p, 0, sizeof *p);
	p->dir = dir;
	rc = load_files(p);
	if (rc == EX_OK)
		rc = connect_db(conninfo, conn);
	return rc;
}

static void plan_free(struct mig_plan *p)
{
	for (size_t i = 0; i < p->n_files; i++) {
		free(p->files[i].file_name);
		free(p->files[i].name);
		free(p->files[i].sql);
	}
	for (size_t i = 0; i < p->n_applied; i++) {
		free(p->applied[i].name);
		free(p->applied[i].checksum);
		free(p->applied[i].applied_at);
	}
	free(p->files);
	free(p->applied);
	free(p->rows);
}

/* ---- status and verify --------------------------------------------- */

/* The status column: where the database is, then what is wrong. */
static void print_state(const struct mig_row *r)
{
	static const char *const flag[] = {
		[MIG_APPLIED] = "",
		[MIG_PENDING] = "",
		[MIG_CHANGED] = "  <- FILE CHANGED",
		[MIG_RENAMED] = "  <- FILE RENAMED",
		[MIG_NO_FILE] = "  <- NO FILE",
		[MIG_SKIPPED] = "  <- NOT APPLIED, later ones are",
	};

	if (r->applied)
		printf("applied %s%s\n", r->applied->applied_at,
		       flag[r->state]);
	else
		printf("pending%s\n", flag[r->state]);
}

static int run_status(struct mig_plan *p, PGconn *conn)
{
	size_t problems = 0;
	int rc = read_applied(conn, p);

	if (rc == EX_OK)
		rc = build_rows(p);
	if (rc != EX_OK)
		return rc;
	printf("migrations folder: %s\n", p->dir);
	printf("database schema version: %d%s (this frontdeskd needs %d)\n",
	       p->db_version, p->have_table ? "" : " (no schema_migrations)",
	       FD_SCHEMA_VERSION);
	for (size_t i = 0; i < p->n_rows; i++) {
		const struct mig_row *r = &p->rows[i];

		printf("  %04d  %-32s ", r->version,
		       r->file ? r->file->name : r->applied->name);
		print_state(r);
		problems += is_problem(r->state);
	}
	if (!p->n_rows)
		printf("  (no migration files and nothing applied)\n");
	for (size_t i = 0; i < p->n_rows; i++)
		if (is_problem(p->rows[i].state))
			print_problem(stdout, p, &p->rows[i]);
	if (problems)
		printf("%zu problem(s): `frontdeskd migrate up` refuses to run "
		       "until they are fixed\n", problems);
	return EX_OK;
}

static int run_verify(struct mig_plan *p, PGconn *conn)
{
	size_t bad = 0;
	int rc = read_applied(conn, p);

	if (rc == EX_OK)
		rc = build_rows(p);
	if (rc != EX_OK)
		return rc;
	for (size_t i = 0; i < p->n_rows; i++) {
		if (p->rows[i].state == MIG_APPLIED)
			continue;
		print_problem(stderr, p, &p->rows[i]);
		bad++;
	}
	if (bad) {
		fprintf(stderr, "migrate: verify failed: %zu migration(s) "
				"pending or not matching %s\n", bad, p->dir);
		return EX_DATAERR;
	}
	printf("migrate: verify ok: schema at version %d, all %zu applied "
	       "migration(s) match %s\n", p->db_version, p->n_applied, p->dir);
	return EX_OK;
}

/* ---- up ------------------------------------------------------------ */

static int lock_migrations(PGconn *conn)
{
	const char *params[] = { MIGRATE_LOCK_KEY };
	PGresult *res = query(conn, "taking the migration lock",
			      "SELECT pg_try_advisory_lock($1::bigint)", 1,
			      params, PGRES_TUPLES_OK);
	bool got;

	if (!res)
		return failure_code(conn);
	got = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
	PQclear(res);
	if (got)
		return EX_OK;
	printf("migrate: another `frontdeskd migrate up` is running; waiting "
	       "for it to finish\n");
	fflush(stdout);
	res = query(conn, "waiting for the migration lock",
		    "SELECT pg_advisory_lock($1::bigint)", 1, params,
		    PGRES_TUPLES_OK);
	if (!res)
		return failure_code(conn);
	PQclear(res);
	return EX_OK;
}

/* Best effort: closing the session releases the lock anyway. */
static void unlock_migrations(PGconn *conn)
{
	const char *params[] = { MIGRATE_LOCK_KEY };
	PGresult *res;

	if (PQstatus(conn) != CONNECTION_OK)
		return;
	res = query(conn, "releasing the migration lock",
		    "SELECT pg_advisory_unlock($1::bigint)", 1, params,
		    PGRES_TUPLES_OK);
	PQclear(res);
}

/* A file that runs COPY ... FROM STDIN or TO STDOUT leaves the connection
 * in copy mode; end it (which fails the transaction) so the ROLLBACK that
 * follows can run instead of the tool hanging. */
static void end_copy(PGconn *conn, ExecStatusType st)
{
	PGresult *res;
	char *buf;

	for (;;) {
		if (st == PGRES_COPY_IN)
			PQputCopyEnd(conn, "COPY FROM STDIN is not supported "
					   "in migration files");
		else if (st == PGRES_COPY_OUT)
			while (PQgetCopyData(conn, &buf, 0) > 0)
				PQfreemem(buf);
		if (PQstatus(conn) == CONNECTION_BAD)
			return;
		res = PQgetResult(conn);
		if (!res)
			return;
		st = PQresultStatus(res);
		PQclear(res);
	}
}

static void rollback(PGconn *conn)
{
	PGresult *res;

	if (PQstatus(conn) != CONNECTION_OK)
		return;
	res = PQexec(conn, "ROLLBACK");
	PQclear(res);
}

/* Runs the file body inside the open transaction. Prints why it failed. */
static int run_body(PGconn *conn, const struct mig_file *f, int db_version)
{
	PGresult *res = PQexec(conn, f->sql);
	ExecStatusType st = PQresultStatus(res);

	if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK ||
	    st == PGRES_EMPTY_QUERY) {
		PQclear(res);
		return EX_OK;
	}
	fprintf(stderr, "migrate: %s failed; rolled back, the schema stays at "
			"version %d. Fix the file and run `frontdeskd "
			"migrate up` again:\n", f->file_name, db_version);
	if (st == PGRES_COPY_IN || st == PGRES_COPY_OUT)
		print_pg_message("COPY with STDIN or STDOUT cannot run in a "
				 "migration file; use INSERT");
	else
		print_pg_message(res ? PQresultErrorMessage(res)
				     : PQerrorMessage(conn));
	PQclear(res);
	end_copy(conn, st);
	return PQstatus(conn) == CONNECTION_BAD ? EX_UNAVAILABLE : EX_DATAERR;
}

/* Applies one file and records it in the same transaction, so the schema
 * and schema_migrations can never disagree about it. */
static int apply_one(PGconn *conn, const struct mig_file *f, int db_version)
{
	char version[16];
	const char *params[3] = { version, f->name, f->checksum };
	struct timespec t0, t1;
	PGresult *res;
	int rc;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	rc = exec_cmd(conn, "BEGIN", "BEGIN");
	if (rc != EX_OK)
		return rc;
	rc = run_body(conn, f, db_version);
	if (rc != EX_OK) {
		rollback(conn);
		return rc;
	}
	/* COMMIT or ROLLBACK in the file would make the row below a separate
	 * transaction: the very split this tool exists to prevent. */
	if (PQtransactionStatus(conn) != PQTRANS_INTRANS) {
		fprintf(stderr, "migrate: %s ends the transaction itself "
				"(COMMIT, ROLLBACK or similar): remove that, "
				"each file already runs in its own "
				"transaction. Some of its statements may be "
				"committed but it is NOT recorded as applied; "
				"check the schema before running `frontdeskd "
				"migrate up` again\n", f->file_name);
		rollback(conn);
		return EX_DATAERR;
	}
	snprintf(version, sizeof version, "%d", f->version);
	res = query(conn, "recording the migration",
		    "INSERT INTO schema_migrations (version, name, checksum)"
		    " VALUES ($1::integer, $2, $3)",
		    3, params, PGRES_COMMAND_OK);
	if (!res) {
		fprintf(stderr, "migrate: %s rolled back\n", f->file_name);
		rc = failure_code(conn);
		rollback(conn);
		return rc;
	}
	PQclear(res);
	/* Deferred constraints in the file are checked here. */
	res = query(conn, f->file_name, "COMMIT", 0, NULL, PGRES_COMMAND_OK);
	if (!res) {
		fprintf(stderr, "migrate: %s rolled back; the schema stays at "
				"version %d\n", f->file_name, db_version);
		return PQstatus(conn) == CONNECTION_BAD ? EX_UNAVAILABLE
							: EX_DATAERR;
	}
	PQclear(res);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("migrate: applied %s (%ld ms)\n", f->file_name,
	       (long)((t1.tv_sec - t0.tv_sec) * 1000 +
		      (t1.tv_nsec - t0.tv_nsec) / 1000000));
	fflush(stdout);
	return EX_OK;
}

/* Under the lock: reads the state a previous holder may just have changed,
 * refuses on any mismatch, then applies what is pending in order. */
static int up_locked(struct mig_plan *p, PGconn *conn)
{
	size_t problems = 0, applied = 0;
	bool exists;
	int rc = table_exists(conn, &exists);

	if (rc == EX_OK && !exists)
		rc = create_table(conn);
	if (rc == EX_OK)
		rc = read_applied(conn, p);
	if (rc == EX_OK)
		rc = build_rows(p);
	if (rc != EX_OK)
		return rc;
	for (size_t i = 0; i < p->n_rows; i++) {
		if (!is_problem(p->rows[i].state))
			continue;
		print_problem(stderr, p, &p->rows[i]);
		problems++;
	}
	if (problems) {
		fprintf(stderr, "migrate: nothing applied: fix the problem(s) "
				"above first (`frontdeskd migrate status` "
				"shows them all)\n");
		return EX_DATAERR;
	}
	for (size_t i = 0; i < p->n_rows; i++) {
		const struct mig_row *r = &p->rows[i];

		if (r->state != MIG_PENDING)
			continue;
		rc = apply_one(conn, r->file, p->db_version);
		if (rc != EX_OK)
			return rc;
		p->db_version = r->version;
		applied++;
	}
	if (!p->n_files)
		fprintf(stderr, "migrate: warning: no migration files in %s\n",
			p->dir);
	if (applied)
		printf("migrate: applied %zu migration(s); schema is now at "
		       "version %d\n", applied, p->db_version);
	else
		printf("migrate: schema is up to date at version %d\n",
		       p->db_version);
	return EX_OK;
}

static int run_up(struct mig_plan *p, PGconn *conn)
{
	int rc = lock_migrations(conn);

	if (rc != EX_OK)
		return rc;
	rc = up_locked(p, conn);
	unlock_migrations(conn);
	return rc;
}

/* ---- the command --------------------------------------------------- */

static const struct {
	const char *name;
	int (*run)(struct mig_plan *p, PGconn *conn);
} commands[] = {
	{ "up", run_up },
	{ "status", run_status },
	{ "verify", run_verify },
};

static void usage(FILE *out)
{
	fprintf(out,
		"usage: frontdeskd migrate <up|status|verify> "
		"[--migrations DIR]\n"
		"  up       apply pending migrations in order, each in its "
		"own transaction\n"
		"  status   list migrations: applied (when), pending, or what "
		"is wrong\n"
		"  verify   succeed only if every applied file is unchanged "
		"and none is pending\n"
		"  --migrations DIR  folder of NNNN_name.sql files (default "
		"%s; env FRONTDESK_MIGRATIONS)\n",
		migrate_default_dir());
}

/* Returns EX_OK with *cmd set, -1 for --help, or EX_USAGE. */
static int parse_args(int argc, char **argv, const char **cmd,
		      const char **dir)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (strcmp(a, "--migrations") == 0) {
			if (i + 1 >= argc || !*argv[i + 1]) {
				fprintf(stderr, "migrate: --migrations needs "
						"a folder\n");
				return EX_USAGE;
			}
			*dir = argv[++i];
		} else if (strncmp(a, "--migrations=", 13) == 0 && a[13]) {
			*dir = a + 13;
		} else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			return -1;
		} else if (a[0] == '-' || *cmd) {
			fprintf(stderr, "migrate: unexpected argument '%s'\n",
				a);
			return EX_USAGE;
		} else {
			*cmd = a;
		}
	}
	if (!*cmd) {
		fprintf(stderr, "migrate: which command? up, status or "
				"verify\n");
		return EX_USAGE;
	}
	return EX_OK;
}

int migrate_command(int argc, char **argv, const char *conninfo)
{
	const char *cmd = NULL, *dir = NULL;
	struct mig_plan plan;
	PGconn *conn = NULL;
	size_t i;
	int rc;

	rc = parse_args(argc, argv, &cmd, &dir);
	if (rc == -1) {
		usage(stdout);
		return EX_OK;
	}
	if (rc != EX_OK) {
		usage(stderr);
		return rc;
	}
	for (i = 0; i < sizeof commands / sizeof commands[0]; i++)
		if (strcmp(cmd, commands[i].name) == 0)
			break;
	if (i == sizeof commands / sizeof commands[0]) {
		fprintf(stderr, "migrate: unknown command '%s'\n", cmd);
		usage(stderr);
		return EX_USAGE;
	}
	if (sodium_init() < 0) {
		fprintf(stderr, "migrate: libsodium failed to initialise\n");
		return EX_SOFTWARE;
	}
	rc = plan_load(&plan, dir ? dir : migrate_default_dir(), &conn,
		       conninfo);
	if (rc == EX_OK)
		rc = commands[i].run(&plan, conn);
	PQfinish(conn);
	plan_free(&plan);
	fflush(stdout);
	return rc;
}

/* ---- the server's start-up check ----------------------------------- */

static void set_msg(char *msg, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void set_msg(char *msg, size_t size, const char *fmt, ...)
{
	va_list ap;

	if (!msg || !size)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, size, fmt, ap);
	va_end(ap);
}

/* Copies a failed result's message into msg, trimmed to one block. */
static void set_pg_msg(char *msg, size_t size, PGconn *conn, PGresult *res)
{
	const char *err = res ? PQresultErrorMessage(res)
			      : PQerrorMessage(conn);
	size_t n = strlen(err);

	while (n && err[n - 1] == '\n')
		n--;
	set_msg(msg, size, "cannot read the database schema version: %.*s",
		(int)n, err);
}

int migrate_check_schema(PGconn *conn, int expected, char *msg,
			 size_t msg_size)
{
	PGresult *res;
	int version = 0, count = 0;
	bool exists;

	if (!conn || PQstatus(conn) != CONNECTION_OK) {
		set_msg(msg, msg_size, "cannot check the database schema: "
				       "not connected to the database");
		return -1;
	}
	res = PQexecParams(conn, "SELECT to_regclass('schema_migrations') "
				 "IS NOT NULL", 0, NULL, NULL, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		set_pg_msg(msg, msg_size, conn, res);
		PQclear(res);
		return -1;
	}
	exists = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
	PQclear(res);
	if (exists) {
		res = PQexecParams(conn, "SELECT coalesce(max(version), 0),"
					 " count(*) FROM schema_migrations",
				   0, NULL, NULL, NULL, NULL, 0);
		if (PQresultStatus(res) != PGRES_TUPLES_OK) {
			set_pg_msg(msg, msg_size, conn, res);
			PQclear(res);
			return -1;
		}
		version = atoi(PQgetvalue(res, 0, 0));
		count = atoi(PQgetvalue(res, 0, 1));
		PQclear(res);
	}
	if (version < expected) {
		set_msg(msg, msg_size, "database schema is at version %d but "
				       "this server needs %d: run `frontdeskd "
				       "migrate up`", version, expected);
		return -1;
	}
	if (version > expected) {
		set_msg(msg, msg_size, "database schema is at version %d but "
				       "this server only knows up to %d: "
				       "upgrade the server (the database was "
				       "migrated by a newer frontdeskd)",
			version, expected);
		return -1;
	}
	/* Versions 1..N each applied once means N rows; fewer means rows were
	 * deleted by hand and the schema may lack what the server needs. */
	if (count != version) {
		set_msg(msg, msg_size, "database schema_migrations holds %d "
				       "rows for versions up to %d: it was "
				       "edited by hand; run `frontdeskd "
				       "migrate status`", count, version);
		return -1;
	}
	set_msg(msg, msg_size, "database schema is at version %d", version);
	return 0;
}
