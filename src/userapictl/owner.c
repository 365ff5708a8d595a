/* SPDX-License-Identifier: MIT */
/*
 * owner.c - who the state files belong to when userapictl runs as root.
 *
 * The packaged daemon runs as a DynamicUser that owns its state
 * directory; a file root made or replaced there would be root's, and the
 * daemon could not open it.  So root becomes the directory's owner before
 * opening anything, and every file is the daemon's from the first moment.
 * When the directory is root's but its files are not (a root directory
 * shared with a group), root stays root and gives the files it made or
 * replaced to the owner of users.db as it was (or of the session table,
 * or of the directory) once the command is done.
 *
 * Invariant: only regular files with one link that are root's are given
 * away, each through a descriptor opened without following links.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctl.h"

/*
 * Who the state files belong to, before we change any: the owner of
 * users.db, else of the session table, else of the directory (dirst).
 */
void
ctl_owner(struct ctl *c, const struct stat *dirst)
{
    static const char *const files[] = { "users.db", SESSION_FILE };
    struct stat st;
    char        path[PATH_MAX];
    size_t      i;
    int         n;

    c->owner_uid = dirst->st_uid;
    c->owner_gid = dirst->st_gid;
    for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        n = snprintf(path, sizeof(path), "%s/%s", c->dir, files[i]);
        if (n > 0 && (size_t)n < sizeof(path) && lstat(path, &st) == 0 &&
            S_ISREG(st.st_mode)) {
            c->owner_uid = st.st_uid;
            c->owner_gid = st.st_gid;
            return;
        }
    }
}

/*
 * Root on a directory (dirst) that belongs to the daemon's user
 * (DynamicUser or a system user) becomes that user: user, group, no
 * supplementary groups.  The directory is entered first: under
 * DynamicUser its path runs through /var/lib/private, which only root may
 * cross.  0 or an exit status.
 */
int
ctl_become_owner(struct ctl *c, const struct stat *dirst)
{
    if (geteuid() != 0 || dirst->st_uid == 0)
        return 0;
    if (chdir(c->dir) == -1)
        return ctl_err("state directory %s: %s", c->dir, strerror(errno));
    if (setgroups(0, NULL) == -1 || setgid(dirst->st_gid) == -1 ||
        setuid(dirst->st_uid) == -1)
        return ctl_err("cannot become the owner of %s (%lu:%lu): %s", c->dir,
            (unsigned long)dirst->st_uid, (unsigned long)dirst->st_gid,
            strerror(errno));
    /* The store opens its files where the configuration says: here. */
    snprintf(c->cfg.state_dir, sizeof(c->cfg.state_dir), ".");
    c->dir = c->cfg.state_dir;
    return 0;
}

/*
 * As root, gives the files the file store may have made or replaced,
 * now root's, to whom they belonged (ctl_owner), who runs the daemon.
 * Files of other owners are left alone.  Each is opened O_PATH|O_NOFOLLOW
 * and changed through that descriptor, and only when it is a regular file
 * with one link: the directory's owner could put a link to some other
 * file in its place.
 */
int
ctl_fix_owner(const struct ctl *c)
{
    static const char *const files[] = {
        "users.db", "users.db.lock", "users.db.tmp", SESSION_FILE
    };
    struct stat st;
    size_t      i;
    int         dfd, fd, rc = 0;

    if (geteuid() != 0 || c->owner_uid == 0)
        return 0;
    if ((dfd = open(c->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
        return ctl_err("state directory %s: %s", c->dir, strerror(errno));
    for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        fd = openat(dfd, files[i], O_PATH | O_NOFOLLOW | O_CLOEXEC);
        if (fd == -1) {
            if (errno != ENOENT)
                rc = ctl_err("%s/%s: %s", c->dir, files[i], strerror(errno));
            continue;
        }
        if (fstat(fd, &st) == -1) {
            rc = ctl_err("%s/%s: %s", c->dir, files[i], strerror(errno));
        } else if (S_ISREG(st.st_mode) && st.st_nlink == 1 &&
            st.st_uid == 0 && fchownat(fd, "", c->owner_uid, c->owner_gid,
            AT_EMPTY_PATH) == -1) {
            rc = ctl_err("%s/%s: cannot give it back to %lu:%lu: %s",
                c->dir, files[i], (unsigned long)c->owner_uid,
                (unsigned long)c->owner_gid, strerror(errno));
        }
        close(fd);
    }
    close(dfd);
    return rc;
}
