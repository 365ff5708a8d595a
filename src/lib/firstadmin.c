/* SPDX-License-Identifier: MIT */
/*
 * firstadmin.c - the first administrator and its password file; see
 * firstadmin.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "auth.h"
#include "config.h"
#include "firstadmin.h"
#include "log.h"

static int firstadmin_write(const char *path, const char *pw);

int
firstadmin_create(const char *state_dir, long min_length, unsigned long cost,
    struct store *st)
{
    char    pw[CONFIG_MAX_PASSWORD + 1], path[PATH_MAX];
    char    hash[AUTH_HASH_SIZE];
    size_t  len = CRYPTO_RANDOM_PASSWORD_LEN, n;
    int     rc = -1;

    if (store_user_count(st, 0, &n) == -1) {
        log_msg(LOG_ERR, "cannot count the users: %s", store_errmsg(st));
        return -1;
    }
    if (n != 0)
        return 0;
    /* As long as min_password_length asks, so it can be typed back in. */
    if (min_length > (long)len)
        len = min_length > CONFIG_MAX_PASSWORD ? CONFIG_MAX_PASSWORD :
            (size_t)min_length;
    if (crypto_random_password(pw, len + 1) == -1 ||
        auth_hash_password(pw, cost, hash, sizeof(hash)) == -1) {
        log_msg(LOG_ERR, "cannot make the first administrator: %s", strerror(errno));
        goto out;
    }
    /* The file first: an account nobody can read the password of would
     * lock everyone out. */
    snprintf(path, sizeof(path), "%s/%s", state_dir, FIRSTADMIN_FILE);
    if (firstadmin_write(path, pw) == -1)
        goto out;
    if ((rc = store_first_admin(st, hash, (int64_t)time(NULL))) != 1) {
        if (rc == -1)
            log_msg(LOG_ERR, "cannot add the first administrator: %s",
                store_errmsg(st));
        unlink(path);
        goto out;
    }
    log_event(LOG_NOTICE, MSGID_USER_CREATED, NULL,
        "created the first administrator %s; its password is in %s",
        FIRSTADMIN_EMAIL, path);
    if (isatty(STDERR_FILENO))
        fprintf(stderr, "\n  First administrator: %s\n"
            "  Password:            %s\n  (also in %s)\n\n", FIRSTADMIN_EMAIL,
            pw, path);
out:
    explicit_bzero(pw, sizeof(pw));
    explicit_bzero(hash, sizeof(hash));
    return rc;
}

/* pw and a newline into a new 0600 file at path, synced.  0 or -1, logged. */
static int
firstadmin_write(const char *path, const char *pw)
{
    size_t len = strlen(pw);
    int    fd;

    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd == -1 || fchmod(fd, 0600) == -1 || write(fd, pw, len) != (ssize_t)len ||
        write(fd, "\n", 1) != 1 || fsync(fd) == -1) {
        log_msg(LOG_ERR, "%s: %s", path, strerror(errno));
        if (fd != -1)
            close(fd);
        return -1;
    }
    if (close(fd) == -1) {
        log_msg(LOG_ERR, "%s: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}

int
firstadmin_forget(const char *state_dir, const char *email, const char *what)
{
    char path[PATH_MAX];

    if (strcmp(email, FIRSTADMIN_EMAIL) != 0)
        return 0;
    snprintf(path, sizeof(path), "%s/%s", state_dir, FIRSTADMIN_FILE);
    if (unlink(path) == 0) {
        log_msg(LOG_NOTICE, "removed %s: the password it holds is no longer "
            "%s's (%s)", path, FIRSTADMIN_EMAIL, what);
        return 1;
    }
    if (errno == ENOENT)
        return 0;
    log_msg(LOG_WARNING, "cannot remove %s: %s", path, strerror(errno));
    return -1;
}
