/*
 * Admin commands that run once against the database, outside any session:
 * `create-admin` (the first admin of a new clinic), `seed-demo` (the
 * demo clinic for `make run`) and `audit seal|verify` (the audit hash
 * chain). They connect with the server's configuration as the connecting
 * user, never as db_role; the first two write an audit row for what they
 * did.
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <termios.h>
#include <unistd.h>

#include "audit.h"
#include "auth.h"
#include "config.h"
#include "db/db.h"
#include "server.h"

static PGresult *exec_params(PGconn *c, const char *sql, int n,
			     const char *const *values)
{
	PGresult *r = PQexecParams(c, sql, n, NULL, values, NULL, NULL, 0);
	ExecStatusType s = PQresultStatus(r);

	if (s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK)
		return r;
	fprintf(stderr, "frontdeskd: database error: %s",
		PQresultErrorMessage(r));
	PQclear(r);
	return NULL;
}

static int exec_ok(PGconn *c, const char *sql, int n, const char *const *values)
{
	PGresult *r = exec_params(c, sql, n, values);

	if (!r)
		return -1;
	PQclear(r);
	return 0;
}

/* Reads a password from FRONTDESK_PASSWORD, from one stdin line
 * (--password-stdin), or from the terminal without echo. */
static int read_password(bool from_stdin, char *buf, size_t size)
{
	const char *env = getenv("FRONTDESK_PASSWORD");
	struct termios old, quiet;
	bool tty = false;

	if (env && !from_stdin) {
		snprintf(buf, size, "%s", env);
		return 0;
	}
	if (!from_stdin && isatty(STDIN_FILENO)) {
		fprintf(stderr, "Password for the new admin: ");
		if (tcgetattr(STDIN_FILENO, &old) == 0) {
			quiet = old;
			quiet.c_lflag &= ~(tcflag_t)ECHO;
			tty = tcsetattr(STDIN_FILENO, TCSANOW, &quiet) == 0;
		}
	}
	char *got = fgets(buf, (int)size, stdin);
	if (tty) {
		tcsetattr(STDIN_FILENO, TCSANOW, &old);
		fputc('\n', stderr);
	}
	if (!got)
		return -1;
	buf[strcspn(buf, "\r\n")] = '\0';
	return 0;
}

static PGconn *connect_or_report(void)
{
	char err[512];
	PGconn *c = db_connect(err, sizeof err);

	if (!c)
		fprintf(stderr,
			"frontdeskd: cannot reach the database: %s\n"
			"  set FRONTDESK_DB (a libpq conninfo) or the PG* variables\n",
			err);
	return c;
}

static int insert_staff(PGconn *c, const char *username, const char *name,
			const char *password, const char *roles, bool *created)
{
	char hash[crypto_pwhash_STRBYTES];
	fd_status st;

	if (auth_password_policy(password, &st) != FD_OK) {
		fprintf(stderr, "frontdeskd: %s\n", st.message);
		return EX_DATAERR;
	}
	if (auth_hash_password(password, hash) != 0) {
		fprintf(stderr, "frontdeskd: out of memory hashing the password\n");
		return EX_OSERR;
	}
	const char *v[] = { username, name, hash, roles };
	PGresult *r = exec_params(
		c,
		"INSERT INTO staff (username, display_name, password_hash, roles)"
		" VALUES ($1, $2, $3, $4::text[]) ON CONFLICT (username) DO NOTHING"
		" RETURNING id",
		4, v);
	if (!r)
		return EX_DATAERR;
	*created = PQntuples(r) == 1;
	if (*created) {
		const char *a[] = { PQgetvalue(r, 0, 0) };
		PGresult *ar = exec_params(
			c,
			"INSERT INTO audit_log (method, subject, outcome)"
			" VALUES ('frontdeskd create-staff', 'staff:' || $1, 'OK')",
			1, a);
		PQclear(ar);
	}
	PQclear(r);
	return 0;
}

int admin_create_admin(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "user", required_argument, NULL, 'u' },
		{ "name", required_argument, NULL, 'n' },
		{ "password-stdin", no_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ 0, 0, 0, 0 },
	};
	const char *user = NULL, *name = NULL;
	bool from_stdin = false;
	char password[AUTH_PASSWORD_MAX + 2];
	int ch, rc;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'u': user = optarg; break;
		case 'n': name = optarg; break;
		case 's': from_stdin = true; break;
		case 'h':
			printf("usage: frontdeskd create-admin --user NAME [--name \"Display Name\"] [--password-stdin]\n"
			       "  The password comes from FRONTDESK_PASSWORD, stdin, or a prompt.\n");
			return 0;
		default:
			return EX_USAGE;
		}
	}
	if (!user) {
		fprintf(stderr, "usage: frontdeskd create-admin --user NAME [--name \"Display Name\"] [--password-stdin]\n");
		return EX_USAGE;
	}
	if (read_password(from_stdin, password, sizeof password) != 0) {
		fprintf(stderr, "frontdeskd: no password given\n");
		return EX_USAGE;
	}
	PGconn *c = connect_or_report();
	if (!c)
		return EX_UNAVAILABLE;
	bool created = false;
	rc = insert_staff(c, user, name ? name : user, password, "{admin}", &created);
	sodium_memzero(password, sizeof password);
	PQfinish(c);
	if (rc)
		return rc;
	if (!created) {
		fprintf(stderr, "frontdeskd: a staff member named %s already exists\n", user);
		return EX_DATAERR;
	}
	printf("created admin %s\n", user);
	return 0;
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

/* Each domain's demo data: server/demo/NNNN_*.sql, run in name order after
 * the staff exist. They are trusted files of this repository and must be
 * idempotent (a second `make run` runs them again). */
static int run_demo_files(PGconn *c)
{
	char dir[1024], path[1300];
	struct dirent **names;
	int n, rc = 0;

	snprintf(dir, sizeof dir, "%s/server/demo", FD_SOURCE_DIR);
	n = scandir(dir, &names, NULL, by_name);
	if (n < 0)
		return 0;
	for (int i = 0; i < n; i++) {
		const char *name = names[i]->d_name;
		size_t len = strlen(name);
		if (rc == 0 && len > 4 && strcmp(name + len - 4, ".sql") == 0) {
			snprintf(path, sizeof path, "%s/%s", dir, name);
			FILE *f = fopen(path, "r");
			char *sql = NULL;
			size_t size = 0;
			if (f) {
				FILE *mem = open_memstream(&sql, &size);
				char buf[8192];
				size_t got;
				while (mem && (got = fread(buf, 1, sizeof buf, f)) > 0)
					fwrite(buf, 1, got, mem);
				if (mem)
					fclose(mem);
				fclose(f);
			}
			PGresult *r = sql ? PQexec(c, sql) : NULL;
			if (PQresultStatus(r) != PGRES_COMMAND_OK &&
			    PQresultStatus(r) != PGRES_TUPLES_OK &&
			    PQresultStatus(r) != PGRES_EMPTY_QUERY) {
				fprintf(stderr, "frontdeskd: demo file %s failed: %s", name,
					r ? PQresultErrorMessage(r) : "cannot read it\n");
				rc = -1;
			}
			PQclear(r);
			free(sql);
		}
		free(names[i]);
	}
	free(names);
	return rc;
}

int admin_seed_demo(int argc, char **argv)
{
	static const struct {
		const char *username, *name, *roles;
	} demo_staff[] = {
		{ "admin", "Clinic Administrator", "{admin}" },
		{ "reception1", "Rosa Alvarez (reception)", "{front_desk}" },
		{ "reception2", "Tom Becker (reception)", "{front_desk}" },
		{ "nurse1", "Nadia Okafor, RN", "{nurse}" },
		{ "billing1", "Bill Chen (billing)", "{billing}" },
		{ "drsmith", "Dr. Jane Smith", "{provider}" },
	};
	const char *password = getenv("FRONTDESK_DEMO_PASSWORD");
	const char *tz = getenv("FRONTDESK_DEMO_TIME_ZONE");
	bool printed_default = false;

	(void)argc;
	(void)argv;
	if (!password || !*password) {
		password = "frontdesk-demo";
		printed_default = true;
	}
	if (!tz || !*tz)
		tz = "America/New_York";
	PGconn *c = connect_or_report();
	if (!c)
		return EX_UNAVAILABLE;
	const char *loc[] = { tz };
	if (exec_ok(c,
		    "INSERT INTO locations (code, name, time_zone)"
		    " VALUES ('main', 'Frontdesk Demo Clinic', $1)"
		    " ON CONFLICT (code) DO NOTHING",
		    1, loc) != 0 ||
	    exec_ok(c,
		    "INSERT INTO desks (code, name, location_id)"
		    " SELECT d.code, d.name, l.id FROM locations l,"
		    " (VALUES ('front-1', 'Front desk 1'), ('front-2', 'Front desk 2'),"
		    "         ('phone-1', 'Phone desk')) AS d(code, name)"
		    " WHERE l.code = 'main' ON CONFLICT (code) DO NOTHING",
		    0, NULL) != 0) {
		PQfinish(c);
		return EX_DATAERR;
	}
	for (size_t i = 0; i < sizeof demo_staff / sizeof demo_staff[0]; i++) {
		bool created;
		int rc = insert_staff(c, demo_staff[i].username, demo_staff[i].name,
				      password, demo_staff[i].roles, &created);
		if (rc) {
			PQfinish(c);
			return rc;
		}
	}
	if (run_demo_files(c) != 0) {
		PQfinish(c);
		return EX_DATAERR;
	}
	PQfinish(c);
	printf("demo clinic ready: location 'main' (%s), desks front-1, front-2, phone-1\n"
	       "staff: admin, reception1, reception2, nurse1, billing1, drsmith\n",
	       tz);
	if (printed_default)
		printf("password for every demo login: %s (set FRONTDESK_DEMO_PASSWORD to choose one)\n",
		       password);
	return 0;
}

static int audit_seal_command(PGconn *c)
{
	char err[160];
	long long sealed = 0;
	int rc = audit_seal_run(c, &sealed, err, sizeof err);

	if (rc != 0) {
		fprintf(stderr, "frontdeskd: audit seal: %s%s\n", err,
			rc > 0 ? " (audit inserts held the lock; try again)" : "");
		return rc > 0 ? EX_TEMPFAIL : EX_UNAVAILABLE;
	}
	printf("audit seal: %lld row(s) linked\n", sealed);
	return 0;
}

static int audit_verify_command(PGconn *c)
{
	struct audit_verdict v;
	char err[160];

	if (audit_verify_run(c, &v, err, sizeof err) != 0) {
		fprintf(stderr, "frontdeskd: audit verify: %s\n", err);
		return EX_UNAVAILABLE;
	}
	if (v.bad_id) {
		printf("audit chain BROKEN at row %lld: %s (%lld row(s) before it verified)\n",
		       v.bad_id, v.problem, v.sealed);
		return EX_DATAERR;
	}
	printf("audit chain OK: %lld row(s) verified, %lld not sealed yet, head %s\n",
	       v.sealed, v.unsealed, v.head);
	return 0;
}

int admin_audit(int argc, char **argv)
{
	const char *verb = argc > 1 ? argv[1] : "";
	PGconn *c;
	int rc;

	if (strcmp(verb, "seal") != 0 && strcmp(verb, "verify") != 0) {
		bool help = strcmp(verb, "--help") == 0;
		fprintf(help ? stdout : stderr,
			"usage: frontdeskd audit seal|verify\n"
			"  seal     link every audit row not yet in the hash chain\n"
			"  verify   recompute the chain; prints OK and the head hash, or the\n"
			"           first row changed, deleted or added (exit 65)\n");
		return help ? 0 : EX_USAGE;
	}
	c = connect_or_report();
	if (!c)
		return EX_UNAVAILABLE;
	rc = strcmp(verb, "seal") == 0 ? audit_seal_command(c) : audit_verify_command(c);
	PQfinish(c);
	return rc;
}
