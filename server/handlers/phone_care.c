/*
 * Care teams for the phones: providers who share nurses, and the team's
 * nurse line (a queue). A routing rule with the condition
 * 'caller_care_team' and the action 'care_team_queue' sends a patient of
 * one of the team's providers there (the provider is the one of the
 * patient's next appointment, else of their latest: 0006's
 * phone_care_team_of_caller). Teams hold configuration only, no history:
 * removing one removes its provider links with it.
 */
#include <stdio.h>
#include <string.h>

#include "phone.h"
#include "validate.h"

int handle_phone_save_care_team(fd_ctx *ctx, const ProtobufCMessage *in, ProtobufCMessage **out);
int handle_phone_delete_care_team(fd_ctx *ctx, const ProtobufCMessage *in, ProtobufCMessage **out);
int handle_phone_set_care_team_provider(fd_ctx *ctx, const ProtobufCMessage *in, ProtobufCMessage **out);
int handle_phone_list_care_teams(fd_ctx *ctx, const ProtobufCMessage *in, ProtobufCMessage **out);

/* Loads one team (by id) or all (id 0), each with its provider codes. */
static int load_teams(fd_ctx *ctx, int64_t id, Frontdesk__V1__PhoneCareTeam ***teams, size_t *n)
{
	db_params p;
	PGresult *r;

	dbp_init(&p);
	dbp_int(&p, id);
	if (!(r = db_query(ctx,
			   "SELECT t.id, t.code, t.name, coalesce(q.code, ''),"
			   " coalesce((SELECT array_agg(pr.code ORDER BY pr.code) FROM phone_care_team_providers tp"
			   "  JOIN providers pr ON pr.id = tp.provider_id WHERE tp.team_id = t.id), '{}')"
			   " FROM phone_care_teams t LEFT JOIN phone_queues q ON q.id = t.nurse_queue_id"
			   " WHERE $1::bigint = 0 OR t.id = $1 ORDER BY t.code",
			   &p)))
		return ctx->status.code;
	*n = (size_t)PQntuples(r);
	*teams = fd_arena_alloc(ctx->arena, (*n + 1) * sizeof **teams);
	for (size_t i = 0; *teams && i < *n; i++) {
		Frontdesk__V1__PhoneCareTeam *t = fd_arena_alloc(ctx->arena, sizeof *t);
		int row = (int)i;

		if (!t) {
			*teams = NULL;
			break;
		}
		frontdesk__v1__phone_care_team__init(t);
		t->id = db_int(r, row, 0);
		t->code = db_str(ctx->arena, r, row, 1);
		t->name = db_str(ctx->arena, r, row, 2);
		t->nurse_queue = db_str(ctx->arena, r, row, 3);
		/* NULL for an empty array ("{}"), which is no failure. */
		t->providers = db_text_array(ctx->arena, r, row, 4, &t->n_providers);
		if (!t->providers && strcmp(PQgetvalue(r, row, 4), "{}") != 0)
			*teams = NULL;
		else
			(*teams)[i] = t;
	}
	PQclear(r);
	return *teams ? FD_OK : PHONE_NOMEM(ctx);
}

static int load_team(fd_ctx *ctx, int64_t id, Frontdesk__V1__PhoneCareTeam **team)
{
	Frontdesk__V1__PhoneCareTeam **teams;
	size_t n;

	if (load_teams(ctx, id, &teams, &n) != FD_OK)
		return ctx->status.code;
	if (n != 1)
		return fd_fail(&ctx->status, FD_NOT_FOUND, "no care team has that code");
	*team = teams[0];
	return FD_OK;
}

static int team_id(fd_ctx *ctx, const char *code, int64_t *id)
{
	db_params p;
	PGresult *r;

	if (fd_check_code(ctx, "the care team", code) != FD_OK)
		return ctx->status.code;
	dbp_init(&p);
	dbp_text(&p, code);
	if (!(r = db_query(ctx, "SELECT id FROM phone_care_teams WHERE code = $1", &p)))
		return ctx->status.code;
	*id = PQntuples(r) ? db_int(r, 0, 0) : 0;
	PQclear(r);
	if (!*id)
		return fd_fail(&ctx->status, FD_NOT_FOUND, "no care team has that code");
	return FD_OK;
}

static int team_changed(fd_ctx *ctx, int64_t id)
{
	char *subject = fd_arena_printf(ctx->arena, "care_team:%lld", (long long)id);

	fd_ctx_audit(ctx, 0, subject);
	return db_notify(ctx, "phone.care_team", subject);
}

int handle_phone_save_care_team(fd_ctx *ctx, const ProtobufCMessage *in, ProtobufCMessage **out)
{
	const Frontdesk__V1__PhoneSaveCareTeamRequest *req = (const void *)in;
	Frontdesk__V1__PhoneSaveCareTeamReply *rep = fd_arena_alloc(ctx->arena, sizeof *rep);
	int64_t queue = 0;
	db_params p;
	PGresult *r;

	if (!rep)
		return PHONE_NOMEM(ctx);
	if (fd_check_code(ctx, "the care team code", req->code) != FD_OK ||
	    (*req->name && fd_check_text(ctx, "the care team name", req->name, 1, 200, 0) != FD_OK))
		return ctx->status.code;
	if (req->no_nurse_queue && *req->nurse_queue)
		return fd_fail(&ctx->status, FD_INVALID_ARGUMENT,
			       "give a nurse line queue or remove it, not both");
	if (*req->nurse_queue && phone_queue_id(ctx, req->nurse_queue, &queue) != FD_OK)
		return ctx->status.code;
	dbp_init(&p);
	dbp_text(&p, req->code);
	dbp_text_or_null(&p, req->name);
	dbp_int(&p, queue);
	dbp_bool(&p, req->no_nurse_queue);
	if (!(r = db_query(ctx,
			   "INSERT INTO phone_care_teams AS t (code, name, nurse_queue_id)"
			   " VALUES ($1, coalesce($2, $1), nullif($3, 0))"
			   " ON CONFLICT (code) DO UPDATE SET name = coalesce($2, t.name),"
			   "  nurse_queue_id = CASE WHEN $4 THEN NULL"
			   "   ELSE coalesce(nullif($3, 0), t.nurse_queue_id) END"
			   " RETURNING id",
			   &p)))
		return ctx->status.code;
	int64_t id = db_int(r, 0, 0);
	PQclear(r);
	frontdesk__v1__phone_save_care_team_reply__init(rep);
	if (load_team(ctx, id, &rep->team) != FD_OK || team_changed(ctx, id) != FD_OK)
		return ctx->status.code;
	*out = &rep->base;
	return FD_OK;
}

int handle_phone_delete_care_team(fd_ctx *ctx, const ProtobufCMessage *in, ProtobufCMessage **out)
{
	const Frontdesk__V1__PhoneDeleteCareTeamRequest *req = (const void *)in;
	Frontdesk__V1__PhoneDeleteCareTeamReply *rep = fd_arena_alloc(ctx->arena, sizeof *rep);
	int64_t id;
	db_params p;

	if (!rep)
		return PHONE_NOMEM(ctx);
	if (team_id(ctx, req->code, &id) != FD_OK)
		return ctx->status.code;
	dbp_init(&p);
	dbp_int(&p, id);
	if (db_exec(ctx, "DELETE FROM phone_care_team_providers WHERE team_id = $1", &p) != FD_OK ||
	    db_exec(ctx, "DELETE FROM phone_care_teams WHERE id = $1", &p) != FD_OK ||
	    team_changed(ctx, id) != FD_OK)
		return ctx->status.code;
	frontdesk__v1__phone_delete_care_team_reply__init(rep);
	*out = &rep->base;
	return FD_OK;
}

/* Puts a provider on a team (moving them from another) or takes them off. */
int handle_phone_set_care_team_provider(fd_ctx *ctx, const ProtobufCMessage *in, ProtobufCMessage **out)
{
	const Frontdesk__V1__PhoneSetCareTeamProviderRequest *req = (const void *)in;
	Frontdesk__V1__PhoneSetCareTeamProviderReply *rep = fd_arena_alloc(ctx->arena, sizeof *rep);
	int64_t team, provider;
	db_params p;
	PGresult *r;

	if (!rep)
		return PHONE_NOMEM(ctx);
	if (team_id(ctx, req->team, &team) != FD_OK)
		return ctx->status.code;
	if (!*req->provider)
		return fd_fail(&ctx->status, FD_INVALID_ARGUMENT, "give the provider's code");
	dbp_init(&p);
	dbp_text(&p, req->provider);
	if (!(r = db_query(ctx, "SELECT id FROM providers WHERE code = $1", &p)))
		return ctx->status.code;
	provider = PQntuples(r) ? db_int(r, 0, 0) : 0;
	PQclear(r);
	if (!provider)
		return fd_fail(&ctx->status, FD_NOT_FOUND, "no provider has that code");
	dbp_init(&p);
	dbp_int(&p, provider);
	dbp_int(&p, team);
	if (req->remove) {
		if (!(r = db_query(ctx,
				   "DELETE FROM phone_care_team_providers WHERE provider_id = $1 AND team_id = $2"
				   " RETURNING 1",
				   &p)))
			return ctx->status.code;
		int found = PQntuples(r);
		PQclear(r);
		if (!found)
			return fd_fail(&ctx->status, FD_NOT_FOUND, "that provider is not on that care team");
	} else if (db_exec(ctx,
			   "INSERT INTO phone_care_team_providers (provider_id, team_id) VALUES ($1, $2)"
			   " ON CONFLICT (provider_id) DO UPDATE SET team_id = $2",
			   &p) != FD_OK) {
		return ctx->status.code;
	}
	frontdesk__v1__phone_set_care_team_provider_reply__init(rep);
	if (load_team(ctx, team, &rep->team) != FD_OK || team_changed(ctx, team) != FD_OK)
		return ctx->status.code;
	*out = &rep->base;
	return FD_OK;
}

int handle_phone_list_care_teams(fd_ctx *ctx, const ProtobufCMessage *in, ProtobufCMessage **out)
{
	Frontdesk__V1__PhoneListCareTeamsReply *rep = fd_arena_alloc(ctx->arena, sizeof *rep);

	(void)in;
	if (!rep)
		return PHONE_NOMEM(ctx);
	frontdesk__v1__phone_list_care_teams_reply__init(rep);
	if (load_teams(ctx, 0, &rep->teams, &rep->n_teams) != FD_OK)
		return ctx->status.code;
	*out = &rep->base;
	return FD_OK;
}
