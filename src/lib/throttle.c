/* SPDX-License-Identifier: MIT */
/*
 * throttle.c - shared login, registration and connection counters; see
 * throttle.h.
 *
 * Three open-addressing tables with linear probing in one shared mapping:
 * login attempts (keyed by account and by address), registrations (by
 * address) and connections (by address and worker slot, plus a total per
 * address, so the master can hand back what a crashed worker held).
 *
 * Invariants, kept under the lock by every call:
 *   - An entry sits at most PROBE_MAX - 1 slots after its home slot, and
 *     no slot between its home and it is empty, so a lookup that probes
 *     PROBE_MAX slots or stops at an empty one always finds it.  Inserts
 *     only take an empty slot within that reach; deletes shift later
 *     entries back (Knuth's algorithm R), which only brings them closer to
 *     home.  Nothing is ever re-inserted elsewhere.
 *   - No entry that still counts is ever dropped or taken over.  Login and
 *     registration entries that count nothing any more (stale) are
 *     deleted when their key is cleared, or swept when a key finds no room
 *     or the table is three quarters full, at most once a second (entries
 *     go stale as the clock moves on; a call that makes one stale deletes
 *     it there and then).  When there is still no room, the call refuses
 *     instead of admitting an attempt it cannot count.
 *   - A connection entry exists only while its count is above 0, and each
 *     address's total is the sum of its per-slot counts.
 *   - Times are CLOCK_MONOTONIC seconds.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "auth.h"
#include "throttle.h"

#define LOGIN_SLOTS   65536     /* powers of two; 3 MiB in all */
#define REG_SLOTS     16384
#define CONN_SLOTS    32768
#define PROBE_MAX     64
#define SLOT_TOTAL    (-1)      /* the per-address total of connections */
#define LOCK_REPORTED 0x1       /* flags: a failure has logged the lockout */

/* What every entry starts with. */
struct head {
    uint64_t key;               /* keyed hash; 0: empty slot */
    int32_t  count;             /* attempts, registrations or connections */
    int16_t  slot;              /* connections: worker slot or SLOT_TOTAL */
    uint16_t flags;
};

/* Logins and registrations. */
struct limit_entry {
    struct head h;
    int64_t     window_end;     /* the count starts again from here */
    int64_t     locked_until;   /* logins: 0, or the end of a lockout */
};

struct conn_entry {
    struct head h;
};

struct table_meta {
    uint32_t used;              /* entries in the table */
    int64_t  swept;             /* when stale entries were last swept */
};

struct throttle {
    pthread_mutex_t     lock;
    uint8_t             seed[32];
    struct table_meta   login_meta;
    struct table_meta   reg_meta;
    struct table_meta   conn_meta;
    struct limit_entry  login[LOGIN_SLOTS];
    struct limit_entry  reg[REG_SLOTS];
    struct conn_entry   conn[CONN_SLOTS];
};

/* A process's view of one table in the mapping. */
struct table {
    unsigned char      *base;
    size_t              esize;
    size_t              nslots;
    struct table_meta  *meta;
    const char         *name;
    int               (*dead)(const struct head *, int64_t);
};

static int64_t (*throttle_clock)(void);

static int64_t  throttle_now(void);
static uint64_t throttle_key(const struct throttle *, char, const char *);
static void     throttle_lock(struct throttle *);
static void     throttle_repair(struct throttle *);
static int      throttle_check_locked(struct throttle *, char *, size_t);
static struct table tab_login(struct throttle *);
static struct table tab_reg(struct throttle *);
static struct table tab_conn(struct throttle *);
static struct head *tab_at(const struct table *, size_t);
static size_t   tab_home(const struct table *, uint64_t, int);
static size_t   tab_dist(const struct table *, size_t, size_t);
static long     tab_find(const struct table *, uint64_t, int);
static long     tab_free(const struct table *, uint64_t, int);
static long     tab_insert(const struct table *, uint64_t, int);
static void     tab_delete(const struct table *, size_t);
static void     tab_sweep(const struct table *, int64_t);
static void     tab_clear(const struct table *);
static int      tab_check(const struct table *, char *, size_t);
static int      limit_dead(const struct head *, int64_t);
static int      conn_dead(const struct head *, int64_t);
static int      limit_locked(const struct limit_entry *, int64_t);
static int      limit_stale(const struct limit_entry *, int64_t);
static void     limit_make_room(const struct table *, uint64_t, int64_t);
static long     limit_get(const struct table *, uint64_t, int *);
static void     limit_charge(struct limit_entry *, int64_t, long);
static long     login_wait(const struct table *, uint64_t, int64_t);
static int      login_admit(const struct table *, uint64_t, uint64_t,
                    int64_t, const struct throttle_limits *);
static void     login_charge(struct limit_entry *, int64_t,
                    const struct throttle_limits *);
static void     login_refund(const struct table *, uint64_t, int64_t,
                    const struct throttle_limits *);
static void     login_clear(const struct table *, uint64_t);
static int      login_report(const struct table *, uint64_t, int64_t);
static int      conn_add(const struct table *, uint64_t, int);
static void     conn_drop(const struct table *, uint64_t, int, int32_t);
static int      conn_clear_pass(const struct table *, int);
static int      conn_check_totals(const struct table *, char *, size_t);

struct throttle *
throttle_create(void)
{
    struct throttle     *t;
    pthread_mutexattr_t  a;

    t = mmap(NULL, sizeof(*t), PROT_READ | PROT_WRITE,
        MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (t == MAP_FAILED)
        return NULL;
    if (crypto_random_bytes(t->seed, sizeof(t->seed)) == -1 ||
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
    /* Any clock reading, even 0, is a second not yet swept. */
    t->login_meta.swept = INT64_MIN;
    t->reg_meta.swept = INT64_MIN;
    t->conn_meta.swept = INT64_MIN;
    return t;
}

void
throttle_destroy(struct throttle *t)
{
    if (t != NULL)
        munmap(t, sizeof(*t));
}

void
throttle_set_clock(int64_t (*now)(void))
{
    throttle_clock = now;
}

static int64_t
throttle_now(void)
{
    struct timespec ts;

    if (throttle_clock != NULL)
        return throttle_clock();
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec;
}

static void
throttle_lock(struct throttle *t)
{
    /* A worker died holding it, maybe halfway through a change. */
    if (pthread_mutex_lock(&t->lock) == EOWNERDEAD) {
        throttle_repair(t);
        pthread_mutex_consistent(&t->lock);
    }
}

/*
 * A table left unsound by a worker that died in the middle of a change is
 * emptied: forgetting counts errs on the side of letting users in, while
 * an entry out of reach could refuse an address for ever.
 */
static void
throttle_repair(struct throttle *t)
{
    struct table login = tab_login(t), reg = tab_reg(t), conn = tab_conn(t);
    char         err[1];

    if (tab_check(&login, err, sizeof(err)) == -1)
        tab_clear(&login);
    if (tab_check(&reg, err, sizeof(err)) == -1)
        tab_clear(&reg);
    if (tab_check(&conn, err, sizeof(err)) == -1 ||
        conn_check_totals(&conn, err, sizeof(err)) == -1)
        tab_clear(&conn);
}

/* A keyed hash: SHA-256 over seed, kind and string; never 0. */
static uint64_t
throttle_key(const struct throttle *t, char kind, const char *s)
{
    uint8_t  buf[32 + 1 + 320], d[CRYPTO_SHA256_LEN];
    size_t   n = strnlen(s, 320);
    uint64_t k;

    memcpy(buf, t->seed, 32);
    buf[32] = (uint8_t)kind;
    memcpy(buf + 33, s, n);
    crypto_sha256(buf, 33 + n, d);
    memcpy(&k, d, sizeof(k));
    return k == 0 ? 1 : k;
}

/* ---- tables ------------------------------------------------------------ */

static struct table
tab_login(struct throttle *t)
{
    struct table tb = { (unsigned char *)t->login, sizeof(t->login[0]),
        LOGIN_SLOTS, &t->login_meta, "login", limit_dead };

    return tb;
}

static struct table
tab_reg(struct throttle *t)
{
    struct table tb = { (unsigned char *)t->reg, sizeof(t->reg[0]),
        REG_SLOTS, &t->reg_meta, "registration", limit_dead };

    return tb;
}

static struct table
tab_conn(struct throttle *t)
{
    struct table tb = { (unsigned char *)t->conn, sizeof(t->conn[0]),
        CONN_SLOTS, &t->conn_meta, "connection", conn_dead };

    return tb;
}

static struct head *
tab_at(const struct table *tb, size_t i)
{
    return (struct head *)(tb->base + (i & (tb->nslots - 1)) * tb->esize);
}

/* Keys are uniform already; the slot spreads an address's entries. */
static size_t
tab_home(const struct table *tb, uint64_t key, int slot)
{
    uint64_t h = key ^ ((uint64_t)(uint32_t)slot * 0x9e3779b97f4a7c15ULL);

    return (size_t)(h & (tb->nslots - 1));
}

/* How far slot i is after slot from, around the end. */
static size_t
tab_dist(const struct table *tb, size_t from, size_t i)
{
    return (i - from) & (tb->nslots - 1);
}

/* The index of (key, slot), or -1. */
static long
tab_find(const struct table *tb, uint64_t key, int slot)
{
    size_t home = tab_home(tb, key, slot), d;

    for (d = 0; d < PROBE_MAX; d++) {
        struct head *e = tab_at(tb, home + d);

        if (e->key == 0)
            return -1;
        if (e->key == key && e->slot == slot)
            return (long)((home + d) & (tb->nslots - 1));
    }
    return -1;
}

/* The empty slot (key, slot) would take, or -1 when none is in reach. */
static long
tab_free(const struct table *tb, uint64_t key, int slot)
{
    size_t home = tab_home(tb, key, slot), d;

    for (d = 0; d < PROBE_MAX; d++)
        if (tab_at(tb, home + d)->key == 0)
            return (long)((home + d) & (tb->nslots - 1));
    return -1;
}

/* A zeroed entry for (key, slot), which must not be there: index or -1. */
static long
tab_insert(const struct table *tb, uint64_t key, int slot)
{
    long          i = tab_free(tb, key, slot);
    struct head  *e;

    if (i == -1)
        return -1;
    e = tab_at(tb, (size_t)i);
    memset(e, 0, tb->esize);
    e->key = key;
    e->slot = (int16_t)slot;
    tb->meta->used++;
    return i;
}

/*
 * Empties slot i and moves back each later entry of the run whose probe
 * path crossed it.  An entry PROBE_MAX or more after the hole has its home
 * after the hole, so the scan stops there at the latest.
 */
static void
tab_delete(const struct table *tb, size_t i)
{
    size_t hole = i & (tb->nslots - 1), j, d;

    for (d = 1; d < tb->nslots; d++) {
        struct head *e;
        size_t       home;

        j = (hole + d) & (tb->nslots - 1);
        e = tab_at(tb, j);
        if (e->key == 0 || d >= PROBE_MAX)
            break;
        home = tab_home(tb, e->key, e->slot);
        /* Its home is in (hole, j]: moving it would put it before home. */
        if (tab_dist(tb, hole, home) != 0 && tab_dist(tb, hole, home) <= d)
            continue;
        memcpy(tab_at(tb, hole), e, tb->esize);
        hole = j;
        d = 0;
    }
    memset(tab_at(tb, hole), 0, tb->esize);
    tb->meta->used--;
}

/*
 * Deletes every dead entry.  A delete only moves entries from after slot
 * i into slots from i on (or around the end into slots already seen, whose
 * entries were found alive), so one pass finds them all.
 */
static void
tab_sweep(const struct table *tb, int64_t now)
{
    size_t i;

    for (i = 0; i < tb->nslots; i++)
        while (tab_at(tb, i)->key != 0 && tb->dead(tab_at(tb, i), now))
            tab_delete(tb, i);
    tb->meta->swept = now;
}

static void
tab_clear(const struct table *tb)
{
    memset(tb->base, 0, tb->esize * tb->nslots);
    tb->meta->used = 0;
}

/* Every entry within reach of a lookup, and the used count right. */
static int
tab_check(const struct table *tb, char *err, size_t errlen)
{
    size_t i, n = 0;

    for (i = 0; i < tb->nslots; i++) {
        struct head *e = tab_at(tb, i);
        size_t       home;

        if (e->key == 0)
            continue;
        n++;
        home = tab_home(tb, e->key, e->slot);
        if (tab_dist(tb, home, i) >= PROBE_MAX) {
            snprintf(err, errlen, "%s slot %zu: %zu slots from home, beyond "
                "the probe limit %d", tb->name, i, tab_dist(tb, home, i),
                PROBE_MAX);
            return -1;
        }
        if (tab_find(tb, e->key, e->slot) != (long)i) {
            snprintf(err, errlen, "%s slot %zu: a lookup does not find it",
                tb->name, i);
            return -1;
        }
        if (e->count < 0) {
            snprintf(err, errlen, "%s slot %zu: count %d", tb->name, i,
                (int)e->count);
            return -1;
        }
    }
    if (n != tb->meta->used) {
        snprintf(err, errlen, "%s table: %zu entries, %u counted as used",
            tb->name, n, (unsigned)tb->meta->used);
        return -1;
    }
    return 0;
}

/* ---- logins and registrations ------------------------------------------ */

static int
limit_locked(const struct limit_entry *e, int64_t now)
{
    return e->locked_until > now;
}

/* Counts nothing any more: its next charge starts afresh. */
static int
limit_stale(const struct limit_entry *e, int64_t now)
{
    return !limit_locked(e, now) && (e->h.count == 0 ||
        e->window_end <= now || e->locked_until != 0);
}

static int
limit_dead(const struct head *h, int64_t now)
{
    return limit_stale((const struct limit_entry *)h, now);
}

/*
 * Before key is inserted: stale entries are swept when key finds no room
 * or the table is three quarters full, once a second at most.
 */
static void
limit_make_room(const struct table *tb, uint64_t key, int64_t now)
{
    if (tab_find(tb, key, 0) != -1 || tb->meta->swept == now)
        return;
    if (tb->meta->used < tb->nslots / 4 * 3 && tab_free(tb, key, 0) != -1)
        return;
    tab_sweep(tb, now);
}

/* key's entry, inserted if missing (then *fresh is set): index or -1. */
static long
limit_get(const struct table *tb, uint64_t key, int *fresh)
{
    long i = tab_find(tb, key, 0);

    *fresh = i == -1;
    return i != -1 ? i : tab_insert(tb, key, 0);
}

/* One more on e; a stale count starts a new window. */
static void
limit_charge(struct limit_entry *e, int64_t now, long window)
{
    if (limit_stale(e, now)) {
        e->h.count = 0;
        e->h.flags = 0;
        e->window_end = now + window;
        e->locked_until = 0;
    }
    e->h.count++;
}

/* Seconds key is still locked out for, 0 if not. */
static long
login_wait(const struct table *tb, uint64_t key, int64_t now)
{
    long                i = tab_find(tb, key, 0);
    struct limit_entry *e;

    if (i == -1)
        return 0;
    e = (struct limit_entry *)tab_at(tb, (size_t)i);
    return limit_locked(e, now) ? (long)(e->locked_until - now) : 0;
}

static void
login_charge(struct limit_entry *e, int64_t now, const struct throttle_limits *l)
{
    limit_charge(e, now, l->window);
    if (e->h.count >= l->max_failures) {
        e->locked_until = now + l->lockout;
        e->h.flags &= ~LOCK_REPORTED;
    }
}

/* Charges account and address both, or neither: 0, or -1 for no room. */
static int
login_admit(const struct table *tb, uint64_t ka, uint64_t ki, int64_t now,
    const struct throttle_limits *l)
{
    long ia, ii;
    int  fresh_a, fresh_i;

    /* Sweeps move entries: both before either is looked up to keep. */
    limit_make_room(tb, ka, now);
    limit_make_room(tb, ki, now);
    if ((ia = limit_get(tb, ka, &fresh_a)) == -1)
        return -1;
    if ((ii = limit_get(tb, ki, &fresh_i)) == -1) {
        if (fresh_a)
            tab_delete(tb, (size_t)ia);
        return -1;
    }
    login_charge((struct limit_entry *)tab_at(tb, (size_t)ia), now, l);
    login_charge((struct limit_entry *)tab_at(tb, (size_t)ii), now, l);
    return 0;
}

long
throttle_login_begin(struct throttle *t, const char *email, const char *addr,
    const struct throttle_limits *l)
{
    struct table tb = tab_login(t);
    uint64_t     ka = throttle_key(t, 'a', email);
    uint64_t     ki = throttle_key(t, 'i', addr);
    int64_t      now = throttle_now();
    long         wait, w;

    throttle_lock(t);
    wait = login_wait(&tb, ka, now);
    if ((w = login_wait(&tb, ki, now)) > wait)
        wait = w;
    if (wait > 0) {
        errno = EAGAIN;
    } else if (login_admit(&tb, ka, ki, now, l) == -1) {
        /* An attempt that cannot be counted is not verified. */
        errno = ENOSPC;
        wait = 1;
    }
    pthread_mutex_unlock(&t->lock);
    return wait;
}

/*
 * Gives back the address's charge for a right password.  If that takes
 * the count below the limit again, the lockout it started is lifted: the
 * address's wrong guesses alone would not have started it.
 */
static void
login_refund(const struct table *tb, uint64_t key, int64_t now,
    const struct throttle_limits *l)
{
    long                i = tab_find(tb, key, 0);
    struct limit_entry *e;

    if (i == -1)
        return;
    e = (struct limit_entry *)tab_at(tb, (size_t)i);
    if (!limit_stale(e, now) && e->h.count > 0) {
        e->h.count--;
        if (limit_locked(e, now) && e->h.count < l->max_failures) {
            e->locked_until = 0;
            e->h.flags &= ~LOCK_REPORTED;
        }
    }
    if (limit_stale(e, now))
        tab_delete(tb, (size_t)i);
}

static void
login_clear(const struct table *tb, uint64_t key)
{
    long i = tab_find(tb, key, 0);

    if (i != -1)
        tab_delete(tb, (size_t)i);
}

/* 1 when key's lockout is in force and not reported yet; marks it so. */
static int
login_report(const struct table *tb, uint64_t key, int64_t now)
{
    long                i = tab_find(tb, key, 0);
    struct limit_entry *e;

    if (i == -1)
        return 0;
    e = (struct limit_entry *)tab_at(tb, (size_t)i);
    if (!limit_locked(e, now) || (e->h.flags & LOCK_REPORTED))
        return 0;
    e->h.flags |= LOCK_REPORTED;
    return 1;
}

int
throttle_login_end(struct throttle *t, const char *email, const char *addr,
    int ok, const struct throttle_limits *l)
{
    struct table tb = tab_login(t);
    uint64_t     ka = throttle_key(t, 'a', email);
    uint64_t     ki = throttle_key(t, 'i', addr);
    int64_t      now = throttle_now();
    int          rc = 0;

    throttle_lock(t);
    if (ok) {
        login_refund(&tb, ki, now, l);
        login_clear(&tb, ka);
    } else {
        if (login_report(&tb, ka, now))
            rc |= THROTTLE_LOCKED_ACCOUNT;
        if (login_report(&tb, ki, now))
            rc |= THROTTLE_LOCKED_ADDRESS;
    }
    pthread_mutex_unlock(&t->lock);
    return rc;
}

long
throttle_register(struct throttle *t, const char *addr, long max, long window)
{
    struct table        tb = tab_reg(t);
    struct limit_entry *e;
    uint64_t            key = throttle_key(t, 'r', addr);
    int64_t             now = throttle_now();
    long                i, wait = 0;
    int                 fresh;

    throttle_lock(t);
    i = tab_find(&tb, key, 0);
    e = i != -1 ? (struct limit_entry *)tab_at(&tb, (size_t)i) : NULL;
    if (e != NULL && !limit_stale(e, now) && e->h.count >= max) {
        errno = EAGAIN;
        wait = (long)(e->window_end - now);
    } else {
        limit_make_room(&tb, key, now);
        if ((i = limit_get(&tb, key, &fresh)) == -1) {
            errno = ENOSPC;
            wait = 1;
        } else {
            limit_charge((struct limit_entry *)tab_at(&tb, (size_t)i), now,
                window);
        }
    }
    pthread_mutex_unlock(&t->lock);
    return wait;
}

/* ---- connections ------------------------------------------------------- */

static int
conn_dead(const struct head *h, int64_t now)
{
    (void)now;
    return h->count <= 0;
}

/* One more on key's total and on (key, slot): 0, or -1 for no room. */
static int
conn_add(const struct table *tb, uint64_t key, int slot)
{
    long ti, mi;
    int  fresh_total;

    ti = tab_find(tb, key, SLOT_TOTAL);
    if ((fresh_total = ti == -1) && (ti = tab_insert(tb, key, SLOT_TOTAL)) == -1)
        return -1;
    if ((mi = tab_find(tb, key, slot)) == -1 &&
        (mi = tab_insert(tb, key, slot)) == -1) {
        /* No entry at 0 may stay. */
        if (fresh_total)
            tab_delete(tb, (size_t)ti);
        return -1;
    }
    tab_at(tb, (size_t)ti)->count++;
    tab_at(tb, (size_t)mi)->count++;
    return 0;
}

/* n fewer on (key, slot); deleted at 0. */
static void
conn_drop(const struct table *tb, uint64_t key, int slot, int32_t n)
{
    long         i = tab_find(tb, key, slot);
    struct head *e;

    if (i == -1)
        return;
    e = tab_at(tb, (size_t)i);
    e->count = e->count > n ? e->count - n : 0;
    if (e->count == 0)
        tab_delete(tb, (size_t)i);
}

int
throttle_conn_acquire(struct throttle *t, const char *addr, int slot, long limit)
{
    struct table tb = tab_conn(t);
    uint64_t     key = throttle_key(t, 'c', addr);
    long         ti;
    int          rc = 0;

    throttle_lock(t);
    ti = tab_find(&tb, key, SLOT_TOTAL);
    if ((ti != -1 ? tab_at(&tb, (size_t)ti)->count : 0) >= limit) {
        errno = EAGAIN;
        rc = -1;
    } else if (conn_add(&tb, key, slot) == -1) {
        errno = ENOSPC;
        rc = -1;
    }
    pthread_mutex_unlock(&t->lock);
    return rc;
}

void
throttle_conn_release(struct throttle *t, const char *addr, int slot)
{
    struct table tb = tab_conn(t);
    uint64_t     key = throttle_key(t, 'c', addr);

    throttle_lock(t);
    /* Not counted (the table was repaired since): nothing to give back. */
    if (tab_find(&tb, key, slot) != -1) {
        conn_drop(&tb, key, slot, 1);
        conn_drop(&tb, key, SLOT_TOTAL, 1);
    }
    pthread_mutex_unlock(&t->lock);
}

/*
 * Deletes slot's entries and takes them off their totals; returns how
 * many.  Deleting a total may move an entry of slot back past i, where
 * this pass no longer looks: the caller repeats until none is left.
 */
static int
conn_clear_pass(const struct table *tb, int slot)
{
    size_t i;
    int    n = 0;

    for (i = 0; i < tb->nslots; i++) {
        struct head *e = tab_at(tb, i);
        uint64_t     key;
        int32_t      count;

        while (e->key != 0 && e->slot == slot) {
            key = e->key;
            count = e->count;
            tab_delete(tb, i);
            conn_drop(tb, key, SLOT_TOTAL, count);
            n++;
        }
    }
    return n;
}

void
throttle_conn_clear_slot(struct throttle *t, int slot)
{
    struct table tb = tab_conn(t);

    if (slot < 0)
        return;
    throttle_lock(t);
    while (conn_clear_pass(&tb, slot) > 0)
        continue;
    pthread_mutex_unlock(&t->lock);
}

/* No entry at 0, and each total the sum of its address's slots. */
static int
conn_check_totals(const struct table *tb, char *err, size_t errlen)
{
    static int64_t sum[CONN_SLOTS];     /* per process, under the lock */
    size_t         i;
    long           ti;

    memset(sum, 0, sizeof(sum));
    for (i = 0; i < tb->nslots; i++) {
        struct head *e = tab_at(tb, i);

        if (e->key == 0)
            continue;
        if (e->count <= 0) {
            snprintf(err, errlen, "connection slot %zu: count %d", i,
                (int)e->count);
            return -1;
        }
        if (e->slot == SLOT_TOTAL)
            continue;
        if ((ti = tab_find(tb, e->key, SLOT_TOTAL)) == -1) {
            snprintf(err, errlen, "connection slot %zu: no total for its "
                "address", i);
            return -1;
        }
        sum[ti] += e->count;
    }
    for (i = 0; i < tb->nslots; i++) {
        struct head *e = tab_at(tb, i);

        if (e->key != 0 && e->slot == SLOT_TOTAL && sum[i] != e->count) {
            snprintf(err, errlen, "connection slot %zu: total %d, worker "
                "slots hold %lld", i, (int)e->count, (long long)sum[i]);
            return -1;
        }
    }
    return 0;
}

static int
throttle_check_locked(struct throttle *t, char *err, size_t errlen)
{
    struct table login = tab_login(t), reg = tab_reg(t), conn = tab_conn(t);

    if (tab_check(&login, err, errlen) == -1 ||
        tab_check(&reg, err, errlen) == -1 ||
        tab_check(&conn, err, errlen) == -1 ||
        conn_check_totals(&conn, err, errlen) == -1)
        return -1;
    return 0;
}

int
throttle_check(struct throttle *t, char *err, size_t errlen)
{
    int rc;

    throttle_lock(t);
    rc = throttle_check_locked(t, err, errlen);
    pthread_mutex_unlock(&t->lock);
    return rc;
}
