/* SPDX-License-Identifier: MIT */
/*
 * throttle.c - shared login, registration and connection counts; see
 * throttle.h for the rules and throttle_store.h for where they are kept.
 *
 * Five open-addressing tables with linear probing: accounts, addresses,
 * (account, address) pairs and registrations in the file, connections
 * (by address and worker slot, plus a total per address, so the master
 * can hand back what a crashed worker held) in the master's anonymous
 * mapping.  Each of the two mappings has its own lock.
 *
 * Invariants, kept under the lock by every call:
 *   - An entry sits at most PROBE_MAX - 1 slots after its home slot, and
 *     no slot between its home and it is empty, so a lookup that probes
 *     PROBE_MAX slots or stops at an empty one always finds it.  Inserts
 *     only take an empty slot within that reach; deletes shift later
 *     entries back (Knuth's algorithm R), which only brings them closer to
 *     home.  Nothing is ever re-inserted elsewhere.
 *   - No entry that still counts is ever dropped or taken over.  Entries
 *     that count nothing any more (stale) are deleted when their key is
 *     cleared, or swept when a key finds no room or the table is three
 *     quarters full, at most once a second.  When there is still no room,
 *     the call refuses instead of admitting what it cannot count.
 *   - Each new window of an account gets an id never given before in the
 *     file (last_window + 1).  A pair counts only while its id is its
 *     account's current one, and at most max_failures: so an address
 *     counts at most max_failures times in any window of an account, even
 *     when its own window or lockout ends and starts again meanwhile.
 *   - An account is charged only within its window (a charge after it
 *     starts a new one), so every charge of a window comes before its
 *     end: a pair, which lives until that end, outlives them all.
 *   - A connection entry exists only while its count is above 0, and each
 *     address's total is the sum of its per-slot counts.
 *   - Times are CLOCK_MONOTONIC milliseconds; waits are told in whole
 *     seconds, rounded up.
 */
#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auth.h"
#include "log.h"
#include "throttle_store.h"

#define PROBE_MAX     64
#define SLOT_TOTAL    (-1)      /* the per-address total of connections */
#define SWEEP_MS      1000      /* sweeps of one table, at most this often */
#define THR_REPORTED  0x1       /* flags: a failure has logged the lockout */
#define THR_SLOWED    0x2       /* an account reached account_max_failures */

/* A process's view of one table. */
struct table {
    unsigned char      *base;
    size_t              esize;
    size_t              nslots;
    struct thr_meta    *meta;
    const char         *name;
    int               (*dead)(const struct thr_head *, int64_t);
};

/* The keys of one login. */
struct login_keys {
    uint64_t    acct;
    uint64_t    addr;
    uint64_t    pair;
};

/* Lockouts gathered for throttle_lockouts. */
struct lockout_list {
    struct throttle_lockout *v;
    size_t                   n;
    size_t                   cap;
};

static int64_t (*throttle_clock)(void);

static int64_t  thr_now(void);
static long     thr_secs(int64_t);
static uint64_t thr_key(const uint8_t *, char, const char *, const char *);
static void     thr_login_keys(const struct thr_file *, const char *,
                    const char *, struct login_keys *);
static void     thr_lock(struct throttle *);
static void     thr_unlock(struct throttle *);
static void     thr_lock_conns(struct throttle *);
static int      thr_repair(struct thr_file *, int);
static int      thr_mend(struct throttle *, char *, size_t);
static int      thr_check_file(struct thr_file *, char *, size_t);
static struct table tab_acct(struct thr_file *);
static struct table tab_addr(struct thr_file *);
static struct table tab_pair(struct thr_file *);
static struct table tab_reg(struct thr_file *);
static struct table tab_conn(struct thr_conns *);
static struct thr_head *tab_at(const struct table *, size_t);
static size_t   tab_home(const struct table *, uint64_t, int);
static size_t   tab_dist(const struct table *, size_t, size_t);
static long     tab_find(const struct table *, uint64_t, int);
static long     tab_free(const struct table *, uint64_t, int);
static long     tab_insert(const struct table *, uint64_t, int);
static void     tab_delete(const struct table *, size_t);
static void     tab_sweep(const struct table *, int64_t);
static void     tab_clear(const struct table *);
static int      tab_check(const struct table *, char *, size_t);
static int      limit_locked(const struct thr_limit *, int64_t);
static int      limit_stale(const struct thr_limit *, int64_t);
static int      limit_dead(const struct thr_head *, int64_t);
static void     limit_restart(struct thr_limit *, int64_t, int64_t);
static void     limit_make_room(const struct table *, uint64_t, int64_t);
static long     limit_get(const struct table *, uint64_t, int *);
static int      acct_stale(const struct thr_acct *, int64_t);
static int      acct_dead(const struct thr_head *, int64_t);
static int      acct_listed(const struct thr_head *, int64_t);
static long     acct_max(const struct throttle_limits *);
static int64_t  acct_delay(long, long);
static void     acct_charge(struct thr_file *, struct thr_acct *,
                    struct thr_pair *, int64_t, const struct throttle_limits *);
static int      addr_listed(const struct thr_head *, int64_t);
static void     addr_charge(struct thr_addr *, int64_t,
                    const struct throttle_limits *);
static void     addr_refund(const struct table *, uint64_t, int64_t,
                    const struct throttle_limits *);
static int      pair_dead(const struct thr_head *, int64_t);
static int64_t  login_wait(const struct table *, uint64_t, int64_t);
static int      login_admit(struct thr_file *, const struct login_keys *,
                    const char *, const char *, int64_t,
                    const struct throttle_limits *);
static int      login_report(const struct table *, uint64_t, int64_t,
                    int (*)(const struct thr_head *, int64_t));
static int      lockout_add(struct lockout_list *, int, const char *, size_t,
                    long, long);
static int      lockout_gather(const struct table *, int, size_t, int64_t,
                    struct lockout_list *);
static int      lockout_cmp(const void *, const void *);
static int      tab_unlock(const struct table *, uint64_t, int64_t,
                    int (*)(const struct thr_head *, int64_t));
static int      conn_dead(const struct thr_head *, int64_t);
static int      conn_add(const struct table *, uint64_t, int);
static void     conn_drop(const struct table *, uint64_t, int, int32_t);
static int      conn_clear_pass(const struct table *, int);
static int      conn_check_totals(const struct table *, char *, size_t);

/* ---- opening ------------------------------------------------------------ */

struct throttle *
throttle_open(const char *state_dir, int flags, char *err, size_t errlen)
{
    struct throttle *t;

    if ((t = calloc(1, sizeof(*t))) == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if (thr_store_open(t, state_dir, flags, err, errlen) == -1 ||
        ((flags & THROTTLE_DAEMON) && thr_mend(t, err, errlen) == -1)) {
        throttle_close(t);
        return NULL;
    }
    return t;
}

void
throttle_close(struct throttle *t)
{
    if (t == NULL)
        return;
    thr_store_close(t);
    free(t);
}

/*
 * The master, at start, on a file of this boot: a lock that cannot be
 * taken makes the file afresh, and a table left unsound (by a process
 * killed in the middle of a change, or damage) is emptied, each with a
 * warning.  0, or -1 with err set.
 */
static int
thr_mend(struct throttle *t, char *err, size_t errlen)
{
    int rc = pthread_mutex_lock(&t->f->u.h.lock);

    if (rc != 0 && rc != EOWNERDEAD) {
        log_msg(LOG_WARNING, "%s: the lock cannot be taken (%s); making it "
            "afresh", t->path, strerror(rc));
        return thr_store_remake(t, err, errlen);
    }
    thr_repair(t->f, 1);
    if (rc == EOWNERDEAD)
        pthread_mutex_consistent(&t->f->u.h.lock);
    pthread_mutex_unlock(&t->f->u.h.lock);
    return 0;
}

void
throttle_set_clock(int64_t (*now)(void))
{
    throttle_clock = now;
}

static int64_t
thr_now(void)
{
    struct timespec ts;

    if (throttle_clock != NULL)
        return throttle_clock() * 1000;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A wait of ms milliseconds in whole seconds, rounded up. */
static long
thr_secs(int64_t ms)
{
    return ms <= 0 ? 0 : (long)((ms + 999) / 1000);
}

static void
thr_lock(struct throttle *t)
{
    /* A process died holding it, maybe halfway through a change. */
    if (pthread_mutex_lock(&t->f->u.h.lock) == EOWNERDEAD) {
        thr_repair(t->f, 0);
        pthread_mutex_consistent(&t->f->u.h.lock);
    }
}

static void
thr_unlock(struct throttle *t)
{
    pthread_mutex_unlock(&t->f->u.h.lock);
}

static void
thr_lock_conns(struct throttle *t)
{
    struct table tb = tab_conn(t->c);
    char         err[1];

    if (pthread_mutex_lock(&t->c->lock) == EOWNERDEAD) {
        if (tab_check(&tb, err, sizeof(err)) == -1 ||
            conn_check_totals(&tb, err, sizeof(err)) == -1)
            tab_clear(&tb);
        pthread_mutex_consistent(&t->c->lock);
    }
}

/*
 * A table left unsound by a process that died in the middle of a change
 * is emptied: forgetting counts errs on the side of letting users in,
 * while an entry out of reach could refuse an address for ever.  Says why
 * when warn.  How many tables were emptied.
 */
static int
thr_repair(struct thr_file *f, int warn)
{
    struct table tabs[4] = { tab_acct(f), tab_addr(f), tab_pair(f),
                             tab_reg(f) };
    char         err[256];
    int          i, n = 0;

    for (i = 0; i < 4; i++) {
        if (tab_check(&tabs[i], err, sizeof(err)) == 0)
            continue;
        if (warn)
            log_msg(LOG_WARNING, "throttle: %s; emptying the %s table", err,
                tabs[i].name);
        tab_clear(&tabs[i]);
        n++;
    }
    return n;
}

/* A keyed hash: SHA-256 over seed, kind, a (up to THROTTLE_KEY_MAX
 * bytes: no longer key reaches here) and, when not NULL, a NUL and b;
 * never 0. */
static uint64_t
thr_key(const uint8_t *seed, char kind, const char *a, const char *b)
{
    uint8_t  buf[THR_SEED_LEN + 1 + THROTTLE_KEY_MAX + 1 + THR_ADDR_TEXT];
    uint8_t  d[CRYPTO_SHA256_LEN];
    size_t   na = strnlen(a, THROTTLE_KEY_MAX);
    size_t   nb = b != NULL ? strnlen(b, THR_ADDR_TEXT) : 0;
    size_t   n = THR_SEED_LEN + 1 + na;
    uint64_t k;

    memcpy(buf, seed, THR_SEED_LEN);
    buf[THR_SEED_LEN] = (uint8_t)kind;
    memcpy(buf + THR_SEED_LEN + 1, a, na);
    if (b != NULL) {
        buf[n++] = '\0';
        memcpy(buf + n, b, nb);
        n += nb;
    }
    crypto_sha256(buf, n, d);
    memcpy(&k, d, sizeof(k));
    return k == 0 ? 1 : k;
}

static void
thr_login_keys(const struct thr_file *f, const char *email, const char *addr,
    struct login_keys *k)
{
    k->acct = thr_key(f->u.h.seed, 'a', email, NULL);
    k->addr = thr_key(f->u.h.seed, 'i', addr, NULL);
    k->pair = thr_key(f->u.h.seed, 'p', email, addr);
}

/* ---- tables ------------------------------------------------------------ */

static struct table
tab_acct(struct thr_file *f)
{
    struct table tb = { (unsigned char *)f->acct, sizeof(f->acct[0]),
        THR_ACCT_SLOTS, &f->u.h.acct_meta, "account", acct_dead };

    return tb;
}

static struct table
tab_addr(struct thr_file *f)
{
    struct table tb = { (unsigned char *)f->addr, sizeof(f->addr[0]),
        THR_ADDR_SLOTS, &f->u.h.addr_meta, "address", limit_dead };

    return tb;
}

static struct table
tab_pair(struct thr_file *f)
{
    struct table tb = { (unsigned char *)f->pair, sizeof(f->pair[0]),
        THR_PAIR_SLOTS, &f->u.h.pair_meta, "pair", pair_dead };

    return tb;
}

static struct table
tab_reg(struct thr_file *f)
{
    struct table tb = { (unsigned char *)f->reg, sizeof(f->reg[0]),
        THR_REG_SLOTS, &f->u.h.reg_meta, "registration", limit_dead };

    return tb;
}

static struct table
tab_conn(struct thr_conns *c)
{
    struct table tb = { (unsigned char *)c->conn, sizeof(c->conn[0]),
        THR_CONN_SLOTS, &c->meta, "connection", conn_dead };

    return tb;
}

static struct thr_head *
tab_at(const struct table *tb, size_t i)
{
    return (struct thr_head *)(tb->base + (i & (tb->nslots - 1)) * tb->esize);
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
        struct thr_head *e = tab_at(tb, home + d);

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
    struct thr_head  *e;

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
        struct thr_head *e;
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
        struct thr_head *e = tab_at(tb, i);
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

/* ---- the rules ----------------------------------------------------------- */

static int
limit_locked(const struct thr_limit *e, int64_t now)
{
    return e->locked_until > now;
}

/* Addresses and registrations: counts nothing any more, so its next
 * charge starts afresh; a lockout that has ended ends its count too. */
static int
limit_stale(const struct thr_limit *e, int64_t now)
{
    return !limit_locked(e, now) && (e->h.count == 0 ||
        e->window_end <= now || e->locked_until != 0);
}

static int
limit_dead(const struct thr_head *h, int64_t now)
{
    return limit_stale((const struct thr_limit *)h, now);
}

/* A new window from now, counting nothing yet. */
static void
limit_restart(struct thr_limit *e, int64_t now, int64_t window)
{
    e->h.count = 0;
    e->h.flags = 0;
    e->window_end = now + window;
    e->locked_until = 0;
}

/*
 * Before key is inserted: stale entries are swept when key finds no room
 * or the table is three quarters full, once a second at most.
 */
static void
limit_make_room(const struct table *tb, uint64_t key, int64_t now)
{
    if (tab_find(tb, key, 0) != -1 || tb->meta->swept > now - SWEEP_MS)
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

/* An account's count lasts while a wait is in force, past its window. */
static int
acct_stale(const struct thr_acct *e, int64_t now)
{
    return !limit_locked(&e->l, now) && (e->l.h.count == 0 ||
        e->l.window_end <= now);
}

static int
acct_dead(const struct thr_head *h, int64_t now)
{
    return acct_stale((const struct thr_acct *)h, now);
}

/* Slowed down: it reached its limit in a window still counting. */
static int
acct_listed(const struct thr_head *h, int64_t now)
{
    return !acct_dead(h, now) && (h->flags & THR_SLOWED);
}

static int
addr_listed(const struct thr_head *h, int64_t now)
{
    return limit_locked((const struct thr_limit *)h, now);
}

static int
pair_dead(const struct thr_head *h, int64_t now)
{
    return ((const struct thr_pair *)h)->window_end <= now;
}

/* The account's limit, above the address's whatever the caller says. */
static long
acct_max(const struct throttle_limits *l)
{
    return l->account_max_failures > l->max_failures ?
        l->account_max_failures : l->max_failures + 1;
}

/* The wait after the attempt that brings an account to its limit plus
 * over: min(2^over, lockout) seconds, in ms. */
static int64_t
acct_delay(long over, long lockout)
{
    int64_t cap = (int64_t)lockout * 1000;

    if (over >= 30 || ((int64_t)1000 << over) > cap)
        return cap;
    return (int64_t)1000 << over;
}

/*
 * One attempt on account a from the address of pair p: counted when the
 * address has not counted max_failures times in a's window yet; from
 * a's limit on, the next attempt waits.
 */
static void
acct_charge(struct thr_file *f, struct thr_acct *a, struct thr_pair *p,
    int64_t now, const struct throttle_limits *l)
{
    long amax = acct_max(l);

    if (acct_stale(a, now)) {
        limit_restart(&a->l, now, (int64_t)l->window * 1000);
        a->window = ++f->u.h.last_window;
    }
    if (p->window != a->window) {
        p->h.count = 0;
        p->window = a->window;
        p->window_end = a->l.window_end;
    }
    if (p->h.count >= l->max_failures)
        return;
    p->h.count++;
    if (++a->l.h.count < amax)
        return;
    a->l.locked_until = now + acct_delay(a->l.h.count - amax, l->lockout);
    a->l.h.flags |= THR_SLOWED;
}

/* One attempt from address e; the one that reaches the limit locks it. */
static void
addr_charge(struct thr_addr *e, int64_t now, const struct throttle_limits *l)
{
    if (limit_stale(&e->l, now))
        limit_restart(&e->l, now, (int64_t)l->window * 1000);
    if (++e->l.h.count >= l->max_failures) {
        e->l.locked_until = now + (int64_t)l->lockout * 1000;
        e->l.h.flags &= ~THR_REPORTED;
    }
}

/* How long key must still wait (ms), 0 if not at all. */
static int64_t
login_wait(const struct table *tb, uint64_t key, int64_t now)
{
    long              i = tab_find(tb, key, 0);
    struct thr_limit *e;

    if (i == -1)
        return 0;
    e = (struct thr_limit *)tab_at(tb, (size_t)i);
    return limit_locked(e, now) ? e->locked_until - now : 0;
}

/* Charges account, address and pair, or nothing: 0, or -1 for no room.
 * A sweep moves entries of its own table only. */
static int
login_admit(struct thr_file *f, const struct login_keys *k, const char *email,
    const char *addr, int64_t now, const struct throttle_limits *l)
{
    struct table ta = tab_acct(f), ti = tab_addr(f), tp = tab_pair(f);
    long         ia, ii = -1, ip = -1;
    int          fa, fi = 0, fp;

    limit_make_room(&ta, k->acct, now);
    if ((ia = limit_get(&ta, k->acct, &fa)) != -1) {
        limit_make_room(&ti, k->addr, now);
        ii = limit_get(&ti, k->addr, &fi);
    }
    if (ii != -1) {
        limit_make_room(&tp, k->pair, now);
        ip = limit_get(&tp, k->pair, &fp);
    }
    if (ip == -1) {
        /* No entry that counts nothing may stay. */
        if (ii != -1 && fi)
            tab_delete(&ti, (size_t)ii);
        if (ia != -1 && fa)
            tab_delete(&ta, (size_t)ia);
        return -1;
    }
    if (fa)
        snprintf(f->acct[ia].text, sizeof(f->acct[ia].text), "%.*s",
            THROTTLE_KEY_MAX, email);
    if (fi)
        snprintf(f->addr[ii].text, sizeof(f->addr[ii].text), "%s", addr);
    addr_charge(&f->addr[ii], now, l);
    acct_charge(f, &f->acct[ia], &f->pair[ip], now, l);
    return 0;
}

long
throttle_login_begin(struct throttle *t, const char *email, const char *addr,
    const struct throttle_limits *l)
{
    struct login_keys k;
    struct table      ta, ti;
    int64_t           now = thr_now(), wait, w;

    if (t->f == NULL)
        return 0;
    ta = tab_acct(t->f);
    ti = tab_addr(t->f);
    thr_login_keys(t->f, email, addr, &k);
    thr_lock(t);
    wait = login_wait(&ta, k.acct, now);
    if ((w = login_wait(&ti, k.addr, now)) > wait)
        wait = w;
    if (wait > 0) {
        errno = EAGAIN;
    } else if (login_admit(t->f, &k, email, addr, now, l) == -1) {
        /* An attempt that cannot be counted is not verified. */
        errno = ENOSPC;
        wait = 1000;
    }
    thr_unlock(t);
    return thr_secs(wait);
}

/*
 * Gives back the address's charge for a right password.  If that takes
 * the count below the limit again, the lockout it started is lifted: the
 * address's wrong guesses alone would not have started it.
 */
static void
addr_refund(const struct table *tb, uint64_t key, int64_t now,
    const struct throttle_limits *l)
{
    long              i = tab_find(tb, key, 0);
    struct thr_limit *e;

    if (i == -1)
        return;
    e = (struct thr_limit *)tab_at(tb, (size_t)i);
    if (!limit_stale(e, now) && e->h.count > 0) {
        e->h.count--;
        if (limit_locked(e, now) && e->h.count < l->max_failures) {
            e->locked_until = 0;
            e->h.flags &= ~THR_REPORTED;
        }
    }
    if (limit_stale(e, now))
        tab_delete(tb, (size_t)i);
}

/* 1 when key's lockout (as listed says) is not reported yet; marks it. */
static int
login_report(const struct table *tb, uint64_t key, int64_t now,
    int (*listed)(const struct thr_head *, int64_t))
{
    long             i = tab_find(tb, key, 0);
    struct thr_head *e;

    if (i == -1)
        return 0;
    e = tab_at(tb, (size_t)i);
    if (!listed(e, now) || (e->flags & THR_REPORTED))
        return 0;
    e->flags |= THR_REPORTED;
    return 1;
}

int
throttle_login_end(struct throttle *t, const char *email, const char *addr,
    int ok, const struct throttle_limits *l)
{
    struct login_keys k;
    struct table      ta, ti;
    int64_t           now = thr_now();
    long              i;
    int               rc = 0;

    if (t->f == NULL)
        return 0;
    ta = tab_acct(t->f);
    ti = tab_addr(t->f);
    thr_login_keys(t->f, email, addr, &k);
    thr_lock(t);
    if (ok) {
        addr_refund(&ti, k.addr, now, l);
        if ((i = tab_find(&ta, k.acct, 0)) != -1)
            tab_delete(&ta, (size_t)i);
    } else {
        if (login_report(&ta, k.acct, now, acct_listed))
            rc |= THROTTLE_SLOWED_ACCOUNT;
        if (login_report(&ti, k.addr, now, addr_listed))
            rc |= THROTTLE_LOCKED_ADDRESS;
    }
    thr_unlock(t);
    return rc;
}

long
throttle_register(struct throttle *t, const char *addr, long max, long window)
{
    struct table      tb;
    struct thr_limit *e;
    uint64_t          key;
    int64_t           now = thr_now(), wait = 0;
    long              i;
    int               fresh;

    if (t->f == NULL)
        return 0;
    tb = tab_reg(t->f);
    key = thr_key(t->f->u.h.seed, 'r', addr, NULL);
    thr_lock(t);
    i = tab_find(&tb, key, 0);
    e = i != -1 ? (struct thr_limit *)tab_at(&tb, (size_t)i) : NULL;
    if (e != NULL && !limit_stale(e, now) && e->h.count >= max) {
        errno = EAGAIN;
        wait = e->window_end - now;
    } else {
        limit_make_room(&tb, key, now);
        if ((i = limit_get(&tb, key, &fresh)) == -1) {
            errno = ENOSPC;
            wait = 1000;
        } else {
            e = (struct thr_limit *)tab_at(&tb, (size_t)i);
            if (limit_stale(e, now))
                limit_restart(e, now, (int64_t)window * 1000);
            e->h.count++;
        }
    }
    thr_unlock(t);
    return thr_secs(wait);
}

/* ---- lockouts ------------------------------------------------------------ */

static int
lockout_add(struct lockout_list *all, int kind, const char *text,
    size_t textmax, long failures, long retry_after)
{
    struct throttle_lockout *v;
    size_t                   ncap, n;

    if (all->n == all->cap) {
        ncap = all->cap ? all->cap * 2 : 16;
        if ((v = reallocarray(all->v, ncap, sizeof(*v))) == NULL)
            return -1;
        all->v = v;
        all->cap = ncap;
    }
    v = &all->v[all->n++];
    v->kind = kind;
    n = strnlen(text, textmax);
    if (n > THROTTLE_KEY_MAX)
        n = THROTTLE_KEY_MAX;
    memcpy(v->key, text, n);
    v->key[n] = '\0';
    v->failures = failures;
    v->retry_after = retry_after;
    return 0;
}

/* The entries of tb the kind lists (their text at text_off, textmax bytes
 * long) into all.  0 or -1. */
static int
lockout_gather(const struct table *tb, int kind, size_t text_off,
    int64_t now, struct lockout_list *all)
{
    int (*listed)(const struct thr_head *, int64_t) =
        kind == THROTTLE_ACCOUNT ? acct_listed : addr_listed;
    size_t i;

    for (i = 0; i < tb->nslots; i++) {
        struct thr_head  *h = tab_at(tb, i);
        struct thr_limit *e = (struct thr_limit *)h;

        if (h->key == 0 || !listed(h, now))
            continue;
        if (lockout_add(all, kind, (const char *)h + text_off,
            tb->esize - text_off, h->count,
            thr_secs(e->locked_until - now)) == -1)
            return -1;
    }
    return 0;
}

static int
lockout_cmp(const void *a, const void *b)
{
    const struct throttle_lockout *x = a, *y = b;

    if (x->kind != y->kind)
        return x->kind < y->kind ? -1 : 1;
    return strcmp(x->key, y->key);
}

int
throttle_lockouts(struct throttle *t, struct throttle_lockout **out,
    size_t *n)
{
    struct lockout_list all = { NULL, 0, 0 };
    struct table        ta, ti;
    int64_t             now = thr_now();
    int                 rc = 0;

    if (t->f != NULL) {
        ta = tab_acct(t->f);
        ti = tab_addr(t->f);
        thr_lock(t);
        if (lockout_gather(&ta, THROTTLE_ACCOUNT,
            offsetof(struct thr_acct, text), now, &all) == -1 ||
            lockout_gather(&ti, THROTTLE_ADDRESS,
            offsetof(struct thr_addr, text), now, &all) == -1)
            rc = -1;
        thr_unlock(t);
    }
    if (rc == -1) {
        free(all.v);
        errno = ENOMEM;
        return -1;
    }
    if (all.n > 0)
        qsort(all.v, all.n, sizeof(all.v[0]), lockout_cmp);
    *out = all.v;
    *n = all.n;
    return 0;
}

/* Deletes key's entry when listed says it is listed: 1, else 0. */
static int
tab_unlock(const struct table *tb, uint64_t key, int64_t now,
    int (*listed)(const struct thr_head *, int64_t))
{
    long i = tab_find(tb, key, 0);

    if (i == -1 || !listed(tab_at(tb, (size_t)i), now))
        return 0;
    tab_delete(tb, (size_t)i);
    return 1;
}

int
throttle_unlock(struct throttle *t, const char *key)
{
    struct table ta, ti;
    char         low[THROTTLE_KEY_MAX + 1];
    size_t       len = strlen(key), i;
    int64_t      now = thr_now();
    int          n;

    if (t->f == NULL || len > THROTTLE_KEY_MAX)
        return 0;
    for (i = 0; i <= len; i++)
        low[i] = (char)tolower((unsigned char)key[i]);
    ta = tab_acct(t->f);
    ti = tab_addr(t->f);
    thr_lock(t);
    n = tab_unlock(&ta, thr_key(t->f->u.h.seed, 'a', low, NULL), now,
        acct_listed);
    n += tab_unlock(&ti, thr_key(t->f->u.h.seed, 'i', low, NULL), now,
        addr_listed);
    thr_unlock(t);
    return n;
}

/* ---- connections ------------------------------------------------------- */

static int
conn_dead(const struct thr_head *h, int64_t now)
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
    long             i = tab_find(tb, key, slot);
    struct thr_head *e;

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
    struct table tb;
    uint64_t     key;
    long         ti;
    int          rc = 0;

    if (t->c == NULL)
        return 0;
    tb = tab_conn(t->c);
    key = thr_key(t->c->seed, 'c', addr, NULL);
    thr_lock_conns(t);
    ti = tab_find(&tb, key, SLOT_TOTAL);
    if ((ti != -1 ? tab_at(&tb, (size_t)ti)->count : 0) >= limit) {
        errno = EAGAIN;
        rc = -1;
    } else if (conn_add(&tb, key, slot) == -1) {
        errno = ENOSPC;
        rc = -1;
    }
    pthread_mutex_unlock(&t->c->lock);
    return rc;
}

void
throttle_conn_release(struct throttle *t, const char *addr, int slot)
{
    struct table tb;
    uint64_t     key;

    if (t->c == NULL)
        return;
    tb = tab_conn(t->c);
    key = thr_key(t->c->seed, 'c', addr, NULL);
    thr_lock_conns(t);
    /* Not counted (the table was repaired since): nothing to give back. */
    if (tab_find(&tb, key, slot) != -1) {
        conn_drop(&tb, key, slot, 1);
        conn_drop(&tb, key, SLOT_TOTAL, 1);
    }
    pthread_mutex_unlock(&t->c->lock);
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
        struct thr_head *e = tab_at(tb, i);
        uint64_t         key;
        int32_t          count;

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
    struct table tb;

    if (slot < 0 || t->c == NULL)
        return;
    tb = tab_conn(t->c);
    thr_lock_conns(t);
    while (conn_clear_pass(&tb, slot) > 0)
        continue;
    pthread_mutex_unlock(&t->c->lock);
}

/* No entry at 0, and each total the sum of its address's slots. */
static int
conn_check_totals(const struct table *tb, char *err, size_t errlen)
{
    static int64_t sum[THR_CONN_SLOTS];     /* per process, under the lock */
    size_t         i;
    long           ti;

    memset(sum, 0, sizeof(sum));
    for (i = 0; i < tb->nslots; i++) {
        struct thr_head *e = tab_at(tb, i);

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
        struct thr_head *e = tab_at(tb, i);

        if (e->key != 0 && e->slot == SLOT_TOTAL && sum[i] != e->count) {
            snprintf(err, errlen, "connection slot %zu: total %d, worker "
                "slots hold %lld", i, (int)e->count, (long long)sum[i]);
            return -1;
        }
    }
    return 0;
}

/* ---- checks -------------------------------------------------------------- */

static int
thr_check_file(struct thr_file *f, char *err, size_t errlen)
{
    struct table tabs[4] = { tab_acct(f), tab_addr(f), tab_pair(f),
                             tab_reg(f) };
    int          i;

    for (i = 0; i < 4; i++)
        if (tab_check(&tabs[i], err, errlen) == -1)
            return -1;
    return 0;
}

int
throttle_check(struct throttle *t, char *err, size_t errlen)
{
    struct table tb;
    int          rc = 0;

    if (t->f != NULL) {
        thr_lock(t);
        rc = thr_check_file(t->f, err, errlen);
        thr_unlock(t);
    }
    if (rc == 0 && t->c != NULL) {
        tb = tab_conn(t->c);
        thr_lock_conns(t);
        if (tab_check(&tb, err, errlen) == -1 ||
            conn_check_totals(&tb, err, errlen) == -1)
            rc = -1;
        pthread_mutex_unlock(&t->c->lock);
    }
    return rc;
}
