/*
 * The REP socket and its call slots; see listener.h and call.h. Each slot's
 * receive callback hands the message to the gate; the reply goes out on
 * the slot's second aio, which has no callback, from the thread that built
 * it (listener_reply). Nothing here blocks: the gate only decodes, database
 * work happens on the workers, and a reply its peer does not take at once
 * waits on the reply waiter's thread, not on a worker.
 */
#include "listener.h"

#include <nng/protocol/reqrep0/rep.h>
#include <nng/supplemental/tls/tls.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config.h"
#include "dispatch.h"
#include "log.h"

struct fd_listener {
	nng_socket sock;
	nng_tls_config *tls;
	fd_call *calls;
	int n_calls;
	atomic_bool draining;
	/* The reply waiter: slots whose reply waits for its peer. */
	pthread_t waiter;
	bool waiter_running;
	bool waiter_stop;
	pthread_mutex_t unsent_lock;
	pthread_cond_t unsent_cond;
	fd_call *unsent_head, *unsent_tail;
};

/* How long a reply may wait for its peer to take it. A desk that never
 * reads (or a stalled link) would otherwise hold this slot forever, and
 * enough of them hold every slot: no desk is served (tests/e2e/
 * test_faults_clients.c). A dropped reply is not lost: the desk's resend gets
 * the stored one. Receiving waits without limit: idle slots are the norm. */
#define REPLY_SEND_TIMEOUT_MS 2000

static void start_recv(fd_call *c)
{
	c->state = CALL_RECV;
	nng_aio_set_timeout(c->aio, NNG_DURATION_INFINITE);
	nng_ctx_recv(c->ctx, c->aio);
}

/* The one place per-call state dies: after the reply left (or failed). */
static void call_recycle(fd_call *c)
{
	fd_arena_reset(&c->arena);
	c->request = NULL;
	c->method = NULL;
	c->reply = NULL;
	fd_status_ok(&c->status);
}

static void next_or_idle(fd_call *c)
{
	fd_listener *l = c->listener;

	pthread_mutex_lock(&c->lock);
	if (atomic_load(&l->draining))
		c->state = CALL_IDLE;
	else
		start_recv(c);
	pthread_mutex_unlock(&c->lock);
}

/* After the reply left, or failed to (then the message is still ours). */
static void reply_done(fd_call *c)
{
	if (nng_aio_result(c->send_aio) != 0)
		nng_msg_free(nng_aio_get_msg(c->send_aio));
	call_recycle(c);
	next_or_idle(c);
}

/* Whether the send just started on this callback-less aio has finished.
 * nng 1.5.2 cannot say whether an aio is still busy without waiting, but a
 * finished send has a result (an error) or a count (the reply's bytes:
 * never 0, an envelope carries at least its request id), and both are
 * reset when an operation begins. REP finishes a send inside
 * nng_ctx_send when the peer's connection is free, which is nearly always;
 * otherwise the send waits in the connection's queue and another thread
 * finishes it. Read while that may happen, a 0 only means "ask the
 * waiter", who waits properly; a value that is set is final. */
static bool send_finished(nng_aio *aio)
{
	return nng_aio_result(aio) != 0 || nng_aio_count(aio) != 0;
}

static void *reply_waiter(void *arg)
{
	fd_listener *l = arg;

	for (;;) {
		fd_call *c;

		pthread_mutex_lock(&l->unsent_lock);
		while (!l->unsent_head && !l->waiter_stop)
			pthread_cond_wait(&l->unsent_cond, &l->unsent_lock);
		c = l->unsent_head;
		if (c) {
			l->unsent_head = c->next_unsent;
			if (!l->unsent_head)
				l->unsent_tail = NULL;
			c->next_unsent = NULL;
		}
		pthread_mutex_unlock(&l->unsent_lock);
		if (!c)
			return NULL;
		/* At most REPLY_SEND_TIMEOUT_MS. The timeouts of the replies
		 * queued behind run meanwhile, so none waits more than its
		 * own; a slot whose reply left while it queued is recycled
		 * late by as much, its desk already answered. */
		nng_aio_wait(c->send_aio);
		reply_done(c);
	}
}

static void hand_to_waiter(fd_call *c)
{
	fd_listener *l = c->listener;

	pthread_mutex_lock(&l->unsent_lock);
	if (l->unsent_tail)
		l->unsent_tail->next_unsent = c;
	else
		l->unsent_head = c;
	l->unsent_tail = c;
	pthread_cond_signal(&l->unsent_cond);
	pthread_mutex_unlock(&l->unsent_lock);
}

/* The reply goes out from the thread that built it, on an aio without a
 * callback: a callback would cost every call a hop to one of nng's threads
 * and back (measured: about a tenth of a point read's throughput,
 * docs/PERFORMANCE.md). A worker does not wait for a peer that is slow to
 * read: such a reply goes to the reply waiter. */
void listener_reply(fd_call *c)
{
	if (!c->reply) {
		/* Out of memory building the reply: the REQ side resends,
		 * and the retry gets the stored reply if one was stored. */
		call_recycle(c);
		next_or_idle(c);
		return;
	}
	pthread_mutex_lock(&c->lock);
	c->state = CALL_SEND;
	pthread_mutex_unlock(&c->lock);
	nng_aio_set_msg(c->send_aio, c->reply);
	c->reply = NULL;
	nng_aio_set_timeout(c->send_aio, REPLY_SEND_TIMEOUT_MS);
	nng_ctx_send(c->ctx, c->send_aio);
	if (send_finished(c->send_aio)) {
		nng_aio_wait(c->send_aio); /* returns at once: only the
					      bookkeeping may be in flight */
		reply_done(c);
	} else {
		hand_to_waiter(c);
	}
}

static void call_cb(void *arg)
{
	fd_call *c = arg;
	int rv = nng_aio_result(c->aio);

	if (c->state != CALL_RECV) {
		log_error("listener: receive callback in state %d", (int)c->state);
		return;
	}
	if (rv != 0) {
		/* Cancelled by the drain, or the socket closed. A transient
		 * error (ENOMEM) retries. */
		if (rv == NNG_ECLOSED || rv == NNG_ECANCELED) {
			pthread_mutex_lock(&c->lock);
			c->state = CALL_IDLE;
			pthread_mutex_unlock(&c->lock);
		} else {
			next_or_idle(c);
		}
		return;
	}
	pthread_mutex_lock(&c->lock);
	c->state = CALL_WORK;
	pthread_mutex_unlock(&c->lock);
	if (dispatch_accept(c, nng_aio_get_msg(c->aio)))
		listener_reply(c);
}

static int read_file(const char *path, char **out)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	if (!f)
		return -1;
	if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 ||
	    fseek(f, 0, SEEK_SET) != 0 || !(buf = malloc((size_t)n + 1))) {
		fclose(f);
		return -1;
	}
	if (fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		fclose(f);
		return -1;
	}
	buf[n] = '\0';
	fclose(f);
	*out = buf;
	return 0;
}

static int tls_setup(fd_listener *l, char *err, size_t err_size)
{
	const char *cert_file = cfg_str(CFG_TLS_CERT_FILE);
	const char *key_file = cfg_str(CFG_TLS_KEY_FILE);
	const char *ca_file = cfg_str(CFG_TLS_CLIENT_CA_FILE);
	char *cert = NULL, *key = NULL;
	int rv;

	if (!*cert_file) {
		snprintf(err, err_size,
			 "a tls+tcp:// listener needs tls_cert_file (and tls_key_file unless the key is in the same file)");
		return -1;
	}
	if (read_file(cert_file, &cert) != 0 ||
	    read_file(*key_file ? key_file : cert_file, &key) != 0) {
		snprintf(err, err_size, "cannot read TLS certificate or key (%s, %s)",
			 cert_file, *key_file ? key_file : cert_file);
		free(cert);
		return -1;
	}
	rv = nng_tls_config_alloc(&l->tls, NNG_TLS_MODE_SERVER);
	if (rv == 0)
		rv = nng_tls_config_own_cert(l->tls, cert, key, NULL);
	if (rv == 0 && *ca_file) {
		rv = nng_tls_config_ca_file(l->tls, ca_file);
		if (rv == 0)
			rv = nng_tls_config_auth_mode(l->tls,
						      NNG_TLS_AUTH_MODE_REQUIRED);
	} else if (rv == 0) {
		rv = nng_tls_config_auth_mode(l->tls, NNG_TLS_AUTH_MODE_NONE);
	}
	free(cert);
	free(key);
	if (rv != 0) {
		snprintf(err, err_size, "TLS setup failed: %s", nng_strerror(rv));
		return -1;
	}
	return 0;
}

/* What a desk sends to a plaintext network URL (passwords, patient data)
 * crosses the network unencrypted unless the host is loopback. An empty
 * host, "*" and 0.0.0.0 mean every interface, so they count as remote;
 * so does anything not plainly loopback (a name other than localhost). */
bool listener_url_is_plaintext_remote(const char *url)
{
	static const char *const plaintext[] = { "tcp://", "tcp4://", "tcp6://",
						 "ws://", "ws4://", "ws6://" };
	const char *host = NULL, *end, *colon = NULL;
	size_t len;

	for (size_t i = 0; i < sizeof plaintext / sizeof plaintext[0]; i++)
		if (strncmp(url, plaintext[i], strlen(plaintext[i])) == 0)
			host = url + strlen(plaintext[i]);
	if (!host)
		return false;
	end = host + strcspn(host, "/");
	if (*host == '[') {
		const char *close = memchr(host, ']', (size_t)(end - host));
		len = close ? (size_t)(close - host) + 1 : (size_t)(end - host);
	} else {
		for (const char *p = host; p < end; p++)
			if (*p == ':')
				colon = p;
		len = (size_t)((colon ? colon : end) - host);
	}
	if ((len == 9 && strncasecmp(host, "localhost", 9) == 0) ||
	    (len == 5 && strncmp(host, "[::1]", 5) == 0))
		return false;
	if (len >= 5 && strncmp(host, "127.", 4) == 0 &&
	    strspn(host, "0123456789.") >= len)
		return false;
	return true;
}

/* A plaintext listener on the network needs allow_plaintext_remote = 1,
 * and then is logged as a warning on every start. */
static int check_plaintext(const char *url, char *err, size_t err_size)
{
	if (!listener_url_is_plaintext_remote(url))
		return 0;
	if (!cfg_int(CFG_ALLOW_PLAINTEXT_REMOTE)) {
		snprintf(err, err_size,
			 "refusing to listen on %s: plaintext on a non-loopback address"
			 " would send passwords and patient data unencrypted; use tls+tcp://"
			 " (tls_cert_file, tls_key_file) or set allow_plaintext_remote = 1",
			 url);
		return -1;
	}
	log_warn("listening on %s without encryption (allow_plaintext_remote = 1):"
		 " passwords and patient data cross the network in clear text", url);
	return 0;
}

static int listen_on(fd_listener *l, const char *url, char *err,
		     size_t err_size)
{
	nng_listener lst;
	int rv;

	if (check_plaintext(url, err, err_size) != 0)
		return -1;
	rv = nng_listener_create(&lst, l->sock, url);

	if (rv == 0 && strncmp(url, "tls+tcp://", 10) == 0) {
		if (!l->tls && tls_setup(l, err, err_size) != 0)
			return -1;
		rv = nng_listener_set_ptr(lst, NNG_OPT_TLS_CONFIG, l->tls);
	}
	if (rv == 0)
		rv = nng_listener_start(lst, 0);
	if (rv != 0) {
		snprintf(err, err_size, "cannot listen on %s: %s", url,
			 nng_strerror(rv));
		return -1;
	}
	log_info("listening for desks on %s", url);
	return 0;
}

int listener_start(fd_listener **out, char *err, size_t err_size)
{
	fd_listener *l = calloc(1, sizeof *l);
	char *urls = strdup(cfg_str(CFG_LISTEN)), *save = NULL;
	int rv;

	if (!l || !urls) {
		free(l);
		free(urls);
		snprintf(err, err_size, "out of memory");
		return -1;
	}
	rv = nng_rep0_open(&l->sock);
	if (rv == 0)
		rv = nng_socket_set_size(l->sock, NNG_OPT_RECVMAXSZ,
					 (size_t)cfg_int(CFG_RECV_MAX_BYTES));
	if (rv != 0) {
		snprintf(err, err_size, "cannot open REP socket: %s",
			 nng_strerror(rv));
		free(urls);
		free(l);
		return -1;
	}
	pthread_mutex_init(&l->unsent_lock, NULL);
	pthread_cond_init(&l->unsent_cond, NULL);
	l->n_calls = cfg_int(CFG_CONTEXTS) > 0 ? cfg_int(CFG_CONTEXTS) : 1;
	l->calls = calloc((size_t)l->n_calls, sizeof *l->calls);
	if (!l->calls)
		goto fail_nomem;
	for (int i = 0; i < l->n_calls; i++) {
		fd_call *c = &l->calls[i];
		c->listener = l;
		pthread_mutex_init(&c->lock, NULL);
		fd_arena_init(&c->arena, 0);
		if (nng_ctx_open(&c->ctx, l->sock) != 0 ||
		    nng_aio_alloc(&c->aio, call_cb, c) != 0 ||
		    nng_aio_alloc(&c->send_aio, NULL, NULL) != 0)
			goto fail_nomem;
	}
	if (pthread_create(&l->waiter, NULL, reply_waiter, l) != 0)
		goto fail_nomem;
	l->waiter_running = true;
	for (char *u = strtok_r(urls, ",", &save); u;
	     u = strtok_r(NULL, ",", &save)) {
		while (*u == ' ')
			u++;
		if (*u && listen_on(l, u, err, err_size) != 0) {
			free(urls);
			listener_close(l);
			return -1;
		}
	}
	free(urls);
	for (int i = 0; i < l->n_calls; i++) {
		pthread_mutex_lock(&l->calls[i].lock);
		start_recv(&l->calls[i]);
		pthread_mutex_unlock(&l->calls[i].lock);
	}
	*out = l;
	return 0;

fail_nomem:
	free(urls);
	listener_close(l);
	snprintf(err, err_size, "cannot allocate %d call contexts",
		 cfg_int(CFG_CONTEXTS));
	return -1;
}

void listener_drain(fd_listener *l)
{
	atomic_store(&l->draining, true);
	for (int i = 0; i < l->n_calls; i++) {
		fd_call *c = &l->calls[i];
		bool receiving;

		pthread_mutex_lock(&c->lock);
		receiving = c->state == CALL_RECV;
		pthread_mutex_unlock(&c->lock);
		/* A slot that receives a message before the cancel lands
		 * finishes that call normally and then goes idle. */
		if (receiving)
			nng_aio_cancel(c->aio);
	}
}

int listener_in_flight(fd_listener *l)
{
	int busy = 0;

	/* Counts slots, not received calls: a message that arrived just as
	 * the drain cancelled its receive is counted by its callback a moment
	 * later, so a count of calls could read 0 while that call is on its
	 * way to a worker, and the server would free the slot under it. A
	 * slot is idle only once its last reply has left. */
	for (int i = 0; i < l->n_calls; i++) {
		fd_call *c = &l->calls[i];

		pthread_mutex_lock(&c->lock);
		busy += c->state != CALL_IDLE;
		pthread_mutex_unlock(&c->lock);
	}
	return busy;
}

void listener_close(fd_listener *l)
{
	if (!l)
		return;
	/* Closing fails every reply still waiting for its peer, so the
	 * waiter finds its queue empty and ends. */
	nng_close(l->sock);
	if (l->waiter_running) {
		pthread_mutex_lock(&l->unsent_lock);
		l->waiter_stop = true;
		pthread_cond_signal(&l->unsent_cond);
		pthread_mutex_unlock(&l->unsent_lock);
		pthread_join(l->waiter, NULL);
	}
	if (l->calls) {
		for (int i = 0; i < l->n_calls; i++) {
			fd_call *c = &l->calls[i];
			if (c->aio) {
				nng_aio_stop(c->aio);
				nng_aio_free(c->aio);
			}
			if (c->send_aio) {
				nng_aio_stop(c->send_aio);
				nng_aio_free(c->send_aio);
			}
			fd_arena_destroy(&c->arena);
			pthread_mutex_destroy(&c->lock);
		}
		free(l->calls);
	}
	if (l->tls)
		nng_tls_config_free(l->tls);
	pthread_cond_destroy(&l->unsent_cond);
	pthread_mutex_destroy(&l->unsent_lock);
	free(l);
}
