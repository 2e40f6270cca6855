/*
 * The bounded work queue and its worker threads. Each worker owns one
 * PostgreSQL connection for its whole life (libpq connections are never
 * shared across threads) and runs queued calls one at a time through the
 * dispatcher. A full queue refuses at once (workq_submit returns -1) so the
 * caller can answer RESOURCE_EXHAUSTED instead of queueing without bound.
 *
 * Threads: workq_submit from any thread; start/stop from the main thread.
 */
#ifndef FD_WORKQ_H
#define FD_WORKQ_H

#include <stdbool.h>

#include "call.h"

/* Background jobs (the janitor) share the queue with calls. A job runs on a
 * worker with that worker's connection and frees itself. */
typedef struct fd_job {
	void (*run)(struct fd_job *job, PGconn *conn); /* conn may be NULL */
	struct fd_job *next;
} fd_job;

int workq_start(int workers, int depth) __attribute__((warn_unused_result));
/* Queues a call; -1 when the queue is full or stopping. */
int workq_submit(fd_call *call) __attribute__((warn_unused_result));
/* Queues a job; jobs do not count against the depth (they are few). */
void workq_submit_job(fd_job *job);
/* Calls waiting plus calls running. */
int workq_busy(void);
/* Finishes every queued call and job, then joins the workers. */
void workq_stop(void);

#endif
