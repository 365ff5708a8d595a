/* SPDX-License-Identifier: MIT */
/*
 * pgloop.h - a worker's connection to PostgreSQL, driven by its epoll
 * loop: the executor (pgx.h) of the worker's store.
 *
 * One connection per worker, in libpq's non-blocking pipeline mode:
 * statements from any number of waiting requests are sent as they come
 * and answered in order.  A statement is run from inside a coroutine
 * (coro.h), which yields to the loop until its answer is read; the loop
 * never blocks on the database.
 *
 * The connection is made and remade by the loop (PQconnectStart and
 * PQconnectPoll, retried with a backoff from 0.25 s up to 5 s), and is
 * usable once "LISTEN userapid" and the schema check have answered.
 * While it is not, a statement fails at once with ENOTCONN.  A statement
 * not answered within database_timeout ends the connection (the server
 * may be gone without a word): every waiting statement fails with
 * ETIMEDOUT and the loop connects again.
 *
 * Waiting coroutines are never resumed from inside pgloop_* calls made by
 * a coroutine: they are put on a ready list, which pgloop_run_ready,
 * called by the loop on its own stack, works off.
 */
#ifndef USERAPID_PGLOOP_H
#define USERAPID_PGLOOP_H

#include <stdint.h>

#include "config.h"
#include "coro.h"
#include "pgx.h"

struct pgloop;

/* How the loop is told a coroutine may go on: it resumes co. */
typedef void (*pgloop_wake_fn)(void *arg, struct coro *co);

/*
 * A loop for cfg's database_url (password as store_pg reads it), with its
 * socket in epfd tagged tag, checking the schema with check_sql, whose
 * first value must be want.  It connects at the first pgloop_tick.  NULL
 * with errno and err set.
 */
struct pgloop *pgloop_new(const struct config *cfg, const char *password,
                  int epfd, void *tag, const char *check_sql,
                  const char *want, pgloop_wake_fn wake, void *wake_arg,
                  char *err, size_t errlen);
void           pgloop_free(struct pgloop *l);

/* The executor, for store_pg_attach. */
struct pgx    *pgloop_pgx(struct pgloop *l);

/* The socket is ready (events from epoll). */
void           pgloop_event(struct pgloop *l, uint32_t events, uint64_t now_ms);

/* Deadlines and reconnection: call at least when pgloop_timeout_ms says. */
void           pgloop_tick(struct pgloop *l, uint64_t now_ms);

/* Milliseconds until pgloop_tick has something to do, 0 when coroutines
 * are ready, or -1 for nothing. */
int            pgloop_timeout_ms(const struct pgloop *l, uint64_t now_ms);

/* Resumes the coroutines whose statements are answered. */
void           pgloop_run_ready(struct pgloop *l);

/* 1 when statements can be run, now or once the connection being made
 * is; 0 while there is none (they fail at once), with why saying why. */
int            pgloop_up(const struct pgloop *l, const char **why);

/* Fails every waiting statement (ENOTCONN) and closes the connection, for
 * a worker that stops; their coroutines are ready to run. */
void           pgloop_shutdown(struct pgloop *l);

#endif
