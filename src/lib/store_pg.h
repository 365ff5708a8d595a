/* SPDX-License-Identifier: MIT */
/*
 * store_pg.h - the PostgreSQL store (store_pg.c) and its schema.
 *
 * store_open gives a store on a blocking connection of its own
 * (store_pg_open_sync); a worker gives its own executor (pgx.h) to
 * store_pg_attach instead.  Either way the schema must be there, of this
 * version: store_pg_init (userapictl db init) makes or upgrades it, and
 * is safe to run again, and from several hosts at once.
 */
#ifndef USERAPID_STORE_PG_H
#define USERAPID_STORE_PG_H

#include "pgx.h"
#include "store.h"

#define STORE_PG_SCHEMA_VERSION 1

/* store_pg_attach's flags, besides store_open's. */
#define STORE_PG_LAZY       0x100   /* no schema check now: the executor
                                       makes it on every connection */
#define STORE_PG_CACHE      0x200   /* keep sessions and users read for
                                       session_cache_ttl (pgcache.h) */

/* What an executor checks on connecting (STORE_PG_LAZY): the one value
 * this statement answers must be STORE_PG_CHECK_WANT. */
#define STORE_PG_STR_(x)    #x
#define STORE_PG_STR(x)     STORE_PG_STR_(x)
#define STORE_PG_CHECK_SQL  "SELECT coalesce(max(version), 0) >= " \
                            STORE_PG_STR(STORE_PG_SCHEMA_VERSION) \
                            " FROM userapid.schema_version"
#define STORE_PG_CHECK_WANT "t"

/* The longest database password store_pg_password reads. */
#define STORE_PG_PASSWORD_MAX 1024

/* schema.sql, compiled in (build/gen/schema_sql.c). */
extern const char store_pg_schema_sql[];

/*
 * A store over x, which it owns from now on (closed with the store, and
 * on failure).  Checks the schema version, unless STORE_PG_LAZY: absent
 * or older is NULL with errno EPROTO and err "database schema missing or
 * old: run userapictl db init".  flags: STORE_PG_LAZY, STORE_PG_CACHE
 * (store_open's do not matter here).
 */
struct store *store_pg_attach(const struct config *cfg, struct pgx *x,
                  int flags, char *err, size_t errlen);

/* Makes or upgrades the schema of cfg's database.  0, or -1 with errno
 * and err set. */
int         store_pg_init(const struct config *cfg, char *err, size_t errlen);

/* The database password of cfg (database_password_file, one trailing
 * newline stripped) into out; "" when none is set.  0, or -1 with errno
 * and err set. */
int         store_pg_password(const struct config *cfg, char *out,
                size_t outlen, char *err, size_t errlen);

#endif
