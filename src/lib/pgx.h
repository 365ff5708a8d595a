/* SPDX-License-Identifier: MIT */
/*
 * pgx.h - how store_pg.c gets one statement run: an executor.
 *
 * store_pg.c builds the SQL and reads the rows; an executor sends the
 * statement and hands back the result.  Two exist:
 *
 *   pgx_sync.c (here)          PQexecParams on a connection of its own,
 *                              blocking, for userapictl and the master;
 *   pgloop.c (src/userapid/)   the worker's: the statement joins the
 *                              connection's pipeline and the calling
 *                              coroutine yields to the event loop until
 *                              the result is there or database_timeout
 *                              passes.
 *
 * So a statement may suspend the caller: store_pg.c keeps nothing of one
 * call in shared state across an exec, as other calls on the same store
 * may run meanwhile.  Parameters are text; results are text.
 *
 * An executor's sessions run statements at read committed (the default,
 * set again at connection): schema.sql's functions rely on each statement
 * seeing what committed before it, e.g. to keep the last admin.
 *
 * Notifications (LISTEN) come back through on_notify, which the store
 * sets, whenever the executor reads them.
 */
#ifndef USERAPID_PGX_H
#define USERAPID_PGX_H

#include <libpq-fe.h>

#define PGX_ERR_LEN     256

struct pgx {
    /*
     * Runs sql with n text parameters (values[i] NULL for SQL NULL).
     * The result, PGRES_TUPLES_OK or PGRES_COMMAND_OK (PQclear it), or
     * NULL with errno: ETIMEDOUT (no answer within the timeout), ENOTCONN
     * (no connection now), EPROTO (the statement failed; why says how,
     * and sqlstate holds its SQLSTATE, e.g. "23505"), ENOMEM.
     */
    PGresult   *(*exec)(struct pgx *x, const char *sql, int n,
                    const char *const *values);
    /* Frees the executor and closes its connection. */
    void        (*close)(struct pgx *x);

    /* Set by the executor on a NULL from exec, until the next exec. */
    char        why[PGX_ERR_LEN];
    char        sqlstate[6];

    /* Set by the store: called for each notification received. */
    void        (*on_notify)(void *arg, const char *channel,
                    const char *payload);
    void         *notify_arg;
};

/*
 * A blocking executor on a new connection to conninfo (a libpq connection
 * string or URI), with password (NULL: from conninfo or PGPASSFILE) and
 * every wait bounded by timeout seconds (connect_timeout, and
 * statement_timeout on the server).  NULL with errno and err set (without
 * the password).
 */
struct pgx *pgx_sync_open(const char *conninfo, const char *password,
                long timeout, char *err, size_t errlen);

/* Delivers the notifications a blocking executor has received (it reads
 * them only when asked, as nothing else wakes it). */
void        pgx_sync_poll(struct pgx *x);

#endif
