/* Spawning frontdeskd for tests; see server_proc.h. */
#include "server_proc.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "pg.h"
#include "frontdesk/v1/auth.pb-c.h"
#include "frontdesk/v1/health.pb-c.h"

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

static bool valgrind_on(void)
{
	const char *v = getenv("FD_VALGRIND");
	return v && strcmp(v, "1") == 0;
}

static int spawn(tp_server *s, const char *const *extra)
{
	char db[128], listen[320], events[160];
	const char *argv[64];
	int n = 0;

	snprintf(db, sizeof db, "--db=dbname=%s", s->dbname);
	snprintf(listen, sizeof listen, "--listen=%s%s%s", s->url,
		 s->extra_listen[0] ? "," : "", s->extra_listen);
	snprintf(events, sizeof events, "--events-listen=%s", s->events_url);
	if (valgrind_on()) {
		argv[n++] = "valgrind";
		argv[n++] = "-q";
		argv[n++] = "--error-exitcode=99";
		argv[n++] = "--leak-check=full";
		argv[n++] = "--errors-for-leak-kinds=definite";
	}
	argv[n++] = tp_bin("frontdeskd");
	argv[n++] = db;
	argv[n++] = listen;
	argv[n++] = events;
	argv[n++] = "--password-hash-cost=min";
	argv[n++] = "--workers=3";
	for (int i = 0; extra && extra[i] && n < 60; i++)
		argv[n++] = extra[i];
	argv[n++] = "serve";
	argv[n] = NULL;

	fflush(stdout);
	s->pid = fork();
	if (s->pid < 0)
		return -1;
	if (s->pid == 0) {
		FILE *log = freopen(s->log_path, "a", stderr);
		(void)log;
		execvp(argv[0], (char *const *)argv);
		_exit(127);
	}
	return 0;
}

static int wait_ready(tp_server *s)
{
	int budget_ms = valgrind_on() ? 60000 : 15000;

	for (int waited = 0; waited < budget_ms; waited += 50) {
		fd_client_options o = { .url = s->url, .timeout_ms = 1000, .resend_ms = 500 };
		fd_client *c;
		fd_status st;
		int status;

		if (waitpid(s->pid, &status, WNOHANG) == s->pid) {
			s->pid = 0;
			return -1;
		}
		if (fd_client_open(&c, &o, &st) == FD_OK) {
			Frontdesk__V1__PingRequest req = FRONTDESK__V1__PING_REQUEST__INIT;
			ProtobufCMessage *rep = NULL;
			int rc = tp_call(c, &frontdesk__v1__health__descriptor, "Ping",
					 &req.base, &rep, &st);
			if (rep)
				protobuf_c_message_free_unpacked(rep, NULL);
			fd_client_close(c);
			if (rc == FD_OK)
				return 0;
		}
		sleep_ms(50);
	}
	return -1;
}

int tp_server_restart(tp_server *s, const char *const *extra)
{
	if (spawn(s, extra) != 0)
		return -1;
	if (wait_ready(s) != 0) {
		tp_server_dump_log(s);
		tp_server_kill(s);
		return -1;
	}
	return 0;
}

int tp_server_start(tp_server *s, const char *dbname, const char *const *extra)
{
	static int counter;
	char extra_listen[sizeof s->extra_listen];

	memcpy(extra_listen, s->extra_listen, sizeof extra_listen);
	memset(s, 0, sizeof *s);
	memcpy(s->extra_listen, extra_listen, sizeof extra_listen);
	counter++;
	snprintf(s->dbname, sizeof s->dbname, "%s", dbname);
	snprintf(s->url, sizeof s->url, "ipc:///tmp/fdt-%d-%d.sock", (int)getpid(), counter);
	snprintf(s->events_url, sizeof s->events_url, "ipc:///tmp/fdt-%d-%d-ev.sock",
		 (int)getpid(), counter);
	snprintf(s->log_path, sizeof s->log_path, "/tmp/fdt-%d-%d.log", (int)getpid(), counter);
	unlink(s->log_path);
	return tp_server_restart(s, extra);
}

int tp_server_stop(tp_server *s)
{
	if (s->pid <= 0)
		return -1;
	kill(s->pid, SIGTERM);
	return tp_server_wait_exit(s);
}

int tp_server_wait_exit(tp_server *s)
{
	int status;

	if (s->pid <= 0)
		return -1;
	for (int waited = 0; waited < 30000; waited += 20) {
		if (waitpid(s->pid, &status, WNOHANG) == s->pid) {
			s->pid = 0;
			return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
		}
		sleep_ms(20);
	}
	tp_server_kill(s);
	return -1;
}

void tp_server_kill(tp_server *s)
{
	if (s->pid > 0) {
		kill(s->pid, SIGKILL);
		waitpid(s->pid, NULL, 0);
	}
	s->pid = 0;
}

void tp_server_dump_log(const tp_server *s)
{
	FILE *f = fopen(s->log_path, "r");
	char line[1024];

	if (!f)
		return;
	printf("    --- server log %s ---\n", s->log_path);
	while (fgets(line, sizeof line, f))
		printf("    | %s", line);
	fclose(f);
}

fd_client *tp_client(const tp_server *s)
{
	fd_client_options o = { .url = s->url, .timeout_ms = 10000, .resend_ms = 30000 };
	fd_client *c;
	fd_status st;

	if (fd_client_open(&c, &o, &st) != FD_OK) {
		printf("  FATAL cannot open a client to %s: %s\n", s->url, st.message);
		exit(2);
	}
	return c;
}

int tp_call(fd_client *c, const ProtobufCServiceDescriptor *svc,
	    const char *method, const ProtobufCMessage *req,
	    ProtobufCMessage **reply, fd_status *st)
{
	const ProtobufCMethodDescriptor *md =
		protobuf_c_service_descriptor_get_method_by_name(svc, method);
	char path[160];

	*reply = NULL;
	if (!md)
		return fd_fail(st, FD_UNIMPLEMENTED, "test bug: no method %s", method);
	snprintf(path, sizeof path, "/%s/%s", svc->name, method);
	return fd_client_call(c, path, req, md->output, reply, 0, st);
}

int tp_login(fd_client *c, const char *user, const char *desk)
{
	Frontdesk__V1__LoginRequest req = FRONTDESK__V1__LOGIN_REQUEST__INIT;
	ProtobufCMessage *rep = NULL;
	fd_status st;

	req.username = (char *)user;
	req.password = (char *)TP_PASSWORD;
	req.desk = (char *)desk;
	int rc = tp_call(c, &frontdesk__v1__auth__descriptor, "Login", &req.base, &rep, &st);
	if (rc == FD_OK) {
		fd_client_set_token(c, ((Frontdesk__V1__LoginReply *)rep)->session_token);
		protobuf_c_message_free_unpacked(rep, NULL);
	} else {
		printf("    login %s failed: %s %s\n", user, fd_code_name(rc), st.message);
	}
	return rc;
}
