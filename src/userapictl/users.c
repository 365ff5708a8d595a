/* SPDX-License-Identifier: MIT */
/*
 * users.c - the commands on users: useradd, userdel, passwd, role, list,
 * show and check.
 *
 * Each change goes through userdb and session under the same locks as a
 * running userapid, whose workers see it on their next request; a change
 * that ends or alters a user's sessions makes it in the session table
 * right after users.db, and says so when that part fails.  Account
 * creations and deletions go to the journal as the daemon's do.
 *
 * Nothing here prints a password or a hash; records read into memory
 * have their hash wiped before they go.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <systemd/sd-journal.h>

#include "auth.h"
#include "ctl.h"
#include "firstadmin.h"
#include "log.h"

static void ctl_audit(const char *, const char *, const char *, ...)
                __attribute__((format(printf, 3, 4)));
static int  ctl_db_result(struct ctl *, int, const char *, int);
static int  ctl_end_sessions(struct ctl *, const char *, const char *,
                int *);
static int  ctl_list_table(struct ctl *);

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
 * What a userdb change r of email came to, said in words: 0 or an exit
 * status.  found says the user was found just before, so that a missing
 * one was deleted meanwhile.
 */
static int
ctl_db_result(struct ctl *c, int r, const char *email, int found)
{
    switch (r) {
    case 0:
        return 0;
    case USERDB_EXISTS:
        ctl_err("a user %s exists already", email);
        return CTL_EXIT_EXISTS;
    case USERDB_NOT_FOUND:
        return ctl_no_user(email, found);
    case USERDB_LAST_ADMIN:
        return ctl_err("%s is the last administrator: make another user "
            "admin first", email);
    default:
        return ctl_err("%s", userdb_errmsg(c->db));
    }
}

/* Ends every session of email, whose change done ("deleted") is made
 * already, into *n; when that fails, says how to finish.  0 or an exit
 * status. */
static int
ctl_end_sessions(struct ctl *c, const char *email, const char *done, int *n)
{
    *n = 0;
    if (c->sessions != NULL &&
        (*n = session_revoke_user(c->sessions, email, NULL)) == -1)
        return ctl_err("%s %s, but cannot end its sessions: %s (run "
            "userapictl revoke %s)", done, email, strerror(errno), email);
    return 0;
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
    if (userdb_find(c->db, u.email, NULL) == 0)
        return ctl_db_result(c, USERDB_EXISTS, u.email, 0);
    if ((rc = ctl_password_hash(c, a->password_stdin, u.email, u.hash,
        sizeof(u.hash))) != 0)
        goto out;
    u.created_at = (int64_t)time(NULL);
    if ((rc = ctl_db_result(c, userdb_add(c->db, &u), u.email, 0)) != 0)
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
    int rc, n;

    if ((rc = ctl_db_result(c, userdb_delete(c->db, a->email,
        USERDB_KEEP_ADMIN), a->email, 0)) != 0)
        return rc;
    if (firstadmin_forget(c->dir, a->email, "account deleted") == 1)
        printf("removed %s/%s: it held that account's password\n", c->dir,
            FIRSTADMIN_FILE);
    if ((rc = ctl_end_sessions(c, a->email, "deleted", &n)) != 0)
        return rc;
    printf("deleted %s; ended %s\n", a->email, ctl_plural(n, "session"));
    ctl_audit(MSGID_USER_DELETED, a->email, "user %s deleted by userapictl",
        a->email);
    return 0;
}

int
ctl_passwd(struct ctl *c, const struct ctl_args *a)
{
    struct userdb_user u;
    char               hash[AUTH_HASH_SIZE], err[USERDB_ERR_LEN];
    int                rc, n;

    memset(&u, 0, sizeof(u));
    if (userdb_find(c->db, a->email, NULL) != 0)
        return ctl_no_user(a->email, 0);
    if ((rc = ctl_password_hash(c, a->password_stdin, a->email, hash,
        sizeof(hash))) != 0)
        goto out;
    /* The role as it is now, after the prompt, not as it was before. */
    if (userdb_refresh(c->db, err, sizeof(err)) == -1) {
        rc = ctl_err("%s", err);
        goto out;
    }
    if (userdb_find(c->db, a->email, &u) != 0) {
        rc = ctl_no_user(a->email, 1);
        goto out;
    }
    memcpy(u.hash, hash, sizeof(u.hash));
    if ((rc = ctl_db_result(c, userdb_update(c->db, &u, 0), a->email,
        1)) != 0)
        goto out;
    if (firstadmin_forget(c->dir, a->email, "password changed") == 1)
        printf("removed %s/%s: it held the old password\n", c->dir,
            FIRSTADMIN_FILE);
    if ((rc = ctl_end_sessions(c, a->email, "changed the password of",
        &n)) != 0)
        goto out;
    printf("changed the password of %s; ended %s\n", a->email,
        ctl_plural(n, "session"));
out:
    explicit_bzero(hash, sizeof(hash));
    explicit_bzero(u.hash, sizeof(u.hash));
    return rc;
}

int
ctl_setrole(struct ctl *c, const struct ctl_args *a)
{
    struct userdb_user u;
    int                rc, n = 0, same;

    memset(&u, 0, sizeof(u));
    if (userdb_find(c->db, a->email, &u) != 0)
        return ctl_no_user(a->email, 0);
    same = u.role == a->role;
    u.role = a->role;
    /* The record goes back with the hash it was read with. */
    rc = same ? 0 : ctl_db_result(c, userdb_update(c->db, &u,
        USERDB_KEEP_ADMIN), a->email, 1);
    explicit_bzero(u.hash, sizeof(u.hash));
    if (rc != 0)
        return rc;
    /* Also when the role was right: sessions may lag after a failure. */
    if (c->sessions != NULL &&
        (n = session_set_role(c->sessions, a->email, a->role)) == -1)
        return ctl_err("%s is %s now, but its sessions are not: %s",
            a->email, userdb_role_name(a->role), strerror(errno));
    if (same)
        printf("%s is %s already\n", a->email, userdb_role_name(a->role));
    else
        printf("%s is now %s; updated %s\n", a->email,
            userdb_role_name(a->role), ctl_plural(n, "session"));
    return 0;
}

/* ---- list, show, check -------------------------------------------------- */

/* A header and a line per user, the emails padded to the longest. */
static int
ctl_list_table(struct ctl *c)
{
    struct userdb_user u;
    char               t[USERDB_TIME_LEN + 1];
    size_t             i, n = userdb_count(c->db), w = sizeof("EMAIL") - 1;
    int                rc = 0;

    /* The view is one snapshot: it is not refreshed while we walk it. */
    for (i = 0; i < n && rc == 0; i++) {
        if (userdb_get(c->db, i, &u) != 0)
            rc = ctl_err("%s", userdb_errmsg(c->db));
        else if (strlen(u.email) > w)
            w = strlen(u.email);
    }
    if (rc == 0)
        printf("%-*s  %-5s  %s\n", (int)w, "EMAIL", "ROLE", "CREATED");
    for (i = 0; i < n && rc == 0; i++) {
        if (userdb_get(c->db, i, &u) != 0)
            rc = ctl_err("%s", userdb_errmsg(c->db));
        else
            printf("%-*s  %-5s  %s\n", (int)w, u.email,
                userdb_role_name(u.role), ctl_time(u.created_at, t));
    }
    explicit_bzero(&u, sizeof(u));
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

    if (userdb_find(c->db, a->email, &u) != 0)
        return ctl_no_user(a->email, 0);
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

int
ctl_check(struct ctl *c, const struct ctl_args *a)
{
    struct stat st;
    char        path[PATH_MAX], err[USERDB_ERR_LEN];
    size_t      n;
    int         rc = 0;

    (void)a;
    /* Both files are checked, whatever the first one gave. */
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
