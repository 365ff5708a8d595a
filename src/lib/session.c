/* SPDX-License-Identifier: MIT */
/*
 * session.c - the shared session table; see session.h.
 *
 * File layout (native byte order: the file never leaves this machine):
 *   struct session_header   128 bytes: magic "USERAPIDSESS", version,
 *                           header, slot and user entry sizes, capacity,
 *                           max_sessions, count, users, retired, seq,
 *                           sweep_after
 *   struct session_slot[capacity]      368 bytes each: the sessions
 *   struct session_user[capacity]      48 bytes each: the users
 *
 * The slots are an open-addressing hash table keyed by SHA-256(token), with
 * linear probing from slot (first 8 key bytes & (capacity - 1)) and
 * backward-shift deletion, so there are no tombstones.  The user entries
 * are a second such table, keyed by SHA-256(email), each holding the head
 * (oldest), tail and length of a doubly linked list of that user's slots
 * (prev/next slot indices in the slots).  Version 1 files (no lists, no
 * addresses, 312-byte slots) are converted by session_open.
 *
 * Invariants:
 * - capacity is a power of two >= 2 * max_sessions, and count (used slots,
 *   expired ones included) <= max_sessions, so at least half the slots are
 *   free and every probe ends at a free slot.  A user has a used slot, so
 *   users <= count and the same holds for the user entries.
 * - Every used slot and user entry is reachable from its home through used
 *   ones.
 * - Every used slot is in exactly one list, its email's (the entry whose
 *   key is SHA-256 of the slot's email), which is in created_at order
 *   (ties in order of creation); an entry's count is its list's length,
 *   at least 1: an entry exists exactly while its user has a slot.
 * - A slot marked used holds a whole session: a backward shift writes the
 *   slot it moves a session into while it is marked free, marks it used,
 *   and only then frees the old one.  A writer killed mid-change can leave
 *   a session in two slots, one out of reach of its home, wrong counts or
 *   broken lists, never a mix of two sessions; the next writer finds seq
 *   odd and repairs all of that first (session_repair), as does every
 *   session_open.
 * - A file at the path is always complete: new files are written aside
 *   (sessions.tmp.XXXXXX), synced, and then linked (first creation) or
 *   renamed (rebuild, reset, upgrade) into place.  The header's magic,
 *   version, capacity and sizes never change once a file is in place, so
 *   they are read without a lock.
 * - Locks are fcntl OFD locks on the file itself: F_RDLCK to look up,
 *   F_WRLCK to change.  An OFD lock belongs to an open file description,
 *   which fork(2) shares, so a process that did not open t->fd itself
 *   reopens the file before its first lock (session_lock).
 * - seq is made odd when the write lock is taken and even again before
 *   that same file's lock is let go, by the holder and nobody else (a
 *   rebuild ends its write on the old file before moving to the new one).
 *   It stays odd only when a writer died, or a repair of what one left
 *   failed: the next writer repairs first.
 * - A rebuilt file replaces the old one while the old one's write lock is
 *   held; then "retired" is set in the old header.  Whoever takes a lock on
 *   a retired file drops it and moves to the file now at the path.
 * - last_used is the one field written under a read lock, with relaxed
 *   atomic stores, and only when the second changes, so a burst of
 *   requests does not dirty the page on each one.  Lock-free lookups store
 *   nothing: a slot they read may hold another session a moment later.
 *   Everything else changes under the write lock only.
 * - sweep_after is a time before which no session in the table expires
 *   (last uses only move expiry later, and newer sessions expire later
 *   still), so a full table is not scanned again before it.
 * - The mapping is not msync'd: sessions survive a crash of any process,
 *   and a power loss may lose recent ones (their users log in again).
 * - A file's blocks are allocated when it is made (posix_fallocate), so a
 *   store through the mapping never meets a full disk.
 */
#include <errno.h>
#include <pthread.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "auth.h"
#include "log.h"
#include "encoding.h"
#include "session.h"

#define SESSION_MAGIC           "USERAPIDSESS"
#define SESSION_MAGIC_LEN       12
#define SESSION_VERSION         2
#define SESSION_MIN_CAPACITY    16
#define SESSION_TRIES           8       /* files replaced under one call */
#define SESSION_NONE            UINT32_MAX  /* no slot: a list's end */

struct session_header {
    char        magic[SESSION_MAGIC_LEN];   /* no NUL */
    uint32_t    version;
    uint32_t    header_size;
    uint32_t    slot_size;
    uint64_t    capacity;                   /* slots, a power of two */
    uint64_t    max_sessions;
    uint64_t    count;                      /* used slots */
    uint32_t    retired;                    /* replaced by a newer file */
    uint32_t    user_size;                  /* 0 in version 1 */
    uint64_t    seq;                        /* odd while a writer changes slots */
    uint64_t    users;                      /* user entries in use */
    int64_t     sweep_after;                /* no expiry before; 0: unknown */
    uint8_t     reserved[48];
};

struct session_slot {
    uint8_t     key[CRYPTO_SHA256_LEN];       /* SHA-256 of the token */
    int64_t     created_at;
    int64_t     last_used;                  /* atomic */
    uint32_t    in_use;                     /* 0 free, 1 used */
    uint32_t    role;
    uint32_t    prev;                       /* the user's list, or */
    uint32_t    next;                       /* SESSION_NONE */
    char        email[SESSION_EMAIL_MAX + 2];   /* NUL-terminated */
    char        addr[SESSION_ADDR_MAX + 1];     /* NUL-terminated */
    uint8_t     pad[2];
};

/* One user's list of slots. */
struct session_user {
    uint8_t     key[CRYPTO_SHA256_LEN];       /* SHA-256 of the email */
    uint32_t    in_use;
    uint32_t    count;                      /* slots in the list, >= 1 */
    uint32_t    head;                       /* oldest */
    uint32_t    tail;                       /* newest */
};

/* The slot of a version-1 file, read once to convert it. */
struct session_slot_v1 {
    uint8_t     key[CRYPTO_SHA256_LEN];
    int64_t     created_at;
    int64_t     last_used;
    uint32_t    in_use;
    uint32_t    role;
    char        email[SESSION_EMAIL_MAX + 2];
};

_Static_assert(sizeof(struct session_header) == 128, "header is 128 bytes");
_Static_assert(sizeof(struct session_slot) == 368, "slot is 368 bytes");
_Static_assert(sizeof(struct session_user) == 48, "user entry is 48 bytes");
_Static_assert(sizeof(struct session_slot_v1) == 312, "v1 slot is 312 bytes");
_Static_assert(sizeof(struct session_header) % 8 == 0 &&
    sizeof(struct session_slot) % 8 == 0 &&
    sizeof(struct session_user) % 8 == 0, "entries stay 8-byte aligned");
_Static_assert(SESSION_ADDR_MAX + 1 == 46, "an address is INET6_ADDRSTRLEN");

/* The hash tables within one mapping. */
struct session_view {
    struct session_header  *hdr;
    struct session_slot    *slots;
    struct session_user    *users;
    uint64_t                mask;
};

struct session_table {
    char                dir[PATH_MAX];
    char                path[PATH_MAX];
    int                 fd;         /* our own open file description */
    pid_t               pid;        /* the process that opened fd */
    int                 readonly;   /* session_check's view */
    int                 allow_old;  /* a version-1 file may be attached */
    void               *map;
    size_t              map_len;
    struct session_view v;          /* slots and users NULL on version 1 */
    const struct session_slot_v1 *old;  /* the slots of a version-1 file */
    int64_t             ttl, max_age;
    uint64_t            max_per_user;
    int                 writing;    /* holds the write lock, seq is odd */
};

/* A used slot chosen for keeping or dropping. */
struct session_ref {
    int64_t     expires;
    int64_t     created;
    uint64_t    idx;
    uint8_t     key[CRYPTO_SHA256_LEN];
};

/* Sessions copied out for session_foreach. */
struct session_list {
    struct session_info    *info;
    size_t                  n, cap;
};

enum session_attach {
    SESSION_ATTACHED,
    SESSION_ABSENT,
    SESSION_CORRUPT,        /* err says why */
    SESSION_FAILED          /* err says why, errno set */
};

/* Which of a user's sessions session_user_filter ends. */
typedef int (*session_pick)(const struct session_table *,
    const struct session_slot *, int64_t, const void *);

static int64_t  session_now(void);
static int64_t  session_add_time(int64_t, int64_t);
static int64_t  session_expiry(const struct session_table *,
                    const struct session_slot *);
static uint64_t session_capacity_for(uint64_t);
static size_t   session_file_size(uint32_t, uint64_t);
static uint64_t session_home(const struct session_view *, const uint8_t *);
static void     session_view_set(struct session_view *, void *, uint64_t);
static int      session_cfg_check(const struct session_cfg *, char *, size_t);
static int      session_paths(struct session_table *, const char *, char *,
                    size_t);
static int      session_open_file(struct session_table *, uint64_t, uint64_t,
                    int, char *, size_t);
static enum session_attach session_attach(struct session_table *, char *,
                    size_t);
static void     session_attach_set(struct session_table *, int, void *,
                    size_t, uint64_t, int);
static int      session_header_check(const struct session_header *, off_t,
                    int, char *, size_t);
static int      session_fd_lock(int, short);
static int      session_lock(struct session_table *, short);
static int      session_write_begin(struct session_table *);
static void     session_write_end(struct session_table *);
static void     session_unlock(struct session_table *);
static int      session_install(struct session_table *, uint64_t, uint64_t,
                    const struct session_ref *, size_t, int, char *, size_t);
static void     session_install_header(struct session_view *, uint64_t,
                    uint64_t);
static int      session_install_copy(struct session_table *,
                    struct session_view *, const struct session_ref *,
                    size_t);
static int      session_sync_dir(const char *);
static int      session_adjust(struct session_table *, uint64_t, uint64_t,
                    char *, size_t);
static int      session_rebuild(struct session_table *, uint64_t, uint64_t,
                    char *, size_t);
static const struct session_slot *session_slot_at(
                    const struct session_table *, uint64_t,
                    struct session_slot *);
static int64_t  session_find(const struct session_view *, const uint8_t *);
static int64_t  session_insert(struct session_view *,
                    const struct session_slot *);
static int      session_add(struct session_view *, const struct session_slot *,
                    const uint8_t *);
static void     session_delete_at(struct session_view *, uint64_t, int);
static void     session_move(struct session_view *, uint64_t, uint64_t, int);
static void     session_user_key(const char *, uint8_t *);
static int64_t  session_user_find(const struct session_view *,
                    const uint8_t *);
static int64_t  session_user_add(struct session_view *, const uint8_t *);
static void     session_user_delete_at(struct session_view *, uint64_t);
static void     session_link(struct session_view *, uint64_t, uint64_t);
static void     session_unlink(struct session_view *, uint64_t);
static void     session_relink(struct session_view *, uint64_t);
static uint32_t session_first(const struct session_view *, const uint8_t *,
                    const char *);
static uint32_t session_next(const struct session_view *, uint32_t,
                    const char *);
static int      session_user_filter(struct session_table *, const uint8_t *,
                    const char *, int64_t, session_pick, const void *);
static int      session_pick_expired(const struct session_table *,
                    const struct session_slot *, int64_t, const void *);
static int      session_pick_not_key(const struct session_table *,
                    const struct session_slot *, int64_t, const void *);
static int      session_make_room(struct session_table *, const uint8_t *,
                    const char *, int64_t);
static int      session_collect(const struct session_table *, int64_t,
                    struct session_ref **, size_t *);
static int      session_ref_cmp(const void *, const void *);
static int      session_ref_created_cmp(const void *, const void *);
static int      session_info_cmp(const void *, const void *);
static int64_t  session_sweep(struct session_table *, int64_t);
static int      session_trim(struct session_table *, int64_t, uint64_t);
static const char *session_slot_problem(const struct session_slot *);
static const char *session_text_problem(const char *, size_t);
static int      session_check_table(const struct session_table *, char *,
                    size_t);
static int      session_check_reach(const struct session_table *, char *,
                    size_t);
static int      session_repair(struct session_table *);
static int      session_repair_slots(struct session_table *);
static int      session_users_verify(const struct session_view *, char *,
                    size_t);
static int      session_user_verify(const struct session_view *, uint64_t,
                    uint8_t *, uint64_t *, char *, size_t);
static int      session_users_rebuild(struct session_view *);
static int      session_email_is(const struct session_slot *, const char *);
static int      session_list_add(struct session_list *,
                    const struct session_table *, const struct session_slot *);
static void     session_fill(const struct session_table *, int,
                    const struct session_slot *, struct session_info *);
static void     session_id(const uint8_t *, char *);
static void     session_id_bytes(const uint8_t *, uint8_t *);
static int      session_id_parse(const char *, uint8_t *);
static int      session_key(const char *, size_t, uint8_t *);
static int      session_slot_new(struct session_slot *, const char *, int,
                    const char *);
static int      session_lookup_fast(struct session_table *, const uint8_t *,
                    struct session_info *);

static int64_t (*session_clock)(void);
static struct session_stats session_stat;

/*
 * getpid(2) is a system call on every lookup otherwise; the pid is kept
 * here and renewed in the child of every fork(2).
 */
static pid_t          session_pid;
static pthread_once_t session_pid_once = PTHREAD_ONCE_INIT;

static void
session_pid_renew(void)
{
    session_pid = getpid();
}

static void
session_pid_init(void)
{
    session_pid = getpid();
    pthread_atfork(NULL, NULL, session_pid_renew);
}

static pid_t
session_self(void)
{
    pthread_once(&session_pid_once, session_pid_init);
    return session_pid;
}

struct session_table *
session_open(const char *state_dir, const struct session_cfg *cfg, int flags,
    char *err, size_t errlen)
{
    struct session_table   *t;
    uint64_t                cap, max;
    int                     rc;

    if ((flags & ~(SESSION_RESET | SESSION_AS_IS)) != 0) {
        snprintf(err, errlen, "session_open: unknown flags %#x", flags);
        return NULL;
    }
    if (session_cfg_check(cfg, err, errlen) == -1)
        return NULL;
    if ((t = calloc(1, sizeof(*t))) == NULL) {
        snprintf(err, errlen, "session_open: %s", strerror(errno));
        return NULL;
    }
    t->fd = -1;
    t->ttl = cfg->ttl;
    t->max_age = cfg->max_age;
    t->max_per_user = (uint64_t)cfg->max_per_user;
    t->allow_old = 1;
    if (session_paths(t, state_dir, err, errlen) == -1)
        goto fail;
    max = (uint64_t)cfg->max_sessions;
    cap = session_capacity_for(max);
    if (session_open_file(t, cap, max, flags, err, errlen) == -1)
        goto fail;
    if (session_lock(t, F_WRLCK) == -1) {
        snprintf(err, errlen, "%s: lock: %s", t->path, strerror(errno));
        goto fail;
    }
    if (flags & SESSION_AS_IS) {
        /* The file's own size, whoever made it. */
        max = t->v.hdr->max_sessions;
        cap = t->v.hdr->capacity;
    }
    rc = session_adjust(t, cap, max, err, errlen);
    session_unlock(t);
    t->allow_old = 0;
    if (rc == -1)
        goto fail;
    return t;
fail:
    session_close(t);
    return NULL;
}

/* Attaches t to the file at its path, making one (cap slots for max
 * sessions) when there is none, or when it is corrupt and flags says so. */
static int
session_open_file(struct session_table *t, uint64_t cap, uint64_t max,
    int flags, char *err, size_t errlen)
{
    int tries;

    for (tries = 0; tries < SESSION_TRIES; tries++) {
        switch (session_attach(t, err, errlen)) {
        case SESSION_ATTACHED:
            return 0;
        case SESSION_ABSENT:
            /* Linked, not renamed: if another process made it first,
             * theirs stays and we open it. */
            if (session_install(t, cap, max, NULL, 0, 0, err, errlen) == -1)
                return -1;
            continue;
        case SESSION_CORRUPT:
            if ((flags & SESSION_RESET) == 0)
                return -1;
            log_msg(LOG_WARNING, "session_open: %s; replacing it with an "
                "empty session table", err);
            if (session_install(t, cap, max, NULL, 0, 1, err, errlen) == -1)
                return -1;
            continue;
        case SESSION_FAILED:
            return -1;
        }
    }
    snprintf(err, errlen, "%s: replaced too often while opening", t->path);
    return -1;
}

void
session_close(struct session_table *t)
{
    if (t == NULL)
        return;
    if (t->map != NULL)
        munmap(t->map, t->map_len);
    if (t->fd != -1)
        close(t->fd);
    free(t);
}

int
session_create(struct session_table *t, const char *email, int role,
    const char *addr, char token[CRYPTO_TOKEN_LEN + 1], int64_t *expires_at)
{
    struct session_slot     s;
    uint8_t                 ukey[CRYPTO_SHA256_LEN];
    char                    tok[CRYPTO_TOKEN_LEN + 1];
    int64_t                 now;
    int                     rc = -1, saved;

    if (session_slot_new(&s, email, role, addr) == -1) {
        errno = EINVAL;
        return -1;
    }
    if (crypto_token_new(tok) == -1)
        return -1;
    crypto_sha256(tok, CRYPTO_TOKEN_LEN, s.key);
    session_user_key(s.email, ukey);

    if (session_lock(t, F_WRLCK) == -1)
        goto done;
    now = session_now();
    s.created_at = now;
    s.last_used = now;
    if (session_make_room(t, ukey, s.email, now) == -1 ||
        session_add(&t->v, &s, ukey) == -1) {
        saved = errno;
        session_unlock(t);
        errno = saved;
        goto done;
    }
    session_unlock(t);
    memcpy(token, tok, sizeof(tok));
    if (expires_at != NULL)
        *expires_at = session_expiry(t, &s);
    rc = 0;
done:
    explicit_bzero(tok, sizeof(tok));
    return rc;
}

/*
 * Under the write lock, before a session of the user with ukey is added:
 * that user's expired sessions end, then their oldest while they have
 * max_per_user.  If the table is still full, everyone's expired sessions
 * end, but nobody else's live one: -1 with EAGAIN when all are live.
 */
static int
session_make_room(struct session_table *t, const uint8_t *ukey,
    const char *email, int64_t now)
{
    struct session_view    *v = &t->v;
    struct session_header  *h = v->hdr;
    uint64_t                limit, n;
    uint32_t                p;
    int64_t                 u, earliest;

    session_user_filter(t, ukey, email, now, session_pick_expired, NULL);
    limit = t->max_per_user < h->max_sessions ? t->max_per_user :
        h->max_sessions;
    /* The list's head is the oldest. */
    for (n = 0; n <= v->mask; n++) {
        if ((u = session_user_find(v, ukey)) < 0 ||
            v->users[u].count < limit ||
            (p = session_first(v, ukey, email)) == SESSION_NONE)
            break;
        session_delete_at(v, p, 1);
    }
    if (h->count < h->max_sessions)
        return 0;
    /* A hint further than ttl ahead is from a clock that went back. */
    if (now < h->sweep_after && h->sweep_after - now <= t->ttl) {
        errno = EAGAIN;
        return -1;
    }
    earliest = session_sweep(t, now);
    if (h->count < h->max_sessions)
        return 0;
    h->sweep_after = earliest;
    errno = EAGAIN;
    return -1;
}

int
session_lookup(struct session_table *t, const char *token, size_t token_len,
    struct session_info *out)
{
    struct session_slot    *s;
    uint8_t                 key[CRYPTO_SHA256_LEN];
    int64_t                 now, i, last;
    int                     rc;

    if (session_key(token, token_len, key) == -1)
        return SESSION_NOT_FOUND;
    if ((rc = session_lookup_fast(t, key, out)) != -2)
        return rc;
    session_stat.locked_lookups++;
    rc = SESSION_NOT_FOUND;
    if (session_lock(t, F_RDLCK) == -1)
        return -1;
    now = session_now();
    if ((i = session_find(&t->v, key)) >= 0) {
        s = &t->v.slots[i];
        if (session_expiry(t, s) > now) {
            /* Writers are locked out, so slot i is still this session.
             * Other readers may store too: the latest time wins. */
            last = __atomic_load_n(&s->last_used, __ATOMIC_RELAXED);
            while (now > last && !__atomic_compare_exchange_n(&s->last_used,
                &last, now, 1, __ATOMIC_RELAXED, __ATOMIC_RELAXED))
                ;
            if (out != NULL)
                session_fill(t, 0, s, out);
            rc = 0;
        }
    }
    session_unlock(t);
    return rc;
}

/*
 * Lookups are most of the traffic and only read, so they take no lock: a
 * writer makes the header's seq odd for as long as it changes slots (under
 * its write lock), and a reader that saw seq even and unchanged around its
 * probe and copy has a consistent result.  It stores nothing: by then a
 * backward shift may have put another session in the slot it read.  -2
 * when the lock is needed: a writer at work, another process's mapping, a
 * retired file, or a last use to record (once a second per session).
 */
static int
session_lookup_fast(struct session_table *t, const uint8_t *key,
    struct session_info *out)
{
    struct session_slot copy;
    uint64_t            s1, s2;
    int64_t             i, now;
    int                 tries;

    if (t->pid != session_self() || t->readonly ||
        __atomic_load_n(&t->v.hdr->retired, __ATOMIC_ACQUIRE) != 0)
        return -2;
    for (tries = 0; tries < 4; tries++) {
        s1 = __atomic_load_n(&t->v.hdr->seq, __ATOMIC_ACQUIRE);
        if (s1 & 1)
            return -2;
        i = session_find(&t->v, key);
        if (i >= 0)
            memcpy(&copy, &t->v.slots[i], sizeof(copy));
        __atomic_thread_fence(__ATOMIC_ACQUIRE);
        s2 = __atomic_load_n(&t->v.hdr->seq, __ATOMIC_RELAXED);
        if (s1 != s2)
            continue;
        if (i < 0)
            return SESSION_NOT_FOUND;
        now = session_now();
        if (session_expiry(t, &copy) <= now)
            return SESSION_NOT_FOUND;
        if (now > copy.last_used)
            return -2;
        if (out != NULL)
            session_fill(t, 0, &copy, out);
        return 0;
    }
    return -2;
}

int
session_revoke(struct session_table *t, const char *token, size_t token_len)
{
    uint8_t     key[CRYPTO_SHA256_LEN];
    int64_t     now, i;
    int         rc = SESSION_NOT_FOUND;

    if (session_key(token, token_len, key) == -1)
        return SESSION_NOT_FOUND;
    if (session_lock(t, F_WRLCK) == -1)
        return -1;
    now = session_now();
    /* A loop, not an if: should a session be in two slots (see
     * session_repair), a logout ends both. */
    while ((i = session_find(&t->v, key)) >= 0) {
        if (session_expiry(t, &t->v.slots[i]) > now)
            rc = 0;
        session_delete_at(&t->v, (uint64_t)i, 1);
    }
    session_unlock(t);
    return rc;
}

int
session_revoke_id(struct session_table *t, const char *email, const char *id)
{
    struct session_view    *v = &t->v;
    uint8_t                 want[SESSION_ID_LEN / 2], have[SESSION_ID_LEN / 2];
    uint8_t                 ukey[CRYPTO_SHA256_LEN];
    uint64_t                n;
    uint32_t                p;
    int64_t                 now;
    int                     rc = SESSION_NOT_FOUND;

    if (strnlen(email, SESSION_EMAIL_MAX + 1) > SESSION_EMAIL_MAX ||
        session_id_parse(id, want) == -1)
        return SESSION_NOT_FOUND;
    session_user_key(email, ukey);
    if (session_lock(t, F_WRLCK) == -1)
        return -1;
    now = session_now();
    p = session_first(v, ukey, email);
    for (n = 0; p != SESSION_NONE && n <= v->mask; n++) {
        session_id_bytes(v->slots[p].key, have);
        if (memcmp(have, want, sizeof(have)) == 0) {
            if (session_expiry(t, &v->slots[p]) > now)
                rc = 0;
            session_delete_at(v, p, 1);
            break;
        }
        p = session_next(v, p, email);
    }
    session_unlock(t);
    return rc;
}

int
session_revoke_user(struct session_table *t, const char *email,
    const char *except_token)
{
    uint8_t     keep[CRYPTO_SHA256_LEN], ukey[CRYPTO_SHA256_LEN];
    int         n, has_keep = 0;

    if (strnlen(email, SESSION_EMAIL_MAX + 1) > SESSION_EMAIL_MAX)
        return 0;
    if (except_token != NULL &&
        session_key(except_token, strlen(except_token), keep) == 0)
        has_keep = 1;
    session_user_key(email, ukey);
    if (session_lock(t, F_WRLCK) == -1)
        return -1;
    n = session_user_filter(t, ukey, email, session_now(),
        session_pick_not_key, has_keep ? keep : NULL);
    session_unlock(t);
    return n;
}

int
session_set_role(struct session_table *t, const char *email, int role)
{
    struct session_view    *v = &t->v;
    uint8_t                 ukey[CRYPTO_SHA256_LEN];
    uint64_t                k;
    uint32_t                p;
    int64_t                 now;
    int                     n = 0;

    if (role < 0 || role > SESSION_ROLE_MAX) {
        errno = EINVAL;
        return -1;
    }
    if (strnlen(email, SESSION_EMAIL_MAX + 1) > SESSION_EMAIL_MAX)
        return 0;
    session_user_key(email, ukey);
    if (session_lock(t, F_WRLCK) == -1)
        return -1;
    now = session_now();
    p = session_first(v, ukey, email);
    for (k = 0; p != SESSION_NONE && k <= v->mask; k++) {
        v->slots[p].role = (uint32_t)role;
        if (session_expiry(t, &v->slots[p]) > now)
            n++;
        p = session_next(v, p, email);
    }
    session_unlock(t);
    return n;
}

int
session_foreach(struct session_table *t, const char *email,
    int (*fn)(const struct session_info *, void *), void *arg)
{
    struct session_view    *v = &t->v;
    struct session_list     l = { NULL, 0, 0 };
    uint8_t                 ukey[CRYPTO_SHA256_LEN];
    uint64_t                i;
    uint32_t                p;
    int64_t                 now;
    int                     rc = 0;

    if (email != NULL && strnlen(email, SESSION_EMAIL_MAX + 1) >
        SESSION_EMAIL_MAX)
        return 0;
    if (email != NULL)
        session_user_key(email, ukey);
    if (session_lock(t, F_RDLCK) == -1)
        return -1;
    now = session_now();
    if (email != NULL) {
        /* The list is in order of creation already. */
        p = session_first(v, ukey, email);
        for (i = 0; p != SESSION_NONE && i <= v->mask && rc == 0; i++) {
            if (session_expiry(t, &v->slots[p]) > now)
                rc = session_list_add(&l, t, &v->slots[p]);
            p = session_next(v, p, email);
        }
    } else {
        session_stat.scans++;
        for (i = 0; i <= v->mask && rc == 0; i++)
            if (v->slots[i].in_use != 0 &&
                session_expiry(t, &v->slots[i]) > now)
                rc = session_list_add(&l, t, &v->slots[i]);
    }
    session_unlock(t);
    if (rc == 0 && email == NULL && l.n > 0)
        qsort(l.info, l.n, sizeof(*l.info), session_info_cmp);
    for (i = 0; i < l.n && rc == 0; i++)
        rc = fn(&l.info[i], arg);
    free(l.info);
    return rc;
}

/* Appends s's info to l: 0, or -1 (ENOMEM). */
static int
session_list_add(struct session_list *l, const struct session_table *t,
    const struct session_slot *s)
{
    struct session_info    *p;
    size_t                  cap;

    if (l->n == l->cap) {
        cap = l->cap ? l->cap * 2 : 16;
        if ((p = reallocarray(l->info, cap, sizeof(*p))) == NULL) {
            errno = ENOMEM;
            return -1;
        }
        l->info = p;
        l->cap = cap;
    }
    session_fill(t, 1, s, &l->info[l->n++]);
    return 0;
}

int
session_check(const char *state_dir, char *err, size_t errlen)
{
    struct session_table   *t;
    int                     rc = -1;

    if ((t = calloc(1, sizeof(*t))) == NULL) {
        snprintf(err, errlen, "session_check: %s", strerror(errno));
        return -1;
    }
    t->fd = -1;
    t->readonly = 1;
    t->allow_old = 1;
    if (session_paths(t, state_dir, err, errlen) == -1)
        goto done;
    switch (session_attach(t, err, errlen)) {
    case SESSION_ATTACHED:
        break;
    case SESSION_ABSENT:
        rc = 0;
        goto done;
    case SESSION_CORRUPT:
    case SESSION_FAILED:
        goto done;
    }
    if (t->old != NULL) {
        snprintf(err, errlen, "%s: format version 1, from an earlier release: "
            "it is upgraded to version %d when userapid next starts", t->path,
            SESSION_VERSION);
        goto done;
    }
    if (session_lock(t, F_RDLCK) == -1) {
        snprintf(err, errlen, "%s: lock: %s", t->path, strerror(errno));
        goto done;
    }
    rc = session_check_table(t, err, errlen);
    session_unlock(t);
done:
    session_close(t);
    return rc;
}

void
session_set_clock(int64_t (*now)(void))
{
    session_clock = now;
}

void
session_get_stats(struct session_stats *out)
{
    *out = session_stat;
}

static int64_t
session_now(void)
{
    return session_clock != NULL ? session_clock() : (int64_t)time(NULL);
}

/* a + b, saturating: timestamps come from a file that may be damaged. */
static int64_t
session_add_time(int64_t a, int64_t b)
{
    int64_t r;

    if (__builtin_add_overflow(a, b, &r))
        return b > 0 ? INT64_MAX : INT64_MIN;
    return r;
}

static int64_t
session_expiry(const struct session_table *t, const struct session_slot *s)
{
    int64_t idle, absolute;

    idle = session_add_time(__atomic_load_n(&s->last_used, __ATOMIC_RELAXED),
        t->ttl);
    absolute = session_add_time(s->created_at, t->max_age);
    return idle < absolute ? idle : absolute;
}

/* The smallest power of two >= 2 * max, and >= SESSION_MIN_CAPACITY. */
static uint64_t
session_capacity_for(uint64_t max)
{
    uint64_t    cap = SESSION_MIN_CAPACITY;

    while (cap < 2 * max)
        cap *= 2;
    return cap;
}

/* The size of a file of format version with cap slots. */
static size_t
session_file_size(uint32_t version, uint64_t cap)
{
    if (version == 1)
        return sizeof(struct session_header) +
            (size_t)cap * sizeof(struct session_slot_v1);
    return sizeof(struct session_header) + (size_t)cap *
        (sizeof(struct session_slot) + sizeof(struct session_user));
}

/* Keys are SHA-256 output: any 8 bytes are already uniform. */
static uint64_t
session_home(const struct session_view *v, const uint8_t *key)
{
    uint64_t    h;

    memcpy(&h, key, sizeof(h));
    return h & v->mask;
}

/* v for a version-2 mapping of cap slots at map. */
static void
session_view_set(struct session_view *v, void *map, uint64_t cap)
{
    v->hdr = map;
    v->slots = (struct session_slot *)((char *)map +
        sizeof(struct session_header));
    v->users = (struct session_user *)(v->slots + cap);
    v->mask = cap - 1;
}

static int
session_cfg_check(const struct session_cfg *cfg, char *err, size_t errlen)
{
    if (cfg->ttl < 1 || cfg->ttl > SESSION_TIME_MAX) {
        snprintf(err, errlen, "session ttl %ld is out of range (1..%ld)",
            cfg->ttl, SESSION_TIME_MAX);
        return -1;
    }
    if (cfg->max_age < 1 || cfg->max_age > SESSION_TIME_MAX) {
        snprintf(err, errlen, "session max_age %ld is out of range (1..%ld)",
            cfg->max_age, SESSION_TIME_MAX);
        return -1;
    }
    if (cfg->max_sessions < 1 || cfg->max_sessions > SESSION_MAX_SESSIONS) {
        snprintf(err, errlen, "max_sessions %ld is out of range (1..%ld)",
            cfg->max_sessions, SESSION_MAX_SESSIONS);
        return -1;
    }
    if (cfg->max_per_user < 1 || cfg->max_per_user > SESSION_MAX_SESSIONS) {
        snprintf(err, errlen, "max_sessions_per_user %ld is out of range "
            "(1..%ld)", cfg->max_per_user, SESSION_MAX_SESSIONS);
        return -1;
    }
    return 0;
}

static int
session_paths(struct session_table *t, const char *state_dir, char *err,
    size_t errlen)
{
    int n;

    n = snprintf(t->dir, sizeof(t->dir), "%s", state_dir);
    if (n < 0 || (size_t)n >= sizeof(t->dir))
        goto toolong;
    /* Room for the ".tmp.XXXXXX" of session_install as well. */
    n = snprintf(t->path, sizeof(t->path), "%s/%s.tmp.XXXXXX", state_dir,
        SESSION_FILE);
    if (n < 0 || (size_t)n >= sizeof(t->path))
        goto toolong;
    snprintf(t->path, sizeof(t->path), "%s/%s", state_dir, SESSION_FILE);
    return 0;
toolong:
    snprintf(err, errlen, "%s: state directory path too long", state_dir);
    return -1;
}

/*
 * Opens and maps the file now at t->path, replacing t's current one (and
 * so dropping any lock held through it).  A version-1 file is taken only
 * when t->allow_old, with t->old set.  On failure t is unchanged.
 */
static enum session_attach
session_attach(struct session_table *t, char *err, size_t errlen)
{
    struct session_header   hdr;
    struct stat             st;
    char                    why[SESSION_ERR_LEN];
    ssize_t                 n;
    void                   *map;
    int                     fd, version;

    fd = open(t->path, (t->readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC |
        O_NOFOLLOW);
    if (fd == -1) {
        if (errno == ENOENT)
            return SESSION_ABSENT;
        snprintf(err, errlen, "%s: %s", t->path, strerror(errno));
        return SESSION_FAILED;
    }
    if (fstat(fd, &st) == -1) {
        snprintf(err, errlen, "%s: %s", t->path, strerror(errno));
        goto failed;
    }
    if (!S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "%s: not a regular file", t->path);
        goto corrupt;
    }
    if ((n = pread(fd, &hdr, sizeof(hdr), 0)) == -1) {
        snprintf(err, errlen, "%s: %s", t->path, strerror(errno));
        goto failed;
    }
    if ((size_t)n < sizeof(hdr)) {
        snprintf(err, errlen, "%s: %lld bytes, too short for a session "
            "table header", t->path, (long long)st.st_size);
        goto corrupt;
    }
    version = session_header_check(&hdr, st.st_size, t->allow_old, why,
        sizeof(why));
    if (version == -1) {
        snprintf(err, errlen, "%s: %s", t->path, why);
        goto corrupt;
    }
    if (!t->readonly && (st.st_mode & 077) != 0) {
        /* It names who is logged in: nobody else may read it. */
        if (fchmod(fd, 0600) == -1) {
            snprintf(err, errlen, "%s: mode %04o, and chmod 0600: %s",
                t->path, (unsigned)(st.st_mode & 07777), strerror(errno));
            goto failed;
        }
        log_msg(LOG_WARNING, "session_attach: %s had mode %04o; now 0600",
            t->path, (unsigned)(st.st_mode & 07777));
    }
    map = mmap(NULL, (size_t)st.st_size, PROT_READ |
        (t->readonly ? 0 : PROT_WRITE), MAP_SHARED, fd, 0);
    if (map == MAP_FAILED) {
        snprintf(err, errlen, "%s: mmap: %s", t->path, strerror(errno));
        goto failed;
    }
    session_attach_set(t, fd, map, (size_t)st.st_size, hdr.capacity, version);
    return SESSION_ATTACHED;
corrupt:
    close(fd);
    return SESSION_CORRUPT;
failed:
    close(fd);
    return SESSION_FAILED;
}

/* Makes fd, mapped at map, t's file in place of the one it had. */
static void
session_attach_set(struct session_table *t, int fd, void *map, size_t size,
    uint64_t cap, int version)
{
    if (t->map != NULL)
        munmap(t->map, t->map_len);
    if (t->fd != -1)
        close(t->fd);
    t->fd = fd;
    t->pid = session_self();
    t->map = map;
    t->map_len = size;
    session_view_set(&t->v, map, cap);
    t->old = NULL;
    if (version == 1) {
        t->old = (const struct session_slot_v1 *)t->v.slots;
        t->v.slots = NULL;
        t->v.users = NULL;
    }
}

/* The version (1 only when old is set, else 2) of the table h describes,
 * if it fills size bytes; else -1 with the reason, without the path, in
 * err. */
static int
session_header_check(const struct session_header *h, off_t size, int old,
    char *err, size_t errlen)
{
    size_t  slot_size, user_size;

    if (memcmp(h->magic, SESSION_MAGIC, SESSION_MAGIC_LEN) != 0) {
        snprintf(err, errlen, "bad magic: not a userapid session table");
        return -1;
    }
    if (h->version != SESSION_VERSION && !(h->version == 1 && old)) {
        snprintf(err, errlen, "format version %u, expected %u", h->version,
            (unsigned)SESSION_VERSION);
        return -1;
    }
    slot_size = h->version == 1 ? sizeof(struct session_slot_v1) :
        sizeof(struct session_slot);
    user_size = h->version == 1 ? 0 : sizeof(struct session_user);
    if (h->header_size != sizeof(struct session_header) ||
        h->slot_size != slot_size || (h->version != 1 &&
        h->user_size != user_size)) {
        snprintf(err, errlen, "header/slot/user sizes %u/%u/%u, expected "
            "%zu/%zu/%zu", h->header_size, h->slot_size, h->user_size,
            sizeof(struct session_header), slot_size, user_size);
        return -1;
    }
    if (h->capacity < SESSION_MIN_CAPACITY ||
        h->capacity > session_capacity_for((uint64_t)SESSION_MAX_SESSIONS) ||
        (h->capacity & (h->capacity - 1)) != 0) {
        snprintf(err, errlen, "bad capacity %llu",
            (unsigned long long)h->capacity);
        return -1;
    }
    if (h->max_sessions < 1 || h->max_sessions > h->capacity / 2) {
        snprintf(err, errlen, "max_sessions %llu does not fit %llu slots",
            (unsigned long long)h->max_sessions,
            (unsigned long long)h->capacity);
        return -1;
    }
    if (size < 0 || (uint64_t)size !=
        session_file_size(h->version, h->capacity)) {
        snprintf(err, errlen, "size %lld bytes, expected %zu for %llu slots",
            (long long)size, session_file_size(h->version, h->capacity),
            (unsigned long long)h->capacity);
        return -1;
    }
    return (int)h->version;
}

static int
session_fd_lock(int fd, short type)
{
    struct flock    fl;

    memset(&fl, 0, sizeof(fl));     /* l_pid must be 0 for OFD locks */
    fl.l_type = type;
    fl.l_whence = SEEK_SET;
    fl.l_start = 0;
    fl.l_len = 0;
    while (fcntl(fd, F_OFD_SETLKW, &fl) == -1)
        if (errno != EINTR)
            return -1;
    return 0;
}

/* Locks the current file for this process: reopens it after a fork, and
 * follows a rebuild to the file that replaced it. */
static int
session_lock(struct session_table *t, short type)
{
    char    err[SESSION_ERR_LEN];
    int     tries;

    for (tries = 0; tries < SESSION_TRIES; tries++) {
        if (t->pid != session_self()) {
            switch (session_attach(t, err, sizeof(err))) {
            case SESSION_ATTACHED:
                break;
            case SESSION_ABSENT:
                errno = ENOENT;
                return -1;
            case SESSION_CORRUPT:
                errno = EBADMSG;
                return -1;
            case SESSION_FAILED:
                return -1;
            }
        }
        if (session_fd_lock(t->fd, type) == -1)
            return -1;
        if (__atomic_load_n(&t->v.hdr->retired, __ATOMIC_ACQUIRE) == 0) {
            if (type == F_WRLCK && !t->readonly)
                return session_write_begin(t);
            return 0;
        }
        session_fd_lock(t->fd, F_UNLCK);
        t->pid = 0;         /* reattach on the next turn */
    }
    errno = ESTALE;
    return -1;
}

/*
 * Under a fresh write lock: seq odd for as long as we change slots.  Odd
 * already means the last writer died mid-change, so what it left is
 * repaired first; if that fails seq stays odd, the lock is let go, and the
 * next writer tries again.
 */
static int
session_write_begin(struct session_table *t)
{
    uint64_t    seq;
    int         died, saved;

    seq = __atomic_load_n(&t->v.hdr->seq, __ATOMIC_RELAXED);
    died = (seq & 1) != 0;
    seq = (seq | 1) + (died ? 2 : 0);
    __atomic_store_n(&t->v.hdr->seq, seq, __ATOMIC_RELAXED);
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    t->writing = 1;
    if (!died || t->old != NULL)
        return 0;
    log_msg(LOG_WARNING, "session: %s: a writer died mid-change; repairing "
        "the table", t->path);
    if (session_repair(t) == 0)
        return 0;
    saved = errno;
    t->writing = 0;
    session_fd_lock(t->fd, F_UNLCK);
    errno = saved;
    return -1;
}

/* Even again: readers that saw the odd value retry.  Only ever on the
 * file whose write lock made it odd, while that lock is held. */
static void
session_write_end(struct session_table *t)
{
    if (!t->writing)
        return;
    __atomic_add_fetch(&t->v.hdr->seq, 1, __ATOMIC_RELEASE);
    t->writing = 0;
}

static void
session_unlock(struct session_table *t)
{
    session_write_end(t);
    /* Unlocking a lock we hold (or no longer hold, after a rebuild moved
     * us to a new file) cannot fail on a valid fd. */
    session_fd_lock(t->fd, F_UNLCK);
}

/*
 * Writes a table of cap slots holding the slots refs[0..nrefs) of t's
 * current file (in that order, oldest first) into a new file beside it,
 * syncs it and puts it at t->path: rename over the old one when replace,
 * else link, which leaves a file made meanwhile by someone else in place
 * (and is not an error).  On error err says why and no temporary file is
 * left.
 */
static int
session_install(struct session_table *t, uint64_t cap, uint64_t max,
    const struct session_ref *refs, size_t nrefs, int replace, char *err,
    size_t errlen)
{
    struct session_view     nv;
    char                    tmp[PATH_MAX];
    size_t                  size;
    void                   *map = MAP_FAILED;
    int                     fd, n, rc = -1;

    n = snprintf(tmp, sizeof(tmp), "%s.tmp.XXXXXX", t->path);
    if (n < 0 || (size_t)n >= sizeof(tmp)) {
        snprintf(err, errlen, "%s: path too long", t->path);
        return -1;
    }
    if ((fd = mkostemp(tmp, O_CLOEXEC)) == -1) {
        snprintf(err, errlen, "%s: cannot create: %s", t->path,
            strerror(errno));
        return -1;
    }
    size = session_file_size(SESSION_VERSION, cap);
    /* Blocks reserved now, not a sparse file: a full disk then fails this
     * open instead of killing a worker with SIGBUS on a later store. */
    if ((n = posix_fallocate(fd, 0, (off_t)size)) != 0) {
        snprintf(err, errlen, "%s: reserving %zu bytes: %s", tmp, size,
            strerror(n));
        goto done;
    }
    map = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (map == MAP_FAILED) {
        snprintf(err, errlen, "%s: mmap: %s", tmp, strerror(errno));
        goto done;
    }
    session_view_set(&nv, map, cap);
    session_install_header(&nv, cap, max);
    if (session_install_copy(t, &nv, refs, nrefs) == -1) {
        snprintf(err, errlen, "%s: table full while copying", tmp);
        goto done;
    }
    if (msync(map, size, MS_SYNC) == -1 || fsync(fd) == -1) {
        snprintf(err, errlen, "%s: sync: %s", tmp, strerror(errno));
        goto done;
    }
    if (replace) {
        if (rename(tmp, t->path) == -1) {
            snprintf(err, errlen, "%s: rename to %s: %s", tmp, t->path,
                strerror(errno));
            goto done;
        }
    } else {
        if (link(tmp, t->path) == -1 && errno != EEXIST) {
            snprintf(err, errlen, "%s: link to %s: %s", tmp, t->path,
                strerror(errno));
            goto done;
        }
        if (unlink(tmp) == -1) {
            snprintf(err, errlen, "%s: unlink: %s", tmp, strerror(errno));
            goto done;
        }
    }
    tmp[0] = '\0';
    if (session_sync_dir(t->dir) == -1) {
        snprintf(err, errlen, "%s: fsync: %s", t->dir, strerror(errno));
        goto done;
    }
    rc = 0;
done:
    if (map != MAP_FAILED)
        munmap(map, size);
    close(fd);
    if (tmp[0] != '\0')
        unlink(tmp);
    return rc;
}

/* The header of a new, empty file (posix_fallocate zeroed the rest). */
static void
session_install_header(struct session_view *nv, uint64_t cap, uint64_t max)
{
    memcpy(nv->hdr->magic, SESSION_MAGIC, SESSION_MAGIC_LEN);
    nv->hdr->version = SESSION_VERSION;
    nv->hdr->header_size = sizeof(struct session_header);
    nv->hdr->slot_size = sizeof(struct session_slot);
    nv->hdr->user_size = sizeof(struct session_user);
    nv->hdr->capacity = cap;
    nv->hdr->max_sessions = max;
}

/* Copies the slots of refs from t's file (either version) into nv, oldest
 * first, so that each joins the end of its user's list.  -1 if nv is full,
 * which the caller's choice of refs rules out. */
static int
session_install_copy(struct session_table *t, struct session_view *nv,
    const struct session_ref *refs, size_t nrefs)
{
    struct session_slot         s, tmp;
    const struct session_slot  *src;
    uint8_t                     ukey[CRYPTO_SHA256_LEN];
    size_t                      k;

    for (k = 0; k < nrefs; k++) {
        src = session_slot_at(t, refs[k].idx, &tmp);
        memcpy(&s, src, sizeof(s));
        s.last_used = __atomic_load_n(&src->last_used, __ATOMIC_RELAXED);
        /* A session a dead writer left in two slots is copied once. */
        if (session_find(nv, s.key) >= 0)
            continue;
        session_user_key(s.email, ukey);
        if (session_add(nv, &s, ukey) == -1)
            return -1;
    }
    return 0;
}

static int
session_sync_dir(const char *dir)
{
    int fd, rc;

    if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
        return -1;
    rc = fsync(fd);
    close(fd);
    return rc;
}

/*
 * Under the write lock of a freshly attached file: rebuilds it at capacity
 * cap when it has another or is of version 1, else takes max as its limit,
 * repairs it, and trims it to max.  Returns with t on the current file;
 * the lock is gone if a rebuild replaced it.
 */
static int
session_adjust(struct session_table *t, uint64_t cap, uint64_t max, char *err,
    size_t errlen)
{
    if (t->old != NULL || t->v.hdr->capacity != cap)
        return session_rebuild(t, cap, max, err, errlen);
    t->v.hdr->max_sessions = max;
    /* Its ttl may have changed with ours. */
    t->v.hdr->sweep_after = 0;
    if (session_repair(t) == -1 ||
        session_trim(t, session_now(), max) == -1) {
        snprintf(err, errlen, "%s: %s", t->path, strerror(errno));
        return -1;
    }
    return 0;
}

/*
 * The live sessions of t's file, those nearest expiry dropped if more
 * than max, into a new file of cap slots that replaces it; then the old
 * file is retired, its seq made even under its own lock, and t moves to
 * the new file (which lets go of that lock).
 */
static int
session_rebuild(struct session_table *t, uint64_t cap, uint64_t max,
    char *err, size_t errlen)
{
    struct session_ref *refs;
    size_t              n, skip;
    int                 rc, upgrade = t->old != NULL;

    if (session_collect(t, session_now(), &refs, &n) == -1) {
        snprintf(err, errlen, "%s: %s", t->path, strerror(errno));
        return -1;
    }
    /* Nearest expiry first: those are the ones that do not fit. */
    skip = n > max ? n - max : 0;
    qsort(refs + skip, n - skip, sizeof(*refs), session_ref_created_cmp);
    rc = session_install(t, cap, max, refs + skip, n - skip, 1, err, errlen);
    free(refs);
    if (rc == -1)
        return -1;
    if (skip > 0)
        log_msg(LOG_NOTICE, "session_open: %s: dropped %zu sessions nearest "
            "expiry to fit max_sessions %llu", t->path, skip,
            (unsigned long long)max);
    if (upgrade)
        log_msg(LOG_NOTICE, "session_open: %s: upgraded from format version "
            "1 to %d, keeping %zu live sessions", t->path, SESSION_VERSION,
            n - skip);
    /* The new file is in place: send everyone else on the old one there. */
    __atomic_store_n(&t->v.hdr->retired, 1, __ATOMIC_RELEASE);
    session_write_end(t);
    switch (session_attach(t, err, errlen)) {
    case SESSION_ATTACHED:
        return 0;
    case SESSION_ABSENT:
        snprintf(err, errlen, "%s: vanished after rebuild", t->path);
        return -1;
    default:
        return -1;
    }
}

/* Slot i of t's file as a version-2 slot: itself, or for a version-1 file
 * its conversion in tmp (no address, no links). */
static const struct session_slot *
session_slot_at(const struct session_table *t, uint64_t i,
    struct session_slot *tmp)
{
    const struct session_slot_v1   *o;

    if (t->old == NULL)
        return &t->v.slots[i];
    o = &t->old[i];
    memset(tmp, 0, sizeof(*tmp));
    memcpy(tmp->key, o->key, sizeof(tmp->key));
    tmp->created_at = o->created_at;
    tmp->last_used = o->last_used;
    tmp->in_use = o->in_use;
    tmp->role = o->role;
    memcpy(tmp->email, o->email, sizeof(tmp->email));
    return tmp;
}

/* The live, undamaged sessions of t's file (either version), nearest
 * expiry first, in a malloc'd array. */
static int
session_collect(const struct session_table *t, int64_t now,
    struct session_ref **out, size_t *nout)
{
    struct session_ref         *refs;
    struct session_slot         tmp;
    const struct session_slot  *s;
    uint64_t                    i;
    size_t                      n = 0, used = 0;
    int64_t                     exp;

    session_stat.scans++;
    /* Counted, not taken from the header: count may be off after a
     * writer died mid-change. */
    for (i = 0; i <= t->v.mask; i++)
        if (session_slot_at(t, i, &tmp)->in_use != 0)
            used++;
    if ((refs = calloc(used > 0 ? used : 1, sizeof(*refs))) == NULL)
        return -1;
    for (i = 0; i <= t->v.mask && n < used; i++) {
        s = session_slot_at(t, i, &tmp);
        if (s->in_use == 0 || session_slot_problem(s) != NULL ||
            (exp = session_expiry(t, s)) <= now)
            continue;
        refs[n].expires = exp;
        refs[n].created = s->created_at;
        refs[n].idx = i;
        memcpy(refs[n].key, s->key, sizeof(refs[n].key));
        n++;
    }
    qsort(refs, n, sizeof(*refs), session_ref_cmp);
    *out = refs;
    *nout = n;
    return 0;
}

static int
session_ref_cmp(const void *a, const void *b)
{
    const struct session_ref *x = a, *y = b;

    if (x->expires != y->expires)
        return x->expires < y->expires ? -1 : 1;
    return memcmp(x->key, y->key, sizeof(x->key));
}

static int
session_ref_created_cmp(const void *a, const void *b)
{
    const struct session_ref *x = a, *y = b;

    if (x->created != y->created)
        return x->created < y->created ? -1 : 1;
    return x->idx < y->idx ? -1 : x->idx > y->idx;
}

static int
session_info_cmp(const void *a, const void *b)
{
    const struct session_info *x = a, *y = b;

    if (x->created_at != y->created_at)
        return x->created_at < y->created_at ? -1 : 1;
    return strcmp(x->email, y->email);
}

/* Ends every expired session; returns the earliest expiry of those left
 * (INT64_MAX when none are). */
static int64_t
session_sweep(struct session_table *t, int64_t now)
{
    struct session_view    *v = &t->v;
    uint64_t                i;
    int64_t                 exp, earliest = INT64_MAX;

    session_stat.scans++;
    /* After a delete, slot i holds whatever shifted back into it, so it is
     * looked at again.  Entries only shift back within their run, so none
     * skips past i unseen. */
    for (i = 0; i <= v->mask;) {
        if (v->slots[i].in_use == 0) {
            i++;
            continue;
        }
        if ((exp = session_expiry(t, &v->slots[i])) <= now) {
            session_delete_at(v, i, 1);
            continue;
        }
        if (exp < earliest)
            earliest = exp;
        i++;
    }
    return earliest;
}

/* Leaves at most limit used slots: the expired go first, then the live
 * ones nearest expiry.  Scans only when over the limit. */
static int
session_trim(struct session_table *t, int64_t now, uint64_t limit)
{
    struct session_ref *refs;
    size_t              n, k, excess;
    int64_t             i;

    if (t->v.hdr->count <= limit)
        return 0;
    session_sweep(t, now);
    if (t->v.hdr->count <= limit)
        return 0;
    if (session_collect(t, now, &refs, &n) == -1)
        return -1;
    excess = t->v.hdr->count - limit;
    for (k = 0; k < n && k < excess; k++)
        if ((i = session_find(&t->v, refs[k].key)) >= 0)
            session_delete_at(&t->v, (uint64_t)i, 1);
    free(refs);
    return 0;
}

/* Index of the used slot with key, or -1. */
static int64_t
session_find(const struct session_view *v, const uint8_t *key)
{
    uint64_t    i, n;

    i = session_home(v, key);
    for (n = 0; n <= v->mask; n++) {
        if (v->slots[i].in_use == 0)
            return -1;
        if (crypto_equal_ct(v->slots[i].key, key, CRYPTO_SHA256_LEN))
            return (int64_t)i;
        i = (i + 1) & v->mask;
    }
    return -1;
}

/* Puts a copy of s, in no list yet, in the first free slot from its home
 * and returns where.  The caller made room: -1 (ENOSPC) only if the table
 * is damaged. */
static int64_t
session_insert(struct session_view *v, const struct session_slot *s)
{
    struct session_slot copy;
    uint64_t            i, n;

    memcpy(&copy, s, sizeof(copy));
    copy.email[sizeof(copy.email) - 1] = '\0';
    copy.addr[sizeof(copy.addr) - 1] = '\0';
    copy.in_use = 0;
    copy.prev = SESSION_NONE;
    copy.next = SESSION_NONE;
    i = session_home(v, s->key);
    for (n = 0; n <= v->mask; n++) {
        if (v->slots[i].in_use == 0) {
            memcpy(&v->slots[i], &copy, sizeof(copy));
            /* Last, so a crash before it leaves a free slot. */
            __atomic_store_n(&v->slots[i].in_use, 1, __ATOMIC_RELEASE);
            v->hdr->count++;
            return (int64_t)i;
        }
        i = (i + 1) & v->mask;
    }
    errno = ENOSPC;
    return -1;
}

/* Inserts s and appends it to the list of its user, whose key is ukey. */
static int
session_add(struct session_view *v, const struct session_slot *s,
    const uint8_t *ukey)
{
    int64_t i, u;

    if ((i = session_insert(v, s)) == -1)
        return -1;
    if ((u = session_user_find(v, ukey)) == -1 &&
        (u = session_user_add(v, ukey)) == -1) {
        session_delete_at(v, (uint64_t)i, 0);
        errno = ENOSPC;
        return -1;
    }
    session_link(v, (uint64_t)u, (uint64_t)i);
    return 0;
}

/*
 * Frees slot i, then walks the run after it moving back each entry whose
 * home is not cyclically in (hole, entry], so every entry stays reachable
 * without tombstones.  With links, i leaves its user's list first and the
 * lists follow each move; without (session_repair), they are rebuilt
 * afterwards.
 */
static void
session_delete_at(struct session_view *v, uint64_t i, int links)
{
    struct session_slot    *s = v->slots;
    uint64_t                j = i, k, n;

    if (links)
        session_unlink(v, i);
    __atomic_store_n(&s[i].in_use, 0, __ATOMIC_RELEASE);
    for (n = 0; n < v->mask; n++) {
        j = (j + 1) & v->mask;
        if (s[j].in_use == 0)
            break;
        k = session_home(v, s[j].key);
        if (i <= j ? (k <= i || k > j) : (k <= i && k > j)) {
            session_move(v, j, i, links);
            i = j;
        }
    }
    memset(&s[i], 0, sizeof(s[i]));
    if (v->hdr->count > 0)
        v->hdr->count--;
}

/* Moves the session in slot from to the free slot to: written while
 * marked free, marked used, and only then freed at from, so a crash
 * leaves it whole in one slot or two. */
static void
session_move(struct session_view *v, uint64_t from, uint64_t to, int links)
{
    struct session_slot copy;

    memcpy(&copy, &v->slots[from], sizeof(copy));
    copy.in_use = 0;
    memcpy(&v->slots[to], &copy, sizeof(copy));
    __atomic_store_n(&v->slots[to].in_use, 1, __ATOMIC_RELEASE);
    if (links)
        session_relink(v, to);
    __atomic_store_n(&v->slots[from].in_use, 0, __ATOMIC_RELEASE);
}

/* The key of email's user entry: SHA-256 of its bytes. */
static void
session_user_key(const char *email, uint8_t *ukey)
{
    crypto_sha256(email, strnlen(email, SESSION_EMAIL_MAX + 1), ukey);
}

/* Index of the user entry with ukey, or -1. */
static int64_t
session_user_find(const struct session_view *v, const uint8_t *ukey)
{
    uint64_t    i, n;

    i = session_home(v, ukey);
    for (n = 0; n <= v->mask; n++) {
        if (v->users[i].in_use == 0)
            return -1;
        if (memcmp(v->users[i].key, ukey, CRYPTO_SHA256_LEN) == 0)
            return (int64_t)i;
        i = (i + 1) & v->mask;
    }
    return -1;
}

/* A new, empty entry for ukey (count 0 until session_link), or -1. */
static int64_t
session_user_add(struct session_view *v, const uint8_t *ukey)
{
    struct session_user    *u;
    uint64_t                i, n;

    i = session_home(v, ukey);
    for (n = 0; n <= v->mask; n++) {
        u = &v->users[i];
        if (u->in_use == 0) {
            memcpy(u->key, ukey, sizeof(u->key));
            u->count = 0;
            u->head = SESSION_NONE;
            u->tail = SESSION_NONE;
            u->in_use = 1;
            v->hdr->users++;
            return (int64_t)i;
        }
        i = (i + 1) & v->mask;
    }
    return -1;
}

/* Backward-shift deletion in the user table, as session_delete_at; no
 * slot refers to an entry's index, so moves need no fixing up. */
static void
session_user_delete_at(struct session_view *v, uint64_t i)
{
    struct session_user    *u = v->users;
    uint64_t                j = i, k, n;

    for (n = 0; n < v->mask; n++) {
        j = (j + 1) & v->mask;
        if (u[j].in_use == 0)
            break;
        k = session_home(v, u[j].key);
        if (i <= j ? (k <= i || k > j) : (k <= i && k > j)) {
            memcpy(&u[i], &u[j], sizeof(u[i]));
            i = j;
        }
    }
    memset(&u[i], 0, sizeof(u[i]));
    if (v->hdr->users > 0)
        v->hdr->users--;
}

/*
 * Puts slot i into the list of user entry u by creation time: from the
 * tail back past the newer ones, so a new session (the newest) is
 * appended in one step.
 */
static void
session_link(struct session_view *v, uint64_t u, uint64_t i)
{
    struct session_user    *e = &v->users[u];
    struct session_slot    *s = &v->slots[i];
    uint32_t                p = e->tail, n = SESSION_NONE;
    uint64_t                steps;

    for (steps = 0; p <= v->mask && steps <= v->mask; steps++) {
        if (v->slots[p].created_at <= s->created_at)
            break;
        n = p;
        p = v->slots[p].prev;
    }
    if (p > v->mask)
        p = SESSION_NONE;
    s->prev = p;
    s->next = n;
    if (p != SESSION_NONE)
        v->slots[p].next = (uint32_t)i;
    else
        e->head = (uint32_t)i;
    if (n != SESSION_NONE)
        v->slots[n].prev = (uint32_t)i;
    else
        e->tail = (uint32_t)i;
    e->count++;
}

/* Takes slot i out of its user's list, and the user out of the user table
 * with its last slot.  Links out of range (a damaged list) are not
 * followed: session_repair rebuilds such lists. */
static void
session_unlink(struct session_view *v, uint64_t i)
{
    struct session_slot    *s = &v->slots[i];
    struct session_user    *e;
    uint8_t                 ukey[CRYPTO_SHA256_LEN];
    int64_t                 u;

    session_user_key(s->email, ukey);
    if ((u = session_user_find(v, ukey)) == -1)
        return;
    e = &v->users[u];
    if (s->prev != SESSION_NONE) {
        if (s->prev <= v->mask)
            v->slots[s->prev].next = s->next;
    } else
        e->head = s->next;
    if (s->next != SESSION_NONE) {
        if (s->next <= v->mask)
            v->slots[s->next].prev = s->prev;
    } else
        e->tail = s->prev;
    s->prev = SESSION_NONE;
    s->next = SESSION_NONE;
    if (e->count > 0)
        e->count--;
    if (e->count == 0)
        session_user_delete_at(v, (uint64_t)u);
}

/* Slot i just received a moved session: its neighbours (or its user
 * entry, at either end) point to it instead of where it was. */
static void
session_relink(struct session_view *v, uint64_t i)
{
    struct session_slot    *s = &v->slots[i];
    uint8_t                 ukey[CRYPTO_SHA256_LEN];
    int64_t                 u = -1;

    if (s->prev == SESSION_NONE || s->next == SESSION_NONE) {
        session_user_key(s->email, ukey);
        u = session_user_find(v, ukey);
    }
    if (s->prev != SESSION_NONE) {
        if (s->prev <= v->mask)
            v->slots[s->prev].next = (uint32_t)i;
    } else if (u != -1)
        v->users[u].head = (uint32_t)i;
    if (s->next != SESSION_NONE) {
        if (s->next <= v->mask)
            v->slots[s->next].prev = (uint32_t)i;
    } else if (u != -1)
        v->users[u].tail = (uint32_t)i;
}

/*
 * The oldest slot of the user with ukey and email, then the one after p,
 * or SESSION_NONE.  A slot is given only if it is in range, used and
 * email's, so a list a dead writer left broken ends early (until repaired)
 * instead of leading anywhere else; callers bound their walks by capacity
 * against cycles.
 */
static uint32_t
session_first(const struct session_view *v, const uint8_t *ukey,
    const char *email)
{
    int64_t     u;
    uint32_t    p;

    if ((u = session_user_find(v, ukey)) == -1)
        return SESSION_NONE;
    p = v->users[u].head;
    if (p > v->mask || v->slots[p].in_use == 0 ||
        !session_email_is(&v->slots[p], email))
        return SESSION_NONE;
    return p;
}

static uint32_t
session_next(const struct session_view *v, uint32_t p, const char *email)
{
    p = v->slots[p].next;
    if (p > v->mask || v->slots[p].in_use == 0 ||
        !session_email_is(&v->slots[p], email))
        return SESSION_NONE;
    return p;
}

/*
 * Ends the sessions of the user (ukey, email) that pick chooses, oldest
 * first, and returns how many of them were live.  A delete can move
 * slots, the walk's next one included, so the walk goes on from the last
 * slot kept, found again by its key (lists keep their order through
 * moves).  Costs that user's sessions, not the table.
 */
static int
session_user_filter(struct session_table *t, const uint8_t *ukey,
    const char *email, int64_t now, session_pick pick, const void *arg)
{
    struct session_view    *v = &t->v;
    uint8_t                 kept[CRYPTO_SHA256_LEN];
    uint64_t                steps = 0;
    uint32_t                p;
    int64_t                 k;
    int                     n = 0, have_kept = 0;

    for (;;) {
        if (!have_kept)
            p = session_first(v, ukey, email);
        else if ((k = session_find(v, kept)) >= 0)
            p = session_next(v, (uint32_t)k, email);
        else
            break;
        for (; p != SESSION_NONE && steps <= v->mask; steps++) {
            if (pick(t, &v->slots[p], now, arg))
                break;
            memcpy(kept, v->slots[p].key, sizeof(kept));
            have_kept = 1;
            p = session_next(v, p, email);
        }
        if (p == SESSION_NONE || steps++ > v->mask)
            break;
        if (session_expiry(t, &v->slots[p]) > now)
            n++;
        session_delete_at(v, p, 1);
    }
    return n;
}

/* session_user_filter's choices: the expired; all but arg's key. */
static int
session_pick_expired(const struct session_table *t,
    const struct session_slot *s, int64_t now, const void *arg)
{
    (void)arg;
    return session_expiry(t, s) <= now;
}

static int
session_pick_not_key(const struct session_table *t,
    const struct session_slot *s, int64_t now, const void *keep)
{
    (void)t;
    (void)now;
    return keep == NULL || !crypto_equal_ct(s->key, keep, CRYPTO_SHA256_LEN);
}

/* Why a used slot cannot be a session this code wrote, or NULL.  Its
 * links are session_users_verify's business. */
static const char *
session_slot_problem(const struct session_slot *s)
{
    const char *why;

    if (s->in_use != 1)
        return "bad in_use flag";
    if ((why = session_text_problem(s->email, sizeof(s->email))) != NULL)
        return why;
    if (s->email[0] == '\0')
        return "empty email";
    if (strlen(s->email) > SESSION_EMAIL_MAX)
        return "email too long";
    if (session_text_problem(s->addr, sizeof(s->addr)) != NULL)
        return "bad client address";
    if (s->role > SESSION_ROLE_MAX)
        return "role out of range";
    if (s->created_at <= 0)
        return "creation time not after the epoch";
    if (__atomic_load_n(&s->last_used, __ATOMIC_RELAXED) < s->created_at)
        return "last use before creation";
    return NULL;
}

/* Why the string field p[0..size) is not NUL-terminated printable text. */
static const char *
session_text_problem(const char *p, size_t size)
{
    size_t  len, i;

    len = strnlen(p, size);
    if (len == size)
        return "email is not NUL-terminated";
    for (i = 0; i < len; i++)
        if ((unsigned char)p[i] < 0x20 || p[i] == 0x7f)
            return "control character in email";
    return NULL;
}

/* session_check's part under the read lock. */
static int
session_check_table(const struct session_table *t, char *err, size_t errlen)
{
    const struct session_view  *v = &t->v;
    const char                 *why;
    char                        reason[SESSION_ERR_LEN];
    uint64_t                    i, used = 0;

    if (v->hdr->max_sessions < 1 ||
        v->hdr->max_sessions > (uint64_t)SESSION_MAX_SESSIONS ||
        session_capacity_for(v->hdr->max_sessions) != v->hdr->capacity) {
        snprintf(err, errlen, "%s: max_sessions %llu does not fit capacity "
            "%llu", t->path, (unsigned long long)v->hdr->max_sessions,
            (unsigned long long)v->hdr->capacity);
        return -1;
    }
    session_stat.scans++;
    for (i = 0; i <= v->mask; i++) {
        if (v->slots[i].in_use == 0)
            continue;
        if ((why = session_slot_problem(&v->slots[i])) != NULL) {
            snprintf(err, errlen, "%s: slot %llu: %s", t->path,
                (unsigned long long)i, why);
            return -1;
        }
        used++;
    }
    if (used != v->hdr->count) {
        snprintf(err, errlen, "%s: header counts %llu sessions, %llu slots "
            "are in use (a writer died mid-change; opening the table repairs "
            "it)", t->path, (unsigned long long)v->hdr->count,
            (unsigned long long)used);
        return -1;
    }
    if (used > v->hdr->max_sessions) {
        snprintf(err, errlen, "%s: %llu slots in use, more than "
            "max_sessions %llu", t->path, (unsigned long long)used,
            (unsigned long long)v->hdr->max_sessions);
        return -1;
    }
    if (session_check_reach(t, err, errlen) == -1)
        return -1;
    if (session_users_verify(v, reason, sizeof(reason)) == -1) {
        snprintf(err, errlen, "%s: %s (a writer died mid-change; opening the "
            "table repairs it)", t->path, reason);
        return -1;
    }
    return 0;
}

/*
 * Whether every used slot is reachable from its home, and the only one
 * with its key.  Walking round from a free slot, run counts the used slots
 * up to and including j, and each one's distance from home must stay
 * inside its run.  used < capacity, so a free slot exists.
 */
static int
session_check_reach(const struct session_table *t, char *err, size_t errlen)
{
    const struct session_view  *v = &t->v;
    const struct session_slot  *s;
    uint64_t                    i, j, start, run = 0, dist;

    for (start = 0; v->slots[start].in_use != 0; start++)
        ;
    for (i = 1; i <= v->mask + 1; i++) {
        j = (start + i) & v->mask;
        s = &v->slots[j];
        if (s->in_use == 0) {
            run = 0;
            continue;
        }
        run++;
        dist = (j - session_home(v, s->key)) & v->mask;
        if (dist >= run) {
            snprintf(err, errlen, "%s: slot %llu: not reachable from its hash "
                "position %llu (a writer died mid-change; opening the table "
                "repairs it)", t->path, (unsigned long long)j,
                (unsigned long long)session_home(v, s->key));
            return -1;
        }
        if (session_find(v, s->key) != (int64_t)j) {
            snprintf(err, errlen, "%s: slot %llu: the same session as slot "
                "%lld (a writer died mid-change; opening the table repairs "
                "it)", t->path, (unsigned long long)j,
                (long long)session_find(v, s->key));
            return -1;
        }
    }
    return 0;
}

/*
 * Under the write lock, at open and after a writer died mid-change: drops
 * damaged slots and second copies, puts slots out of reach back in reach,
 * makes count true, and checks the per-user lists, rebuilding them from
 * the slots when anything was off.  Returns 0, or -1 (ENOMEM) with the
 * slots repaired but not the lists (seq is then left odd: see
 * session_write_begin).
 */
static int
session_repair(struct session_table *t)
{
    struct session_view    *v = &t->v;
    char                    why[SESSION_ERR_LEN];
    uint64_t                i, used = 0;
    int                     changed;

    changed = session_repair_slots(t);
    for (i = 0; i <= v->mask; i++)
        if (v->slots[i].in_use != 0)
            used++;
    if (used != v->hdr->count) {
        log_msg(LOG_WARNING, "session_repair: %s: count was %llu, %llu "
            "slots in use", t->path, (unsigned long long)v->hdr->count,
            (unsigned long long)used);
        v->hdr->count = used;
    }
    if (changed == 0 && session_users_verify(v, why, sizeof(why)) == 0)
        return 0;
    if (changed == 0)
        log_msg(LOG_WARNING, "session_repair: %s: %s; rebuilding the "
            "per-user lists", t->path, why);
    return session_users_rebuild(v);
}

/* session_repair's part on the slots alone; returns how many it changed. */
static int
session_repair_slots(struct session_table *t)
{
    struct session_view    *v = &t->v;
    struct session_slot     copy;
    const char             *why;
    uint64_t                i;
    int64_t                 f;
    int                     changed = 0;

    session_stat.scans++;
    /* i stays put after a change: see session_sweep. */
    for (i = 0; i <= v->mask;) {
        if (v->slots[i].in_use == 0) {
            i++;
            continue;
        }
        why = session_slot_problem(&v->slots[i]);
        f = why == NULL ? session_find(v, v->slots[i].key) : -1;
        if (f == (int64_t)i) {
            i++;
            continue;
        }
        changed++;
        if (why == NULL && f == -1) {
            /* Out of reach of its home: taken out and put back. */
            memcpy(&copy, &v->slots[i], sizeof(copy));
            session_delete_at(v, i, 0);
            session_insert(v, &copy);
            log_msg(LOG_WARNING, "session_repair: %s: slot %llu: out of "
                "reach; moved", t->path, (unsigned long long)i);
            continue;
        }
        log_msg(LOG_WARNING, "session_repair: %s: slot %llu: %s; dropped",
            t->path, (unsigned long long)i, why != NULL ? why :
            "second copy of a session");
        session_delete_at(v, i, 0);
    }
    return changed;
}

/*
 * Whether the user entries and lists match the slots: each entry in reach,
 * its list a chain of used slots of one email whose SHA-256 is its key, in
 * creation order, with count, head and tail right, and every used slot in
 * exactly one list.  0, or -1 with the first mismatch in why.
 */
static int
session_users_verify(const struct session_view *v, char *why, size_t len)
{
    uint8_t    *seen;
    uint64_t    u, i, users = 0, linked = 0;
    int         rc = -1;

    if ((seen = calloc((v->mask + 8) / 8, 1)) == NULL) {
        snprintf(why, len, "per-user lists not checked: %s",
            strerror(errno));
        return -1;
    }
    session_stat.scans++;
    for (u = 0; u <= v->mask; u++) {
        if (v->users[u].in_use == 0)
            continue;
        users++;
        if (session_user_verify(v, u, seen, &linked, why, len) == -1)
            goto done;
    }
    if (users != v->hdr->users) {
        snprintf(why, len, "header counts %llu users, %llu user entries are "
            "in use", (unsigned long long)v->hdr->users,
            (unsigned long long)users);
        goto done;
    }
    for (i = 0; i <= v->mask; i++)
        if (v->slots[i].in_use != 0 && !(seen[i / 8] & (1 << (i % 8)))) {
            snprintf(why, len, "slot %llu: in no user's list",
                (unsigned long long)i);
            goto done;
        }
    rc = 0;
done:
    free(seen);
    return rc;
}

/* session_users_verify's part for user entry u; marks its slots in seen
 * and adds their number to *linked. */
static int
session_user_verify(const struct session_view *v, uint64_t u, uint8_t *seen,
    uint64_t *linked, char *why, size_t len)
{
    const struct session_user  *e = &v->users[u];
    const struct session_slot  *s;
    uint8_t                     ukey[CRYPTO_SHA256_LEN];
    uint32_t                    p, prev = SESSION_NONE;
    uint64_t                    n = 0;

    if (session_user_find(v, e->key) != (int64_t)u) {
        snprintf(why, len, "user entry %llu: not reachable from its hash "
            "position", (unsigned long long)u);
        return -1;
    }
    for (p = e->head; p != SESSION_NONE; prev = p, p = s->next, n++) {
        if (p > v->mask || v->slots[p].in_use == 0 ||
            (seen[p / 8] & (1 << (p % 8)))) {
            snprintf(why, len, "user entry %llu: its list reaches slot %u, "
                "which is free, out of range or in a list already",
                (unsigned long long)u, p);
            return -1;
        }
        s = &v->slots[p];
        seen[p / 8] |= 1 << (p % 8);
        if (n == 0) {
            session_user_key(s->email, ukey);
            if (memcmp(ukey, e->key, sizeof(ukey)) != 0) {
                snprintf(why, len, "user entry %llu: not the entry of the "
                    "email of slot %u", (unsigned long long)u, p);
                return -1;
            }
        } else if (!session_email_is(s, v->slots[e->head].email) ||
            s->created_at < v->slots[prev].created_at) {
            snprintf(why, len, "slot %u: another email's or out of creation "
                "order in the list of user entry %llu", p,
                (unsigned long long)u);
            return -1;
        }
        if (s->prev != prev) {
            snprintf(why, len, "slot %u: links back to %u, not %u", p,
                s->prev, prev);
            return -1;
        }
    }
    if (n == 0 || n != e->count || prev != e->tail) {
        snprintf(why, len, "user entry %llu: counts %u sessions up to slot "
            "%u, its list has %llu up to slot %u", (unsigned long long)u,
            e->count, e->tail, (unsigned long long)n, prev);
        return -1;
    }
    *linked += n;
    return 0;
}

/* The user entries and lists made anew from the used slots, in order of
 * creation.  0, or -1 (ENOMEM) with them unchanged. */
static int
session_users_rebuild(struct session_view *v)
{
    struct session_ref *refs;
    uint8_t             ukey[CRYPTO_SHA256_LEN];
    uint64_t            i;
    size_t              n = 0, k;
    int64_t             u;

    if ((refs = calloc(v->hdr->count > 0 ? v->hdr->count : 1,
        sizeof(*refs))) == NULL)
        return -1;
    session_stat.scans++;
    for (i = 0; i <= v->mask && n < v->hdr->count; i++) {
        if (v->slots[i].in_use == 0)
            continue;
        refs[n].created = v->slots[i].created_at;
        refs[n].idx = i;
        n++;
    }
    qsort(refs, n, sizeof(*refs), session_ref_created_cmp);
    memset(v->users, 0, (v->mask + 1) * sizeof(*v->users));
    v->hdr->users = 0;
    for (k = 0; k < n; k++) {
        session_user_key(v->slots[refs[k].idx].email, ukey);
        if ((u = session_user_find(v, ukey)) == -1)
            u = session_user_add(v, ukey);
        /* users <= count < capacity: an entry is always free. */
        session_link(v, (uint64_t)u, refs[k].idx);
    }
    free(refs);
    return 0;
}

/* Emails are compared as bytes: the caller passes one spelling. */
static int
session_email_is(const struct session_slot *s, const char *email)
{
    return strncmp(s->email, email, sizeof(s->email)) == 0;
}

static void
session_fill(const struct session_table *t, int with_id,
    const struct session_slot *s, struct session_info *out)
{
    size_t  len;

    len = strnlen(s->email, SESSION_EMAIL_MAX);
    memcpy(out->email, s->email, len);
    out->email[len] = '\0';
    if (with_id)
        session_id(s->key, out->id);
    else
        out->id[0] = '\0';
    len = strnlen(s->addr, SESSION_ADDR_MAX);
    memcpy(out->addr, s->addr, len);
    out->addr[len] = '\0';
    out->role = (int)s->role;
    out->created_at = s->created_at;
    out->last_used = __atomic_load_n(&s->last_used, __ATOMIC_RELAXED);
    out->expires_at = session_expiry(t, s);
}

/*
 * A session's id: the first 16 bytes of SHA-256("id:" || key), where key
 * is SHA-256(token).  It names the session to its user, and neither it nor
 * the file leads back to the token.
 */
static void
session_id_bytes(const uint8_t *key, uint8_t *id)
{
    uint8_t buf[3 + CRYPTO_SHA256_LEN], d[CRYPTO_SHA256_LEN];

    memcpy(buf, "id:", 3);
    memcpy(buf + 3, key, CRYPTO_SHA256_LEN);
    crypto_sha256(buf, sizeof(buf), d);
    memcpy(id, d, SESSION_ID_LEN / 2);
}

/* The id in lower-case hex. */
static void
session_id(const uint8_t *key, char *out)
{
    static const char   hex[] = "0123456789abcdef";
    uint8_t             id[SESSION_ID_LEN / 2];
    size_t              k;

    session_id_bytes(key, id);
    for (k = 0; k < sizeof(id); k++) {
        out[2 * k] = hex[id[k] >> 4];
        out[2 * k + 1] = hex[id[k] & 0xf];
    }
    out[SESSION_ID_LEN] = '\0';
}

/* The bytes of an id in hex (either case); -1 if it is not one. */
static int
session_id_parse(const char *s, uint8_t *id)
{
    size_t  k;
    int     hi, lo;

    if (strnlen(s, SESSION_ID_LEN + 1) != SESSION_ID_LEN)
        return -1;
    for (k = 0; k < SESSION_ID_LEN / 2; k++) {
        if ((hi = encoding_hex_digit(s[2 * k])) == -1 ||
            (lo = encoding_hex_digit(s[2 * k + 1])) == -1)
            return -1;
        id[k] = (uint8_t)(hi << 4 | lo);
    }
    return 0;
}


/* SHA-256 of a token with token syntax, else -1. */
static int
session_key(const char *token, size_t len, uint8_t *key)
{
    if (!crypto_token_valid_syntax(token, len))
        return -1;
    crypto_sha256(token, len, key);
    return 0;
}

/* s made ready for email, role and addr, all checked as session_slot_problem
 * will; -1 if one is not fit. */
static int
session_slot_new(struct session_slot *s, const char *email, int role,
    const char *addr)
{
    size_t  elen, alen;

    if (addr == NULL)
        addr = "";
    elen = strnlen(email, SESSION_EMAIL_MAX + 1);
    alen = strnlen(addr, SESSION_ADDR_MAX + 1);
    if (elen == 0 || elen > SESSION_EMAIL_MAX || alen > SESSION_ADDR_MAX ||
        role < 0 || role > SESSION_ROLE_MAX)
        return -1;
    memset(s, 0, sizeof(*s));
    memcpy(s->email, email, elen);
    memcpy(s->addr, addr, alen);
    s->role = (uint32_t)role;
    s->in_use = 1;
    s->prev = SESSION_NONE;
    s->next = SESSION_NONE;
    if (session_text_problem(s->email, sizeof(s->email)) != NULL ||
        session_text_problem(s->addr, sizeof(s->addr)) != NULL)
        return -1;
    return 0;
}

void
session_token_id(const char *token, size_t token_len,
    char out[SESSION_ID_LEN + 1])
{
    uint8_t key[CRYPTO_SHA256_LEN];

    out[0] = '\0';
    if (session_key(token, token_len, key) == 0)
        session_id(key, out);
}
