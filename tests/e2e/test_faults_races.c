/*
 * Races, round after round: eight desks (threads, each its own client and
 * staff session) released together by a barrier go for the same thing.
 *
 *   - the same slot of the same provider: one booking, the others told the
 *     slot was just taken;
 *   - the same exam room for eight checked-in patients: one is roomed, the
 *     others told the room is taken;
 *   - the same ringing call: one desk answers, the others are told it is
 *     no longer ringing;
 *   - a provider's per-day limit of two for a type, eight desks booking
 *     eight different free slots of that day: exactly two bookings;
 *   - a payment of $10.00 refunded $3.00 at a time by eight billing desks at
 *     once: exactly three refunds, never more than was paid.
 *
 * Every round checks the winner count from the desks' answers and from the
 * database, and that no desk ever saw ABORTED: serialization failures and
 * deadlocks (40001/40P01) are retried inside the server. Fast in `make
 * test` (30 rounds each); FD_FAULTS_LONG=1 (`make test-faults`) runs 300.
 */
#include "e2e.h"
#include "faults.h"
#include "frontdesk/v1/phone.pb-c.h"

#define PHONE_SVC (&frontdesk__v1__phone__descriptor)
#define CHECKIN_SVC (&frontdesk__v1__checkin__descriptor)

enum { N = 8 };

struct racer {
	pthread_t thread;
	int index;
	fd_client *client;
	int code;
	char message[200];
	int64_t *appointments; /* room race: one per round */
	int64_t *patients;     /* booking races: the slot race's per round, then the limit race's */
};

static tp_server srv;
static char db[64], first_day[16];
static struct racer racers[N];
static pthread_barrier_t go, ready, done;
static void (*round_fn)(struct racer *);
static bool quit;
static int rounds, round_no;
static int aborted_seen;
static bool racing; /* the racer threads are running */

/* What this round is about (set by the main thread before `go`). */
static char round_slot[24], round_room[24];
static int64_t round_call, round_payment;
static int round_day;
static int64_t *paid_appointments; /* refund race: one per round */

static void *racer_main(void *arg)
{
	struct racer *r = arg;

	for (;;) {
		pthread_barrier_wait(&go);
		if (quit)
			return NULL;
		r->code = -1;
		r->message[0] = '\0';
		round_fn(r);
		pthread_barrier_wait(&done);
	}
}

/* Runs one round on every racer and waits for all of them. */
static void run_round(void (*fn)(struct racer *))
{
	round_fn = fn;
	pthread_barrier_wait(&go);
	pthread_barrier_wait(&done);
	for (int i = 0; i < N; i++)
		if (racers[i].code == FD_ABORTED)
			aborted_seen++;
}

static void keep(struct racer *r, int code, const fd_status *st)
{
	r->code = code;
	snprintf(r->message, sizeof r->message, "%.190s", code == FD_OK ? "" : st->message);
}

/* Winners of the round, after checking every loser got one of the allowed
 * answers (printing any other). */
static int winners(int loser_a, int loser_b)
{
	int won = 0;

	for (int i = 0; i < N; i++) {
		if (racers[i].code == FD_OK)
			won++;
		else if (racers[i].code != loser_a && racers[i].code != loser_b) {
			printf("    round %d desk %d: %s %s\n", round_no, i,
			       fd_code_name(racers[i].code), racers[i].message);
			return -1;
		}
	}
	return won;
}

static bool up(void)
{
	if (srv.pid > 0)
		return racing;
	static const char *const extra[] = { "--workers=4", NULL };
	if (!e2e_start(&srv, db, sizeof db, "frace", extra) || !faults_clinic(db, 8) ||
	    faults_first_day(db, first_day, sizeof first_day) != 0)
		return false;
	rounds = faults_pick(30, 300);
	/* Eight racers who can log in (the demo's password hash) and take calls. */
	if (faults_sql(db, "INSERT INTO staff (username, display_name, password_hash, roles)"
			   " SELECT 'racer' || i, 'Racer ' || i, s.password_hash, '{front_desk,billing}'"
			   " FROM staff s, generate_series(1, %d) i WHERE s.username = 'reception1'",
		       N) != 0)
		return false;
	/* One room per round, for the room race. */
	if (faults_sql(db, "INSERT INTO resources (location_id, code, name, kind) SELECT id,"
			   " 'rr-' || i, 'Race room ' || i, 'exam_room' FROM locations,"
			   " generate_series(1, %d) i WHERE code = '" FLT_LOCATION "'",
		       rounds) != 0)
		return false;
	pthread_barrier_init(&go, NULL, N + 1);
	pthread_barrier_init(&done, NULL, N + 1);
	pthread_barrier_init(&ready, NULL, N);
	for (int i = 0; i < N; i++) {
		struct racer *r = &racers[i];
		char user[16], desk[16];
		int64_t *visit_patients = calloc((size_t)rounds, sizeof *visit_patients);
		r->index = i;
		r->patients = calloc((size_t)rounds * 2, sizeof *r->patients);
		r->appointments = calloc((size_t)rounds, sizeof *r->appointments);
		snprintf(user, sizeof user, "racer%d", i + 1);
		snprintf(desk, sizeof desk, "flt-%d", i + 1);
		r->client = faults_desk(&srv, user, desk, faults_slack(10000));
		bool ok = r->client && visit_patients && r->patients && r->appointments &&
			  faults_patients(db, rounds * 2, r->patients) == 0 &&
			  faults_patients(db, rounds, visit_patients) == 0 &&
			  faults_appointments_today(db, rounds, visit_patients, r->appointments) == 0;
		free(visit_patients);
		if (!ok)
			return false;
	}
	int64_t *payers = calloc((size_t)rounds, sizeof *payers);
	paid_appointments = calloc((size_t)rounds, sizeof *paid_appointments);
	bool paid_ok = payers && paid_appointments && faults_patients(db, rounds, payers) == 0 &&
		       faults_appointments_today(db, rounds, payers, paid_appointments) == 0;
	free(payers);
	if (!paid_ok)
		return false;
	for (int i = 0; i < N; i++)
		pthread_create(&racers[i].thread, NULL, racer_main, &racers[i]);
	racing = true;
	return true;
}

/* --- one slot ------------------------------------------------------------ */

/* The round's patients (one per desk) as an SQL array literal. */
static const char *round_patients(void)
{
	static char list[N * 24 + 16];
	size_t len = (size_t)snprintf(list, sizeof list, "ARRAY[");

	for (int i = 0; i < N; i++)
		len += (size_t)snprintf(list + len, sizeof list - len, "%s%lld", i ? "," : "",
					(long long)racers[i].patients[round_no]);
	snprintf(list + len, sizeof list - len, "]::bigint[]");
	return list;
}

static void book_the_slot(struct racer *r)
{
	fd_status st;
	uint8_t id[16];
	int64_t appointment;

	fd_request_id_new(id);
	pthread_barrier_wait(&ready);
	keep(r, faults_book(r->client, id, r->patients[round_no], "fp1", FLT_TYPE, round_slot, 0,
			    &appointment, &st),
	     &st);
}

static void desks_racing_for_one_slot_book_it_once_every_round(void)
{
	CHECK(up());
	for (round_no = 0; round_no < rounds; round_no++) {
		faults_slot(round_slot, sizeof round_slot, first_day, round_no);
		run_round(book_the_slot);
		CHECK_INT(winners(FD_ALREADY_EXISTS, FD_ALREADY_EXISTS), 1);
		CHECK(faults_scalar(db, "SELECT count(*) FROM appointments WHERE patient_id = ANY(%s)",
				    round_patients()) == 1);
	}
	CHECK_INT(aborted_seen, 0);
	printf("    figures: %d rounds of %d desks for one slot, one booking each\n", rounds, N);
}

/* --- one room ------------------------------------------------------------ */

static void room_the_patient(struct racer *r)
{
	Frontdesk__V1__AssignRoomRequest req = FRONTDESK__V1__ASSIGN_ROOM_REQUEST__INIT;
	ProtobufCMessage *rep = NULL;
	fd_status st;
	uint8_t id[16];
	int64_t visit = 0;

	fd_request_id_new(id);
	int rc = faults_check_in(r->client, id, r->appointments[round_no], 0, &visit, &st);
	pthread_barrier_wait(&ready);
	if (rc != FD_OK) {
		keep(r, rc, &st);
		return;
	}
	req.visit_id = visit;
	req.room = round_room;
	keep(r, tp_call(r->client, CHECKIN_SVC, "AssignRoom", &req.base, &rep, &st), &st);
	if (rep)
		protobuf_c_message_free_unpacked(rep, NULL);
}

static void patients_racing_for_one_room_get_it_once_every_round(void)
{
	CHECK(up());
	for (round_no = 0; round_no < rounds; round_no++) {
		snprintf(round_room, sizeof round_room, "rr-%d", round_no + 1);
		run_round(room_the_patient);
		/* The loser either saw the winner (taken) or collided with it
		 * in the database's one-patient-per-room index (just taken). */
		CHECK_INT(winners(FD_FAILED_PRECONDITION, FD_ALREADY_EXISTS), 1);
		CHECK(faults_scalar(db, "SELECT count(*) FROM visits v JOIN resources r ON r.id = v.room_id"
					" WHERE r.code = '%s'",
				    round_room) == 1);
	}
	CHECK_INT(aborted_seen, 0);
	printf("    figures: %d rounds of %d patients for one room, one roomed each\n", rounds, N);
}

/* --- one ringing call ------------------------------------------------------ */

/* A line, a ring-all queue of the eight racers and the rule to reach it,
 * on an emptied phone setup (the demo seeds its own rules). */
static bool phone_setup(fd_client *admin)
{
	Frontdesk__V1__PhoneCreateLineRequest line = FRONTDESK__V1__PHONE_CREATE_LINE_REQUEST__INIT;
	Frontdesk__V1__PhoneSaveQueueRequest queue = FRONTDESK__V1__PHONE_SAVE_QUEUE_REQUEST__INIT;
	Frontdesk__V1__PhoneAddRuleRequest add = FRONTDESK__V1__PHONE_ADD_RULE_REQUEST__INIT;
	Frontdesk__V1__PhoneRule rule = FRONTDESK__V1__PHONE_RULE__INIT;
	ProtobufCMessage *rep = NULL;
	fd_status st;

	if (tp_db_exec(db, "DELETE FROM phone_rules; DELETE FROM phone_listed_numbers;"
			   " DELETE FROM phone_hours; DELETE FROM phone_on_call;") != 0)
		return false;
	line.code = "race-line";
	line.name = "Race line";
	line.number = "+15550009999";
	line.location = FLT_LOCATION;
	if (tp_call(admin, PHONE_SVC, "CreateLine", &line.base, &rep, &st) != FD_OK)
		return false;
	protobuf_c_message_free_unpacked(rep, NULL);
	queue.code = "race-q";
	queue.name = "Race queue";
	queue.location = FLT_LOCATION;
	queue.strategy = "ring_all";
	queue.set_wrap_up = true;
	queue.set_penalty_widen = true;
	if (tp_call(admin, PHONE_SVC, "SaveQueue", &queue.base, &rep, &st) != FD_OK)
		return false;
	protobuf_c_message_free_unpacked(rep, NULL);
	rule.name = "race-all";
	rule.priority = 10;
	rule.condition = "always";
	rule.menu_choice = "";
	rule.action = "queue";
	rule.queue = "race-q";
	rule.line = "";
	add.rule = &rule;
	if (tp_call(admin, PHONE_SVC, "AddRule", &add.base, &rep, &st) != FD_OK)
		return false;
	protobuf_c_message_free_unpacked(rep, NULL);
	for (int i = 0; i < N; i++) {
		Frontdesk__V1__PhoneSetQueueMemberRequest m =
			FRONTDESK__V1__PHONE_SET_QUEUE_MEMBER_REQUEST__INIT;
		char user[16];
		snprintf(user, sizeof user, "racer%d", i + 1);
		m.queue = "race-q";
		m.username = user;
		m.position = i + 1;
		if (tp_call(admin, PHONE_SVC, "SetQueueMember", &m.base, &rep, &st) != FD_OK)
			return false;
		protobuf_c_message_free_unpacked(rep, NULL);
	}
	return faults_sql(db, "INSERT INTO phone_presence (staff_id, state, desk_id)"
			      " SELECT s.id, 'available', d.id FROM staff s JOIN desks d"
			      " ON d.code = 'flt-' || substr(s.username, 6) WHERE s.username ~ '^racer'"
			      " ON CONFLICT (staff_id) DO UPDATE SET state = 'available',"
			      " wrap_up_until = NULL, reason = NULL") == 0;
}

static void answer_the_call(struct racer *r)
{
	Frontdesk__V1__PhoneAnswerRequest req = FRONTDESK__V1__PHONE_ANSWER_REQUEST__INIT;
	ProtobufCMessage *rep = NULL;
	fd_status st;

	req.call_id = round_call;
	pthread_barrier_wait(&ready);
	keep(r, tp_call(r->client, PHONE_SVC, "Answer", &req.base, &rep, &st), &st);
	if (rep)
		protobuf_c_message_free_unpacked(rep, NULL);
}

static void desks_racing_to_answer_one_call_connect_it_once_every_round(void)
{
	fd_status st;

	CHECK(up());
	fd_client *admin = faults_desk(&srv, "admin", "flt-1", faults_slack(10000));
	CHECK(admin != NULL);
	bool ready_ok = phone_setup(admin);
	fd_client_close(admin);
	CHECK(ready_ok);
	for (round_no = 0; round_no < rounds; round_no++) {
		Frontdesk__V1__PhoneIncomingRequest in = FRONTDESK__V1__PHONE_INCOMING_REQUEST__INIT;
		ProtobufCMessage *rep = NULL;
		in.from = "+15557771234";
		in.line = "race-line";
		in.menu_choice = "";
		CHECK_INT(tp_call(racers[0].client, PHONE_SVC, "Incoming", &in.base, &rep, &st), FD_OK);
		Frontdesk__V1__PhoneIncomingReply *ir = (Frontdesk__V1__PhoneIncomingReply *)rep;
		size_t ringing = ir->call ? ir->call->n_ringing : 0;
		round_call = ir->call ? ir->call->id : 0;
		protobuf_c_message_free_unpacked(rep, NULL);
		CHECK_INT(ringing, N);
		run_round(answer_the_call);
		int won = winners(FD_FAILED_PRECONDITION, FD_FAILED_PRECONDITION);
		CHECK_INT(won, 1);
		CHECK(faults_scalar(db, "SELECT count(*) FROM phone_rings WHERE call_id = %lld"
					" AND outcome = 'answered'",
				    (long long)round_call) == 1);
		CHECK(faults_scalar(db, "SELECT count(*) FROM phone_rings WHERE call_id = %lld"
					" AND stopped_at IS NULL",
				    (long long)round_call) == 0);
		int w = 0;
		while (racers[w].code != FD_OK)
			w++;
		Frontdesk__V1__PhoneEndRequest end = FRONTDESK__V1__PHONE_END_REQUEST__INIT;
		end.call_id = round_call;
		end.disposition = "";
		CHECK_INT(tp_call(racers[w].client, PHONE_SVC, "End", &end.base, &rep, &st), FD_OK);
		protobuf_c_message_free_unpacked(rep, NULL);
	}
	CHECK_INT(aborted_seen, 0);
	printf("    figures: %d rounds of %d desks answering one call, one connected each\n",
	       rounds, N);
}

/* --- a per-day limit ------------------------------------------------------- */

static void book_within_the_limit(struct racer *r)
{
	fd_status st;
	uint8_t id[16];
	int64_t appointment;
	char at[24];

	/* Desk i takes slot i of the round's day: all free, all different. */
	faults_slot(at, sizeof at, first_day, round_day * FLT_SLOTS_PER_DAY + 8 * r->index);
	fd_request_id_new(id);
	pthread_barrier_wait(&ready);
	keep(r, faults_book(r->client, id, r->patients[rounds + round_no], "fp8", "flt-lim", at, 0,
			    &appointment, &st),
	     &st);
}

static void a_per_day_limit_holds_when_desks_book_the_last_places_at_once(void)
{
	CHECK(up());
	CHECK(faults_sql(db, "INSERT INTO appointment_types (code, name, duration_min, grid_min,"
			     " horizon_days, per_day_limit) VALUES ('flt-lim', 'Limited', 15, 15, 730, 2);"
			     "INSERT INTO provider_types SELECT p.id, t.id FROM providers p,"
			     " appointment_types t WHERE p.code = 'fp8' AND t.code = 'flt-lim'") == 0);
	int refused_by_limit = 0;
	for (round_no = 0; round_no < rounds; round_no++) {
		round_day = 10 + round_no;
		run_round(book_within_the_limit);
		CHECK_INT(winners(FD_FAILED_PRECONDITION, FD_FAILED_PRECONDITION), 2);
		for (int i = 0; i < N; i++)
			if (racers[i].code == FD_FAILED_PRECONDITION) {
				CHECK_MSG(strstr(racers[i].message, "limit") != NULL,
					  "refused for another reason: %s", racers[i].message);
				refused_by_limit++;
			}
	}
	/* The database agrees: no provider day holds more than the limit. */
	CHECK(faults_scalar(db, "SELECT count(*) FROM (SELECT 1 FROM appointments a"
				" JOIN appointment_types t ON t.id = a.type_id"
				" JOIN locations l ON l.id = a.location_id WHERE t.code = 'flt-lim'"
				" AND appointment_status_active(a.status)"
				" GROUP BY (a.starts_at AT TIME ZONE l.time_zone)::date, a.provider_id"
				" HAVING count(*) > 2) x") == 0);
	CHECK(faults_scalar(db, "SELECT count(*) FROM appointments a JOIN appointment_types t"
				" ON t.id = a.type_id WHERE t.code = 'flt-lim'") == 2LL * rounds);
	CHECK_INT(aborted_seen, 0);
	printf("    figures: %d rounds of %d desks for the last 2 places of a day, %d refused"
	       " by the limit, ABORTED seen %d\n",
	       rounds, N, refused_by_limit, aborted_seen);
}

/* --- refunds of one payment ----------------------------------------------- */

/* A checked-in visit paid $10.00 in cash; the payment's id. */
static int64_t paid_visit(fd_status *st)
{
	Frontdesk__V1__TakePaymentRequest req = FRONTDESK__V1__TAKE_PAYMENT_REQUEST__INIT;
	ProtobufCMessage *rep = NULL;
	uint8_t id[16];
	int64_t visit = 0, payment = 0;

	fd_request_id_new(id);
	if (faults_check_in(racers[0].client, id, paid_appointments[round_no], 0, &visit, st) != FD_OK)
		return 0;
	req.visit_id = visit;
	req.amount_cents = 1000;
	req.method = "cash";
	if (tp_call(racers[0].client, CHECKIN_SVC, "TakePayment", &req.base, &rep, st) == FD_OK) {
		Frontdesk__V1__PaymentReply *pr = (Frontdesk__V1__PaymentReply *)rep;
		payment = pr->payment ? pr->payment->id : 0;
	}
	if (rep)
		protobuf_c_message_free_unpacked(rep, NULL);
	return payment;
}

static void refund_three_dollars(struct racer *r)
{
	Frontdesk__V1__RefundPaymentRequest req = FRONTDESK__V1__REFUND_PAYMENT_REQUEST__INIT;
	ProtobufCMessage *rep = NULL;
	fd_status st;

	req.payment_id = round_payment;
	req.amount_cents = 300;
	req.reason = "race test";
	pthread_barrier_wait(&ready);
	keep(r, tp_call(r->client, CHECKIN_SVC, "RefundPayment", &req.base, &rep, &st), &st);
	if (rep)
		protobuf_c_message_free_unpacked(rep, NULL);
}

static void refunds_racing_on_one_payment_never_return_more_than_was_paid(void)
{
	fd_status st;
	int refused = 0;

	CHECK(up());
	for (round_no = 0; round_no < rounds; round_no++) {
		round_payment = paid_visit(&st);
		CHECK_MSG(round_payment > 0, "setup: %s", st.message);
		run_round(refund_three_dollars);
		CHECK_INT(winners(FD_FAILED_PRECONDITION, FD_FAILED_PRECONDITION), 3);
		for (int i = 0; i < N; i++)
			CHECK_MSG(racers[i].code == FD_OK || strstr(racers[i].message, "refunded"),
				  "refused for another reason: %s", racers[i].message);
		refused += N - 3;
		CHECK(faults_scalar(db, "SELECT coalesce(sum(amount_cents), 0) FROM payments"
					" WHERE refund_of = %lld AND voided_at IS NULL",
				    (long long)round_payment) == 900);
	}
	CHECK_INT(aborted_seen, 0);
	printf("    figures: %d rounds of %d desks refunding $3.00 of one $10.00 payment:"
	       " 3 refunds each, %d refused\n",
	       rounds, N, refused);
}

static void the_racers_go_home_and_the_server_exits_cleanly(void)
{
	bool ok = up();
	if (srv.pid > 0 && !ok)
		tp_server_kill(&srv);
	CHECK(ok);
	quit = true;
	pthread_barrier_wait(&go);
	for (int i = 0; i < N; i++) {
		pthread_join(racers[i].thread, NULL);
		fd_client_close(racers[i].client);
		free(racers[i].patients);
		free(racers[i].appointments);
	}
	free(paid_appointments);
	e2e_stop(&srv);
}

TH_MAIN(TH_CASE(desks_racing_for_one_slot_book_it_once_every_round),
	TH_CASE(patients_racing_for_one_room_get_it_once_every_round),
	TH_CASE(desks_racing_to_answer_one_call_connect_it_once_every_round),
	TH_CASE(a_per_day_limit_holds_when_desks_book_the_last_places_at_once),
	TH_CASE(refunds_racing_on_one_payment_never_return_more_than_was_paid),
	TH_CASE(the_racers_go_home_and_the_server_exits_cleanly))
