/*
 * The real frontdeskd binary as a child process of a test: started on
 * private ipc:// URLs against a test database, waited for until Health.Ping
 * answers, stopped with SIGTERM (and its exit status checked) or killed.
 * Under FD_VALGRIND=1 the server runs under valgrind too.
 */
#ifndef FD_TEST_SERVER_PROC_H
#define FD_TEST_SERVER_PROC_H

#include <stdbool.h>
#include <sys/types.h>

#include "frontdesk.h"

typedef struct tp_server {
	pid_t pid;
	char url[128];
	char events_url[128];
	char dbname[64];
	char log_path[128];
	/* Set before tp_server_start (zero the struct first): more listen URLs (e.g. tls+tcp://);
	 * readiness is still probed on url. */
	char extra_listen[128];
} tp_server;

/* extra: NULL-terminated "--setting=value" flags, or NULL. Returns 0 when
 * the server answers Ping; -1 (after killing it) otherwise. */
int tp_server_start(tp_server *s, const char *dbname, const char *const *extra);
/* Like tp_server_start but reuses s->url/s->events_url (a restart). */
int tp_server_restart(tp_server *s, const char *const *extra);
/* SIGTERM and wait; returns the exit code, or -1 when it did not exit
 * normally within 30 s (then it is killed). */
int tp_server_stop(tp_server *s);
/* Waits (30 s at most) for a server already told to stop; as above. */
int tp_server_wait_exit(tp_server *s);
void tp_server_kill(tp_server *s);
/* Prints the server's log to stdout (for failing tests). */
void tp_server_dump_log(const tp_server *s);

/* A client connected to s. Aborts the test binary when it cannot open. */
fd_client *tp_client(const tp_server *s);
/* Logs c in as user (TP_PASSWORD) at desk; returns the status code. */
int tp_login(fd_client *c, const char *user, const char *desk);

/* Calls a method by service descriptor + name (reply freed by caller). */
int tp_call(fd_client *c, const ProtobufCServiceDescriptor *svc,
	    const char *method, const ProtobufCMessage *req,
	    ProtobufCMessage **reply, fd_status *st);

#endif
