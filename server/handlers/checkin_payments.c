/*
 * Money at the desk: payments linked to a visit (integer cents; cash, card,
 * or check with its number), receipts with unique numbers rendered as
 * printable text, voids and refunds (billing or admin only, the method
 * table says so, each with a reason), a patient's balance, and the day's
 * ledger per desk and method.
 *
 * Nothing is deleted or edited: a void marks the row (who, when, why) and a
 * refund is a row of its own linked to the payment it returns; a trigger
 * refuses any other change and refunds beyond the payment. The ledger is
 * one GROUPING SETS query over the same rows, so its lines, its per-method
 * and per-desk subtotals and its totals come from one snapshot and add up
 * to the cent.
 */
#include <stdio.h>
#include <string.h>

#include "checkin.h"
#include "scheduling.h"
#include "validate.h"

#define MAX_AMOUNT_CENTS 10000000 /* $100,000.00: more is a typing error */

static int check_amount(fd_ctx *ctx, int64_t cents, bool zero_ok)
{
	if (cents < 0 || (cents == 0 && !zero_ok) || cents > MAX_AMOUNT_CENTS)
		return fd_fail(&ctx->status, FD_INVALID_ARGUMENT,
			       "the amount must be between 0.01 and 100000.00");
	return FD_OK;
}

static int check_method(fd_ctx *ctx, const char *method, const char *check_number)
{
	size_t n = strlen(check_number);

	if (strcmp(method, "cash") != 0 && strcmp(method, "card") != 0 && strcmp(method, "check") != 0)
		return fd_fail(&ctx->status, FD_INVALID_ARGUMENT, "method is cash, card or check");
	if ((strcmp(method, "check") == 0) != (n > 0))
		return fd_fail(&ctx->status, FD_INVALID_ARGUMENT,
			       n ? "only a check has a check number"
				 : "a check payment needs the check number");
	if (n > 20 || strspn(check_number, "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
					   "abcdefghijklmnopqrstuvwxyz-") != n)
		return fd_fail(&ctx->status, FD_INVALID_ARGUMENT,
			       "a check number is 1-20 letters, digits or '-'");
	return FD_OK;
}

/* The receipt as plain text, one line each; printed by the desk through
 * its escaping like any text from the server. */
static char *receipt_text(fd_ctx *ctx, const Frontdesk__V1__Payment *y, const char *clinic,
			  const char *zone, const char *patient)
{
	char *t = fd_arena_printf(ctx->arena,
				  "%s\n"
				  "Receipt %s\n"
				  "Date: %s (%s)\n"
				  "Patient: %s (#%lld)\n"
				  "Visit: %lld\n"
				  "%s: %s %s\n",
				  clinic, y->receipt_number, y->received_local, zone, patient,
				  (long long)y->patient_id, (long long)y->visit_id,
				  strcmp(y->kind, "refund") == 0 ? "Refund" : "Payment", y->method,
				  checkin_money(ctx, y->amount_cents));
	if (t && *y->check_number)
		t = fd_arena_printf(ctx->arena, "%sCheck number: %s\n", t, y->check_number);
	if (t && y->refund_of)
		t = fd_arena_printf(ctx->arena, "%sRefund of payment %lld: %s\n", t,
				    (long long)y->refund_of, y->reason);
	if (t)
		t = fd_arena_printf(ctx->arena, "%sReceived by: %s%s%s\n", t, y->received_by,
				    *y->desk ? " at desk " : "", y->desk);
	if (t && y->voided)
		t = fd_arena_printf(ctx->arena, "%sVOIDED by %s: %s\n", t, y->voided_by, y->void_reason);
	return t;
}

/* The payment as a message, with its receipt text and the patient's
 * balance. */
static int payment_reply(fd_ctx *ctx, int64_t payment_id, Frontdesk__V1__PaymentReply *rep)
{
	char *sql = fd_arena_printf(ctx->arena, "%s WHERE y.id = $1", checkin_payment_select);
	char *patient, *clinic, *zone;
	db_params p;
	PGresult *r;

	if (!sql)
		return CHECKIN_NOMEM(ctx);
	dbp_init(&p);
	dbp_int(&p, payment_id);
	if (!(r = db_query(ctx, sql, &p)))
		return ctx->status.code;
	if (PQntuples(r) != 1) {
		PQclear(r);
		return fd_fail(&ctx->status, FD_NOT_FOUND, "no payment has that id or receipt number");
	}
	rep->payment = checkin_payment_from_row(ctx, r, 0);
	PQclear(r);
	if (!rep->payment)
		return CHECKIN_NOMEM(ctx);
	fd_ctx_audit(ctx, rep->payment->patient_id,
		     fd_arena_printf(ctx->arena, "payment:%lld", (long long)payment_id));
	r = db_query(ctx,
		     "SELECT pa.family_name || ', ' || pa.given_name, coalesce(patient_balance_due(pa.id), 0),"
		     " l.name, l.time_zone FROM payments y JOIN patients pa ON pa.id = y.patient_id"
		     " JOIN visits v ON v.id = y.visit_id JOIN locations l ON l.id = v.location_id"
		     " WHERE y.id = $1",
		     &p);
	if (!r)
		return ctx->status.code;
	patient = db_str(ctx->arena, r, 0, 0);
	rep->balance_cents = db_int(r, 0, 1);
	clinic = db_str(ctx->arena, r, 0, 2);
	zone = db_str(ctx->arena, r, 0, 3);
	PQclear(r);
	if (!(rep->receipt_text = receipt_text(ctx, rep->payment, clinic, zone, patient)))
		return CHECKIN_NOMEM(ctx);
	return FD_OK;
}

int handle_checkin_take_payment(fd_ctx *ctx, const ProtobufCMessage *in, ProtobufCMessage **out)
{
	const Frontdesk__V1__TakePaymentRequest *req = (const void *)in;
	Frontdesk__V1__PaymentReply *rep = fd_arena_alloc(ctx->arena, sizeof *rep);
	db_params p;
	PGresult *r;

	if (!rep)
		return CHECKIN_NOMEM(ctx);
	frontdesk__v1__payment_reply__init(rep);
	if (check_amount(ctx, req->amount_cents, false) != FD_OK ||
	    check_method(ctx, req->method, req->check_number) != FD_OK ||
	    fd_check_text(ctx, "note", req->note, 0, 200, 0) != FD_OK)
		return ctx->status.code;
	dbp_init(&p);
	dbp_int(&p, req->visit_id);
	r = db_query(ctx, "SELECT patient_id, status FROM visits WHERE id = $1 FOR SHARE", &p);
	if (!r)
		return ctx->status.code;
	if (PQntuples(r) != 1) {
		PQclear(r);
		return fd_fail(&ctx->status, FD_NOT_FOUND, "no visit has id %lld", (long long)req->visit_id);
	}
	int64_t patient_id = db_int(r, 0, 0);
	bool undone = strcmp(PQgetvalue(r, 0, 1), "undone") == 0;
	PQclear(r);
	fd_ctx_audit(ctx, patient_id, fd_arena_printf(ctx->arena, "visit:%lld", (long long)req->visit_id));
	if (undone)
		return fd_fail(&ctx->status, FD_FAILED_PRECONDITION,
			       "that check-in was undone; take the payment on the patient's current visit");
	dbp_init(&p);
	dbp_int(&p, req->visit_id);
	dbp_int(&p, patient_id);
	dbp_int(&p, req->amount_cents);
	dbp_text(&p, req->method);
	dbp_text_or_null(&p, req->check_number);
	dbp_text(&p, req->note);
	dbp_int(&p, ctx->session->staff_id);
	dbp_int(&p, ctx->session->desk_id);
	r = db_query(ctx,
		     "INSERT INTO payments (visit_id, patient_id, amount_cents, method, check_number, note,"
		     " received_by, desk_id) VALUES ($1, $2, $3, $4, $5, $6, $7, nullif($8, 0)) RETURNING id",
		     &p);
	if (!r)
		return ctx->status.code;
	int64_t id = db_int(r, 0, 0);
	PQclear(r);
	if (payment_reply(ctx, id, rep) != FD_OK ||
	    db_notify(ctx, "payment.taken", fd_arena_printf(ctx->arena, "payment:%lld", (long long)id)) != FD_OK)
		return ctx->status.code;
	*out = &rep->base;
	return FD_OK;
}

/* The payment, locked, for a void or a refund. */
struct held_payment {
	int64_t patient_id, amount, refunded;
	bool voided, is_refund;
};

static int lock_payment(fd_ctx *ctx, int64_t id, struct held_payment *h)
{
	db_params p;
	PGresult *r;

	dbp_init(&p);
	dbp_int(&p, id);
	r = db_query(ctx,
		     "SELECT patient_id, amount_cents, voided_at IS NOT NULL, kind = 'refund'"
		     " FROM payments y WHERE id = $1 FOR UPDATE",
		     &p);
	if (!r)
		return ctx->status.code;
	if (PQntuples(r) != 1) {
		PQclear(r);
		return fd_fail(&ctx->status, FD_NOT_FOUND, "no payment has id %lld", (long long)id);
	}
	h->patient_id = db_int(r, 0, 0);
	h->amount = db_int(r, 0, 1);
	h->voided = db_bool(r, 0, 2);
	h->is_refund = db_bool(r, 0, 3);
	PQclear(r);
	/* Summed in a statement of its own, after the lock: the locking
	 * statement's snapshot predates refunds committed while it waited, so
	 * two desks refunding at once would both see the old sum
	 * (tests/e2e/test_faults_races.c). */
	dbp_init(&p);
	dbp_int(&p, id);
	r = db_query(ctx,
		     "SELECT coalesce(sum(amount_cents), 0) FROM payments"
		     " WHERE refund_of = $1 AND voided_at IS NULL",
		     &p);
	if (!r)
		return ctx->status.code;
	h->refunded = db_int(r, 0, 0);
	PQclear(r);
	fd_ctx_audit(ctx, h->patient_id, fd_arena_printf(ctx->arena, "payment:%lld", (long long)id));
	return FD_OK;
}

int handle_checkin_void_payment(fd_ctx *ctx, const ProtobufCMessage *in, ProtobufCMessage **out)
{
	const Frontdesk__V1__VoidPaymentRequest *req = (const void *)in;
	Frontdesk__V1__PaymentReply *rep = fd_arena_alloc(ctx->arena, sizeof *rep);
	struct held_payment h;
	db_params p;

	if (!rep)
		return CHECKIN_NOMEM(ctx);
	frontdesk__v1__payment_reply__init(rep);
	if (fd_check_text(ctx, "reason", req->reason, 1, 500, 0) != FD_OK ||
	    lock_payment(ctx, req->payment_id, &h) != FD_OK)
		return ctx->status.code;
	if (h.voided)
		return fd_fail(&ctx->status, FD_FAILED_PRECONDITION, "that payment is already voided");
	if (h.refunded)
		return fd_fail(&ctx->status, FD_FAILED_PRECONDITION,
			       "that payment has refunds; void the refunds first");
	dbp_init(&p);
	dbp_int(&p, req->payment_id);
	dbp_int(&p, ctx->session->staff_id);
	dbp_text(&p, req->reason);
	if (db_exec(ctx,
		    "UPDATE payments SET voided_at = now(), voided_by = $2, void_reason = $3 WHERE id = $1",
		    &p) != FD_OK ||
	    payment_reply(ctx, req->payment_id, rep) != FD_OK ||
	    db_notify(ctx, "payment.voided",
		      fd_arena_printf(ctx->arena, "payment:%lld", (long long)req->payment_id)) != FD_OK)
		return ctx->status.code;
	*out = &rep->base;
	return FD_OK;
}

int handle_checkin_refund_payment(fd_ctx *ctx, const ProtobufCMessage *in, ProtobufCMessage **out)
{
	const Frontdesk__V1__RefundPaymentRequest *req = (const void *)in;
	Frontdesk__V1__PaymentReply *rep = fd_arena_alloc(ctx->arena, sizeof *rep);
	struct held_payment h;
	db_params p;
	PGresult *r;

	if (!rep)
		return CHECKIN_NOMEM(ctx);
	frontdesk__v1__payment_reply__init(rep);
	if (check_amount(ctx, req->amount_cents, true) != FD_OK ||
	    fd_check_text(ctx, "reason", req->reason, 1, 500, 0) != FD_OK ||
	    lock_payment(ctx, req->payment_id, &h) != FD_OK)
		return ctx->status.code;
	if (h.is_refund || h.voided)
		return fd_fail(&ctx->status, FD_FAILED_PRECONDITION,
			       "only a payment that is not voided can be refunded");
	int64_t left = h.amount - h.refunded, amount = req->amount_cents ? req->amount_cents : left;
	if (left <= 0)
		return fd_fail(&ctx->status, FD_FAILED_PRECONDITION, "that payment is fully refunded");
	if (amount > left)
		return fd_fail(&ctx->status, FD_FAILED_PRECONDITION, "at most %s can be refunded",
			       checkin_money(ctx, left));
	dbp_init(&p);
	dbp_int(&p, req->payment_id);
	dbp_int(&p, amount);
	dbp_text(&p, req->reason);
	dbp_int(&p, ctx->session->staff_id);
	dbp_int(&p, ctx->session->desk_id);
	r = db_query(ctx,
		     "INSERT INTO payments (visit_id, patient_id, kind, refund_of, amount_cents, method,"
		     " check_number, reason, received_by, desk_id)"
		     " SELECT visit_id, patient_id, 'refund', id, $2, method, check_number, $3, $4,"
		     " nullif($5, 0) FROM payments WHERE id = $1 RETURNING id",
		     &p);
	if (!r)
		return ctx->status.code;
	int64_t id = db_int(r, 0, 0);
	PQclear(r);
	if (payment_reply(ctx, id, rep) != FD_OK ||
	    db_notify(ctx, "payment.refunded", fd_arena_printf(ctx->arena, "payment:%lld", (long long)id)) != FD_OK)
		return ctx->status.code;
	*out = &rep->base;
	return FD_OK;
}

int handle_checkin_get_receipt(fd_ctx *ctx, const ProtobufCMessage *in, ProtobufCMessage **out)
{
	const Frontdesk__V1__GetReceiptRequest *req = (const void *)in;
	Frontdesk__V1__PaymentReply *rep = fd_arena_alloc(ctx->arena, sizeof *rep);
	int64_t id = req->payment_id;
	db_params p;
	PGresult *r;

	if (!rep)
		return CHECKIN_NOMEM(ctx);
	frontdesk__v1__payment_reply__init(rep);
	if ((id > 0) == (*req->receipt_number != 0))
		return fd_fail(&ctx->status, FD_INVALID_ARGUMENT, "give a payment id or a receipt number");
	if (!id) {
		if (fd_check_text(ctx, "receipt number", req->receipt_number, 1, 32, 0) != FD_OK)
			return ctx->status.code;
		dbp_init(&p);
		dbp_text(&p, req->receipt_number);
		if (!(r = db_query(ctx, "SELECT id FROM payments WHERE receipt_number = $1", &p)))
			return ctx->status.code;
		id = PQntuples(r) == 1 ? db_int(r, 0, 0) : 0;
		PQclear(r);
	}
	if (payment_reply(ctx, id, rep) != FD_OK)
		return ctx->status.code;
	*out = &rep->base;
	return FD_OK;
}

int checkin_patient_balance(fd_ctx *ctx, int64_t patient_id, Frontdesk__V1__PatientBalanceReply *rep)
{
	db_params p;
	PGresult *r;

	dbp_init(&p);
	dbp_int(&p, patient_id);
	r = db_query(ctx,
		     "SELECT (SELECT coalesce(sum(expected_copay_cents), 0) FROM visits"
		     "         WHERE patient_id = pa.id AND status <> 'undone'),"
		     " (SELECT coalesce(sum(amount_cents), 0) FROM payments"
		     "   WHERE patient_id = pa.id AND kind = 'payment' AND voided_at IS NULL),"
		     " (SELECT coalesce(sum(amount_cents), 0) FROM payments"
		     "   WHERE patient_id = pa.id AND kind = 'refund' AND voided_at IS NULL),"
		     " coalesce(patient_balance_due(pa.id), 0)"
		     " FROM patients pa WHERE pa.id = $1",
		     &p);
	if (!r)
		return ctx->status.code;
	if (PQntuples(r) != 1) {
		PQclear(r);
		return fd_fail(&ctx->status, FD_NOT_FOUND, "no patient has id %lld", (long long)patient_id);
	}
	rep->patient_id = patient_id;
	rep->charges_cents = db_int(r, 0, 0);
	rep->paid_cents = db_int(r, 0, 1);
	rep->refunded_cents = db_int(r, 0, 2);
	rep->balance_cents = db_int(r, 0, 3);
	PQclear(r);
	return FD_OK;
}

int handle_checkin_patient_balance(fd_ctx *ctx, const ProtobufCMessage *in, ProtobufCMessage **out)
{
	const Frontdesk__V1__PatientBalanceRequest *req = (const void *)in;
	Frontdesk__V1__PatientBalanceReply *rep = fd_arena_alloc(ctx->arena, sizeof *rep);

	if (!rep)
		return CHECKIN_NOMEM(ctx);
	frontdesk__v1__patient_balance_reply__init(rep);
	fd_ctx_audit(ctx, req->patient_id > 0 ? req->patient_id : 0,
		     fd_arena_printf(ctx->arena, "patient:%lld", (long long)req->patient_id));
	if (checkin_patient_balance(ctx, req->patient_id, rep) != FD_OK)
		return ctx->status.code;
	*out = &rep->base;
	return FD_OK;
}

/* --- the day's ledger ------------------------------------------------ */

static Frontdesk__V1__LedgerLine *ledger_line(fd_ctx *ctx, const PGresult *r, int row)
{
	Frontdesk__V1__LedgerLine *l = fd_arena_alloc(ctx->arena, sizeof *l);

	if (!l)
		return NULL;
	frontdesk__v1__ledger_line__init(l);
	l->desk = db_str(ctx->arena, r, row, 1);
	l->method = db_str(ctx->arena, r, row, 2);
	l->payments = (int32_t)db_int(r, row, 3);
	l->paid_cents = db_int(r, row, 4);
	l->refunds = (int32_t)db_int(r, row, 5);
	l->refunded_cents = db_int(r, row, 6);
	l->voided = (int32_t)db_int(r, row, 7);
	l->voided_cents = db_int(r, row, 8);
	l->net_cents = l->paid_cents - l->refunded_cents;
	return l;
}

static int add_line(fd_ctx *ctx, Frontdesk__V1__LedgerLine ***list, size_t *n, size_t cap,
		    Frontdesk__V1__LedgerLine *l)
{
	if (!*list && !(*list = fd_arena_alloc(ctx->arena, cap * sizeof **list)))
		return CHECKIN_NOMEM(ctx);
	(*list)[(*n)++] = l;
	return FD_OK;
}

int handle_checkin_ledger(fd_ctx *ctx, const ProtobufCMessage *in, ProtobufCMessage **out)
{
	const Frontdesk__V1__LedgerRequest *req = (const void *)in;
	Frontdesk__V1__LedgerReply *rep = fd_arena_alloc(ctx->arena, sizeof *rep);
	int64_t location_id;
	db_params p;
	PGresult *r;

	if (!rep)
		return CHECKIN_NOMEM(ctx);
	frontdesk__v1__ledger_reply__init(rep);
	if ((*req->date && fd_check_date(ctx, "date", req->date) != FD_OK) ||
	    checkin_resolve_location(ctx, req->location, &location_id, NULL) != FD_OK)
		return ctx->status.code;
	dbp_init(&p);
	dbp_int(&p, location_id);
	dbp_text(&p, req->date);
	/* grouping(...) is 0 for a grouped column: 0 both → a line, 1 on the
	 * desk → per method, 1 on the method → per desk, 3 → the total. */
	r = db_query(ctx,
		     "WITH day AS (SELECT l.code, coalesce(nullif($2, '')::date,"
		     "   (now() AT TIME ZONE l.time_zone)::date) AS d, l.time_zone FROM locations l"
		     "   WHERE l.id = $1),"
		     " rows AS (SELECT coalesce(dk.code, '(none)') AS desk, y.method, y.kind,"
		     "   y.amount_cents, y.voided_at IS NOT NULL AS voided"
		     "   FROM payments y JOIN visits v ON v.id = y.visit_id CROSS JOIN day"
		     "   LEFT JOIN desks dk ON dk.id = y.desk_id"
		     "   WHERE v.location_id = $1"
		     "     AND (y.received_at AT TIME ZONE day.time_zone)::date = day.d)"
		     " SELECT grouping(desk) * 2 + grouping(method), coalesce(desk, ''), coalesce(method, ''),"
		     "  count(*) FILTER (WHERE kind = 'payment' AND NOT voided),"
		     "  coalesce(sum(amount_cents) FILTER (WHERE kind = 'payment' AND NOT voided), 0),"
		     "  count(*) FILTER (WHERE kind = 'refund' AND NOT voided),"
		     "  coalesce(sum(amount_cents) FILTER (WHERE kind = 'refund' AND NOT voided), 0),"
		     "  count(*) FILTER (WHERE voided), coalesce(sum(amount_cents) FILTER (WHERE voided), 0)"
		     " FROM rows GROUP BY GROUPING SETS ((desk, method), (method), (desk), ())"
		     " ORDER BY 1, 2, 3",
		     &p);
	if (!r)
		return ctx->status.code;
	int n = PQntuples(r), rc = FD_OK;
	size_t cap = (size_t)n + 1;
	for (int i = 0; i < n && rc == FD_OK; i++) {
		Frontdesk__V1__LedgerLine *l = ledger_line(ctx, r, i);
		if (!l) {
			rc = CHECKIN_NOMEM(ctx);
			break;
		}
		switch (db_int(r, i, 0)) {
		case 0:
			rc = add_line(ctx, &rep->lines, &rep->n_lines, cap, l);
			break;
		case 2:
			rc = add_line(ctx, &rep->by_method, &rep->n_by_method, cap, l);
			break;
		case 1:
			rc = add_line(ctx, &rep->by_desk, &rep->n_by_desk, cap, l);
			break;
		default:
			rep->paid_cents = l->paid_cents;
			rep->refunded_cents = l->refunded_cents;
			rep->voided_cents = l->voided_cents;
			rep->net_cents = l->net_cents;
		}
	}
	PQclear(r);
	if (rc != FD_OK)
		return rc;
	/* With no payments the grand-total row still names the day. */
	dbp_init(&p);
	dbp_int(&p, location_id);
	dbp_text(&p, req->date);
	r = db_query(ctx,
		     "SELECT l.code, coalesce(nullif($2, '')::date, (now() AT TIME ZONE l.time_zone)::date)::text"
		     " FROM locations l WHERE l.id = $1",
		     &p);
	if (!r)
		return ctx->status.code;
	rep->location = db_str(ctx->arena, r, 0, 0);
	rep->date = db_str(ctx->arena, r, 0, 1);
	PQclear(r);
	*out = &rep->base;
	return FD_OK;
}
