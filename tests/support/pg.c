/* Test databases; see pg.h. */
#include "pg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void die(const char *what, const char *detail)
{
	fprintf(stdout, "  FATAL test setup: %s: %s\n", what, detail ? detail : "");
	fflush(stdout);
	exit(2);
}

PGconn *tp_db_connect(const char *dbname)
{
	const char *keys[] = { "dbname", "options", NULL };
	const char *vals[] = { dbname, "-c client_min_messages=warning", NULL };
	PGconn *c = PQconnectdbParams(keys, vals, 0);

	if (PQstatus(c) != CONNECTION_OK)
		die("cannot connect to the test PostgreSQL (run tests through `make test`)",
		    PQerrorMessage(c));
	return c;
}

void tp_db_create(char *dbname, size_t size, const char *tag)
{
	static int counter;
	char sql[256];
	PGconn *c = tp_db_connect("postgres");

	snprintf(dbname, size, "t_%s_%d_%d", tag, (int)getpid(), ++counter);
	snprintf(sql, sizeof sql, "CREATE DATABASE \"%s\"", dbname);
	PGresult *r = PQexec(c, sql);
	if (PQresultStatus(r) != PGRES_COMMAND_OK)
		die("CREATE DATABASE", PQresultErrorMessage(r));
	PQclear(r);
	PQfinish(c);
}

const char *tp_bin(const char *name)
{
	static char paths[4][512];
	static int next;
	const char *dir = getenv("FRONTDESK_BIN_DIR");
	char *p = paths[next++ % 4];

	snprintf(p, sizeof paths[0], "%s/%s", dir ? dir : "build/release/bin", name);
	return p;
}

int tp_run(const char *dbname, const char *cmdline)
{
	char env[256];

	snprintf(env, sizeof env, "dbname=%s", dbname);
	setenv("FRONTDESK_DB", env, 1);
	setenv("FRONTDESK_PASSWORD_HASH_COST", "min", 1);
	fflush(stdout);
	int rc = system(cmdline);
	if (rc == -1 || !WIFEXITED(rc))
		return -1;
	return WEXITSTATUS(rc);
}

void tp_db_create_ready(char *dbname, size_t size, const char *tag)
{
	char cmd[1024];

	tp_db_create(dbname, size, tag);
	snprintf(cmd, sizeof cmd, "%s migrate up >/dev/null", tp_bin("frontdeskd"));
	if (tp_run(dbname, cmd) != 0)
		die("migrate up", dbname);
	snprintf(cmd, sizeof cmd,
		 "FRONTDESK_DEMO_PASSWORD=%s %s seed-demo >/dev/null", TP_PASSWORD,
		 tp_bin("frontdeskd"));
	if (tp_run(dbname, cmd) != 0)
		die("seed-demo", dbname);
}

long long tp_db_scalar(const char *dbname, const char *sql)
{
	PGconn *c = tp_db_connect(dbname);
	PGresult *r = PQexec(c, sql);
	long long v = -1;

	if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) > 0 &&
	    !PQgetisnull(r, 0, 0))
		v = atoll(PQgetvalue(r, 0, 0));
	PQclear(r);
	PQfinish(c);
	return v;
}

int tp_db_exec(const char *dbname, const char *sql)
{
	PGconn *c = tp_db_connect(dbname);
	PGresult *r = PQexec(c, sql);
	int ok = PQresultStatus(r) == PGRES_COMMAND_OK ||
		 PQresultStatus(r) == PGRES_TUPLES_OK;

	PQclear(r);
	PQfinish(c);
	return ok ? 0 : -1;
}
