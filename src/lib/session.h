/* SPDX-License-Identifier: MIT */
/*
 * session.h - the session table shared by every userapid process.
 *
 * One file, <state_dir>/sessions (mode 0600), mapped MAP_SHARED by the
 * master, every worker and userapictl, so a session made by one worker is
 * seen by all, and survives a worker crash and a daemon restart.  The file
 * holds SHA-256(token), never a token: whoever reads it cannot log in.
 *
 * A session ends when it has been idle for ttl seconds (since last_used) or
 * is max_age seconds old (since created_at), whichever comes first; both
 * come from the caller's session_cfg, so a changed ttl applies to existing
 * sessions.  A user has at most max_per_user sessions: one more ends that
 * user's oldest.  The table holds at most max_sessions: when it is full,
 * the expired ones make room, and if all are live a new session is refused
 * (EAGAIN) rather than ending anyone else's.
 *
 * Memory: the file is a 128-byte header, then capacity slots of 368 bytes
 * and capacity per-user entries of 48 bytes, 416 bytes per unit of
 * capacity, where capacity is 2 * max_sessions rounded up to a power of two
 * (at least 16).  A session of max_sessions therefore costs between 832
 * and 1664 bytes of file (and of page cache once used): max_sessions =
 * 10000 gives 32768 slots, a file of 13631616 bytes, 1363 bytes a session;
 * 1000000 gives 2097152 slots, 872415360 bytes (832 MiB).
 *
 * Costs: a login, lookup, logout, session_revoke_user, session_set_role,
 * session_revoke_id and session_foreach of one email touch that user's
 * sessions only (each user's sessions are linked in the file), never the
 * whole table.  Only a login into a full table scans it for expired
 * sessions, and after a scan that freed nothing no other scan happens
 * before the earliest expiry it saw.
 *
 * Processes: a table may be opened before fork(2) and used in the children;
 * each process reopens the file for its own lock on first use.  Tables are
 * not thread-safe.  Functions return -1 with errno on a system error; none
 * logs an error itself (session_open puts its reason in err).
 */
#ifndef USERAPID_SESSION_H
#define USERAPID_SESSION_H

#include <stddef.h>
#include <stdint.h>

#include "auth.h"

#define SESSION_FILE            "sessions"
#define SESSION_EMAIL_MAX       254         /* RFC 5321 path limit */
#define SESSION_ADDR_MAX        45          /* INET6_ADDRSTRLEN - 1 */
#define SESSION_ID_LEN          32          /* hex characters */
#define SESSION_ROLE_MAX        255
#define SESSION_MAX_SESSIONS    1000000L    /* largest max_sessions */
#define SESSION_TIME_MAX        (100L * 366 * 86400)  /* largest ttl, max_age */
#define SESSION_ERR_LEN         512

/* A positive "no", apart from -1 errors. */
#define SESSION_NOT_FOUND       1

/* session_open flags */
#define SESSION_RESET           0x1     /* replace a corrupt file with an
                                           empty table instead of failing */
#define SESSION_AS_IS           0x2     /* keep the file's max_sessions and
                                           capacity; cfg's max_sessions only
                                           sizes a file made anew */

struct session_table;

struct session_cfg {
    long    ttl;            /* idle seconds, 1..SESSION_TIME_MAX */
    long    max_age;        /* seconds since creation, 1..SESSION_TIME_MAX */
    long    max_sessions;   /* 1..SESSION_MAX_SESSIONS */
    long    max_per_user;   /* 1..SESSION_MAX_SESSIONS, used as at most the
                               table's max_sessions */
};

/* What callers may know of a session: never its token. */
struct session_info {
    char    email[SESSION_EMAIL_MAX + 1];
    char    id[SESSION_ID_LEN + 1];     /* names the session; cannot log in */
    char    addr[SESSION_ADDR_MAX + 1]; /* client address at login, or "" */
    int     role;
    int64_t created_at;     /* seconds since the epoch */
    int64_t last_used;
    int64_t expires_at;     /* min(last_used + ttl, created_at + max_age) */
};

/*
 * Opens (creating if missing) the table in state_dir, which must exist.
 * When the file was made for another max_sessions its capacity is changed:
 * the live sessions are rehashed into a new file written aside, synced and
 * renamed over the old one under its write lock; processes still on the old
 * file move to the new one by themselves.  If there are more live sessions
 * than the new max_sessions, the ones nearest expiry are dropped.  With
 * SESSION_AS_IS the file keeps its own max_sessions and capacity, and
 * nothing is dropped to fit: only the daemon sizes the table.  A file of
 * the previous format (version 1) is converted the same way, keeping its
 * live sessions (their addresses unknown).  Damage a writer killed
 * mid-change can leave is repaired.  A file that is not a session table
 * of a known version and size is refused with err saying why, unless
 * flags has SESSION_RESET.  Returns the table, or NULL with err set
 * ("PATH: reason").
 */
struct session_table *session_open(const char *state_dir,
    const struct session_cfg *cfg, int flags, char *err, size_t errlen);

/* Unmaps and closes; t may be NULL.  Sessions stay in the file. */
void session_close(struct session_table *t);

/*
 * A new session for email (1..SESSION_EMAIL_MAX bytes, as the caller
 * spells it: lookups compare bytes) with role (0..SESSION_ROLE_MAX), made
 * from client address addr (at most SESSION_ADDR_MAX bytes; NULL or "" when
 * unknown).  Writes the token (CRYPTO_TOKEN_LEN characters and a NUL) and,
 * if expires_at is not NULL, the idle expiry: now + ttl, capped by
 * now + max_age.  The user's expired sessions end, and if max_per_user
 * live ones are left the oldest (by creation) ends too.  Returns 0 or -1:
 * EINVAL for a bad email, role or address; EAGAIN when the table holds
 * max_sessions live sessions (of other users): try again later.
 */
int  session_create(struct session_table *t, const char *email, int role,
         const char *addr, char token[CRYPTO_TOKEN_LEN + 1],
         int64_t *expires_at);

/*
 * Finds the live session of token[0..token_len) and fills out (when not
 * NULL), but for its id, which is left empty: it costs a SHA-256, and
 * this is every authenticated request's path (session_token_id gives it).
 * Marks the session used now, which moves its idle expiry.  Returns 0,
 * SESSION_NOT_FOUND (unknown, expired, or not token syntax), or -1.
 */
int  session_lookup(struct session_table *t, const char *token,
         size_t token_len, struct session_info *out);

/* The id session_foreach shows for the session of token[0..token_len),
 * into out; "" when it is not token syntax. */
void session_token_id(const char *token, size_t token_len,
         char out[SESSION_ID_LEN + 1]);

/* Ends the session of token (logout).  Returns 0, SESSION_NOT_FOUND when
 * there was no live one, or -1. */
int  session_revoke(struct session_table *t, const char *token,
         size_t token_len);

/*
 * Ends the session of email whose session_info id is id (e.g. "log out my
 * other device").  Returns 0, SESSION_NOT_FOUND when email has no live
 * session of that id (another user's id is not found either), or -1.
 */
int  session_revoke_id(struct session_table *t, const char *email,
         const char *id);

/*
 * Ends every session of email except the one of except_token (NUL-
 * terminated; NULL to end them all), e.g. after a password change.
 * Returns how many live sessions ended, or -1.
 */
int  session_revoke_user(struct session_table *t, const char *email,
         const char *except_token);

/* Gives every session of email the new role, so a role change applies to
 * users already logged in.  Returns how many live sessions changed, or -1. */
int  session_set_role(struct session_table *t, const char *email, int role);

/*
 * Calls fn for each live session, of email only when it is not NULL, in
 * order of creation.  The sessions are copied out first, so fn runs with
 * no lock held and may use the table.  fn returns 0 to go on; anything
 * else stops the walk and is returned.  Returns 0 when all were visited,
 * fn's value, or -1.  With email NULL this reads the whole table.
 */
int  session_foreach(struct session_table *t, const char *email,
         int (*fn)(const struct session_info *, void *), void *arg);

/*
 * Checks the table in state_dir without changing it, under its read lock:
 * header, size, every used slot's fields, the header's counts, that each
 * session is reachable from its hash position, and the per-user lists.  A
 * missing file is fine (it will be created).  What a process killed
 * mid-change can leave (damaged slots, wrong counts, unreachable slots,
 * broken per-user lists) is reported here and repaired by the next
 * session_open; the rest makes session_open fail too.  A version-1 file is
 * reported as awaiting its upgrade (done by the next session_open).
 * Returns 0, or -1 with err set ("PATH: reason", "PATH: slot N: reason").
 */
int  session_check(const char *state_dir, char *err, size_t errlen);

/* Replaces time(NULL) as the clock (seconds since the epoch), for tests;
 * NULL restores it. */
void session_set_clock(int64_t (*now)(void));

/* What this process's calls have done so far, for tests. */
struct session_stats {
    uint64_t    scans;          /* passes over every slot of a table */
    uint64_t    locked_lookups; /* lookups that took the read lock */
};
void session_get_stats(struct session_stats *out);

#endif
