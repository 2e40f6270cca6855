/*
 * Hostile input against the real server: envelopes and payloads that are
 * not valid protobuf (truncated varints, lengths past the end, nested groups,
 * invalid UTF-8, unknown API versions), oversized repeated fields and text,
 * and text that tries to be SQL or terminal control in the text fields of
 * existing RPCs. Each call must get exactly one reply with a clear status,
 * the server must keep serving, nothing half-written may remain, and text
 * must be stored exactly as sent or refused, never executed: afterwards the
 * database still has all its tables and rows.
 *
 * Raw bytes go out through fd_client_call_raw with a hand-built envelope,
 * so the client library's own packing cannot tidy the input up first.
 */
#include "e2e.h"
#include "util.h"
#include "frontdesk/v1/envelope.pb-c.h"
#include "frontdesk/v1/patients.pb-c.h"
#include "frontdesk/v1/phone.pb-c.h"

static tp_server srv;
static char db[64];
static fd_client *admin, *reception;
static long long tables_before;

static const char count_tables[] = "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'";

static bool up(void)
{
	if (srv.pid > 0)
		return true;
	if (!e2e_start(&srv, db, sizeof db, "hostile", NULL))
		return false;
	admin = tp_client(&srv);
	reception = tp_client(&srv);
	if (tp_login(admin, "admin", "front-1") != FD_OK ||
	    tp_login(reception, "reception1", "front-2") != FD_OK) {
		th_fail(__FILE__, __LINE__, "demo logins failed");
		return false;
	}
	tables_before = tp_db_scalar(db, count_tables);
	return tables_before > 5;
}

/* What one raw exchange answered: the status code (or the transport
 * failure) and its message. */
typedef struct answer {
	int code;
	char message[512];
	size_t payload_len;
} answer;

static answer send_bytes(fd_client *c, const void *bytes, size_t len)
{
	answer a = {.code = -1};
	Frontdesk__V1__Reply *r = NULL;
	fd_status st;
	int rc = fd_client_call_raw(c, bytes, len, &r, 0, &st);

	if (rc != FD_OK || !r || !r->status) {
		a.code = rc != FD_OK ? rc : -1;
		snprintf(a.message, sizeof a.message, "transport: %s", st.message);
	} else {
		a.code = (int)r->status->code;
		snprintf(a.message, sizeof a.message, "%s",
		         r->status->message ? r->status->message : "");
		a.payload_len = r->payload.len;
	}
	if (r)
		protobuf_c_message_free_unpacked(&r->base, NULL);
	return a;
}

/* An envelope around raw payload bytes, with c's session. */
static answer send_payload(fd_client *c, const char *method, uint32_t api, const void *payload,
                           size_t len)
{
	Frontdesk__V1__RequestHeader h = FRONTDESK__V1__REQUEST_HEADER__INIT;
	Frontdesk__V1__Request req = FRONTDESK__V1__REQUEST__INIT;
	uint8_t id[FD_REQUEST_ID_LEN];

	fd_request_id_new(id);
	h.request_id.data = id;
	h.request_id.len = sizeof id;
	h.method = (char *)method;
	h.api_version = api;
	h.session_token = (char *)(fd_client_token(c) ? fd_client_token(c) : "");
	req.header = &h;
	req.payload.data = (uint8_t *)payload;
	req.payload.len = len;
	size_t n = frontdesk__v1__request__get_packed_size(&req);
	uint8_t *buf = malloc(n);
	if (!buf)
		return (answer){.code = -1, .message = "out of memory"};
	frontdesk__v1__request__pack(&req, buf);
	answer a = send_bytes(c, buf, n);
	free(buf);
	return a;
}

/* A clear refusal: the code wanted, a message a person can read (no
 * control characters echoed back), and no payload. */
static bool refused(const answer *a, int want, const char *what)
{
	if (a->code != want || !*a->message || a->payload_len != 0) {
		th_fail(__FILE__, __LINE__, "%s: got %s \"%s\", want %s", what,
		        fd_code_name(a->code), a->message, fd_code_name(want));
		return false;
	}
	for (const char *p = a->message; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f) {
			th_fail(__FILE__, __LINE__, "%s: the message echoes a control character",
			        what);
			return false;
		}
	return true;
}

static bool still_serving(void)
{
	fd_status st;
	return call_ping(admin, &st) == FD_OK && call_whoami(admin, &st) == FD_OK;
}

/* One text column by a parameterised query; NULL when there is no row. */
static char *db_text(const char *sql, const char *param)
{
	PGconn *conn = tp_db_connect(db);
	const char *params[1] = {param};
	PGresult *r = PQexecParams(conn, sql, 1, NULL, params, NULL, NULL, 0);
	char *out = NULL;

	if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1)
		out = strdup(PQgetvalue(r, 0, 0));
	PQclear(r);
	PQfinish(conn);
	return out;
}

static size_t pack_create_desk(uint8_t *buf, const char *code, const char *name)
{
	Frontdesk__V1__CreateDeskRequest req = FRONTDESK__V1__CREATE_DESK_REQUEST__INIT;
	req.code = (char *)code;
	req.name = (char *)name;
	return frontdesk__v1__create_desk_request__pack(&req, buf);
}

/* A string literal as bytes and length (without the terminating NUL). */
#define BYTES(lit) lit, sizeof lit - 1

static const char create_desk[] = "/frontdesk.v1.Admin/CreateDesk";
static const char create_staff[] = "/frontdesk.v1.Admin/CreateStaff";

static void malformed_envelopes_get_one_clear_reply_each(void)
{
	static const struct {
		const char *what;
		const char *bytes;
		size_t len;
		int want;
	} cases[] = {
	    {"an empty message", BYTES(""), FD_INVALID_ARGUMENT},
	    {"a truncated varint", BYTES("\x0a\xff\xff\xff"), FD_INVALID_ARGUMENT},
	    {"a length past the end", BYTES("\x0a\x40\x0a\x10"), FD_INVALID_ARGUMENT},
	    {"a varint of eleven bytes", BYTES("\x08\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01"),
	     FD_INVALID_ARGUMENT},
	    {"plain text", BYTES("DROP TABLE staff;"), FD_INVALID_ARGUMENT},
	};

	CHECK(up());
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		answer a = send_bytes(admin, cases[i].bytes, cases[i].len);
		if (!refused(&a, cases[i].want, cases[i].what))
			return;
	}
	answer a = send_payload(admin, "/frontdesk.v1.Health/Ping", 0, NULL, 0);
	CHECK(refused(&a, FD_INVALID_ARGUMENT, "API version 0"));
	a = send_payload(admin, "/frontdesk.v1.Health/Ping", 999, NULL, 0);
	CHECK(refused(&a, FD_FAILED_PRECONDITION, "API version 999"));
	CHECK(strstr(a.message, "999") != NULL); /* says which version it got */
	a = send_payload(admin, "/frontdesk.v1.Admin/\x1b[2JDropAll", 1, NULL, 0);
	CHECK(refused(&a, FD_UNIMPLEMENTED, "a method name with an escape sequence"));
	CHECK(still_serving());
}

static void malformed_payloads_are_refused_and_write_nothing(void)
{
	static const struct {
		const char *what;
		const char *bytes;
		size_t len;
	} cases[] = {
	    /* code = "hostile-bad", then something broken */
	    {"a truncated varint", BYTES("\x0a\x0bhostile-bad\x12\xff\xff")},
	    {"a length past the end", BYTES("\x0a\x0bhostile-bad\x12\x7f"
	                                    "abc")},
	    {"a truncated fixed64", BYTES("\x0a\x0bhostile-bad\x19\x01\x02")},
	    {"invalid UTF-8", BYTES("\x0a\x0bhostile-bad\x12\x03\xff\xfe\xfd")},
	    {"an overlong UTF-8 slash", BYTES("\x0a\x0bhostile-bad\x12\x02\xc0\xaf")},
	    {"a UTF-16 surrogate", BYTES("\x0a\x0bhostile-bad\x12\x03\xed\xa0\x80")},
	    {"a group that never ends", BYTES("\x0a\x0bhostile-bad\x1b\x1b\x1b")},
	};

	CHECK(up());
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		answer a = send_payload(admin, create_desk, 1, cases[i].bytes, cases[i].len);
		if (!refused(&a, FD_INVALID_ARGUMENT, cases[i].what))
			return;
	}
	CHECK_INT(tp_db_scalar(db, "SELECT count(*) FROM desks WHERE code = 'hostile-bad'"), 0);
	CHECK(still_serving());
}

/* Appends a base-128 varint; returns the new length. */
static size_t put_varint(uint8_t *buf, size_t n, size_t v)
{
	do {
		buf[n++] = (uint8_t)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
		v >>= 7;
	} while (v);
	return n;
}

static void deeply_nested_input_gets_a_clear_reply(void)
{
	enum { GROUPS = 100000, LEVELS = 2000 };
	uint8_t *buf = malloc(GROUPS), *a = malloc(4 * LEVELS + 64), *b = malloc(4 * LEVELS + 64);

	CHECK(up());
	CHECK(buf && a && b);
	/* Start-group tags, one inside the other: protobuf-c has no groups. */
	memset(buf, 0x1b, GROUPS);
	answer groups = send_payload(admin, create_desk, 1, buf, GROUPS);
	free(buf);
	/* An unknown field 15 holding itself 2000 levels deep, lengths all
	 * correct, after a valid desk: skipped whole, never walked. */
	size_t n = 0;
	for (int level = 0; level < LEVELS; level++) {
		size_t m = put_varint(b, 1, n);
		b[0] = 0x7a;
		memcpy(b + m, a, n);
		n += m;
		uint8_t *t = a;
		a = b;
		b = t;
	}
	uint8_t head[64];
	size_t h = pack_create_desk(head, "hostile-nest", "Nested desk");
	uint8_t *payload = malloc(h + n);
	CHECK(payload != NULL);
	memcpy(payload, head, h);
	memcpy(payload + h, a, n);
	answer nested = send_payload(admin, create_desk, 1, payload, h + n);
	free(payload);
	free(a);
	free(b);
	CHECK(refused(&groups, FD_INVALID_ARGUMENT, "100000 nested groups"));
	CHECK_MSG(nested.code == FD_OK, "%s %s", fd_code_name(nested.code), nested.message);
	CHECK_INT(tp_db_scalar(db, "SELECT count(*) FROM desks WHERE code = 'hostile-nest'"), 1);
	CHECK(still_serving());
}

static void unknown_fields_are_ignored(void)
{
	uint8_t buf[256];

	CHECK(up());
	size_t n = pack_create_desk(buf, "hostile-unknown", "Unknown fields desk");
	/* field 99 varint, field 100 bytes, field 2047 fixed32 */
	static const uint8_t extra[] = {0x98, 0x06, 0x2a, 0xa2, 0x06, 0x03, 'x', 'y',
	                                'z',  0xfd, 0x7f, 1,    2,    3,    4};
	memcpy(buf + n, extra, sizeof extra);
	answer a = send_payload(admin, create_desk, 1, buf, n + sizeof extra);
	CHECK_MSG(a.code == FD_OK, "%s: %s", fd_code_name(a.code), a.message);
	CHECK_INT(tp_db_scalar(db, "SELECT count(*) FROM desks WHERE code = 'hostile-unknown'"), 1);
}

static void a_huge_repeated_field_gets_a_clear_reply(void)
{
	enum { N_ROLES = 120000 }; /* 6 bytes each: 720 kB, under the 1 MB limit */
	Frontdesk__V1__CreateStaffRequest req = FRONTDESK__V1__CREATE_STAFF_REQUEST__INIT;
	char **roles = malloc(N_ROLES * sizeof *roles);

	CHECK(up());
	CHECK(roles != NULL);
	for (size_t i = 0; i < N_ROLES; i++)
		roles[i] = "nurse";
	req.username = "hostile-roles";
	req.display_name = "Many roles";
	req.password = "hostile-password-1";
	req.roles = roles;
	req.n_roles = N_ROLES;
	size_t n = frontdesk__v1__create_staff_request__get_packed_size(&req);
	uint8_t *buf = malloc(n);
	CHECK(buf != NULL);
	frontdesk__v1__create_staff_request__pack(&req, buf);
	answer a = send_payload(admin, create_staff, 1, buf, n);
	free(buf);
	free(roles);
	CHECK(refused(&a, FD_INVALID_ARGUMENT, "120000 roles"));
	CHECK_INT(tp_db_scalar(db, "SELECT count(*) FROM staff WHERE username = 'hostile-roles'"),
	          0);
	CHECK(still_serving());
}

static void a_request_over_the_size_limit_is_refused_with_a_reply(void)
{
	size_t n = 1048576 + 4096; /* max_request_bytes + a page */
	char *name = malloc(n + 1);

	CHECK(up());
	CHECK(name != NULL);
	memset(name, 'a', n);
	name[n] = '\0';
	Frontdesk__V1__CreateDeskRequest req = FRONTDESK__V1__CREATE_DESK_REQUEST__INIT;
	req.code = "hostile-huge";
	req.name = name;
	size_t len = frontdesk__v1__create_desk_request__get_packed_size(&req);
	uint8_t *buf = malloc(len);
	CHECK(buf != NULL);
	frontdesk__v1__create_desk_request__pack(&req, buf);
	answer a = send_payload(admin, create_desk, 1, buf, len);
	free(buf);
	free(name);
	CHECK(refused(&a, FD_RESOURCE_EXHAUSTED, "a request of 1 MB + 4 kB"));
	CHECK(still_serving());
}

static void a_megabyte_of_text_is_refused_cleanly(void)
{
	size_t n = 1000000; /* under the request limit */
	char *text = malloc(n + 1);
	fd_status st;
	ProtobufCMessage *rep = NULL;

	CHECK(up());
	CHECK(text != NULL);
	memset(text, 'x', n);
	text[n] = '\0';
	Frontdesk__V1__CreateDeskRequest desk = FRONTDESK__V1__CREATE_DESK_REQUEST__INIT;
	desk.code = "hostile-mega";
	desk.name = text;
	int rc = tp_call(admin, ADMIN_SVC, "CreateDesk", &desk.base, &rep, &st);
	CHECK_MSG(rc == FD_INVALID_ARGUMENT, "desk name: %s %s", fd_code_name(rc), st.message);
	CHECK(strlen(st.message) < 200); /* the refusal does not quote the text */

	Frontdesk__V1__PatientFields f = FRONTDESK__V1__PATIENT_FIELDS__INIT;
	Frontdesk__V1__RegisterPatientRequest reg = FRONTDESK__V1__REGISTER_PATIENT_REQUEST__INIT;
	f.family_name = "Megabyte";
	f.given_name = "Hostile";
	f.date_of_birth = "1980-01-02";
	f.address = text;
	reg.fields = &f;
	rc = fd_client_call(reception, "/frontdesk.v1.Patients/RegisterPatient", &reg.base,
	                    &frontdesk__v1__register_patient_reply__descriptor, &rep, 0, &st);
	free(text);
	CHECK_MSG(rc == FD_INVALID_ARGUMENT, "address: %s %s", fd_code_name(rc), st.message);
	CHECK(strlen(st.message) < 200);
	CHECK_INT(tp_db_scalar(db, "SELECT count(*) FROM desks WHERE code = 'hostile-mega'"), 0);
	CHECK_INT(tp_db_scalar(db, "SELECT count(*) FROM patients WHERE family_name = 'Megabyte'"),
	          0);
	CHECK(still_serving());
}

static void sql_metacharacters_are_stored_as_plain_text(void)
{
	static const char desk_name[] = "Desk'); DROP TABLE desks; --";
	static const char staff_name[] = "Robert\"); DELETE FROM staff; SELECT ('$1 \\ %";
	const char *roles[] = {"nurse"};
	Frontdesk__V1__CreateStaffRequest req = FRONTDESK__V1__CREATE_STAFF_REQUEST__INIT;
	ProtobufCMessage *rep = NULL;
	fd_status st;
	int64_t id = 0;

	CHECK(up());
	long long staff_before = tp_db_scalar(db, "SELECT count(*) FROM staff");
	Frontdesk__V1__CreateDeskRequest desk = FRONTDESK__V1__CREATE_DESK_REQUEST__INIT;
	desk.code = "hostile-sql";
	desk.name = (char *)desk_name;
	CHECK_INT(tp_call(admin, ADMIN_SVC, "CreateDesk", &desk.base, &rep, &st), FD_OK);
	protobuf_c_message_free_unpacked(rep, NULL);
	req.username = "hostile-sql";
	req.display_name = (char *)staff_name;
	req.password = "hostile-password-1";
	req.roles = (char **)roles;
	req.n_roles = 1;
	CHECK_INT(tp_call(admin, ADMIN_SVC, "CreateStaff", &req.base, &rep, &st), FD_OK);
	id = ((Frontdesk__V1__CreateStaffReply *)rep)->staff->id;
	CHECK_STR(((Frontdesk__V1__CreateStaffReply *)rep)->staff->display_name, staff_name);
	protobuf_c_message_free_unpacked(rep, NULL);
	CHECK(id > 0);

	char *got = db_text("SELECT name FROM desks WHERE code = $1", "hostile-sql");
	CHECK(got != NULL);
	bool same = strcmp(got, desk_name) == 0;
	free(got);
	CHECK(same);
	got = db_text("SELECT display_name FROM staff WHERE username = $1", "hostile-sql");
	CHECK(got != NULL);
	same = strcmp(got, staff_name) == 0;
	free(got);
	CHECK(same);
	CHECK_INT(tp_db_scalar(db, "SELECT count(*) FROM staff"), staff_before + 1);
	CHECK_INT(tp_db_scalar(db, count_tables), tables_before);
}

static void nul_bytes_in_text_are_refused_not_truncated(void)
{
	uint8_t buf[128];
	/* code "hostile-nul", name "Front\0desk": proto3 allows U+0000 on the
	 * wire, PostgreSQL text cannot hold it, and cutting it short would
	 * store something the desk never sent. */
	static const uint8_t payload[] = "\x0a\x0bhostile-nul\x12\x0a"
	                                 "Front\0desk";
	memcpy(buf, payload, sizeof payload - 1);

	CHECK(up());
	answer a = send_payload(admin, create_desk, 1, buf, sizeof payload - 1);
	CHECK(refused(&a, FD_INVALID_ARGUMENT, "a NUL inside a desk name"));
	CHECK_INT(tp_db_scalar(db, "SELECT count(*) FROM desks WHERE code = 'hostile-nul'"), 0);
	/* A NUL inside a nested message's text too (RegisterPatient.fields). */
	static const uint8_t nested[] = "\x0a\x1a"
	                                "\x0a\x05Nul\0x" /* family_name */
	                                "\x12\x05Given"
	                                "\x22\x0a"
	                                "1980-01-02";
	a = send_payload(reception, "/frontdesk.v1.Patients/RegisterPatient", 1, nested,
	                 sizeof nested - 1);
	CHECK(refused(&a, FD_INVALID_ARGUMENT, "a NUL inside a nested family name"));
	CHECK_INT(tp_db_scalar(db, "SELECT count(*) FROM patients WHERE family_name = 'Nul'"), 0);
}

static void terminal_escapes_in_names_are_refused(void)
{
	static const char *const names[] = {
	    "Desk \x1b[2J\x1b[H",    /* clear screen */
	    "Desk \x1b]0;owned\x07", /* set window title */
	    "Desk\rOverwritten",     /* carriage return */
	    "Desk \x7f",             /* DEL */
	};
	fd_status st;
	ProtobufCMessage *rep = NULL;

	CHECK(up());
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		Frontdesk__V1__CreateDeskRequest desk = FRONTDESK__V1__CREATE_DESK_REQUEST__INIT;
		desk.code = "hostile-esc";
		desk.name = (char *)names[i];
		int rc = tp_call(admin, ADMIN_SVC, "CreateDesk", &desk.base, &rep, &st);
		CHECK_MSG(rc == FD_INVALID_ARGUMENT, "name %zu: %s", i, fd_code_name(rc));
		CHECK(strchr(st.message, 0x1b) == NULL);
	}
	CHECK_INT(tp_db_scalar(db, "SELECT count(*) FROM desks WHERE code = 'hostile-esc'"), 0);
}

static void bidi_overrides_and_free_text_controls_are_stored_exactly(void)
{
	/* U+202E RIGHT-TO-LEFT OVERRIDE, U+2066 LEFT-TO-RIGHT ISOLATE and
	 * U+009B (the 8-bit CSI) are not C0 controls: names keep them exactly
	 * and every printer escapes them. */
	static const char display[] = "Dr \xe2\x80\xae"
	                              "htims\xe2\x80\xac \xe2\x81\xa6x\xe2\x81\xa9 \xc2\x9b"
	                              "31m";
	static const char address[] =
	    "1 Main St'); DROP TABLE patients; --\n\x1b[31mRed\x1b[0m \xe2\x80\xae";
	const char *roles[] = {"billing"};
	Frontdesk__V1__CreateStaffRequest req = FRONTDESK__V1__CREATE_STAFF_REQUEST__INIT;
	ProtobufCMessage *rep = NULL;
	fd_status st;

	CHECK(up());
	req.username = "hostile-bidi";
	req.display_name = (char *)display;
	req.password = "hostile-password-1";
	req.roles = (char **)roles;
	req.n_roles = 1;
	CHECK_INT(tp_call(admin, ADMIN_SVC, "CreateStaff", &req.base, &rep, &st), FD_OK);
	protobuf_c_message_free_unpacked(rep, NULL);
	char *got = db_text("SELECT display_name FROM staff WHERE username = $1", "hostile-bidi");
	CHECK(got != NULL);
	bool same = strcmp(got, display) == 0;
	free(got);
	CHECK(same);

	Frontdesk__V1__PatientFields f = FRONTDESK__V1__PATIENT_FIELDS__INIT;
	Frontdesk__V1__RegisterPatientRequest reg = FRONTDESK__V1__REGISTER_PATIENT_REQUEST__INIT;
	f.family_name = "Hostile";
	f.given_name = "Freetext";
	f.date_of_birth = "1975-05-06";
	f.address = (char *)address;
	f.emergency_contact = (char *)display;
	reg.fields = &f;
	int rc = fd_client_call(reception, "/frontdesk.v1.Patients/RegisterPatient", &reg.base,
	                        &frontdesk__v1__register_patient_reply__descriptor, &rep, 0, &st);
	CHECK_MSG(rc == FD_OK, "%s %s", fd_code_name(rc), st.message);
	protobuf_c_message_free_unpacked(rep, NULL);
	got = db_text("SELECT address FROM patients WHERE given_name = $1", "Freetext");
	CHECK(got != NULL);
	same = strcmp(got, address) == 0;
	free(got);
	CHECK(same);
	/* The identity fields refuse control characters outright. */
	f.given_name = "Free\x1b[2Jtext";
	rc = fd_client_call(reception, "/frontdesk.v1.Patients/RegisterPatient", &reg.base,
	                    &frontdesk__v1__register_patient_reply__descriptor, &rep, 0, &st);
	CHECK_INT(rc, FD_INVALID_ARGUMENT);
}

/* Takes a phone message for nurse1; returns the status code. */
static int take_message(const char *caller, const char *reason, fd_status *st)
{
	Frontdesk__V1__PhoneTakeMessageRequest req =
	    FRONTDESK__V1__PHONE_TAKE_MESSAGE_REQUEST__INIT;
	ProtobufCMessage *rep = NULL;

	req.for_username = "nurse1";
	req.caller_name = (char *)caller;
	req.callback_number = "+15555550123";
	req.reason = (char *)reason;
	int rc = fd_client_call(reception, "/frontdesk.v1.Phone/TakeMessage", &req.base,
	                        &frontdesk__v1__phone_take_message_reply__descriptor, &rep, 0, st);
	if (rep)
		protobuf_c_message_free_unpacked(rep, NULL);
	return rc;
}

static void phone_message_text_is_stored_exactly_or_refused(void)
{
	static const char caller[] = "O'Brien \xe2\x80\xae"
	                             "gnorw";
	static const char reason[] = "Refill?'); DELETE FROM phone_messages; -- 100% \\ $1";
	fd_status st;

	CHECK(up());
	CHECK_MSG(take_message(caller, reason, &st) == FD_OK, "%s", st.message);
	char *got = db_text("SELECT reason FROM phone_messages WHERE caller_name = $1", caller);
	CHECK(got != NULL);
	bool same = strcmp(got, reason) == 0;
	free(got);
	CHECK(same);
	/* Control characters in the reason are refused, not stored. */
	CHECK_INT(take_message("Escape", "Call back \x1b[2J\x1b]0;x\x07", &st),
	          FD_INVALID_ARGUMENT);
	CHECK_INT(
	    tp_db_scalar(db, "SELECT count(*) FROM phone_messages WHERE caller_name = 'Escape'"),
	    0);
}

static void the_database_keeps_its_tables_and_rows(void)
{
	CHECK(up());
	CHECK_INT(tp_db_scalar(db, count_tables), tables_before);
	CHECK(tp_db_scalar(db, "SELECT count(*) FROM desks") >= 3);
	CHECK(tp_db_scalar(db, "SELECT count(*) FROM staff") >= 6);
	CHECK(tp_db_scalar(db, "SELECT count(*) FROM locations") >= 1);
	CHECK(tp_db_scalar(db, "SELECT count(*) FROM audit_log") > 0);
	CHECK(still_serving());
}

static void the_server_exits_cleanly(void)
{
	CHECK(up());
	fd_client_close(admin);
	fd_client_close(reception);
	e2e_stop(&srv);
}

TH_MAIN(TH_CASE(malformed_envelopes_get_one_clear_reply_each),
        TH_CASE(malformed_payloads_are_refused_and_write_nothing),
        TH_CASE(deeply_nested_input_gets_a_clear_reply), TH_CASE(unknown_fields_are_ignored),
        TH_CASE(a_huge_repeated_field_gets_a_clear_reply),
        TH_CASE(a_request_over_the_size_limit_is_refused_with_a_reply),
        TH_CASE(a_megabyte_of_text_is_refused_cleanly),
        TH_CASE(sql_metacharacters_are_stored_as_plain_text),
        TH_CASE(nul_bytes_in_text_are_refused_not_truncated),
        TH_CASE(terminal_escapes_in_names_are_refused),
        TH_CASE(bidi_overrides_and_free_text_controls_are_stored_exactly),
        TH_CASE(phone_message_text_is_stored_exactly_or_refused),
        TH_CASE(the_database_keeps_its_tables_and_rows), TH_CASE(the_server_exits_cleanly))
