/*
 * `desk console`: calls to the server, off the loop thread.
 *
 * console_send copies the request (pack, then unpack into a fresh message
 * the job owns), queues a job and wakes the call thread. The call thread
 * makes one blocking fd_client_call at a time, in the order jobs were
 * sent, then puts the job on the done list and wakes the loop with
 * uv_async_send (which coalesces: on_calls_done drains the whole list).
 * On the loop thread the failure, if any, goes to the status line, a lost
 * link lowers `connected` (the banner), a lost session locks the screen,
 * and the job's `done` function applies the reply.
 *
 * The call thread owns the fd_client: it opens it (on the first ping) and
 * installs the token after a Login, so the loop never touches it. While
 * the link is down (link_up false) queued calls fail at once rather than
 * each waiting out a deadline; only the heartbeat and Login go through.
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "console.h"
#include "output.h"

enum job_kind { JOB_CALL, JOB_LOGIN, JOB_PING };

struct console_job {
	struct console_job *next;
	enum job_kind kind;
	char path[160];
	const ProtobufCMessageDescriptor *reply_desc;
	ProtobufCMessage *request; /* the job's own copy */
	char action[96];
	console_done done;
	int64_t about;
	unsigned session_gen;
	/* Filled in by the call thread. */
	int code;
	fd_status st;
	ProtobufCMessage *reply;
};

static ProtobufCMessage *copy_message(const ProtobufCMessage *m)
{
	size_t len = protobuf_c_message_get_packed_size(m);
	uint8_t *buf = malloc(len ? len : 1);
	ProtobufCMessage *copy;

	if (!buf)
		return NULL;
	protobuf_c_message_pack(m, buf);
	copy = protobuf_c_message_unpack(m->descriptor, NULL, len, buf);
	sodium_memzero(buf, len); /* a Login holds the password */
	free(buf);
	return copy;
}

static void job_free(struct console_job *job)
{
	if (job->request)
		protobuf_c_message_free_unpacked(job->request, NULL);
	if (job->reply)
		protobuf_c_message_free_unpacked(job->reply, NULL);
	free(job);
}

static void push(struct console_job **head, struct console_job **tail,
		 struct console_job *job)
{
	job->next = NULL;
	if (*tail)
		(*tail)->next = job;
	else
		*head = job;
	*tail = job;
}

static struct console_job *pop(struct console_job **head, struct console_job **tail)
{
	struct console_job *job = *head;

	if (job && !(*head = job->next))
		*tail = NULL;
	return job;
}

/* --- the call thread -------------------------------------------------- */

static bool ensure_client(struct console *c, fd_status *st)
{
	fd_client_options o = { .url = c->server_url,
				.timeout_ms = CONSOLE_CALL_MS,
				.resend_ms = 1000 };

	return c->client || fd_client_open(&c->client, &o, st) == FD_OK;
}

static void run_job(struct console *c, struct console_job *job)
{
	if (!ensure_client(c, &job->st)) {
		job->code = job->st.code;
		return;
	}
	if (job->kind == JOB_CALL && !atomic_load(&c->link_up)) {
		job->code = fd_fail(&job->st, FD_UNAVAILABLE, "the server is unreachable");
		return;
	}
	if (job->kind == JOB_LOGIN)
		fd_client_set_token(c->client, NULL);
	job->code = fd_client_call(c->client, job->path, job->request,
				   job->reply_desc, &job->reply,
				   job->kind == JOB_PING ? CONSOLE_PING_MS
							 : CONSOLE_CALL_MS,
				   &job->st);
	if (job->kind == JOB_LOGIN) {
		Frontdesk__V1__LoginRequest *lr = (Frontdesk__V1__LoginRequest *)job->request;

		sodium_memzero(lr->password, strlen(lr->password));
	}
	if (job->kind == JOB_LOGIN && job->code == FD_OK) {
		Frontdesk__V1__LoginReply *r = (Frontdesk__V1__LoginReply *)job->reply;

		fd_client_set_token(c->client, r->session_token);
		sodium_memzero(r->session_token, strlen(r->session_token));
	}
	if (job->kind == JOB_PING)
		atomic_store(&c->link_up, job->code == FD_OK);
}

static void *call_main(void *arg)
{
	struct console *c = arg;

	pthread_mutex_lock(&c->call_lock);
	for (;;) {
		struct console_job *job;

		while (!c->call_stop && !c->queued_head)
			pthread_cond_wait(&c->call_cond, &c->call_lock);
		if (c->call_stop)
			break;
		job = pop(&c->queued_head, &c->queued_tail);
		pthread_mutex_unlock(&c->call_lock);
		run_job(c, job);
		pthread_mutex_lock(&c->call_lock);
		push(&c->done_head, &c->done_tail, job);
		uv_async_send(&c->calls_wake);
	}
	pthread_mutex_unlock(&c->call_lock);
	return NULL;
}

/* --- back on the loop ------------------------------------------------- */

static void report_failure(struct console *c, struct console_job *job)
{
	char *msg;

	if (job->kind == JOB_PING) {
		c->connected = false;
		return;
	}
	msg = desk_escape_text(job->st.message);
	console_set_status(c, "%s: %s", job->action, msg ? msg : "failed");
	free(msg);
	if (job->code == FD_UNAVAILABLE || job->code == FD_DEADLINE_EXCEEDED)
		c->connected = false;
	else if (job->code == FD_UNAUTHENTICATED && job->kind != JOB_LOGIN &&
		 c->logged_in && !c->locked)
		console_lock(c, "the server ended the session; enter your password");
}

static void apply(struct console *c, struct console_job *job)
{
	struct console_reply r = { .code = job->code, .about = job->about };

	if (job->code != FD_OK)
		report_failure(c, job);
	/* A lock (or logout) since the call was sent: its reply may hold
	 * patient data nobody may see now. */
	if (!job->done ||
	    (job->kind != JOB_PING && job->session_gen != c->session_gen))
		return; /* pings outlive locks: the link matters regardless */
	r.msg = job->reply;
	job->reply = NULL;
	job->done(c, &r);
	if (r.msg)
		protobuf_c_message_free_unpacked(r.msg, NULL);
}

static void on_calls_done(uv_async_t *h)
{
	struct console *c = h->data;
	struct console_job *job;

	for (;;) {
		pthread_mutex_lock(&c->call_lock);
		job = pop(&c->done_head, &c->done_tail);
		pthread_mutex_unlock(&c->call_lock);
		if (!job)
			break;
		c->in_flight--;
		if (job->kind == JOB_PING)
			c->ping_in_flight = false;
		apply(c, job);
		job_free(job);
	}
	if (!c->quit)
		console_draw(c);
}

static void enqueue(struct console *c, struct console_job *job)
{
	job->session_gen = c->session_gen;
	c->in_flight++;
	pthread_mutex_lock(&c->call_lock);
	/* While the banner is up a call fails at once (handed straight back)
	 * instead of freezing behind others for a deadline each. */
	if (job->kind == JOB_CALL && !c->connected) {
		job->code = fd_fail(&job->st, FD_UNAVAILABLE, "the server is unreachable");
		push(&c->done_head, &c->done_tail, job);
		uv_async_send(&c->calls_wake);
	} else {
		push(&c->queued_head, &c->queued_tail, job);
		pthread_cond_signal(&c->call_cond);
	}
	pthread_mutex_unlock(&c->call_lock);
}

static struct console_job *new_job(struct console *c, enum job_kind kind,
				   const ProtobufCServiceDescriptor *svc,
				   const char *method, const ProtobufCMessage *request,
				   const char *action, console_done done, int64_t about)
{
	const ProtobufCMethodDescriptor *m =
		protobuf_c_service_descriptor_get_method_by_name(svc, method);
	struct console_job *job;

	if (!m || m->input != request->descriptor) {
		console_set_status(c, "%s: desk bug: no method %s", action, method);
		return NULL;
	}
	if (!(job = calloc(1, sizeof *job)) || !(job->request = copy_message(request))) {
		free(job);
		console_set_status(c, "%s: out of memory", action);
		return NULL;
	}
	job->kind = kind;
	snprintf(job->path, sizeof job->path, "/%s/%s", svc->name, m->name);
	job->reply_desc = m->output;
	snprintf(job->action, sizeof job->action, "%s", action);
	job->done = done;
	job->about = about;
	return job;
}

void console_send(struct console *c, const ProtobufCServiceDescriptor *svc,
		  const char *method, const ProtobufCMessage *request,
		  const char *action, console_done done, int64_t about)
{
	struct console_job *job =
		new_job(c, JOB_CALL, svc, method, request, action, done, about);

	if (job)
		enqueue(c, job);
}

void console_send_login(struct console *c, const Frontdesk__V1__LoginRequest *req,
			console_done done)
{
	struct console_job *job = new_job(c, JOB_LOGIN, &frontdesk__v1__auth__descriptor,
					  "Login", &req->base, "cannot log in", done, 0);

	if (job)
		enqueue(c, job);
}

void console_send_ping(struct console *c, console_done done)
{
	Frontdesk__V1__PingRequest req = FRONTDESK__V1__PING_REQUEST__INIT;
	struct console_job *job;

	if (c->ping_in_flight)
		return;
	job = new_job(c, JOB_PING, &frontdesk__v1__health__descriptor, "Ping",
		      &req.base, "ping", done, 0);
	if (!job)
		return;
	c->ping_in_flight = true;
	enqueue(c, job);
}

/* --- start and stop --------------------------------------------------- */

int console_calls_start(struct console *c)
{
	pthread_mutex_init(&c->call_lock, NULL);
	pthread_cond_init(&c->call_cond, NULL);
	atomic_store(&c->link_up, false);
	if (uv_async_init(c->loop, &c->calls_wake, on_calls_done) != 0)
		return -1;
	c->calls_wake.data = c;
	if (pthread_create(&c->call_thread, NULL, call_main, c) != 0)
		return -1;
	c->call_running = true;
	return 0;
}

static void drop_all(struct console_job **head, struct console_job **tail)
{
	struct console_job *job;

	while ((job = pop(head, tail)))
		job_free(job);
}

/* Called once, after console_calls_start (whether or not it succeeded). */
void console_calls_stop(struct console *c)
{
	if (c->call_running) {
		pthread_mutex_lock(&c->call_lock);
		c->call_stop = true;
		pthread_cond_signal(&c->call_cond);
		pthread_mutex_unlock(&c->call_lock);
		pthread_join(c->call_thread, NULL);
		c->call_running = false;
	}
	drop_all(&c->queued_head, &c->queued_tail);
	drop_all(&c->done_head, &c->done_tail);
	pthread_cond_destroy(&c->call_cond);
	pthread_mutex_destroy(&c->call_lock);
}
