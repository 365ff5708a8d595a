/* SPDX-License-Identifier: MIT */
/*
 * userdb.c - the user database; see userdb.h for the file format and what
 * callers can rely on.
 *
 * users.db changes in three ways only, each under the exclusive OFD lock
 * on users.db.lock:
 *   - add: whole lines appended through O_APPEND, then fdatasync;
 *   - truncation of bytes no reader has indexed: the partial line of a
 *     failed append, or a torn line left by a crash;
 *   - update, delete, import, create: users.db.tmp is written and fsynced,
 *     renamed over users.db, and the directory fsynced.
 * Hence the invariant readers build on: for one inode, the bytes up to the
 * last LF a reader has indexed never change.  A reader keeps the file mapped
 * (PROT_READ, MAP_SHARED); when the inode is the same but the size changed
 * it indexes only what follows, and another inode means a rename and a
 * rebuild.  Editing users.db in place by hand breaks this (a truncation
 * under a reader's index would even SIGBUS it); only userdb writes it.
 *
 * The index copies nothing out of the mapping: lines[i] is the offset of
 * record i (file line i + 2), and slots[] is an open-addressing table
 * (linear probing, at most half full) of record number + 1, keyed by a
 * SipHash of the email under a per-handle random key, so nobody can pick
 * emails that collide.  That is about 16 bytes per user.  Fields are
 * validated when a line is indexed and parsed again when a record is read.
 *
 * An index update succeeds whole or leaves the previous view as it was: a
 * rebuild fills a new index and swaps it in; indexing a tail sizes the
 * arrays first, and on a bad line removes its own insertions in reverse
 * order, which restores a linear-probing table exactly.
 *
 * Cleanup helpers (userdb_unlock, userdb_ix_free, userdb_tmp_abort) keep
 * errno, so a failure's errno reaches the caller through the unwinding.
 * close(2) is checked where it could be the first news of lost data; a
 * descriptor only read from, one already fsynced, or one on a path that
 * has failed already has nothing left to report.
 */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "log.h"
#include "userdb.h"

#define USERDB_HEADER       "userapid-users 1\n"
#define USERDB_HEADER_LEN   (sizeof(USERDB_HEADER) - 1)
#define USERDB_MAGIC        "userapid-users "
#define USERDB_MAGIC_LEN    (sizeof(USERDB_MAGIC) - 1)
#define USERDB_LINE_MAX     (USERDB_EMAIL_MAX + sizeof("\tadmin\t") - 1 + \
                                USERDB_TIME_LEN + 1 + USERDB_HASH_MAX + 1)
#define USERDB_RECORDS_MAX  ((size_t)UINT32_MAX - 1)   /* slots are uint32 */
#define USERDB_FLUSH_AT     (256 * 1024)
#define USERDB_WHY_LEN      160

/* userdb_load flags. */
#define USERDB_LOAD_REPAIR  0x01    /* exclusive lock held: cut a torn line */
#define USERDB_LOAD_STRICT  0x02    /* a torn line is an error */

/* How the lock file is opened. */
enum userdb_lockfile {
    USERDB_LOCKFILE_CREATE,         /* created if missing */
    USERDB_LOCKFILE_IF_EXISTS       /* userdb_check: none means no lock */
};

struct userdb_index {
    int              fd;            /* users.db, read-only; -1 when none */
    dev_t            dev;
    ino_t            ino;
    size_t           size;          /* file size when indexed */
    struct timespec  mtime;
    struct timespec  ctime;
    char            *map;
    size_t           maplen;
    size_t           end;           /* header + whole lines; size - end torn */
    uint64_t        *lines;         /* offset of each record's line */
    size_t           nlines;
    size_t           linecap;
    uint32_t        *slots;         /* record number + 1, 0 empty */
    size_t           nslots;        /* a power of two, or 0 */
    size_t           nadmins;
};

struct userdb_fields {
    const char      *email;
    size_t           email_len;
    int              role;
    int64_t          created_at;
    const char      *hash;
    size_t           hash_len;
};

/* What userdb_rewrite's emit writes: one line, or a batch of records. */
struct userdb_line {
    const char  *line;
    size_t       len;
};

struct userdb_batch {
    const struct userdb_user *u;
    size_t                    n;
};

struct userdb {
    char                 dir[PATH_MAX];
    char                 path[PATH_MAX];
    char                 tmppath[PATH_MAX];
    char                 lockpath[PATH_MAX];
    enum userdb_lockfile lockmode;
    int                  lockfd;
    pid_t                lockpid;       /* the process lockfd belongs to */
    int                  lock_wr_errno; /* why we cannot lock exclusively */
    int                  nolock;        /* checking without a lock file */
    uint64_t             key[2];
    struct userdb_index  ix;
    size_t               warned_torn;   /* size a torn line was reported at */
    char                 err[USERDB_ERR_LEN];
};

static int      userdb_fail(struct userdb *, const char *, ...)
                    __attribute__((format(printf, 2, 3)));
static int      userdb_why(char *, size_t, const char *, ...)
                    __attribute__((format(printf, 3, 4)));
static void     userdb_copy_err(const struct userdb *, char *, size_t);
static struct userdb *userdb_new(const char *, enum userdb_lockfile, char *,
                    size_t);
static int      userdb_lock_fd(struct userdb *);
static int      userdb_lock(struct userdb *, short);
static void     userdb_unlock(struct userdb *);
static int      userdb_load(struct userdb *, int);
static int      userdb_torn(struct userdb *, int);
static int      userdb_cut_torn(struct userdb *);
static int      userdb_create_file(struct userdb *);
static int      userdb_append(struct userdb *, const char *, size_t);
static int      userdb_change(struct userdb *, const char *, int,
                    const struct userdb_user *, const char *);
static int      userdb_rewrite(struct userdb *, size_t, size_t,
                    int (*)(int, void *), void *);
static int      userdb_write_line(int, void *);
static int      userdb_write_batch(int, void *);
static int      userdb_batch_unique(struct userdb *, const struct userdb_user *,
                    size_t);
static int      userdb_tmp_open(struct userdb *);
static void     userdb_tmp_abort(struct userdb *, int);
static int      userdb_tmp_commit(struct userdb *, int);
static int      userdb_write_all(int, const char *, size_t);

static void     userdb_ix_init(struct userdb_index *);
static void     userdb_ix_free(struct userdb_index *);
static int      userdb_ix_same(const struct userdb_index *,
                    const struct stat *);
static int      userdb_ix_build(struct userdb *, int, const struct stat *,
                    struct userdb_index *);
static int      userdb_ix_extend(struct userdb *, const struct stat *);
static int      userdb_ix_lines(struct userdb *, struct userdb_index *,
                    size_t);
static int      userdb_ix_reserve(struct userdb *, struct userdb_index *,
                    size_t);
static void     userdb_ix_unindex(struct userdb *, struct userdb_index *,
                    size_t);
static size_t   userdb_ix_slot(const struct userdb *,
                    const struct userdb_index *, const char *, size_t);
static void     userdb_ix_record(const struct userdb_index *, size_t,
                    const char **, size_t *);
static size_t   userdb_ix_email_len(const struct userdb_index *, size_t);
static int      userdb_ix_lookup(const struct userdb *, const char *,
                    size_t *);
static int      userdb_ix_read(struct userdb *, size_t,
                    struct userdb_user *);

static int      userdb_parse_line(const char *, size_t,
                    struct userdb_fields *, char *, size_t);
static int      userdb_email_ok(const char *, size_t, char *, size_t);
static int      userdb_hash_ok(const char *, size_t, char *, size_t);
static int      userdb_time_parse(const char *, size_t, int64_t *);
static void     userdb_quote(const char *, size_t, char *, size_t);
static int      userdb_header_version(const char *, size_t);
static int      userdb_user_ok(const struct userdb_user *, int, char *,
                    size_t);
static int      userdb_format_line(const struct userdb_user *, int64_t,
                    char *, size_t);
static uint64_t userdb_siphash(const uint64_t *, const char *, size_t);

/* ---- handles ---------------------------------------------------------- */

struct userdb *
userdb_open(const char *dir, int flags, char *err, size_t errlen)
{
    struct userdb   *db;
    struct stat      st;
    int              excl;

    if ((db = userdb_new(dir, USERDB_LOCKFILE_CREATE, err, errlen)) == NULL)
        return NULL;
    excl = (flags & (USERDB_CREATE | USERDB_REPAIR)) != 0;
    if (userdb_lock(db, excl ? F_WRLCK : F_RDLCK) == -1)
        goto fail;
    if ((flags & USERDB_CREATE) && stat(db->path, &st) == -1) {
        if (errno != ENOENT) {
            userdb_fail(db, "%s: %s", db->path, strerror(errno));
            goto fail_locked;
        }
        if (userdb_create_file(db) == -1)
            goto fail_locked;
    }
    if (userdb_load(db, (flags & USERDB_REPAIR) ? USERDB_LOAD_REPAIR : 0) ==
        -1)
        goto fail_locked;
    userdb_unlock(db);
    return db;

fail_locked:
    userdb_unlock(db);
fail:
    userdb_copy_err(db, err, errlen);
    userdb_close(db);
    return NULL;
}

void
userdb_close(struct userdb *db)
{
    int saved = errno;

    if (db == NULL)
        return;
    userdb_ix_free(&db->ix);
    if (db->lockfd != -1)
        close(db->lockfd);
    free(db);
    errno = saved;
}

const char *
userdb_errmsg(const struct userdb *db)
{
    return db->err;
}

int
userdb_check(const char *dir, size_t *nusers, char *err, size_t errlen)
{
    struct userdb   *db;
    int              rc;

    if ((db = userdb_new(dir, USERDB_LOCKFILE_IF_EXISTS, err, errlen)) ==
        NULL)
        return -1;
    if ((rc = userdb_lock(db, F_RDLCK)) == 0) {
        rc = userdb_load(db, USERDB_LOAD_STRICT);
        userdb_unlock(db);
    }
    if (rc == 0 && nusers != NULL)
        *nusers = db->ix.nlines;
    if (rc == -1)
        userdb_copy_err(db, err, errlen);
    userdb_close(db);
    return rc;
}

int
userdb_refresh(struct userdb *db, char *err, size_t errlen)
{
    struct stat st;
    int         rc;

    /* The fast path needs no lock: an unchanged inode, size and times mean
     * the file is what we indexed (a writer mid-append changes the size). */
    if (stat(db->path, &st) == 0 && userdb_ix_same(&db->ix, &st))
        return 0;
    if (userdb_lock(db, F_RDLCK) == -1) {
        userdb_copy_err(db, err, errlen);
        return -1;
    }
    rc = userdb_load(db, 0);
    userdb_unlock(db);
    if (rc == -1)
        userdb_copy_err(db, err, errlen);
    return rc;
}

/* ---- reading ---------------------------------------------------------- */

int
userdb_find(struct userdb *db, const char *email, struct userdb_user *out)
{
    size_t i;

    if (userdb_ix_lookup(db, email, &i) != 0)
        return USERDB_NOT_FOUND;
    if (out == NULL)
        return 0;
    return userdb_ix_read(db, i, out);
}

int
userdb_find_index(struct userdb *db, const char *email, size_t *index)
{
    return userdb_ix_lookup(db, email, index) != 0 ? USERDB_NOT_FOUND : 0;
}

uint64_t
userdb_view_version(const struct userdb *db)
{
    const struct userdb_index *ix = &db->ix;
    uint64_t v = 1469598103934665603ULL;
    uint64_t parts[7];
    size_t   i;

    parts[0] = (uint64_t)ix->dev;
    parts[1] = (uint64_t)ix->ino;
    parts[2] = (uint64_t)ix->end;
    parts[3] = (uint64_t)ix->nlines;
    parts[4] = (uint64_t)ix->mtime.tv_sec;
    parts[5] = (uint64_t)ix->mtime.tv_nsec;
    parts[6] = (uint64_t)(uintptr_t)ix->map;
    /* FNV-1a over the parts: any change of any part changes it. */
    for (i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
        v ^= parts[i];
        v *= 1099511628211ULL;
    }
    return v;
}

size_t
userdb_count(const struct userdb *db)
{
    return db->ix.nlines;
}

size_t
userdb_count_role(const struct userdb *db, int role)
{
    if (role == USERDB_ROLE_ADMIN)
        return db->ix.nadmins;
    if (role == USERDB_ROLE_USER)
        return db->ix.nlines - db->ix.nadmins;
    return 0;
}

int
userdb_get(struct userdb *db, size_t i, struct userdb_user *out)
{
    if (i >= db->ix.nlines)
        return USERDB_NOT_FOUND;
    return userdb_ix_read(db, i, out);
}

/* ---- changing --------------------------------------------------------- */

int
userdb_add(struct userdb *db, const struct userdb_user *u)
{
    char    line[USERDB_LINE_MAX + 1], why[USERDB_WHY_LEN];
    size_t  i;
    int     len, rc;

    if (userdb_user_ok(u, 1, why, sizeof(why)) == -1) {
        errno = EINVAL;
        return userdb_fail(db, "%s", why);
    }
    if ((len = userdb_format_line(u, u->created_at, line, sizeof(line))) ==
        -1)
        return userdb_fail(db, "cannot format the record: %s",
            strerror(errno));
    if (userdb_lock(db, F_WRLCK) == -1)
        return -1;
    /* Under the lock, the file as it is now: another process may have
     * added this email since our last refresh. */
    if (userdb_load(db, USERDB_LOAD_REPAIR) == -1) {
        rc = -1;
    } else if (userdb_ix_lookup(db, u->email, &i) == 0) {
        rc = USERDB_EXISTS;
    } else if (db->ix.nlines >= USERDB_RECORDS_MAX) {
        errno = EFBIG;
        rc = userdb_fail(db, "%s: too many users", db->path);
    } else if ((rc = userdb_append(db, line, (size_t)len)) == 0) {
        /* The line is on disk.  Should indexing it fail (ENOMEM), the
         * next refresh will do it: the add itself succeeded. */
        if (userdb_load(db, 0) == -1)
            log_msg(LOG_WARNING, "userdb_add: %s", db->err);
    }
    userdb_unlock(db);
    return rc;
}

int
userdb_update(struct userdb *db, const struct userdb_user *u, int flags)
{
    char why[USERDB_WHY_LEN];

    if (userdb_user_ok(u, 0, why, sizeof(why)) == -1) {
        errno = EINVAL;
        return userdb_fail(db, "%s", why);
    }
    return userdb_change(db, u->email, flags, u, NULL);
}

int
userdb_update_if(struct userdb *db, const struct userdb_user *u, int flags,
    const char *expect)
{
    char why[USERDB_WHY_LEN];

    if (userdb_user_ok(u, 0, why, sizeof(why)) == -1 || expect == NULL) {
        errno = EINVAL;
        return userdb_fail(db, "%s", expect == NULL ? "no expected hash" : why);
    }
    return userdb_change(db, u->email, flags, u, expect);
}

int
userdb_delete(struct userdb *db, const char *email, int flags)
{
    return userdb_change(db, email, flags, NULL, NULL);
}

int
userdb_hold(struct userdb *db, char *err, size_t errlen)
{
    if (userdb_lock(db, F_RDLCK) == -1) {
        userdb_copy_err(db, err, errlen);
        return -1;
    }
    if (userdb_load(db, 0) == -1) {
        userdb_copy_err(db, err, errlen);
        userdb_unlock(db);
        return -1;
    }
    return 0;
}

void
userdb_release(struct userdb *db)
{
    userdb_unlock(db);
}

int
userdb_import(struct userdb *db, const struct userdb_user *u, size_t n,
    char *err, size_t errlen)
{
    struct userdb_batch batch = { u, n };
    char                why[USERDB_WHY_LEN];
    size_t              i, at;
    int                 rc = -1;

    if (n == 0)
        return 0;
    if (n > USERDB_RECORDS_MAX) {
        errno = EFBIG;
        userdb_fail(db, "too many records (%zu)", n);
        goto out;
    }
    for (i = 0; i < n; i++) {
        if (userdb_user_ok(&u[i], 1, why, sizeof(why)) == -1) {
            errno = EINVAL;
            userdb_fail(db, "record %zu: %s", i + 1, why);
            goto out;
        }
    }
    if ((rc = userdb_batch_unique(db, u, n)) != 0)
        goto out;
    rc = -1;
    if (userdb_lock(db, F_WRLCK) == -1)
        goto out;
    if (userdb_load(db, USERDB_LOAD_REPAIR) == -1)
        goto out_locked;
    for (i = 0; i < n; i++) {
        if (userdb_ix_lookup(db, u[i].email, &at) == 0) {
            rc = USERDB_EXISTS;
            userdb_fail(db, "record %zu: \"%s\" exists already (line %zu)",
                i + 1, u[i].email, at + 2);
            goto out_locked;
        }
    }
    if (n > USERDB_RECORDS_MAX - db->ix.nlines) {
        errno = EFBIG;
        userdb_fail(db, "%s: too many users", db->path);
        goto out_locked;
    }
    rc = userdb_rewrite(db, db->ix.end, db->ix.end, userdb_write_batch, &batch);
out_locked:
    userdb_unlock(db);
out:
    if (rc != 0)
        userdb_copy_err(db, err, errlen);
    return rc;
}

/*
 * Whether the batch's emails are all different, with a throw-away table
 * like the index's, so 100,000 records cost 100,000 hashes.  0, or
 * USERDB_EXISTS / -1 with the reason in db.
 */
static int
userdb_batch_unique(struct userdb *db, const struct userdb_user *u, size_t n)
{
    uint32_t *seen;
    size_t    i, nseen, pos;
    int       rc = 0;

    for (nseen = 16; nseen < 2 * n; nseen *= 2)
        ;
    if ((seen = calloc(nseen, sizeof(*seen))) == NULL)
        return userdb_fail(db, "%s", strerror(errno));
    for (i = 0; i < n && rc == 0; i++) {
        pos = userdb_siphash(db->key, u[i].email, strlen(u[i].email)) &
            (nseen - 1);
        while (seen[pos] != 0 && strcmp(u[seen[pos] - 1].email,
            u[i].email) != 0)
            pos = (pos + 1) & (nseen - 1);
        if (seen[pos] != 0) {
            rc = USERDB_EXISTS;
            userdb_fail(db, "records %u and %zu: the same email \"%s\"",
                seen[pos], i + 1, u[i].email);
        }
        seen[pos] = (uint32_t)(i + 1);
    }
    free(seen);
    return rc;
}

/* userdb_rewrite's emit for an import: the batch's lines, in chunks. */
static int
userdb_write_batch(int fd, void *arg)
{
    const struct userdb_batch *batch = arg;
    struct buf                 b;
    size_t                     i;
    int                        len, rc = 0;

    buf_init(&b);
    for (i = 0; rc == 0 && i < batch->n; i++) {
        if (buf_reserve(&b, USERDB_LINE_MAX + 1) == -1) {
            errno = ENOMEM;
            rc = -1;
            break;
        }
        len = userdb_format_line(&batch->u[i], batch->u[i].created_at,
            b.data + b.len, b.cap - b.len);
        if (len == -1) {
            rc = -1;
            break;
        }
        b.len += (size_t)len;
        if (b.len >= USERDB_FLUSH_AT || i == batch->n - 1) {
            rc = userdb_write_all(fd, b.data, b.len);
            buf_reset(&b);
        }
    }
    buf_free(&b);
    return rc;
}

/* ---- time ------------------------------------------------------------- */

int
userdb_format_time(int64_t t, char out[USERDB_TIME_LEN + 1])
{
    struct tm tm;
    time_t    tt = (time_t)t;
    int       n;

    if (t < 0 || t > USERDB_TIME_MAX || gmtime_r(&tt, &tm) == NULL) {
        errno = EINVAL;
        return -1;
    }
    n = snprintf(out, USERDB_TIME_LEN + 1, "%04d-%02d-%02dT%02d:%02d:%02dZ",
        tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
        tm.tm_sec);
    if (n != USERDB_TIME_LEN) {
        errno = EINVAL;
        return -1;
    }
    return 0;
}

int
userdb_parse_time(const char *s, int64_t *t)
{
    if (userdb_time_parse(s, strlen(s), t) == -1) {
        errno = EINVAL;
        return -1;
    }
    return 0;
}

const char *
userdb_role_name(int role)
{
    if (role == USERDB_ROLE_ADMIN)
        return "admin";
    if (role == USERDB_ROLE_USER)
        return "user";
    return NULL;
}

/* ---- errors ----------------------------------------------------------- */

/* Formats db->err; keeps errno; returns -1. */
static int
userdb_fail(struct userdb *db, const char *fmt, ...)
{
    va_list ap;
    int     saved = errno;

    /* A message cut at USERDB_ERR_LEN still says what failed. */
    va_start(ap, fmt);
    vsnprintf(db->err, sizeof(db->err), fmt, ap);
    va_end(ap);
    errno = saved;
    return -1;
}

/* The reason a field is refused, into why; returns -1. */
static int
userdb_why(char *why, size_t whylen, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(why, whylen, fmt, ap);
    va_end(ap);
    return -1;
}

static void
userdb_copy_err(const struct userdb *db, char *err, size_t errlen)
{
    if (err != NULL && errlen > 0)
        snprintf(err, errlen, "%s", db->err);
}

/* ---- locking ---------------------------------------------------------- */

static struct userdb *
userdb_new(const char *dir, enum userdb_lockfile lockmode, char *err,
    size_t errlen)
{
    struct userdb   *db;
    struct timespec  ts;
    int              n;

    if ((db = calloc(1, sizeof(*db))) == NULL) {
        if (err != NULL && errlen > 0)
            snprintf(err, errlen, "%s: %s", dir, strerror(errno));
        return NULL;
    }
    db->lockfd = -1;
    db->lockmode = lockmode;
    userdb_ix_init(&db->ix);
    /* The lock path is the longest: if it fits, the others do. */
    n = snprintf(db->lockpath, sizeof(db->lockpath), "%s/users.db.lock", dir);
    if (n < 0 || (size_t)n >= sizeof(db->lockpath)) {
        errno = ENAMETOOLONG;
        if (err != NULL && errlen > 0)
            snprintf(err, errlen, "%s: %s", dir, strerror(errno));
        userdb_close(db);
        return NULL;
    }
    snprintf(db->dir, sizeof(db->dir), "%s", dir);
    snprintf(db->path, sizeof(db->path), "%s/users.db", dir);
    snprintf(db->tmppath, sizeof(db->tmppath), "%s/users.db.tmp", dir);
    /* The hash key only has to be unknown to users choosing emails. */
    if (getrandom(db->key, sizeof(db->key), GRND_NONBLOCK) !=
        (ssize_t)sizeof(db->key)) {
        clock_gettime(CLOCK_MONOTONIC, &ts);
        db->key[0] ^= (uint64_t)ts.tv_nsec * UINT64_C(0x9e3779b97f4a7c15);
        db->key[1] ^= (uint64_t)getpid() ^ (uint64_t)(uintptr_t)db;
    }
    if (userdb_lock_fd(db) == -1) {
        userdb_copy_err(db, err, errlen);
        userdb_close(db);
        return NULL;
    }
    return db;
}

/*
 * Makes db->lockfd a descriptor of this process's own.  After fork(2) the
 * inherited one shares its open file description, and so its locks, with
 * the parent: the child opens the file again.  On a read-only file system
 * the handle can still read: it keeps a read-only descriptor and refuses
 * exclusive locks with the error the read-write open got.
 */
static int
userdb_lock_fd(struct userdb *db)
{
    int fd, flags;

    if (db->lockfd != -1 && db->lockpid == getpid())
        return 0;
    if (db->lockfd != -1) {
        /* Closing the inherited copy drops no lock: the parent holds the
         * description open. */
        close(db->lockfd);
        db->lockfd = -1;
    }
    db->nolock = 0;
    db->lock_wr_errno = 0;
    if (db->lockmode == USERDB_LOCKFILE_IF_EXISTS)
        flags = O_RDONLY;
    else
        flags = O_RDWR | O_CREAT;
    fd = open(db->lockpath, flags | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd == -1 && (flags & O_RDWR) && (errno == EROFS || errno == EACCES)) {
        db->lock_wr_errno = errno;
        fd = open(db->lockpath, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    }
    if (fd == -1) {
        if (db->lockmode == USERDB_LOCKFILE_IF_EXISTS && errno == ENOENT) {
            /* Nobody has opened this database: nobody to exclude. */
            db->nolock = 1;
            db->lockpid = getpid();
            return 0;
        }
        return userdb_fail(db, "%s: %s", db->lockpath, strerror(errno));
    }
    db->lockfd = fd;
    db->lockpid = getpid();
    return 0;
}

/* Waits for a shared (F_RDLCK) or exclusive (F_WRLCK) lock. */
static int
userdb_lock(struct userdb *db, short type)
{
    struct flock fl;

    if (userdb_lock_fd(db) == -1)
        return -1;
    if (db->nolock)
        return 0;
    if (type == F_WRLCK && db->lock_wr_errno != 0) {
        errno = db->lock_wr_errno;
        return userdb_fail(db, "%s: %s", db->lockpath, strerror(errno));
    }
    memset(&fl, 0, sizeof(fl));
    fl.l_type = type;
    fl.l_whence = SEEK_SET;
    while (fcntl(db->lockfd, F_OFD_SETLKW, &fl) == -1) {
        if (errno != EINTR)
            return userdb_fail(db, "%s: lock: %s", db->lockpath,
                strerror(errno));
    }
    return 0;
}

static void
userdb_unlock(struct userdb *db)
{
    struct flock fl;
    int          saved = errno;

    if (db->lockfd == -1 || db->nolock)
        return;
    memset(&fl, 0, sizeof(fl));
    fl.l_type = F_UNLCK;
    fl.l_whence = SEEK_SET;
    if (fcntl(db->lockfd, F_OFD_SETLK, &fl) == -1) {
        /* Not expected on a valid descriptor; closing the description
         * drops the lock for certain, the next lock opens it again. */
        log_msg(LOG_ERR, "userdb_unlock: %s: %s", db->lockpath,
            strerror(errno));
        close(db->lockfd);
        db->lockfd = -1;
    }
    errno = saved;
}

/* ---- loading ---------------------------------------------------------- */

/* Brings db->ix up to the file; the caller holds a lock. */
static int
userdb_load(struct userdb *db, int flags)
{
    struct userdb_index  nix;
    struct stat          st;
    int                  fd;

    if ((fd = open(db->path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) == -1)
        return userdb_fail(db, "%s: %s", db->path, strerror(errno));
    if (fstat(fd, &st) == -1) {
        userdb_fail(db, "%s: %s", db->path, strerror(errno));
        close(fd);
        return -1;
    }
    if (db->ix.fd != -1 && st.st_dev == db->ix.dev &&
        st.st_ino == db->ix.ino && (uint64_t)st.st_size >= db->ix.end) {
        close(fd);
        if (!userdb_ix_same(&db->ix, &st) &&
            userdb_ix_extend(db, &st) == -1)
            return -1;
    } else {
        if (userdb_ix_build(db, fd, &st, &nix) == -1)
            return -1;
        userdb_ix_free(&db->ix);
        db->ix = nix;
    }
    return userdb_torn(db, flags);
}

/* Deals with bytes after the last LF, according to flags. */
static int
userdb_torn(struct userdb *db, int flags)
{
    struct userdb_index *ix = &db->ix;
    size_t               torn = ix->size - ix->end;

    if (torn == 0) {
        db->warned_torn = 0;
        return 0;
    }
    if (flags & USERDB_LOAD_STRICT) {
        errno = EBADMSG;
        return userdb_fail(db, "%s:%zu: torn last line (%zu bytes without "
            "a line end)", db->path, ix->nlines + 2, torn);
    }
    if (flags & USERDB_LOAD_REPAIR)
        return userdb_cut_torn(db);
    if (db->warned_torn != ix->size) {
        log_msg(LOG_WARNING, "userdb: %s:%zu: ignoring a torn last line (%zu "
            "bytes without a line end) left by an interrupted write",
            db->path, ix->nlines + 2, torn);
        db->warned_torn = ix->size;
    }
    return 0;
}

/*
 * Truncates the torn line away, under the exclusive lock.  It was never
 * acknowledged: whoever wrote it died or failed before fdatasync returned.
 * No reader indexed those bytes, so none will touch them.
 */
static int
userdb_cut_torn(struct userdb *db)
{
    struct userdb_index *ix = &db->ix;
    struct stat          st;
    size_t               torn = ix->size - ix->end;
    int                  fd;

    if ((fd = open(db->path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW)) == -1)
        return userdb_fail(db, "%s: %s", db->path, strerror(errno));
    if (ftruncate(fd, (off_t)ix->end) == -1 || fdatasync(fd) == -1 ||
        fstat(fd, &st) == -1) {
        userdb_fail(db, "%s: cannot remove a torn last line: %s", db->path,
            strerror(errno));
        close(fd);
        return -1;
    }
    if (close(fd) == -1)
        return userdb_fail(db, "%s: %s", db->path, strerror(errno));
    log_msg(LOG_WARNING, "userdb: %s:%zu: removed a torn last line (%zu bytes "
        "without a line end) left by an interrupted write", db->path,
        ix->nlines + 2, torn);
    ix->size = ix->end;
    ix->mtime = st.st_mtim;
    ix->ctime = st.st_ctim;
    db->warned_torn = 0;
    return 0;
}

/* A header-only users.db, through users.db.tmp; exclusive lock held. */
static int
userdb_create_file(struct userdb *db)
{
    int fd;

    if ((fd = userdb_tmp_open(db)) == -1)
        return -1;
    if (userdb_write_all(fd, USERDB_HEADER, USERDB_HEADER_LEN) == -1) {
        userdb_fail(db, "%s: %s", db->tmppath, strerror(errno));
        userdb_tmp_abort(db, fd);
        return -1;
    }
    return userdb_tmp_commit(db, fd);
}

/* ---- writing ---------------------------------------------------------- */

/*
 * Appends one line to the file db->ix indexes, exclusive lock held.  One
 * write(2) does it in practice; a short one is continued (nothing can
 * interleave under the lock) so the error reported is the system's own,
 * ENOSPC, EDQUOT or EFBIG.  Any failure, fdatasync's included, cuts the
 * file back to its old size: the line was never acknowledged.
 */
static int
userdb_append(struct userdb *db, const char *line, size_t len)
{
    struct stat st;
    int         fd, saved;

    if ((fd = open(db->path, O_WRONLY | O_APPEND | O_CLOEXEC | O_NOFOLLOW)) ==
        -1)
        return userdb_fail(db, "%s: %s", db->path, strerror(errno));
    if (fstat(fd, &st) == -1) {
        userdb_fail(db, "%s: %s", db->path, strerror(errno));
        close(fd);
        return -1;
    }
    if (st.st_dev != db->ix.dev || st.st_ino != db->ix.ino) {
        /* Replaced under the lock: not by userdb. */
        close(fd);
        errno = ESTALE;
        return userdb_fail(db, "%s: replaced while locked", db->path);
    }
    if (userdb_write_all(fd, line, len) == -1 || fdatasync(fd) == -1) {
        saved = errno;
        if (ftruncate(fd, st.st_size) == -1)
            log_msg(LOG_ERR, "userdb_append: %s: cannot take back a partial "
                "line (it will be dropped as torn): %s", db->path,
                strerror(errno));
        close(fd);
        errno = saved;
        return userdb_fail(db, "%s: %s", db->path, strerror(errno));
    }
    /* The line is on disk since fdatasync returned; close cannot lose it. */
    close(fd);
    return 0;
}

/* Update (u != NULL) or delete the user email, with one rewrite; an
 * update only while the stored hash is expect, when that is not NULL. */
static int
userdb_change(struct userdb *db, const char *email, int flags,
    const struct userdb_user *u, const char *expect)
{
    struct userdb_user   old;
    struct userdb_line   one;
    const char          *rec;
    char                 line[USERDB_LINE_MAX + 1];
    size_t               i, reclen, start;
    int                  len = 0, rc = -1;

    if (userdb_lock(db, F_WRLCK) == -1)
        return -1;
    if (userdb_load(db, USERDB_LOAD_REPAIR) == -1)
        goto out;
    if (userdb_ix_lookup(db, email, &i) != 0) {
        rc = USERDB_NOT_FOUND;
        goto out;
    }
    if (userdb_ix_read(db, i, &old) == -1)
        goto out;
    if (expect != NULL && strcmp(old.hash, expect) != 0) {
        rc = USERDB_CHANGED;
        goto out;
    }
    if ((flags & USERDB_KEEP_ADMIN) && old.role == USERDB_ROLE_ADMIN &&
        (u == NULL || u->role != USERDB_ROLE_ADMIN) && db->ix.nadmins <= 1) {
        rc = USERDB_LAST_ADMIN;
        goto out;
    }
    if (u != NULL && (len = userdb_format_line(u, old.created_at, line,
        sizeof(line))) == -1) {
        userdb_fail(db, "cannot format the record: %s", strerror(errno));
        goto out;
    }
    userdb_ix_record(&db->ix, i, &rec, &reclen);
    start = (size_t)(rec - db->ix.map);
    one.line = line;
    one.len = (size_t)len;
    rc = userdb_rewrite(db, start, start + reclen + 1, userdb_write_line, &one);
out:
    userdb_unlock(db);
    return rc;
}

/*
 * The one way users.db is rewritten (an update, a delete, an import):
 * under the exclusive lock the caller holds, users.db.tmp gets the indexed
 * bytes [0, start), what emit writes, then [stop, end); it is synced,
 * renamed over users.db and the directory synced; then the view is
 * reloaded.  0, or -1 with the reason in db and nothing changed.
 */
static int
userdb_rewrite(struct userdb *db, size_t start, size_t stop,
    int (*emit)(int fd, void *arg), void *arg)
{
    int fd;

    if ((fd = userdb_tmp_open(db)) == -1)
        return -1;
    if (userdb_write_all(fd, db->ix.map, start) == -1 || emit(fd, arg) == -1 ||
        userdb_write_all(fd, db->ix.map + stop, db->ix.end - stop) == -1) {
        userdb_fail(db, "%s: %s", db->tmppath, strerror(errno));
        userdb_tmp_abort(db, fd);
        return -1;
    }
    if (userdb_tmp_commit(db, fd) == -1)
        return -1;
    if (userdb_load(db, 0) == -1)
        log_msg(LOG_WARNING, "userdb_rewrite: %s", db->err);
    return 0;
}

/* userdb_rewrite's emit for a change: one line, or none for a delete. */
static int
userdb_write_line(int fd, void *arg)
{
    const struct userdb_line *one = arg;

    return userdb_write_all(fd, one->line, one->len);
}

static int
userdb_tmp_open(struct userdb *db)
{
    int fd;

    fd = open(db->tmppath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC |
        O_NOFOLLOW, 0600);
    if (fd == -1)
        return userdb_fail(db, "%s: %s", db->tmppath, strerror(errno));
    /* Whatever the umask, or a stale tmp file, left. */
    if (fchmod(fd, 0600) == -1) {
        userdb_fail(db, "%s: %s", db->tmppath, strerror(errno));
        userdb_tmp_abort(db, fd);
        return -1;
    }
    return fd;
}

static void
userdb_tmp_abort(struct userdb *db, int fd)
{
    int saved = errno;

    if (fd != -1)
        close(fd);
    unlink(db->tmppath);
    errno = saved;
}

/* fsync, rename over users.db, fsync the directory. */
static int
userdb_tmp_commit(struct userdb *db, int fd)
{
    int dfd;

    if (fsync(fd) == -1) {
        userdb_fail(db, "%s: fsync: %s", db->tmppath, strerror(errno));
        userdb_tmp_abort(db, fd);
        return -1;
    }
    if (close(fd) == -1) {
        userdb_fail(db, "%s: %s", db->tmppath, strerror(errno));
        userdb_tmp_abort(db, -1);
        return -1;
    }
    if (rename(db->tmppath, db->path) == -1) {
        userdb_fail(db, "%s: rename: %s", db->tmppath, strerror(errno));
        userdb_tmp_abort(db, -1);
        return -1;
    }
    if ((dfd = open(db->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1 ||
        fsync(dfd) == -1) {
        /* The change is visible already, only not certain to last. */
        userdb_fail(db, "%s: fsync: %s (the change is made but may not "
            "survive a crash)", db->dir, strerror(errno));
        if (dfd != -1)
            close(dfd);
        return -1;
    }
    close(dfd);
    return 0;
}

static int
userdb_write_all(int fd, const char *p, size_t len)
{
    ssize_t n;

    while (len > 0) {
        if ((n = write(fd, p, len)) == -1) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        if (n == 0) {
            errno = EIO;
            return -1;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* ---- the index -------------------------------------------------------- */

static void
userdb_ix_init(struct userdb_index *ix)
{
    memset(ix, 0, sizeof(*ix));
    ix->fd = -1;
}

static void
userdb_ix_free(struct userdb_index *ix)
{
    int saved = errno;

    if (ix->map != NULL)
        munmap(ix->map, ix->maplen);
    if (ix->fd != -1)
        close(ix->fd);
    free(ix->lines);
    free(ix->slots);
    userdb_ix_init(ix);
    errno = saved;
}

/*
 * Whether st is the file ix indexed, with no torn line.  A view with a torn
 * line always looks again: after a repair cut it and an append of the same
 * length, only the times would differ, and some file systems keep coarse
 * ones.
 */
static int
userdb_ix_same(const struct userdb_index *ix, const struct stat *st)
{
    return ix->fd != -1 && st->st_dev == ix->dev && st->st_ino == ix->ino &&
        (uint64_t)st->st_size == ix->size && ix->end == ix->size &&
        st->st_mtim.tv_sec == ix->mtime.tv_sec &&
        st->st_mtim.tv_nsec == ix->mtime.tv_nsec &&
        st->st_ctim.tv_sec == ix->ctime.tv_sec &&
        st->st_ctim.tv_nsec == ix->ctime.tv_nsec;
}

/* A new index of the file open on fd, which it takes over. */
static int
userdb_ix_build(struct userdb *db, int fd, const struct stat *st,
    struct userdb_index *ix)
{
    const char  *nl;
    size_t       len;

    userdb_ix_init(ix);
    ix->fd = fd;
    if (!S_ISREG(st->st_mode)) {
        errno = EBADMSG;
        userdb_fail(db, "%s: not a regular file", db->path);
        goto fail;
    }
    if (st->st_size == 0) {
        errno = EBADMSG;
        userdb_fail(db, "%s:1: empty file (expected the header \"%.*s\")",
            db->path, (int)USERDB_HEADER_LEN - 1, USERDB_HEADER);
        goto fail;
    }
    if ((uint64_t)st->st_size > SIZE_MAX) {
        errno = EFBIG;
        userdb_fail(db, "%s: %s", db->path, strerror(errno));
        goto fail;
    }
    ix->maplen = (size_t)st->st_size;
    ix->map = mmap(NULL, ix->maplen, PROT_READ, MAP_SHARED, fd, 0);
    if (ix->map == MAP_FAILED) {
        ix->map = NULL;
        userdb_fail(db, "%s: mmap: %s", db->path, strerror(errno));
        goto fail;
    }
    nl = memchr(ix->map, '\n', ix->maplen);
    len = nl != NULL ? (size_t)(nl - ix->map) : ix->maplen;
    if (nl == NULL || len != USERDB_HEADER_LEN - 1 ||
        memcmp(ix->map, USERDB_HEADER, len) != 0) {
        errno = EBADMSG;
        if (nl != NULL && userdb_header_version(ix->map, len))
            userdb_fail(db, "%s:1: unsupported format version %.*s (this "
                "userapid reads version 1)", db->path,
                (int)(len - USERDB_MAGIC_LEN), ix->map + USERDB_MAGIC_LEN);
        else
            userdb_fail(db, "%s:1: bad header (expected \"%.*s\")", db->path,
                (int)USERDB_HEADER_LEN - 1, USERDB_HEADER);
        goto fail;
    }
    ix->end = USERDB_HEADER_LEN;
    if (userdb_ix_lines(db, ix, ix->maplen) == -1)
        goto fail;
    ix->dev = st->st_dev;
    ix->ino = st->st_ino;
    ix->size = ix->maplen;
    ix->mtime = st->st_mtim;
    ix->ctime = st->st_ctim;
    return 0;

fail:
    userdb_ix_free(ix);
    return -1;
}

/* The same inode changed size: index what follows db->ix.end. */
static int
userdb_ix_extend(struct userdb *db, const struct stat *st)
{
    struct userdb_index *ix = &db->ix;
    size_t               size = (size_t)st->st_size;
    void                *p;

    if (size != ix->maplen) {
        p = mremap(ix->map, ix->maplen, size, MREMAP_MAYMOVE);
        if (p == MAP_FAILED)
            return userdb_fail(db, "%s: mremap: %s", db->path,
                strerror(errno));
        ix->map = p;
        ix->maplen = size;
    }
    if (userdb_ix_lines(db, ix, size) == -1)
        return -1;
    ix->size = size;
    ix->mtime = st->st_mtim;
    ix->ctime = st->st_ctim;
    return 0;
}

/*
 * Indexes the whole lines in map[end..to).  All of them or, on a malformed
 * or duplicate line, none: the arrays are sized first, and the lines
 * indexed so far are taken back.
 */
static int
userdb_ix_lines(struct userdb *db, struct userdb_index *ix, size_t to)
{
    struct userdb_fields     f;
    char                     why[USERDB_WHY_LEN];
    const char              *p, *nl, *stop;
    size_t                   count = 0, n0 = ix->nlines, a0 = ix->nadmins;
    size_t                   end0 = ix->end, pos, len, lineno;

    stop = ix->map + to;
    for (p = ix->map + ix->end; p < stop &&
        (nl = memchr(p, '\n', (size_t)(stop - p))) != NULL; p = nl + 1)
        count++;
    if (count == 0)
        return 0;
    if (count > USERDB_RECORDS_MAX - ix->nlines) {
        errno = EFBIG;
        return userdb_fail(db, "%s: too many users", db->path);
    }
    if (userdb_ix_reserve(db, ix, ix->nlines + count) == -1)
        return -1;
    for (p = ix->map + ix->end; count > 0; count--, p = nl + 1) {
        nl = memchr(p, '\n', (size_t)(stop - p));
        len = (size_t)(nl - p);
        if (userdb_parse_line(p, len, &f, why, sizeof(why)) == -1)
            goto bad;
        pos = userdb_ix_slot(db, ix, f.email, f.email_len);
        if (ix->slots[pos] != 0) {
            snprintf(why, sizeof(why), "duplicate email (first on line %zu)",
                (size_t)ix->slots[pos] + 1);
            goto bad;
        }
        ix->slots[pos] = (uint32_t)(ix->nlines + 1);
        ix->lines[ix->nlines++] = (uint64_t)(p - ix->map);
        ix->end = (size_t)(nl + 1 - ix->map);
        if (f.role == USERDB_ROLE_ADMIN)
            ix->nadmins++;
    }
    return 0;

bad:
    lineno = ix->nlines + 2;
    userdb_ix_unindex(db, ix, n0);
    ix->nadmins = a0;
    ix->end = end0;
    errno = EBADMSG;
    return userdb_fail(db, "%s:%zu: %s", db->path, lineno, why);
}

/* Room for n records: the line array and a table at most half full. */
static int
userdb_ix_reserve(struct userdb *db, struct userdb_index *ix, size_t n)
{
    uint64_t    *lines;
    uint32_t    *slots;
    size_t       cap, nslots, i, pos, len;

    if (n > ix->linecap) {
        cap = ix->linecap > 0 ? ix->linecap : 1024;
        while (cap < n)
            cap *= 2;
        if ((lines = realloc(ix->lines, cap * sizeof(*lines))) == NULL)
            return userdb_fail(db, "%s: %s", db->path, strerror(errno));
        ix->lines = lines;
        ix->linecap = cap;
    }
    for (nslots = 16; nslots < 2 * n; nslots *= 2)
        ;
    if (nslots <= ix->nslots)
        return 0;
    if ((slots = calloc(nslots, sizeof(*slots))) == NULL)
        return userdb_fail(db, "%s: %s", db->path, strerror(errno));
    /* Re-inserted in record order: the table is what inserting records
     * 0..n-1 one by one gives, which userdb_ix_unindex relies on. */
    for (i = 0; i < ix->nlines; i++) {
        len = userdb_ix_email_len(ix, i);
        pos = userdb_siphash(db->key, ix->map + ix->lines[i], len) &
            (nslots - 1);
        while (slots[pos] != 0)
            pos = (pos + 1) & (nslots - 1);
        slots[pos] = (uint32_t)(i + 1);
    }
    free(ix->slots);
    ix->slots = slots;
    ix->nslots = nslots;
    return 0;
}

/* Takes back the records from n on, newest first. */
static void
userdb_ix_unindex(struct userdb *db, struct userdb_index *ix, size_t n)
{
    size_t pos;

    while (ix->nlines > n) {
        ix->nlines--;
        pos = userdb_ix_slot(db, ix, ix->map + ix->lines[ix->nlines],
            userdb_ix_email_len(ix, ix->nlines));
        ix->slots[pos] = 0;
    }
}

/* The slot holding email (which has no TAB), or the empty slot where it
 * would go.  The table is never full, so the probe ends. */
static size_t
userdb_ix_slot(const struct userdb *db, const struct userdb_index *ix,
    const char *email, size_t len)
{
    const char  *rec;
    size_t       mask = ix->nslots - 1, pos, reclen;
    uint32_t     s;

    pos = userdb_siphash(db->key, email, len) & mask;
    while ((s = ix->slots[pos]) != 0) {
        userdb_ix_record(ix, s - 1, &rec, &reclen);
        if (reclen > len && rec[len] == '\t' && memcmp(rec, email, len) == 0)
            return pos;
        pos = (pos + 1) & mask;
    }
    return pos;
}

/* Record i's line without its LF. */
static void
userdb_ix_record(const struct userdb_index *ix, size_t i, const char **p,
    size_t *len)
{
    size_t next = i + 1 < ix->nlines ? ix->lines[i + 1] : ix->end;

    *p = ix->map + ix->lines[i];
    *len = next - ix->lines[i] - 1;
}

static size_t
userdb_ix_email_len(const struct userdb_index *ix, size_t i)
{
    const char  *rec, *tab;
    size_t       len;

    userdb_ix_record(ix, i, &rec, &len);
    tab = memchr(rec, '\t', len);
    return tab != NULL ? (size_t)(tab - rec) : len;
}

/* 0 and *i the record of email, or -1. */
static int
userdb_ix_lookup(const struct userdb *db, const char *email, size_t *i)
{
    char    why[USERDB_WHY_LEN];
    size_t  len, pos;

    if (db->ix.nlines == 0)
        return -1;
    /* Only what could be stored: userdb_ix_slot compares up to a TAB, so
     * "EMAIL\tROLE" would otherwise match the start of EMAIL's line. */
    len = strnlen(email, USERDB_EMAIL_MAX + 1);
    if (userdb_email_ok(email, len, why, sizeof(why)) == -1)
        return -1;
    pos = userdb_ix_slot(db, &db->ix, email, len);
    if (db->ix.slots[pos] == 0)
        return -1;
    *i = db->ix.slots[pos] - 1;
    return 0;
}

static int
userdb_ix_read(struct userdb *db, size_t i, struct userdb_user *out)
{
    struct userdb_fields     f;
    const char              *rec;
    char                     why[USERDB_WHY_LEN];
    size_t                   len;

    userdb_ix_record(&db->ix, i, &rec, &len);
    if (userdb_parse_line(rec, len, &f, why, sizeof(why)) == -1) {
        /* Validated when indexed: someone wrote over the file. */
        errno = EBADMSG;
        return userdb_fail(db, "%s:%zu: %s (changed in place)", db->path,
            i + 2, why);
    }
    memcpy(out->email, f.email, f.email_len);
    out->email[f.email_len] = '\0';
    out->role = f.role;
    out->created_at = f.created_at;
    memcpy(out->hash, f.hash, f.hash_len);
    out->hash[f.hash_len] = '\0';
    return 0;
}

/* ---- the format ------------------------------------------------------- */

/* Splits and validates one line (without its LF). */
static int
userdb_parse_line(const char *p, size_t len, struct userdb_fields *f,
    char *why, size_t whylen)
{
    const char  *field[4], *tab, *end = p + len;
    size_t       flen[4];
    char         q[64];
    int          n = 0;

    if (len == 0)
        return userdb_why(why, whylen, "empty line");
    for (;;) {
        tab = memchr(p, '\t', (size_t)(end - p));
        if (n < 4) {
            field[n] = p;
            flen[n] = (size_t)((tab != NULL ? tab : end) - p);
        }
        n++;
        if (tab == NULL)
            break;
        p = tab + 1;
    }
    if (n != 4)
        return userdb_why(why, whylen, "expected 4 TAB-separated fields "
            "(email, role, created_at, hash), found %d", n);
    if (userdb_email_ok(field[0], flen[0], why, whylen) == -1)
        return -1;
    if ((f->role = userdb_role_parse(field[1], flen[1])) == 0) {
        userdb_quote(field[1], flen[1], q, sizeof(q));
        return userdb_why(why, whylen, "bad role%s (expected admin or user)",
            q);
    }
    if (userdb_time_parse(field[2], flen[2], &f->created_at) == -1) {
        userdb_quote(field[2], flen[2], q, sizeof(q));
        return userdb_why(why, whylen, "bad created_at%s (expected "
            "YYYY-MM-DDTHH:MM:SSZ)", q);
    }
    if (userdb_hash_ok(field[3], flen[3], why, whylen) == -1)
        return -1;
    f->email = field[0];
    f->email_len = flen[0];
    f->hash = field[3];
    f->hash_len = flen[3];
    return 0;
}

static int
userdb_email_ok(const char *p, size_t len, char *why, size_t whylen)
{
    size_t          i;
    unsigned char   c;

    if (len == 0)
        return userdb_why(why, whylen, "bad email: empty");
    if (len > USERDB_EMAIL_MAX)
        return userdb_why(why, whylen, "bad email: longer than %d bytes",
            USERDB_EMAIL_MAX);
    for (i = 0; i < len; i++) {
        c = (unsigned char)p[i];
        if (c < 0x20 || c == 0x7f)
            return userdb_why(why, whylen, "bad email: control character");
        if (c >= 0x80)
            return userdb_why(why, whylen, "bad email: not ASCII");
        if (c >= 'A' && c <= 'Z')
            return userdb_why(why, whylen, "bad email: upper-case letter "
                "(emails are stored lower-case)");
    }
    if (!userdb_email_valid(p, len))
        return userdb_why(why, whylen, "bad email: not an address");
    return 0;
}

/* ASCII letters and digits, whatever the locale says. */
static int
userdb_alnum(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
        (c >= '0' && c <= '9');
}

int
userdb_email_valid(const char *s, size_t len)
{
    const char *at = NULL;
    size_t      i, label = 0;

    if (len < 3 || len > USERDB_EMAIL_MAX)
        return 0;
    for (i = 0; i < len; i++)
        if (s[i] == '@') {
            if (at != NULL)
                return 0;
            at = s + i;
        }
    if (at == NULL || at == s || at - s > 64 || at == s + len - 1)
        return 0;
    /* Local part: the unquoted atext of RFC 5322, dots not at the ends
     * nor doubled. */
    if (s[0] == '.' || at[-1] == '.')
        return 0;
    for (i = 0; s + i < at; i++) {
        unsigned char c = (unsigned char)s[i];

        if (c == '.' && s[i + 1] == '.')
            return 0;
        /* strchr finds the terminator too: NUL needs its own test. */
        if (c == '\0' ||
            (!userdb_alnum(c) && strchr(".!#$%&'*+/=?^_`{|}~-", c) == NULL))
            return 0;
    }
    /* Domain: letters, digits and hyphens in dot-separated labels. */
    for (i = (size_t)(at - s) + 1; i <= len; i++) {
        unsigned char c = i < len ? (unsigned char)s[i] : '.';

        if (c == '.') {
            if (label == 0 || label > 63 || s[i - 1] == '-')
                return 0;
            label = 0;
            continue;
        }
        if (!userdb_alnum(c) && c != '-')
            return 0;
        if (label == 0 && c == '-')
            return 0;
        label++;
    }
    return 1;
}


static int
userdb_hash_ok(const char *p, size_t len, char *why, size_t whylen)
{
    size_t          i;
    unsigned char   c;

    if (len == 0)
        return userdb_why(why, whylen, "bad hash: empty");
    if (len > USERDB_HASH_MAX)
        return userdb_why(why, whylen, "bad hash: longer than %d bytes",
            USERDB_HASH_MAX);
    if (p[0] != '$')
        return userdb_why(why, whylen, "bad hash: not a crypt(3) string "
            "(no leading '$')");
    for (i = 0; i < len; i++) {
        c = (unsigned char)p[i];
        if (c <= 0x20 || c >= 0x7f || c == ':')
            return userdb_why(why, whylen, "bad hash: space, ':' or "
                "non-printable byte");
    }
    return 0;
}

int
userdb_role_parse(const char *p, size_t len)
{
    if (len == 5 && memcmp(p, "admin", 5) == 0)
        return USERDB_ROLE_ADMIN;
    if (len == 4 && memcmp(p, "user", 4) == 0)
        return USERDB_ROLE_USER;
    return 0;
}

/* Exactly "YYYY-MM-DDTHH:MM:SSZ", a real UTC time in years 1970..9999. */
static int
userdb_time_parse(const char *s, size_t len, int64_t *t)
{
    static const char   form[] = "dddd-dd-ddTdd:dd:ddZ";
    static const int    mdays[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31,
                            30, 31 };
    int                 v[USERDB_TIME_LEN], y, mo, d, h, mi, sec, leap;
    struct tm           tm;
    size_t              i;

    if (len != USERDB_TIME_LEN)
        return -1;
    for (i = 0; i < len; i++) {
        if (form[i] == 'd') {
            if (s[i] < '0' || s[i] > '9')
                return -1;
            v[i] = s[i] - '0';
        } else if (s[i] != form[i]) {
            return -1;
        }
    }
    y = v[0] * 1000 + v[1] * 100 + v[2] * 10 + v[3];
    mo = v[5] * 10 + v[6];
    d = v[8] * 10 + v[9];
    h = v[11] * 10 + v[12];
    mi = v[14] * 10 + v[15];
    sec = v[17] * 10 + v[18];
    leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (y < 1970 || mo < 1 || mo > 12 || d < 1 ||
        d > mdays[mo - 1] + (mo == 2 && leap) || h > 23 || mi > 59 ||
        sec > 59)
        return -1;
    memset(&tm, 0, sizeof(tm));
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = sec;
    *t = (int64_t)timegm(&tm);
    return 0;
}

/* " \"text\"" for a message when text is short and printable, else "". */
static void
userdb_quote(const char *p, size_t len, char *out, size_t outlen)
{
    size_t i;

    out[0] = '\0';
    if (len > 32)
        return;
    for (i = 0; i < len; i++)
        if (p[i] < 0x20 || p[i] > 0x7e || p[i] == '"')
            return;
    snprintf(out, outlen, " \"%.*s\"", (int)len, p);
}

/* Whether a header line is ours with another version: "userapid-users N". */
static int
userdb_header_version(const char *p, size_t len)
{
    size_t i;

    if (len <= USERDB_MAGIC_LEN || len > USERDB_MAGIC_LEN + 9 ||
        memcmp(p, USERDB_MAGIC, USERDB_MAGIC_LEN) != 0)
        return 0;
    for (i = USERDB_MAGIC_LEN; i < len; i++)
        if (p[i] < '0' || p[i] > '9')
            return 0;
    return 1;
}

/* Whether u may be written; created_at only when with_time. */
static int
userdb_user_ok(const struct userdb_user *u, int with_time, char *why,
    size_t whylen)
{
    size_t elen, hlen;

    elen = strnlen(u->email, sizeof(u->email));
    hlen = strnlen(u->hash, sizeof(u->hash));
    if (elen == sizeof(u->email))
        return userdb_why(why, whylen, "bad email: longer than %d bytes",
            USERDB_EMAIL_MAX);
    if (userdb_email_ok(u->email, elen, why, whylen) == -1)
        return -1;
    if (userdb_role_name(u->role) == NULL)
        return userdb_why(why, whylen, "bad role %d", u->role);
    if (with_time && (u->created_at < 0 || u->created_at > USERDB_TIME_MAX))
        return userdb_why(why, whylen, "bad created_at %lld (expected "
            "0..%lld)", (long long)u->created_at, (long long)USERDB_TIME_MAX);
    if (hlen == sizeof(u->hash))
        return userdb_why(why, whylen, "bad hash: longer than %d bytes",
            USERDB_HASH_MAX);
    return userdb_hash_ok(u->hash, hlen, why, whylen);
}

/* u's line with created_at, LF included; its length or -1. */
static int
userdb_format_line(const struct userdb_user *u, int64_t created_at,
    char *out, size_t outlen)
{
    char    t[USERDB_TIME_LEN + 1];
    int     n;

    if (userdb_format_time(created_at, t) == -1)
        return -1;
    n = snprintf(out, outlen, "%s\t%s\t%s\t%s\n", u->email,
        userdb_role_name(u->role), t, u->hash);
    if (n < 0 || (size_t)n >= outlen) {
        errno = EOVERFLOW;
        return -1;
    }
    return n;
}



/* SipHash-2-4 of p[0..len) under key k. */
static uint64_t
userdb_siphash(const uint64_t *k, const char *p, size_t len)
{
    uint64_t    v0 = UINT64_C(0x736f6d6570736575) ^ k[0];
    uint64_t    v1 = UINT64_C(0x646f72616e646f6d) ^ k[1];
    uint64_t    v2 = UINT64_C(0x6c7967656e657261) ^ k[0];
    uint64_t    v3 = UINT64_C(0x7465646279746573) ^ k[1];
    uint64_t    m, b = (uint64_t)len << 56;
    size_t      i, left = len & 7;
    int         r;

#define USERDB_ROTL(x, n)   (((x) << (n)) | ((x) >> (64 - (n))))
#define USERDB_SIPROUND do {                                            \
        v0 += v1; v1 = USERDB_ROTL(v1, 13); v1 ^= v0;                   \
        v0 = USERDB_ROTL(v0, 32);                                       \
        v2 += v3; v3 = USERDB_ROTL(v3, 16); v3 ^= v2;                   \
        v0 += v3; v3 = USERDB_ROTL(v3, 21); v3 ^= v0;                   \
        v2 += v1; v1 = USERDB_ROTL(v1, 17); v1 ^= v2;                   \
        v2 = USERDB_ROTL(v2, 32);                                       \
    } while (0)

    for (i = 0; i + 8 <= len; i += 8) {
        memcpy(&m, p + i, 8);
        m = le64toh(m);
        v3 ^= m;
        USERDB_SIPROUND;
        USERDB_SIPROUND;
        v0 ^= m;
    }
    for (r = (int)left - 1; r >= 0; r--)
        b |= (uint64_t)(unsigned char)p[i + (size_t)r] << (8 * r);
    v3 ^= b;
    USERDB_SIPROUND;
    USERDB_SIPROUND;
    v0 ^= b;
    v2 ^= 0xff;
    USERDB_SIPROUND;
    USERDB_SIPROUND;
    USERDB_SIPROUND;
    USERDB_SIPROUND;
    return v0 ^ v1 ^ v2 ^ v3;
#undef USERDB_SIPROUND
#undef USERDB_ROTL
}
