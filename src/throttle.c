/*
 * throttle.c - shared login and connection counters; see throttle.h.
 *
 * Two open-addressing tables with linear probing in one shared mapping.
 * Entries are never removed one by one (that would break probe chains);
 * instead, when a table is three quarters full, entries that count
 * nothing any more are dropped and the rest re-inserted.  If a table is
 * still full of live entries (a flood of distinct accounts or addresses),
 * the new key takes over the first slot of its probe run: tracking one
 * key less is better than refusing service.
 *
 * Connection counts are kept per (address, worker slot) and as a total per
 * address, so the master can hand back what a crashed worker held.
 */
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <sys/mman.h>

#include "auth.h"
#include "throttle.h"

#define LOGIN_SLOTS   65536
#define CONN_SLOTS    32768
#define PROBE_MAX     64
#define SLOT_TOTAL    (-1)      /* the per-address total of connections */

struct login_entry {
    uint64_t key;               /* 0: empty */
    int64_t  window_start;
    int64_t  locked_until;
    uint32_t failures;
};

struct conn_entry {
    uint64_t key;               /* hash of the address; 0: empty */
    int32_t  slot;              /* worker slot, or SLOT_TOTAL */
    int32_t  count;
};

struct throttle {
    pthread_mutex_t     lock;
    uint8_t             seed[32];
    uint32_t            nlogin;     /* used entries */
    uint32_t            nconn;
    struct login_entry  login[LOGIN_SLOTS];
    struct conn_entry   conn[CONN_SLOTS];
};

static uint64_t throttle_key(const struct throttle *t, char kind, const char *s);
static void     throttle_lock(struct throttle *t);
static struct login_entry *login_find(struct throttle *t, uint64_t key,
                    int create, int64_t now);
static struct conn_entry *conn_find(struct throttle *t, uint64_t key, int slot,
                    int create);
static void     login_compact(struct throttle *t, int64_t now);
static void     conn_compact(struct throttle *t);

struct throttle *
throttle_create(void)
{
    struct throttle     *t;
    pthread_mutexattr_t  a;

    t = mmap(NULL, sizeof(*t), PROT_READ | PROT_WRITE,
        MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (t == MAP_FAILED)
        return NULL;
    if (auth_random_bytes(t->seed, sizeof(t->seed)) == -1 ||
        pthread_mutexattr_init(&a) != 0) {
        munmap(t, sizeof(*t));
        return NULL;
    }
    pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
    pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
    if (pthread_mutex_init(&t->lock, &a) != 0) {
        pthread_mutexattr_destroy(&a);
        munmap(t, sizeof(*t));
        errno = ENOMEM;
        return NULL;
    }
    pthread_mutexattr_destroy(&a);
    return t;
}

void
throttle_destroy(struct throttle *t)
{
    if (t != NULL)
        munmap(t, sizeof(*t));
}

static void
throttle_lock(struct throttle *t)
{
    /* A worker died holding it: the counters are still sound enough. */
    if (pthread_mutex_lock(&t->lock) == EOWNERDEAD)
        pthread_mutex_consistent(&t->lock);
}

/* A keyed hash: SHA-256 over seed, kind and string; never 0. */
static uint64_t
throttle_key(const struct throttle *t, char kind, const char *s)
{
    uint8_t  buf[32 + 1 + 320], d[AUTH_SHA256_LEN];
    size_t   n = strnlen(s, 320);
    uint64_t k;

    memcpy(buf, t->seed, 32);
    buf[32] = (uint8_t)kind;
    memcpy(buf + 33, s, n);
    auth_sha256(buf, 33 + n, d);
    memcpy(&k, d, sizeof(k));
    return k == 0 ? 1 : k;
}

static int
login_live(const struct login_entry *e, int64_t now)
{
    return e->key != 0 && (e->locked_until > now || e->failures > 0);
}

static struct login_entry *
login_find(struct throttle *t, uint64_t key, int create, int64_t now)
{
    size_t i, start = (size_t)(key % LOGIN_SLOTS);

    for (i = 0; i < PROBE_MAX; i++) {
        struct login_entry *e = &t->login[(start + i) % LOGIN_SLOTS];

        if (e->key == key)
            return e;
        if (e->key == 0)
            break;
    }
    if (!create)
        return NULL;
    if (t->nlogin >= LOGIN_SLOTS / 4 * 3)
        login_compact(t, now);
    for (i = 0; i < PROBE_MAX; i++) {
        struct login_entry *e = &t->login[(start + i) % LOGIN_SLOTS];

        if (e->key == 0) {
            t->nlogin++;
            memset(e, 0, sizeof(*e));
            e->key = key;
            return e;
        }
    }
    /* Full of live entries: take over the first slot of the run. */
    memset(&t->login[start], 0, sizeof(t->login[start]));
    t->login[start].key = key;
    return &t->login[start];
}

/* Keeps entries that still count or lock something; re-inserts them. */
static void
login_compact(struct throttle *t, int64_t now)
{
    static struct login_entry keep[LOGIN_SLOTS];    /* per process, under the lock */
    size_t n = 0, i, j;

    for (i = 0; i < LOGIN_SLOTS; i++) {
        struct login_entry *e = &t->login[i];

        if (login_live(e, now) && (e->locked_until > now ||
            e->window_start > now - 86400))
            keep[n++] = *e;
    }
    memset(t->login, 0, sizeof(t->login));
    t->nlogin = 0;
    for (i = 0; i < n; i++) {
        size_t start = (size_t)(keep[i].key % LOGIN_SLOTS);

        for (j = 0; j < LOGIN_SLOTS; j++) {
            struct login_entry *e = &t->login[(start + j) % LOGIN_SLOTS];

            if (e->key == 0) {
                *e = keep[i];
                t->nlogin++;
                break;
            }
        }
    }
}

long
throttle_login_wait(struct throttle *t, const char *email, const char *addr,
    int64_t now)
{
    struct login_entry *e;
    int64_t             until = 0;

    throttle_lock(t);
    if ((e = login_find(t, throttle_key(t, 'a', email), 0, now)) != NULL &&
        e->locked_until > until)
        until = e->locked_until;
    if ((e = login_find(t, throttle_key(t, 'i', addr), 0, now)) != NULL &&
        e->locked_until > until)
        until = e->locked_until;
    pthread_mutex_unlock(&t->lock);
    return until > now ? (long)(until - now) : 0;
}

/* One failure on e; 1 when it starts a lockout. */
static int
login_count(struct login_entry *e, int64_t now, const struct throttle_limits *l)
{
    if (e->locked_until > now)
        return 0;
    if (e->failures == 0 || now - e->window_start >= l->window) {
        e->window_start = now;
        e->failures = 0;
    }
    e->failures++;
    if (e->failures >= (uint32_t)l->max_failures) {
        e->locked_until = now + l->lockout;
        e->failures = 0;
        return 1;
    }
    return 0;
}

int
throttle_login_failed(struct throttle *t, const char *email, const char *addr,
    int64_t now, const struct throttle_limits *l)
{
    struct login_entry *e;
    int                 started = 0;

    throttle_lock(t);
    if ((e = login_find(t, throttle_key(t, 'a', email), 1, now)) != NULL &&
        login_count(e, now, l))
        started |= 1;
    if ((e = login_find(t, throttle_key(t, 'i', addr), 1, now)) != NULL &&
        login_count(e, now, l))
        started |= 2;
    pthread_mutex_unlock(&t->lock);
    return started;
}

void
throttle_login_ok(struct throttle *t, const char *email)
{
    struct login_entry *e;

    throttle_lock(t);
    if ((e = login_find(t, throttle_key(t, 'a', email), 0, 0)) != NULL) {
        e->failures = 0;
        e->locked_until = 0;
    }
    pthread_mutex_unlock(&t->lock);
}

static struct conn_entry *
conn_find(struct throttle *t, uint64_t key, int slot, int create)
{
    uint64_t h = key ^ ((uint64_t)(uint32_t)slot * 0x9e3779b97f4a7c15ULL);
    size_t   i, start = (size_t)(h % CONN_SLOTS);

    for (i = 0; i < PROBE_MAX; i++) {
        struct conn_entry *e = &t->conn[(start + i) % CONN_SLOTS];

        if (e->key == key && e->slot == slot)
            return e;
        if (e->key == 0)
            break;
    }
    if (!create)
        return NULL;
    for (i = 0; i < PROBE_MAX; i++) {
        struct conn_entry *e = &t->conn[(start + i) % CONN_SLOTS];

        if (e->key == 0) {
            t->nconn++;
            e->key = key;
            e->slot = slot;
            e->count = 0;
            return e;
        }
    }
    return NULL;            /* full of live addresses: not counted */
}

static void
conn_compact(struct throttle *t)
{
    static struct conn_entry keep[CONN_SLOTS];
    size_t n = 0, i, j;

    for (i = 0; i < CONN_SLOTS; i++)
        if (t->conn[i].key != 0 && t->conn[i].count > 0)
            keep[n++] = t->conn[i];
    memset(t->conn, 0, sizeof(t->conn));
    t->nconn = 0;
    for (i = 0; i < n; i++) {
        uint64_t h = keep[i].key ^
            ((uint64_t)(uint32_t)keep[i].slot * 0x9e3779b97f4a7c15ULL);
        size_t   start = (size_t)(h % CONN_SLOTS);

        for (j = 0; j < CONN_SLOTS; j++) {
            struct conn_entry *e = &t->conn[(start + j) % CONN_SLOTS];

            if (e->key == 0) {
                *e = keep[i];
                t->nconn++;
                break;
            }
        }
    }
}

int
throttle_conn_acquire(struct throttle *t, const char *addr, int slot, long limit)
{
    struct conn_entry *total, *mine;
    uint64_t           key = throttle_key(t, 'c', addr);
    int                rc = 0;

    throttle_lock(t);
    /* Before any lookup: compaction moves entries. */
    if (t->nconn >= CONN_SLOTS / 4 * 3)
        conn_compact(t);
    total = conn_find(t, key, SLOT_TOTAL, 1);
    if (total != NULL && total->count >= limit) {
        rc = -1;
    } else if (total != NULL) {
        if ((mine = conn_find(t, key, slot, 1)) != NULL) {
            total->count++;
            mine->count++;
        }
    }
    pthread_mutex_unlock(&t->lock);
    return rc;
}

void
throttle_conn_release(struct throttle *t, const char *addr, int slot)
{
    struct conn_entry *total, *mine;
    uint64_t           key = throttle_key(t, 'c', addr);

    throttle_lock(t);
    mine = conn_find(t, key, slot, 0);
    total = conn_find(t, key, SLOT_TOTAL, 0);
    if (mine != NULL && mine->count > 0 && total != NULL && total->count > 0) {
        mine->count--;
        total->count--;
    }
    pthread_mutex_unlock(&t->lock);
}

void
throttle_conn_clear_slot(struct throttle *t, int slot)
{
    size_t i;

    throttle_lock(t);
    for (i = 0; i < CONN_SLOTS; i++) {
        struct conn_entry *e = &t->conn[i], *total;

        if (e->key == 0 || e->slot != slot || e->count == 0)
            continue;
        if ((total = conn_find(t, e->key, SLOT_TOTAL, 0)) != NULL)
            total->count = total->count > e->count ? total->count - e->count : 0;
        e->count = 0;
    }
    pthread_mutex_unlock(&t->lock);
}
