/* SPDX-License-Identifier: MIT */
/*
 * status.c - the shared counters page; see status.h.
 */
#include <stddef.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "status.h"

struct status *
status_create(void)
{
    struct status *st;

    st = mmap(NULL, sizeof(*st), PROT_READ | PROT_WRITE,
        MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (st == MAP_FAILED)
        return NULL;
    memset(st, 0, sizeof(*st));
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
    __atomic_store_n(&slot->pid, 0, __ATOMIC_RELEASE);
}
