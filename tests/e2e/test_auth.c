/*
 * Sessions and the gate's auth checks against the real server: tokens,
 * roles, lockout, logout, audit. One server serves every case in order; the
 * last case stops it and checks it exits 0.
 */
#include "e2e.h"

static tp_server srv;
static char db[64];

static bool up(void)
{
	if (srv.pid > 0)
		return true;
	return e2e_start(&srv, db, sizeof db, "auth", NULL);
}

static int login_as(fd_client *c, const char *user, const char *password,
		    const char *desk, fd_status *st)
{
	Frontdesk__V1__LoginRequest req = FRONTDESK__V1__LOGIN_REQUEST__INIT;
	ProtobufCMessage *rep = NULL;

	req.username = (char *)user;
	req.password = (char *)password;
	req.desk = (char *)desk;
	int rc = tp_call(c, AUTH_SVC, "Login", &req.base, &rep, st);
	if (rc == FD_OK) {
		fd_client_set_token(c, ((Frontdesk__V1__LoginReply *)rep)->session_token);
		protobuf_c_message_free_unpacked(rep, NULL);
	}
	return rc;
}

static void ping_needs_no_login(void)
{
	fd_status st;

	CHECK(up());
	fd_client *c = tp_client(&srv);
	CHECK_INT(call_ping(c, &st), FD_OK);
	fd_client_close(c);
}

static void calls_without_a_token_are_unauthenticated(void)
{
	fd_status st;

	CHECK(up());
	fd_client *c = tp_client(&srv);
	CHECK_INT(call_whoami(c, &st), FD_UNAUTHENTICATED);
	CHECK_INT(call_create_desk(c, "nope", NULL, &st), FD_UNAUTHENTICATED);
	fd_client_close(c);
}

static void tampered_token_is_unauthenticated(void)
{
	fd_status st;
	char tok[80];

	CHECK(up());
	fd_client *c = tp_client(&srv);
	CHECK_INT(tp_login(c, "reception1", "front-1"), FD_OK);
	CHECK_INT(call_whoami(c, &st), FD_OK);
	snprintf(tok, sizeof tok, "%s", fd_client_token(c));
	tok[10] = tok[10] == '0' ? '1' : '0';
	fd_client_set_token(c, tok);
	CHECK_INT(call_whoami(c, &st), FD_UNAUTHENTICATED);
	fd_client_set_token(c, "not-even-hex");
	CHECK_INT(call_whoami(c, &st), FD_UNAUTHENTICATED);
	fd_client_close(c);
}

static void idle_session_is_logged_off(void)
{
	fd_status st;

	CHECK(up());
	fd_client *c = tp_client(&srv);
	CHECK_INT(tp_login(c, "reception2", "front-2"), FD_OK);
	CHECK_INT(call_whoami(c, &st), FD_OK);
	/* Sixteen minutes of silence, without waiting them out. */
	CHECK(tp_db_exec(db, "UPDATE sessions SET last_seen_at = now() - interval '16 minutes'"
			     " WHERE staff_id = (SELECT id FROM staff WHERE username = 'reception2')") == 0);
	CHECK_INT(call_whoami(c, &st), FD_UNAUTHENTICATED);
	fd_client_close(c);
}

static void expired_session_is_unauthenticated(void)
{
	fd_status st;

	CHECK(up());
	fd_client *c = tp_client(&srv);
	CHECK_INT(tp_login(c, "nurse1", "front-1"), FD_OK);
	CHECK(tp_db_exec(db, "UPDATE sessions SET created_at = now() - interval '13 hours',"
			     " expires_at = now() - interval '1 hour'"
			     " WHERE staff_id = (SELECT id FROM staff WHERE username = 'nurse1')") == 0);
	CHECK_INT(call_whoami(c, &st), FD_UNAUTHENTICATED);
	fd_client_close(c);
}

static void wrong_password_and_unknown_user_answer_alike(void)
{
	fd_status a, b;

	CHECK(up());
	fd_client *c = tp_client(&srv);
	CHECK_INT(login_as(c, "billing1", "wrong-password", "front-1", &a), FD_UNAUTHENTICATED);
	CHECK_INT(login_as(c, "nobody-here", "wrong-password", "front-1", &b), FD_UNAUTHENTICATED);
	CHECK_STR(a.message, b.message);
	CHECK_INT(login_as(c, "billing1", TP_PASSWORD, "front-1", &a), FD_OK);
	fd_client_close(c);
}

static void repeated_failures_lock_the_account_until_unlocked(void)
{
	fd_status st, wrong;
	fd_client *c, *admin;

	CHECK(up());
	c = tp_client(&srv);
	for (int i = 0; i < 5; i++)
		CHECK_INT(login_as(c, "drsmith", "bad-guess-123", "front-1", &wrong),
			  FD_UNAUTHENTICATED);
	/* The right password no longer helps, and says nothing more. */
	CHECK_INT(login_as(c, "drsmith", TP_PASSWORD, "front-1", &st), FD_UNAUTHENTICATED);
	CHECK_STR(st.message, wrong.message);
	CHECK(tp_db_scalar(db, "SELECT count(*) FROM login_failures"
			       " WHERE username = 'drsmith' AND locked_until > now()") == 1);

	admin = tp_client(&srv);
	CHECK_INT(tp_login(admin, "admin", "front-1"), FD_OK);
	Frontdesk__V1__UnlockStaffRequest req = FRONTDESK__V1__UNLOCK_STAFF_REQUEST__INIT;
	ProtobufCMessage *rep = NULL;
	req.staff_id = tp_db_scalar(db, "SELECT id FROM staff WHERE username = 'drsmith'");
	CHECK_INT(tp_call(admin, ADMIN_SVC, "UnlockStaff", &req.base, &rep, &st), FD_OK);
	protobuf_c_message_free_unpacked(rep, NULL);
	CHECK_INT(login_as(c, "drsmith", TP_PASSWORD, "front-1", &st), FD_OK);
	fd_client_close(admin);
	fd_client_close(c);
}

static void role_without_permission_is_denied(void)
{
	fd_status st;

	CHECK(up());
	fd_client *c = tp_client(&srv);
	CHECK_INT(tp_login(c, "reception1", "front-1"), FD_OK);
	CHECK_INT(call_create_desk(c, "front-9", NULL, &st), FD_PERMISSION_DENIED);
	CHECK(strstr(st.message, "admin") != NULL);
	CHECK(tp_db_scalar(db, "SELECT count(*) FROM desks WHERE code = 'front-9'") == 0);
	fd_client_close(c);
}

static void whoami_names_the_staff_member_and_desk(void)
{
	Frontdesk__V1__WhoAmIRequest req = FRONTDESK__V1__WHO_AM_IREQUEST__INIT;
	ProtobufCMessage *rep = NULL;
	fd_status st;

	CHECK(up());
	fd_client *c = tp_client(&srv);
	CHECK_INT(tp_login(c, "reception1", "front-2"), FD_OK);
	CHECK_INT(tp_call(c, AUTH_SVC, "WhoAmI", &req.base, &rep, &st), FD_OK);
	Frontdesk__V1__WhoAmIReply *w = (void *)rep;
	CHECK_STR(w->staff->username, "reception1");
	CHECK_STR(w->desk, "front-2");
	CHECK_INT(w->staff->n_roles, 1);
	CHECK_STR(w->staff->roles[0], "front_desk");
	CHECK_INT(w->idle_timeout_s, 900);
	CHECK(w->expires_unix_ms > w->session_started_unix_ms);
	protobuf_c_message_free_unpacked(rep, NULL);
	fd_client_close(c);
}

static void logout_ends_the_session(void)
{
	Frontdesk__V1__LogoutRequest req = FRONTDESK__V1__LOGOUT_REQUEST__INIT;
	ProtobufCMessage *rep = NULL;
	fd_status st;

	CHECK(up());
	fd_client *c = tp_client(&srv);
	CHECK_INT(tp_login(c, "reception1", "front-1"), FD_OK);
	CHECK_INT(tp_call(c, AUTH_SVC, "Logout", &req.base, &rep, &st), FD_OK);
	protobuf_c_message_free_unpacked(rep, NULL);
	CHECK_INT(call_whoami(c, &st), FD_UNAUTHENTICATED);
	fd_client_close(c);
}

static void login_at_an_unknown_desk_is_not_found(void)
{
	fd_status st;

	CHECK(up());
	fd_client *c = tp_client(&srv);
	CHECK_INT(login_as(c, "reception1", TP_PASSWORD, "no-such-desk", &st), FD_NOT_FOUND);
	fd_client_close(c);
}

static void malformed_text_and_missing_fields_are_invalid(void)
{
	fd_status st;

	CHECK(up());
	fd_client *c = tp_client(&srv);
	CHECK_INT(login_as(c, "recep\xfftion1", TP_PASSWORD, "front-1", &st), FD_INVALID_ARGUMENT);
	CHECK_INT(login_as(c, "", TP_PASSWORD, "front-1", &st), FD_INVALID_ARGUMENT);
	/* The server keeps serving. */
	CHECK_INT(login_as(c, "reception1", TP_PASSWORD, "front-1", &st), FD_OK);
	fd_client_close(c);
}

static void changes_are_audited_and_the_audit_log_is_append_only(void)
{
	fd_status st;
	int64_t id;

	CHECK(up());
	fd_client *c = tp_client(&srv);
	CHECK_INT(tp_login(c, "admin", "front-1"), FD_OK);
	CHECK_INT(call_create_desk(c, "audit-desk", &id, &st), FD_OK);
	char sql[256];
	snprintf(sql, sizeof sql,
		 "SELECT count(*) FROM audit_log a JOIN staff s ON s.id = a.staff_id"
		 " WHERE a.method = '/frontdesk.v1.Admin/CreateDesk' AND a.outcome = 'OK'"
		 " AND s.username = 'admin' AND a.subject = 'desk:%lld'",
		 (long long)id);
	CHECK(tp_db_scalar(db, sql) == 1);
	CHECK(tp_db_scalar(db, "SELECT count(*) FROM audit_log"
			       " WHERE method = '/frontdesk.v1.Auth/Login' AND outcome = 'UNAUTHENTICATED'") >= 1);
	CHECK(tp_db_exec(db, "UPDATE audit_log SET outcome = 'forged'") != 0);
	CHECK(tp_db_exec(db, "DELETE FROM audit_log") != 0);
	CHECK(tp_db_exec(db, "TRUNCATE audit_log") != 0);
	fd_client_close(c);
}

static void sessions_are_stored_only_as_hashes(void)
{
	CHECK(up());
	fd_client *c = tp_client(&srv);
	CHECK_INT(tp_login(c, "reception1", "front-1"), FD_OK);
	char sql[256];
	snprintf(sql, sizeof sql,
		 "SELECT count(*) FROM sessions WHERE encode(token_hash, 'hex') = '%s'"
		 " OR encode(token_hash, 'escape') LIKE '%%%s%%'",
		 fd_client_token(c), fd_client_token(c));
	CHECK(tp_db_scalar(db, sql) == 0);
	CHECK(tp_db_scalar(db, "SELECT count(*) FROM idempotent_replies"
			       " WHERE method = '/frontdesk.v1.Auth/Login'") == 0);
	fd_client_close(c);
}

/* A call that changes nothing replies before its COMMIT, which rides with
 * the worker's next statement, or goes before the worker sleeps
 * (server/db/conn.c, db_commit_later): the read's idle-timer touch is
 * committed, and no worker connection stays in an open transaction. */
static void a_read_commits_its_session_touch_and_leaves_no_transaction_open(void)
{
	char touched[320], open_tx[160];
	fd_status st;
	long long seen = 0, open = -1;

	CHECK(up());
	fd_client *c = tp_client(&srv);
	CHECK_INT(tp_login(c, "reception2", "front-2"), FD_OK);
	snprintf(touched, sizeof touched,
		 "SELECT count(*) FROM sessions WHERE token_hash ="
		 " sha256(convert_to('%s', 'UTF8')) AND last_seen_at > now() - interval '30 seconds'",
		 fd_client_token(c));
	snprintf(open_tx, sizeof open_tx,
		 "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
		 " AND application_name = 'frontdeskd' AND state <> 'idle'");
	/* Two minutes of silence: the next call refreshes the idle timer. */
	char back[320];
	snprintf(back, sizeof back,
		 "UPDATE sessions SET last_seen_at = now() - interval '2 minutes'"
		 " WHERE token_hash = sha256(convert_to('%s', 'UTF8'))",
		 fd_client_token(c));
	CHECK(tp_db_exec(db, back) == 0);
	CHECK_INT(tp_db_scalar(db, touched), 0);
	CHECK_INT(call_whoami(c, &st), FD_OK);
	/* The reply may arrive a moment before the COMMIT does; then the
	 * worker, with nothing else to do, sends it at once. Half a second
	 * is plenty for that even under valgrind, and less than the 1 s of
	 * the phone housekeeping job, whose start would also send it. */
	for (int i = 0; i < 50 && (seen != 1 || open != 0); i++) {
		if (i)
			e2e_sleep_ms(10);
		seen = tp_db_scalar(db, touched);
		open = tp_db_scalar(db, open_tx);
	}
	CHECK_INT(seen, 1);
	CHECK_INT(open, 0);
	fd_client_close(c);
}

static void server_exits_cleanly_on_sigterm(void)
{
	CHECK(up());
	e2e_stop(&srv);
}

TH_MAIN(TH_CASE(ping_needs_no_login), TH_CASE(calls_without_a_token_are_unauthenticated),
	TH_CASE(tampered_token_is_unauthenticated), TH_CASE(idle_session_is_logged_off),
	TH_CASE(expired_session_is_unauthenticated),
	TH_CASE(wrong_password_and_unknown_user_answer_alike),
	TH_CASE(repeated_failures_lock_the_account_until_unlocked),
	TH_CASE(role_without_permission_is_denied),
	TH_CASE(whoami_names_the_staff_member_and_desk), TH_CASE(logout_ends_the_session),
	TH_CASE(login_at_an_unknown_desk_is_not_found),
	TH_CASE(malformed_text_and_missing_fields_are_invalid),
	TH_CASE(changes_are_audited_and_the_audit_log_is_append_only),
	TH_CASE(sessions_are_stored_only_as_hashes),
	TH_CASE(a_read_commits_its_session_touch_and_leaves_no_transaction_open),
	TH_CASE(server_exits_cleanly_on_sigterm))
