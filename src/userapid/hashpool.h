/* SPDX-License-Identifier: MIT */
/*
 * hashpool.h - a few threads per worker that run password hashing, so a
 * yescrypt computation (tens of milliseconds) never stalls the event loop.
 *
 * The loop thread submits a job and goes on serving; a pool thread runs
 * job->run(job) and queues the job as done; an eventfd, registered in the
 * worker's epoll set, wakes the loop, which collects the finished jobs and
 * continues each request.  Jobs must only touch their own memory while
 * they run.  The pool is made after fork(): threads do not survive a fork.
 */
#ifndef USERAPID_HASHPOOL_H
#define USERAPID_HASHPOOL_H

struct hashpool_job {
    void                 (*run)(struct hashpool_job *);
    struct hashpool_job   *next;        /* owned by the pool while queued */
    int                    cancelled;   /* set by the loop: skip the work */
};

struct hashpool;

/* nthreads >= 1.  NULL with errno on failure. */
struct hashpool *hashpool_new(int nthreads);
/* Stops and joins the threads; jobs not yet run are dropped. */
void             hashpool_free(struct hashpool *p);
/* The eventfd that becomes readable when jobs are done. */
int              hashpool_fd(const struct hashpool *p);
void             hashpool_submit(struct hashpool *p, struct hashpool_job *job);
/* The client is gone: a job not yet started is passed over (it still
 * comes back through hashpool_collect). */
void             hashpool_cancel(struct hashpool_job *job);
/* Takes every finished job, oldest first, as a list through ->next. */
struct hashpool_job *hashpool_collect(struct hashpool *p);
/* Jobs submitted and not yet collected. */
int              hashpool_pending(const struct hashpool *p);

#endif
