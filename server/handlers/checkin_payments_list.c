/*
 * One patient's money at the desk: ListPayments answers the record's
 * Payments tab and `desk payment list` with the patient's payments and
 * refunds, newest first, each naming its visit and receipt number, and the
 * balance as PatientBalance gives it, so the tab's total and its rows come
 * from the same transaction.
 *
 * The day of a payment is its local day at the visit's location (what the
 * receipt prints), so a range asks what the desk sees on paper. A range is
 * at most 366 days and a reply at most LIST_PAYMENTS_MAX rows (flagged as
 * truncated), so one call never drags a long history over the wire.
 */
#include <stdio.h>
#include <string.h>

#include "checkin.h"
#include "validate.h"

#define LIST_PAYMENTS_MAX 500
#define LIST_PAYMENTS_MAX_DAYS 366

/* Days since 1970-01-01 of a date fd_check_date accepted (Howard
 * Hinnant's days_from_civil), so the range is measured without a call to
 * the database. */
static long days_from_date(const char *s)
{
	int y, m, d;

	if (sscanf(s, "%4d-%2d-%2d", &y, &m, &d) != 3)
		return 0;
	y -= m <= 2;
	long era = (y >= 0 ? y : y - 399) / 400;
	long yoe = y - era * 400;
	long doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static int check_range(fd_ctx *ctx, const char *from, const char *to)
{
	if ((*from && fd_check_date(ctx, "from date", from) != FD_OK) ||
	    (*to && fd_check_date(ctx, "to date", to) != FD_OK))
		return ctx->status.code;
	if (!*from || !*to)
		return FD_OK;
	long span = days_from_date(to) - days_from_date(from);
	if (span < 0)
		return fd_fail(&ctx->status, FD_INVALID_ARGUMENT, "the from date is after the to date");
	if (span >= LIST_PAYMENTS_MAX_DAYS)
		return fd_fail(&ctx->status, FD_INVALID_ARGUMENT, "a range spans at most %d days",
			       LIST_PAYMENTS_MAX_DAYS);
	return FD_OK;
}

/* The rows, newest first; one more than the cap is asked for so the
 * reply can say whether rows were left out. */
static int load_payments(fd_ctx *ctx, const Frontdesk__V1__ListPaymentsRequest *req,
			 Frontdesk__V1__ListPaymentsReply *rep)
{
	char *sql = fd_arena_printf(
		ctx->arena,
		"%s WHERE y.patient_id = $1"
		" AND (nullif($2, '')::date IS NULL"
		"      OR (y.received_at AT TIME ZONE l.time_zone)::date >= nullif($2, '')::date)"
		" AND (nullif($3, '')::date IS NULL"
		"      OR (y.received_at AT TIME ZONE l.time_zone)::date <= nullif($3, '')::date)"
		" AND ($4 OR y.voided_at IS NULL)"
		" ORDER BY y.received_at DESC, y.id DESC LIMIT %d",
		checkin_payment_select, LIST_PAYMENTS_MAX + 1);
	db_params p;
	PGresult *r;

	if (!sql)
		return CHECKIN_NOMEM(ctx);
	dbp_init(&p);
	dbp_int(&p, req->patient_id);
	dbp_text(&p, req->from_date);
	dbp_text(&p, req->to_date);
	dbp_bool(&p, req->include_voided);
	if (!(r = db_query(ctx, sql, &p)))
		return ctx->status.code;
	size_t n = (size_t)PQntuples(r);
	rep->truncated = n > LIST_PAYMENTS_MAX;
	if (rep->truncated)
		n = LIST_PAYMENTS_MAX;
	if (n && !(rep->payments = fd_arena_alloc(ctx->arena, n * sizeof *rep->payments))) {
		PQclear(r);
		return CHECKIN_NOMEM(ctx);
	}
	for (size_t i = 0; i < n; i++) {
		if (!(rep->payments[i] = checkin_payment_from_row(ctx, r, (int)i))) {
			PQclear(r);
			return CHECKIN_NOMEM(ctx);
		}
		rep->n_payments++;
	}
	PQclear(r);
	return FD_OK;
}

int handle_checkin_list_payments(fd_ctx *ctx, const ProtobufCMessage *in, ProtobufCMessage **out)
{
	const Frontdesk__V1__ListPaymentsRequest *req = (const void *)in;
	Frontdesk__V1__ListPaymentsReply *rep = fd_arena_alloc(ctx->arena, sizeof *rep);
	Frontdesk__V1__PatientBalanceReply *balance = fd_arena_alloc(ctx->arena, sizeof *balance);

	if (!rep || !balance)
		return CHECKIN_NOMEM(ctx);
	frontdesk__v1__list_payments_reply__init(rep);
	frontdesk__v1__patient_balance_reply__init(balance);
	if (req->patient_id <= 0)
		return fd_fail(&ctx->status, FD_INVALID_ARGUMENT, "give the patient's id");
	if (check_range(ctx, req->from_date, req->to_date) != FD_OK)
		return ctx->status.code;
	fd_ctx_audit(ctx, req->patient_id,
		     fd_arena_printf(ctx->arena, "patient:%lld", (long long)req->patient_id));
	/* The balance first: it is also what says NOT_FOUND for an unknown
	 * patient, before any row is read. */
	if (checkin_patient_balance(ctx, req->patient_id, balance) != FD_OK ||
	    load_payments(ctx, req, rep) != FD_OK)
		return ctx->status.code;
	rep->patient_id = req->patient_id;
	rep->balance = balance;
	*out = &rep->base;
	return FD_OK;
}
