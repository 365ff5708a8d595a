/* SPDX-License-Identifier: MIT */
/*
 * state.c - what a command works on, opened for it as its row in the
 * command table asks: the daemon's configuration, the state directory,
 * users.db, the session table and the login throttle's counts.
 *
 * The configuration is read as the daemon reads it (the same file and
 * defaults) for the state directory, the password rules and cost, and the
 * session limits; the session table is opened as it is, since opening it
 * with another max_sessions would resize it.
 *
 * The login throttle's file is the daemon's alone to make: without one,
 * c->throttle counts nothing (throttle_open).
 *
 * Only useradd and import may create users.db; the other commands refuse
 * a state directory without one, and create nothing there, so a mistyped
 * --state-dir is an error rather than a new database.  No command creates
 * the session table: without one there is no session to touch, and
 * c->sessions stays NULL.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "ctl.h"

static int  ctl_load(struct ctl *);
static int  ctl_sessions_open(struct ctl *);
static int  ctl_throttle_open(struct ctl *);

/* The configuration, as the daemon reads it, and the state directory,
 * whose owner we become as root (owner.c). */
static int
ctl_load(struct ctl *c)
{
    struct config_source src;
    struct stat          st;
    char                 err[CONFIG_ERR_LEN];

    memset(&src, 0, sizeof(src));
    src.config_path = c->config_path;
    src.config_explicit = c->config_explicit;
    src.state_dir = c->state_dir_opt;
    if (config_read(&src, &c->cfg, err, sizeof(err)) == -1) {
        ctl_err("%s", err);
        return EXIT_CONFIG;
    }
    c->dir = c->cfg.state_dir;
    if (stat(c->dir, &st) == -1)
        return ctl_err("state directory %s: %s", c->dir, strerror(errno));
    if (!S_ISDIR(st.st_mode))
        return ctl_err("state directory %s: not a directory", c->dir);
    ctl_owner(c, &st);
    return ctl_become_owner(c, &st);
}

/* Opens users.db into c->db, creating it only with USERDB_CREATE.  0 or
 * an exit status. */
int
ctl_db_open(struct ctl *c, int flags)
{
    struct stat st;
    char        path[PATH_MAX], err[USERDB_ERR_LEN];
    int         n;

    if (!(flags & USERDB_CREATE)) {
        n = snprintf(path, sizeof(path), "%s/users.db", c->dir);
        if (n < 0 || (size_t)n >= sizeof(path))
            return ctl_err("%s: path too long", c->dir);
        /* Before userdb_open, which would make the lock file. */
        if (lstat(path, &st) == -1 && errno == ENOENT)
            return ctl_err("no database in %s (userapid makes one when it "
                "starts; useradd and import do too)", c->dir);
    }
    c->touched = 1;
    if ((c->db = userdb_open(c->dir, flags, err, sizeof(err))) == NULL)
        return ctl_err("%s", err);
    return 0;
}

/* Opens the session table into c->sessions, left NULL when there is
 * none yet.  0 or an exit status. */
static int
ctl_sessions_open(struct ctl *c)
{
    struct session_cfg  scfg;
    struct stat         st;
    char                path[PATH_MAX], err[SESSION_ERR_LEN];
    int                 n;

    n = snprintf(path, sizeof(path), "%s/%s", c->dir, SESSION_FILE);
    if (n < 0 || (size_t)n >= sizeof(path))
        return ctl_err("%s: path too long", c->dir);
    if (lstat(path, &st) == -1) {
        if (errno == ENOENT)
            return 0;
        return ctl_err("%s: %s", path, strerror(errno));
    }
    config_session(&c->cfg, &scfg);
    c->touched = 1;
    /* As it is: only the daemon sizes the table. */
    if ((c->sessions = session_open(c->dir, &scfg, SESSION_AS_IS, err,
        sizeof(err))) == NULL)
        return ctl_err("%s", err);
    return 0;
}

/* Opens the login throttle's counts into c->throttle.  0 or an exit
 * status. */
static int
ctl_throttle_open(struct ctl *c)
{
    char err[THROTTLE_ERR_LEN];

    if ((c->throttle = throttle_open(c->dir, 0, err, sizeof(err))) == NULL)
        return ctl_err("%s", err);
    return 0;
}

/*
 * What needs (CTL_NEED_*) asks for, in order: the configuration and the
 * state directory, users.db, the session table, the throttle.  All are open before a
 * command changes anything, so a table that cannot be opened changes
 * nothing.  0 or an exit status; ctl_close undoes any part.
 */
int
ctl_open(struct ctl *c, int needs)
{
    int rc;

    if (needs == 0)
        return 0;
    if ((rc = ctl_load(c)) != 0)
        return rc;
    if ((needs & (CTL_NEED_DB | CTL_NEED_DB_CREATE)) && (rc = ctl_db_open(c,
        (needs & CTL_NEED_DB_CREATE) ? USERDB_CREATE : 0)) != 0)
        return rc;
    if ((needs & CTL_NEED_SESSIONS) && (rc = ctl_sessions_open(c)) != 0)
        return rc;
    if ((needs & CTL_NEED_THROTTLE) && (rc = ctl_throttle_open(c)) != 0)
        return rc;
    return 0;
}

void
ctl_close(struct ctl *c)
{
    throttle_close(c->throttle);
    c->throttle = NULL;
    session_close(c->sessions);
    c->sessions = NULL;
    userdb_close(c->db);
    c->db = NULL;
}
