/*
 * The front-desk load generator of `make bench` (tests/bench/run.sh).
 *
 * N simulated desks, each a thread with its own fd_client logged in at its
 * own desk, run a closed loop (one call in flight per desk, the next sent
 * as soon as the reply arrives) for a fixed time. A desk either plays the
 * front-desk mix (patient search and lookup, readiness, the waiting-room
 * board, a provider's day, slot search, book -> reschedule -> cancel,
 * walk-in check-in -> room -> provider -> check-out, call routing, whoami,
 * login)
 * or repeats one RPC (--only), which is what the ratios against pgbench
 * and the raw nng echo compare.
 *
 * It records per RPC and overall: calls, calls/s, p50/p95/p99/max latency
 * and the replies by status code; and, given --server-pid, the server's
 * CPU time over the run and its resident memory (start, end, peak). It
 * prints a table, or one JSON object with --json (run.sh merges them).
 *
 * The clinic it expects is the one tests/bench/seed.sql and patients.sql
 * generate: providers bench-p1..P, locations 'main' and bench-loc2..L with
 * rooms bench-room-<k>-1..16, desks bench-desk-0..63, patients with ids LO..HI whose phone is +1555
 * followed by the id in seven digits.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "frontdesk.h"
#include "frontdesk/v1/all.h"

/* What a desk does. OP_BOOKING in the mix stands for the next step of the
 * desk's book -> reschedule -> cancel cycle. */
enum op {
	OP_PING,
	OP_LOGIN,
	OP_WHOAMI,
	OP_FIND_PATIENTS,
	OP_GET_PATIENT,
	OP_READINESS,
	OP_BOARD,
	OP_FIND_SLOTS,
	OP_BOOK,
	OP_RESCHEDULE,
	OP_CANCEL,
	OP_ROUTE,
	OP_WAITING_ROOM,
	OP_CHECK_IN,
	OP_ASSIGN_ROOM,
	OP_WITH_PROVIDER,
	OP_CHECK_OUT,
	OP_FIND_SLOTS_WEEK,
	OP_COUNT
};

struct op_info {
	const char *name; /* the RPC's method name, as the report shows it */
	const char *path;
	int mix_weight; /* per thousand of the mix; 0: not drawn directly */
};

/* The mix: patient search 25% (search 15, open a record 10),
 * readiness/board 20% (readiness 7, the waiting-room board 7, a provider's
 * day 6), slot search 15%, book/reschedule/cancel 10%, check-in/room/
 * checkout 15%, call routing 10%, login/whoami 5%. OP_BOOK and OP_CHECK_IN
 * stand for the next step of the desk's booking and visit cycles. */
static const struct op_info ops[OP_COUNT] = {
    [OP_PING] = {"Health.Ping", "/frontdesk.v1.Health/Ping", 0},
    [OP_LOGIN] = {"Auth.Login", "/frontdesk.v1.Auth/Login", 10},
    [OP_WHOAMI] = {"Auth.WhoAmI", "/frontdesk.v1.Auth/WhoAmI", 40},
    [OP_FIND_PATIENTS] = {"Patients.FindPatients", "/frontdesk.v1.Patients/FindPatients", 150},
    [OP_GET_PATIENT] = {"Patients.GetPatient", "/frontdesk.v1.Patients/GetPatient", 100},
    [OP_READINESS] = {"Intake.Readiness", "/frontdesk.v1.Intake/Readiness", 70},
    [OP_BOARD] = {"Scheduling.ListAppointments", "/frontdesk.v1.Scheduling/ListAppointments", 60},
    [OP_FIND_SLOTS] = {"Scheduling.FindSlots", "/frontdesk.v1.Scheduling/FindSlots", 150},
    [OP_BOOK] = {"Scheduling.Book", "/frontdesk.v1.Scheduling/Book", 100},
    [OP_RESCHEDULE] = {"Scheduling.Reschedule", "/frontdesk.v1.Scheduling/Reschedule", 0},
    [OP_CANCEL] = {"Scheduling.Cancel", "/frontdesk.v1.Scheduling/Cancel", 0},
    [OP_ROUTE] = {"Phone.Route", "/frontdesk.v1.Phone/Route", 100},
    [OP_WAITING_ROOM] = {"Checkin.Board", "/frontdesk.v1.Checkin/Board", 70},
    [OP_CHECK_IN] = {"Checkin.CheckIn", "/frontdesk.v1.Checkin/CheckIn", 150},
    [OP_ASSIGN_ROOM] = {"Checkin.AssignRoom", "/frontdesk.v1.Checkin/AssignRoom", 0},
    [OP_WITH_PROVIDER] = {"Checkin.SetVisitStatus", "/frontdesk.v1.Checkin/SetVisitStatus", 0},
    [OP_CHECK_OUT] = {"Checkin.CheckOut", "/frontdesk.v1.Checkin/CheckOut", 0},
    /* Issue 3's second figure: one provider's week of open slots (--only). */
    [OP_FIND_SLOTS_WEEK] = {"Scheduling.FindSlots.week", "/frontdesk.v1.Scheduling/FindSlots", 0},
};

#define N_CODES 17

static const char *const given_names[] = {"maria",  "james", "thanh",  "emily", "chidi", "lukas",
                                          "giulia", "aisha", "olivia", "noah",  "sofia", "liam"};
/* patients.sql builds family names from these syllables. */
static const char *const syllables[] = {"ab", "al", "an", "ar", "ba", "be", "bo", "da", "de", "di",
                                        "el", "en", "er", "fa", "fe", "ga", "go", "ha", "he", "ka",
                                        "ko", "la", "le", "li", "lo", "ma", "me", "mi", "mo", "na",
                                        "ne", "ni", "no", "ra", "re", "ri", "ro", "sa", "se", "ta"};

struct config {
	const char *url;
	const char *user, *password;
	int desks;
	double seconds;
	int only; /* an op, or -1 for the mix */
	int64_t patient_lo, patient_hi;
	int providers, locations;
	pid_t server_pid;
	const char *label;
	int json;
};

/* Latencies of one RPC on one desk, in microseconds. */
struct series {
	uint32_t *us;
	size_t n, cap;
	uint64_t codes[N_CODES];
};

struct desk {
	const struct config *cfg;
	int index;
	pthread_t thread;
	fd_client *client;
	uint64_t rng;
	int64_t held;   /* appointment the booking cycle holds, 0: none */
	int held_steps; /* reschedules done on it */
	int64_t visit;  /* the walk-in visit the desk is moving along, 0: none */
	const char *visit_status;
	int visit_location; /* its location's index, 1 = main */
	struct series stats[OP_COUNT];
	char error[384];
};

/* Desks wait at logged_in until all are; main then sets the deadline and
 * releases them at start_line. */
static pthread_barrier_t logged_in, start_line;
static int64_t deadline_ns;

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static uint64_t next_random(struct desk *d)
{
	/* xorshift64*: cheap and per thread. */
	d->rng ^= d->rng >> 12;
	d->rng ^= d->rng << 25;
	d->rng ^= d->rng >> 27;
	return d->rng * 2685821657736338717ULL;
}

static int64_t random_between(struct desk *d, int64_t lo, int64_t hi)
{
	return lo + (int64_t)(next_random(d) % (uint64_t)(hi - lo + 1));
}

static void record(struct series *s, int64_t ns, int code)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 4096;
		uint32_t *grown = realloc(s->us, cap * sizeof *grown);
		if (!grown)
			return;
		s->us = grown;
		s->cap = cap;
	}
	s->us[s->n++] = (uint32_t)(ns / 1000);
	s->codes[code >= 0 && code < N_CODES ? code : FD_UNKNOWN]++;
}

/* One timed call; the reply (on FD_OK) is handed back for the caller to
 * read and free, or freed here when reply is NULL. */
static int timed_call(struct desk *d, enum op op, const ProtobufCMessage *req,
                      const ProtobufCMessageDescriptor *reply_desc, ProtobufCMessage **reply)
{
	ProtobufCMessage *got = NULL;
	fd_status st;
	int64_t t0 = now_ns();
	int code = fd_client_call(d->client, ops[op].path, req, reply_desc, &got, 0, &st);

	record(&d->stats[op], now_ns() - t0, code);
	if (code != FD_OK && code != FD_ALREADY_EXISTS && code != FD_FAILED_PRECONDITION &&
	    !d->error[0])
		snprintf(d->error, sizeof d->error, "%s: %s: %s", ops[op].name, fd_code_name(code),
		         st.message);
	if (reply)
		*reply = got;
	else if (got)
		protobuf_c_message_free_unpacked(got, NULL);
	return code;
}

static void desk_code(const struct desk *d, char *buf, size_t size)
{
	snprintf(buf, size, "bench-desk-%d", d->index % 64);
}

static int login(struct desk *d, int timed)
{
	Frontdesk__V1__LoginRequest req = FRONTDESK__V1__LOGIN_REQUEST__INIT;
	ProtobufCMessage *reply = NULL;
	fd_status st;
	char desk[32];
	int code;

	desk_code(d, desk, sizeof desk);
	req.username = (char *)d->cfg->user;
	req.password = (char *)d->cfg->password;
	req.desk = desk;
	if (timed) {
		code = timed_call(d, OP_LOGIN, &req.base, &frontdesk__v1__login_reply__descriptor,
		                  &reply);
	} else {
		code = fd_client_call(d->client, ops[OP_LOGIN].path, &req.base,
		                      &frontdesk__v1__login_reply__descriptor, &reply, 0, &st);
		if (code != FD_OK)
			snprintf(d->error, sizeof d->error, "login: %s: %s", fd_code_name(code),
			         st.message);
	}
	if (code == FD_OK) {
		fd_client_set_token(d->client,
		                    ((Frontdesk__V1__LoginReply *)(void *)reply)->session_token);
		protobuf_c_message_free_unpacked(reply, NULL);
	}
	return code;
}

static int64_t random_patient(struct desk *d)
{
	return random_between(d, d->cfg->patient_lo, d->cfg->patient_hi);
}

static void random_location(struct desk *d, char *buf, size_t size)
{
	int64_t k = random_between(d, 1, d->cfg->locations);

	if (k == 1)
		snprintf(buf, size, "main");
	else
		snprintf(buf, size, "bench-loc%" PRId64, k);
}

static void random_provider(struct desk *d, char *buf, size_t size)
{
	snprintf(buf, size, "bench-p%" PRId64, random_between(d, 1, d->cfg->providers));
}

/* An afternoon start 1-50 days ahead on the 15-minute grid; the seeded
 * mornings are full, the afternoons open. */
static void random_start(struct desk *d, char *buf, size_t size)
{
	time_t t = time(NULL) + (time_t)random_between(d, 1, 50) * 86400;
	struct tm tm;
	char day[16];

	gmtime_r(&t, &tm);
	strftime(day, sizeof day, "%Y-%m-%d", &tm);
	snprintf(buf, size, "%s %02d:%02d", day, (int)random_between(d, 13, 17),
	         (int)random_between(d, 0, 3) * 15);
}

static void do_find_patients(struct desk *d)
{
	Frontdesk__V1__FindPatientsRequest req = FRONTDESK__V1__FIND_PATIENTS_REQUEST__INIT;
	char name[64];
	size_t ng = sizeof given_names / sizeof *given_names;
	size_t ns = sizeof syllables / sizeof *syllables;

	/* Given + a two-syllable family name, sometimes with a dropped
	 * letter (a typo). */
	snprintf(name, sizeof name, "%s %s%s", given_names[next_random(d) % ng],
	         syllables[next_random(d) % ns], syllables[next_random(d) % ns]);
	if (next_random(d) % 4 == 0) {
		size_t at = 1 + next_random(d) % (strlen(name) - 2);
		memmove(name + at, name + at + 1, strlen(name + at));
	}
	req.name = name;
	req.limit = 20;
	timed_call(d, OP_FIND_PATIENTS, &req.base, &frontdesk__v1__find_patients_reply__descriptor,
	           NULL);
}

static void do_get_patient(struct desk *d)
{
	Frontdesk__V1__GetPatientRequest req = FRONTDESK__V1__GET_PATIENT_REQUEST__INIT;

	req.patient_id = random_patient(d);
	timed_call(d, OP_GET_PATIENT, &req.base, &frontdesk__v1__get_patient_reply__descriptor,
	           NULL);
}

static void do_readiness(struct desk *d)
{
	Frontdesk__V1__ReadinessRequest req = FRONTDESK__V1__READINESS_REQUEST__INIT;

	req.patient_id = random_patient(d);
	timed_call(d, OP_READINESS, &req.base, &frontdesk__v1__readiness_reply__descriptor, NULL);
}

static void do_board(struct desk *d)
{
	Frontdesk__V1__ListAppointmentsRequest req = FRONTDESK__V1__LIST_APPOINTMENTS_REQUEST__INIT;
	char provider[32];

	/* A provider's day: what the board shows per column. */
	random_provider(d, provider, sizeof provider);
	req.provider = provider;
	req.days = 1;
	timed_call(d, OP_BOARD, &req.base, &frontdesk__v1__list_appointments_reply__descriptor,
	           NULL);
}

static void do_find_slots(struct desk *d)
{
	Frontdesk__V1__FindSlotsRequest req = FRONTDESK__V1__FIND_SLOTS_REQUEST__INIT;
	char location[32];

	random_location(d, location, sizeof location);
	req.type = "follow-up";
	req.location = location;
	req.first_available = 1;
	timed_call(d, OP_FIND_SLOTS, &req.base, &frontdesk__v1__find_slots_reply__descriptor, NULL);
}

/* Every open follow-up slot of one provider this week (today and the six
 * days after), at the provider's location: what a desk looks at when a
 * patient asks for "Dr. X, any time this week". seed.sql puts provider g
 * at the ((g - 1) % locations + 1)-th location. */
static void do_find_slots_week(struct desk *d)
{
	Frontdesk__V1__FindSlotsRequest req = FRONTDESK__V1__FIND_SLOTS_REQUEST__INIT;
	int64_t g = random_between(d, 1, d->cfg->providers);
	int64_t k = (g - 1) % d->cfg->locations + 1;
	char provider[32], location[32];

	snprintf(provider, sizeof provider, "bench-p%" PRId64, g);
	if (k == 1)
		snprintf(location, sizeof location, "main");
	else
		snprintf(location, sizeof location, "bench-loc%" PRId64, k);
	req.type = "follow-up";
	req.provider = provider;
	req.location = location;
	req.limit = 500;
	timed_call(d, OP_FIND_SLOTS_WEEK, &req.base, &frontdesk__v1__find_slots_reply__descriptor,
	           NULL);
}

static void do_book(struct desk *d)
{
	Frontdesk__V1__BookRequest req = FRONTDESK__V1__BOOK_REQUEST__INIT;
	ProtobufCMessage *reply = NULL;
	char provider[32], at[32];

	random_provider(d, provider, sizeof provider);
	random_start(d, at, sizeof at);
	req.patient_id = random_patient(d);
	req.provider = provider;
	req.type = "follow-up";
	req.at = at;
	req.reason = "bench";
	if (timed_call(d, OP_BOOK, &req.base, &frontdesk__v1__book_reply__descriptor, &reply) ==
	    FD_OK) {
		const Frontdesk__V1__BookReply *booked = (const void *)reply;
		d->held = booked->appointment ? booked->appointment->id : 0;
		d->held_steps = 0;
		protobuf_c_message_free_unpacked(reply, NULL);
	}
}

static void do_reschedule(struct desk *d)
{
	Frontdesk__V1__RescheduleRequest req = FRONTDESK__V1__RESCHEDULE_REQUEST__INIT;
	ProtobufCMessage *reply = NULL;
	char at[32];

	random_start(d, at, sizeof at);
	req.appointment_id = d->held;
	req.at = at;
	req.reason = "bench";
	d->held_steps++;
	if (timed_call(d, OP_RESCHEDULE, &req.base, &frontdesk__v1__reschedule_reply__descriptor,
	               &reply) == FD_OK) {
		const Frontdesk__V1__RescheduleReply *moved = (const void *)reply;
		d->held = moved->appointment ? moved->appointment->id : 0;
		protobuf_c_message_free_unpacked(reply, NULL);
	}
}

static void do_cancel(struct desk *d)
{
	Frontdesk__V1__CancelRequest req = FRONTDESK__V1__CANCEL_REQUEST__INIT;

	req.appointment_id = d->held;
	req.reason_code = "patient";
	d->held = 0;
	timed_call(d, OP_CANCEL, &req.base, &frontdesk__v1__cancel_reply__descriptor, NULL);
}

static void do_booking_step(struct desk *d)
{
	if (!d->held)
		do_book(d);
	else if (d->held_steps == 0)
		do_reschedule(d);
	else
		do_cancel(d);
}

static void do_route(struct desk *d)
{
	Frontdesk__V1__PhoneRouteRequest req = FRONTDESK__V1__PHONE_ROUTE_REQUEST__INIT;
	char from[24];

	/* Mostly known patients calling, sometimes a stranger. */
	if (next_random(d) % 5)
		snprintf(from, sizeof from, "+1555%07" PRId64, random_patient(d) % 10000000);
	else
		snprintf(from, sizeof from, "+1444%07d", (int)(next_random(d) % 10000000));
	req.from = from;
	req.line = "main";
	timed_call(d, OP_ROUTE, &req.base, &frontdesk__v1__phone_route_reply__descriptor, NULL);
}

static void location_code(int k, char *buf, size_t size)
{
	if (k == 1)
		snprintf(buf, size, "main");
	else
		snprintf(buf, size, "bench-loc%d", k);
}

/* One of location k's providers: seed.sql puts bench-p<n> at location
 * ((n - 1) mod L) + 1, so they are k, k + L, k + 2L, ... */
static void location_provider(struct desk *d, int k, char *buf, size_t size)
{
	int64_t per_location = (d->cfg->providers - k) / d->cfg->locations;
	int64_t n = k + d->cfg->locations * random_between(d, 0, per_location);

	snprintf(buf, size, "bench-p%" PRId64, n);
}

static void do_waiting_room(struct desk *d)
{
	Frontdesk__V1__BoardRequest req = FRONTDESK__V1__BOARD_REQUEST__INIT;
	char location[32];

	random_location(d, location, sizeof location);
	req.location = location;
	/* As the console asks for it: with who is expected in the next
	 * four hours (client/console/console.h, CONSOLE_EXPECTED_MIN). */
	req.expected_within_min = 240;
	timed_call(d, OP_WAITING_ROOM, &req.base, &frontdesk__v1__board_reply__descriptor, NULL);
}

/* Follows the visit in a reply (v, from reply), then frees the reply. A
 * refusal (FAILED_PRECONDITION: say the room was taken) keeps the visit
 * where it was for another try; any other failure forgets it. */
static void follow_visit(struct desk *d, int code, ProtobufCMessage *reply,
                         const Frontdesk__V1__Visit *v)
{
	if (code == FD_OK && v) {
		d->visit = v->id;
		if (strcmp(v->status, "checked_in") == 0)
			d->visit_status = "checked_in";
		else if (strcmp(v->status, "in_room") == 0)
			d->visit_status = "in_room";
		else if (strcmp(v->status, "with_provider") == 0)
			d->visit_status = "with_provider";
		else
			d->visit = 0; /* checked out (or anything else): done */
	} else if (code != FD_FAILED_PRECONDITION) {
		d->visit = 0;
	}
	if (reply)
		protobuf_c_message_free_unpacked(reply, NULL);
}

/* A walk-in: the bench patients have no forms or insurance, so readiness
 * always finds gaps and the desk overrides them, as a desk would. */
static void do_check_in(struct desk *d)
{
	Frontdesk__V1__CheckInRequest req = FRONTDESK__V1__CHECK_IN_REQUEST__INIT;
	ProtobufCMessage *reply = NULL;
	char location[32];

	d->visit_location = (int)random_between(d, 1, d->cfg->locations);
	location_code(d->visit_location, location, sizeof location);
	req.walk_in_patient_id = random_patient(d);
	req.location = location;
	req.override_readiness = 1;
	req.override_reason = "bench walk-in";
	int code = timed_call(d, OP_CHECK_IN, &req.base, &frontdesk__v1__check_in_reply__descriptor,
	                      &reply);
	follow_visit(d, code, reply,
	             reply ? ((Frontdesk__V1__CheckInReply *)(void *)reply)->visit : NULL);
	if (code == FD_FAILED_PRECONDITION)
		d->visit = 0; /* no visit was made */
}

static void do_assign_room(struct desk *d)
{
	Frontdesk__V1__AssignRoomRequest req = FRONTDESK__V1__ASSIGN_ROOM_REQUEST__INIT;
	ProtobufCMessage *reply = NULL;
	char room[48], provider[32];

	/* A random room of the visit's location, with one of its providers:
	 * a taken room is refused and the next try picks another, as at a
	 * busy desk. */
	snprintf(room, sizeof room, "bench-room-%d-%d", d->visit_location,
	         (int)random_between(d, 1, 16));
	location_provider(d, d->visit_location, provider, sizeof provider);
	req.visit_id = d->visit;
	req.room = room;
	req.provider = provider;
	int code = timed_call(d, OP_ASSIGN_ROOM, &req.base, &frontdesk__v1__visit_reply__descriptor,
	                      &reply);
	follow_visit(d, code, reply,
	             reply ? ((Frontdesk__V1__VisitReply *)(void *)reply)->visit : NULL);
}

static void do_with_provider(struct desk *d)
{
	Frontdesk__V1__SetVisitStatusRequest req = FRONTDESK__V1__SET_VISIT_STATUS_REQUEST__INIT;
	ProtobufCMessage *reply = NULL;

	req.visit_id = d->visit;
	req.status = "with_provider";
	int code = timed_call(d, OP_WITH_PROVIDER, &req.base,
	                      &frontdesk__v1__visit_reply__descriptor, &reply);
	follow_visit(d, code, reply,
	             reply ? ((Frontdesk__V1__VisitReply *)(void *)reply)->visit : NULL);
	if (code == FD_FAILED_PRECONDITION)
		d->visit_status = "with_provider"; /* try checking out instead */
}

static void do_check_out(struct desk *d)
{
	Frontdesk__V1__CheckOutRequest req = FRONTDESK__V1__CHECK_OUT_REQUEST__INIT;
	ProtobufCMessage *reply = NULL;

	req.visit_id = d->visit;
	int code = timed_call(d, OP_CHECK_OUT, &req.base,
	                      &frontdesk__v1__check_out_reply__descriptor, &reply);
	follow_visit(d, code, reply,
	             reply ? ((Frontdesk__V1__CheckOutReply *)(void *)reply)->visit : NULL);
	d->visit = 0; /* out, or refused: start a new visit either way */
}

/* Walk-in -> a room -> with the provider -> checked out. */
static void do_visit_step(struct desk *d)
{
	if (!d->visit)
		do_check_in(d);
	else if (strcmp(d->visit_status, "checked_in") == 0)
		do_assign_room(d);
	else if (strcmp(d->visit_status, "in_room") == 0)
		do_with_provider(d);
	else
		do_check_out(d);
}

static void do_ping(struct desk *d)
{
	Frontdesk__V1__PingRequest req = FRONTDESK__V1__PING_REQUEST__INIT;

	timed_call(d, OP_PING, &req.base, &frontdesk__v1__ping_reply__descriptor, NULL);
}

static void do_whoami(struct desk *d)
{
	Frontdesk__V1__WhoAmIRequest req = FRONTDESK__V1__WHO_AM_IREQUEST__INIT;

	timed_call(d, OP_WHOAMI, &req.base, &frontdesk__v1__who_am_ireply__descriptor, NULL);
}

static void run_op(struct desk *d, enum op op)
{
	switch (op) {
	case OP_PING:
		do_ping(d);
		break;
	case OP_LOGIN:
		login(d, 1);
		break;
	case OP_WHOAMI:
		do_whoami(d);
		break;
	case OP_FIND_PATIENTS:
		do_find_patients(d);
		break;
	case OP_GET_PATIENT:
		do_get_patient(d);
		break;
	case OP_READINESS:
		do_readiness(d);
		break;
	case OP_BOARD:
		do_board(d);
		break;
	case OP_FIND_SLOTS:
		do_find_slots(d);
		break;
	case OP_BOOK:
		do_booking_step(d);
		break;
	case OP_RESCHEDULE:
		do_reschedule(d);
		break;
	case OP_CANCEL:
		do_cancel(d);
		break;
	case OP_ROUTE:
		do_route(d);
		break;
	case OP_WAITING_ROOM:
		do_waiting_room(d);
		break;
	case OP_CHECK_IN:
		do_visit_step(d);
		break;
	case OP_ASSIGN_ROOM:
		do_assign_room(d);
		break;
	case OP_WITH_PROVIDER:
		do_with_provider(d);
		break;
	case OP_CHECK_OUT:
		do_check_out(d);
		break;
	case OP_FIND_SLOTS_WEEK:
		do_find_slots_week(d);
		break;
	case OP_COUNT:
		break;
	}
}

static enum op draw_from_mix(struct desk *d)
{
	int total = 0, pick;

	for (int i = 0; i < OP_COUNT; i++)
		total += ops[i].mix_weight;
	pick = (int)(next_random(d) % (uint64_t)total);
	for (int i = 0; i < OP_COUNT; i++) {
		if (pick < ops[i].mix_weight)
			return (enum op)i;
		pick -= ops[i].mix_weight;
	}
	return OP_WHOAMI;
}

/* At the end of a run: no visit is left holding a room (untimed). */
static void close_visit_untimed(struct desk *d)
{
	ProtobufCMessage *reply = NULL;
	fd_status st;
	int code;

	if (strcmp(d->visit_status, "checked_in") == 0) {
		Frontdesk__V1__SetVisitStatusRequest req =
		    FRONTDESK__V1__SET_VISIT_STATUS_REQUEST__INIT;
		req.visit_id = d->visit;
		req.status = "left_without_being_seen";
		code = fd_client_call(d->client, ops[OP_WITH_PROVIDER].path, &req.base,
		                      &frontdesk__v1__visit_reply__descriptor, &reply, 0, &st);
	} else {
		Frontdesk__V1__CheckOutRequest req = FRONTDESK__V1__CHECK_OUT_REQUEST__INIT;
		req.visit_id = d->visit;
		code = fd_client_call(d->client, ops[OP_CHECK_OUT].path, &req.base,
		                      &frontdesk__v1__check_out_reply__descriptor, &reply, 0, &st);
	}
	if (code == FD_OK)
		protobuf_c_message_free_unpacked(reply, NULL);
	d->visit = 0;
}

static void *desk_main(void *arg)
{
	struct desk *d = arg;
	const struct config *cfg = d->cfg;
	fd_client_options o = {.url = cfg->url, .timeout_ms = 30000, .resend_ms = 60000};
	fd_status st;
	int ready = fd_client_open(&d->client, &o, &st) == FD_OK;

	if (!ready)
		snprintf(d->error, sizeof d->error, "open: %s", st.message);
	else
		ready = login(d, 0) == FD_OK;
	pthread_barrier_wait(&logged_in);
	pthread_barrier_wait(&start_line);
	if (ready && cfg->only == OP_BOOK) {
		while (now_ns() < deadline_ns)
			do_book(d); /* bookings only: the raw comparison */
	} else if (ready) {
		while (now_ns() < deadline_ns)
			run_op(d, cfg->only >= 0 ? (enum op)cfg->only : draw_from_mix(d));
	}
	/* Leave no booking of the cycle behind (untimed). */
	if (ready && d->held && cfg->only < 0) {
		Frontdesk__V1__CancelRequest req = FRONTDESK__V1__CANCEL_REQUEST__INIT;
		ProtobufCMessage *reply = NULL;
		req.appointment_id = d->held;
		req.reason_code = "patient";
		if (fd_client_call(d->client, ops[OP_CANCEL].path, &req.base,
		                   &frontdesk__v1__cancel_reply__descriptor, &reply, 0,
		                   &st) == FD_OK)
			protobuf_c_message_free_unpacked(reply, NULL);
	}
	if (ready && d->visit)
		close_visit_untimed(d);
	return NULL;
}

/* --- the server's CPU and memory ------------------------------------- */

struct proc_sample {
	double cpu_s;
	long rss_kb, hwm_kb;
};

static int sample_process(pid_t pid, struct proc_sample *s)
{
	char path[64], buf[2048];
	FILE *f;
	unsigned long utime = 0, stime = 0;

	memset(s, 0, sizeof *s);
	if (pid <= 0)
		return -1;
	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	if (!(f = fopen(path, "r")))
		return -1;
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = 0;
	/* Fields after the parenthesised command name: state is field 3,
	 * utime 14, stime 15. */
	char *p = strrchr(buf, ')');
	if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &utime,
	                 &stime) != 2)
		return -1;
	s->cpu_s = (double)(utime + stime) / (double)sysconf(_SC_CLK_TCK);
	snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
	if (!(f = fopen(path, "r")))
		return -1;
	while (fgets(buf, sizeof buf, f)) {
		if (strncmp(buf, "VmRSS:", 6) == 0)
			s->rss_kb = strtol(buf + 6, NULL, 10);
		else if (strncmp(buf, "VmHWM:", 6) == 0)
			s->hwm_kb = strtol(buf + 6, NULL, 10);
	}
	fclose(f);
	return 0;
}

/* --- the report ------------------------------------------------------- */

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static double percentile_ms(const struct series *s, double q)
{
	if (!s->n)
		return 0;
	size_t at = (size_t)(q * (double)(s->n - 1) + 0.5);
	return s->us[at] / 1000.0;
}

/* Appends every desk's series of one op (or of all ops when op < 0). */
static void merge(struct desk *desks, int n, int op, struct series *out)
{
	memset(out, 0, sizeof *out);
	for (int i = 0; i < n; i++)
		for (int k = 0; k < OP_COUNT; k++) {
			if (op >= 0 && k != op)
				continue;
			const struct series *s = &desks[i].stats[k];
			if (!s->n)
				continue;
			uint32_t *grown = realloc(out->us, (out->n + s->n) * sizeof *grown);
			if (!grown)
				continue;
			out->us = grown;
			memcpy(out->us + out->n, s->us, s->n * sizeof *s->us);
			out->n += s->n;
			for (int c = 0; c < N_CODES; c++)
				out->codes[c] += s->codes[c];
		}
	if (out->n)
		qsort(out->us, out->n, sizeof *out->us, cmp_u32);
}

static void print_series_json(const char *name, const struct series *s, double seconds, int first)
{
	printf("%s\n    \"%s\": {\"calls\": %zu, \"calls_per_s\": %.1f, \"p50_ms\": %.3f,"
	       " \"p95_ms\": %.3f, \"p99_ms\": %.3f, \"max_ms\": %.3f, \"status\": {",
	       first ? "" : ",", name, s->n, (double)s->n / seconds, percentile_ms(s, 0.50),
	       percentile_ms(s, 0.95), percentile_ms(s, 0.99), s->n ? s->us[s->n - 1] / 1000.0 : 0);
	int any = 0;
	for (int c = 0; c < N_CODES; c++)
		if (s->codes[c]) {
			printf("%s\"%s\": %" PRIu64, any ? ", " : "", fd_code_name(c), s->codes[c]);
			any = 1;
		}
	printf("}}");
}

static void print_series_row(const char *name, const struct series *s, double seconds)
{
	char errs[160] = "";
	size_t len = 0;

	for (int c = 1; c < N_CODES && len < sizeof errs; c++)
		if (s->codes[c])
			len += (size_t)snprintf(errs + len, sizeof errs - len, "%s%s=%" PRIu64,
			                        len ? " " : "", fd_code_name(c), s->codes[c]);
	printf("%-30s %8zu %9.1f %8.2f %8.2f %8.2f %8.2f  %s\n", name, s->n, (double)s->n / seconds,
	       percentile_ms(s, 0.50), percentile_ms(s, 0.95), percentile_ms(s, 0.99),
	       s->n ? s->us[s->n - 1] / 1000.0 : 0, errs);
}

static void report(const struct config *cfg, struct desk *desks, double seconds,
                   const struct proc_sample *before, const struct proc_sample *after)
{
	struct series all, one;
	double cpu = after->cpu_s - before->cpu_s;

	merge(desks, cfg->desks, -1, &all);
	if (cfg->json) {
		printf("{\n  \"label\": \"%s\", \"desks\": %d, \"seconds\": %.2f,"
		       " \"mode\": \"%s\",\n  \"rpcs\": {",
		       cfg->label, cfg->desks, seconds,
		       cfg->only >= 0 ? ops[cfg->only].name : "mix");
		int first = 1;
		for (int k = 0; k < OP_COUNT; k++) {
			merge(desks, cfg->desks, k, &one);
			if (one.n)
				print_series_json(ops[k].name, &one, seconds, first), first = 0;
			free(one.us);
		}
		printf("},\n  \"total\": {");
		print_series_json("all", &all, seconds, 1);
		printf("},\n  \"server\": {\"cpu_s\": %.3f, \"cpu_us_per_call\": %.1f,"
		       " \"rss_start_kb\": %ld, \"rss_end_kb\": %ld, \"peak_rss_kb\": %ld}\n}\n",
		       cpu, all.n ? cpu * 1e6 / (double)all.n : 0, before->rss_kb, after->rss_kb,
		       after->hwm_kb);
	} else {
		printf("%s: %d desks, %.1f s, %s\n", cfg->label, cfg->desks, seconds,
		       cfg->only >= 0 ? ops[cfg->only].name : "front-desk mix");
		printf("%-30s %8s %9s %8s %8s %8s %8s  %s\n", "rpc", "calls", "calls/s", "p50 ms",
		       "p95 ms", "p99 ms", "max ms", "errors");
		for (int k = 0; k < OP_COUNT; k++) {
			merge(desks, cfg->desks, k, &one);
			if (one.n)
				print_series_row(ops[k].name, &one, seconds);
			free(one.us);
		}
		print_series_row("all", &all, seconds);
		if (cfg->server_pid > 0)
			printf("server: %.2f s CPU (%.1f us per call), RSS %ld -> %ld kB, peak %ld "
			       "kB\n",
			       cpu, all.n ? cpu * 1e6 / (double)all.n : 0, before->rss_kb,
			       after->rss_kb, after->hwm_kb);
	}
	free(all.us);
}

/* --- command line ----------------------------------------------------- */

static void usage(void)
{
	fprintf(stderr,
	        "usage: loadgen --url URL --user U --password P [--desks N] [--seconds S]\n"
	        "               [--only RPC] [--patients LO:HI] [--providers N] [--locations N]\n"
	        "               [--server-pid PID] [--label TEXT] [--json]\n"
	        "RPC: Health.Ping, Auth.Login, Auth.WhoAmI, Patients.FindPatients, "
	        "Patients.GetPatient,\n"
	        "     Intake.Readiness, Scheduling.ListAppointments, Scheduling.FindSlots,\n"
	        "     Scheduling.Book, Phone.Route, Checkin.Board,\n"
	        "     Checkin.CheckIn (the whole walk-in visit cycle)\n");
	exit(64);
}

static int op_by_name(const char *name)
{
	for (int k = 0; k < OP_COUNT; k++)
		if (strcmp(ops[k].name, name) == 0)
			return k;
	return -1;
}

static void parse_args(int argc, char **argv, struct config *cfg)
{
	*cfg = (struct config){.desks = 16,
	                       .seconds = 30,
	                       .only = -1,
	                       .patient_lo = 1,
	                       .patient_hi = 1000,
	                       .providers = 30,
	                       .locations = 3,
	                       .label = "run"};
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (strcmp(a, "--json") == 0) {
			cfg->json = 1;
			continue;
		}
		if (!v)
			usage();
		i++;
		if (strcmp(a, "--url") == 0)
			cfg->url = v;
		else if (strcmp(a, "--user") == 0)
			cfg->user = v;
		else if (strcmp(a, "--password") == 0)
			cfg->password = v;
		else if (strcmp(a, "--desks") == 0)
			cfg->desks = atoi(v);
		else if (strcmp(a, "--seconds") == 0)
			cfg->seconds = atof(v);
		else if (strcmp(a, "--only") == 0) {
			/* Steps that need an earlier one are mix only. */
			cfg->only = op_by_name(v);
			if (cfg->only < 0 || cfg->only == OP_RESCHEDULE || cfg->only == OP_CANCEL ||
			    cfg->only == OP_ASSIGN_ROOM || cfg->only == OP_WITH_PROVIDER ||
			    cfg->only == OP_CHECK_OUT)
				usage();
		} else if (strcmp(a, "--patients") == 0) {
			if (sscanf(v, "%" SCNd64 ":%" SCNd64, &cfg->patient_lo, &cfg->patient_hi) !=
			    2)
				usage();
		} else if (strcmp(a, "--providers") == 0)
			cfg->providers = atoi(v);
		else if (strcmp(a, "--locations") == 0)
			cfg->locations = atoi(v);
		else if (strcmp(a, "--server-pid") == 0)
			cfg->server_pid = (pid_t)atoi(v);
		else if (strcmp(a, "--label") == 0)
			cfg->label = v;
		else
			usage();
	}
	if (!cfg->url || !cfg->user || !cfg->password || cfg->desks < 1 || cfg->desks > 1024 ||
	    cfg->seconds <= 0 || cfg->providers < 1 || cfg->locations < 1 ||
	    cfg->patient_hi < cfg->patient_lo)
		usage();
}

int main(int argc, char **argv)
{
	struct config cfg;
	struct proc_sample before, after;

	parse_args(argc, argv, &cfg);
	struct desk *desks = calloc((size_t)cfg.desks, sizeof *desks);
	if (!desks || pthread_barrier_init(&logged_in, NULL, (unsigned)cfg.desks + 1) != 0 ||
	    pthread_barrier_init(&start_line, NULL, (unsigned)cfg.desks + 1) != 0) {
		fprintf(stderr, "loadgen: out of memory\n");
		return 71;
	}
	for (int i = 0; i < cfg.desks; i++) {
		desks[i].cfg = &cfg;
		desks[i].index = i;
		desks[i].rng = 0x9e3779b97f4a7c15ULL * (uint64_t)(i + 1) ^ (uint64_t)getpid();
		if (pthread_create(&desks[i].thread, NULL, desk_main, &desks[i]) != 0) {
			fprintf(stderr, "loadgen: cannot start desk %d\n", i);
			return 71;
		}
	}
	/* Every desk is connected and logged in: the clock starts now. */
	pthread_barrier_wait(&logged_in);
	sample_process(cfg.server_pid, &before);
	int64_t t0 = now_ns();
	deadline_ns = t0 + (int64_t)(cfg.seconds * 1e9);
	pthread_barrier_wait(&start_line);
	for (int i = 0; i < cfg.desks; i++)
		pthread_join(desks[i].thread, NULL);
	double elapsed = (double)(now_ns() - t0) / 1e9;
	sample_process(cfg.server_pid, &after);

	report(&cfg, desks, elapsed, &before, &after);
	for (int i = 0; i < cfg.desks; i++) {
		if (desks[i].error[0]) {
			fprintf(stderr, "loadgen: desk %d: first unexpected reply: %s\n", i,
			        desks[i].error);
		}
		for (int k = 0; k < OP_COUNT; k++)
			free(desks[i].stats[k].us);
		if (desks[i].client)
			fd_client_close(desks[i].client);
	}
	free(desks);
	pthread_barrier_destroy(&logged_in);
	pthread_barrier_destroy(&start_line);
	/* Unexpected replies are counted in the report; the run itself worked. */
	return 0;
}
