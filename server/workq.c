/* Work queue and worker threads; see workq.h. */
#include "workq.h"

#include <pthread.h>
#include <stdlib.h>

#include "db/db.h"
#include "dispatch.h"
#include "log.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake = PTHREAD_COND_INITIALIZER;
static fd_call *head, *tail;
static fd_job *jobs_head, *jobs_tail;
static int queued, running, depth_limit;
static bool stopping;
static pthread_t *threads;
static int n_threads;

static void *worker_main(void *arg)
{
	db_conn dc = { 0 };

	(void)arg;
	for (;;) {
		fd_call *call = NULL;
		fd_job *job = NULL;

		pthread_mutex_lock(&lock);
		while (!head && !jobs_head && !stopping) {
			/* A COMMIT left in flight (db_commit_later) rides
			 * with the next call's first statement; with no call
			 * to carry it, it goes now: no transaction stays
			 * open while the worker sleeps. */
			if (db_unsettled(&dc)) {
				pthread_mutex_unlock(&lock);
				db_settle(&dc);
				pthread_mutex_lock(&lock);
				continue;
			}
			pthread_cond_wait(&wake, &lock);
		}
		if (head) {
			call = head;
			head = call->next_queued;
			if (!head)
				tail = NULL;
			queued--;
		} else if (jobs_head) {
			job = jobs_head;
			jobs_head = job->next;
			if (!jobs_head)
				jobs_tail = NULL;
		} else {
			pthread_mutex_unlock(&lock);
			break; /* stopping and nothing left */
		}
		running++;
		pthread_mutex_unlock(&lock);

		if (call)
			dispatch_run(call, &dc);
		else
		{
			db_settle(&dc); /* jobs get a plain connection */
			job->run(job, db_conn_get(&dc));
		}

		pthread_mutex_lock(&lock);
		running--;
		pthread_mutex_unlock(&lock);
	}
	db_settle(&dc);
	db_conn_close(&dc);
	return NULL;
}

int workq_start(int workers, int depth)
{
	stopping = false;
	depth_limit = depth;
	threads = calloc((size_t)workers, sizeof *threads);
	if (!threads)
		return -1;
	for (n_threads = 0; n_threads < workers; n_threads++)
		if (pthread_create(&threads[n_threads], NULL, worker_main,
				   NULL) != 0) {
			log_error("cannot start worker thread %d", n_threads);
			workq_stop();
			return -1;
		}
	return 0;
}

int workq_submit(fd_call *call)
{
	pthread_mutex_lock(&lock);
	if (stopping || queued >= depth_limit) {
		pthread_mutex_unlock(&lock);
		return -1;
	}
	call->next_queued = NULL;
	if (tail)
		tail->next_queued = call;
	else
		head = call;
	tail = call;
	queued++;
	pthread_cond_signal(&wake);
	pthread_mutex_unlock(&lock);
	return 0;
}

void workq_submit_job(fd_job *job)
{
	pthread_mutex_lock(&lock);
	job->next = NULL;
	if (jobs_tail)
		jobs_tail->next = job;
	else
		jobs_head = job;
	jobs_tail = job;
	pthread_cond_signal(&wake);
	pthread_mutex_unlock(&lock);
}

int workq_busy(void)
{
	int n;

	pthread_mutex_lock(&lock);
	n = queued + running;
	pthread_mutex_unlock(&lock);
	return n;
}

void workq_stop(void)
{
	pthread_mutex_lock(&lock);
	stopping = true;
	pthread_cond_broadcast(&wake);
	pthread_mutex_unlock(&lock);
	for (int i = 0; i < n_threads; i++)
		pthread_join(threads[i], NULL);
	free(threads);
	threads = NULL;
	n_threads = 0;
	/* Jobs submitted after the workers left are freed unrun. */
	while (jobs_head) {
		fd_job *j = jobs_head;
		jobs_head = j->next;
		j->run(j, NULL);
	}
	jobs_tail = NULL;
}
