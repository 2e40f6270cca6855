/*
 * The authorisation sweep: every method in the server's own method table
 * (methods_all(), so a method added tomorrow is swept tomorrow) is called
 * on the real server with no session token, with an expired one, and with
 * the token of a role its row does not allow. Non-public methods must answer
 * UNAUTHENTICATED, UNAUTHENTICATED and PERMISSION_DENIED, whatever the
 * request says: the requests are empty messages of each method's input type,
 * and the gate must refuse before any handler runs. A non-public row with no
 * roles at all fails the first case, so a method cannot be added without
 * deciding who may call it.
 */
#include "e2e.h"
#include "methods.h"

static tp_server srv;
static char db[64];

/* One demo login per role (server/admin_tools.c seeds them). */
static const struct {
	unsigned role;
	const char *user;
} role_users[] = {
    {ROLE_ADMIN, "admin"},  {ROLE_FRONT_DESK, "reception1"}, {ROLE_BILLING, "billing1"},
    {ROLE_NURSE, "nurse1"}, {ROLE_PROVIDER, "drsmith"},
};
#define N_ROLES (sizeof role_users / sizeof role_users[0])

static fd_client *by_role[N_ROLES];

static bool up(void)
{
	if (srv.pid > 0)
		return true;
	if (methods_init() != 0) {
		th_fail(__FILE__, __LINE__, "methods_init failed");
		return false;
	}
	if (!e2e_start(&srv, db, sizeof db, "authz", NULL))
		return false;
	for (size_t i = 0; i < N_ROLES; i++) {
		by_role[i] = tp_client(&srv);
		if (tp_login(by_role[i], role_users[i].user, "front-1") != FD_OK) {
			th_fail(__FILE__, __LINE__, "cannot log in as %s", role_users[i].user);
			return false;
		}
	}
	return true;
}

/* Calls m with an empty request of its input type; returns the status. */
static int call_empty(fd_client *c, const struct fd_method *m, fd_status *st)
{
	ProtobufCMessage *req = calloc(1, m->input->sizeof_message);
	ProtobufCMessage *rep = NULL;

	if (!req)
		return fd_fail(st, FD_INTERNAL, "out of memory");
	protobuf_c_message_init(m->input, req);
	int rc = fd_client_call(c, m->path, req, m->output, &rep, 0, st);
	if (rep)
		protobuf_c_message_free_unpacked(rep, NULL);
	free(req);
	return rc;
}

/* Records a failure naming the method and carries on, so one run lists
 * every method that is wrong, not just the first. */
static void expect(const struct fd_method *m, const char *how, int got, const fd_status *st,
                   int want)
{
	if (got != want)
		th_fail(__FILE__, __LINE__, "%s %s: got %s (%s), want %s", m->path, how,
		        fd_code_name(got), st->message, fd_code_name(want));
}

static void every_non_public_method_names_the_roles_that_may_call_it(void)
{
	size_t n;
	const struct fd_method *all = methods_all(&n);

	CHECK(n > 10); /* the table is really there */
	for (size_t i = 0; i < n; i++)
		if (!(all[i].flags & M_PUBLIC) && (all[i].roles & ROLE_ANY_STAFF) == 0)
			th_fail(__FILE__, __LINE__, "%s has no role entry", all[i].path);
}

static void every_non_public_method_refuses_a_call_without_a_token(void)
{
	size_t n;
	const struct fd_method *all;
	fd_status st;

	CHECK(up());
	all = methods_all(&n);
	fd_client *anon = tp_client(&srv);
	for (size_t i = 0; i < n; i++) {
		if (all[i].flags & M_PUBLIC)
			continue;
		expect(&all[i], "without a token", call_empty(anon, &all[i], &st), &st,
		       FD_UNAUTHENTICATED);
	}
	/* A made-up token is no better than none. */
	fd_client_set_token(anon, "not-a-session-token-0123456789abcdef");
	for (size_t i = 0; i < n; i++) {
		if (all[i].flags & M_PUBLIC)
			continue;
		expect(&all[i], "with a made-up token", call_empty(anon, &all[i], &st), &st,
		       FD_UNAUTHENTICATED);
	}
	fd_client_close(anon);
}

static void every_non_public_method_refuses_an_expired_token(void)
{
	size_t n;
	const struct fd_method *all;
	fd_status st;

	CHECK(up());
	all = methods_all(&n);
	fd_client *c = tp_client(&srv);
	CHECK_INT(tp_login(c, "reception2", "front-2"), FD_OK);
	CHECK_INT(call_whoami(c, &st), FD_OK); /* the token works until it expires */
	CHECK_INT(
	    tp_db_exec(db, "UPDATE sessions SET created_at = now() - interval '2 hours',"
	                   " last_seen_at = now() - interval '2 hours',"
	                   " expires_at = now() - interval '1 hour'"
	                   " WHERE staff_id = (SELECT id FROM staff WHERE username = 'reception2')"
	                   "   AND ended_at IS NULL"),
	    0);
	for (size_t i = 0; i < n; i++) {
		if (all[i].flags & M_PUBLIC)
			continue;
		expect(&all[i], "with an expired token", call_empty(c, &all[i], &st), &st,
		       FD_UNAUTHENTICATED);
	}
	fd_client_close(c);
}

static void every_method_refuses_a_role_it_does_not_list(void)
{
	size_t n, swept = 0;
	const struct fd_method *all;
	fd_status st;

	CHECK(up());
	all = methods_all(&n);
	for (size_t i = 0; i < n; i++) {
		const struct fd_method *m = &all[i];
		if (m->flags & M_PUBLIC)
			continue;
		/* Every role the row leaves out must be refused. */
		for (size_t r = 0; r < N_ROLES; r++) {
			if (m->roles & role_users[r].role)
				continue;
			char how[64];
			snprintf(how, sizeof how, "as %s", fd_role_name(role_users[r].role));
			expect(m, how, call_empty(by_role[r], m, &st), &st, FD_PERMISSION_DENIED);
			swept++;
		}
	}
	/* Admin-only methods exist, so the sweep cannot be empty. */
	CHECK(swept > 0);
	/* The refused sessions are still good sessions: refusal is not logout. */
	for (size_t r = 0; r < N_ROLES; r++)
		CHECK_INT(call_whoami(by_role[r], &st), FD_OK);
}

static void public_methods_answer_without_a_token(void)
{
	fd_status st;

	CHECK(up());
	fd_client *anon = tp_client(&srv);
	CHECK_INT(call_ping(anon, &st), FD_OK);
	fd_client_close(anon);
}

static void the_server_exits_cleanly(void)
{
	CHECK(up());
	for (size_t i = 0; i < N_ROLES; i++)
		fd_client_close(by_role[i]);
	e2e_stop(&srv);
}

TH_MAIN(TH_CASE(every_non_public_method_names_the_roles_that_may_call_it),
        TH_CASE(every_non_public_method_refuses_a_call_without_a_token),
        TH_CASE(every_non_public_method_refuses_an_expired_token),
        TH_CASE(every_method_refuses_a_role_it_does_not_list),
        TH_CASE(public_methods_answer_without_a_token), TH_CASE(the_server_exits_cleanly))
