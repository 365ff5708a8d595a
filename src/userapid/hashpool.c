/* SPDX-License-Identifier: MIT */
/*
 * hashpool.c - password-hashing threads of one worker; see hashpool.h.
 *
 * Two FIFO lists under one mutex: todo (submitted, not started) and done
 * (finished, not collected).  The threads sleep on a condition variable;
 * the loop thread learns of finished jobs through the eventfd and never
 * blocks on the mutex for longer than a list operation.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "hashpool.h"

struct hashpool {
    pthread_mutex_t      lock;
    pthread_cond_t       wake;
    struct hashpool_job *todo, *todo_tail;
    struct hashpool_job *done, *done_tail;
    int                  stop;
    int                  pending;       /* loop thread only */
    int                  efd;
    int                  nthreads;
    pthread_t           *threads;
};

#define HASHPOOL_NICE 5

static void *hashpool_thread(void *arg);

static void *
hashpool_thread(void *arg)
{
    struct hashpool     *p = arg;
    struct hashpool_job *job;
    uint64_t             one = 1;

    /*
     * A little below the event loop: a hash takes tens of milliseconds,
     * and a loop that has to wait behind one stalls every connection of
     * its worker.  Still all idle CPU goes to hashing.  Best effort: a
     * sandbox may refuse it.
     */
    setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), HASHPOOL_NICE);

    for (;;) {
        pthread_mutex_lock(&p->lock);
        while (p->todo == NULL && !p->stop)
            pthread_cond_wait(&p->wake, &p->lock);
        if (p->stop) {
            pthread_mutex_unlock(&p->lock);
            return NULL;
        }
        job = p->todo;
        p->todo = job->next;
        if (p->todo == NULL)
            p->todo_tail = NULL;
        pthread_mutex_unlock(&p->lock);

        /* Nobody waits for it: do not burn a hash's worth of CPU. */
        if (!__atomic_load_n(&job->cancelled, __ATOMIC_ACQUIRE))
            job->run(job);

        pthread_mutex_lock(&p->lock);
        job->next = NULL;
        if (p->done_tail != NULL)
            p->done_tail->next = job;
        else
            p->done = job;
        p->done_tail = job;
        pthread_mutex_unlock(&p->lock);
        /* Cannot fail short of a counter overflow. */
        while (write(p->efd, &one, sizeof(one)) == -1 && errno == EINTR)
            ;
    }
}

struct hashpool *
hashpool_new(int nthreads)
{
    struct hashpool *p;
    sigset_t         all, old;
    int              i;

    if (nthreads < 1 || (p = calloc(1, sizeof(*p))) == NULL)
        return NULL;
    p->threads = calloc((size_t)nthreads, sizeof(*p->threads));
    p->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (p->threads == NULL || p->efd == -1) {
        if (p->efd != -1)
            close(p->efd);
        free(p->threads);
        free(p);
        return NULL;
    }
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->wake, NULL);
    /* Signals belong to the loop thread's signalfd, never to these. */
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    for (i = 0; i < nthreads; i++) {
        if (pthread_create(&p->threads[i], NULL, hashpool_thread, p) != 0)
            break;
        p->nthreads++;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (p->nthreads == 0) {
        hashpool_free(p);
        errno = EAGAIN;
        return NULL;
    }
    return p;
}

void
hashpool_free(struct hashpool *p)
{
    int i;

    if (p == NULL)
        return;
    pthread_mutex_lock(&p->lock);
    p->stop = 1;
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->lock);
    for (i = 0; i < p->nthreads; i++)
        pthread_join(p->threads[i], NULL);
    pthread_mutex_destroy(&p->lock);
    pthread_cond_destroy(&p->wake);
    close(p->efd);
    free(p->threads);
    free(p);
}

int
hashpool_fd(const struct hashpool *p)
{
    return p->efd;
}

int
hashpool_pending(const struct hashpool *p)
{
    return p->pending;
}

void
hashpool_cancel(struct hashpool_job *job)
{
    __atomic_store_n(&job->cancelled, 1, __ATOMIC_RELEASE);
}

void
hashpool_submit(struct hashpool *p, struct hashpool_job *job)
{
    job->next = NULL;
    pthread_mutex_lock(&p->lock);
    if (p->todo_tail != NULL)
        p->todo_tail->next = job;
    else
        p->todo = job;
    p->todo_tail = job;
    pthread_cond_signal(&p->wake);
    pthread_mutex_unlock(&p->lock);
    p->pending++;
}

struct hashpool_job *
hashpool_collect(struct hashpool *p)
{
    struct hashpool_job *list, *j;
    uint64_t             n;

    /* Reset the eventfd first: a job finishing after this wakes us again. */
    while (read(p->efd, &n, sizeof(n)) == -1 && errno == EINTR)
        ;
    pthread_mutex_lock(&p->lock);
    list = p->done;
    p->done = p->done_tail = NULL;
    pthread_mutex_unlock(&p->lock);
    for (j = list; j != NULL; j = j->next)
        p->pending--;
    return list;
}
