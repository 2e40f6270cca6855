/*
 * The reminder outbox. Booking writes pending rows (per type, default 48 h
 * and 2 h before the start); cancel, no-show and reschedule withdraw them
 * (the appointments trigger). A server timer (PERIODIC row) marks pending
 * rows due once their time has come and hands due rows to the configured
 * sender: the spool-folder sender when FRONTDESK_REMINDER_SPOOL names a
 * folder, else none (rows stay due for a gateway to collect). The sender is
 * an interface, so tests plug in a double and a real SMS gateway is one
 * more implementation.
 *
 * Runs on a worker with the worker's connection in autocommit; each step is
 * its own short transaction. Due rows are claimed with SKIP LOCKED, so
 * several servers on one database never send a reminder twice. Nothing here
 * logs patient data.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "scheduling.h"

#define BATCH 50

static bool exec_ok(PGconn *conn, const char *sql)
{
	PGresult *r = PQexec(conn, sql);
	bool ok = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;

	PQclear(r);
	return ok;
}

static int mark_due(PGconn *conn)
{
	return exec_ok(conn, "UPDATE appointment_reminders SET status = 'due', updated_at = now()"
			     " WHERE status = 'pending' AND send_at <= now()")
		       ? 0
		       : -1;
}

/* Claims up to BATCH due reminders, delivers them and records the outcome,
 * in one transaction. Returns how many were sent, or -1. */
static int deliver_batch(PGconn *conn, const struct sched_reminder_sender *sender, int *claimed)
{
	PGresult *r;
	int sent = 0;

	*claimed = 0;
	if (!exec_ok(conn, "BEGIN"))
		return -1;
	r = PQexec(conn,
		   "SELECT r.id, r.appointment_id, coalesce(pa.phone_e164, ''),"
		   " 'Reminder for ' || pa.given_name || ': ' || t.name || ' with ' || p.display_name"
		   " || ' on ' || local_text(a.starts_at, l.time_zone) || ' at ' || l.name || '.'"
		   " FROM appointment_reminders r JOIN appointments a ON a.id = r.appointment_id"
		   " JOIN patients pa ON pa.id = a.patient_id JOIN providers p ON p.id = a.provider_id"
		   " JOIN appointment_types t ON t.id = a.type_id JOIN locations l ON l.id = a.location_id"
		   " WHERE r.status = 'due' ORDER BY r.send_at, r.id LIMIT 50"
		   " FOR UPDATE OF r SKIP LOCKED");
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		PQclear(r);
		exec_ok(conn, "ROLLBACK");
		return -1;
	}
	*claimed = PQntuples(r);
	for (int i = 0; i < *claimed; i++) {
		struct sched_reminder m = {
			.id = strtoll(PQgetvalue(r, i, 0), NULL, 10),
			.appointment_id = strtoll(PQgetvalue(r, i, 1), NULL, 10),
			.phone = PQgetvalue(r, i, 2),
			.message = PQgetvalue(r, i, 3),
		};
		bool ok = sender->deliver(sender->self, &m) == 0;
		const char *params[2] = { PQgetvalue(r, i, 0), ok ? "sent" : "failed" };
		PGresult *u = PQexecParams(conn,
					   "UPDATE appointment_reminders SET status = $2,"
					   " attempts = attempts + 1, updated_at = now() WHERE id = $1",
					   2, NULL, params, NULL, NULL, 0);
		bool updated = PQresultStatus(u) == PGRES_COMMAND_OK;
		PQclear(u);
		if (!updated) {
			PQclear(r);
			exec_ok(conn, "ROLLBACK");
			return -1;
		}
		sent += ok;
	}
	PQclear(r);
	return exec_ok(conn, "COMMIT") ? sent : -1;
}

int sched_reminders_run(PGconn *conn, const struct sched_reminder_sender *sender)
{
	int total = 0, claimed, sent;

	if (!conn || mark_due(conn) != 0)
		return -1;
	if (!sender)
		return 0;
	do {
		if ((sent = deliver_batch(conn, sender, &claimed)) < 0)
			return -1;
		total += sent;
	} while (claimed == BATCH);
	return total;
}

int sched_spool_deliver(void *dir, const struct sched_reminder *m)
{
	char tmp[1024], path[1024];
	FILE *f;

	snprintf(tmp, sizeof tmp, "%s/.reminder-%lld.tmp", (const char *)dir, (long long)m->id);
	snprintf(path, sizeof path, "%s/reminder-%lld.txt", (const char *)dir, (long long)m->id);
	if (!(f = fopen(tmp, "w")))
		return -1;
	fprintf(f, "to: %s\nappointment: %lld\n\n%s\n", m->phone, (long long)m->appointment_id,
		m->message);
	/* Written whole, then renamed: a gateway picking up *.txt never
	 * reads half a message. */
	if (fflush(f) != 0 || fsync(fileno(f)) != 0) {
		fclose(f);
		unlink(tmp);
		return -1;
	}
	if (fclose(f) != 0 || rename(tmp, path) != 0) {
		unlink(tmp);
		return -1;
	}
	return 0;
}

void sched_reminders_tick(PGconn *conn)
{
	const char *spool = getenv("FRONTDESK_REMINDER_SPOOL");
	struct sched_reminder_sender spool_sender = {
		.name = "spool", .deliver = sched_spool_deliver, .self = (void *)spool,
	};

	if (!conn)
		return;
	if (sched_reminders_run(conn, spool && *spool ? &spool_sender : NULL) < 0)
		fd_log(FD_LOG_WARN, "reminders: the outbox run failed; retrying on the next tick");
}
