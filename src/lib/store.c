/* SPDX-License-Identifier: MIT */
/*
 * store.c - store.h's calls, dispatched to the backend of the handle
 * (store_impl.h).  Nothing here knows a backend's insides.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>

#include "store_impl.h"

struct store *
store_open(const struct config *cfg, int flags, char *err, size_t errlen)
{
    if (cfg->storage == CONFIG_STORAGE_POSTGRESQL)
        return store_pg_open_sync(cfg, flags, err, errlen);
    return store_file_open(cfg, flags, err, errlen);
}

void
store_close(struct store *st)
{
    if (st != NULL)
        st->ops->close(st);
}

void
store_configure(struct store *st, const struct config *cfg)
{
    st->ops->configure(st, cfg);
}

const char *
store_errmsg(const struct store *st)
{
    return st->err;
}

void
store_forget(struct store *st)
{
    if (st->ops->forget != NULL)
        st->ops->forget(st);
}

int
store_kind(const struct store *st)
{
    return st->kind;
}

void
store_why(struct store *st, const char *fmt, ...)
{
    va_list ap;
    int     e = errno;

    va_start(ap, fmt);
    vsnprintf(st->err, sizeof(st->err), fmt, ap);
    va_end(ap);
    errno = e;
}

int
store_user_find(struct store *st, const char *email, struct userdb_user *out)
{
    return st->ops->user_find(st, email, out);
}

int
store_user_count(struct store *st, int role, size_t *n)
{
    return st->ops->user_count(st, role, n);
}

int
store_user_foreach(struct store *st,
    int (*fn)(const struct userdb_user *, void *), void *arg)
{
    return st->ops->user_foreach(st, fn, arg);
}

int
store_user_page(struct store *st, const char *after, const char *prefix,
    size_t limit, int (*fn)(const struct userdb_user *, void *), void *arg,
    char *next, size_t nextlen)
{
    if (limit == 0 || limit > STORE_PAGE_MAX || nextlen < STORE_CURSOR_LEN) {
        errno = EINVAL;
        store_why(st, "page: limit or cursor buffer out of range");
        return -1;
    }
    next[0] = '\0';
    return st->ops->user_page(st, after, prefix == NULL ? "" : prefix, limit,
        fn, arg, next, nextlen);
}

uint64_t
store_user_version(struct store *st)
{
    return st->ops->user_version(st);
}

int
store_user_add(struct store *st, const struct userdb_user *u)
{
    return st->ops->user_add(st, u);
}

int
store_user_import(struct store *st, const struct userdb_user *u, size_t n,
    char *err, size_t errlen)
{
    return st->ops->user_import(st, u, n, err, errlen);
}

int
store_user_change(struct store *st, const struct store_change *c,
    struct store_changed *out)
{
    return st->ops->user_change(st, c, out);
}

int
store_user_delete(struct store *st, const char *email, int flags)
{
    return st->ops->user_delete(st, email, flags);
}

int
store_first_admin(struct store *st, const char *hash, int64_t created_at)
{
    return st->ops->first_admin(st, hash, created_at);
}

int
store_session_login(struct store *st, const char *email, const char *verified,
    const char *addr, struct store_login *out)
{
    return st->ops->session_login(st, email, verified, addr, out);
}

int
store_session_lookup(struct store *st, const char *token, size_t len,
    struct session_info *out)
{
    return st->ops->session_lookup(st, token, len, out);
}

int
store_session_revoke(struct store *st, const char *token, size_t len)
{
    return st->ops->session_revoke(st, token, len);
}

int
store_session_revoke_id(struct store *st, const char *email, const char *id)
{
    return st->ops->session_revoke_id(st, email, id);
}

int
store_session_revoke_user(struct store *st, const char *email,
    const char *except_token)
{
    return st->ops->session_revoke_user(st, email, except_token);
}

int
store_session_foreach(struct store *st, const char *email,
    int (*fn)(const struct session_info *, void *), void *arg)
{
    return st->ops->session_foreach(st, email, fn, arg);
}

int
store_session_count(struct store *st, size_t *n)
{
    return st->ops->session_count(st, n);
}

int
store_sweep(struct store *st, int max)
{
    return st->ops->sweep(st, max);
}

long
store_login_begin(struct store *st, const char *email, const char *addr)
{
    return st->ops->login_begin(st, email, addr);
}

int
store_login_end(struct store *st, const char *email, const char *addr, int ok)
{
    return st->ops->login_end(st, email, addr, ok);
}

long
store_register(struct store *st, const char *addr)
{
    return st->ops->reg(st, addr);
}

int
store_lockouts(struct store *st, struct throttle_lockout **out, size_t *n)
{
    return st->ops->lockouts(st, out, n);
}

int
store_unlock(struct store *st, const char *key)
{
    return st->ops->unlock(st, key);
}
