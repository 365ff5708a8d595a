/* SPDX-License-Identifier: MIT */
/*
 * status.h - counters shared by the master and every worker.
 *
 * One anonymous MAP_SHARED mapping made by the master before the first
 * fork, so every worker sees the same page without a file.  Fields are
 * read and written with __atomic builtins only.  Slots are handed out by the
 * master; a slot belongs to one worker process at a time, and the master
 * clears it when that worker has exited.
 *
 * Metrics counters (metrics.h) live in the slots and in retired, which
 * holds what workers that have exited counted.  Invariant: a counter's
 * total is retired plus the sum over slots whose pid is set; the master
 * moves a dead worker's counters into retired and zeroes its slot inside
 * one fold_seq write section (odd while it runs), so a reader that sees
 * the same even fold_seq before and after summing saw each count once.
 * Totals therefore never go down while the master lives.
 */
#ifndef USERAPID_STATUS_H
#define USERAPID_STATUS_H

#include <stdint.h>
#include <sys/types.h>

#include "config.h"
#include "metrics.h"

/* Old and new workers overlap during a reload. */
#define STATUS_MAX_SLOTS (2 * CONFIG_MAX_WORKERS)

/* A cache line each, so workers never write to a line another uses. */
struct status_slot {
    pid_t     pid;              /* 0: free */
    uint64_t  heartbeat_ms;     /* CLOCK_MONOTONIC, set each loop turn */
    long      connections;      /* open connections of this worker */
    uint64_t  requests;         /* answered requests */
    int       db_down;          /* its database connection is not up */
    long      in_flight;        /* requests being answered */
    uint64_t  hash_queue;       /* jobs waiting for its hashing threads */
    struct metrics_counters m __attribute__((aligned(64)));
} __attribute__((aligned(64)));

struct status {
    int64_t   started_at;       /* CLOCK_MONOTONIC seconds at master start */
    int       workers_alive;    /* ready workers of the current generation */
    int       workers_configured;
    long      connections;      /* across all workers, for max_connections */
    uint64_t  db_changes;       /* users.db changes made by the workers */
    uint64_t  users;            /* user count, when the store is a
                                   database: kept by the workers' refresh */
    uint64_t  sessions;         /* live sessions, likewise (database only) */
    int64_t   started_unix;     /* CLOCK_REALTIME seconds at master start */
    uint64_t  worker_restarts;  /* workers that exited unasked */
    uint64_t  reloads;          /* reloads that completed */
    unsigned  fold_seq;         /* odd while the master folds a slot */
    struct metrics_counters retired __attribute__((aligned(64)));
    struct status_slot slots[STATUS_MAX_SLOTS] __attribute__((aligned(64)));
};

struct status *status_create(void);
void           status_destroy(struct status *st);
int64_t        status_uptime(const struct status *st);
/* CLOCK_MONOTONIC in microseconds and milliseconds. */
uint64_t       status_monotonic_us(void);
uint64_t       status_monotonic_ms(void);

/* Reserves one connection against limit; returns 0, or -1 when full. */
int            status_conn_acquire(struct status *st, struct status_slot *slot,
                   long limit);
void           status_conn_release(struct status *st, struct status_slot *slot);
/* Returns a dead worker's connections to the pool, folds its metrics
 * counters into the retired totals and frees its slot. */
void           status_slot_clear(struct status *st, struct status_slot *slot);
/* A consistent sum of retired and the live slots' counters into out. */
void           status_metrics_sum(const struct status *st,
                   struct metrics_counters *out);

#endif
