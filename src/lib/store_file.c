/* SPDX-License-Identifier: MIT */
/*
 * store_file.c - the file store: users.db, the session table and the
 * throttle file of the state directory, behind store.h.
 *
 * Invariants:
 *   - Every read of users starts with a refresh, so a change made by
 *     another process is seen (one stat(2) when there is none).
 *   - A user change is decided against the record as the file holds it
 *     under users.db's exclusive lock: the hash read before the change is
 *     the hash expected (userdb_update_if), so a role change never writes
 *     back a password that was replaced meanwhile; on such a race the
 *     change is made again on the new record.
 *   - The sessions follow a user change after users.db is written: a
 *     login made in between was made under users.db's shared lock for the
 *     record as it was, and is reached by the change afterwards.
 *   - Nothing here waits on anything but file locks.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "firstadmin.h"
#include "store_impl.h"

#define FILE_CHANGE_TRIES   8       /* a record changed under a role change */

struct store_file {
    struct store          st;       /* first: store.c's view */
    struct userdb        *db;       /* NULL with STORE_NO_USERS */
    struct session_table *sessions; /* NULL with STORE_NO_SESSIONS, or
                                       STORE_SESSIONS_IF_ANY and none */
    struct throttle      *throttle; /* NULL with STORE_NO_THROTTLE */
    struct session_cfg    scfg;
    struct throttle_limits limits;
    long                  reg_max;
    long                  reg_window;
};

static const struct store_ops file_ops;

static struct store_file *
file_of(struct store *st)
{
    return (struct store_file *)st;
}

/* Refreshes the view; -1 with the reason kept. */
static int
file_refresh(struct store_file *f)
{
    char err[USERDB_ERR_LEN];

    if (userdb_refresh(f->db, err, sizeof(err)) == -1) {
        store_why(&f->st, "%s", err);
        return -1;
    }
    return 0;
}

/* Keeps the reason of a failed userdb change. */
static int
file_db_failed(struct store_file *f)
{
    store_why(&f->st, "%s", userdb_errmsg(f->db));
    return -1;
}

static int
file_session_failed(struct store_file *f, const char *what)
{
    store_why(&f->st, "session table: %s: %s", what, strerror(errno));
    return -1;
}

/*
 * Whether the session table is to be opened: 1, or 0 with
 * STORE_NO_SESSIONS, or with STORE_SESSIONS_IF_ANY when there is none;
 * -1 with err.
 */
static int
file_sessions_wanted(const char *dir, int flags, char *err, size_t errlen)
{
    struct stat st;
    char        path[PATH_MAX];
    int         n;

    if (flags & STORE_NO_SESSIONS)
        return 0;
    if (!(flags & STORE_SESSIONS_IF_ANY))
        return 1;
    n = snprintf(path, sizeof(path), "%s/%s", dir, SESSION_FILE);
    if (n < 0 || (size_t)n >= sizeof(path)) {
        snprintf(err, errlen, "%s: path too long", dir);
        errno = ENAMETOOLONG;
        return -1;
    }
    if (lstat(path, &st) == 0)
        return 1;
    if (errno == ENOENT)
        return 0;
    snprintf(err, errlen, "%s: %s", path, strerror(errno));
    return -1;
}

static int
file_open_parts(struct store_file *f, const struct config *cfg, int flags,
    char *err, size_t errlen)
{
    int dbflags = 0, sflags = 0, want;

    if (flags & STORE_DAEMON)
        dbflags |= USERDB_CREATE | USERDB_REPAIR;
    if (flags & STORE_CREATE)
        dbflags |= USERDB_CREATE;
    if (!(flags & STORE_NO_USERS) && (f->db = userdb_open(cfg->state_dir,
        dbflags, err, errlen)) == NULL)
        return -1;
    if (flags & STORE_AS_IS)
        sflags |= SESSION_AS_IS;
    if ((want = file_sessions_wanted(cfg->state_dir, flags, err,
        errlen)) == -1)
        return -1;
    if (want && (f->sessions = session_open(cfg->state_dir, &f->scfg, sflags,
        err, errlen)) == NULL)
        return -1;
    if (!(flags & STORE_NO_THROTTLE) && (f->throttle = throttle_open(
        cfg->state_dir, flags & STORE_DAEMON ? THROTTLE_DAEMON : 0, err,
        errlen)) == NULL)
        return -1;
    return 0;
}

struct store *
store_file_open(const struct config *cfg, int flags, char *err, size_t errlen)
{
    struct store_file *f;
    int                e;

    if ((f = calloc(1, sizeof(*f))) == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    f->st.ops = &file_ops;
    f->st.kind = CONFIG_STORAGE_FILE;
    file_ops.configure(&f->st, cfg);
    if (file_open_parts(f, cfg, flags, err, errlen) == -1) {
        e = errno;
        file_ops.close(&f->st);
        errno = e;
        return NULL;
    }
    return &f->st;
}

static void
file_close(struct store *st)
{
    struct store_file *f = file_of(st);

    throttle_close(f->throttle);
    session_close(f->sessions);
    if (f->db != NULL)
        userdb_close(f->db);
    free(f);
}

static void
file_configure(struct store *st, const struct config *cfg)
{
    struct store_file *f = file_of(st);

    config_session(cfg, &f->scfg);
    f->limits.max_failures = cfg->login_max_failures;
    f->limits.window = cfg->login_window;
    f->limits.lockout = cfg->login_lockout;
    f->limits.account_max_failures = cfg->login_account_max_failures;
    f->reg_max = cfg->registration_max_per_ip;
    f->reg_window = cfg->registration_window;
}

/* ---- users ------------------------------------------------------------ */

static int
file_user_find(struct store *st, const char *email, struct userdb_user *out)
{
    struct store_file *f = file_of(st);
    int                rc;

    if (file_refresh(f) == -1)
        return -1;
    rc = userdb_find(f->db, email, out);
    if (rc == -1)
        return file_db_failed(f);
    return rc == USERDB_NOT_FOUND ? STORE_NOT_FOUND : 0;
}

static int
file_user_count(struct store *st, int role, size_t *n)
{
    struct store_file *f = file_of(st);

    if (file_refresh(f) == -1)
        return -1;
    *n = role == 0 ? userdb_count(f->db) : userdb_count_role(f->db, role);
    return 0;
}

static int
file_user_foreach(struct store *st,
    int (*fn)(const struct userdb_user *, void *), void *arg)
{
    struct store_file *f = file_of(st);
    struct userdb_user u;
    size_t             i, n;
    int                rc = 0;

    if (file_refresh(f) == -1)
        return -1;
    n = userdb_count(f->db);
    for (i = 0; i < n && rc == 0; i++) {
        if ((rc = userdb_get(f->db, i, &u)) == USERDB_NOT_FOUND) {
            rc = 0;
            continue;
        }
        if (rc == -1) {
            rc = file_db_failed(f);
            break;
        }
        rc = fn(&u, arg);
    }
    explicit_bzero(u.hash, sizeof(u.hash));
    return rc;
}

/*
 * Where the page after cursor `after` starts (users.db only appends, so
 * users keep their order): after the page's last user L, or at the user
 * N that was next when L is gone, or was deleted and made again (it is
 * then after N).  A cursor is "L,N" (no email holds a comma).  0 with
 * *start, or STORE_BAD_CURSOR.
 */
static int
file_page_start(struct store_file *f, const char *after, size_t *start)
{
    char        last[USERDB_EMAIL_MAX + 1];
    const char *comma;
    size_t      il = 0, in = 0, n;
    int         has_l, has_n;

    *start = 0;
    if (after == NULL)
        return 0;
    if ((comma = strchr(after, ',')) == NULL ||
        (n = (size_t)(comma - after)) == 0 || n > USERDB_EMAIL_MAX)
        return STORE_BAD_CURSOR;
    memcpy(last, after, n);
    last[n] = '\0';
    has_l = userdb_find_index(f->db, last, &il) == 0;
    has_n = userdb_find_index(f->db, comma + 1, &in) == 0;
    if (has_l && (!has_n || in > il))
        *start = il + 1;
    else if (has_n)
        *start = in;
    else
        return STORE_BAD_CURSOR;
    return 0;
}

/* A page walks from its start in the index: O(limit) without a prefix. */
static int
file_user_page(struct store *st, const char *after, const char *prefix,
    size_t limit, int (*fn)(const struct userdb_user *, void *), void *arg,
    char *next, size_t nextlen)
{
    struct store_file *f = file_of(st);
    struct userdb_user u;
    char               last[USERDB_EMAIL_MAX + 1] = "";
    size_t             i, n, got = 0, plen = strlen(prefix);
    int                rc;

    if (file_refresh(f) == -1)
        return -1;
    if ((rc = file_page_start(f, after, &i)) != 0)
        return rc;
    for (n = userdb_count(f->db); i < n && rc == 0; i++) {
        if ((rc = userdb_get(f->db, i, &u)) == USERDB_NOT_FOUND) {
            rc = 0;
            continue;
        }
        if (rc == -1) {
            rc = file_db_failed(f);
            break;
        }
        if (strncmp(u.email, prefix, plen) != 0)
            continue;
        if (got == limit) {
            snprintf(next, nextlen, "%s,%s", last, u.email);
            break;
        }
        if ((rc = fn(&u, arg)) == 0) {
            got++;
            snprintf(last, sizeof(last), "%s", u.email);
        }
    }
    explicit_bzero(u.hash, sizeof(u.hash));
    return rc;
}

static uint64_t
file_user_version(struct store *st)
{
    struct store_file *f = file_of(st);

    if (file_refresh(f) == -1)
        return 0;
    return userdb_view_version(f->db);
}

static int
file_user_add(struct store *st, const struct userdb_user *u)
{
    struct store_file *f = file_of(st);
    int                rc = userdb_add(f->db, u);

    if (rc == -1)
        return file_db_failed(f);
    return rc == USERDB_EXISTS ? STORE_EXISTS : 0;
}

static int
file_user_import(struct store *st, const struct userdb_user *u, size_t n,
    char *err, size_t errlen)
{
    struct store_file *f = file_of(st);
    int                rc = userdb_import(f->db, u, n, err, errlen);

    if (rc == -1) {
        store_why(st, "%s", err);
        return -1;
    }
    return rc == USERDB_EXISTS ? STORE_EXISTS : 0;
}

/* userdb's outcome of an update as the store's. */
static int
file_update_code(int rc)
{
    switch (rc) {
    case USERDB_NOT_FOUND:  return STORE_NOT_FOUND;
    case USERDB_LAST_ADMIN: return STORE_LAST_ADMIN;
    case USERDB_CHANGED:    return STORE_CHANGED;
    default:                return rc;
    }
}

/*
 * Writes c into users.db: the record as it is, with c's hash and role,
 * only while its hash is the one read (or c->expect).  0 with *u the new
 * record, or a STORE_* code, or -1.
 */
static int
file_update_user(struct store_file *f, const struct store_change *c,
    struct userdb_user *u)
{
    char seen[USERDB_HASH_MAX + 1];
    int  rc = USERDB_CHANGED, tries, flags;

    flags = c->flags & STORE_KEEP_ADMIN ? USERDB_KEEP_ADMIN : 0;
    for (tries = 0; rc == USERDB_CHANGED && tries < FILE_CHANGE_TRIES; tries++) {
        if (file_refresh(f) == -1)
            return -1;
        if ((rc = userdb_find(f->db, c->email, u)) != 0)
            break;
        memcpy(seen, u->hash, sizeof(seen));
        if (c->hash != NULL)
            snprintf(u->hash, sizeof(u->hash), "%s", c->hash);
        if (c->role != 0)
            u->role = c->role;
        rc = userdb_update_if(f->db, u, flags,
            c->expect != NULL ? c->expect : seen);
        /* A hash that was expected and moved on is the caller's answer;
         * one that only raced a role change is tried again. */
        if (c->expect != NULL)
            break;
    }
    explicit_bzero(seen, sizeof(seen));
    if (rc == -1)
        return file_db_failed(f);
    return file_update_code(rc);
}

static int
file_user_change(struct store *st, const struct store_change *c,
    struct store_changed *out)
{
    struct store_file *f = file_of(st);
    struct store_changed tmp, *o = out != NULL ? out : &tmp;
    int                rc;

    memset(o, 0, sizeof(*o));
    if ((rc = file_update_user(f, c, &o->user)) != 0)
        return rc;
    if (out == NULL)
        explicit_bzero(o->user.hash, sizeof(o->user.hash));
    if (f->sessions == NULL)
        return 0;
    if (c->role != 0 &&
        session_set_role(f->sessions, c->email, o->user.role) == -1)
        return file_session_failed(f, "role");
    if (c->hash != NULL && (o->ended = session_revoke_user(f->sessions,
        c->email, c->keep_token)) == -1) {
        o->ended = 0;
        return file_session_failed(f, "revoke");
    }
    return 0;
}

static int
file_user_delete(struct store *st, const char *email, int flags)
{
    struct store_file *f = file_of(st);
    int                rc;

    rc = userdb_delete(f->db, email,
        flags & STORE_KEEP_ADMIN ? USERDB_KEEP_ADMIN : 0);
    if (rc == -1)
        return file_db_failed(f);
    if (rc != 0)
        return file_update_code(rc);
    if (f->sessions != NULL &&
        session_revoke_user(f->sessions, email, NULL) == -1)
        return file_session_failed(f, "revoke");
    return 0;
}

/* Only the master adds the first admin, before any worker runs, so the
 * count cannot change between the look and the add. */
static int
file_first_admin(struct store *st, const char *hash, int64_t created_at)
{
    struct store_file *f = file_of(st);
    struct userdb_user u;
    int                rc;

    if (file_refresh(f) == -1)
        return -1;
    if (userdb_count(f->db) != 0)
        return 0;
    memset(&u, 0, sizeof(u));
    snprintf(u.email, sizeof(u.email), "%s", FIRSTADMIN_EMAIL);
    u.role = USERDB_ROLE_ADMIN;
    u.created_at = created_at;
    snprintf(u.hash, sizeof(u.hash), "%s", hash);
    rc = userdb_add(f->db, &u);
    explicit_bzero(u.hash, sizeof(u.hash));
    if (rc == -1)
        return file_db_failed(f);
    return rc == 0 ? 1 : 0;
}

/* ---- sessions --------------------------------------------------------- */

/*
 * Under users.db's shared lock, so no writer changes the record between
 * the look and the session: a change either came first (seen here) or
 * comes after the session exists (and reaches it).
 */
static int
file_session_login(struct store *st, const char *email, const char *verified,
    const char *addr, struct store_login *out)
{
    struct store_file *f = file_of(st);
    char               err[USERDB_ERR_LEN];
    size_t             len = strlen(verified);
    int                rc, same, e;

    if (userdb_hold(f->db, err, sizeof(err)) == -1) {
        store_why(st, "%s", err);
        return -1;
    }
    same = userdb_find(f->db, email, &out->user) == 0 &&
        strlen(out->user.hash) == len &&
        crypto_equal_ct(out->user.hash, verified, len);
    explicit_bzero(out->user.hash, sizeof(out->user.hash));
    rc = same ? session_create(f->sessions, out->user.email, out->user.role,
        addr, out->token, &out->expires_at) : STORE_CHANGED;
    e = errno;
    userdb_release(f->db);
    errno = e;
    if (rc == -1 && errno == EAGAIN)
        return STORE_FULL;
    if (rc == -1)
        return file_session_failed(f, "create");
    return rc;
}

static int
file_session_lookup(struct store *st, const char *token, size_t len,
    struct session_info *out)
{
    struct store_file *f = file_of(st);
    int                rc = session_lookup(f->sessions, token, len, out);

    if (rc == -1)
        return file_session_failed(f, "lookup");
    return rc == SESSION_NOT_FOUND ? STORE_NOT_FOUND : 0;
}

static int
file_session_revoke(struct store *st, const char *token, size_t len)
{
    struct store_file *f = file_of(st);
    int                rc = session_revoke(f->sessions, token, len);

    if (rc == -1)
        return file_session_failed(f, "revoke");
    return rc == SESSION_NOT_FOUND ? STORE_NOT_FOUND : 0;
}

static int
file_session_revoke_id(struct store *st, const char *email, const char *id)
{
    struct store_file *f = file_of(st);
    int                rc;

    if (f->sessions == NULL)
        return STORE_NOT_FOUND;
    if ((rc = session_revoke_id(f->sessions, email, id)) == -1)
        return file_session_failed(f, "revoke");
    return rc == SESSION_NOT_FOUND ? STORE_NOT_FOUND : 0;
}

static int
file_session_revoke_user(struct store *st, const char *email,
    const char *except_token)
{
    struct store_file *f = file_of(st);
    int                rc;

    if (f->sessions == NULL)
        return 0;
    if ((rc = session_revoke_user(f->sessions, email, except_token)) == -1)
        return file_session_failed(f, "revoke");
    return rc;
}

static int
file_session_foreach(struct store *st, const char *email,
    int (*fn)(const struct session_info *, void *), void *arg)
{
    struct store_file *f = file_of(st);
    int                rc;

    if (f->sessions == NULL)
        return 0;
    rc = session_foreach(f->sessions, email, fn, arg);
    if (rc == -1)
        return file_session_failed(f, "read");
    return rc;
}

static int
file_count_one(const struct session_info *s, void *arg)
{
    (void)s;
    (*(size_t *)arg)++;
    return 0;
}

static int
file_session_count(struct store *st, size_t *n)
{
    *n = 0;
    return file_session_foreach(st, NULL, file_count_one, n);
}

/* The session table ends expired sessions as it meets them, and the
 * throttle sweeps its own tables: nothing to do. */
static int
file_sweep(struct store *st, int max)
{
    (void)st;
    (void)max;
    return 0;
}

/* ---- login throttle ----------------------------------------------------- */

static long
file_login_begin(struct store *st, const char *email, const char *addr)
{
    struct store_file *f = file_of(st);

    if (f->throttle == NULL)
        return 0;
    return throttle_login_begin(f->throttle, email, addr, &f->limits);
}

static int
file_login_end(struct store *st, const char *email, const char *addr, int ok)
{
    struct store_file *f = file_of(st);

    if (f->throttle == NULL)
        return 0;
    return throttle_login_end(f->throttle, email, addr, ok, &f->limits);
}

static long
file_register(struct store *st, const char *addr)
{
    struct store_file *f = file_of(st);

    if (f->throttle == NULL)
        return 0;
    return throttle_register(f->throttle, addr, f->reg_max, f->reg_window);
}

static int
file_lockouts(struct store *st, struct throttle_lockout **out, size_t *n)
{
    struct store_file *f = file_of(st);

    *out = NULL;
    *n = 0;
    if (f->throttle == NULL)
        return 0;
    if (throttle_lockouts(f->throttle, out, n) == -1) {
        store_why(st, "throttle: %s", strerror(errno));
        return -1;
    }
    return 0;
}

static int
file_unlock(struct store *st, const char *key)
{
    struct store_file *f = file_of(st);

    if (f->throttle == NULL)
        return 0;
    return throttle_unlock(f->throttle, key);
}

static const struct store_ops file_ops = {
    .close = file_close,
    .configure = file_configure,
    .user_find = file_user_find,
    .user_count = file_user_count,
    .user_foreach = file_user_foreach,
    .user_page = file_user_page,
    .user_version = file_user_version,
    .user_add = file_user_add,
    .user_import = file_user_import,
    .user_change = file_user_change,
    .user_delete = file_user_delete,
    .first_admin = file_first_admin,
    .session_login = file_session_login,
    .session_lookup = file_session_lookup,
    .session_revoke = file_session_revoke,
    .session_revoke_id = file_session_revoke_id,
    .session_revoke_user = file_session_revoke_user,
    .session_foreach = file_session_foreach,
    .session_count = file_session_count,
    .sweep = file_sweep,
    .login_begin = file_login_begin,
    .login_end = file_login_end,
    .reg = file_register,
    .lockouts = file_lockouts,
    .unlock = file_unlock,
};
