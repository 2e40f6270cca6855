/*
 * The audit trail as evidence: rows are hash-chained (the server's sealer
 * and `frontdeskd audit seal`), `frontdeskd audit verify` recomputes the
 * chain and names the first row that was changed or deleted behind the
 * server's back, and the role the server acts as (db_role, frontdesk_app)
 * cannot change or delete audit rows at all: the privilege check refuses
 * before the append-only trigger is reached. One server for the binary.
 */
#include "e2e.h"

#include "frontdesk/v1/patients.pb-c.h"
#include "frontdesk/v1/phone.pb-c.h"

static tp_server server;
static char db[64];
static fd_client *desk;

/* Later cases need the server the first one started. */
#define NEED_SERVER()                                               \
	do {                                                        \
		if (!desk) {                                        \
			th_fail(__FILE__, __LINE__, "no server to test"); \
			return;                                     \
		}                                                   \
	} while (0)

static void start(void)
{
	CHECK(e2e_start(&server, db, sizeof db, "audit", NULL));
	if (th_failed())
		return;
	desk = tp_client(&server);
	CHECK_INT(tp_login(desk, "reception1", "front-1"), FD_OK);
}

/* Reads every demo patient once: one audit row each. */
static void read_every_patient(void)
{
	PGconn *c = tp_db_connect(db);
	PGresult *r = PQexec(c, "SELECT id FROM patients ORDER BY id LIMIT 20");

	CHECK(PQntuples(r) > 2);
	for (int i = 0; i < PQntuples(r); i++) {
		Frontdesk__V1__GetPatientRequest req = FRONTDESK__V1__GET_PATIENT_REQUEST__INIT;
		ProtobufCMessage *rep = NULL;
		fd_status st;

		req.patient_id = atoll(PQgetvalue(r, i, 0));
		CHECK_INT(tp_call(desk, &frontdesk__v1__patients__descriptor, "GetPatient", &req.base,
				  &rep, &st),
			  FD_OK);
		if (rep)
			protobuf_c_message_free_unpacked(rep, NULL);
	}
	PQclear(r);
	PQfinish(c);
}

/* Runs `frontdeskd audit VERB`; returns its exit status, output in out. */
static int audit_command(const char *verb, char *out, size_t size)
{
	char cmd[512], path[96];
	FILE *f;
	size_t n = 0;

	snprintf(path, sizeof path, "/tmp/fdt-audit-%d.out", (int)getpid());
	snprintf(cmd, sizeof cmd, "%s audit %s >%s 2>&1", tp_bin("frontdeskd"), verb, path);
	int rc = tp_run(db, cmd);
	f = fopen(path, "r");
	if (f) {
		n = fread(out, 1, size - 1, f);
		fclose(f);
	}
	out[n] = '\0';
	unlink(path);
	return rc;
}

static long long unsealed_rows(void)
{
	return tp_db_scalar(db, "SELECT count(*) FROM audit_log a"
				" WHERE NOT EXISTS (SELECT 1 FROM audit_chain c WHERE c.audit_id = a.id)");
}

static void the_server_seals_audit_rows_by_itself(void)
{
	NEED_SERVER();
	read_every_patient();
	CHECK(unsealed_rows() > 0);
	/* The periodic sealer runs every 5 s. */
	for (int i = 0; i < 150 && unsealed_rows() != 0; i++)
		e2e_sleep_ms(100);
	CHECK_INT(unsealed_rows(), 0);
}

static void the_chain_verifies_after_normal_traffic(void)
{
	NEED_SERVER();
	char out[1024];

	read_every_patient();
	CHECK_INT(audit_command("seal", out, sizeof out), 0);
	CHECK_MSG(strstr(out, "row(s) linked") != NULL, "%s", out);
	CHECK_INT(unsealed_rows(), 0);
	CHECK_INT(audit_command("verify", out, sizeof out), 0);
	CHECK_MSG(strstr(out, "audit chain OK") != NULL, "%s", out);
	CHECK(tp_db_scalar(db, "SELECT count(*) FROM audit_chain") > 20);
}

/* As a superuser with the append-only trigger off, as an intruder would. */
static int as_intruder(const char *sql)
{
	char all[1024];

	snprintf(all, sizeof all,
		 "BEGIN; ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_update; %s;"
		 " ALTER TABLE audit_log ENABLE TRIGGER audit_log_no_update; COMMIT",
		 sql);
	return tp_db_exec(db, all);
}

static void a_changed_audit_row_is_found_at_that_row(void)
{
	NEED_SERVER();
	char out[1024], want[64], sql[256];
	long long id = tp_db_scalar(db, "SELECT id FROM audit_log WHERE patient_id IS NOT NULL"
					" ORDER BY id OFFSET 3 LIMIT 1");

	CHECK(id > 0);
	snprintf(sql, sizeof sql, "UPDATE audit_log SET patient_id = patient_id + 1 WHERE id = %lld", id);
	CHECK_INT(as_intruder(sql), 0);
	CHECK_INT(audit_command("verify", out, sizeof out), 65);
	snprintf(want, sizeof want, "BROKEN at row %lld:", id);
	CHECK_MSG(strstr(out, want) && strstr(out, "changed"), "%s", out);
	/* Put back exactly, the chain holds again: verify recomputes bytes,
	 * it does not just flag edits. */
	snprintf(sql, sizeof sql, "UPDATE audit_log SET patient_id = patient_id - 1 WHERE id = %lld", id);
	CHECK_INT(as_intruder(sql), 0);
	CHECK_INT(audit_command("verify", out, sizeof out), 0);
}

static void a_deleted_audit_row_is_found_at_that_row(void)
{
	NEED_SERVER();
	char out[1024], want[64], sql[256];
	long long id = tp_db_scalar(db, "SELECT max(audit_id) - 2 FROM audit_chain");

	CHECK(id > 0);
	CHECK(tp_db_scalar(db, "SELECT count(*) FROM audit_log WHERE id = (SELECT max(audit_id) - 2 FROM audit_chain)") == 1);
	snprintf(sql, sizeof sql, "DELETE FROM audit_log WHERE id = %lld", id);
	CHECK_INT(as_intruder(sql), 0);
	CHECK_INT(audit_command("verify", out, sizeof out), 65);
	snprintf(want, sizeof want, "BROKEN at row %lld:", id);
	CHECK_MSG(strstr(out, want) && strstr(out, "deleted"), "%s", out);
}

/* Runs sql as frontdesk_app; returns the SQLSTATE ("" on success) and the
 * message. */
static void as_app_role(const char *sql, char *state, size_t state_size, char *msg, size_t msg_size)
{
	PGconn *c = tp_db_connect(db);
	PGresult *r = PQexec(c, "SET ROLE frontdesk_app");

	CHECK_INT(PQresultStatus(r), PGRES_COMMAND_OK);
	PQclear(r);
	r = PQexec(c, sql);
	const char *s = PQresultErrorField(r, PG_DIAG_SQLSTATE);
	snprintf(state, state_size, "%s", s ? s : "");
	snprintf(msg, msg_size, "%s", PQresultErrorMessage(r));
	PQclear(r);
	PQfinish(c);
}

static void the_app_role_cannot_change_or_delete_audit_rows(void)
{
	NEED_SERVER();
	const char *refused[] = {
		"UPDATE audit_log SET outcome = 'OK'",
		"DELETE FROM audit_log",
		"TRUNCATE audit_log",
		"UPDATE audit_chain SET hash = '\\x00'",
		"DELETE FROM audit_chain",
		"INSERT INTO audit_chain (audit_id, hash) VALUES (-1, '\\x00')",
		"INSERT INTO schema_migrations SELECT * FROM schema_migrations LIMIT 1",
	};
	char state[8], msg[512];

	for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
		as_app_role(refused[i], state, sizeof state, msg, sizeof msg);
		CHECK_MSG(strcmp(state, "42501") == 0, "%s: sqlstate %s %s", refused[i], state, msg);
		/* The privilege check, not the append-only trigger. */
		CHECK_MSG(strstr(msg, "permission denied for table") != NULL, "%s: %s", refused[i], msg);
	}
	as_app_role("INSERT INTO audit_log (method, outcome) VALUES ('test', 'OK')", state,
		    sizeof state, msg, sizeof msg);
	CHECK_MSG(state[0] == '\0', "insert refused: %s", msg);
	/* The owner is still stopped by the trigger. */
	CHECK(tp_db_exec(db, "UPDATE audit_log SET outcome = 'OK'") != 0);
}

static int list_lines(void)
{
	Frontdesk__V1__PhoneListLinesRequest req = FRONTDESK__V1__PHONE_LIST_LINES_REQUEST__INIT;
	ProtobufCMessage *rep = NULL;
	fd_status st;
	int rc = tp_call(desk, &frontdesk__v1__phone__descriptor, "ListLines", &req.base, &rep, &st);

	if (rep)
		protobuf_c_message_free_unpacked(rep, NULL);
	return rc;
}

static void the_server_acts_as_the_app_role(void)
{
	NEED_SERVER();
	/* Take one privilege from frontdesk_app in this test's database: the
	 * server's calls lose it, so they run as that role, not the owner. */
	CHECK_INT(list_lines(), FD_OK);
	CHECK_INT(tp_db_exec(db, "REVOKE SELECT ON phone_lines FROM frontdesk_app"), 0);
	CHECK_INT(list_lines(), FD_PERMISSION_DENIED);
	CHECK_INT(tp_db_exec(db, "GRANT SELECT ON phone_lines TO frontdesk_app"), 0);
	CHECK_INT(list_lines(), FD_OK);
}

static void stop(void)
{
	NEED_SERVER();
	fd_client_close(desk);
	e2e_stop(&server);
}

TH_MAIN(TH_CASE(start), TH_CASE(the_server_seals_audit_rows_by_itself),
	TH_CASE(the_chain_verifies_after_normal_traffic),
	TH_CASE(a_changed_audit_row_is_found_at_that_row),
	TH_CASE(a_deleted_audit_row_is_found_at_that_row),
	TH_CASE(the_app_role_cannot_change_or_delete_audit_rows),
	TH_CASE(the_server_acts_as_the_app_role), TH_CASE(stop))
