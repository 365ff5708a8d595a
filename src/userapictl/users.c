/* SPDX-License-Identifier: MIT */
/*
 * users.c - the commands on users: useradd, userdel, passwd, role, list,
 * show and check.
 *
 * Each change is one store call (store.h), which also ends or alters the
 * user's sessions, under the same locks or in the same transaction as a
 * running userapid's, whose workers see it on their next request.  When
 * such a call fails after the user's record was changed, the message says
 * what is done and what is left.  Account creations and deletions go to
 * the journal as the daemon's do.
 *
 * Nothing here prints a password or a hash; records read into memory
 * have their hash wiped before they go.  check is the one command that
 * reads the state directory's files itself, for the file store only.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <systemd/sd-journal.h>

#include "auth.h"
#include "ctl.h"
#include "firstadmin.h"
#include "log.h"

/* A user as list shows it: no hash. */
struct ctl_row {
    char     email[USERDB_EMAIL_MAX + 1];
    int      role;
    int64_t  created_at;
};

/* The rows of list, gathered in one walk. */
struct ctl_rows {
    struct ctl_row *v;
    size_t          n;
    size_t          cap;
};

static void ctl_audit(const char *, const char *, const char *, ...)
                __attribute__((format(printf, 3, 4)));
static int  ctl_store_result(struct ctl *, int, const char *, int);
static int  ctl_change_failed(struct ctl *, const char *, const char *,
                int, const char *);
static int  ctl_keep_row(const struct userdb_user *, void *);
static int  ctl_list_table(struct ctl *);
static int  ctl_check_files(struct ctl *);

/*
 * Account changes go to the journal like the daemon's own, whatever
 * stderr is: the catalog explains them the same way.  Without a journal
 * the entry is simply dropped; the command's output already said it.
 */
static void
ctl_audit(const char *msgid, const char *email, const char *fmt, ...)
{
    char    msg[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    sd_journal_send("MESSAGE=%s", msg, "MESSAGE_ID=%s", msgid,
        "PRIORITY=%d", LOG_NOTICE, "SYSLOG_IDENTIFIER=userapictl",
        "USERAPID_USER=%s", email, NULL);
}

/*
 * What a store call r on email came to, said in words: 0 or an exit
 * status.  found says the user was found just before, so that a missing
 * one was deleted meanwhile.
 */
static int
ctl_store_result(struct ctl *c, int r, const char *email, int found)
{
    switch (r) {
    case 0:
        return 0;
    case STORE_EXISTS:
        ctl_err("a user %s exists already", email);
        return CTL_EXIT_EXISTS;
    case STORE_NOT_FOUND:
        return ctl_no_user(email, found);
    case STORE_LAST_ADMIN:
        return ctl_err("%s is the last administrator: make another user "
            "admin first", email);
    case STORE_CHANGED:
        return ctl_err("%s kept changing meanwhile: try again", email);
    default:
        return ctl_store_err(c);
    }
}

/*
 * A change of email that failed (-1): when its record is now as the
 * change wanted (gone with hash and role NULL and 0, the new hash, or the
 * new role), only its sessions were left behind, and done says what was
 * done.  Returns EXIT_RUNTIME.
 */
static int
ctl_change_failed(struct ctl *c, const char *email, const char *hash,
    int role, const char *done)
{
    struct userdb_user u;
    char               why[STORE_ERR_LEN];
    int                r, made;

    snprintf(why, sizeof(why), "%s", store_errmsg(c->store));
    r = store_user_find(c->store, email, &u);
    made = hash == NULL && role == 0 ? r == STORE_NOT_FOUND : r == 0 &&
        (hash != NULL ? strcmp(u.hash, hash) == 0 : u.role == role);
    explicit_bzero(u.hash, sizeof(u.hash));
    if (!made)
        return ctl_err("%s", why);
    if (role != 0)
        return ctl_err("%s is %s now, but its sessions are not: %s", email,
            userdb_role_name(role), why);
    return ctl_err("%s %s, but cannot end its sessions: %s (run userapictl "
        "revoke %s)", done, email, why, email);
}

/* ---- useradd, userdel, passwd, role -------------------------------------- */

int
ctl_useradd(struct ctl *c, const struct ctl_args *a)
{
    struct userdb_user u;
    int                rc;

    memset(&u, 0, sizeof(u));
    memcpy(u.email, a->email, sizeof(u.email));
    u.role = a->role != 0 ? a->role : USERDB_ROLE_USER;
    /* Before asking for a password that could not be used. */
    if ((rc = store_user_find(c->store, u.email, NULL)) != STORE_NOT_FOUND)
        return ctl_store_result(c, rc == 0 ? STORE_EXISTS : rc, u.email, 0);
    if ((rc = ctl_password_hash(c, a->password_stdin, u.email, u.hash,
        sizeof(u.hash))) != 0)
        goto out;
    u.created_at = (int64_t)time(NULL);
    if ((rc = ctl_store_result(c, store_user_add(c->store, &u), u.email,
        0)) != 0)
        goto out;
    printf("created %s (%s)\n", u.email, userdb_role_name(u.role));
    ctl_audit(MSGID_USER_CREATED, u.email, "user %s created (%s) by "
        "userapictl", u.email, userdb_role_name(u.role));
out:
    explicit_bzero(u.hash, sizeof(u.hash));
    return rc;
}

int
ctl_userdel(struct ctl *c, const struct ctl_args *a)
{
    long n = 0;
    int  rc;

    /* Counted first: the deletion ends them all without a count. */
    if ((rc = ctl_session_count(c, a->email, &n)) != 0)
        return rc;
    rc = store_user_delete(c->store, a->email, STORE_KEEP_ADMIN);
    if (rc == -1)
        return ctl_change_failed(c, a->email, NULL, 0, "deleted");
    if ((rc = ctl_store_result(c, rc, a->email, 0)) != 0)
        return rc;
    if (firstadmin_forget(c->dir, a->email, "account deleted") == 1)
        printf("removed %s/%s: it held that account's password\n", c->dir,
            FIRSTADMIN_FILE);
    printf("deleted %s; ended %s\n", a->email, ctl_plural(n, "session"));
    ctl_audit(MSGID_USER_DELETED, a->email, "user %s deleted by userapictl",
        a->email);
    return 0;
}

int
ctl_passwd(struct ctl *c, const struct ctl_args *a)
{
    struct store_change  ch;
    struct store_changed done;
    char                 hash[AUTH_HASH_SIZE];
    int                  rc;

    memset(&done, 0, sizeof(done));
    if ((rc = store_user_find(c->store, a->email, NULL)) != 0)
        return ctl_store_result(c, rc, a->email, 0);
    if ((rc = ctl_password_hash(c, a->password_stdin, a->email, hash,
        sizeof(hash))) != 0)
        goto out;
    /* The role is kept as it is when the change is made. */
    memset(&ch, 0, sizeof(ch));
    ch.email = a->email;
    ch.hash = hash;
    if ((rc = store_user_change(c->store, &ch, &done)) == -1)
        rc = ctl_change_failed(c, a->email, hash, 0,
            "changed the password of");
    else
        rc = ctl_store_result(c, rc, a->email, 1);
    if (rc != 0)
        goto out;
    if (firstadmin_forget(c->dir, a->email, "password changed") == 1)
        printf("removed %s/%s: it held the old password\n", c->dir,
            FIRSTADMIN_FILE);
    printf("changed the password of %s; ended %s\n", a->email,
        ctl_plural(done.ended, "session"));
out:
    explicit_bzero(hash, sizeof(hash));
    explicit_bzero(done.user.hash, sizeof(done.user.hash));
    return rc;
}

int
ctl_setrole(struct ctl *c, const struct ctl_args *a)
{
    struct userdb_user  u;
    struct store_change ch;
    long                n = 0;
    int                 rc, same;

    if ((rc = store_user_find(c->store, a->email, &u)) != 0)
        return ctl_store_result(c, rc, a->email, 0);
    explicit_bzero(u.hash, sizeof(u.hash));
    same = u.role == a->role;
    /* Made also when the role is right: the sessions may lag after a
     * failure, and the change brings them along. */
    memset(&ch, 0, sizeof(ch));
    ch.email = a->email;
    ch.role = a->role;
    ch.flags = STORE_KEEP_ADMIN;
    if ((rc = store_user_change(c->store, &ch, NULL)) == -1)
        return ctl_change_failed(c, a->email, NULL, a->role, NULL);
    if ((rc = ctl_store_result(c, rc, a->email, 1)) != 0)
        return rc;
    if (same) {
        printf("%s is %s already\n", a->email, userdb_role_name(a->role));
        return 0;
    }
    if ((rc = ctl_session_count(c, a->email, &n)) != 0)
        return rc;
    printf("%s is now %s; updated %s\n", a->email, userdb_role_name(a->role),
        ctl_plural(n, "session"));
    return 0;
}

/* ---- list, show, check -------------------------------------------------- */

/* store_user_foreach's callback: u into the rows (void *), without its
 * hash.  0, or an exit status that stops the walk. */
static int
ctl_keep_row(const struct userdb_user *u, void *arg)
{
    struct ctl_rows *rows = arg;
    void            *p;
    size_t           ncap;

    if (rows->n == rows->cap) {
        ncap = rows->cap ? rows->cap * 2 : 256;
        if ((p = reallocarray(rows->v, ncap, sizeof(*rows->v))) == NULL)
            return ctl_err("out of memory");
        rows->v = p;
        rows->cap = ncap;
    }
    memcpy(rows->v[rows->n].email, u->email, sizeof(u->email));
    rows->v[rows->n].role = u->role;
    rows->v[rows->n].created_at = u->created_at;
    rows->n++;
    return 0;
}

/* A header and a line per user, the emails padded to the longest, from
 * one walk of the users. */
static int
ctl_list_table(struct ctl *c)
{
    struct ctl_rows rows;
    char            t[USERDB_TIME_LEN + 1];
    size_t          i, w = sizeof("EMAIL") - 1;
    int             rc;

    memset(&rows, 0, sizeof(rows));
    if ((rc = store_user_foreach(c->store, ctl_keep_row, &rows)) == -1)
        rc = ctl_store_err(c);
    for (i = 0; i < rows.n && rc == 0; i++)
        if (strlen(rows.v[i].email) > w)
            w = strlen(rows.v[i].email);
    if (rc == 0)
        printf("%-*s  %-5s  %s\n", (int)w, "EMAIL", "ROLE", "CREATED");
    for (i = 0; i < rows.n && rc == 0; i++)
        printf("%-*s  %-5s  %s\n", (int)w, rows.v[i].email,
            userdb_role_name(rows.v[i].role),
            ctl_time(rows.v[i].created_at, t));
    free(rows.v);
    return rc;
}

int
ctl_list(struct ctl *c, const struct ctl_args *a)
{
    return a->json ? ctl_json_users(c, CTL_JSON_ROLE_ID) : ctl_list_table(c);
}

int
ctl_show(struct ctl *c, const struct ctl_args *a)
{
    struct userdb_user  u;
    struct json_object *o;
    char                ts[USERDB_TIME_LEN + 1];
    long                n = 0;
    int                 rc;

    if ((rc = store_user_find(c->store, a->email, &u)) != 0)
        return ctl_store_result(c, rc, a->email, 0);
    explicit_bzero(u.hash, sizeof(u.hash));
    if ((rc = ctl_session_count(c, a->email, &n)) != 0)
        return rc;
    if (!a->json) {
        printf("email       %s\n"
            "role        %s\n"
            "created_at  %s\n"
            "sessions    %ld\n", u.email, userdb_role_name(u.role),
            ctl_time(u.created_at, ts), n);
        return 0;
    }
    if ((o = ctl_json_user(&u, CTL_JSON_ROLE_ID)) != NULL)
        json_object_object_add(o, "sessions", json_object_new_int64(n));
    return ctl_json_print(o);
}

/* users.db and the session table, checked as files, both whatever the
 * first one gave.  0 or an exit status. */
static int
ctl_check_files(struct ctl *c)
{
    struct stat st;
    char        path[PATH_MAX], err[USERDB_ERR_LEN];
    size_t      n;
    int         rc = 0;

    snprintf(path, sizeof(path), "%s/users.db", c->dir);
    if (lstat(path, &st) == -1 && errno == ENOENT)
        rc = ctl_err("no database in %s", c->dir);
    else if (userdb_check(c->dir, &n, err, sizeof(err)) == -1)
        rc = ctl_err("%s", err);
    else
        printf("users.db: ok (%s)\n", ctl_plural((long)n, "user"));
    if (session_check(c->dir, err, sizeof(err)) == -1)
        rc = ctl_err("%s", err);
    else
        printf("sessions: ok\n");
    return rc;
}

/*
 * The file store's files are checked line by line and slot by slot; a
 * database keeps its own consistency (constraints, transactions), so
 * there check only reaches it, schema version included (store_open).
 */
int
ctl_check(struct ctl *c, const struct ctl_args *a)
{
    int rc;

    (void)a;
    if (c->cfg.storage == CONFIG_STORAGE_FILE)
        return ctl_check_files(c);
    if ((rc = ctl_store_open(c, CTL_NEED_DB | CTL_NEED_SESSIONS |
        CTL_NEED_THROTTLE)) != 0)
        return rc;
    printf("database: reached; it checks its own consistency\n");
    return 0;
}
