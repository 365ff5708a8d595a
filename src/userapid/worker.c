/* SPDX-License-Identifier: MIT */
/*
 * worker.c - the event loop of one worker process.
 *
 * Each worker owns an epoll set holding the shared listen sockets
 * (EPOLLEXCLUSIVE, so one connection wakes one worker), a signalfd, and
 * its connections (edge-triggered).  A connection is a small state machine:
 *
 *   HEAD -> [BODY] -> handle -> queue the answer -> HEAD ... -> [LINGER] -> closed
 *
 * A connection that ends after a complete answer (Connection: close, HTTP
 * 1.0) is closed as soon as the answer is written.  Only one that ends
 * with input still unread (an error, a pipelined request) lingers, reading
 * and discarding until the client closes, so that closing does not reset
 * the connection before the client has read the answer.
 *
 * Answers are queued in the connection's output buffer and written when no
 * further pipelined request can be answered, so pipelined requests are
 * answered in order and often in one write.
 *
 * Timeouts need no heap: every deadline is "now + a fixed duration", so a
 * connection is appended to the tail of the list for that duration and
 * each list stays sorted; expiry only looks at list heads.
 *
 * Memory for reading (the input buffer and the parsed request, about 40 KiB)
 * is taken when a request starts and given back when the connection goes
 * idle, so idle keep-alive connections cost only struct conn.
 *
 * With a store that waits on a database (storage = postgresql), each
 * request runs on a coroutine of a pool (struct conn_task) and its
 * connection waits in CONN_WAIT while a statement is out, as it does for
 * a hashing thread; the database connection (pgloop.c) is one more
 * descriptor of the epoll set.  A request never waits on the database
 * before its handler asks: HEAD / and /status answer from the status
 * page.  A background task refreshes the user count once a second and
 * sweeps expired sessions.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "api.h"
#include "buf.h"
#include "http.h"
#include "client.h"
#include "log.h"
#include "netaddr.h"
#include "proxyproto.h"
#include "proctitle.h"
#include "hashpool.h"
#include "metrics.h"
#include "auth.h"
#include "coro.h"
#include "pgloop.h"
#include "store_pg.h"
#include "worker.h"

#define CONN_IN_CAP        (HTTP_MAX_HEAD + 16384)
#define CONN_OUT_HIGH      (256 * 1024)   /* stop answering until flushed */
#define CONN_BODY_KEEP     (64 * 1024)    /* larger body buffers are freed */
#define LINGER_MS          2000
#define ACCEPT_BATCH       1
#define IO_POOL_MAX        64
#define MAX_EVENTS         256
#define ORPHAN_DRAIN_MS    900
#define HASH_THREADS_MAX   16
#define HASH_QUEUE_MAX     1024           /* waiting jobs: more get 503 */
#define TASK_POOL_MAX      64             /* idle coroutines kept */
#define REFRESH_MS         1000           /* user count from the database */
#define SWEEP_EVERY        10             /* refreshes between sweeps */
#define SWEEP_BATCH        500

enum conn_state {
    CONN_PROXY,         /* reading a PROXY protocol header (proxy listeners) */
    CONN_HANDSHAKE,     /* the TLS handshake (tls listeners) */
    CONN_HEAD,          /* waiting for, or reading, a request head */
    CONN_BODY,          /* reading the body of the parsed head */
    CONN_WAIT,          /* a hashing thread or the database works on it */
    CONN_LINGER,        /* answered and shut down for writing; discarding input */
};

enum timer_list {
    TIMER_NONE = -1,
    TIMER_HEADER,       /* header_timeout: head, body and write progress */
    TIMER_KEEPALIVE,    /* keepalive_timeout: idle between requests */
    TIMER_LINGER,       /* LINGER_MS */
    TIMER_COUNT,
};

/* What one step of a connection's state machine left to do. */
enum conn_step {
    CONN_STEP_MORE,         /* state changed or bytes arrived: step again */
    CONN_STEP_STOP,         /* nothing more to do until the next event */
    CONN_STEP_GONE,         /* closed: c may not be touched */
};

struct conn_io {
    struct http_request req;
    struct conn_io     *next;           /* in the pool */
    size_t              in_len;
    char                in[CONN_IN_CAP];
};

struct conn {
    int                 fd;
    enum conn_state     state;
    struct conn_io     *io;             /* NULL while idle */
    struct http_parser  parser;
    struct buf          body;
    struct buf          out;
    size_t              out_off;
    unsigned            readable : 1;   /* edge-triggered: not yet drained */
    unsigned            writable : 1;
    unsigned            eof : 1;        /* peer shut down its side */
    unsigned            hup : 1;        /* epoll saw FIN or RST: read to the end */
    unsigned            closing : 1;    /* close once the output is written */
    unsigned            linger : 1;     /* closing with input unread: LINGER first */
    unsigned            head_started : 1;
    unsigned            zombie : 1;     /* closed while its job runs */
    unsigned            counted : 1;    /* holds a per-address connection */
    unsigned            fwd_counted : 1; /* its request holds one for the
                                           client a trusted proxy named */
    unsigned            metrics : 1;    /* from a metrics listener */
    unsigned            in_flight : 1;  /* counted in slot->in_flight */
    struct tls_conn    *tls;            /* NULL: plain HTTP */
    struct netaddr      peer;           /* the socket's peer, or a PROXY
                                           header's source */
    struct client       client;         /* of the request being answered */
    struct api_job     *job;            /* while a hashing thread has it */
    struct conn_task   *task;           /* while on a coroutine */
    uint64_t            requests;
    uint64_t            req_start_us;
    enum timer_list     timer;
    uint64_t            deadline;
    struct conn        *tprev, *tnext;
    struct conn        *prev, *next;    /* every connection of the worker */
    char                remote[INET6_ADDRSTRLEN];   /* peer, as text */
};

/* A request, or the background refresh, on a coroutine of the pool. */
struct conn_task {
    struct worker      *w;
    struct coro        *co;
    struct conn        *c;              /* NULL: the background refresh */
    struct api_request  ar;
    struct api_job     *job;            /* to resume; NULL: handle ar */
    struct api_response res;
    int                 rc;
    struct conn_task   *next;           /* in the pool */
};

struct timer_queue {
    struct conn *head, *tail;
    uint64_t     duration_ms;
};

struct worker {
    const struct worker_args *args;
    const struct config      *cfg;
    int                       epfd;
    int                       sigfd;
    int                       draining;
    int                       close_idle;   /* stopping: no idle connection stays */
    uint64_t                  drain_deadline;
    long                      nconns;
    struct conn              *conns;
    struct conn              *dead;     /* closed, freed after the batch */
    struct timer_queue        timers[TIMER_COUNT];
    struct conn_io           *io_pool;
    int                       io_pool_len;
    struct api_ctx            api;
    struct hashpool          *pool;
    int                       pool_tag;
    struct pgloop            *pg;       /* NULL: the store never waits */
    int                       pg_tag;
    struct conn_task         *tasks;    /* idle coroutines */
    int                       ntasks;
    int                       refreshing;
    uint64_t                  refresh_at;
    unsigned                  refreshes;
    uint64_t                  seen_changes; /* status->db_changes */
    struct api_response       res;
    uint32_t                  id_prefix;
    uint64_t                  id_counter;
    time_t                    date_time;
    char                      date[HTTP_DATE_LEN + 1];
    char                      server[64];
    uint64_t                  now_ms;
    uint64_t                  reject_logged_s;
    int                       has_metrics;  /* a metrics listener is ours */
    uint64_t                  sessions;     /* the file store's count ... */
    uint64_t                  sessions_ms;  /* ... and when it was taken */
};

static int      worker_setup(struct worker *w);
static int      worker_open_state(struct worker *w);
static void     worker_accept(struct worker *w, int idx);
static int      worker_conn_new(struct worker *w, int fd,
                    const struct sockaddr_storage *ss, int flags);
static void     worker_reject(struct worker *w, int fd, int flags,
                    const char *why);
static void     worker_reject_log(struct worker *w, const char *why);
static void     worker_signal(struct worker *w);
static void     worker_drain_start(struct worker *w, int close_idle);
static void     worker_close_idle(struct worker *w);
static void     worker_expire(struct worker *w);
static int      worker_timeout_ms(struct worker *w);
static const char *worker_date(struct worker *w);
static void     worker_request_id(struct worker *w, char out[17]);

static void     worker_jobs_done(struct worker *w);
static void     worker_cleanup(struct worker *w);
static void     worker_reap(struct worker *w);
static void     conn_event(struct worker *w, struct conn *c, uint32_t events);
static void     conn_run(struct worker *w, struct conn *c);
static enum conn_step conn_step_linger(struct worker *w, struct conn *c);
static enum conn_step conn_step_proxy(struct worker *w, struct conn *c);
static enum conn_step conn_step_handshake(struct worker *w, struct conn *c);
static int      conn_claim_address(struct worker *w, struct conn *c);
static int      conn_claim_forwarded(struct worker *w, struct conn *c);
static void     conn_release_forwarded(struct worker *w, struct conn *c);
static enum conn_step conn_step_head(struct worker *w, struct conn *c,
                    int *progress);
static enum conn_step conn_step_body(struct worker *w, struct conn *c,
                    int *progress);
static void     conn_after_io(struct worker *w, struct conn *c, int progress);
static void     conn_free(struct worker *w, struct conn *c);
static void     conn_respond(struct worker *w, struct conn *c);
static void     conn_close(struct worker *w, struct conn *c);
static int      conn_read(struct worker *w, struct conn *c);
static int      conn_read_tls(struct conn *c, struct conn_io *io);
static int      conn_flush(struct worker *w, struct conn *c);
static void     conn_handle(struct worker *w, struct conn *c);
static int      conn_hash(struct worker *w, struct conn *c, struct api_job *job);
static void     conn_handled(struct worker *w, struct conn *c, int rc,
                    struct api_job *job, int resumed);
static struct conn_task *conn_task_get(struct worker *w);
static void     conn_task_put(struct worker *w, struct conn_task *t);
static void     conn_task_main(void *arg);
static void     conn_task_start(struct worker *w, struct conn *c,
                    const struct api_request *ar, struct api_job *job);
static int      conn_task_run(struct worker *w, struct conn_task *t, int resumed);
static void     conn_task_wake(void *arg, struct coro *co);
static void     conn_task_finish(struct worker *w, struct conn_task *t,
                    int resumed);
static void     worker_refresh(struct worker *w);
static void     worker_forget_local(struct worker *w);
static void     worker_pg_tick(struct worker *w);
static int      worker_open_store(struct worker *w);
static void     conn_error(struct worker *w, struct conn *c, int status,
                    const char *message);
static void     conn_queue(struct worker *w, struct conn *c,
                    const struct http_request *req, int version,
                    int keep_alive, int head_only, const char *method,
                    const char *path);
static void     conn_metrics(struct worker *w, struct conn *c);
static uint64_t worker_sessions(struct worker *w);
static void     conn_in_flight(struct worker *w, struct conn *c, int on);
static void     conn_next_request(struct worker *w, struct conn *c);
static int      conn_io_get(struct worker *w, struct conn *c);
static void     conn_io_put(struct worker *w, struct conn *c);
static void     conn_timer_update(struct worker *w, struct conn *c);
static void     conn_timer_set(struct worker *w, struct conn *c,
                    enum timer_list t, int refresh);
static void     conn_timer_unlink(struct worker *w, struct conn *c);
static int      worker_cpus(void);

static int
worker_cpus(void)
{
    cpu_set_t set;
    int       n = 0;

    if (sched_getaffinity(0, sizeof(set), &set) == 0)
        n = CPU_COUNT(&set);
    if (n < 1)
        n = (int)sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > HASH_THREADS_MAX ? HASH_THREADS_MAX : n;
}


int
worker_run(const struct worker_args *a)
{
    struct worker       w;
    struct epoll_event  ev[MAX_EVENTS];
    pid_t               pid = getpid();
    int                 i, n;

    memset(&w, 0, sizeof(w));
    w.args = a;
    w.cfg = a->cfg;
    w.epfd = w.sigfd = -1;

    /* The master may already be gone by the time PDEATHSIG is armed. */
    /* SIGUSR2 when the master dies: finish quickly, a new master may be
     * starting.  It may already be gone by the time this is armed. */
    if (prctl(PR_SET_PDEATHSIG, SIGUSR2) == -1 || getppid() != a->master_pid)
        return 1;
    prctl(PR_SET_NAME, "userapid-worker");
    proctitle_set("userapid: worker process #%d (generation %d)", a->number,
        a->generation);

    if (worker_setup(&w) == -1)
        return 1;

    __atomic_store_n(&a->slot->pid, pid, __ATOMIC_RELEASE);
    __atomic_store_n(&a->slot->heartbeat_ms, status_monotonic_ms(),
        __ATOMIC_RELAXED);
    if (write(a->ready_fd, &pid, sizeof(pid)) != sizeof(pid)) {
        log_msg(LOG_ERR, "worker_run: cannot report readiness: %s",
            strerror(errno));
        return 1;
    }
    close(a->ready_fd);

    for (;;) {
        n = epoll_wait(w.epfd, ev, MAX_EVENTS, worker_timeout_ms(&w));
        if (n == -1 && errno != EINTR) {
            log_msg(LOG_ERR, "worker_run: epoll_wait: %s", strerror(errno));
            return 1;
        }
        w.now_ms = status_monotonic_ms();
        __atomic_store_n(&a->slot->heartbeat_ms, w.now_ms, __ATOMIC_RELAXED);

        for (i = 0; i < n; i++) {
            void *p = ev[i].data.ptr;

            if (p == &w.sigfd) {
                worker_signal(&w);
            } else if (p == &w.pool_tag) {
                worker_jobs_done(&w);
            } else if (p == &w.pg_tag) {
                pgloop_event(w.pg, ev[i].events, w.now_ms);
            } else if ((uintptr_t)p < (uintptr_t)a->nlisten + 1) {
                /* Listen sockets are tagged 1..nlisten. */
                if (!w.draining)
                    worker_accept(&w, (int)((uintptr_t)p - 1));
            } else {
                struct conn *c = p;

                /* Closed earlier in this batch: its memory waits in the
                 * dead list until the batch is done. */
                if (c->fd == -1)
                    continue;
                conn_event(&w, c, ev[i].events);
            }
        }
        worker_expire(&w);
        if (w.pg != NULL)
            worker_pg_tick(&w);
        worker_reap(&w);
        if (w.draining && (w.nconns == 0 || w.now_ms >= w.drain_deadline))
            break;
    }
    if (w.nconns > 0)
        log_msg(LOG_WARNING, "worker: drain timeout, closing %ld connections",
            w.nconns);
    worker_cleanup(&w);
    return 0;
}

static void
worker_cleanup(struct worker *w)
{
    struct conn_io   *io;
    struct conn_task *t;

    /* Requests waiting on the database end first (their statements
     * fail), so that no coroutine is left suspended. */
    if (w->pg != NULL) {
        pgloop_shutdown(w->pg);
        pgloop_run_ready(w->pg);
    }
    /* Joined first: no thread may still write into a job. */
    hashpool_free(w->pool);
    while (w->conns != NULL) {
        struct conn *c = w->conns;

        if (c->job != NULL) {
            explicit_bzero(c->job, sizeof(*c->job));
            free(c->job);
            c->job = NULL;
        }
        if (c->fd != -1)
            conn_close(w, c);
        else
            conn_free(w, c);
    }
    worker_reap(w);
    while ((io = w->io_pool) != NULL) {
        w->io_pool = io->next;
        free(io);
    }
    /* The store closes its executor, the database connection, too. */
    store_close(w->api.store);
    while ((t = w->tasks) != NULL) {
        w->tasks = t->next;
        coro_free(t->co);
        api_response_free(&t->res);
        free(t);
    }
    api_response_free(&w->res);
}

static int
worker_setup(struct worker *w)
{
    const struct worker_args *a = w->args;
    struct epoll_event        ev;
    sigset_t                  mask;
    int                       i;

    signal(SIGPIPE, SIG_IGN);
    /* The terminal's ^C and hang-up reach the whole process group; the
     * master decides what they mean and tells the workers. */
    signal(SIGINT, SIG_IGN);
    signal(SIGHUP, SIG_IGN);
    sigemptyset(&mask);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGQUIT);
    sigaddset(&mask, SIGUSR1);
    sigaddset(&mask, SIGUSR2);
    if (sigprocmask(SIG_SETMASK, &mask, NULL) == -1)
        return -1;

    if ((w->epfd = epoll_create1(EPOLL_CLOEXEC)) == -1 ||
        (w->sigfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC)) == -1) {
        log_msg(LOG_ERR, "worker_setup: %s", strerror(errno));
        return -1;
    }
    ev.events = EPOLLIN;
    ev.data.ptr = &w->sigfd;
    if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, w->sigfd, &ev) == -1)
        return -1;
    for (i = 0; i < a->nlisten; i++) {
        if (a->listen_flags[i] & CONFIG_LISTEN_METRICS)
            w->has_metrics = 1;
        ev.events = EPOLLIN | EPOLLEXCLUSIVE;
        ev.data.ptr = (void *)(uintptr_t)(i + 1);
        if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, a->listen_fds[i], &ev) == -1) {
            log_msg(LOG_ERR, "worker_setup: epoll_ctl listen: %s",
                strerror(errno));
            return -1;
        }
    }

    w->timers[TIMER_HEADER].duration_ms = (uint64_t)w->cfg->header_timeout * 1000;
    w->timers[TIMER_KEEPALIVE].duration_ms = (uint64_t)w->cfg->keepalive_timeout * 1000;
    w->timers[TIMER_LINGER].duration_ms = LINGER_MS;
    if (worker_open_state(w) == -1)
        return -1;
    api_response_init(&w->res);
    snprintf(w->server, sizeof(w->server), "userapid/%s", USERAPID_VERSION);
    if (getrandom(&w->id_prefix, sizeof(w->id_prefix), 0) != sizeof(w->id_prefix))
        w->id_prefix = (uint32_t)getpid() * 2654435761u;
    w->now_ms = status_monotonic_ms();
    return 0;
}

static int
worker_timeout_ms(struct worker *w)
{
    uint64_t next = w->now_ms + 1000;   /* heartbeat at least once a second */
    int      t;

    for (t = 0; t < TIMER_COUNT; t++)
        if (w->timers[t].head != NULL && w->timers[t].head->deadline < next)
            next = w->timers[t].head->deadline;
    if (w->draining && w->drain_deadline < next)
        next = w->drain_deadline;
    if (w->pg != NULL && (t = pgloop_timeout_ms(w->pg, w->now_ms)) != -1 &&
        w->now_ms + (uint64_t)t < next)
        next = w->now_ms + (uint64_t)t;
    return next <= w->now_ms ? 0 : (int)(next - w->now_ms);
}

static void
worker_signal(struct worker *w)
{
    struct signalfd_siginfo si;

    while (read(w->sigfd, &si, sizeof(si)) == sizeof(si)) {
        if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGQUIT)
            worker_drain_start(w, 1);
        if (si.ssi_signo == SIGUSR1)
            worker_drain_start(w, 0);
        if (si.ssi_signo == SIGUSR2) {
            /* The master is gone: at most a second for what is in flight. */
            worker_drain_start(w, 1);
            if (w->drain_deadline > w->now_ms + ORPHAN_DRAIN_MS)
                w->drain_deadline = w->now_ms + ORPHAN_DRAIN_MS;
        }
    }
}

/*
 * Stops accepting and lets the busy connections finish.  When stopping
 * (close_idle), idle connections are closed at once; when retired by a
 * reload (SIGUSR1), an idle keep-alive connection stays open until its
 * keep-alive timeout or the drain deadline, and its next request is
 * answered, with Connection: close: a reload breaks no client.
 */
static void
worker_drain_start(struct worker *w, int close_idle)
{
    const struct worker_args *a = w->args;
    int                       i;

    if (close_idle && !w->close_idle) {
        w->close_idle = 1;
        worker_close_idle(w);
    }
    if (w->draining)
        return;
    w->draining = 1;
    w->drain_deadline = w->now_ms + (uint64_t)w->cfg->drain_timeout * 1000;
    proctitle_set("userapid: worker process #%d (generation %d, draining)",
        a->number, a->generation);
    /* Closing our copies frees the port as soon as every process that
     * still listens is gone, so a new master can bind it at once. */
    for (i = 0; i < a->nlisten; i++) {
        epoll_ctl(w->epfd, EPOLL_CTL_DEL, a->listen_fds[i], NULL);
        close(a->listen_fds[i]);
    }
}

/* Closes the connections that have no request under way. */
static void
worker_close_idle(struct worker *w)
{
    struct conn *c, *next;
    int          t;

    for (t = 0; t < TIMER_COUNT; t++) {
        for (c = w->timers[t].head; c != NULL; c = next) {
            next = c->tnext;
            /* Busy ones answer their request with Connection: close. */
            if (c->state == CONN_HEAD && !c->head_started &&
                c->out_off == c->out.len)
                conn_close(w, c);
        }
    }
}

/* What the handlers work on: the store (users, sessions, login counts),
 * the dummy hash of unknown logins and the hashing threads. */
static int
worker_open_state(struct worker *w)
{
    const struct worker_args *a = w->args;
    struct epoll_event        ev;
    char                      err[STORE_ERR_LEN];

    w->api.cfg = w->cfg;
    w->api.status = a->status;
    w->api.metrics = &a->slot->m;
    if (w->cfg->storage == CONFIG_STORAGE_POSTGRESQL) {
        if (worker_open_store(w) == -1)
            return -1;
    } else if ((w->api.store = store_open(w->cfg, 0, err, sizeof(err))) == NULL) {
        log_msg(LOG_ERR, "worker: %s", err);
        return -1;
    }
    w->api.dummy_hash = auth_dummy_hash((unsigned long)w->cfg->password_cost);
    if (w->api.dummy_hash == NULL) {
        log_msg(LOG_ERR, "worker: cannot make the dummy hash: %s", strerror(errno));
        return -1;
    }
    /* As many hashing threads as CPUs in every worker: connections
     * are not spread evenly over workers, hashing capacity must be. */
    if ((w->pool = hashpool_new(worker_cpus())) == NULL) {
        log_msg(LOG_ERR, "worker: cannot start the hashing thread: %s",
            strerror(errno));
        return -1;
    }
    ev.events = EPOLLIN;
    ev.data.ptr = &w->pool_tag;
    if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, hashpool_fd(w->pool), &ev) == -1)
        return -1;
    return 0;
}

/* The PostgreSQL store on this worker's own connection, made by the
 * loop: the worker starts whether the database is there or not. */
static int
worker_open_store(struct worker *w)
{
    char password[STORE_PG_PASSWORD_MAX], err[STORE_ERR_LEN];

    if (store_pg_password(w->cfg, password, sizeof(password), err,
        sizeof(err)) == -1) {
        log_msg(LOG_ERR, "worker: %s", err);
        return -1;
    }
    w->pg = pgloop_new(w->cfg, password[0] != '\0' ? password : NULL,
        w->epfd, &w->pg_tag, STORE_PG_CHECK_SQL, STORE_PG_CHECK_WANT,
        conn_task_wake, w, err, sizeof(err));
    explicit_bzero(password, sizeof(password));
    if (w->pg == NULL) {
        log_msg(LOG_ERR, "worker: %s", err);
        return -1;
    }
    /* The store owns the loop from here, even when it fails. */
    w->api.store = store_pg_attach(w->cfg, pgloop_pgx(w->pg),
        STORE_PG_LAZY | STORE_PG_CACHE, err, sizeof(err));
    if (w->api.store == NULL) {
        log_msg(LOG_ERR, "worker: %s", err);
        w->pg = NULL;
        return -1;
    }
    /* Connecting starts now: requests that come first wait for it. */
    pgloop_tick(w->pg, status_monotonic_ms());
    return 0;
}

/* Takes up to ACCEPT_BATCH connections from listen socket idx.  One, as
 * nginx does by default: the listen socket is level-triggered, so the
 * rest of a burst wakes this worker again or, while it is busy, another
 * one, instead of all of it landing on whichever woke first. */
static void
worker_accept(struct worker *w, int idx)
{
    const struct worker_args *a = w->args;
    struct sockaddr_storage   ss;
    socklen_t                 sslen;
    int                       fd, i;

    for (i = 0; i < ACCEPT_BATCH; i++) {
        sslen = sizeof(ss);
        fd = accept4(a->listen_fds[idx], (struct sockaddr *)&ss, &sslen,
            SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd == -1) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            if (errno != EAGAIN)
                log_msg(LOG_ERR, "worker_accept: %s", strerror(errno));
            return;
        }
        if (status_conn_acquire(a->status, a->slot, w->cfg->max_connections) == -1) {
            worker_reject(w, fd, a->listen_flags[idx], "too many connections");
            continue;
        }
        if (worker_conn_new(w, fd, &ss, a->listen_flags[idx]) == -1)
            status_conn_release(a->status, a->slot);
    }
}

/*
 * A connection for fd, which holds one of max_connections already: its
 * state, the per-address count of its peer, and its place in the epoll
 * set.  0, or -1 with fd closed (or answered 503) and nothing kept.
 */
static int
worker_conn_new(struct worker *w, int fd, const struct sockaddr_storage *ss,
    int flags)
{
    struct epoll_event  ev;
    struct conn        *c;
    int                 one = 1;

    if ((c = calloc(1, sizeof(*c))) == NULL) {
        close(fd);
        return -1;
    }
    c->fd = fd;
    c->timer = TIMER_NONE;
    buf_init(&c->body);
    buf_init(&c->out);
    /* One spelling per client: an IPv4 client of a dual-stack socket is
     * a.b.c.d, not ::ffff:a.b.c.d, for every limit. */
    if (netaddr_from_sockaddr(ss, &c->peer) == -1 ||
        netaddr_format(&c->peer, c->remote, sizeof(c->remote)) == -1)
        snprintf(c->remote, sizeof(c->remote), "local");
    c->metrics = (flags & CONFIG_LISTEN_METRICS) != 0;
    c->state = flags & CONFIG_LISTEN_PROXY ? CONN_PROXY :
        flags & CONFIG_LISTEN_TLS ? CONN_HANDSHAKE : CONN_HEAD;
    /* Behind a PROXY header the client is known only after it. */
    if (c->state != CONN_PROXY && conn_claim_address(w, c) == -1) {
        worker_reject(w, fd, flags, "too many connections from your address");
        free(c);
        return -1;
    }
    if ((flags & CONFIG_LISTEN_TLS) &&
        (c->tls = tls_conn_new(w->args->tls, fd)) == NULL) {
        if (c->counted)
            throttle_conn_release(w->args->throttle, c->remote,
                w->args->slot_index);
        close(fd);
        free(c);
        return -1;
    }
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
    ev.data.ptr = c;
    if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, fd, &ev) == -1) {
        log_msg(LOG_ERR, "worker_accept: epoll_ctl: %s", strerror(errno));
        if (c->counted)
            throttle_conn_release(w->args->throttle, c->remote,
                w->args->slot_index);
        tls_conn_free(c->tls);
        close(fd);
        free(c);
        return -1;
    }
    w->nconns++;
    c->next = w->conns;
    if (w->conns != NULL)
        w->conns->prev = c;
    w->conns = c;
    w->now_ms = status_monotonic_ms();
    conn_timer_update(w, c);
    return 0;
}

/*
 * Counts c against max_connections_per_ip for its peer.  A trusted proxy
 * is not counted: it carries many clients, each limited by its own
 * address where it matters (logins).  0, or -1 when the address is full.
 */
static int
conn_claim_address(struct worker *w, struct conn *c)
{
    const struct config *cfg = w->cfg;

    if (cfg->ntrusted_proxies > 0 && netaddr_cidr_list_contains(
        cfg->trusted_proxies, cfg->ntrusted_proxies, &c->peer))
        return 0;
    if (throttle_conn_acquire(w->args->throttle, c->remote,
        w->args->slot_index, cfg->max_connections_per_ip) == -1)
        return -1;
    c->counted = 1;
    return 0;
}

/* Over max_connections: a short 503 on the fresh socket, then close.  A
 * TLS or PROXY listener's client expects other bytes first: it is only
 * closed. */
static void
worker_reject(struct worker *w, int fd, int flags, const char *why)
{
    struct api_response *r = &w->res;
    struct http_response h;
    struct buf           out;
    char                 id[17];

    if (flags & (CONFIG_LISTEN_TLS | CONFIG_LISTEN_PROXY)) {
        worker_reject_log(w, why);
        close(fd);
        return;
    }
    buf_init(&out);
    api_response_reset(r);
    api_error(r, 503, why);
    worker_request_id(w, id);
    memset(&h, 0, sizeof(h));
    h.status = r->status;
    h.version = 11;
    h.keep_alive = 0;
    h.date = worker_date(w);
    h.server = w->server;
    h.request_id = id;
    h.content_type = "application/json";
    h.extra = "Retry-After: 1\r\nX-Content-Type-Options: nosniff\r\n";
    h.extra_len = strlen(h.extra);
    h.body = r->body.data;
    h.body_len = r->body.len;
    if (http_response_write(&out, &h) == 0) {
        /* Best effort: the socket buffer of a new connection is empty. */
        if (send(fd, out.data, out.len, MSG_NOSIGNAL | MSG_DONTWAIT) == -1)
            log_msg(LOG_DEBUG, "worker_reject: send: %s", strerror(errno));
    }
    buf_free(&out);
    worker_reject_log(w, why);
    close(fd);
}

/* At most one line a second, however hard the flood. */
static void
worker_reject_log(struct worker *w, const char *why)
{
    if (w->now_ms / 1000 == w->reject_logged_s)
        return;
    w->reject_logged_s = w->now_ms / 1000;
    log_msg(LOG_WARNING, "refusing connections: %s (max_connections %ld, "
        "max_connections_per_ip %ld)", why, w->cfg->max_connections,
        w->cfg->max_connections_per_ip);
}

static const char *
worker_date(struct worker *w)
{
    time_t t = time(NULL);

    if (t != w->date_time) {
        w->date_time = t;
        http_format_date(t, w->date);
    }
    return w->date;
}

static void
worker_request_id(struct worker *w, char out[17])
{
    static const char hex[] = "0123456789abcdef";
    uint64_t          v = (uint64_t)w->id_prefix << 32 | (uint32_t)++w->id_counter;
    int               i;

    for (i = 15; i >= 0; i--, v >>= 4)
        out[i] = hex[v & 15];
    out[16] = '\0';
}

static void
worker_expire(struct worker *w)
{
    struct conn *c;
    int          t;

    for (t = 0; t < TIMER_COUNT; t++) {
        while ((c = w->timers[t].head) != NULL && c->deadline <= w->now_ms) {
            conn_timer_unlink(w, c);
            if (t == TIMER_HEADER && c->out_off == c->out.len &&
                (c->state == CONN_BODY ||
                (c->state == CONN_HEAD && c->head_started))) {
                /* A stalled head or body: say so, then close. */
                conn_error(w, c, 408, c->state == CONN_BODY ?
                    "request body timed out" : "request head timed out");
                conn_run(w, c);
            } else {
                conn_close(w, c);
            }
        }
    }
}

static int
conn_io_get(struct worker *w, struct conn *c)
{
    struct conn_io *io;

    if (c->io != NULL)
        return 0;
    if ((io = w->io_pool) != NULL) {
        w->io_pool = io->next;
        w->io_pool_len--;
    } else if ((io = malloc(sizeof(*io))) == NULL) {
        return -1;
    }
    io->in_len = 0;
    io->next = NULL;
    c->io = io;
    return 0;
}

static void
conn_io_put(struct worker *w, struct conn *c)
{
    struct conn_io *io = c->io;

    if (io == NULL)
        return;
    c->io = NULL;
    if (w->io_pool_len < IO_POOL_MAX) {
        io->next = w->io_pool;
        w->io_pool = io;
        w->io_pool_len++;
    } else {
        free(io);
    }
}

static void
conn_close(struct worker *w, struct conn *c)
{
    conn_timer_unlink(w, c);
    /* No EPOLL_CTL_DEL: the worker never duplicates a connection's
     * descriptor, so closing it takes it out of the epoll set. */
    close(c->fd);
    c->fd = -1;
    if (c->counted)
        throttle_conn_release(w->args->throttle, c->remote, w->args->slot_index);
    conn_release_forwarded(w, c);
    status_conn_release(w->args->status, w->args->slot);
    if (c->job != NULL) {
        /* The hashing thread may still write into c->job: free both
         * later, and spare the hash if it has not started. */
        hashpool_cancel(&c->job->pool);
        c->zombie = 1;
        return;
    }
    if (c->task != NULL) {
        /* Its coroutine waits on the database: freed when it is done. */
        c->zombie = 1;
        return;
    }
    conn_free(w, c);
}

static void
conn_free(struct worker *w, struct conn *c)
{
    conn_in_flight(w, c, 0);
    tls_conn_free(c->tls);
    c->tls = NULL;
    conn_io_put(w, c);
    buf_free(&c->body);
    buf_free(&c->out);
    if (c->prev != NULL)
        c->prev->next = c->next;
    else
        w->conns = c->next;
    if (c->next != NULL)
        c->next->prev = c->prev;
    w->nconns--;
    /* Events for it may still wait in the current epoll batch. */
    c->fd = -1;
    c->next = w->dead;
    w->dead = c;
}

/* Frees the connections closed during the batch just handled. */
static void
worker_reap(struct worker *w)
{
    struct conn *c;

    while ((c = w->dead) != NULL) {
        w->dead = c->next;
        free(c);
    }
}

/*
 * One epoll event for c.  Edge-triggered, so the flags say what changed:
 * a FIN or RST that came with data in one edge raises no further edge, so
 * it is remembered (hup) and reading goes on until the end of the stream
 * is seen, in every state.  A reset or a connection shut both ways
 * (EPOLLERR, EPOLLHUP) can carry no answer: it is closed at once, also
 * while its request waits for a hashing thread (the job is then skipped).
 */
static void
conn_event(struct worker *w, struct conn *c, uint32_t events)
{
    if ((events & (EPOLLERR | EPOLLHUP)) && c->state != CONN_LINGER) {
        conn_close(w, c);
        return;
    }
    if (events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR))
        c->hup = 1;
    if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
        c->readable = 1;
    if (events & EPOLLOUT)
        c->writable = 1;
    conn_run(w, c);
}

/* Reads what fits.  Returns >0 bytes, 0 on EOF, -1 when drained, -2 on error. */
static int
conn_read(struct worker *w, struct conn *c)
{
    struct conn_io *io;
    ssize_t         n;

    if (conn_io_get(w, c) == -1)
        return -2;
    io = c->io;
    if (io->in_len == sizeof(io->in))
        return -1;
    if (c->tls != NULL)
        return conn_read_tls(c, io);
    n = recv(c->fd, io->in + io->in_len, sizeof(io->in) - io->in_len, 0);
    if (n > 0) {
        /* Edge-triggered: a short read drained the socket, and data that
         * comes later raises a new edge.  Saves a read that finds nothing;
         * but after a FIN or RST no edge follows, so read on to see it. */
        if ((size_t)n < sizeof(io->in) - io->in_len && !c->hup)
            c->readable = 0;
        io->in_len += (size_t)n;
        return (int)n;
    }
    if (n == 0) {
        c->eof = 1;
        c->readable = 0;
        return 0;
    }
    if (errno == EAGAIN || errno == EINTR) {
        if (errno == EAGAIN)
            c->readable = 0;
        return -1;
    }
    return -2;
}

/*
 * conn_read for a TLS connection: OpenSSL reads ahead (a whole flight of
 * records at once) and keeps what it has not returned yet, so a short
 * read says nothing of the socket; only TLS_WANT_READ does.  As conn_read.
 */
static int
conn_read_tls(struct conn *c, struct conn_io *io)
{
    ssize_t n;

    n = tls_conn_read(c->tls, io->in + io->in_len, sizeof(io->in) - io->in_len);
    if (n > 0) {
        io->in_len += (size_t)n;
        return (int)n;
    }
    if (n == 0) {
        c->eof = 1;
        c->readable = 0;
        return 0;
    }
    if (n == TLS_WANT_READ) {
        c->readable = 0;
        return -1;
    }
    if (n == TLS_WANT_WRITE) {
        /* A key update to send first: the next EPOLLOUT reads on. */
        c->writable = 0;
        return -1;
    }
    return -2;
}

/* Writes queued output.  Returns 0 when all is written, 1 when blocked, -1 on error. */
static int
conn_flush(struct worker *w, struct conn *c)
{
    ssize_t n;

    (void)w;
    while (c->out_off < c->out.len) {
        if (c->tls != NULL) {
            n = tls_conn_write(c->tls, c->out.data + c->out_off,
                c->out.len - c->out_off);
            if (n == TLS_WANT_WRITE)
                c->writable = 0;
            if (n == TLS_WANT_WRITE || n == TLS_WANT_READ)
                return 1;
            if (n < 0)
                return -1;
            c->out_off += (size_t)n;
            continue;
        }
        n = send(c->fd, c->out.data + c->out_off, c->out.len - c->out_off,
            MSG_NOSIGNAL);
        if (n > 0) {
            c->out_off += (size_t)n;
            continue;
        }
        if (n == -1 && errno == EINTR)
            continue;
        if (n == -1 && errno == EAGAIN) {
            c->writable = 0;
            return 1;
        }
        return -1;
    }
    c->out_off = 0;
    if (c->out.cap > CONN_OUT_HIGH)
        buf_free(&c->out);
    else
        buf_reset(&c->out);
    return 0;
}

/*
 * Advances the connection as far as the bytes at hand allow, one step per
 * state, then conn_after_io writes what was answered and decides what
 * comes next (close, linger, a timer).
 */
static void
conn_run(struct worker *w, struct conn *c)
{
    enum conn_step step;
    int            progress = 0;

    for (;;) {
        if (c->state == CONN_LINGER)
            step = conn_step_linger(w, c);
        else if (c->state == CONN_PROXY)
            step = conn_step_proxy(w, c);
        else if (c->state == CONN_HANDSHAKE)
            step = conn_step_handshake(w, c);
        else if (c->out.len - c->out_off > CONN_OUT_HIGH || c->state == CONN_WAIT)
            step = CONN_STEP_STOP;
        else if (c->state == CONN_HEAD)
            step = conn_step_head(w, c, &progress);
        else
            step = conn_step_body(w, c, &progress);
        if (step == CONN_STEP_GONE)
            return;
        if (step == CONN_STEP_STOP)
            break;
    }
    conn_after_io(w, c, progress);
}

/* Answered and shut down for writing: discard what the client still
 * sends, so closing after an error does not reset the connection before
 * the client reads the answer. */
static enum conn_step
conn_step_linger(struct worker *w, struct conn *c)
{
    char scratch[4096];
    int  n;

    while ((n = (int)recv(c->fd, scratch, sizeof(scratch), 0)) > 0)
        ;
    if (n == 0 || (n == -1 && errno != EAGAIN && errno != EINTR)) {
        conn_close(w, c);
        return CONN_STEP_GONE;
    }
    c->readable = 0;
    return CONN_STEP_STOP;
}

/*
 * A PROXY protocol header, peeked at and then taken exactly, so that what
 * follows (TLS records, a request) stays in the socket for the next step.
 * The source it names is the client from now on; a LOCAL or UNKNOWN
 * header keeps the peer.  A malformed header closes the connection.
 */
static enum conn_step
conn_step_proxy(struct worker *w, struct conn *c)
{
    uint8_t          hdr[PROXYPROTO_V2_MAX];
    struct proxyproto pp;
    ssize_t          n;
    int              rc;

    if (!c->readable)
        return CONN_STEP_STOP;
    n = recv(c->fd, hdr, sizeof(hdr), MSG_PEEK);
    if (n == -1 && (errno == EAGAIN || errno == EINTR)) {
        c->readable = 0;
        return CONN_STEP_STOP;
    }
    rc = n > 0 ? proxyproto_parse(hdr, (size_t)n, &pp) : PROXYPROTO_INVALID;
    if (rc == PROXYPROTO_AGAIN && !c->hup) {
        c->readable = 0;        /* the rest of the header comes later */
        return CONN_STEP_STOP;
    }
    if (rc <= 0 || recv(c->fd, hdr, (size_t)rc, 0) != rc) {
        conn_close(w, c);
        return CONN_STEP_GONE;
    }
    if (pp.command == PROXYPROTO_PROXY) {
        c->peer = pp.src;
        if (netaddr_format(&c->peer, c->remote, sizeof(c->remote)) == -1)
            snprintf(c->remote, sizeof(c->remote), "local");
    }
    if (conn_claim_address(w, c) == -1) {
        worker_reject_log(w, "too many connections from your address");
        conn_close(w, c);
        return CONN_STEP_GONE;
    }
    c->state = c->tls != NULL ? CONN_HANDSHAKE : CONN_HEAD;
    return CONN_STEP_MORE;
}

/* The TLS handshake, as far as the socket allows; a client that fails it
 * (plain HTTP, TLS 1.1, SSLv3) is closed at once. */
static enum conn_step
conn_step_handshake(struct worker *w, struct conn *c)
{
    int rc;

    if (!c->readable && !c->writable)
        return CONN_STEP_STOP;
    rc = tls_conn_handshake(c->tls);
    if (rc == 0) {
        /* Bytes of the first request may sit in OpenSSL's buffer. */
        c->state = CONN_HEAD;
        c->readable = 1;
        return CONN_STEP_MORE;
    }
    if (rc == TLS_WANT_READ) {
        c->readable = 0;
        return CONN_STEP_STOP;
    }
    if (rc == TLS_WANT_WRITE) {
        c->writable = 0;
        return CONN_STEP_STOP;
    }
    conn_close(w, c);
    return CONN_STEP_GONE;
}

/* Reads and parses a head; a complete one goes on to its body or is
 * answered. */
static enum conn_step
conn_step_head(struct worker *w, struct conn *c, int *progress)
{
    struct conn_io *io = c->io;
    int             rc, n;

    if (c->closing || (w->close_idle && !c->head_started))
        return CONN_STEP_STOP;
    rc = io != NULL && io->in_len > 0 ?
        http_parse_head(&c->parser, io->in, io->in_len, &io->req) :
        HTTP_PARSE_AGAIN;
    if (rc == HTTP_PARSE_AGAIN) {
        if (!c->readable)
            return CONN_STEP_STOP;
        n = conn_read(w, c);
        if (n > 0) {
            if (!c->head_started) {
                c->head_started = 1;
                c->req_start_us = status_monotonic_us();
                http_parser_init(&c->parser, (size_t)w->cfg->max_body_size);
                conn_timer_set(w, c, TIMER_HEADER, 1);
            }
            *progress = 1;
            return CONN_STEP_MORE;
        }
        if (n == -2) {
            conn_close(w, c);
            return CONN_STEP_GONE;
        }
        if (n == -1 && c->io != NULL && c->io->in_len == sizeof(c->io->in)) {
            conn_error(w, c, 431, "request head too large");
            return CONN_STEP_MORE;
        }
        return CONN_STEP_STOP;          /* drained, or EOF */
    }
    if (rc > 0) {
        conn_error(w, c, rc, c->parser.error ? c->parser.error : "bad request");
        return CONN_STEP_MORE;
    }
    if (io->req.content_length > 0 || io->req.chunked) {
        c->state = CONN_BODY;
        if (io->req.expect_continue && io->in_len == io->req.head_len &&
            buf_append_str(&c->out, "HTTP/1.1 100 Continue\r\n\r\n") == -1) {
            conn_error(w, c, 500, "out of memory");
            return CONN_STEP_MORE;
        }
        conn_timer_set(w, c, TIMER_HEADER, 1);
        return CONN_STEP_MORE;
    }
    conn_handle(w, c);
    return CONN_STEP_MORE;
}

/* Decodes body bytes at hand, reads more; a complete body is answered. */
static enum conn_step
conn_step_body(struct worker *w, struct conn *c, int *progress)
{
    struct conn_io *io = c->io;
    size_t          consumed;
    int             rc, n;

    rc = http_parse_body(&c->parser, io->in + io->req.head_len,
        io->in_len - io->req.head_len, &consumed, &c->body);
    if (consumed > 0) {
        memmove(io->in + io->req.head_len, io->in + io->req.head_len + consumed,
            io->in_len - io->req.head_len - consumed);
        io->in_len -= consumed;
        *progress = 1;
    }
    if (rc == HTTP_PARSE_OK) {
        conn_handle(w, c);
        return CONN_STEP_MORE;
    }
    if (rc > 0) {
        conn_error(w, c, rc, c->parser.error ? c->parser.error : "bad request body");
        return CONN_STEP_MORE;
    }
    if (!c->readable)
        return CONN_STEP_STOP;
    n = conn_read(w, c);
    if (n == -2) {
        conn_close(w, c);
        return CONN_STEP_GONE;
    }
    return n > 0 ? CONN_STEP_MORE : CONN_STEP_STOP;
}

/*
 * After the steps: writes what was answered, then closes, lingers or sets
 * the timer the state calls for.  The one place a connection ends up
 * after I/O; progress says whether bytes moved (which restarts a
 * stalled-transfer timer).
 */
static void
conn_after_io(struct worker *w, struct conn *c, int progress)
{
    size_t before;
    int    rc;

    if (c->out_off < c->out.len) {
        before = c->out_off;
        if ((rc = conn_flush(w, c)) == -1) {
            conn_close(w, c);
            return;
        }
        if (c->out_off != before || rc == 0)
            progress = 1;
        if (rc == 1) {
            if (progress || c->timer == TIMER_NONE)
                conn_timer_set(w, c, TIMER_HEADER, 1);
            return;
        }
    }
    if (c->state == CONN_LINGER)
        return;
    if (c->closing || (c->eof && c->state == CONN_HEAD) ||
        (w->close_idle && c->state == CONN_HEAD && !c->head_started)) {
        if (c->eof || !c->closing) {
            conn_close(w, c);
            return;
        }
        if (c->tls != NULL)
            tls_conn_shutdown(c->tls);
        if (!c->linger && (c->io == NULL || c->io->in_len == 0)) {
            conn_close(w, c);
            return;
        }
        shutdown(c->fd, SHUT_WR);
        c->state = CONN_LINGER;
        conn_timer_set(w, c, TIMER_LINGER, 1);
        conn_run(w, c);
        return;
    }
    if (c->state == CONN_BODY && c->eof) {
        conn_close(w, c);
        return;
    }
    if (progress && c->state == CONN_BODY)
        conn_timer_set(w, c, TIMER_HEADER, 1);
    conn_timer_update(w, c);
}

/* The request in c->io is complete: answer it, or hand it to a thread or
 * a coroutine. */
static void
conn_handle(struct worker *w, struct conn *c)
{
    struct api_request ar;

    if (c->metrics) {
        conn_metrics(w, c);
        return;
    }
    conn_in_flight(w, c, 1);
    ar.http = &c->io->req;
    ar.body = c->body.data;
    ar.body_len = c->body.len;
    client_resolve(w->cfg, &c->peer, c->tls != NULL, &c->io->req, &c->client);
    ar.remote_addr = c->client.addr;
    ar.secure = c->client.secure;
    if (conn_claim_forwarded(w, c) == -1) {
        api_response_reset(&w->res);
        api_error(&w->res, 503, "too many requests from your address at once");
        buf_append_str(&w->res.headers, "Retry-After: 1\r\n");
        conn_handled(w, c, API_DONE, NULL, 0);
        return;
    }
    if (w->pg != NULL) {
        worker_forget_local(w);
        conn_task_start(w, c, &ar, NULL);
        return;
    }
    api_response_reset(&w->res);
    conn_handled(w, c, api_handle(&w->api, &ar, &w->res), NULL, 0);
}

/*
 * Starts hashing for c: the job a handler left in w->res, or job (one
 * resumed that asks for another hash).  0, or -1 with w->res answered
 * (too many waiting, or no memory).
 */
static int
conn_hash(struct worker *w, struct conn *c, struct api_job *job)
{
    if (job == NULL && hashpool_pending(w->pool) >= HASH_QUEUE_MAX) {
        /* A flood of logins must not queue minutes of hashing. */
        explicit_bzero(&w->res.job, sizeof(w->res.job));
        api_error(&w->res, 503, "too busy hashing passwords; try again");
        buf_append_str(&w->res.headers, "Retry-After: 1\r\n");
        return -1;
    }
    if (job == NULL) {
        if ((job = malloc(sizeof(*job))) == NULL) {
            explicit_bzero(&w->res.job, sizeof(w->res.job));
            api_error(&w->res, 500, "out of memory");
            return -1;
        }
        memcpy(job, &w->res.job, sizeof(*job));
        explicit_bzero(&w->res.job, sizeof(w->res.job));
        job->owner = c;
        job->pool.run = api_job_run;
    }
    /* The body may hold a password: it is not needed any more. */
    if (c->body.len > 0)
        explicit_bzero(c->body.data, c->body.len);
    c->job = job;
    c->state = CONN_WAIT;
    conn_timer_unlink(w, c);
    hashpool_submit(w->pool, &job->pool);
    __atomic_store_n(&w->args->slot->hash_queue,
        (uint64_t)hashpool_pending(w->pool), __ATOMIC_RELAXED);
    return 0;
}

/*
 * What api_handle or api_resume (rc) left in w->res for c: hashing to
 * start, or the answer to queue.  job is the job just resumed (freed
 * here unless it hashes again), or NULL.  resumed: called from the loop
 * rather than from conn_handle, so c is run on here.
 */
static void
conn_handled(struct worker *w, struct conn *c, int rc, struct api_job *job,
    int resumed)
{
    if (rc == API_PENDING && conn_hash(w, c, job) == 0)
        return;
    if (job != NULL) {
        explicit_bzero(job, sizeof(*job));
        free(job);
    }
    c->job = NULL;
    if (c->body.len > 0)
        explicit_bzero(c->body.data, c->body.len);
    if (resumed)
        c->state = CONN_HEAD;
    conn_respond(w, c);
    if (resumed)
        conn_run(w, c);
}

/* ---- coroutines (a store that waits on a database) ---------------------- */

/* An idle task with its coroutine, or NULL. */
static struct conn_task *
conn_task_get(struct worker *w)
{
    struct conn_task *t;

    if ((t = w->tasks) != NULL) {
        w->tasks = t->next;
        w->ntasks--;
        return t;
    }
    if ((t = calloc(1, sizeof(*t))) == NULL)
        return NULL;
    t->w = w;
    api_response_init(&t->res);
    if ((t->co = coro_new(conn_task_main, t)) == NULL) {
        api_response_free(&t->res);
        free(t);
        return NULL;
    }
    return t;
}

static void
conn_task_put(struct worker *w, struct conn_task *t)
{
    explicit_bzero(&t->ar, sizeof(t->ar));
    t->c = NULL;
    t->job = NULL;
    if (w->ntasks >= TASK_POOL_MAX) {
        coro_free(t->co);
        api_response_free(&t->res);
        free(t);
        return;
    }
    t->next = w->tasks;
    w->tasks = t;
    w->ntasks++;
}

/* What a task does on its coroutine. */
static void
conn_task_main(void *arg)
{
    struct conn_task *t = arg;
    struct worker    *w = t->w;

    if (t->c == NULL)
        worker_refresh(w);
    else if (t->job != NULL)
        t->rc = api_resume(&w->api, t->job, &t->res);
    else
        t->rc = api_handle(&w->api, &t->ar, &t->res);
}

/*
 * Runs c's request (ar), or the continuation of its job, on a coroutine.
 * When it waits for the database, c waits in CONN_WAIT and the loop
 * finishes it (conn_task_wake).
 */
static void
conn_task_start(struct worker *w, struct conn *c, const struct api_request *ar,
    struct api_job *job)
{
    struct conn_task *t = conn_task_get(w);

    if (t == NULL || coro_restart(t->co, conn_task_main, t) == -1) {
        if (t != NULL)
            conn_task_put(w, t);
        api_response_reset(&w->res);
        api_error(&w->res, 500, "out of memory");
        conn_handled(w, c, API_DONE, job, job != NULL);
        return;
    }
    t->c = c;
    t->job = job;
    if (ar != NULL)
        t->ar = *ar;
    api_response_reset(&t->res);
    c->task = t;
    c->job = NULL;      /* no hashing thread has it now */
    if (conn_task_run(w, t, job != NULL) == 0) {
        c->state = CONN_WAIT;
        conn_timer_unlink(w, c);
    }
}

/* Runs t until it waits (0) or is finished (1). */
static int
conn_task_run(struct worker *w, struct conn_task *t, int resumed)
{
    if (coro_resume(t->co) == 0)
        return 0;
    conn_task_finish(w, t, resumed);
    return 1;
}

/* pgloop's wake: the statement a task waited for is answered. */
static void
conn_task_wake(void *arg, struct coro *co)
{
    conn_task_run(arg, coro_arg(co), 1);
}

/* t's handler returned: its answer goes on as if made on the loop. */
static void
conn_task_finish(struct worker *w, struct conn_task *t, int resumed)
{
    struct api_response tmp = w->res;
    struct conn        *c = t->c;
    struct api_job     *job = t->job;
    int                 rc = t->rc;

    w->res = t->res;
    t->res = tmp;
    conn_task_put(w, t);
    if (c == NULL) {
        w->refreshing = 0;
        return;
    }
    c->task = NULL;
    if (c->zombie) {
        if (job != NULL) {
            explicit_bzero(job, sizeof(*job));
            free(job);
        }
        explicit_bzero(&w->res.job, sizeof(w->res.job));
        conn_free(w, c);
        return;
    }
    conn_handled(w, c, rc, job, resumed);
}

/* Another worker of this host changed users or ended sessions: what this
 * one has cached may be stale, before the database's notification says
 * so.  A request then reads what the other worker wrote. */
static void
worker_forget_local(struct worker *w)
{
    uint64_t changes = __atomic_load_n(&w->args->status->db_changes,
        __ATOMIC_ACQUIRE);

    if (changes != w->seen_changes) {
        w->seen_changes = changes;
        store_forget(w->api.store);
    }
}

/* The background task: the user count for HEAD / and /status, and now
 * and then a sweep of expired sessions. */
static void
worker_refresh(struct worker *w)
{
    size_t n;

    if (store_user_count(w->api.store, 0, &n) == 0)
        __atomic_store_n(&w->args->status->users, (uint64_t)n,
            __ATOMIC_RELAXED);
    /* Only a worker that serves /metrics pays for counting sessions. */
    if (w->has_metrics && store_session_count(w->api.store, &n) == 0)
        __atomic_store_n(&w->args->status->sessions, (uint64_t)n,
            __ATOMIC_RELAXED);
    if (++w->refreshes % SWEEP_EVERY == 0 &&
        store_sweep(w->api.store, SWEEP_BATCH) == -1 && errno != ENOTCONN)
        log_msg(LOG_WARNING, "sweep: %s", store_errmsg(w->api.store));
}

/* The database's turn in the loop: its deadlines, the refresh, and the
 * coroutines it woke. */
static void
worker_pg_tick(struct worker *w)
{
    const char       *why;
    struct conn_task *t;

    pgloop_tick(w->pg, w->now_ms);
    w->api.degraded = pgloop_up(w->pg, &why) ? NULL : why;
    __atomic_store_n(&w->args->slot->db_down, w->api.degraded != NULL,
        __ATOMIC_RELAXED);
    if (w->api.degraded == NULL && !w->refreshing &&
        w->now_ms >= w->refresh_at && !w->draining) {
        w->refresh_at = w->now_ms + REFRESH_MS;
        if ((t = conn_task_get(w)) != NULL &&
            coro_restart(t->co, conn_task_main, t) == 0) {
            w->refreshing = 1;
            conn_task_run(w, t, 0);
        } else if (t != NULL) {
            conn_task_put(w, t);
        }
    }
    pgloop_run_ready(w->pg);
}

/*
 * A trusted proxy's connection is not held to max_connections_per_ip;
 * the client it names is, for as long as its request is being answered:
 * a proxy multiplexes clients over its connections, so a client's
 * requests in flight are what its connections would be.  0, or -1 when
 * that client is at its limit.
 */
static int
conn_claim_forwarded(struct worker *w, struct conn *c)
{
    if (c->counted || strcmp(c->client.addr, c->remote) == 0)
        return 0;
    if (throttle_conn_acquire(w->args->throttle, c->client.addr,
        w->args->slot_index, w->cfg->max_connections_per_ip) == -1)
        return -1;
    c->fwd_counted = 1;
    return 0;
}

/* The forwarded client's request is answered (or will never be). */
static void
conn_release_forwarded(struct worker *w, struct conn *c)
{
    if (!c->fwd_counted)
        return;
    throttle_conn_release(w->args->throttle, c->client.addr,
        w->args->slot_index);
    c->fwd_counted = 0;
}

/* Queues the answer in w->res for c's request and moves to the next. */
static void
conn_respond(struct worker *w, struct conn *c)
{
    struct http_request *req = &c->io->req;
    char                 path[512];
    int                  keep;

    conn_release_forwarded(w, c);
    keep = req->keep_alive && !w->draining && w->cfg->keepalive_timeout > 0;
    api_cors(w->cfg, req, &w->res.headers);
    /* The path is for the access log only: no copy when it is off. */
    path[0] = '\0';
    if (w->cfg->access_log) {
        size_t n = req->path_len > 500 ? 500 : req->path_len;

        memcpy(path, req->path, n);
        path[n] = '\0';
    }
    conn_queue(w, c, req, req->version, keep, req->method == HTTP_METHOD_HEAD,
        http_method_name(req->method), path);
    conn_next_request(w, c);
}

/*
 * A request on a metrics listener: GET or HEAD /metrics gets the
 * exposition, answered on the loop from the status page (and /proc);
 * any other path is 404, another method 405.  Never touches the store
 * of a database, so a scrape never waits on it.
 */
static void
conn_metrics(struct worker *w, struct conn *c)
{
    const struct http_request *req = &c->io->req;
    struct metrics_gauges      g;

    api_response_reset(&w->res);
    if (req->path_len != 8 || memcmp(req->path, "/metrics", 8) != 0) {
        api_error(&w->res, 404, "no such resource");
    } else if (req->method != HTTP_METHOD_GET &&
        req->method != HTTP_METHOD_HEAD) {
        api_error(&w->res, 405, "only GET and HEAD are allowed here");
        buf_append_str(&w->res.headers, "Allow: GET, HEAD\r\n");
    } else {
        g.users = (uint64_t)api_users_count(&w->api);
        g.sessions = worker_sessions(w);
        g.master_pid = w->args->master_pid;
        w->res.status = 200;
        w->res.content_type = "text/plain; version=0.0.4; charset=utf-8";
        if (metrics_write(&w->res.body, w->args->status, &g) == -1)
            api_error(&w->res, 500, "out of memory");
    }
    conn_handled(w, c, API_DONE, NULL, 0);
}

/* Live sessions for a scrape: the database's from the background
 * refresh; the files' counted here, at most once a second. */
static uint64_t
worker_sessions(struct worker *w)
{
    size_t n;

    if (w->pg != NULL)
        return __atomic_load_n(&w->args->status->sessions, __ATOMIC_RELAXED);
    if (w->sessions_ms == 0 || w->now_ms - w->sessions_ms >= 1000) {
        if (store_session_count(w->api.store, &n) == 0)
            w->sessions = n;
        else
            log_msg(LOG_ERR, "store: %s", store_errmsg(w->api.store));
        w->sessions_ms = w->now_ms;
    }
    return w->sessions;
}

/* Counts c's request in (on) or out of the worker's requests in flight. */
static void
conn_in_flight(struct worker *w, struct conn *c, int on)
{
    long *n = &w->args->slot->in_flight;

    if (c->in_flight == (unsigned)on)
        return;
    c->in_flight = on != 0;
    __atomic_store_n(n, __atomic_load_n(n, __ATOMIC_RELAXED) + (on ? 1 : -1),
        __ATOMIC_RELAXED);
}

/* Finished hashing jobs: continue their requests. */
static void
worker_jobs_done(struct worker *w)
{
    struct hashpool_job *list, *next;

    list = hashpool_collect(w->pool);
    __atomic_store_n(&w->args->slot->hash_queue,
        (uint64_t)hashpool_pending(w->pool), __ATOMIC_RELAXED);
    for (; list != NULL; list = next) {
        struct api_job *job = (struct api_job *)list;
        struct conn    *c = job->owner;

        next = list->next;
        if (c->zombie) {
            explicit_bzero(job, sizeof(*job));
            free(job);
            c->job = NULL;
            conn_free(w, c);
            continue;
        }
        if (w->pg != NULL) {
            conn_task_start(w, c, NULL, job);
            continue;
        }
        api_response_reset(&w->res);
        conn_handled(w, c, api_resume(&w->api, job, &w->res), job, 1);
    }
}

/* Answers status and closes after it: the input cannot be trusted any more. */
static void
conn_error(struct worker *w, struct conn *c, int status, const char *message)
{
    struct conn_io *io = c->io;
    char            method[16] = "-", path[512] = "-";

    if (io != NULL && io->req.method_str != NULL && c->state == CONN_BODY) {
        snprintf(method, sizeof(method), "%.*s", (int)(io->req.method_len > 15 ?
            15 : io->req.method_len), io->req.method_str);
        snprintf(path, sizeof(path), "%.*s", (int)(io->req.path_len > 500 ?
            500 : io->req.path_len), io->req.path);
    }
    if (c->req_start_us == 0)
        c->req_start_us = status_monotonic_us();
    api_response_reset(&w->res);
    api_error(&w->res, status, message);
    conn_queue(w, c, io != NULL && c->state == CONN_BODY ? &io->req : NULL,
        11, 0, 0, method, path);
    c->closing = 1;
    c->linger = 1;
    c->state = CONN_HEAD;
    if (c->io != NULL)
        c->io->in_len = 0;
}

/* Serialises w->res into c's output, counts it for the metrics (req:
 * the parsed request, or NULL) and writes the access log entry. */
static void
conn_queue(struct worker *w, struct conn *c, const struct http_request *req,
    int version, int keep_alive, int head_only, const char *method,
    const char *path)
{
    struct api_response *r = &w->res;
    struct http_response h;
    struct log_access    la;
    char                 gen[17];
    const char          *id = c->client.request_id;
    uint64_t             duration;
    int                  secure;

    /* A trusted proxy's request id is kept: one id end to end. */
    if (id[0] == '\0') {
        worker_request_id(w, gen);
        id = gen;
    }
    /* Every answer: browsers must not guess another type than JSON. */
    buf_append_str(&r->headers, "X-Content-Type-Options: nosniff\r\n");
    secure = c->client.addr[0] != '\0' ? c->client.secure : c->tls != NULL;
    if (secure && w->cfg->hsts_max_age > 0)
        buf_appendf(&r->headers, "Strict-Transport-Security: max-age=%ld\r\n",
            w->cfg->hsts_max_age);
    memset(&h, 0, sizeof(h));
    h.status = r->status;
    h.version = version;
    h.keep_alive = keep_alive;
    h.head_only = head_only;
    h.date = worker_date(w);
    h.server = w->server;
    h.request_id = id;
    h.content_type = r->body.len == 0 ? NULL : r->content_type != NULL ?
        r->content_type : "application/json";
    h.extra = r->headers.data;
    h.extra_len = r->headers.len;
    h.body = r->body.data;
    h.body_len = r->body.len;
    if (http_response_write(&c->out, &h) == -1) {
        log_msg(LOG_ERR, "conn_queue: out of memory");
        c->closing = c->linger = 1;
        return;
    }
    if (!keep_alive)
        c->closing = 1;
    __atomic_add_fetch(&w->args->slot->requests, 1, __ATOMIC_RELAXED);
    duration = status_monotonic_us() - c->req_start_us;
    conn_in_flight(w, c, 0);
    if (!c->metrics)
        metrics_count_request(&w->args->slot->m, req != NULL ? req->method :
            HTTP_METHOD_UNKNOWN, req != NULL ? metrics_route(req->path,
            req->path_len) : METRICS_ROUTE_OTHER, r->status, duration);
    if (w->cfg->access_log) {
        la.request_id = id;
        la.remote_addr = c->client.addr[0] != '\0' ? c->client.addr : c->remote;
        la.method = method;
        la.path = path;
        la.status = r->status;
        la.duration_us = duration;
        la.user = r->user[0] ? r->user : NULL;
        log_access(&la);
    }
}

/* Drops the answered request from the input and resets per-request state. */
static void
conn_next_request(struct worker *w, struct conn *c)
{
    struct conn_io *io = c->io;
    size_t          used = io->req.head_len;

    memmove(io->in, io->in + used, io->in_len - used);
    io->in_len -= used;
    c->state = CONN_HEAD;
    c->requests++;
    c->req_start_us = 0;
    memset(&c->client, 0, sizeof(c->client));
    c->head_started = 0;
    http_parser_init(&c->parser, (size_t)w->cfg->max_body_size);
    if (c->body.cap > CONN_BODY_KEEP)
        buf_free(&c->body);
    else
        buf_reset(&c->body);
    if (io->in_len > 0) {
        /* A pipelined request is already here. */
        c->head_started = 1;
        c->req_start_us = status_monotonic_us();
        conn_timer_set(w, c, TIMER_HEADER, 1);
    }
}

/* Puts c on the timer list its state calls for. */
static void
conn_timer_update(struct worker *w, struct conn *c)
{
    if (c->state == CONN_LINGER)
        return;
    if (c->state == CONN_WAIT) {
        /* The server is the slow one now: no client timeout runs. */
        conn_timer_unlink(w, c);
        return;
    }
    if (c->out_off < c->out.len || c->state == CONN_BODY || c->head_started) {
        conn_timer_set(w, c, TIMER_HEADER, 0);
        return;
    }
    /* Idle: no bytes of a request.  Give the read buffer back, and the
     * answer's and the body's, so that an idle keep-alive connection
     * costs struct conn and nothing more. */
    if (c->io != NULL && c->io->in_len == 0) {
        conn_io_put(w, c);
        buf_free(&c->out);
        buf_free(&c->body);
    }
    if (c->requests == 0)
        conn_timer_set(w, c, TIMER_HEADER, 0);
    else
        conn_timer_set(w, c, TIMER_KEEPALIVE, 0);
}

/*
 * Moves c to list t with deadline now + duration.  Without refresh, a
 * connection already on t keeps its deadline (a head must arrive within
 * header_timeout of its first byte, however it trickles in).
 */
static void
conn_timer_set(struct worker *w, struct conn *c, enum timer_list t, int refresh)
{
    struct timer_queue *q = &w->timers[t];

    if (c->timer == t && !refresh)
        return;
    conn_timer_unlink(w, c);
    c->timer = t;
    c->deadline = w->now_ms + q->duration_ms;
    c->tprev = q->tail;
    c->tnext = NULL;
    if (q->tail != NULL)
        q->tail->tnext = c;
    else
        q->head = c;
    q->tail = c;
}

static void
conn_timer_unlink(struct worker *w, struct conn *c)
{
    struct timer_queue *q;

    if (c->timer == TIMER_NONE)
        return;
    q = &w->timers[c->timer];
    if (c->tprev != NULL)
        c->tprev->tnext = c->tnext;
    else
        q->head = c->tnext;
    if (c->tnext != NULL)
        c->tnext->tprev = c->tprev;
    else
        q->tail = c->tprev;
    c->tprev = c->tnext = NULL;
    c->timer = TIMER_NONE;
}
