/* SPDX-License-Identifier: MIT */
/*
 * userdb.h - the user database: one flat text file in the state directory,
 * shared by every userapid worker and by userapictl.
 *
 * DIR/users.db (mode 0600) is the line "userapid-users 1", then one user per
 * line in creation order:
 *
 *     email TAB role TAB created_at TAB hash LF
 *
 * email is stored lower-case (1..254 bytes, no control characters), role is
 * "admin" or "user", created_at is UTC "YYYY-MM-DDTHH:MM:SSZ" and hash is a
 * crypt(3) string ("$...", printable ASCII without space or ':', at most 255
 * bytes).  Never a plaintext password.
 *
 * Processes coordinate with open-file-description locks on DIR/users.db.lock:
 * shared to read, exclusive to write.  An add appends one line and
 * fdatasyncs; an update, delete or import writes DIR/users.db.tmp, fsyncs it
 * and renames it over users.db.  A final line without LF is the trace of an
 * interrupted append: it is ignored with a warning, removed by the next
 * write or by userdb_open(USERDB_REPAIR), and reported by userdb_check.
 * Any other malformed line is an error naming "PATH:LINE: reason".
 *
 * A struct userdb is one process's view: an index over a read-only mapping
 * of the file, refreshed when the file changed.  Lookups by email are O(1);
 * records can be walked in creation order.  A handle may be inherited over
 * fork(2): it takes its own lock descriptor in the child.  One handle is not
 * for several threads at once.
 *
 * Returns: 0 for success, a positive USERDB_* code for an expected outcome,
 * -1 with errno for a failure (ENOSPC, EROFS, EIO... as the system said;
 * EINVAL for a record the caller should not have passed; EBADMSG for a
 * malformed users.db).  After a failure userdb_errmsg(db) says what failed.
 */
#ifndef USERAPID_USERDB_H
#define USERAPID_USERDB_H

#include <stddef.h>
#include <stdint.h>

#define USERDB_EMAIL_MAX    254     /* bytes, without the NUL */
#define USERDB_HASH_MAX     255     /* bytes, without the NUL */
#define USERDB_TIME_LEN     20      /* "YYYY-MM-DDTHH:MM:SSZ" */
#define USERDB_TIME_MAX     INT64_C(253402300799)  /* 9999-12-31T23:59:59Z */
#define USERDB_ERR_LEN      512     /* enough for any message with a path */

/* Expected outcomes. */
#define USERDB_EXISTS       1       /* add/import: the email is taken */
#define USERDB_NOT_FOUND    2       /* no such email, or index out of range */
#define USERDB_LAST_ADMIN   3       /* refused under USERDB_KEEP_ADMIN */
#define USERDB_CHANGED      4       /* userdb_update_if: the hash moved on */

/* userdb_open flags. */
#define USERDB_CREATE       0x01    /* create a missing users.db, header only */
#define USERDB_REPAIR       0x02    /* truncate a torn last line away */

/* userdb_update and userdb_delete flags. */
#define USERDB_KEEP_ADMIN   0x01    /* refuse to leave no admin */

enum userdb_role {
    USERDB_ROLE_ADMIN = 1,
    USERDB_ROLE_USER = 2
};

struct userdb_user {
    char     email[USERDB_EMAIL_MAX + 1];
    int      role;                          /* enum userdb_role */
    int64_t  created_at;                    /* seconds since the epoch */
    char     hash[USERDB_HASH_MAX + 1];
};

struct userdb;

/*
 * Opens DIR/users.db (creating DIR/users.db.lock if needed) and indexes it.
 * With USERDB_CREATE a missing users.db is created holding the header only;
 * with USERDB_REPAIR a torn last line is truncated away (the master does
 * this at start-up, userapictl too).  Returns NULL with errno and err set:
 * "PATH: reason" or "PATH:LINE: reason".
 */
struct userdb *userdb_open(const char *dir, int flags, char *err,
                   size_t errlen);
void        userdb_close(struct userdb *db);

/* Why the last call on db that failed did; "" if none has. */
const char *userdb_errmsg(const struct userdb *db);

/*
 * Brings the view up to date with the file.  One stat(2) when nothing
 * changed; indexes only the new lines when the file grew; re-indexes after
 * a rename.  On failure the previous view stays usable, err (may be NULL)
 * says why, e.g. "PATH:LINE: reason" for a malformed line another process
 * wrote.  Changes made through db itself are in its view already.
 */
int         userdb_refresh(struct userdb *db, char *err, size_t errlen);

/* The user with exactly this (lower-case) email, in the current view;
 * a string that could not be stored (upper case, TAB...) is not found.
 * out may be NULL.  0 found, USERDB_NOT_FOUND, or -1. */
int         userdb_find(struct userdb *db, const char *email,
                struct userdb_user *out);

/* Where the user with this email is in creation order (userdb_get's i),
 * in the current view, in O(1).  0, or USERDB_NOT_FOUND. */
int         userdb_find_index(struct userdb *db, const char *email,
                size_t *index);

/* A number that changes whenever the view's contents may have changed
 * (another inode, more lines, new times): the key for caches of it. */
uint64_t    userdb_view_version(const struct userdb *db);

/* Users in the current view, all or with one role; both O(1). */
size_t      userdb_count(const struct userdb *db);
size_t      userdb_count_role(const struct userdb *db, int role);

/* The i-th user in creation order (0-based).  0, USERDB_NOT_FOUND when
 * i >= userdb_count(db), or -1. */
int         userdb_get(struct userdb *db, size_t i, struct userdb_user *out);

/*
 * Adds u at the end: under the exclusive lock, re-reads the file, returns
 * USERDB_EXISTS if u->email is there, else appends the line and
 * fdatasyncs.  A failed write (ENOSPC...) leaves the file as it was.
 */
int         userdb_add(struct userdb *db, const struct userdb_user *u);

/*
 * Gives the user u->email the role and hash of u (created_at is kept).
 * USERDB_NOT_FOUND if there is none; with USERDB_KEEP_ADMIN,
 * USERDB_LAST_ADMIN if that would leave no admin.  Decided under the
 * exclusive lock against the file as it is, then one atomic rewrite.
 */
int         userdb_update(struct userdb *db, const struct userdb_user *u,
                int flags);

/*
 * As userdb_update, but only while the stored hash is still expect: a
 * change that a password verified against expect has proved must not
 * overwrite a change made meanwhile.  USERDB_CHANGED when the hash is
 * another now.
 */
int         userdb_update_if(struct userdb *db, const struct userdb_user *u,
                int flags, const char *expect);

/*
 * Takes the shared lock and brings the view up to date under it.  Until
 * userdb_release(), no process changes users.db, so what the caller reads
 * stays true while it acts on it (a session made for a record that a
 * password change replaced meanwhile would outlive that change).  Only
 * reads may be made while holding.  0, or -1 with err set and no lock.
 */
int         userdb_hold(struct userdb *db, char *err, size_t errlen);
void        userdb_release(struct userdb *db);

/* Removes the user; as userdb_update for the codes and the rewrite. */
int         userdb_delete(struct userdb *db, const char *email, int flags);

/*
 * Adds n users at the end, all or none, in one rewrite.  USERDB_EXISTS if
 * an email is taken or appears twice in u[]; -1/EINVAL for an invalid
 * record.  err (may be NULL) names the record(s): "record 3: ...".
 */
int         userdb_import(struct userdb *db, const struct userdb_user *u,
                size_t n, char *err, size_t errlen);

/*
 * Validates DIR/users.db without changing anything (no file is created):
 * 0 with *nusers set (nusers may be NULL), or -1 with errno and err naming
 * the first problem; a torn last line is a problem here.
 */
int         userdb_check(const char *dir, size_t *nusers, char *err,
                size_t errlen);

/* Seconds since the epoch <-> "YYYY-MM-DDTHH:MM:SSZ" (UTC, years
 * 1970..9999).  -1/EINVAL out of range or not exactly that form. */
int         userdb_format_time(int64_t t, char out[USERDB_TIME_LEN + 1]);
int         userdb_parse_time(const char *s, int64_t *t);

/*
 * Whether s[0..len) is an email address this database can hold, as typed
 * (case is folded before storing): ASCII only, a local part of RFC 5322
 * atext with dots neither at its ends nor doubled (at most 64 bytes), '@',
 * and a domain of letter, digit and hyphen labels.  The API, userapictl
 * and the parser of users.db all use this one rule, so every stored email
 * is valid JSON and a valid address.
 */
int         userdb_email_valid(const char *s, size_t len);

/* "admin", "user", or NULL. */
const char *userdb_role_name(int role);
/* The role named p[0..len) ("admin", "user"), or 0 for anything else. */
int         userdb_role_parse(const char *p, size_t len);

#endif
