/*
 * Test databases on the throwaway PostgreSQL that tests/run.sh starts (its
 * PG* variables are in the environment). Each test makes its own database,
 * so tests never see each other's rows. All functions abort the test binary
 * with a message when the cluster is unusable: nothing can pass without it.
 */
#ifndef FD_TEST_PG_H
#define FD_TEST_PG_H

#include <libpq-fe.h>
#include <stddef.h>

#define TP_PASSWORD "test-password-1"

/* Creates an empty database with a unique name (written to dbname). */
void tp_db_create(char *dbname, size_t size, const char *tag);
/* Creates, migrates (frontdeskd migrate up) and seeds the demo clinic with
 * TP_PASSWORD for every demo login. */
void tp_db_create_ready(char *dbname, size_t size, const char *tag);
PGconn *tp_db_connect(const char *dbname);
/* Runs sql; returns the first column of the first row as an integer, or
 * -1 when the statement fails or returns no row. */
long long tp_db_scalar(const char *dbname, const char *sql);
/* Runs sql; 0 on success. */
int tp_db_exec(const char *dbname, const char *sql);
/* Path of a built binary ("frontdeskd", "desk"). */
const char *tp_bin(const char *name);
/* Runs a command line through /bin/sh with FRONTDESK_DB pointing at dbname;
 * returns its exit status (or -1). Output goes to the test's stdout. */
int tp_run(const char *dbname, const char *cmdline);

#endif
