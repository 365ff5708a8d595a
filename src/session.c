/*
 * session.c - the shared session table; see session.h.
 *
 * File layout (native byte order: the file never leaves this machine):
 *   struct session_header   128 bytes: magic "USERAPIDSESS", version,
 *                           header and slot sizes, capacity, max_sessions,
 *                           count, retired
 *   struct session_slot[capacity]
 *
 * The slots are an open-addressing hash table keyed by SHA-256(token), with
 * linear probing from slot (first 8 key bytes & (capacity - 1)) and
 * backward-shift deletion, so there are no tombstones.
 *
 * Invariants:
 * - capacity is a power of two >= 2 * max_sessions, and count (used slots,
 *   expired ones included) <= max_sessions, so at least half the slots are
 *   free and every probe ends at a free slot.
 * - Every used slot is reachable from its home slot through used slots.
 * - A file at the path is always complete: new files are written aside
 *   (sessions.tmp.XXXXXX), synced, and then linked (first creation) or
 *   renamed (rebuild, reset) into place.  The header's magic, version,
 *   capacity and sizes never change once a file is in place, so they are
 *   read without a lock.
 * - Locks are fcntl OFD locks on the file itself: F_RDLCK to look up,
 *   F_WRLCK to change.  An OFD lock belongs to an open file description,
 *   which fork(2) shares, so a process that did not open t->fd itself
 *   reopens the file before its first lock (session_lock).
 * - seq is made odd when the write lock is taken and even again before
 *   that same file's lock is let go, by the holder and nobody else (a
 *   rebuild ends its write on the old file before moving to the new one).
 * - A rebuilt file replaces the old one while the old one's write lock is
 *   held; then "retired" is set in the old header.  Whoever takes a lock on
 *   a retired file drops it and moves to the file now at the path.
 * - last_used is the one field written under a read lock, with relaxed
 *   atomic stores, and only when the second changes, so a burst of
 *   requests does not dirty the page on each one.  Lock-free lookups store
 *   nothing: a slot they read may hold another session a moment later.
 *   Everything else changes under the write lock only.
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
#include "session.h"

#define SESSION_MAGIC           "USERAPIDSESS"
#define SESSION_MAGIC_LEN       12
#define SESSION_VERSION         1
#define SESSION_MIN_CAPACITY    16
#define SESSION_TRIES           8       /* files replaced under one call */

struct session_header {
    char        magic[SESSION_MAGIC_LEN];   /* no NUL */
    uint32_t    version;
    uint32_t    header_size;
    uint32_t    slot_size;
    uint64_t    capacity;                   /* slots, a power of two */
    uint64_t    max_sessions;
    uint64_t    count;                      /* used slots */
    uint32_t    retired;                    /* replaced by a newer file */
    uint32_t    unused;
    uint64_t    seq;                        /* odd while a writer changes slots */
    uint8_t     reserved[64];
};

struct session_slot {
    uint8_t     key[AUTH_SHA256_LEN];       /* SHA-256 of the token */
    int64_t     created_at;
    int64_t     last_used;                  /* atomic */
    uint32_t    in_use;                     /* 0 free, else used */
    uint32_t    role;
    char        email[SESSION_EMAIL_MAX + 2];   /* NUL-terminated */
};

_Static_assert(sizeof(struct session_header) == 128, "header is 128 bytes");
_Static_assert(sizeof(struct session_slot) == 312, "slot is 312 bytes");
_Static_assert(sizeof(struct session_header) % 8 == 0 &&
    sizeof(struct session_slot) % 8 == 0, "slots stay 8-byte aligned");

/* The hash table within one mapping. */
struct session_view {
    struct session_header  *hdr;
    struct session_slot    *slots;
    uint64_t                mask;
};

struct session_table {
    char                dir[PATH_MAX];
    char                path[PATH_MAX];
    int                 fd;         /* our own open file description */
    pid_t               pid;        /* the process that opened fd */
    int                 readonly;   /* session_check's view */
    void               *map;
    size_t              map_len;
    struct session_view v;
    int64_t             ttl, max_age;
    int                 writing;    /* holds the write lock, seq is odd */
};

/* A used slot chosen for keeping or dropping. */
struct session_ref {
    int64_t     expires;
    uint64_t    idx;
    uint8_t     key[AUTH_SHA256_LEN];
};

enum session_attach {
    SESSION_ATTACHED,
    SESSION_ABSENT,
    SESSION_CORRUPT,        /* err says why */
    SESSION_FAILED          /* err says why, errno set */
};

static int64_t  session_now(void);
static int64_t  session_add(int64_t, int64_t);
static int64_t  session_expiry(const struct session_table *,
                    const struct session_slot *);
static uint64_t session_capacity_for(uint64_t);
static size_t   session_file_size(uint64_t);
static uint64_t session_home(const struct session_view *, const uint8_t *);
static int      session_cfg_check(const struct session_cfg *, char *, size_t);
static int      session_paths(struct session_table *, const char *, char *,
                    size_t);
static enum session_attach session_attach(struct session_table *, char *,
                    size_t);
static int      session_header_check(const struct session_header *, off_t,
                    char *, size_t);
static int      session_fd_lock(int, short);
static int      session_lock(struct session_table *, short);
static void     session_write_end(struct session_table *);
static void     session_unlock(struct session_table *);
static int      session_install(struct session_table *, uint64_t, uint64_t,
                    const struct session_ref *, size_t, int, char *, size_t);
static int      session_sync_dir(const char *);
static int      session_adjust(struct session_table *, uint64_t, uint64_t,
                    char *, size_t);
static int64_t  session_find(const struct session_view *, const uint8_t *);
static int      session_insert(struct session_view *,
                    const struct session_slot *);
static void     session_delete_at(struct session_view *, uint64_t);
static int      session_collect(const struct session_table *, int64_t,
                    struct session_ref **, size_t *);
static int      session_ref_cmp(const void *, const void *);
static int      session_info_cmp(const void *, const void *);
static void     session_sweep(struct session_table *, int64_t,
                    struct session_ref *, int *);
static int      session_trim(struct session_table *, int64_t, uint64_t);
static const char *session_slot_problem(const struct session_slot *);
static int      session_check_table(const struct session_table *, char *,
                    size_t);
static void     session_repair(struct session_table *);
static int      session_email_is(const struct session_slot *, const char *);
static void     session_fill(const struct session_table *,
                    const struct session_slot *, struct session_info *);
static int      session_key(const char *, size_t, uint8_t *);
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
    int                     tries, rc;

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
    if (session_paths(t, state_dir, err, errlen) == -1)
        goto fail;
    max = (uint64_t)cfg->max_sessions;
    cap = session_capacity_for(max);

    for (tries = 0;; tries++) {
        if (tries == SESSION_TRIES) {
            snprintf(err, errlen, "%s: replaced too often while opening",
                t->path);
            goto fail;
        }
        switch (session_attach(t, err, errlen)) {
        case SESSION_ATTACHED:
            break;
        case SESSION_ABSENT:
            /* Linked, not renamed: if another process made it first,
             * theirs stays and we open it. */
            if (session_install(t, cap, max, NULL, 0, 0, err, errlen) == -1)
                goto fail;
            continue;
        case SESSION_CORRUPT:
            if ((flags & SESSION_RESET) == 0)
                goto fail;
            log_msg(LOG_WARNING, "session_open: %s; replacing it with an "
                "empty session table", err);
            if (session_install(t, cap, max, NULL, 0, 1, err, errlen) == -1)
                goto fail;
            continue;
        case SESSION_FAILED:
            goto fail;
        }
        break;
    }
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
    if (rc == -1)
        goto fail;
    return t;
fail:
    session_close(t);
    return NULL;
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
    char token[AUTH_TOKEN_LEN + 1], int64_t *expires_at)
{
    struct session_slot     s;
    char                    tok[AUTH_TOKEN_LEN + 1];
    size_t                  elen;
    int64_t                 now;
    int                     rc = -1, saved;

    elen = strnlen(email, SESSION_EMAIL_MAX + 1);
    if (elen == 0 || elen > SESSION_EMAIL_MAX || role < 0 ||
        role > SESSION_ROLE_MAX) {
        errno = EINVAL;
        return -1;
    }
    memset(&s, 0, sizeof(s));
    if (auth_token_new(tok) == -1)
        return -1;
    auth_sha256(tok, AUTH_TOKEN_LEN, s.key);
    memcpy(s.email, email, elen);
    s.role = (uint32_t)role;
    s.in_use = 1;

    if (session_lock(t, F_WRLCK) == -1)
        goto done;
    now = session_now();
    s.created_at = now;
    s.last_used = now;
    /* Room for one more: at most max_sessions - 1 may stay. */
    if (session_trim(t, now, t->v.hdr->max_sessions - 1) == -1 ||
        session_insert(&t->v, &s) == -1) {
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

int
session_lookup(struct session_table *t, const char *token, size_t token_len,
    struct session_info *out)
{
    struct session_slot    *s;
    uint8_t                 key[AUTH_SHA256_LEN];
    int64_t                 now, i, last;
    int                     rc = SESSION_NOT_FOUND;

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
                session_fill(t, s, out);
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
            session_fill(t, &copy, out);
        return 0;
    }
    return -2;
}

int
session_revoke(struct session_table *t, const char *token, size_t token_len)
{
    uint8_t     key[AUTH_SHA256_LEN];
    int64_t     now, i;
    int         rc = SESSION_NOT_FOUND;

    if (session_key(token, token_len, key) == -1)
        return SESSION_NOT_FOUND;
    if (session_lock(t, F_WRLCK) == -1)
        return -1;
    now = session_now();
    /* A loop, not an if: a writer killed halfway through a backward shift
     * can leave a session in two slots, and a logout must end both. */
    while ((i = session_find(&t->v, key)) >= 0) {
        if (session_expiry(t, &t->v.slots[i]) > now)
            rc = 0;
        session_delete_at(&t->v, (uint64_t)i);
    }
    session_unlock(t);
    return rc;
}

int
session_revoke_user(struct session_table *t, const char *email,
    const char *except_token)
{
    struct session_slot    *s;
    uint8_t                 keep[AUTH_SHA256_LEN];
    uint64_t                i;
    int64_t                 now;
    int                     n = 0, has_keep = 0;

    if (except_token != NULL &&
        session_key(except_token, strlen(except_token), keep) == 0)
        has_keep = 1;
    if (session_lock(t, F_WRLCK) == -1)
        return -1;
    now = session_now();
    session_stat.scans++;
    /* After a delete, slot i holds whatever shifted back into it, so it is
     * looked at again.  Entries only shift back within their run, so none
     * skips past i unseen. */
    for (i = 0; i <= t->v.mask;) {
        s = &t->v.slots[i];
        if (s->in_use == 0 || !session_email_is(s, email) ||
            (has_keep && auth_equal_ct(s->key, keep, sizeof(keep)))) {
            i++;
            continue;
        }
        if (session_expiry(t, s) > now)
            n++;
        session_delete_at(&t->v, i);
    }
    session_unlock(t);
    return n;
}

int
session_set_role(struct session_table *t, const char *email, int role)
{
    struct session_slot    *s;
    uint64_t                i;
    int64_t                 now;
    int                     n = 0;

    if (role < 0 || role > SESSION_ROLE_MAX) {
        errno = EINVAL;
        return -1;
    }
    if (session_lock(t, F_WRLCK) == -1)
        return -1;
    now = session_now();
    session_stat.scans++;
    for (i = 0; i <= t->v.mask; i++) {
        s = &t->v.slots[i];
        if (s->in_use == 0 || !session_email_is(s, email))
            continue;
        s->role = (uint32_t)role;
        if (session_expiry(t, s) > now)
            n++;
    }
    session_unlock(t);
    return n;
}

int
session_foreach(struct session_table *t, const char *email,
    int (*fn)(const struct session_info *, void *), void *arg)
{
    struct session_info    *list = NULL, *p;
    struct session_slot    *s;
    size_t                  n = 0, cap = 0, k;
    uint64_t                i;
    int64_t                 now;
    int                     rc = 0;

    if (session_lock(t, F_RDLCK) == -1)
        return -1;
    now = session_now();
    session_stat.scans++;
    for (i = 0; i <= t->v.mask; i++) {
        s = &t->v.slots[i];
        if (s->in_use == 0 || (email != NULL && !session_email_is(s, email)) ||
            session_expiry(t, s) <= now)
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            if ((p = reallocarray(list, cap, sizeof(*list))) == NULL) {
                session_unlock(t);
                free(list);
                errno = ENOMEM;
                return -1;
            }
            list = p;
        }
        session_fill(t, s, &list[n++]);
    }
    session_unlock(t);
    if (n > 0)
        qsort(list, n, sizeof(*list), session_info_cmp);
    for (k = 0; k < n && rc == 0; k++)
        rc = fn(&list[k], arg);
    free(list);
    return rc;
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
session_add(int64_t a, int64_t b)
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

    idle = session_add(__atomic_load_n(&s->last_used, __ATOMIC_RELAXED),
        t->ttl);
    absolute = session_add(s->created_at, t->max_age);
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

static size_t
session_file_size(uint64_t cap)
{
    return sizeof(struct session_header) +
        (size_t)cap * sizeof(struct session_slot);
}

/* Keys are SHA-256 output: any 8 bytes are already uniform. */
static uint64_t
session_home(const struct session_view *v, const uint8_t *key)
{
    uint64_t    h;

    memcpy(&h, key, sizeof(h));
    return h & v->mask;
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
 * so dropping any lock held through it).  On failure t is unchanged.
 */
static enum session_attach
session_attach(struct session_table *t, char *err, size_t errlen)
{
    struct session_header   hdr;
    struct stat             st;
    char                    why[SESSION_ERR_LEN];
    ssize_t                 n;
    void                   *map;
    int                     fd;

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
    if (session_header_check(&hdr, st.st_size, why, sizeof(why)) == -1) {
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
    if (t->map != NULL)
        munmap(t->map, t->map_len);
    if (t->fd != -1)
        close(t->fd);
    t->fd = fd;
    t->pid = session_self();
    t->map = map;
    t->map_len = (size_t)st.st_size;
    t->v.hdr = map;
    t->v.slots = (struct session_slot *)((char *)map + sizeof(hdr));
    t->v.mask = hdr.capacity - 1;
    return SESSION_ATTACHED;
corrupt:
    close(fd);
    return SESSION_CORRUPT;
failed:
    close(fd);
    return SESSION_FAILED;
}

/* Whether h describes a table of this version that fills size bytes.
 * The reason goes to err without the path. */
static int
session_header_check(const struct session_header *h, off_t size, char *err,
    size_t errlen)
{
    if (memcmp(h->magic, SESSION_MAGIC, SESSION_MAGIC_LEN) != 0) {
        snprintf(err, errlen, "bad magic: not a userapid session table");
        return -1;
    }
    if (h->version != SESSION_VERSION) {
        snprintf(err, errlen, "format version %u, expected %u", h->version,
            (unsigned)SESSION_VERSION);
        return -1;
    }
    if (h->header_size != sizeof(struct session_header) ||
        h->slot_size != sizeof(struct session_slot)) {
        snprintf(err, errlen, "header/slot sizes %u/%u, expected %zu/%zu",
            h->header_size, h->slot_size, sizeof(struct session_header),
            sizeof(struct session_slot));
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
    if (size < 0 || (uint64_t)size != session_file_size(h->capacity)) {
        snprintf(err, errlen, "size %lld bytes, expected %zu for %llu slots",
            (long long)size, session_file_size(h->capacity),
            (unsigned long long)h->capacity);
        return -1;
    }
    return 0;
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
            if (type == F_WRLCK && !t->readonly) {
                uint64_t seq = __atomic_load_n(&t->v.hdr->seq, __ATOMIC_RELAXED);

                /* Odd from a writer that died: skip to the next odd. */
                seq = (seq | 1) + ((seq & 1) ? 2 : 0);
                __atomic_store_n(&t->v.hdr->seq, seq, __ATOMIC_RELAXED);
                __atomic_thread_fence(__ATOMIC_SEQ_CST);
                t->writing = 1;
            }
            return 0;
        }
        session_fd_lock(t->fd, F_UNLCK);
        t->pid = 0;         /* reattach on the next turn */
    }
    errno = ESTALE;
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
 * current file into a new file beside it, syncs it and puts it at t->path:
 * rename over the old one when replace, else link, which leaves a file made
 * meanwhile by someone else in place (and is not an error).  On error err
 * says why and no temporary file is left.
 */
static int
session_install(struct session_table *t, uint64_t cap, uint64_t max,
    const struct session_ref *refs, size_t nrefs, int replace, char *err,
    size_t errlen)
{
    struct session_view     nv;
    struct session_slot     s;
    char                    tmp[PATH_MAX];
    size_t                  size, k;
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
    size = session_file_size(cap);
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
    nv.hdr = map;
    nv.slots = (struct session_slot *)((char *)map + sizeof(*nv.hdr));
    nv.mask = cap - 1;
    memcpy(nv.hdr->magic, SESSION_MAGIC, SESSION_MAGIC_LEN);
    nv.hdr->version = SESSION_VERSION;
    nv.hdr->header_size = sizeof(struct session_header);
    nv.hdr->slot_size = sizeof(struct session_slot);
    nv.hdr->capacity = cap;
    nv.hdr->max_sessions = max;
    nv.hdr->count = 0;
    for (k = 0; k < nrefs; k++) {
        memcpy(&s, &t->v.slots[refs[k].idx], sizeof(s));
        s.last_used = __atomic_load_n(&t->v.slots[refs[k].idx].last_used,
            __ATOMIC_RELAXED);
        s.in_use = 1;
        if (session_insert(&nv, &s) == -1) {
            snprintf(err, errlen, "%s: table full while copying", tmp);
            goto done;
        }
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
 * cap when it has another, else takes max as its limit, drops damaged
 * slots, recounts, and trims to max.  Returns with t on the current file;
 * the lock is gone if a rebuild replaced it.
 */
static int
session_adjust(struct session_table *t, uint64_t cap, uint64_t max, char *err,
    size_t errlen)
{
    struct session_ref *refs;
    size_t              n, skip;
    int64_t             now = session_now();
    int                 rc;

    if (t->v.hdr->capacity == cap) {
        t->v.hdr->max_sessions = max;
        session_repair(t);
        if (session_trim(t, now, max) == -1) {
            snprintf(err, errlen, "%s: %s", t->path, strerror(errno));
            return -1;
        }
        return 0;
    }
    if (session_collect(t, now, &refs, &n) == -1) {
        snprintf(err, errlen, "%s: %s", t->path, strerror(errno));
        return -1;
    }
    /* Nearest expiry first: those are the ones that do not fit. */
    skip = n > max ? n - max : 0;
    rc = session_install(t, cap, max, refs + skip, n - skip, 1, err, errlen);
    free(refs);
    if (rc == -1)
        return -1;
    if (skip > 0)
        log_msg(LOG_NOTICE, "session_open: %s: dropped %zu sessions nearest "
            "expiry to fit max_sessions %llu", t->path, skip,
            (unsigned long long)max);
    /* The new file is in place: send everyone else on the old one there,
     * and end our write on it while its lock is still ours.  The new
     * file's seq is not ours to touch: we hold no lock on it. */
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

/* session_check's part under the read lock. */
static int
session_check_table(const struct session_table *t, char *err, size_t errlen)
{
    const struct session_slot  *s;
    const char                 *why;
    uint64_t                    i, j, start, run, used = 0, dist;

    if (t->v.hdr->max_sessions < 1 ||
        t->v.hdr->max_sessions > (uint64_t)SESSION_MAX_SESSIONS ||
        session_capacity_for(t->v.hdr->max_sessions) != t->v.hdr->capacity) {
        snprintf(err, errlen, "%s: max_sessions %llu does not fit capacity "
            "%llu", t->path, (unsigned long long)t->v.hdr->max_sessions,
            (unsigned long long)t->v.hdr->capacity);
        return -1;
    }
    session_stat.scans++;
    for (i = 0; i <= t->v.mask; i++) {
        if (t->v.slots[i].in_use == 0)
            continue;
        if ((why = session_slot_problem(&t->v.slots[i])) != NULL) {
            snprintf(err, errlen, "%s: slot %llu: %s", t->path,
                (unsigned long long)i, why);
            return -1;
        }
        used++;
    }
    if (used != t->v.hdr->count) {
        snprintf(err, errlen, "%s: header counts %llu sessions, %llu slots "
            "are in use (a writer died mid-change; opening the table repairs "
            "it)", t->path, (unsigned long long)t->v.hdr->count,
            (unsigned long long)used);
        return -1;
    }
    if (used > t->v.hdr->max_sessions) {
        snprintf(err, errlen, "%s: %llu slots in use, more than "
            "max_sessions %llu", t->path, (unsigned long long)used,
            (unsigned long long)t->v.hdr->max_sessions);
        return -1;
    }
    /* Reachability: walking round from a free slot, run counts the used
     * slots up to and including j, and each one's distance from home must
     * stay inside its run.  used < capacity, so a free slot exists. */
    for (start = 0; t->v.slots[start].in_use != 0; start++)
        ;
    run = 0;
    for (i = 1; i <= t->v.mask + 1; i++) {
        j = (start + i) & t->v.mask;
        s = &t->v.slots[j];
        if (s->in_use == 0) {
            run = 0;
            continue;
        }
        run++;
        dist = (j - session_home(&t->v, s->key)) & t->v.mask;
        if (dist >= run) {
            snprintf(err, errlen, "%s: slot %llu: not reachable from its hash "
                "position %llu", t->path, (unsigned long long)j,
                (unsigned long long)session_home(&t->v, s->key));
            return -1;
        }
    }
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
        if (auth_equal_ct(v->slots[i].key, key, AUTH_SHA256_LEN))
            return (int64_t)i;
        i = (i + 1) & v->mask;
    }
    return -1;
}

/* Puts a copy of s in the first free slot from its home.  The caller made
 * room: -1 (ENOSPC) only if the table is damaged. */
static int
session_insert(struct session_view *v, const struct session_slot *s)
{
    struct session_slot    *d;
    uint64_t                i, n;

    i = session_home(v, s->key);
    for (n = 0; n <= v->mask; n++) {
        d = &v->slots[i];
        if (d->in_use == 0) {
            memcpy(d->key, s->key, sizeof(d->key));
            memcpy(d->email, s->email, sizeof(d->email));
            d->email[sizeof(d->email) - 1] = '\0';
            d->role = s->role;
            d->created_at = s->created_at;
            __atomic_store_n(&d->last_used, s->last_used, __ATOMIC_RELAXED);
            /* Last, so a crash before it leaves a free slot. */
            __atomic_store_n(&d->in_use, 1, __ATOMIC_RELEASE);
            v->hdr->count++;
            return 0;
        }
        i = (i + 1) & v->mask;
    }
    errno = ENOSPC;
    return -1;
}

/*
 * Frees slot i, then walks the run after it moving back each entry whose
 * home is not cyclically in (hole, entry], so every entry stays reachable
 * without tombstones.
 */
static void
session_delete_at(struct session_view *v, uint64_t i)
{
    struct session_slot    *s = v->slots;
    uint64_t                j = i, k, n;

    for (n = 0; n < v->mask; n++) {
        j = (j + 1) & v->mask;
        if (s[j].in_use == 0)
            break;
        k = session_home(v, s[j].key);
        if (i <= j ? (k <= i || k > j) : (k <= i && k > j)) {
            memcpy(&s[i], &s[j], sizeof(s[i]));
            i = j;
        }
    }
    __atomic_store_n(&s[i].in_use, 0, __ATOMIC_RELEASE);
    memset(&s[i], 0, sizeof(s[i]));
    if (v->hdr->count > 0)
        v->hdr->count--;
}

/* The live sessions of t, nearest expiry first, in a malloc'd array. */
static int
session_collect(const struct session_table *t, int64_t now,
    struct session_ref **out, size_t *nout)
{
    struct session_ref         *refs;
    const struct session_slot  *s;
    uint64_t                    i;
    size_t                      n = 0, used = 0;
    int64_t                     exp;

    session_stat.scans++;
    /* Counted, not taken from the header: count may be off after a
     * writer died mid-change. */
    for (i = 0; i <= t->v.mask; i++)
        if (t->v.slots[i].in_use != 0)
            used++;
    if ((refs = calloc(used > 0 ? used : 1, sizeof(*refs))) == NULL)
        return -1;
    for (i = 0; i <= t->v.mask && n < used; i++) {
        s = &t->v.slots[i];
        if (s->in_use == 0 || session_slot_problem(s) != NULL ||
            (exp = session_expiry(t, s)) <= now)
            continue;
        refs[n].expires = exp;
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
session_info_cmp(const void *a, const void *b)
{
    const struct session_info *x = a, *y = b;

    if (x->created_at != y->created_at)
        return x->created_at < y->created_at ? -1 : 1;
    return strcmp(x->email, y->email);
}

/* Frees every expired slot; *found says whether best holds the live
 * session nearest expiry. */
static void
session_sweep(struct session_table *t, int64_t now, struct session_ref *best,
    int *found)
{
    struct session_slot    *s;
    uint64_t                i;
    int64_t                 exp;

    *found = 0;
    session_stat.scans++;
    /* See session_revoke_user for why i stays put after a delete. */
    for (i = 0; i <= t->v.mask;) {
        s = &t->v.slots[i];
        if (s->in_use == 0) {
            i++;
            continue;
        }
        if ((exp = session_expiry(t, s)) <= now) {
            session_delete_at(&t->v, i);
            continue;
        }
        if (!*found || exp < best->expires) {
            best->expires = exp;
            memcpy(best->key, s->key, sizeof(best->key));
            *found = 1;
        }
        i++;
    }
}

/* Leaves at most limit used slots: the expired go first, then the live
 * ones nearest expiry.  Scans only when over the limit. */
static int
session_trim(struct session_table *t, int64_t now, uint64_t limit)
{
    struct session_ref  best, *refs;
    size_t              n, k, excess;
    int64_t             i;
    int                 found;

    if (t->v.hdr->count <= limit)
        return 0;
    session_sweep(t, now, &best, &found);
    if (t->v.hdr->count <= limit)
        return 0;
    if (t->v.hdr->count - limit == 1 && found) {
        if ((i = session_find(&t->v, best.key)) >= 0)
            session_delete_at(&t->v, (uint64_t)i);
        return 0;
    }
    /* Many over (max_sessions lowered in place): sort once. */
    if (session_collect(t, now, &refs, &n) == -1)
        return -1;
    excess = t->v.hdr->count - limit;
    for (k = 0; k < n && k < excess; k++)
        if ((i = session_find(&t->v, refs[k].key)) >= 0)
            session_delete_at(&t->v, (uint64_t)i);
    free(refs);
    return 0;
}

/* Why a used slot cannot be a session this code wrote, or NULL. */
static const char *
session_slot_problem(const struct session_slot *s)
{
    size_t  len, i;

    if (s->in_use != 1)
        return "bad in_use flag";
    len = strnlen(s->email, sizeof(s->email));
    if (len == sizeof(s->email))
        return "email is not NUL-terminated";
    if (len == 0)
        return "empty email";
    if (len > SESSION_EMAIL_MAX)
        return "email too long";
    for (i = 0; i < len; i++)
        if ((unsigned char)s->email[i] < 0x20 || s->email[i] == 0x7f)
            return "control character in email";
    if (s->role > SESSION_ROLE_MAX)
        return "role out of range";
    if (s->created_at <= 0)
        return "creation time not after the epoch";
    if (__atomic_load_n(&s->last_used, __ATOMIC_RELAXED) < s->created_at)
        return "last use before creation";
    return NULL;
}

/* Under the write lock at open: drops damaged slots and makes count true
 * again (a writer killed mid-change can leave either wrong). */
static void
session_repair(struct session_table *t)
{
    struct session_slot    *s;
    const char             *why;
    uint64_t                i, used = 0;

    session_stat.scans++;
    for (i = 0; i <= t->v.mask;) {
        s = &t->v.slots[i];
        if (s->in_use == 0) {
            i++;
            continue;
        }
        if ((why = session_slot_problem(s)) != NULL) {
            log_msg(LOG_WARNING, "session_repair: %s: slot %llu: %s; "
                "dropped", t->path, (unsigned long long)i, why);
            session_delete_at(&t->v, i);
            continue;
        }
        used++;
        i++;
    }
    if (used != t->v.hdr->count) {
        log_msg(LOG_WARNING, "session_repair: %s: count was %llu, %llu "
            "slots in use", t->path, (unsigned long long)t->v.hdr->count,
            (unsigned long long)used);
        t->v.hdr->count = used;
    }
}

/* Emails are compared as bytes: the caller passes one spelling. */
static int
session_email_is(const struct session_slot *s, const char *email)
{
    return strncmp(s->email, email, sizeof(s->email)) == 0;
}

static void
session_fill(const struct session_table *t, const struct session_slot *s,
    struct session_info *out)
{
    size_t  len;

    len = strnlen(s->email, SESSION_EMAIL_MAX);
    memcpy(out->email, s->email, len);
    out->email[len] = '\0';
    out->role = (int)s->role;
    out->created_at = s->created_at;
    out->last_used = __atomic_load_n(&s->last_used, __ATOMIC_RELAXED);
    out->expires_at = session_expiry(t, s);
}

/* SHA-256 of a token with token syntax, else -1. */
static int
session_key(const char *token, size_t len, uint8_t *key)
{
    if (!auth_token_valid_syntax(token, len))
        return -1;
    auth_sha256(token, len, key);
    return 0;
}
