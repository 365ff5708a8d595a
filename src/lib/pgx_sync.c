/* SPDX-License-Identifier: MIT */
/*
 * pgx_sync.c - the blocking executor of pgx.h: PQexecParams on a
 * connection of its own, for userapictl and the master.
 *
 * Invariants:
 *   - No message made here holds the password or the connection string
 *     (which may hold one): only libpq's own messages, which do not, with
 *     the password masked should one appear anyway.
 *   - Every wait is bounded: connect_timeout when connecting, the
 *     server's statement_timeout (57014, told as ETIMEDOUT) when running.
 *   - A connection found closed before a statement is sent (the server
 *     restarted meanwhile) is made again first.  One lost while a
 *     statement ran is told as ENOTCONN and made again by the next exec:
 *     a statement is sent again only when the server said it ended the
 *     session (57P01..57P03) before reading it, so none can run twice.
 *   - The password is kept, to reconnect, and wiped on close.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pgx.h"

struct pgx_sync {
    struct pgx  x;                  /* first: the store's view */
    PGconn     *conn;
    char       *conninfo;
    char       *password;           /* NULL: from conninfo or PGPASSFILE */
    long        timeout;
};

static PGresult *sync_exec(struct pgx *, const char *, int,
                     const char *const *);
static void      sync_close(struct pgx *);

/* The first line of msg, with the password masked, into out. */
static void
sync_message(const struct pgx_sync *s, const char *msg, char *out,
    size_t outlen)
{
    char   *p;
    size_t  n;

    snprintf(out, outlen, "%s", msg != NULL ? msg : "");
    out[strcspn(out, "\n")] = '\0';
    while ((n = strlen(out)) > 0 && out[n - 1] == ' ')
        out[n - 1] = '\0';
    if (s->password != NULL && s->password[0] != '\0')
        while ((p = strstr(out, s->password)) != NULL)
            memset(p, '*', strlen(s->password));
}

/* Notices (and a FATAL read while idle) are not for stderr: the
 * statement that meets their cause says it. */
static void
sync_notice(void *arg, const char *msg)
{
    (void)arg;
    (void)msg;
}

/* errno for a failed connection, from libpq's message. */
static int
sync_connect_errno(PGconn *conn)
{
    const char *m = PQerrorMessage(conn);

    if (PQconnectionNeedsPassword(conn) ||
        strstr(m, "authentication failed") != NULL ||
        strstr(m, "no password supplied") != NULL)
        return EACCES;
    if (strstr(m, "timeout expired") != NULL)
        return ETIMEDOUT;
    if (strstr(m, "Connection refused") != NULL ||
        strstr(m, "No such file or directory") != NULL ||
        strstr(m, "unreachable") != NULL ||
        strstr(m, "No route to host") != NULL ||
        strstr(m, "could not translate host name") != NULL ||
        strstr(m, "the database system is") != NULL)
        return ECONNREFUSED;
    return EIO;
}

/* A new connection into s->conn: 0, or -1 with errno and err set to
 * libpq's reason. */
static int
sync_connect(struct pgx_sync *s, char *err, size_t errlen)
{
    const char *keys[7], *vals[7];
    char        tmo[32], opts[128];
    int         n = 0, e;

    snprintf(tmo, sizeof(tmo), "%ld", s->timeout);
    /* schema.sql's functions count on each statement seeing what was
     * committed before it (the last admin): read committed. */
    snprintf(opts, sizeof(opts), "-c statement_timeout=%ld "
        "-c default_transaction_isolation=read\\ committed",
        s->timeout * 1000);
    keys[n] = "dbname";             vals[n++] = s->conninfo;
    keys[n] = "connect_timeout";    vals[n++] = tmo;
    keys[n] = "options";            vals[n++] = opts;
    keys[n] = "application_name";   vals[n++] = "userapid";
    if (s->password != NULL) {
        keys[n] = "password";       vals[n++] = s->password;
    }
    keys[n] = NULL;
    vals[n] = NULL;
    if (s->conn != NULL)
        PQfinish(s->conn);
    s->conn = PQconnectdbParams(keys, vals, 1);
    if (s->conn == NULL) {
        snprintf(err, errlen, "out of memory");
        errno = ENOMEM;
        return -1;
    }
    if (PQstatus(s->conn) == CONNECTION_OK) {
        PQsetNoticeProcessor(s->conn, sync_notice, NULL);
        return 0;
    }
    e = sync_connect_errno(s->conn);
    sync_message(s, PQerrorMessage(s->conn), err, errlen);
    PQfinish(s->conn);
    s->conn = NULL;
    errno = e;
    return -1;
}

struct pgx *
pgx_sync_open(const char *conninfo, const char *password, long timeout,
    char *err, size_t errlen)
{
    struct pgx_sync *s;
    int              e;

    if ((s = calloc(1, sizeof(*s))) == NULL ||
        (s->conninfo = strdup(conninfo)) == NULL ||
        (password != NULL && (s->password = strdup(password)) == NULL)) {
        snprintf(err, errlen, "database: out of memory");
        if (s != NULL)
            sync_close(&s->x);
        errno = ENOMEM;
        return NULL;
    }
    s->timeout = timeout > 0 ? timeout : 1;
    s->x.exec = sync_exec;
    s->x.close = sync_close;
    if (sync_connect(s, s->x.why, sizeof(s->x.why)) == -1) {
        e = errno;
        snprintf(err, errlen, "database: %s", s->x.why);
        sync_close(&s->x);
        errno = e;
        return NULL;
    }
    return &s->x;
}

static void
sync_close(struct pgx *x)
{
    struct pgx_sync *s = (struct pgx_sync *)x;

    if (s->conn != NULL)
        PQfinish(s->conn);
    if (s->password != NULL) {
        explicit_bzero(s->password, strlen(s->password));
        free(s->password);
    }
    free(s->conninfo);
    free(s);
}

/* Whether the server ended the session before reading the statement. */
static int
sync_shutdown(const char *state)
{
    return strcmp(state, "57P01") == 0 || strcmp(state, "57P02") == 0 ||
        strcmp(state, "57P03") == 0;
}

/* A failed result's errno, with why and sqlstate filled. */
static int
sync_failed(struct pgx_sync *s, PGresult *r)
{
    const char *state = r != NULL ?
        PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    const char *msg = r != NULL ?
        PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    const char *detail = r != NULL ?
        PQresultErrorField(r, PG_DIAG_MESSAGE_DETAIL) : NULL;
    char        m[PGX_ERR_LEN];

    snprintf(s->x.sqlstate, sizeof(s->x.sqlstate), "%s",
        state != NULL ? state : "");
    if (msg == NULL)
        msg = PQerrorMessage(s->conn);
    if (detail != NULL)
        snprintf(m, sizeof(m), "%s (%s)", msg, detail);
    else
        snprintf(m, sizeof(m), "%s", msg);
    sync_message(s, m, s->x.why, sizeof(s->x.why));
    if (strcmp(s->x.sqlstate, "57014") == 0)
        return ETIMEDOUT;
    if (PQstatus(s->conn) != CONNECTION_OK ||
        strncmp(s->x.sqlstate, "08", 2) == 0 || sync_shutdown(s->x.sqlstate))
        return ENOTCONN;
    if (r == NULL)
        return ENOMEM;
    return EPROTO;
}

/* One try: the result, or NULL with errno (and *again when the statement
 * was not read and may be sent on a new connection). */
static PGresult *
sync_try(struct pgx_sync *s, const char *sql, int n,
    const char *const *values, int *again)
{
    PGresult *r;
    int       e;

    *again = 0;
    if (n == 0)
        r = PQexec(s->conn, sql);       /* may hold several statements */
    else
        r = PQexecParams(s->conn, sql, n, NULL, values, NULL, NULL, 0);
    if (r != NULL && (PQresultStatus(r) == PGRES_TUPLES_OK ||
        PQresultStatus(r) == PGRES_COMMAND_OK))
        return r;
    e = sync_failed(s, r);
    *again = sync_shutdown(s->x.sqlstate);
    PQclear(r);
    errno = e;
    return NULL;
}

static PGresult *
sync_exec(struct pgx *x, const char *sql, int n, const char *const *values)
{
    struct pgx_sync *s = (struct pgx_sync *)x;
    PGresult        *r;
    char             err[PGX_ERR_LEN];
    int              again, tries;

    x->why[0] = '\0';
    x->sqlstate[0] = '\0';
    for (tries = 0; tries < 2; tries++) {
        /* A connection the server closed while it was idle (a restart)
         * is found here, before anything is sent: made again at once. */
        if (s->conn != NULL && PQstatus(s->conn) == CONNECTION_OK &&
            PQconsumeInput(s->conn) == 1)
            PQconsumeInput(s->conn);    /* the end after a last message */
        if ((s->conn == NULL || PQstatus(s->conn) != CONNECTION_OK) &&
            sync_connect(s, err, sizeof(err)) == -1) {
            snprintf(x->why, sizeof(x->why), "%s", err);
            if (errno != ENOMEM && errno != EACCES)
                errno = errno == ETIMEDOUT ? ETIMEDOUT : ECONNREFUSED;
            return NULL;
        }
        if ((r = sync_try(s, sql, n, values, &again)) != NULL || !again)
            return r;
    }
    return NULL;
}

void
pgx_sync_poll(struct pgx *x)
{
    struct pgx_sync *s = (struct pgx_sync *)x;
    PGnotify        *note;

    if (s->conn == NULL || PQconsumeInput(s->conn) == 0)
        return;
    while ((note = PQnotifies(s->conn)) != NULL) {
        if (x->on_notify != NULL)
            x->on_notify(x->notify_arg, note->relname, note->extra);
        PQfreemem(note);
    }
}
