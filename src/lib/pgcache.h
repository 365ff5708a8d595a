/* SPDX-License-Identifier: MIT */
/*
 * pgcache.h - a worker's short-lived copy of the sessions and users it
 * read from PostgreSQL, so that a request with a session needs no round
 * trip to the database most of the time.
 *
 * An entry is trusted for at most ttl (session_cache_ttl), and never past
 * its session's expiry.  It is forgotten sooner when the database says it
 * changed: the notifications of channel "userapid" name a user
 * ("u:EMAIL": its record and every session of it) or a session
 * ("s:HEX-SHA256-OF-TOKEN"), and a NULL channel (the connection was made
 * again, so notifications may have been missed) forgets everything.  The
 * store forgets what it changes itself at once, not waiting for its own
 * notification.
 *
 * Direct-mapped tables: a new entry replaces the one in its slot.  Hashes
 * of users are wiped when replaced or forgotten.
 */
#ifndef USERAPID_PGCACHE_H
#define USERAPID_PGCACHE_H

#include "session.h"
#include "userdb.h"

#define PGCACHE_SLOTS       4096    /* of each kind */
#define PGCACHE_KEY_LEN     64      /* hex SHA-256 */

struct pgcache;

/* A cache trusting entries for ttl_ms (> 0).  NULL when out of memory. */
struct pgcache *pgcache_new(long ttl_ms);
void            pgcache_free(struct pgcache *c);

/* 1 with out filled when key's session is cached and fresh, else 0. */
int             pgcache_session_get(struct pgcache *c, const char *key,
                    struct session_info *out);
void            pgcache_session_put(struct pgcache *c, const char *key,
                    const struct session_info *s);
/* The same for users, by email. */
int             pgcache_user_get(struct pgcache *c, const char *email,
                    struct userdb_user *out);
void            pgcache_user_put(struct pgcache *c, const struct userdb_user *u);

void            pgcache_forget_user(struct pgcache *c, const char *email);
void            pgcache_forget_session(struct pgcache *c, const char *key);
void            pgcache_clear(struct pgcache *c);

/* pgx's on_notify, with arg the cache. */
void            pgcache_notify(void *arg, const char *channel,
                    const char *payload);

#endif
