/*
 * Visits and the patient flow: check-in of an appointment or a walk-in,
 * status steps (arrived → checked_in → in_room → with_provider →
 * checked_out, or left_without_being_seen, or undone while open), directing
 * a patient to a room and a provider, check-out, a visit's page, and the
 * no-show sweep.
 *
 * Two desks checking in one patient at once: check-in locks the
 * appointment row, then the patient row, before it looks for an open
 * visit, so the second desk waits for the first one's commit, then finds
 * its visit and is told who checked the patient in, where and when. The
 * unique partial indexes on visits back this up for any other code path.
 *
 * The visit trigger refuses moves outside the flow and writes the step
 * rows (who, desk, why); C checks the same rules first so the desk hears
 * which moves are allowed. The appointment follows the visit (arrived,
 * checked_in, in_room, completed; cancelled with reason 'patient' when the
 * patient left unseen) through scheduling's own trigger, which writes the
 * appointment's history. Undoing a check-in closes the visit and puts the
 * appointment back to booked or confirmed, as it was before the patient
 * arrived (the one backward move scheduling's trigger allows, and only
 * with an undone visit and none open: migrations/0009), so the schedule,
 * the no-show sweep and a later check-in see it as still expected.
 */
#include <stdio.h>
#include <string.h>

#include "checkin.h"
#include "scheduling.h"
#include "validate.h"

static const char *const visit_statuses[] = {
	"arrived", "checked_in", "in_room", "with_provider",
	"checked_out", "left_without_being_seen", "undone",
};

/* What check-in knows about the appointment it is asked for. */
struct arrival {
	int64_t appointment_id; /* 0: walk-in */
	int64_t patient_id;
	int64_t location_id;
	int64_t provider_id; /* 0: none yet */
	int64_t type_id;     /* 0: none */
	const char *type_code;
	const char *status; /* the appointment's */
	int offset_min;     /* arrival against its start (+ late) */
};

/* Someone already has this patient or appointment checked in: the desk is
 * told who, where and when (ALREADY_EXISTS). */
static int already_open(fd_ctx *ctx, const char *where_sql, int64_t id)
{
	char *sql = fd_arena_printf(
		ctx->arena,
		"SELECT v.id, coalesce(s.username, 'someone'), coalesce(d.code, 'another desk'),"
		" local_text(v.arrived_at, l.time_zone), v.status FROM visits v"
		" JOIN locations l ON l.id = v.location_id"
		" LEFT JOIN staff s ON s.id = v.checked_in_by LEFT JOIN desks d ON d.id = v.checked_in_desk"
		" WHERE %s = $1 AND visit_status_open(v.status)",
		where_sql);
	db_params p;
	PGresult *r;

	if (!sql)
		return CHECKIN_NOMEM(ctx);
	dbp_init(&p);
	dbp_int(&p, id);
	if (!(r = db_query(ctx, sql, &p)))
		return ctx->status.code;
	if (PQntuples(r) == 0) {
		PQclear(r);
		return FD_OK;
	}
	fd_fail(&ctx->status, FD_ALREADY_EXISTS,
		"already checked in by %s at desk %s at %s (visit %s, now %s)", PQgetvalue(r, 0, 1),
		PQgetvalue(r, 0, 2), PQgetvalue(r, 0, 3), PQgetvalue(r, 0, 0), PQgetvalue(r, 0, 4));
	PQclear(r);
	return ctx->status.code;
}

/* Locks the appointment and checks it can be checked in today. */
static int lock_appointment(fd_ctx *ctx, int64_t id, struct arrival *a)
{
	db_params p;
	PGresult *r;

	dbp_init(&p);
	dbp_int(&p, id);
	r = db_query(ctx,
		     "SELECT a.patient_id, a.location_id, a.provider_id, a.type_id, t.code, a.status,"
		     " round(extract(epoch FROM now() - a.starts_at) / 60)::int,"
		     " (a.starts_at AT TIME ZONE l.time_zone)::date = (now() AT TIME ZONE l.time_zone)::date,"
		     " to_char(a.starts_at AT TIME ZONE l.time_zone, 'YYYY-MM-DD')"
		     " FROM appointments a JOIN appointment_types t ON t.id = a.type_id"
		     " JOIN locations l ON l.id = a.location_id WHERE a.id = $1 FOR UPDATE OF a",
		     &p);
	if (!r)
		return ctx->status.code;
	if (PQntuples(r) != 1) {
		PQclear(r);
		return fd_fail(&ctx->status, FD_NOT_FOUND, "no appointment has id %lld", (long long)id);
	}
	a->appointment_id = id;
	a->patient_id = db_int(r, 0, 0);
	a->location_id = db_int(r, 0, 1);
	a->provider_id = db_int(r, 0, 2);
	a->type_id = db_int(r, 0, 3);
	a->type_code = db_str(ctx->arena, r, 0, 4);
	a->status = db_str(ctx->arena, r, 0, 5);
	a->offset_min = (int)db_int(r, 0, 6);
	bool today = db_bool(r, 0, 7);
	char *day = db_str(ctx->arena, r, 0, 8);
	PQclear(r);
	fd_ctx_audit(ctx, a->patient_id, fd_arena_printf(ctx->arena, "appointment:%lld", (long long)id));
	if (strcmp(a->status, "cancelled") == 0 || strcmp(a->status, "no_show") == 0 ||
	    strcmp(a->status, "rescheduled") == 0 || strcmp(a->status, "completed") == 0)
		return fd_fail(&ctx->status, FD_FAILED_PRECONDITION,
			       "a %s appointment cannot be checked in", a->status);
	if (!today)
		return fd_fail(&ctx->status, FD_FAILED_PRECONDITION,
			       "the appointment is on %s, not today", day ? day : "another day");
	return FD_OK;
}

/* Locks the patient row, so check-ins of one patient run one at a time. */
static int lock_patient(fd_ctx *ctx, int64_t patient_id)
{
	db_params p;
	PGresult *r;

	dbp_init(&p);
	dbp_int(&p, patient_id);
	r = db_query(ctx, "SELECT merged_into IS NULL FROM patients WHERE id = $1 FOR NO KEY UPDATE", &p);
	if (!r)
		return ctx->status.code;
	bool found = PQntuples(r) == 1, active = found && db_bool(r, 0, 0);
	PQclear(r);
	if (!found)
		return fd_fail(&ctx->status, FD_NOT_FOUND, "no patient has id %lld", (long long)patient_id);
	if (!active)
		return fd_fail(&ctx->status, FD_FAILED_PRECONDITION,
			       "that patient record was merged into another; check in the survivor");
	return FD_OK;
}

/* Resolves a walk-in's place, provider and type from the request. */
static int walk_in(fd_ctx *ctx, const Frontdesk__V1__CheckInRequest *req, struct arrival *a)
{
	db_params p;
	PGresult *r;

	a->patient_id = req->walk_in_patient_id;
	a->type_code = "";
	fd_ctx_audit(ctx, a->patient_id,
		     fd_arena_printf(ctx->arena, "patient:%lld", (long long)a->patient_id));
	if (checkin_resolve_location(ctx, req->location, &a->location_id, NULL) != FD_OK)
		return ctx->status.code;
	if (*req->provider && sched_check_code(ctx, "provider", req->provider) != FD_OK)
		return ctx->status.code;
	if (*req->type && sched_check_code(ctx, "type", req->type) != FD_OK)
		return ctx->status.code;
	dbp_init(&p);
	dbp_text(&p, req->provider);
	dbp_text(&p, req->type);
	dbp_int(&p, a->location_id);
	r = db_query(ctx,
		     "SELECT (SELECT id FROM providers WHERE code = $1 AND active),"
		     " (SELECT id FROM appointment_types WHERE code = $2 AND active),"
		     " EXISTS (SELECT 1 FROM provider_locations pl JOIN providers pr ON pr.id = pl.provider_id"
		     "         WHERE pr.code = $1 AND pl.location_id = $3)",
		     &p);
	if (!r)
		return ctx->status.code;
	bool provider_known = !PQgetisnull(r, 0, 0), type_known = !PQgetisnull(r, 0, 1);
	bool works_here = db_bool(r, 0, 2);
	a->provider_id = db_int(r, 0, 0);
	a->type_id = db_int(r, 0, 1);
	PQclear(r);
	if (*req->provider && !provider_known)
		return fd_fail(&ctx->status, FD_NOT_FOUND, "no active provider has that code");
	if (*req->provider && !works_here)
		return fd_fail(&ctx->status, FD_FAILED_PRECONDITION,
			       "that provider does not work at this location");
	if (*req->type && !type_known)
		return fd_fail(&ctx->status, FD_NOT_FOUND, "no active appointment type has that code");
	a->type_code = req->type;
	return FD_OK;
}

/* Renders gaps as a text[] literal; gap strings never hold quotes or
 * backslashes of their own once escaped here. */
static char *text_array(fd_ctx *ctx, char **items, size_t n)
{
	char *lit = fd_arena_strdup(ctx->arena, "{");

	for (size_t i = 0; lit && i < n; i++) {
		char *esc = fd_arena_alloc(ctx->arena, 2 * strlen(items[i]) + 1), *o = esc;
		if (!esc)
			return NULL;
		for (const char *s = items[i]; *s; s++) {
			if (*s == '"' || *s == '\\')
				*o++ = '\\';
			*o++ = *s;
		}
		*o = 0;
		lit = fd_arena_printf(ctx->arena, "%s%s\"%s\"", lit, i ? "," : "", esc);
	}
	return lit ? fd_arena_printf(ctx->arena, "%s}", lit) : NULL;
}

/* Moves the appointment along with its visit when scheduling's flow allows
 * that move (it only goes forward); cancelled carries reason 'patient'. */
static int follow_appointment(fd_ctx *ctx, int64_t appointment_id, const char *status)
{
	db_params p;

	if (!appointment_id)
		return FD_OK;
	dbp_init(&p);
	dbp_int(&p, appointment_id);
	dbp_text(&p, status);
	return db_exec(ctx,
		       "UPDATE appointments SET status = $2,"
		       " cancel_reason = CASE WHEN $2 = 'cancelled' THEN 'patient' ELSE cancel_reason END"
		       " WHERE id = $1 AND status <> $2 AND appointment_status_move_ok(status, $2)",
		       &p);
}

/* Undo of a check-in: the appointment returns to the status it had before
 * its patient arrived. */
static int restore_appointment(fd_ctx *ctx, int64_t appointment_id)
{
	db_params p;

	if (!appointment_id)
		return FD_OK;
	dbp_init(&p);
	dbp_int(&p, appointment_id);
	return db_exec(ctx,
		       "UPDATE appointments SET status = appointment_status_before_arrival(id)"
		       " WHERE id = $1 AND status IN ('arrived', 'checked_in', 'in_room')",
		       &p);
}

/* The appointment status a visit status implies ("" none). */
static const char *appointment_status_for(const char *visit_status)
{
	if (strcmp(visit_status, "arrived") == 0 || strcmp(visit_status, "checked_in") == 0)
		return visit_status;
	if (strcmp(visit_status, "in_room") == 0 || strcmp(visit_status, "with_provider") == 0)
		return "in_room";
	if (strcmp(visit_status, "checked_out") == 0)
		return "completed";
	if (strcmp(visit_status, "left_without_being_seen") == 0)
		return "cancelled";
	return "";
}

static int announce(fd_ctx *ctx, int64_t visit_id, const char *status)
{
	char topic[48], subject[32];

	snprintf(topic, sizeof topic, "visit.%s", status);
	snprintf(subject, sizeof subject, "visit:%lld", (long long)visit_id);
	return db_notify(ctx, topic, subject);
}

static int check_in_request_ok(fd_ctx *ctx, const Frontdesk__V1__CheckInRequest *req)
{
	if ((req->appointment_id > 0) == (req->walk_in_patient_id > 0))
		return fd_fail(&ctx->status, FD_INVALID_ARGUMENT,
			       "give either an appointment id or a walk-in patient id");
	if (req->appointment_id < 0 || req->walk_in_patient_id < 0)
		return fd_fail(&ctx->status, FD_INVALID_ARGUMENT, "ids are positive");
	if (req->appointment_id && (*req->provider || *req->type || *req->location))
		return fd_fail(&ctx->status, FD_INVALID_ARGUMENT,
			       "provider, type and location are for walk-ins; the appointment has them");
	if (fd_check_text(ctx, "override reason", req->override_reason, 0, 500, 0) != FD_OK)
		return ctx->status.code;
	if (req->override_readiness && !*req->override_reason)
		return fd_fail(&ctx->status, FD_INVALID_ARGUMENT,
			       "an override of readiness needs a reason");
	return FD_OK;
}

static int insert_visit(fd_ctx *ctx, const Frontdesk__V1__CheckInRequest *req,
			const struct arrival *a, const char *gaps, bool has_gaps, int64_t *visit_id)
{
	db_params p;
	PGresult *r;

	dbp_init(&p);
	dbp_int(&p, a->patient_id);
	dbp_text(&p, a->appointment_id ? fd_arena_printf(ctx->arena, "%lld", (long long)a->appointment_id)
				       : NULL);
	dbp_int(&p, a->location_id);
	dbp_text(&p, a->provider_id ? fd_arena_printf(ctx->arena, "%lld", (long long)a->provider_id) : NULL);
	dbp_text(&p, a->type_id ? fd_arena_printf(ctx->arena, "%lld", (long long)a->type_id) : NULL);
	dbp_text(&p, req->arrived_only ? "arrived" : "checked_in");
	dbp_text(&p, a->appointment_id ? fd_arena_printf(ctx->arena, "%d", a->offset_min) : NULL);
	dbp_text(&p, gaps);
	dbp_text(&p, has_gaps ? req->override_reason : NULL);
	dbp_text(&p, a->type_code);
	dbp_int(&p, ctx->session->staff_id);
	dbp_int(&p, ctx->session->desk_id);
	r = db_query(ctx,
		     "INSERT INTO visits (patient_id, appointment_id, location_id, provider_id, type_id,"
		     " status, arrival_offset_min, walk_in, readiness_gaps, override_reason,"
		     " expected_copay_cents, checked_in_by, checked_in_desk)"
		     " VALUES ($1, $2::bigint, $3, $4::bigint, $5::bigint, $6, $7::int, $2::bigint IS NULL, $8, $9,"
		     " expected_copay_cents($1, $10), $11, nullif($12, 0))"
		     " RETURNING id",
		     &p);
	if (!r)
		return ctx->status.code;
	*visit_id = db_int(r, 0, 0);
	PQclear(r);
	return FD_OK;
}

static int64_t balance_of(fd_ctx *ctx, int64_t patient_id, bool *ok)
{
	db_params p;
	PGresult *r;

	dbp_init(&p);
	dbp_int(&p, patient_id);
	r = db_query(ctx, "SELECT coalesce(patient_balance_due($1), 0)", &p);
	*ok = r != NULL;
	int64_t due = r ? db_int(r, 0, 0) : 0;
	PQclear(r);
	return due;
}

int handle_checkin_check_in(fd_ctx *ctx, const ProtobufCMessage *in, ProtobufCMessage **out)
{
	const Frontdesk__V1__CheckInRequest *req = (const void *)in;
	Frontdesk__V1__CheckInReply *rep = fd_arena_alloc(ctx->arena, sizeof *rep);
	struct arrival a = { 0 };
	char **gaps = NULL, *kinds = NULL, *gap_lit;
	size_t n_gaps = 0;
	bool checked = false, ok;
	int64_t visit_id = 0;

	if (!rep)
		return CHECKIN_NOMEM(ctx);
	frontdesk__v1__check_in_reply__init(rep);
	if (check_in_request_ok(ctx, req) != FD_OK)
		return ctx->status.code;
	if (req->appointment_id ? lock_appointment(ctx, req->appointment_id, &a) != FD_OK
				: walk_in(ctx, req, &a) != FD_OK)
		return ctx->status.code;
	if (lock_patient(ctx, a.patient_id) != FD_OK ||
	    (a.appointment_id && already_open(ctx, "v.appointment_id", a.appointment_id) != FD_OK) ||
	    already_open(ctx, "v.patient_id", a.patient_id) != FD_OK)
		return ctx->status.code;
	if (checkin_readiness(ctx, a.patient_id, &gaps, &n_gaps, &kinds, &checked) != FD_OK)
		return ctx->status.code;
	if (n_gaps && !req->override_readiness)
		return fd_fail(&ctx->status, FD_FAILED_PRECONDITION,
			       "not ready for check-in: %s; check in with an override and a reason",
			       kinds);
	if (!(gap_lit = text_array(ctx, gaps, n_gaps)))
		return CHECKIN_NOMEM(ctx);
	if (db_set_reason(ctx, a.appointment_id ? "check-in" : "walk-in") != FD_OK ||
	    insert_visit(ctx, req, &a, gap_lit, n_gaps > 0, &visit_id) != FD_OK)
		return ctx->status.code;
	const char *status = req->arrived_only ? "arrived" : "checked_in";
	fd_ctx_audit(ctx, a.patient_id, fd_arena_printf(ctx->arena, "visit:%lld", (long long)visit_id));
	if (follow_appointment(ctx, a.appointment_id, status) != FD_OK ||
	    announce(ctx, visit_id, status) != FD_OK ||
	    checkin_load_visit(ctx, visit_id, &rep->visit) != FD_OK)
		return ctx->status.code;
	rep->balance_cents = balance_of(ctx, a.patient_id, &ok);
	if (!ok)
		return ctx->status.code;
	rep->readiness_gaps = gaps;
	rep->n_readiness_gaps = n_gaps;
	rep->readiness_checked = checked;
	*out = &rep->base;
	return FD_OK;
}

/* --- status steps ---------------------------------------------------- */

/* The visit, locked for the step. */
struct current_visit {
	int64_t id, patient_id, appointment_id;
	bool has_room, has_provider;
	const char *status;
	char **next;
	size_t n_next;
};

static int lock_visit(fd_ctx *ctx, int64_t id, struct current_visit *c)
{
	db_params p;
	PGresult *r;

	if (id <= 0)
		return fd_fail(&ctx->status, FD_INVALID_ARGUMENT, "give the visit id");
	dbp_init(&p);
	dbp_int(&p, id);
	r = db_query(ctx,
		     "SELECT patient_id, coalesce(appointment_id, 0), room_id IS NOT NULL,"
		     " provider_id IS NOT NULL, status, visit_status_next(status)"
		     " FROM visits WHERE id = $1 FOR UPDATE",
		     &p);
	if (!r)
		return ctx->status.code;
	if (PQntuples(r) != 1) {
		PQclear(r);
		return fd_fail(&ctx->status, FD_NOT_FOUND, "no visit has id %lld", (long long)id);
	}
	c->id = id;
	c->patient_id = db_int(r, 0, 0);
	c->appointment_id = db_int(r, 0, 1);
	c->has_room = db_bool(r, 0, 2);
	c->has_provider = db_bool(r, 0, 3);
	c->status = db_str(ctx->arena, r, 0, 4);
	c->next = db_text_array(ctx->arena, r, 0, 5, &c->n_next);
	PQclear(r);
	fd_ctx_audit(ctx, c->patient_id, fd_arena_printf(ctx->arena, "visit:%lld", (long long)id));
	return FD_OK;
}

static bool allowed(const struct current_visit *c, const char *status)
{
	for (size_t i = 0; i < c->n_next; i++)
		if (strcmp(c->next[i], status) == 0)
			return true;
	return false;
}

/* Refuses a move outside the flow, naming the moves that are allowed. */
static int refuse_move(fd_ctx *ctx, const struct current_visit *c, const char *status)
{
	char list[200] = "";

	for (size_t i = 0; i < c->n_next; i++)
		snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", i ? ", " : "",
			 c->next[i]);
	if (!c->n_next)
		return fd_fail(&ctx->status, FD_FAILED_PRECONDITION,
			       "the visit is closed (%s); it cannot move to %s", c->status, status);
	return fd_fail(&ctx->status, FD_FAILED_PRECONDITION,
		       "a visit that is %s cannot move to %s; allowed: %s", c->status, status, list);
}

/* One step along the flow: checks, the update (the trigger writes the
 * step), the appointment, the event. */
static int step(fd_ctx *ctx, const struct current_visit *c, const char *status, const char *reason)
{
	db_params p;

	if (!allowed(c, status))
		return refuse_move(ctx, c, status);
	if (strcmp(status, "in_room") == 0 && !c->has_room)
		return fd_fail(&ctx->status, FD_FAILED_PRECONDITION,
			       "put the patient in a room first (desk visit room VISIT --room R)");
	if (strcmp(status, "with_provider") == 0 && !c->has_provider)
		return fd_fail(&ctx->status, FD_FAILED_PRECONDITION,
			       "assign a provider first (desk visit room VISIT --room R --provider P)");
	if (strcmp(status, "undone") == 0 && !*reason)
		return fd_fail(&ctx->status, FD_INVALID_ARGUMENT, "undoing a check-in needs a reason");
	dbp_init(&p);
	dbp_int(&p, c->id);
	dbp_text(&p, status);
	if (db_set_reason(ctx, *reason ? reason : status) != FD_OK ||
	    db_exec(ctx, "UPDATE visits SET status = $2 WHERE id = $1", &p) != FD_OK ||
	    (strcmp(status, "undone") == 0
		     ? restore_appointment(ctx, c->appointment_id)
		     : follow_appointment(ctx, c->appointment_id, appointment_status_for(status))) != FD_OK)
		return ctx->status.code;
	return announce(ctx, c->id, status);
}

static bool known_status(const char *s)
{
	for (size_t i = 0; i < sizeof visit_statuses / sizeof visit_statuses[0]; i++)
		if (strcmp(s, visit_statuses[i]) == 0)
			return true;
	return false;
}

int handle_checkin_set_visit_status(fd_ctx *ctx, const ProtobufCMessage *in, ProtobufCMessage **out)
{
	const Frontdesk__V1__SetVisitStatusRequest *req = (const void *)in;
	Frontdesk__V1__VisitReply *rep = fd_arena_alloc(ctx->arena, sizeof *rep);
	struct current_visit c;

	if (!rep)
		return CHECKIN_NOMEM(ctx);
	frontdesk__v1__visit_reply__init(rep);
	if (!known_status(req->status))
		return fd_fail(&ctx->status, FD_INVALID_ARGUMENT,
			       "status is one of arrived, checked_in, in_room, with_provider, checked_out,"
			       " left_without_being_seen, undone");
	if (fd_check_text(ctx, "reason", req->reason, 0, 500, 0) != FD_OK ||
	    lock_visit(ctx, req->visit_id, &c) != FD_OK || step(ctx, &c, req->status, req->reason) != FD_OK ||
	    checkin_load_visit(ctx, c.id, &rep->visit) != FD_OK)
		return ctx->status.code;
	*out = &rep->base;
	return FD_OK;
}

int handle_checkin_check_out(fd_ctx *ctx, const ProtobufCMessage *in, ProtobufCMessage **out)
{
	const Frontdesk__V1__CheckOutRequest *req = (const void *)in;
	Frontdesk__V1__CheckOutReply *rep = fd_arena_alloc(ctx->arena, sizeof *rep);
	struct current_visit c;
	bool ok;

	if (!rep)
		return CHECKIN_NOMEM(ctx);
	frontdesk__v1__check_out_reply__init(rep);
	if (lock_visit(ctx, req->visit_id, &c) != FD_OK || step(ctx, &c, "checked_out", "") != FD_OK ||
	    checkin_load_visit(ctx, c.id, &rep->visit) != FD_OK)
		return ctx->status.code;
	rep->balance_cents = balance_of(ctx, c.patient_id, &ok);
	if (!ok)
		return ctx->status.code;
	*out = &rep->base;
	return FD_OK;
}

/* --- directing ------------------------------------------------------- */

struct room {
	int64_t id, provider_id;
	const char *provider_code;
};

/* The room at the visit's location, free of other patients, and the
 * provider (optional) who works there. */
static int resolve_room(fd_ctx *ctx, const Frontdesk__V1__AssignRoomRequest *req, struct room *room)
{
	db_params p;
	PGresult *r;

	if (sched_check_code(ctx, "room", req->room) != FD_OK ||
	    (*req->provider && sched_check_code(ctx, "provider", req->provider) != FD_OK))
		return ctx->status.code;
	dbp_init(&p);
	dbp_int(&p, req->visit_id);
	dbp_text(&p, req->room);
	dbp_text(&p, req->provider);
	r = db_query(ctx,
		     "SELECT r.id, r.active, r.location_id = v.location_id,"
		     " (SELECT o.id FROM visits o WHERE o.room_id = r.id AND o.id <> v.id"
		     "   AND o.status IN ('in_room', 'with_provider')),"
		     " pr.id, pr.active, EXISTS (SELECT 1 FROM provider_locations pl"
		     "   WHERE pl.provider_id = pr.id AND pl.location_id = v.location_id)"
		     " FROM visits v LEFT JOIN resources r ON r.code = $2"
		     " LEFT JOIN providers pr ON pr.code = $3 WHERE v.id = $1",
		     &p);
	if (!r)
		return ctx->status.code;
	int rc = FD_OK;
	if (PQgetisnull(r, 0, 0))
		rc = fd_fail(&ctx->status, FD_NOT_FOUND, "no room has that code");
	else if (!db_bool(r, 0, 1))
		rc = fd_fail(&ctx->status, FD_FAILED_PRECONDITION, "that room is not in use");
	else if (!db_bool(r, 0, 2))
		rc = fd_fail(&ctx->status, FD_FAILED_PRECONDITION, "that room is at another location");
	else if (!PQgetisnull(r, 0, 3))
		rc = fd_fail(&ctx->status, FD_FAILED_PRECONDITION, "that room is taken by visit %s",
			     PQgetvalue(r, 0, 3));
	else if (*req->provider && PQgetisnull(r, 0, 4))
		rc = fd_fail(&ctx->status, FD_NOT_FOUND, "no provider has that code");
	else if (*req->provider && (!db_bool(r, 0, 5) || !db_bool(r, 0, 6)))
		rc = fd_fail(&ctx->status, FD_FAILED_PRECONDITION,
			     "that provider is not active at this location");
	room->id = db_int(r, 0, 0);
	room->provider_id = db_int(r, 0, 4);
	PQclear(r);
	return rc;
}

/* Tells the provider's station a patient is waiting in a room. */
static int tell_provider(fd_ctx *ctx, int64_t visit_id)
{
	db_params p;

	dbp_init(&p);
	dbp_int(&p, visit_id);
	return db_exec(ctx,
		       "SELECT pg_notify('" DB_EVENT_CHANNEL "', 'provider.patient_in_room' || chr(9)"
		       " || 'provider:' || provider_id) FROM visits WHERE id = $1 AND provider_id IS NOT NULL",
		       &p);
}

int handle_checkin_assign_room(fd_ctx *ctx, const ProtobufCMessage *in, ProtobufCMessage **out)
{
	const Frontdesk__V1__AssignRoomRequest *req = (const void *)in;
	Frontdesk__V1__VisitReply *rep = fd_arena_alloc(ctx->arena, sizeof *rep);
	struct current_visit c;
	struct room room = { 0 };
	db_params p;

	if (!rep)
		return CHECKIN_NOMEM(ctx);
	frontdesk__v1__visit_reply__init(rep);
	if (lock_visit(ctx, req->visit_id, &c) != FD_OK)
		return ctx->status.code;
	bool entering = strcmp(c.status, "checked_in") == 0;
	if (!entering && strcmp(c.status, "in_room") != 0 && strcmp(c.status, "with_provider") != 0)
		return fd_fail(&ctx->status, FD_FAILED_PRECONDITION,
			       "only a checked-in patient can be put in a room; this visit is %s", c.status);
	if (resolve_room(ctx, req, &room) != FD_OK)
		return ctx->status.code;
	dbp_init(&p);
	dbp_int(&p, c.id);
	dbp_int(&p, room.id);
	dbp_int(&p, room.provider_id);
	dbp_text(&p, entering ? "in_room" : c.status);
	if (db_set_reason(ctx, "roomed") != FD_OK ||
	    db_exec(ctx,
		    "UPDATE visits SET room_id = $2, provider_id = coalesce(nullif($3, 0), provider_id),"
		    " status = $4 WHERE id = $1",
		    &p) != FD_OK ||
	    (entering && follow_appointment(ctx, c.appointment_id, "in_room") != FD_OK) ||
	    announce(ctx, c.id, "in_room") != FD_OK || tell_provider(ctx, c.id) != FD_OK ||
	    checkin_load_visit(ctx, c.id, &rep->visit) != FD_OK)
		return ctx->status.code;
	*out = &rep->base;
	return FD_OK;
}

/* --- a visit's page -------------------------------------------------- */

static int load_steps(fd_ctx *ctx, int64_t visit_id, Frontdesk__V1__GetVisitReply *rep)
{
	db_params p;
	PGresult *r;

	dbp_init(&p);
	dbp_int(&p, visit_id);
	r = db_query(ctx,
		     "SELECT (extract(epoch FROM st.at) * 1000)::bigint, local_text(st.at, l.time_zone),"
		     " coalesce(s.username, ''), coalesce(d.code, ''), coalesce(st.from_status, ''),"
		     " st.to_status, coalesce(r.code, ''), coalesce(pr.code, ''), st.reason"
		     " FROM visit_steps st JOIN visits v ON v.id = st.visit_id"
		     " JOIN locations l ON l.id = v.location_id LEFT JOIN staff s ON s.id = st.staff_id"
		     " LEFT JOIN desks d ON d.id = st.desk_id LEFT JOIN resources r ON r.id = st.room_id"
		     " LEFT JOIN providers pr ON pr.id = st.provider_id"
		     " WHERE st.visit_id = $1 ORDER BY st.id",
		     &p);
	if (!r)
		return ctx->status.code;
	int n = PQntuples(r);
	rep->steps = fd_arena_alloc(ctx->arena, (size_t)(n + 1) * sizeof *rep->steps);
	for (int i = 0; rep->steps && i < n; i++) {
		Frontdesk__V1__VisitStep *s = fd_arena_alloc(ctx->arena, sizeof *s);
		if (!s)
			break;
		frontdesk__v1__visit_step__init(s);
		s->at_unix_ms = db_int(r, i, 0);
		s->at_local = db_str(ctx->arena, r, i, 1);
		s->by = db_str(ctx->arena, r, i, 2);
		s->desk = db_str(ctx->arena, r, i, 3);
		s->from_status = db_str(ctx->arena, r, i, 4);
		s->to_status = db_str(ctx->arena, r, i, 5);
		s->room = db_str(ctx->arena, r, i, 6);
		s->provider = db_str(ctx->arena, r, i, 7);
		s->reason = db_str(ctx->arena, r, i, 8);
		rep->steps[rep->n_steps++] = s;
	}
	PQclear(r);
	return rep->n_steps == (size_t)n ? FD_OK : CHECKIN_NOMEM(ctx);
}

static int load_payments(fd_ctx *ctx, int64_t visit_id, Frontdesk__V1__GetVisitReply *rep)
{
	char *sql = fd_arena_printf(ctx->arena, "%s WHERE y.visit_id = $1 ORDER BY y.id",
				    checkin_payment_select);
	db_params p;
	PGresult *r;

	if (!sql)
		return CHECKIN_NOMEM(ctx);
	dbp_init(&p);
	dbp_int(&p, visit_id);
	if (!(r = db_query(ctx, sql, &p)))
		return ctx->status.code;
	int n = PQntuples(r);
	rep->payments = fd_arena_alloc(ctx->arena, (size_t)(n + 1) * sizeof *rep->payments);
	for (int i = 0; rep->payments && i < n; i++) {
		if (!(rep->payments[i] = checkin_payment_from_row(ctx, r, i)))
			break;
		rep->n_payments++;
	}
	PQclear(r);
	return rep->n_payments == (size_t)n ? FD_OK : CHECKIN_NOMEM(ctx);
}

int handle_checkin_get_visit(fd_ctx *ctx, const ProtobufCMessage *in, ProtobufCMessage **out)
{
	const Frontdesk__V1__GetVisitRequest *req = (const void *)in;
	Frontdesk__V1__GetVisitReply *rep = fd_arena_alloc(ctx->arena, sizeof *rep);

	if (!rep)
		return CHECKIN_NOMEM(ctx);
	frontdesk__v1__get_visit_reply__init(rep);
	if (checkin_load_visit(ctx, req->visit_id, &rep->visit) != FD_OK)
		return ctx->status.code;
	fd_ctx_audit(ctx, rep->visit->patient_id,
		     fd_arena_printf(ctx->arena, "visit:%lld", (long long)req->visit_id));
	if (load_steps(ctx, req->visit_id, rep) != FD_OK || load_payments(ctx, req->visit_id, rep) != FD_OK)
		return ctx->status.code;
	*out = &rep->base;
	return FD_OK;
}

/* --- the no-show sweep ----------------------------------------------- */

static bool run_ok(PGconn *conn, const char *sql, int *rows)
{
	PGresult *r = PQexec(conn, sql);
	ExecStatusType st = PQresultStatus(r);
	bool ok = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;

	if (ok && rows)
		*rows = PQntuples(r);
	PQclear(r);
	return ok;
}

int checkin_no_show_run(PGconn *conn)
{
	int marked = 0;

	if (!conn)
		return -1;
	/* Only locations with a checkin_settings row are swept: marking
	 * no-shows is a clinic's choice, switched on by configuring it.
	 * Rows are claimed with SKIP LOCKED, so several servers sweeping at
	 * once never fight, and a desk checking a patient in (which holds the
	 * appointment row) wins over the sweep. */
	if (!run_ok(conn, "BEGIN", NULL))
		return -1;
	if (!run_ok(conn,
		    "SELECT set_config('frontdesk.reason', 'no-show sweep', true)", NULL) ||
	    !run_ok(conn,
		    "WITH due AS ("
		    "  SELECT a.id FROM appointments a JOIN locations l ON l.id = a.location_id"
		    "  JOIN checkin_settings cs ON cs.location_id = a.location_id AND cs.no_show_sweep"
		    "  WHERE a.status IN ('booked', 'confirmed')"
		    "    AND a.starts_at + make_interval(mins => cs.no_show_after_min) < now()"
		    "    AND ((a.starts_at AT TIME ZONE l.time_zone)::date < (now() AT TIME ZONE l.time_zone)::date"
		    "         OR (now() AT TIME ZONE l.time_zone)::time >= cs.no_show_sweep_at)"
		    "    AND NOT EXISTS (SELECT 1 FROM visits v WHERE v.appointment_id = a.id"
		    "                    AND v.status <> 'undone')"
		    "  ORDER BY a.starts_at LIMIT 500 FOR UPDATE OF a SKIP LOCKED)"
		    " UPDATE appointments SET status = 'no_show' FROM due WHERE appointments.id = due.id"
		    " RETURNING pg_notify('" DB_EVENT_CHANNEL "',"
		    "   'appointment.no_show' || chr(9) || 'appointment:' || appointments.id)",
		    &marked) ||
	    !run_ok(conn, "COMMIT", NULL)) {
		run_ok(conn, "ROLLBACK", NULL);
		return -1;
	}
	return marked;
}

void checkin_no_show_tick(PGconn *conn)
{
	(void)checkin_no_show_run(conn);
}
