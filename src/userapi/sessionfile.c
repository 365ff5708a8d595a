/* SPDX-License-Identifier: MIT */
/*
 * sessionfile.c - the saved session: the token login got and the email
 * it belongs to, in one file per server, under $XDG_RUNTIME_DIR/userapi/
 * (or ~/.cache/userapi/).
 *
 * Invariants: the directory is ours and of mode 0700 (made so when
 * others may enter it), a file is ours, of mode 0600, and holds
 * "TOKEN\nEMAIL\n" with a token of base64url characters and an email
 * without control characters, so that neither can carry anything into a
 * header or onto a terminal.  A file is written aside, synced and renamed
 * over the old one, so a reader or a crash sees the old session or the
 * new one, never half of one.  Every copy of a token read or written
 * here is wiped.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto.h"
#include "userapi.h"

#define UA_NAME_MAX     200     /* a session file's name, encoded */
#define UA_FILE_MAX     (UA_TOKEN_MAX + UA_EMAIL_MAX + 4)

/* Whether t[0..len) may be a token: 1..UA_TOKEN_MAX base64url
 * characters, which a header or the session file can carry as they are. */
int
ua_token_ok(const char *t, size_t len)
{
    size_t i;

    if (len == 0 || len > UA_TOKEN_MAX)
        return 0;
    for (i = 0; i < len; i++)
        if (!isalnum((unsigned char)t[i]) && t[i] != '-' && t[i] != '_')
            return 0;
    return 1;
}

/*
 * The session file's name for server into out (UA_NAME_MAX + 8 bytes):
 * the URL with every byte but [A-Za-z0-9.-] written as _XX, which no two
 * URLs share and which holds no slash; "sha256-HEX" of the URL when that
 * would be too long.
 */
static void
ua_session_name(const char *server, char out[UA_NAME_MAX + 8])
{
    static const char hex[] = "0123456789abcdef";
    uint8_t           sum[CRYPTO_SHA256_LEN];
    const char       *p;
    size_t            n = 0, i;

    for (p = server; *p != '\0' && n + 4 <= UA_NAME_MAX; p++) {
        unsigned char c = (unsigned char)*p;

        if (isalnum(c) || c == '.' || c == '-') {
            out[n++] = (char)c;
        } else {
            out[n++] = '_';
            out[n++] = hex[c >> 4];
            out[n++] = hex[c & 0xf];
        }
    }
    if (*p == '\0') {
        out[n] = '\0';
        return;
    }
    /* 7 + 64 bytes and the NUL: less than UA_NAME_MAX. */
    crypto_sha256(server, strlen(server), sum);
    n = (size_t)snprintf(out, UA_NAME_MAX + 8, "sha256-");
    for (i = 0; i < sizeof(sum); i++) {
        out[n++] = hex[sum[i] >> 4];
        out[n++] = hex[sum[i] & 0xf];
    }
    out[n] = '\0';
}

/* Makes the directory path, of mode 0700, unless it exists.  0, or -1
 * after saying why. */
static int
ua_mkdir(const char *path)
{
    if (mkdir(path, 0700) == -1 && errno != EEXIST) {
        ua_err("%s: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}

/*
 * The directory that holds the saved sessions into path (PATH_MAX
 * bytes): $XDG_RUNTIME_DIR/userapi when that is an absolute path, else
 * ~/.cache/userapi, making ~/.cache with create.  0, or -1 after saying
 * why.
 */
static int
ua_session_dir_path(int create, char *path)
{
    const char    *base = getenv("XDG_RUNTIME_DIR");
    struct passwd *pw;
    char           parent[PATH_MAX];
    int            n;

    if (base == NULL || base[0] != '/') {
        base = getenv("HOME");
        if ((base == NULL || base[0] != '/') &&
            (pw = getpwuid(geteuid())) != NULL)
            base = pw->pw_dir;
        if (base == NULL || base[0] != '/') {
            ua_err("neither XDG_RUNTIME_DIR nor HOME names a directory "
                "for the saved session");
            return -1;
        }
        n = snprintf(parent, sizeof(parent), "%s/.cache", base);
        if (n < 0 || (size_t)n >= sizeof(parent)) {
            ua_err("%s: path too long", base);
            return -1;
        }
        if (create && ua_mkdir(parent) == -1)
            return -1;
        base = parent;
    }
    n = snprintf(path, PATH_MAX, "%s/userapi", base);
    if (n < 0 || n >= PATH_MAX) {
        ua_err("%s: path too long", base);
        return -1;
    }
    return 0;
}

/*
 * Opens the directory of saved sessions into *fdp, made first with
 * create.  One that is not ours is refused, and one that others may enter
 * is made 0700.  0; 1 when there is none and create is 0; -1 after saying
 * why.
 */
static int
ua_session_dir(int create, int *fdp)
{
    struct stat st;
    const char *why;
    char        path[PATH_MAX];
    int         fd;

    *fdp = -1;
    if (ua_session_dir_path(create, path) == -1)
        return -1;
    if (create && ua_mkdir(path) == -1)
        return -1;
    fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd == -1) {
        if (errno == ENOENT && !create)
            return 1;
        ua_err("%s: %s", path, strerror(errno));
        return -1;
    }
    if (fstat(fd, &st) == -1)
        why = strerror(errno);
    else if (st.st_uid != geteuid())
        why = "belongs to someone else; not using it";
    else if ((st.st_mode & 077) != 0 && fchmod(fd, 0700) == -1)
        why = strerror(errno);
    else {
        *fdp = fd;
        return 0;
    }
    ua_err("%s: %s", path, why);
    close(fd);
    return -1;
}

/*
 * Opens the file saved for the server into *fdp.  0; UA_EXIT_AUTH when
 * there is none; UA_EXIT_FAIL after saying why it cannot be read.
 */
static int
ua_session_open(const struct ua *ua, int *fdp)
{
    struct stat st;
    char        name[UA_NAME_MAX + 8];
    int         dfd, fd;

    ua_session_name(ua->server, name);
    switch (ua_session_dir(0, &dfd)) {
    case 0:
        break;
    case 1:
        return UA_EXIT_AUTH;
    default:
        return UA_EXIT_FAIL;
    }
    fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    close(dfd);
    if (fd == -1 && errno == ENOENT)
        return UA_EXIT_AUTH;
    if (fd == -1)
        return ua_err("saved session for %s: %s", ua->server, strerror(errno));
    if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) ||
        st.st_uid != geteuid()) {
        close(fd);
        return ua_err("saved session for %s: not a file of ours",
            ua->server);
    }
    *fdp = fd;
    return 0;
}

/* All of fd, up to size - 1 bytes, into data as a string.  0; -1 when it
 * is larger; UA_EXIT_FAIL after saying why it cannot be read. */
static int
ua_session_read(const struct ua *ua, int fd, char *data, size_t size)
{
    size_t  len = 0;
    ssize_t n;

    for (;;) {
        n = read(fd, data + len, size - len);
        if (n == -1 && errno == EINTR)
            continue;
        if (n == -1)
            return ua_err("saved session for %s: %s", ua->server,
                strerror(errno));
        if (n == 0)
            break;
        len += (size_t)n;
        if (len == size)
            return -1;
    }
    data[len] = '\0';
    return 0;
}

/* "TOKEN\nEMAIL\n" in data into s.  0, or -1 when it is not that. */
static int
ua_session_parse(char *data, struct ua_session *s)
{
    char *nl, *email, *end;

    if ((nl = strchr(data, '\n')) == NULL)
        return -1;
    *nl = '\0';
    email = nl + 1;
    if ((end = strchr(email, '\n')) == NULL || end[1] != '\0')
        return -1;
    *end = '\0';
    if (!ua_token_ok(data, (size_t)(nl - data)) || *email == '\0' ||
        strlen(email) > UA_EMAIL_MAX || !ua_text_ok(email))
        return -1;
    memcpy(s->token, data, (size_t)(nl - data) + 1);
    memcpy(s->email, email, strlen(email) + 1);
    return 0;
}

/*
 * Reads the session saved for the server into s.  0; UA_EXIT_AUTH when
 * there is none (said unless quiet); UA_EXIT_FAIL after saying why it
 * cannot be used.
 */
int
ua_session_load(const struct ua *ua, struct ua_session *s, int quiet)
{
    char data[UA_FILE_MAX];
    int  fd = -1, rc;

    memset(s, 0, sizeof(*s));
    if ((rc = ua_session_open(ua, &fd)) == UA_EXIT_AUTH && !quiet)
        fprintf(stderr, "userapi: not logged in to %s (userapi login "
            "EMAIL)\n", ua->server);
    if (rc != 0)
        return rc;
    rc = ua_session_read(ua, fd, data, sizeof(data));
    close(fd);
    if (rc == 0)
        rc = ua_session_parse(data, s);
    if (rc == -1)
        rc = ua_err("saved session for %s is damaged; log in again",
            ua->server);
    explicit_bzero(data, sizeof(data));
    return rc;
}

/* All of data[0..len) to fd, then on disk.  0, or -1 with errno set. */
static int
ua_write_synced(int fd, const char *data, size_t len)
{
    size_t  off;
    ssize_t n;

    for (off = 0; off < len; off += (size_t)n) {
        n = write(fd, data + off, len - off);
        if (n == -1 && errno == EINTR)
            n = 0;
        else if (n == -1)
            return -1;
    }
    return fsync(fd);
}

/*
 * Writes s into a new file tmp of the directory dfd, of mode 0600, synced
 * and closed.  0, or UA_EXIT_FAIL after saying why.
 */
static int
ua_session_write(int dfd, const char *tmp, const struct ua_session *s)
{
    struct buf data;
    int        fd, rc = UA_EXIT_FAIL;

    ua_buf_init(&data);
    if (buf_append_str(&data, s->token) == -1 ||
        buf_append_str(&data, "\n") == -1 ||
        buf_append_str(&data, s->email) == -1 ||
        buf_append_str(&data, "\n") == -1) {
        buf_free(&data);
        return ua_err("out of memory");
    }
    /* A file left by an interrupted save would make O_EXCL fail. */
    if (unlinkat(dfd, tmp, 0) == -1 && errno != ENOENT) {
        ua_err("cannot save the session: %s: %s", tmp, strerror(errno));
        buf_free(&data);
        return UA_EXIT_FAIL;
    }
    fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
        O_CLOEXEC, 0600);
    /* On disk before it replaces the old file: a crash leaves the old
     * session or the new one, never an empty file. */
    if (fd != -1 && fchmod(fd, 0600) == 0 &&
        ua_write_synced(fd, data.data, data.len) == 0) {
        rc = close(fd) == 0 ? 0 : UA_EXIT_FAIL;
        fd = -1;
    }
    if (rc != 0)
        ua_err("cannot save the session: %s: %s", tmp, strerror(errno));
    if (fd != -1)
        close(fd);
    buf_free(&data);
    return rc;
}

/* Saves s for the server: written aside, then renamed over the old one,
 * and the rename synced.  0 or UA_EXIT_FAIL. */
int
ua_session_save(const struct ua *ua, const struct ua_session *s)
{
    char name[UA_NAME_MAX + 8], tmp[UA_NAME_MAX + 16];
    int  dfd, rc;

    ua_session_name(ua->server, name);
    snprintf(tmp, sizeof(tmp), "%s.tmp", name);
    if (ua_session_dir(1, &dfd) != 0)
        return UA_EXIT_FAIL;
    if ((rc = ua_session_write(dfd, tmp, s)) != 0) {
        unlinkat(dfd, tmp, 0);
    } else if (renameat(dfd, tmp, dfd, name) == -1) {
        rc = ua_err("cannot save the session: %s: %s", name, strerror(errno));
        unlinkat(dfd, tmp, 0);
    } else if (fsync(dfd) == -1) {
        rc = ua_err("cannot save the session: its directory: %s",
            strerror(errno));
    }
    close(dfd);
    return rc;
}

/* Forgets the session saved for the server.  0 or UA_EXIT_FAIL. */
int
ua_session_remove(const struct ua *ua)
{
    char name[UA_NAME_MAX + 8];
    int  dfd, rc;

    ua_session_name(ua->server, name);
    if ((rc = ua_session_dir(0, &dfd)) != 0)
        return rc == 1 ? 0 : UA_EXIT_FAIL;
    if (unlinkat(dfd, name, 0) == -1 && errno != ENOENT)
        rc = ua_err("cannot remove the saved session: %s", strerror(errno));
    close(dfd);
    return rc;
}
