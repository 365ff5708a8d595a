/* SPDX-License-Identifier: MIT */
/*
 * status.c - the shared counters page; see status.h.
 */
#include <sched.h>
#include <stddef.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "status.h"

static void status_slot_fold(struct status *st, struct status_slot *slot);

struct status *
status_create(void)
{
    struct status *st;

    st = mmap(NULL, sizeof(*st), PROT_READ | PROT_WRITE,
        MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (st == MAP_FAILED)
        return NULL;
    /* Anonymous pages are zero already: touching them all would commit
     * the counters of every slot, most of which are never used. */
    st->started_unix = (int64_t)time(NULL);
    st->started_at = (int64_t)(status_monotonic_ms() / 1000);
    return st;
}

void
status_destroy(struct status *st)
{
    if (st != NULL)
        munmap(st, sizeof(*st));
}

uint64_t
status_monotonic_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

uint64_t
status_monotonic_ms(void)
{
    return status_monotonic_us() / 1000;
}

int64_t
status_uptime(const struct status *st)
{
    return (int64_t)(status_monotonic_ms() / 1000) - st->started_at;
}

int
status_conn_acquire(struct status *st, struct status_slot *slot, long limit)
{
    if (__atomic_add_fetch(&st->connections, 1, __ATOMIC_ACQ_REL) > limit) {
        __atomic_sub_fetch(&st->connections, 1, __ATOMIC_ACQ_REL);
        return -1;
    }
    __atomic_add_fetch(&slot->connections, 1, __ATOMIC_RELAXED);
    return 0;
}

void
status_conn_release(struct status *st, struct status_slot *slot)
{
    __atomic_sub_fetch(&slot->connections, 1, __ATOMIC_RELAXED);
    __atomic_sub_fetch(&st->connections, 1, __ATOMIC_ACQ_REL);
}

void
status_slot_clear(struct status *st, struct status_slot *slot)
{
    long n = __atomic_exchange_n(&slot->connections, 0, __ATOMIC_ACQ_REL);

    if (n > 0)
        __atomic_sub_fetch(&st->connections, n, __ATOMIC_ACQ_REL);
    __atomic_store_n(&slot->heartbeat_ms, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&slot->requests, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&slot->db_down, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&slot->in_flight, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&slot->hash_queue, 0, __ATOMIC_RELAXED);
    status_slot_fold(st, slot);
    __atomic_store_n(&slot->pid, 0, __ATOMIC_RELEASE);
}

/* The dead worker's counters into retired, in one fold_seq section. */
static void
status_slot_fold(struct status *st, struct status_slot *slot)
{
    unsigned seq = __atomic_load_n(&st->fold_seq, __ATOMIC_RELAXED);

    __atomic_store_n(&st->fold_seq, seq + 1, __ATOMIC_RELAXED);
    __atomic_thread_fence(__ATOMIC_RELEASE);
    metrics_fold(&st->retired, &slot->m);
    memset(&slot->m, 0, sizeof(slot->m));
    __atomic_store_n(&st->fold_seq, seq + 2, __ATOMIC_RELEASE);
}

void
status_metrics_sum(const struct status *st, struct metrics_counters *out)
{
    unsigned before, after;
    int      i;

    for (;;) {
        before = __atomic_load_n(&st->fold_seq, __ATOMIC_ACQUIRE);
        if (before & 1) {
            sched_yield();
            continue;
        }
        memset(out, 0, sizeof(*out));
        metrics_fold(out, &st->retired);
        for (i = 0; i < STATUS_MAX_SLOTS; i++)
            if (__atomic_load_n(&st->slots[i].pid, __ATOMIC_ACQUIRE) != 0)
                metrics_fold(out, &st->slots[i].m);
        __atomic_thread_fence(__ATOMIC_ACQUIRE);
        after = __atomic_load_n(&st->fold_seq, __ATOMIC_RELAXED);
        if (after == before)
            return;
    }
}
