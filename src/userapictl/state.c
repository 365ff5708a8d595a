/* SPDX-License-Identifier: MIT */
/*
 * state.c - what a command works on, opened for it as its row in the
 * command table asks: the daemon's configuration, the state directory and
 * the store (store.h) with the parts the row names.
 *
 * The configuration is read as the daemon reads it (the same file and
 * defaults) for the storage, the state directory, the password rules and
 * cost, and the session limits; the session table is opened as it is
 * (STORE_AS_IS), since opening it with another max_sessions would resize
 * it.
 *
 * Invariants, for the file store:
 *   - Only useradd and import may create users.db; the other commands
 *     refuse a state directory without one, and create nothing there, so
 *     a mistyped --state-dir is an error rather than a new database.
 *   - No command creates the session table (STORE_SESSIONS_IF_ANY):
 *     without one there is no session to touch.
 *   - The login throttle's file is the daemon's alone to make: without
 *     one, nothing is locked out (throttle_open); lockouts and unlock open
 *     nothing else (STORE_NO_USERS).
 * Every part a command needs is open before it changes anything, so a
 * part that cannot be opened changes nothing.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "ctl.h"

static int  ctl_load(struct ctl *);
static int  ctl_store_flags(int);
static int  ctl_db_exists(const struct ctl *);

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

/* store_open's flags for what needs (CTL_NEED_*) asks. */
static int
ctl_store_flags(int needs)
{
    int flags = STORE_AS_IS;

    if (needs & CTL_NEED_DB_CREATE)
        flags |= STORE_CREATE;
    else if (!(needs & CTL_NEED_DB))
        flags |= STORE_NO_USERS;
    if (needs & CTL_NEED_SESSIONS)
        flags |= STORE_SESSIONS_IF_ANY;
    else
        flags |= STORE_NO_SESSIONS;
    if (!(needs & CTL_NEED_THROTTLE))
        flags |= STORE_NO_THROTTLE;
    return flags;
}

/* The file store's users.db is there, looked at before store_open, which
 * would make the lock file.  0 or an exit status. */
static int
ctl_db_exists(const struct ctl *c)
{
    struct stat st;
    char        path[PATH_MAX];
    int         n;

    n = snprintf(path, sizeof(path), "%s/users.db", c->dir);
    if (n < 0 || (size_t)n >= sizeof(path))
        return ctl_err("%s: path too long", c->dir);
    if (lstat(path, &st) == -1 && errno == ENOENT)
        return ctl_err("no database in %s (userapid makes one when it "
            "starts; useradd and import do too)", c->dir);
    return 0;
}

/*
 * Opens c->store with the parts needs (CTL_NEED_*) asks for, once the
 * configuration is loaded.  0 or an exit status.
 */
int
ctl_store_open(struct ctl *c, int needs)
{
    char err[STORE_ERR_LEN];
    int  rc, flags = ctl_store_flags(needs);

    if (c->cfg.storage == CONFIG_STORAGE_FILE) {
        if ((needs & CTL_NEED_DB) && !(needs & CTL_NEED_DB_CREATE) &&
            (rc = ctl_db_exists(c)) != 0)
            return rc;
        /* Files may be made or replaced: owner.c gives them back. */
        if (!(flags & STORE_NO_USERS))
            c->touched = 1;
    }
    err[0] = '\0';
    if ((c->store = store_open(&c->cfg, flags, err, sizeof(err))) == NULL)
        return ctl_err("%s", err[0] != '\0' ? err : strerror(errno));
    return 0;
}

/* A failed store call, said as the store says it; returns EXIT_RUNTIME. */
int
ctl_store_err(const struct ctl *c)
{
    const char *why = store_errmsg(c->store);

    return ctl_err("%s", why[0] != '\0' ? why : strerror(errno));
}

/*
 * What needs (CTL_NEED_*) asks for: the configuration and the state
 * directory, then the store, unless only the configuration is needed.
 * 0 or an exit status; ctl_close undoes any part.
 */
int
ctl_open(struct ctl *c, int needs)
{
    int rc;

    if (needs == 0)
        return 0;
    if ((rc = ctl_load(c)) != 0)
        return rc;
    if (needs == CTL_NEED_CONFIG)
        return 0;
    return ctl_store_open(c, needs);
}

void
ctl_close(struct ctl *c)
{
    store_close(c->store);
    c->store = NULL;
}
