/*
 * The audit sealer: a PERIODIC job that links the audit rows written since
 * its last run into the hash chain (audit_seal_run in server/audit.c, SQL
 * in migrations/0007_audit_chain.sql). Audited calls never wait for the
 * hashing; they wait at most for the brief lock that makes sure no audit
 * insert is still in flight below the rows being linked. Every server
 * sharing a database runs it; the database lets one seal at a time.
 * Runs on a worker thread with the worker's connection in autocommit.
 */
#include <stdio.h>

#include "audit.h"
#include "log.h"

void audit_seal_tick(PGconn *conn);

void audit_seal_tick(PGconn *conn)
{
	char err[160];
	long long sealed = 0;
	int rc;

	if (!conn)
		return;
	rc = audit_seal_run(conn, &sealed, err, sizeof err);
	if (rc < 0)
		log_warn("audit seal: %s", err);
	else if (rc > 0)
		log_debug("audit seal: audit inserts held the lock; next round");
	else if (sealed)
		log_debug("audit seal: %lld row(s) linked", sealed);
}
