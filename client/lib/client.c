/*
 * The client side of the Frontdesk RPC: one nng REQ socket per fd_client and
 * one nng context per call, so a single client serves several threads.
 *
 * A call packs the request envelope once (with its request id, the method
 * path, the budget and the session token), then lets nng's REQ protocol do
 * the resending: a context resends the very same bytes every resend_ms until
 * a reply comes or the budget runs out, and resends at once on a new
 * connection after a server restart. Because the bytes are the same, the
 * request id is the same, and the server's idempotency table makes a resent
 * mutation act once. Ownership rules follow docs/ARCHITECTURE.md: a message
 * given to a successful send is nng's; a message a failed send hands back is
 * ours to free; only what unpack made goes to free_unpacked.
 */
#include "frontdesk.h"

#include <nng/nng.h>
#include <nng/protocol/reqrep0/req.h>
#include <nng/supplemental/tls/tls.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "internal.h"
#include "wire.h"

#define DEFAULT_TIMEOUT_MS 10000
#define DEFAULT_RESEND_MS 10000
/* Replies (a long staff list, say) may be far larger than any request; the
 * limit only stops a confused peer from making us allocate without bound. */
#define CLIENT_RECV_MAX_BYTES (16u * 1024 * 1024)
/* Scratch for packing one request payload before it is copied into the
 * nng message; requests are small, so one arena block is the usual case. */
#define CALL_ARENA_LIMIT (8u * 1024 * 1024)

struct fd_client {
	nng_socket sock;
	nng_dialer dialer;
	nng_tls_config *tls; /* NULL unless the URL is tls+tcp:// */
	char *url;
	int timeout_ms;
	/* The token may be replaced (login, logout) while other threads call;
	 * each call copies it under the lock. */
	pthread_mutex_t token_lock;
	char *token;
};

int fd_client_url_rejected(int nng_rv)
{
	return nng_rv == NNG_EINVAL || nng_rv == NNG_ENOTSUP ||
	       nng_rv == NNG_EADDRINVAL;
}

int fd_client_dial_failure(fd_status *st, int nng_rv, const char *what,
			   const char *url)
{
	if (nng_rv == NNG_ENOMEM)
		return fd_fail(st, FD_RESOURCE_EXHAUSTED,
			       "out of memory while connecting to %s", url);
	return fd_fail(st, FD_UNAVAILABLE,
		       "cannot reach the %s at %s: %s; check FRONTDESK_SERVER / "
		       "--server and that frontdeskd is running",
		       what, url, nng_strerror(nng_rv));
}

static int bad_url(fd_status *st, int nng_rv, const char *url)
{
	return fd_fail(st, FD_INVALID_ARGUMENT,
		       "'%s' is not a usable server URL (%s); use tcp://HOST:PORT, "
		       "ipc:///PATH or tls+tcp://HOST:PORT",
		       url, nng_strerror(nng_rv));
}

static char *copy_string(const char *s)
{
	return s ? strdup(s) : NULL;
}

/* The host part of a URL, for the TLS server name check. */
static int url_host(const char *url, char *host, size_t size)
{
	nng_url *u;
	int rv = nng_url_parse(&u, url);

	if (rv != 0)
		return rv;
	snprintf(host, size, "%s", u->u_hostname ? u->u_hostname : "");
	nng_url_free(u);
	return 0;
}

/* The bundle Debian keeps current; used when no CA file is named, so a
 * server with a publicly signed certificate is verified out of the box. */
#define SYSTEM_CA_BUNDLE "/etc/ssl/certs/ca-certificates.crt"

/* Builds the TLS client configuration from the options. The server's
 * certificate is always verified (REQUIRED): a desk that talked to any
 * server presenting any certificate would hand its staff passwords to
 * whoever sits in the middle. */
static int tls_setup(fd_client *c, const fd_client_options *o, fd_status *st)
{
	const char *ca = (o->tls_ca_file && o->tls_ca_file[0]) ? o->tls_ca_file
							       : SYSTEM_CA_BUNDLE;
	char host[256];
	int rv;

	if ((rv = nng_tls_config_alloc(&c->tls, NNG_TLS_MODE_CLIENT)) != 0) {
		c->tls = NULL;
		return fd_fail(st, FD_UNAVAILABLE, "TLS is not available: %s",
			       nng_strerror(rv));
	}
	if ((rv = nng_tls_config_ca_file(c->tls, ca)) != 0)
		return fd_fail(st, FD_INVALID_ARGUMENT,
			       "cannot load the TLS CA file %s: %s; name the CA "
			       "that signed the server certificate with --tls-ca",
			       ca, nng_strerror(rv));
	if ((rv = nng_tls_config_auth_mode(c->tls, NNG_TLS_AUTH_MODE_REQUIRED)))
		return fd_fail(st, FD_INTERNAL, "TLS setup failed: %s",
			       nng_strerror(rv));

	if (o->tls_server_name && o->tls_server_name[0]) {
		snprintf(host, sizeof host, "%s", o->tls_server_name);
	} else if ((rv = url_host(c->url, host, sizeof host)) != 0) {
		return bad_url(st, rv, c->url);
	}
	if (host[0] && (rv = nng_tls_config_server_name(c->tls, host)) != 0)
		return fd_fail(st, FD_INTERNAL, "TLS server name %s: %s", host,
			       nng_strerror(rv));

	if (o->tls_cert_file && o->tls_cert_file[0]) {
		/* nng reads certificate and key from one PEM file; a separate
		 * key file is only accepted when it is that same file. */
		if (o->tls_key_file && o->tls_key_file[0] &&
		    strcmp(o->tls_key_file, o->tls_cert_file) != 0)
			return fd_fail(st, FD_INVALID_ARGUMENT,
				       "put the desk certificate and its key in "
				       "one PEM file (%s)", o->tls_cert_file);
		rv = nng_tls_config_cert_key_file(c->tls, o->tls_cert_file,
						  NULL);
		if (rv != 0)
			return fd_fail(st, FD_INVALID_ARGUMENT,
				       "cannot load the desk certificate %s: %s",
				       o->tls_cert_file, nng_strerror(rv));
	}
	return FD_OK;
}

static int socket_setup(fd_client *c, const fd_client_options *o,
			fd_status *st)
{
	int resend = o->resend_ms > 0 ? o->resend_ms : DEFAULT_RESEND_MS;
	int rv;

	if ((rv = nng_req0_open(&c->sock)) != 0)
		return fd_fail(st, FD_INTERNAL, "cannot open an nng REQ socket: %s",
			       nng_strerror(rv));
	if ((rv = nng_socket_set_ms(c->sock, NNG_OPT_REQ_RESENDTIME, resend)) ||
	    (rv = nng_socket_set_size(c->sock, NNG_OPT_RECVMAXSZ,
				      CLIENT_RECV_MAX_BYTES)))
		return fd_fail(st, FD_INTERNAL, "cannot configure the socket: %s",
			       nng_strerror(rv));
	return FD_OK;
}

/* The first dial blocks so that "nothing listens there" is reported now,
 * not as a timeout on the first call. Once a connection has been made, nng
 * redials on its own whenever the server goes away and comes back. */
static int dial(fd_client *c, const fd_client_options *o, fd_status *st)
{
	int rv = nng_dialer_create(&c->dialer, c->sock, c->url);

	if (rv != 0)
		return fd_client_url_rejected(rv) ? bad_url(st, rv, c->url)
						  : fd_client_dial_failure(
							    st, rv, "Frontdesk server",
							    c->url);
	if (strncmp(c->url, "tls+tcp://", 10) == 0) {
		if ((rv = tls_setup(c, o, st)) != FD_OK)
			return rv;
		rv = nng_dialer_set_ptr(c->dialer, NNG_OPT_TLS_CONFIG, c->tls);
		if (rv != 0)
			return fd_fail(st, FD_INTERNAL, "TLS setup failed: %s",
				       nng_strerror(rv));
	}
	if ((rv = nng_dialer_start(c->dialer, 0)) != 0)
		return fd_client_dial_failure(st, rv, "Frontdesk server", c->url);
	return FD_OK;
}

int fd_client_open(fd_client **out, const fd_client_options *opts,
		   fd_status *st)
{
	fd_client *c;
	int rv;

	*out = NULL;
	if (!opts || !opts->url || !opts->url[0])
		return fd_fail(st, FD_INVALID_ARGUMENT, "no server URL given");
	if (fd_random_init() != 0)
		return fd_fail(st, FD_INTERNAL,
			       "cannot initialise the random source");
	if (!(c = calloc(1, sizeof *c)))
		return fd_fail(st, FD_RESOURCE_EXHAUSTED, "out of memory");
	pthread_mutex_init(&c->token_lock, NULL);
	c->timeout_ms = opts->timeout_ms > 0 ? opts->timeout_ms
					     : DEFAULT_TIMEOUT_MS;
	if (!(c->url = copy_string(opts->url))) {
		fd_client_close(c);
		return fd_fail(st, FD_RESOURCE_EXHAUSTED, "out of memory");
	}
	c->sock = (nng_socket)NNG_SOCKET_INITIALIZER;
	if ((rv = socket_setup(c, opts, st)) != FD_OK ||
	    (rv = dial(c, opts, st)) != FD_OK) {
		fd_client_close(c);
		return rv;
	}
	*out = c;
	fd_status_ok(st);
	return FD_OK;
}

void fd_client_close(fd_client *c)
{
	if (!c)
		return;
	/* Closing the socket closes its dialer and pipes; only then may the
	 * TLS configuration they hold a reference to be released. */
	if (nng_socket_id(c->sock) > 0)
		nng_close(c->sock);
	if (c->tls)
		nng_tls_config_free(c->tls);
	pthread_mutex_destroy(&c->token_lock);
	free(c->url);
	free(c->token);
	free(c);
}

void fd_client_set_token(fd_client *c, const char *token)
{
	char *copy = (token && token[0]) ? strdup(token) : NULL;
	char *old;

	pthread_mutex_lock(&c->token_lock);
	old = c->token;
	c->token = copy;
	pthread_mutex_unlock(&c->token_lock);
	free(old);
}

/* The pointer stays valid until the next fd_client_set_token. */
const char *fd_client_token(const fd_client *c)
{
	return c->token;
}

/* Copies the current token into the call's arena (or "" when none). */
static const char *token_for_call(fd_client *c, fd_arena *a)
{
	const char *copy;

	pthread_mutex_lock(&c->token_lock);
	copy = c->token ? fd_arena_strdup(a, c->token) : "";
	pthread_mutex_unlock(&c->token_lock);
	return copy ? copy : "";
}

static int budget_of(const fd_client *c, int timeout_ms)
{
	return timeout_ms > 0 ? timeout_ms : c->timeout_ms;
}

/* Maps a failed send or receive on a context to a status. `sent` tells
 * whether the request had left (then a timeout means the server did not
 * answer) or was still waiting for a connection to the server. */
static int transport_failure(fd_client *c, fd_status *st, int rv, bool sent,
			     int budget)
{
	if (rv == NNG_ETIMEDOUT && !sent)
		return fd_fail(st, FD_DEADLINE_EXCEEDED,
			       "no connection to the server at %s within %d ms; "
			       "check that frontdeskd is running there",
			       c->url, budget);
	if (rv == NNG_ETIMEDOUT)
		return fd_fail(st, FD_DEADLINE_EXCEEDED,
			       "no reply from server within %d ms; check that "
			       "frontdeskd at %s is running and not overloaded",
			       budget, c->url);
	if (rv == NNG_ENOMEM)
		return fd_fail(st, FD_RESOURCE_EXHAUSTED,
			       "out of memory while calling the server");
	return fd_fail(st, FD_UNAVAILABLE, "call to %s failed: %s", c->url,
		       nng_strerror(rv));
}

static bool reply_is_ours(const Frontdesk__V1__Reply *reply, const uint8_t *id)
{
	return reply->request_id.len == FD_REQUEST_ID_LEN &&
	       memcmp(reply->request_id.data, id, FD_REQUEST_ID_LEN) == 0;
}

/* One exchange on its own context: send `request` (which this function
 * always consumes) and wait for the reply envelope until the budget is
 * spent. nng resends the same bytes on its own timer. With `id` set, a
 * reply carrying another request id is dropped and the request sent again
 * within what is left of the budget (a REQ context cannot mix up replies,
 * but a confused server could). On FD_OK *out is unpacked with the default
 * allocator and belongs to the caller. */
static int exchange(fd_client *c, nng_msg *request, const uint8_t *id,
		    int budget, Frontdesk__V1__Reply **out, fd_status *st)
{
	int64_t deadline = fd_now_mono_ms() + budget;
	nng_aio *aio = NULL;
	nng_ctx ctx;
	int rv;

	*out = NULL;
	if ((rv = nng_ctx_open(&ctx, c->sock)) != 0) {
		nng_msg_free(request);
		return transport_failure(c, st, rv, false, budget);
	}
	if ((rv = nng_aio_alloc(&aio, NULL, NULL)) != 0) {
		nng_ctx_close(ctx);
		nng_msg_free(request);
		return transport_failure(c, st, rv, false, budget);
	}
	nng_ctx_set_ms(ctx, NNG_OPT_SENDTIMEO, budget);
	nng_ctx_set_ms(ctx, NNG_OPT_RECVTIMEO, budget);

	for (;;) {
		int64_t left = deadline - fd_now_mono_ms();
		nng_msg *copy, *answer;

		if (left <= 0) {
			rv = transport_failure(c, st, NNG_ETIMEDOUT, true, budget);
			break;
		}
		/* Send a copy so a later resend still has the original. */
		if ((rv = nng_msg_dup(&copy, request)) != 0) {
			rv = transport_failure(c, st, rv, false, budget);
			break;
		}
		nng_aio_set_msg(aio, copy);
		nng_aio_set_timeout(aio, (nng_duration)left);
		nng_ctx_send(ctx, aio);
		nng_aio_wait(aio);
		if ((rv = nng_aio_result(aio)) != 0) {
			/* A failed send hands the message back to us. */
			nng_msg_free(nng_aio_get_msg(aio));
			rv = transport_failure(c, st, rv, false, budget);
			break;
		}

		left = deadline - fd_now_mono_ms();
		nng_aio_set_timeout(aio, (nng_duration)(left > 0 ? left : 1));
		nng_ctx_recv(ctx, aio);
		nng_aio_wait(aio);
		if ((rv = nng_aio_result(aio)) != 0) {
			rv = transport_failure(c, st, rv, true, budget);
			break;
		}
		answer = nng_aio_get_msg(aio);
		*out = frontdesk__v1__reply__unpack(NULL, nng_msg_len(answer),
						    nng_msg_body(answer));
		nng_msg_free(answer);
		if (!*out) {
			rv = fd_fail(st, FD_INTERNAL,
				     "server sent a reply this client cannot read");
			break;
		}
		if (!id || reply_is_ours(*out, id)) {
			fd_status_ok(st);
			rv = FD_OK;
			break;
		}
		frontdesk__v1__reply__free_unpacked(*out, NULL);
		*out = NULL;
	}
	nng_aio_free(aio);
	nng_ctx_close(ctx);
	nng_msg_free(request);
	return rv;
}

/* Copies the server's verdict into st. A reply without a status is a
 * broken server, not a success. */
static int server_status(const Frontdesk__V1__Reply *reply, fd_status *st)
{
	if (!reply->status)
		return fd_fail(st, FD_INTERNAL,
			       "server sent a reply without a status");
	if (reply->status->code == FD_OK) {
		fd_status_ok(st);
		return FD_OK;
	}
	st->code = reply->status->code > 0x7fffffffu
			   ? FD_UNKNOWN
			   : (int)reply->status->code;
	snprintf(st->message, sizeof st->message, "%s",
		 reply->status->message ? reply->status->message : "");
	return st->code;
}

int fd_client_call_with_id(fd_client *c, const uint8_t id[FD_REQUEST_ID_LEN],
			   const char *method, const ProtobufCMessage *request,
			   const ProtobufCMessageDescriptor *reply_desc,
			   ProtobufCMessage **reply, int timeout_ms,
			   fd_status *st)
{
	int budget = budget_of(c, timeout_ms);
	Frontdesk__V1__Reply *envelope;
	nng_msg *msg = NULL;
	fd_arena scratch;
	int rv;

	if (reply)
		*reply = NULL;
	if (!method || !method[0])
		return fd_fail(st, FD_INVALID_ARGUMENT, "no method named");

	fd_arena_init(&scratch, CALL_ARENA_LIMIT);
	rv = fd_wire_pack_request(&msg, &scratch, id, method, (uint32_t)budget,
				  token_for_call(c, &scratch), request);
	fd_arena_destroy(&scratch);
	if (rv != 0)
		return fd_fail(st, FD_RESOURCE_EXHAUSTED,
			       "cannot build the request (out of memory)");

	if ((rv = exchange(c, msg, id, budget, &envelope, st)) != FD_OK)
		return rv;
	if ((rv = server_status(envelope, st)) == FD_OK && reply_desc && reply) {
		*reply = protobuf_c_message_unpack(reply_desc, NULL,
						   envelope->payload.len,
						   envelope->payload.data);
		if (!*reply)
			rv = fd_fail(st, FD_INTERNAL,
				     "server sent a reply this client cannot read");
	}
	frontdesk__v1__reply__free_unpacked(envelope, NULL);
	return rv;
}

int fd_client_call(fd_client *c, const char *method,
		   const ProtobufCMessage *request,
		   const ProtobufCMessageDescriptor *reply_desc,
		   ProtobufCMessage **reply, int timeout_ms, fd_status *st)
{
	uint8_t id[FD_REQUEST_ID_LEN];

	fd_request_id_new(id);
	return fd_client_call_with_id(c, id, method, request, reply_desc, reply,
				      timeout_ms, st);
}

int fd_client_call_raw(fd_client *c, const void *bytes, size_t len,
		       Frontdesk__V1__Reply **reply, int timeout_ms,
		       fd_status *st)
{
	nng_msg *msg;
	int rv;

	*reply = NULL;
	if ((rv = nng_msg_alloc(&msg, len)) != 0)
		return fd_fail(st, FD_RESOURCE_EXHAUSTED, "out of memory");
	if (len)
		memcpy(nng_msg_body(msg), bytes, len);
	/* The bytes may not even hold a request id: take any reply. */
	return exchange(c, msg, NULL, budget_of(c, timeout_ms), reply, st);
}
