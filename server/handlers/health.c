/*
 * Health.Ping: answered inline on the nng thread, without a session and
 * without the database, so it stays cheap enough to probe constantly and
 * tells "server down" apart from "not logged in" or "database down".
 */
#include "handler.h"

#include "db/db.h"
#include "events.h"
#include "migrate.h"
#include "util.h"
#include "version.h"
#include "frontdesk/v1/health.pb-c.h"

int handle_health_ping(fd_ctx *ctx, const ProtobufCMessage *in,
		       ProtobufCMessage **out);

int handle_health_ping(fd_ctx *ctx, const ProtobufCMessage *in,
		       ProtobufCMessage **out)
{
	const Frontdesk__V1__PingRequest *req = (const void *)in;
	Frontdesk__V1__PingReply *rep = fd_arena_alloc(ctx->arena, sizeof *rep);

	if (!rep)
		return fd_fail(&ctx->status, FD_RESOURCE_EXHAUSTED, "out of memory");
	frontdesk__v1__ping_reply__init(rep);
	rep->server_version = (char *)FD_SERVER_VERSION;
	rep->api_version = FD_API_VERSION;
	rep->schema_version = FD_SCHEMA_VERSION;
	rep->server_time_unix_ms = fd_now_unix_ms();
	rep->events_url = (char *)events_public_url();
	rep->database_up = db_up != 0;
	rep->echo = req->echo; /* lives in the same arena as the reply */
	*out = &rep->base;
	return FD_OK;
}
