/*
 * The session verbs: `desk ping`, `desk login`, `desk logout`, `desk whoami`.
 *
 * Login is where a credential enters the desk: the password comes from a
 * pipe, the environment or the terminal (never argv), is wiped as soon as
 * the call returns, and the token the server hands back goes straight into
 * the 0600 session file. Every other command reads that file (or
 * FRONTDESK_TOKEN) through desk_connect.
 */
#include <limits.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "output.h"
#include "settings.h"
#include "frontdesk/v1/auth.pb-c.h"
#include "frontdesk/v1/health.pb-c.h"

#define countof(a) (sizeof(a) / sizeof((a)[0]))

static double mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* --- ping ------------------------------------------------------------ */

static void print_ping(const struct desk *d, const Frontdesk__V1__PingReply *r,
		       double round_trip_ms)
{
	if (d->json) {
		struct desk_json j;

		json_begin(&j, stdout);
		json_string(&j, "server", desk_server_url(d));
		json_string(&j, "server_version", r->server_version);
		json_uint(&j, "api_version", r->api_version);
		json_uint(&j, "schema_version", r->schema_version);
		json_int(&j, "server_time_unix_ms", r->server_time_unix_ms);
		json_string(&j, "events_url", r->events_url);
		json_bool(&j, "database_up", r->database_up);
		json_fixed(&j, "round_trip_ms", round_trip_ms, 3);
		json_end(&j);
		return;
	}
	fputs("server      ", stdout);
	desk_print_text(stdout, desk_server_url(d));
	fputs("\nversion     ", stdout);
	desk_print_text(stdout, r->server_version);
	printf("\napi         %u%s\n", r->api_version,
	       r->api_version == FD_API_VERSION ? "" : " (this desk speaks 1)");
	printf("schema      %u\n", r->schema_version);
	fputs("events      ", stdout);
	desk_print_text(stdout, r->events_url);
	printf("\ndatabase    %s\n", r->database_up ? "up" : "down");
	printf("round trip  %.2f ms\n", round_trip_ms);
}

int cmd_ping(struct desk *d, int argc, char **argv)
{
	Frontdesk__V1__PingRequest req = FRONTDESK__V1__PING_REQUEST__INIT;
	ProtobufCMessage *reply;
	double started;
	int rc;

	if ((rc = desk_parse_flags(d, NULL, 0, argc, argv)) != DESK_GO)
		return rc;
	if ((rc = desk_connect(d, false)) != 0)
		return rc;
	started = mono_ms();
	if ((rc = desk_call(d, &frontdesk__v1__health__descriptor, "Ping",
			    &req.base, &reply)) != 0)
		return rc;
	print_ping(d, (Frontdesk__V1__PingReply *)reply, mono_ms() - started);
	protobuf_c_message_free_unpacked(reply, NULL);
	return 0;
}

/* --- login ----------------------------------------------------------- */

static void print_login(const struct desk *d, const Frontdesk__V1__LoginReply *r,
			const char *token_file)
{
	char ends[64], idle[32];

	if (d->json) {
		struct desk_json j;

		json_begin(&j, stdout);
		json_staff_summary(&j, "staff", r->staff);
		json_string(&j, "desk", r->desk);
		json_uint(&j, "idle_timeout_s", r->idle_timeout_s);
		json_int(&j, "expires_unix_ms", r->expires_unix_ms);
		json_string(&j, "token_file", token_file);
		json_end(&j);
		return;
	}
	desk_format_time(ends, sizeof ends, r->expires_unix_ms);
	desk_format_duration(idle, sizeof idle, r->idle_timeout_s);
	fputs("Logged in as ", stdout);
	if (r->staff) {
		desk_print_text(stdout, r->staff->display_name);
		fputs(" (", stdout);
		desk_print_text(stdout, r->staff->username);
		fputs(")", stdout);
	}
	fputs(" at desk ", stdout);
	desk_print_text(stdout, r->desk);
	printf(".\nThe session ends at %s at the latest, or after %s without "
	       "use.\n",
	       ends, idle);
	if (r->staff) {
		fputs("Roles: ", stdout);
		desk_print_roles(stdout, r->staff->roles, r->staff->n_roles);
		fputs("\n", stdout);
	}
}

/* Wipes the token in the reply before it goes back to the heap. */
static void free_login_reply(Frontdesk__V1__LoginReply *r)
{
	if (r->session_token)
		sodium_memzero(r->session_token, strlen(r->session_token));
	protobuf_c_message_free_unpacked(&r->base, NULL);
}

int cmd_login(struct desk *d, int argc, char **argv)
{
	Frontdesk__V1__LoginRequest req = FRONTDESK__V1__LOGIN_REQUEST__INIT;
	const char *user = NULL, *desk_flag = NULL, *desk;
	char password[DESK_PASSWORD_MAX], prompt[128], path[PATH_MAX];
	bool from_stdin = false;
	Frontdesk__V1__LoginReply *r;
	ProtobufCMessage *reply;
	fd_status st;
	int rc;
	const struct desk_flag flags[] = {
		{ "user", DESK_FLAG_TEXT, &user, "NAME", "your user name" },
		{ "desk", DESK_FLAG_TEXT, &desk_flag, "CODE",
		  "the desk you sit at (FRONTDESK_DESK, `desk =` in desk.conf)" },
		{ "password-stdin", DESK_FLAG_SWITCH, &from_stdin, NULL,
		  "read the password from the first line of stdin" },
	};

	if ((rc = desk_parse_flags(d, flags, countof(flags), argc, argv)) != DESK_GO)
		return rc;
	if (!user || !user[0])
		return desk_usage(d, "missing --user NAME");
	if (!(desk = desk_code(d, desk_flag)))
		return desk_usage(d, "missing --desk CODE (or set FRONTDESK_DESK, "
				     "or `desk = CODE` in desk.conf)");
	/* Reach the server before asking for the password, so nobody types
	 * it only to learn the server is down. */
	if ((rc = desk_connect(d, false)) != 0)
		return rc;
	snprintf(prompt, sizeof prompt, "Password for %s: ", user);
	if ((rc = desk_read_password(d, from_stdin, "FRONTDESK_PASSWORD", prompt,
				     false, password, sizeof password)) != 0)
		return rc;

	req.username = (char *)user;
	req.password = password;
	req.desk = (char *)desk;
	rc = desk_call_quiet(d, &frontdesk__v1__auth__descriptor, "Login",
			     &req.base, &reply, &st);
	sodium_memzero(password, sizeof password);
	if (rc == FD_UNAUTHENTICATED)
		return desk_report(d->json, d->cmd->action, &st,
				   "check the user name, the password and the "
				   "desk code; repeated failures lock the user "
				   "name for a while (an admin can `desk staff "
				   "unlock`)", NULL, desk_server_url(d));
	if (rc != FD_OK)
		return desk_fail(d, &st);

	r = (Frontdesk__V1__LoginReply *)reply;
	if (!r->session_token || !r->session_token[0]) {
		free_login_reply(r);
		return desk_fail_local(d, FD_INTERNAL, NULL,
				       "the server accepted the login but sent "
				       "no session token");
	}
	rc = desk_token_save(d, r->session_token, path, sizeof path);
	if (rc == 0) {
		print_login(d, r, path);
		if (getenv("FRONTDESK_TOKEN"))
			fputs("desk: note: FRONTDESK_TOKEN is set and is used "
			      "instead of this session; unset it to use this one\n",
			      stderr);
	}
	free_login_reply(r);
	return rc;
}

/* --- logout ---------------------------------------------------------- */

static void print_logout(const struct desk *d, bool ended_now,
			 bool file_removed, const char *source)
{
	bool from_env = strcmp(source, "FRONTDESK_TOKEN") == 0;

	if (d->json) {
		struct desk_json j;

		json_begin(&j, stdout);
		json_bool(&j, "logged_out", true);
		json_bool(&j, "session_was_open", ended_now);
		json_bool(&j, "token_file_removed", file_removed);
		json_end(&j);
		return;
	}
	puts(ended_now ? "Logged out."
		       : "The session had already ended on the server.");
	if (file_removed) {
		fputs("Removed the saved session ", stdout);
		desk_print_text(stdout, source);
		fputs(".\n", stdout);
	}
	if (from_env)
		puts("FRONTDESK_TOKEN still holds the old token; unset it.");
}

int cmd_logout(struct desk *d, int argc, char **argv)
{
	Frontdesk__V1__LogoutRequest req = FRONTDESK__V1__LOGOUT_REQUEST__INIT;
	char token[DESK_TOKEN_MAX];
	const char *source = NULL;
	bool removed = false;
	ProtobufCMessage *reply = NULL;
	fd_status st;
	int rc;

	if ((rc = desk_parse_flags(d, NULL, 0, argc, argv)) != DESK_GO)
		return rc;
	if (!desk_token_load(token, sizeof token, &source)) {
		if (d->json) {
			struct desk_json j;
			json_begin(&j, stdout);
			json_bool(&j, "logged_out", false);
			json_bool(&j, "session_was_open", false);
			json_bool(&j, "token_file_removed", false);
			json_end(&j);
		} else {
			puts("Not logged in.");
		}
		return 0;
	}
	if ((rc = desk_connect(d, false)) != 0) {
		sodium_memzero(token, sizeof token);
		return rc;
	}
	fd_client_set_token(d->client, token);
	sodium_memzero(token, sizeof token);

	rc = desk_call_quiet(d, &frontdesk__v1__auth__descriptor, "Logout",
			     &req.base, &reply, &st);
	if (reply)
		protobuf_c_message_free_unpacked(reply, NULL);
	/* UNAUTHENTICATED: the session had already ended (idle, expired,
	 * revoked), so the saved token is useless and goes too. Any other
	 * failure leaves the file, so the logout can be retried. */
	if (rc != FD_OK && rc != FD_UNAUTHENTICATED)
		return desk_fail(d, &st);
	if (strcmp(source, "FRONTDESK_TOKEN") != 0)
		removed = desk_token_remove();
	print_logout(d, rc == FD_OK, removed, source);
	return 0;
}

/* --- whoami ---------------------------------------------------------- */

static void print_whoami(const struct desk *d, const Frontdesk__V1__WhoAmIReply *r)
{
	char started[64], ends[64], idle[32];

	if (d->json) {
		struct desk_json j;

		json_begin(&j, stdout);
		json_staff_summary(&j, "staff", r->staff);
		json_string(&j, "desk", r->desk);
		json_int(&j, "session_started_unix_ms", r->session_started_unix_ms);
		json_int(&j, "expires_unix_ms", r->expires_unix_ms);
		json_uint(&j, "idle_timeout_s", r->idle_timeout_s);
		json_end(&j);
		return;
	}
	desk_format_time(started, sizeof started, r->session_started_unix_ms);
	desk_format_time(ends, sizeof ends, r->expires_unix_ms);
	desk_format_duration(idle, sizeof idle, r->idle_timeout_s);
	if (r->staff) {
		desk_print_text(stdout, r->staff->display_name);
		fputs(" (", stdout);
		desk_print_text(stdout, r->staff->username);
		printf("), staff #%lld\nroles   ", (long long)r->staff->id);
		desk_print_roles(stdout, r->staff->roles, r->staff->n_roles);
		fputs("\n", stdout);
	}
	fputs("desk    ", stdout);
	desk_print_text(stdout, r->desk);
	printf("\nsince   %s\nends    %s at the latest, or after %s without use\n",
	       started, ends, idle);
}

int cmd_whoami(struct desk *d, int argc, char **argv)
{
	Frontdesk__V1__WhoAmIRequest req = FRONTDESK__V1__WHO_AM_IREQUEST__INIT;
	ProtobufCMessage *reply;
	int rc;

	if ((rc = desk_parse_flags(d, NULL, 0, argc, argv)) != DESK_GO)
		return rc;
	if ((rc = desk_connect(d, true)) != 0)
		return rc;
	if ((rc = desk_call(d, &frontdesk__v1__auth__descriptor, "WhoAmI",
			    &req.base, &reply)) != 0)
		return rc;
	print_whoami(d, (Frontdesk__V1__WhoAmIReply *)reply);
	protobuf_c_message_free_unpacked(reply, NULL);
	return 0;
}
