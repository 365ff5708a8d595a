/* SPDX-License-Identifier: MIT */
/*
 * pgloop.c - a worker's PostgreSQL connection in its epoll loop; see
 * pgloop.h.
 *
 * Invariants:
 *   - Statements are answered in the order they were sent: head is the
 *     oldest statement sent and not yet answered.  Each is followed by a
 *     sync point of its own, so one failing statement aborts no other.
 *   - A wait lives on the stack of the coroutine that sent it, which stays
 *     suspended until the wait is done; the loop's own waits (listen,
 *     check) live in struct pgloop.
 *   - A statement asked for while the connection is being made waits in
 *     the pending list, unsent, and is sent once the connection is up, or
 *     fails with it.  While there is no connection, one fails at once.
 *   - Every wait is done exactly once: answered, or failed when the
 *     connection ends.  Only pgloop_run_ready resumes coroutines.
 *   - conn is NULL exactly in state PGL_DOWN; fd is conn's socket, watched
 *     in epfd, or -1.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include "log.h"
#include "pgloop.h"
#include "status.h"

#define PGLOOP_BACKOFF_MIN_MS   250
#define PGLOOP_BACKOFF_MAX_MS   5000

enum pgloop_state {
    PGL_DOWN,           /* no connection; retry_at says when to try */
    PGL_CONNECTING,     /* PQconnectPoll in progress */
    PGL_CHECKING,       /* connected; LISTEN and the schema check sent */
    PGL_UP,             /* statements run */
};

struct pgloop_wait {
    struct pgloop_wait *next;
    struct coro        *co;         /* NULL: one of the loop's own */
    const char         *sql;        /* while pending */
    int                 n;
    const char *const  *values;
    uint64_t            deadline_ms;
    PGresult           *res;        /* the answer, when it succeeded */
    int                 got;        /* a result (or failure) was read */
    int                 waiting;    /* its coroutine yielded for it */
    int                 done;
    int                 err;        /* errno of a failure */
    char                why[PGX_ERR_LEN];
    char                sqlstate[6];
};

struct pgloop {
    struct pgx          x;          /* first: the executor's view */
    char               *conninfo;
    char               *password;   /* NULL: libpq finds it */
    long                timeout;    /* seconds */
    int                 epfd;
    void               *tag;
    int                 fd;
    uint32_t            events;
    PGconn             *conn;
    enum pgloop_state   state;
    struct pgloop_wait *head, *tail;    /* sent, not answered */
    struct pgloop_wait *pend, *pend_tail;   /* not sent: connecting */
    struct pgloop_wait *ready;          /* answered, to resume */
    struct pgloop_wait  listen, check;
    char               *check_sql;
    char               *want;
    uint64_t            retry_at;
    uint64_t            connect_deadline;
    uint64_t            backoff_ms;
    int                 was_up;
    char                why[PGX_ERR_LEN];   /* why not up */
    pgloop_wake_fn      wake;
    void               *wake_arg;
};

static void pgloop_down(struct pgloop *, int, const char *);
static void pgloop_done(struct pgloop *, struct pgloop_wait *);
static void pgloop_notice(void *, const char *);
static void pgloop_send_pending(struct pgloop *);

static struct pgloop *
pgloop_of(struct pgx *x)
{
    return (struct pgloop *)x;
}

/* libpq's messages end with a newline; why keeps the first line. */
static void
pgloop_why(char *dst, size_t len, const char *msg)
{
    snprintf(dst, len, "%s", msg != NULL && *msg != '\0' ? msg :
        "the connection failed");
    dst[strcspn(dst, "\n")] = '\0';
}

/* Watches the connection's socket for events (it may change while
 * connecting). */
static void
pgloop_watch(struct pgloop *l, uint32_t events)
{
    struct epoll_event ev;
    int                fd = PQsocket(l->conn);

    if (fd == l->fd && events == l->events)
        return;
    ev.events = events;
    ev.data.ptr = l->tag;
    if (fd != l->fd) {
        if (l->fd != -1)
            epoll_ctl(l->epfd, EPOLL_CTL_DEL, l->fd, NULL);
        l->fd = fd;
        if (fd != -1 && epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev) == -1) {
            pgloop_down(l, ENOTCONN, "cannot watch the database socket");
            return;
        }
    } else if (epoll_ctl(l->epfd, EPOLL_CTL_MOD, fd, &ev) == -1) {
        pgloop_down(l, ENOTCONN, "cannot watch the database socket");
        return;
    }
    l->events = events;
}

/* Sends what libpq holds; watches for writability while some is left. */
static void
pgloop_flush(struct pgloop *l)
{
    int rc = PQflush(l->conn);

    if (rc == -1) {
        pgloop_down(l, ENOTCONN, PQerrorMessage(l->conn));
        return;
    }
    pgloop_watch(l, rc == 1 ? EPOLLIN | EPOLLOUT : EPOLLIN);
}

/* Sends sql with its own sync point; w waits for it (and fails with the
 * connection if it cannot be sent). */
static void
pgloop_send(struct pgloop *l, struct pgloop_wait *w, const char *sql, int n,
    const char *const *values)
{
    w->next = NULL;
    w->deadline_ms = status_monotonic_ms() + (uint64_t)l->timeout * 1000;
    if (l->tail != NULL)
        l->tail->next = w;
    else
        l->head = w;
    l->tail = w;
    if (!PQsendQueryParams(l->conn, sql, n, NULL, values, NULL, NULL, 0) ||
        !PQpipelineSync(l->conn)) {
        pgloop_down(l, ENOTCONN, PQerrorMessage(l->conn));
        return;
    }
    pgloop_flush(l);
}

/* ---- connecting ----------------------------------------------------------- */

static void
pgloop_connect(struct pgloop *l)
{
    char        to[24], opts[128];
    const char *kw[6], *val[6];
    int         i = 0;

    snprintf(to, sizeof(to), "%ld", l->timeout);
    /* As pgx_sync's: store_pg's functions rely on read committed. */
    snprintf(opts, sizeof(opts), "-c statement_timeout=%ld "
        "-c default_transaction_isolation=read\\ committed",
        l->timeout * 1000);
    kw[i] = "dbname";           val[i++] = l->conninfo;
    if (l->password != NULL) {
        kw[i] = "password";     val[i++] = l->password;
    }
    kw[i] = "connect_timeout";  val[i++] = to;
    kw[i] = "application_name"; val[i++] = "userapid";
    kw[i] = "options";          val[i++] = opts;
    kw[i] = NULL;               val[i] = NULL;
    l->conn = PQconnectStartParams(kw, val, 1);
    if (l->conn != NULL)
        PQsetNoticeProcessor(l->conn, pgloop_notice, l);
    l->fd = -1;
    l->events = 0;
    if (l->conn == NULL || PQstatus(l->conn) == CONNECTION_BAD) {
        l->state = PGL_CONNECTING;  /* so that down has a conn to end */
        pgloop_down(l, ECONNREFUSED, l->conn != NULL ?
            PQerrorMessage(l->conn) : "out of memory");
        return;
    }
    l->state = PGL_CONNECTING;
    l->connect_deadline = status_monotonic_ms() + (uint64_t)l->timeout * 1000;
    pgloop_watch(l, EPOLLOUT);
}

/* The server's notices (a shutdown's FATAL, warnings) go to the log, not
 * to stderr as libpq would have them. */
static void
pgloop_notice(void *arg, const char *message)
{
    char msg[PGX_ERR_LEN];

    (void)arg;
    pgloop_why(msg, sizeof(msg), message);
    log_msg(LOG_DEBUG, "database says: %s", msg);
}

/* Connected: into pipeline mode, then LISTEN and the schema check. */
static void
pgloop_connected(struct pgloop *l)
{
    if (PQsetnonblocking(l->conn, 1) == -1 || !PQenterPipelineMode(l->conn)) {
        pgloop_down(l, ENOTCONN, PQerrorMessage(l->conn));
        return;
    }
    l->state = PGL_CHECKING;
    memset(&l->listen, 0, sizeof(l->listen));
    memset(&l->check, 0, sizeof(l->check));
    pgloop_send(l, &l->listen, "LISTEN userapid", 0, NULL);
    if (l->state == PGL_CHECKING)
        pgloop_send(l, &l->check, l->check_sql, 0, NULL);
}

static void
pgloop_connect_poll(struct pgloop *l)
{
    switch (PQconnectPoll(l->conn)) {
    case PGRES_POLLING_READING:
        pgloop_watch(l, EPOLLIN);
        break;
    case PGRES_POLLING_WRITING:
        pgloop_watch(l, EPOLLOUT);
        break;
    case PGRES_POLLING_OK:
        pgloop_connected(l);
        break;
    default:
        pgloop_down(l, ECONNREFUSED, PQerrorMessage(l->conn));
        break;
    }
}

/* The schema check answered: up, or down until the schema is made. */
static void
pgloop_checked(struct pgloop *l)
{
    const char *v;

    if (l->check.res == NULL) {
        pgloop_down(l, EPROTO, "the database has no userapid schema: run "
            "\"userapictl db init\"");
        return;
    }
    v = PQntuples(l->check.res) > 0 ? PQgetvalue(l->check.res, 0, 0) : "";
    if (strcmp(v, l->want) != 0) {
        char why[PGX_ERR_LEN];

        snprintf(why, sizeof(why), "the database's userapid schema is "
            "version %.16s, not %.16s: run \"userapictl db init\"", v, l->want);
        pgloop_down(l, EPROTO, why);
        return;
    }
    l->state = PGL_UP;
    l->backoff_ms = 0;
    l->why[0] = '\0';
    if (!l->was_up)
        log_msg(LOG_INFO, "database connected");
    l->was_up = 1;
    /* Notifications may have been missed while down: caches forget. */
    if (l->x.on_notify != NULL)
        l->x.on_notify(l->x.notify_arg, NULL, NULL);
    pgloop_send_pending(l);
}

/* The statements that waited for the connection, in their order. */
static void
pgloop_send_pending(struct pgloop *l)
{
    struct pgloop_wait *w;

    while (l->state == PGL_UP && (w = l->pend) != NULL) {
        if ((l->pend = w->next) == NULL)
            l->pend_tail = NULL;
        pgloop_send(l, w, w->sql, w->n, w->values);
    }
}

/* ---- answers ---------------------------------------------------------- */

/* A failed statement's errno: a cancelled one (statement_timeout) timed
 * out, a lost connection or a server shutting down is not connected. */
static int
pgloop_errno(const char *state)
{
    if (strcmp(state, "57014") == 0)
        return ETIMEDOUT;
    if (strncmp(state, "08", 2) == 0 || strncmp(state, "57P", 3) == 0)
        return ENOTCONN;
    return EPROTO;
}

/* One result for w: kept when it is the answer, else its failure. */
static void
pgloop_result(struct pgloop_wait *w, PGresult *r)
{
    ExecStatusType st = PQresultStatus(r);
    const char    *state;

    if (w->got) {
        PQclear(r);
        return;
    }
    w->got = 1;
    if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK) {
        w->res = r;
        return;
    }
    state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
    snprintf(w->sqlstate, sizeof(w->sqlstate), "%s", state ? state : "");
    w->err = pgloop_errno(w->sqlstate);
    pgloop_why(w->why, sizeof(w->why), PQresultErrorMessage(r));
    PQclear(r);
}

/* Reads every complete answer, oldest first. */
static void
pgloop_results(struct pgloop *l)
{
    PGconn   *conn = l->conn;
    PGresult *r;
    int       nulls = 0;

    while (l->head != NULL && l->conn == conn && !PQisBusy(conn)) {
        struct pgloop_wait *w = l->head;

        if ((r = PQgetResult(conn)) == NULL) {
            /* The end of one statement's results, or nothing yet. */
            if (!w->got || ++nulls > 1)
                break;
            continue;
        }
        nulls = 0;
        if (PQresultStatus(r) != PGRES_PIPELINE_SYNC) {
            pgloop_result(w, r);
            continue;
        }
        PQclear(r);
        if ((l->head = w->next) == NULL)
            l->tail = NULL;
        if (!w->got) {
            w->err = EPROTO;
            snprintf(w->why, sizeof(w->why), "the database sent no answer");
        }
        pgloop_done(l, w);
    }
}

static void
pgloop_notifies(struct pgloop *l)
{
    PGnotify *n;

    while (l->conn != NULL && (n = PQnotifies(l->conn)) != NULL) {
        if (l->x.on_notify != NULL)
            l->x.on_notify(l->x.notify_arg, n->relname, n->extra);
        PQfreemem(n);
    }
}

static void
pgloop_read(struct pgloop *l)
{
    if (!PQconsumeInput(l->conn)) {
        pgloop_down(l, ENOTCONN, PQerrorMessage(l->conn));
        return;
    }
    pgloop_results(l);
    pgloop_notifies(l);
}

/* w is answered or failed: a coroutine's is ready to resume; the loop's
 * own move the connection on. */
static void
pgloop_done(struct pgloop *l, struct pgloop_wait *w)
{
    w->done = 1;
    if (w->co != NULL) {
        /* Failed before its coroutine yielded: nothing to resume. */
        if (w->waiting) {
            w->next = l->ready;
            l->ready = w;
        }
        return;
    }
    if (w == &l->check && l->state == PGL_CHECKING)
        pgloop_checked(l);
    if (w->res != NULL) {
        PQclear(w->res);
        w->res = NULL;
    }
}

/* Ends the connection: every wait fails with err, and a new connection is
 * tried after the backoff. */
static void
pgloop_down(struct pgloop *l, int err, const char *why)
{
    struct pgloop_wait *w;
    char                msg[PGX_ERR_LEN];

    pgloop_why(msg, sizeof(msg), why);
    if (l->conn != NULL) {
        if (l->fd != -1)
            epoll_ctl(l->epfd, EPOLL_CTL_DEL, l->fd, NULL);
        PQfinish(l->conn);
        l->conn = NULL;
    }
    l->fd = -1;
    l->state = PGL_DOWN;
    /* The pending ones first: they are no older than those sent. */
    if (l->pend != NULL) {
        l->pend_tail->next = l->head;
        l->head = l->pend;
        if (l->tail == NULL)
            l->tail = l->pend_tail;
        l->pend = l->pend_tail = NULL;
    }
    while ((w = l->head) != NULL) {
        if ((l->head = w->next) == NULL)
            l->tail = NULL;
        if (w->res != NULL) {
            PQclear(w->res);
            w->res = NULL;
        }
        w->err = err;
        snprintf(w->why, sizeof(w->why), "%s", msg);
        w->sqlstate[0] = '\0';
        pgloop_done(l, w);
    }
    l->backoff_ms = l->backoff_ms == 0 ? PGLOOP_BACKOFF_MIN_MS :
        l->backoff_ms * 2 > PGLOOP_BACKOFF_MAX_MS ? PGLOOP_BACKOFF_MAX_MS :
        l->backoff_ms * 2;
    l->retry_at = status_monotonic_ms() + l->backoff_ms;
    /* Said once per outage; each retry only at debug level. */
    log_msg(l->was_up || strcmp(l->why, msg) != 0 ? LOG_WARNING : LOG_DEBUG,
        "database: %s; retrying in %.2f s", msg, (double)l->backoff_ms / 1000);
    l->was_up = 0;
    snprintf(l->why, sizeof(l->why), "%s", msg);
}

/* ---- the executor ------------------------------------------------------- */

static PGresult *
pgloop_exec(struct pgx *x, const char *sql, int n, const char *const *values)
{
    struct pgloop     *l = pgloop_of(x);
    struct pgloop_wait w;

    x->why[0] = x->sqlstate[0] = '\0';
    if (coro_current() == NULL) {
        snprintf(x->why, sizeof(x->why), "a statement outside a request");
        errno = EDEADLK;
        return NULL;
    }
    if (l->state == PGL_DOWN) {
        snprintf(x->why, sizeof(x->why), "%s", l->why);
        errno = ENOTCONN;
        return NULL;
    }
    memset(&w, 0, sizeof(w));
    w.co = coro_current();
    if (l->state != PGL_UP) {
        /* Being connected: sent once it is, or failed with it. */
        w.sql = sql;
        w.n = n;
        w.values = values;
        if (l->pend_tail != NULL)
            l->pend_tail->next = &w;
        else
            l->pend = &w;
        l->pend_tail = &w;
    } else {
        pgloop_send(l, &w, sql, n, values);
    }
    w.waiting = !w.done;
    while (!w.done)
        coro_yield();
    if (w.res != NULL)
        return w.res;
    snprintf(x->why, sizeof(x->why), "%s", w.why);
    snprintf(x->sqlstate, sizeof(x->sqlstate), "%s", w.sqlstate);
    errno = w.err;
    return NULL;
}

static void
pgloop_close(struct pgx *x)
{
    pgloop_free(pgloop_of(x));
}

struct pgloop *
pgloop_new(const struct config *cfg, const char *password, int epfd,
    void *tag, const char *check_sql, const char *want, pgloop_wake_fn wake,
    void *wake_arg, char *err, size_t errlen)
{
    struct pgloop *l;

    if ((l = calloc(1, sizeof(*l))) == NULL ||
        (l->conninfo = strdup(cfg->database_url)) == NULL ||
        (password != NULL && (l->password = strdup(password)) == NULL) ||
        (l->check_sql = strdup(check_sql)) == NULL ||
        (l->want = strdup(want)) == NULL) {
        pgloop_free(l);
        snprintf(err, errlen, "out of memory");
        errno = ENOMEM;
        return NULL;
    }
    l->x.exec = pgloop_exec;
    l->x.close = pgloop_close;
    l->timeout = cfg->database_timeout;
    l->epfd = epfd;
    l->tag = tag;
    l->fd = -1;
    l->state = PGL_DOWN;
    l->wake = wake;
    l->wake_arg = wake_arg;
    snprintf(l->why, sizeof(l->why), "not connected yet");
    return l;
}

void
pgloop_shutdown(struct pgloop *l)
{
    if (l->state == PGL_DOWN && l->head == NULL && l->pend == NULL)
        return;
    l->was_up = 0;
    snprintf(l->why, sizeof(l->why), "the worker stops");
    pgloop_down(l, ENOTCONN, "the worker stops");
    l->retry_at = UINT64_MAX;
}

void
pgloop_free(struct pgloop *l)
{
    if (l == NULL)
        return;
    pgloop_shutdown(l);
    if (l->password != NULL) {
        explicit_bzero(l->password, strlen(l->password));
        free(l->password);
    }
    free(l->conninfo);
    free(l->check_sql);
    free(l->want);
    free(l);
}

struct pgx *
pgloop_pgx(struct pgloop *l)
{
    return &l->x;
}

/* ---- the loop's calls ----------------------------------------------------- */

void
pgloop_event(struct pgloop *l, uint32_t events, uint64_t now_ms)
{
    (void)now_ms;
    if (l->conn == NULL)
        return;
    if (l->state == PGL_CONNECTING) {
        pgloop_connect_poll(l);
        return;
    }
    if (events & EPOLLOUT)
        pgloop_flush(l);
    if (l->conn != NULL && (events & (EPOLLIN | EPOLLERR | EPOLLHUP)))
        pgloop_read(l);
}

void
pgloop_tick(struct pgloop *l, uint64_t now_ms)
{
    char why[PGX_ERR_LEN];

    if (l->state == PGL_DOWN && now_ms >= l->retry_at) {
        pgloop_connect(l);
    } else if (l->state == PGL_CONNECTING && now_ms >= l->connect_deadline) {
        snprintf(why, sizeof(why), "no connection within %ld s", l->timeout);
        pgloop_down(l, ETIMEDOUT, why);
    } else if (l->head != NULL && now_ms >= l->head->deadline_ms) {
        snprintf(why, sizeof(why), "no answer within %ld s", l->timeout);
        pgloop_down(l, ETIMEDOUT, why);
    }
}

int
pgloop_timeout_ms(const struct pgloop *l, uint64_t now_ms)
{
    uint64_t next = UINT64_MAX;

    if (l->ready != NULL)
        return 0;
    if (l->state == PGL_DOWN)
        next = l->retry_at;
    else if (l->state == PGL_CONNECTING)
        next = l->connect_deadline;
    if (l->head != NULL && l->head->deadline_ms < next)
        next = l->head->deadline_ms;
    if (next == UINT64_MAX)
        return -1;
    return next <= now_ms ? 0 : next - now_ms > 60000 ? 60000 :
        (int)(next - now_ms);
}

void
pgloop_run_ready(struct pgloop *l)
{
    struct pgloop_wait *w;

    while ((w = l->ready) != NULL) {
        l->ready = w->next;
        /* w lives on the coroutine's stack: not touched after this. */
        l->wake(l->wake_arg, w->co);
    }
}

int
pgloop_up(const struct pgloop *l, const char **why)
{
    if (why != NULL)
        *why = l->why;
    /* While connecting, statements wait for the connection: not down. */
    return l->state != PGL_DOWN;
}
