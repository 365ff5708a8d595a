/* SPDX-License-Identifier: MIT */
/*
 * preload.c - an LD_PRELOAD shim for the integration tests: it watches or
 * breaks a few libc calls of the programs under test, so that tests can
 * prove what cannot be seen from outside.
 *
 *   USERAPID_TEST_CALL_LOG=FILE   appends "fsync FD PATH", "fdatasync FD
 *                                 PATH" and "rename FROM TO" lines, in the
 *                                 order the calls were made (PATH from
 *                                 /proc/self/fd, so a file synced before
 *                                 its rename shows its temporary name)
 *   USERAPID_TEST_FAIL_STRDUP=S   strdup(S) fails with ENOMEM
 *
 * Built as a shared object by the Makefile; without those variables it
 * changes nothing.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int   fsync(int fd);
int   fdatasync(int fd);
int   renameat(int olddirfd, const char *oldpath, int newdirfd, const char *newpath);
int   rename(const char *oldpath, const char *newpath);
char *strdup(const char *s);

static void
preload_log(const char *fmt, const char *a, const char *b, int fd)
{
    const char *path = getenv("USERAPID_TEST_CALL_LOG");
    char        line[PATH_MAX * 2 + 64], link[64], target[PATH_MAX];
    ssize_t     n;
    int         lfd, len;

    if (path == NULL)
        return;
    if (fd >= 0) {
        snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
        n = readlink(link, target, sizeof(target) - 1);
        target[n < 0 ? 0 : n] = '\0';
        a = target;
    }
    len = snprintf(line, sizeof(line), fmt, a, b);
    if (len < 0 || (size_t)len >= sizeof(line))
        return;
    lfd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (lfd == -1)
        return;
    if (write(lfd, line, (size_t)len) != len)
        (void)0;
    close(lfd);
}

int
fsync(int fd)
{
    int (*real)(int) = (int (*)(int))dlsym(RTLD_NEXT, "fsync");

    preload_log("fsync %s%s\n", NULL, "", fd);
    return real(fd);
}

int
fdatasync(int fd)
{
    int (*real)(int) = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync");

    preload_log("fdatasync %s%s\n", NULL, "", fd);
    return real(fd);
}

int
renameat(int olddirfd, const char *oldpath, int newdirfd, const char *newpath)
{
    int (*real)(int, const char *, int, const char *) =
        (int (*)(int, const char *, int, const char *))dlsym(RTLD_NEXT, "renameat");

    preload_log("rename %s %s\n", oldpath, newpath, -1);
    return real(olddirfd, oldpath, newdirfd, newpath);
}

int
rename(const char *oldpath, const char *newpath)
{
    int (*real)(const char *, const char *) =
        (int (*)(const char *, const char *))dlsym(RTLD_NEXT, "rename");

    preload_log("rename %s %s\n", oldpath, newpath, -1);
    return real(oldpath, newpath);
}

char *
strdup(const char *s)
{
    const char *fail = getenv("USERAPID_TEST_FAIL_STRDUP");
    size_t      len;
    char       *p;

    if (fail != NULL && strcmp(s, fail) == 0) {
        errno = ENOMEM;
        return NULL;
    }
    len = strlen(s) + 1;
    if ((p = malloc(len)) != NULL)
        memcpy(p, s, len);
    return p;
}
