/* SPDX-License-Identifier: MIT */
/*
 * store.h - where users, sessions and login counts live: the files of the
 * state directory (users.db, sessions, throttle), or PostgreSQL.
 *
 * The daemon's handlers and userapictl talk to this interface only; they
 * do not know which store is behind it, and both stores answer alike.  A
 * struct store is one process's handle, opened by store_open from the
 * configuration; the backend is chosen by cfg->storage:
 *
 *   file        store_file.c over userdb.h, session.h and throttle.h, in
 *               cfg->state_dir.  Calls never wait on anything but a
 *               file lock.
 *   postgresql  store_pg.c over libpq (cfg->database_url).  Every call is
 *               one SQL statement, a call of one of the functions in
 *               schema.sql, so each is atomic on its own and needs no
 *               transaction held open across round trips.  Through
 *               pgx.h, a call blocks (userapictl, the master) or yields
 *               the calling coroutine until the answer is there (the
 *               workers).
 *
 * What holds whatever the store:
 *   - Emails are stored lower case; callers pass them lower case.
 *   - A session is kept as SHA-256(token), never the token.
 *   - A user change (password, role) and a deletion update or end that
 *     user's sessions as part of the same call: in one transaction in
 *     PostgreSQL, under the users.db lock then the session table's in
 *     files.
 *   - The last admin cannot be deleted or demoted (STORE_KEEP_ADMIN), also
 *     under concurrent changes from several processes or hosts.
 *   - The login throttle's rules are those of throttle.h, with limits
 *     from the configuration given to store_open or store_configure.
 *
 * Returns: 0 for success, a positive STORE_* code for an expected outcome,
 * -1 with errno for a failure: ENOSPC/EDQUOT (no room to store a change),
 * ETIMEDOUT or ECONNREFUSED or ENOTCONN (the database did not answer in
 * time, or cannot be reached: try again later), EPROTO (the database
 * answered something unexpected, e.g. an old schema), EIO and others as
 * the system said.  store_errmsg then says what failed, without a
 * password or a token.
 */
#ifndef USERAPID_STORE_H
#define USERAPID_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "auth.h"
#include "config.h"
#include "crypto.h"
#include "session.h"
#include "throttle.h"
#include "userdb.h"

#define STORE_ERR_LEN       512

/* Expected outcomes. */
#define STORE_EXISTS        1   /* the email is taken */
#define STORE_NOT_FOUND     2   /* no such user, session, or lockout */
#define STORE_LAST_ADMIN    3   /* would leave no admin */
#define STORE_CHANGED       4   /* the hash is not the one expected */
#define STORE_FULL          5   /* max_sessions live sessions already */
#define STORE_BAD_CURSOR    6   /* store_user_page: not a cursor of this
                                   store, or its place is gone */

/* store_user_page's bounds. */
#define STORE_PAGE_MAX      1000        /* users in one page */
#define STORE_CURSOR_LEN    (2 * USERDB_EMAIL_MAX + 3)  /* with the NUL */

/* store_open flags. */
#define STORE_DAEMON        0x01    /* the master: make or repair the
                                       files; count connections */
#define STORE_CREATE        0x02    /* file: make a missing users.db */
#define STORE_AS_IS         0x04    /* file: keep the session table's size
                                       (userapictl); see session.h */
#define STORE_NO_SESSIONS   0x08    /* file: do not open the session table */
#define STORE_NO_THROTTLE   0x10    /* file: do not open the throttle */
#define STORE_NO_USERS      0x20    /* file: do not open users.db, for a
                                       caller of the throttle calls only:
                                       no user or session call is made */
#define STORE_SESSIONS_IF_ANY 0x40  /* file: open the session table only
                                       when there is one (userapictl);
                                       without, as STORE_NO_SESSIONS */

/* store_user_change's and store_user_delete's flags. */
#define STORE_KEEP_ADMIN    0x01

struct store;

/* A change of one user, with its effect on their sessions. */
struct store_change {
    const char  *email;
    const char  *hash;          /* the new hash, or NULL to keep it */
    int          role;          /* the new role, or 0 to keep it */
    const char  *expect;        /* NULL, or only while the hash is this */
    const char  *keep_token;    /* with a new hash, the one session not
                                   ended (the caller's own), or NULL */
    int          flags;         /* STORE_KEEP_ADMIN */
};

/* What a change did: the record as it is now, and how many sessions a
 * new hash ended. */
struct store_changed {
    struct userdb_user user;    /* hash wiped by the caller */
    int                ended;
};

/* The outcome of a verified login. */
struct store_login {
    struct userdb_user user;    /* the record the session is for */
    char               token[CRYPTO_TOKEN_LEN + 1];
    int64_t            expires_at;
};

/*
 * Opens the store cfg names.  file: the state directory's files, as
 * flags say.  postgresql: connects (blocking, at most database_timeout)
 * unless the caller gives its own executor with store_pg_attach; checks
 * the schema version: an absent or older schema is EPROTO with err
 * saying to run "userapictl db init".  NULL with errno and err set.
 */
struct store *store_open(const struct config *cfg, int flags, char *err,
                  size_t errlen);
void        store_close(struct store *st);

/* New limits (session_ttl, login_*...) after a reload; the store stays
 * where it is (a changed storage or database_url needs a new store). */
void        store_configure(struct store *st, const struct config *cfg);

/* Why the last failed call on st failed; "" if none has. */
const char *store_errmsg(const struct store *st);

/* Forgets what st keeps of what it read (a worker's cache of sessions and
 * users), so that the next reads ask the store: for a change made by
 * another process of this host, known before its notification comes. */
void        store_forget(struct store *st);

/* CONFIG_STORAGE_FILE or CONFIG_STORAGE_POSTGRESQL. */
int         store_kind(const struct store *st);

/* ---- users ------------------------------------------------------------ */

/* The user with this email: 0 (out may be NULL), STORE_NOT_FOUND, -1. */
int         store_user_find(struct store *st, const char *email,
                struct userdb_user *out);

/* How many users there are, all (role 0) or of one role. */
int         store_user_count(struct store *st, int role, size_t *n);

/*
 * Calls fn for every user in creation order (hash included: callers that
 * answer clients must not show it).  fn returns 0 to go on; anything else
 * stops the walk and is returned.  0 when all were visited, or -1.
 */
int         store_user_foreach(struct store *st,
                int (*fn)(const struct userdb_user *, void *), void *arg);

/*
 * One page of users in creation order: those after cursor `after` (NULL:
 * from the first) whose email starts with prefix ("": any), at most limit
 * (1..STORE_PAGE_MAX), each given to fn as by store_user_foreach.  next
 * (nextlen >= STORE_CURSOR_LEN) receives the cursor of the page that
 * follows, "" when no matching user is left after this page.  A cursor is
 * printable ASCII without space, meant for the same prefix; it stays
 * valid while users are added and deleted: the next page starts with the
 * first user, existing or added since, created after the page's last one
 * (file: found by the page's last user or, when that one was deleted, the
 * user that was next; STORE_BAD_CURSOR when both were deleted).  Without
 * a prefix a page costs O(limit), whatever the number of users.
 * 0, STORE_BAD_CURSOR, what fn returned (not 0), or -1.
 */
int         store_user_page(struct store *st, const char *after,
                const char *prefix, size_t limit,
                int (*fn)(const struct userdb_user *, void *), void *arg,
                char *next, size_t nextlen);

/* A number that changes whenever the users may have changed, for caches
 * of a listing; 0 when the store cannot tell (then do not cache). */
uint64_t    store_user_version(struct store *st);

/* Adds u (created_at as given).  0, STORE_EXISTS, or -1. */
int         store_user_add(struct store *st, const struct userdb_user *u);

/*
 * Adds n users, all or none: STORE_EXISTS when an email is taken or given
 * twice, -1/EINVAL for an invalid record; err names the record(s).
 */
int         store_user_import(struct store *st, const struct userdb_user *u,
                size_t n, char *err, size_t errlen);

/*
 * Changes one user as c says; their sessions take a new role, and a new
 * hash ends their sessions but c->keep_token's.  0 with out filled (may
 * be NULL), STORE_NOT_FOUND, STORE_CHANGED (c->expect is not the hash),
 * STORE_LAST_ADMIN, or -1.
 */
int         store_user_change(struct store *st, const struct store_change *c,
                struct store_changed *out);

/* Deletes the user and ends their sessions.  0, STORE_NOT_FOUND,
 * STORE_LAST_ADMIN (with STORE_KEEP_ADMIN), or -1. */
int         store_user_delete(struct store *st, const char *email, int flags);

/*
 * admin@localhost with this hash when there is no user at all: 1 when
 * this call made it, 0 when there were users (nothing is changed), -1.
 * Of several processes or hosts starting at once, exactly one makes it.
 */
int         store_first_admin(struct store *st, const char *hash,
                int64_t created_at);

/* ---- sessions --------------------------------------------------------- */

/*
 * The session of a login whose password was verified against the hash
 * `verified`: made only while email's record still has that hash (a
 * password changed, or the user deleted and made again, since it was read
 * is STORE_CHANGED, a failed login), for the role the record has now.  At
 * most max_sessions_per_user per user (the oldest ends); STORE_FULL when
 * max_sessions live sessions of others fill the store.  addr is the
 * client's address.  0 with out filled, STORE_CHANGED, STORE_FULL, -1.
 */
int         store_session_login(struct store *st, const char *email,
                const char *verified, const char *addr,
                struct store_login *out);

/* The live session of token[0..len) (syntax already checked), marked used
 * now; out's id is left empty (session_token_id gives it).  0,
 * STORE_NOT_FOUND (unknown or expired), or -1. */
int         store_session_lookup(struct store *st, const char *token,
                size_t len, struct session_info *out);

/* Ends the session of token (logout).  0, STORE_NOT_FOUND, or -1. */
int         store_session_revoke(struct store *st, const char *token,
                size_t len);

/* Ends email's session whose id (session_info.id) is id.  0,
 * STORE_NOT_FOUND (another user's id is not found either), or -1. */
int         store_session_revoke_id(struct store *st, const char *email,
                const char *id);

/* Ends every session of email but except_token's (NULL: all); how many
 * live ones ended, or -1. */
int         store_session_revoke_user(struct store *st, const char *email,
                const char *except_token);

/* Calls fn for each live session, of email only when not NULL, in order
 * of creation, ids filled; as store_user_foreach. */
int         store_session_foreach(struct store *st, const char *email,
                int (*fn)(const struct session_info *, void *), void *arg);

/* Live sessions, all of them. */
int         store_session_count(struct store *st, size_t *n);

/* Deletes up to max expired sessions (and stale login counts): how many,
 * or -1.  Safe from any number of processes or hosts at once. */
int         store_sweep(struct store *st, int max);

/* ---- login throttle (throttle.h's rules) ------------------------------- */

/* As throttle_login_begin: 0 admitted (and charged), else seconds to
 * wait (errno EAGAIN, or ENOSPC with 1), or -1 (store failure). */
long        store_login_begin(struct store *st, const char *email,
                const char *addr);
/* As throttle_login_end: THROTTLE_SLOWED_ACCOUNT, THROTTLE_LOCKED_ADDRESS
 * bits to log, or -1. */
int         store_login_end(struct store *st, const char *email,
                const char *addr, int ok);
/* As throttle_register, with registration_max_per_ip and _window. */
long        store_register(struct store *st, const char *addr);
/* As throttle_lockouts: 0 with *out (free(3) it) and *n, or -1. */
int         store_lockouts(struct store *st, struct throttle_lockout **out,
                size_t *n);
/* As throttle_unlock: how many of the key's lockouts were lifted, 0 when
 * none was listed, or -1. */
int         store_unlock(struct store *st, const char *key);

#endif
