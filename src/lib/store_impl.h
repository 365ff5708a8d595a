/* SPDX-License-Identifier: MIT */
/*
 * store_impl.h - what a store backend provides: store.c dispatches each
 * store_* call to the backend's row of this table.  Only store.c and the
 * backends (store_file.c, store_pg.c) include this file.
 *
 * A backend's handle starts with a struct store, which it fills in; the
 * functions have store.h's meaning and return conventions exactly.
 */
#ifndef USERAPID_STORE_IMPL_H
#define USERAPID_STORE_IMPL_H

#include "store.h"

struct store_ops {
    void     (*close)(struct store *);
    void     (*configure)(struct store *, const struct config *);
    int      (*user_find)(struct store *, const char *, struct userdb_user *);
    int      (*user_count)(struct store *, int, size_t *);
    int      (*user_foreach)(struct store *,
                 int (*)(const struct userdb_user *, void *), void *);
    int      (*user_page)(struct store *, const char *, const char *, size_t,
                 int (*)(const struct userdb_user *, void *), void *,
                 char *, size_t);
    uint64_t (*user_version)(struct store *);
    int      (*user_add)(struct store *, const struct userdb_user *);
    int      (*user_import)(struct store *, const struct userdb_user *, size_t,
                 char *, size_t);
    int      (*user_change)(struct store *, const struct store_change *,
                 struct store_changed *);
    int      (*user_delete)(struct store *, const char *, int);
    int      (*first_admin)(struct store *, const char *, int64_t);
    int      (*session_login)(struct store *, const char *, const char *,
                 const char *, struct store_login *);
    int      (*session_lookup)(struct store *, const char *, size_t,
                 struct session_info *);
    int      (*session_revoke)(struct store *, const char *, size_t);
    int      (*session_revoke_id)(struct store *, const char *, const char *);
    int      (*session_revoke_user)(struct store *, const char *, const char *);
    int      (*session_foreach)(struct store *, const char *,
                 int (*)(const struct session_info *, void *), void *);
    int      (*session_count)(struct store *, size_t *);
    int      (*sweep)(struct store *, int);
    long     (*login_begin)(struct store *, const char *, const char *);
    int      (*login_end)(struct store *, const char *, const char *, int);
    long     (*reg)(struct store *, const char *);
    int      (*lockouts)(struct store *, struct throttle_lockout **, size_t *);
    int      (*unlock)(struct store *, const char *);
    void     (*forget)(struct store *);     /* NULL: keeps nothing */
};

struct store {
    const struct store_ops *ops;
    int                     kind;           /* CONFIG_STORAGE_* */
    char                    err[STORE_ERR_LEN];
};

/* Sets st's message (printf-style); errno is kept. */
void store_why(struct store *st, const char *fmt, ...)
         __attribute__((format(printf, 2, 3)));

/* The backends' constructors, as store_open. */
struct store *store_file_open(const struct config *cfg, int flags, char *err,
                  size_t errlen);
struct store *store_pg_open_sync(const struct config *cfg, int flags,
                  char *err, size_t errlen);

#endif
