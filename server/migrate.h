/*
 * Schema migrations: the `frontdeskd migrate` admin command and the check
 * the server runs at start so it never serves against a schema it does not
 * know.
 *
 * Migration files are migrations/NNNN_name.sql (NNNN = 0001, 0002, ... with
 * no gaps, name [a-z0-9_]+). Each is applied in its own transaction together
 * with its row in schema_migrations (version, name without number and
 * ".sql", hex SHA-256 of the exact file bytes, applied_at), so a file is
 * either applied and recorded or not at all. `up` holds a session advisory
 * lock, so concurrent runs queue instead of applying a file twice.
 *
 * Thread: any; each call uses its own connection (migrate_command) or the
 * caller's (migrate_check_schema, which runs two reads in autocommit mode).
 */
#ifndef FD_MIGRATE_H
#define FD_MIGRATE_H

#include <libpq-fe.h>
#include <stddef.h>

/* Highest migration number this build of the server knows. Bumped whenever a
 * migrations/NNNN_*.sql file is added. */
#define FD_SCHEMA_VERSION 1

/* Default folder of migration files: FD_SOURCE_DIR "/migrations"
 * (FD_SOURCE_DIR is a -D string macro the Makefile passes = repo root),
 * overridden by a non-empty env FRONTDESK_MIGRATIONS. */
const char *migrate_default_dir(void);

/* `frontdeskd migrate <up|status|verify> [--migrations DIR]`: argv[0] is
 * "migrate". conninfo is a libpq conninfo string ("" or NULL = libpq
 * defaults / PG* env); it is never printed (it may hold a password).
 *
 *   up      apply every pending file, in order (no-op when up to date)
 *   status  list every migration: applied (with time), pending, or a problem;
 *           exits 0 whenever it could read files and database
 *   verify  exit 0 only when every applied migration's file exists and is
 *           unchanged and nothing is pending
 *
 * Prints to stdout (progress, listings) and stderr (problems). Returns an
 * exit code from sysexits.h: 0 ok, 64 usage, 65 data error (bad file name,
 * gap or duplicate number, changed or missing file, failing file, pending
 * migrations for verify), 66 migrations folder or a file unreadable, 69
 * database unreachable, 70 internal. */
int migrate_command(int argc, char **argv, const char *conninfo);

/* Used by the server at start: 0 when the database schema is exactly at
 * `expected`; -1 otherwise with msg (NUL-terminated, fits msg_size) telling
 * the operator what is wrong and naming the command that fixes it, e.g.
 * "database schema is at version 0 but this server needs 1: run `frontdeskd
 * migrate up`". A schema newer than expected is also -1 ("upgrade the
 * server"), as is a database that cannot be read. */
int migrate_check_schema(PGconn *conn, int expected, char *msg,
			 size_t msg_size);

#endif
