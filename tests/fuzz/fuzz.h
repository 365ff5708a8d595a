/* SPDX-License-Identifier: MIT */
/*
 * fuzz.h - what the libFuzzer targets in tests/fuzz/ share: an invariant
 * check that aborts (so libFuzzer saves the input), a scratch directory
 * made once per process, and whole-file writes.
 *
 * Header-only on purpose: each target is one .c file linked with the
 * daemon's modules, and nothing here is worth a library.
 */
#ifndef USERAPID_FUZZ_H
#define USERAPID_FUZZ_H

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "log.h"

/* An invariant the code under test must keep; a violation is a finding. */
#define FUZZ_CHECK(c) do {                                              \
        if (!(c)) {                                                     \
            fprintf(stderr, "%s:%d: invariant violated: %s\n",          \
                __FILE__, __LINE__, #c);                                \
            abort();                                                    \
        }                                                               \
    } while (0)

/* Set-up that cannot fail in a sane environment: give up loudly. */
#define FUZZ_SETUP(c) do {                                              \
        if (!(c)) {                                                     \
            fprintf(stderr, "%s:%d: fuzz set-up failed: %s: %s\n",      \
                __FILE__, __LINE__, #c, strerror(errno));               \
            exit(2);                                                    \
        }                                                               \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static char fuzz_dir[256];

/* Empties and removes fuzz_dir (flat: the code under test makes no
 * subdirectories). */
static inline void
fuzz_dir_remove(void)
{
    DIR            *d;
    struct dirent  *e;
    char            path[512];

    if (fuzz_dir[0] == '\0' || (d = opendir(fuzz_dir)) == NULL)
        return;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        if (snprintf(path, sizeof(path), "%s/%s", fuzz_dir, e->d_name) <
            (int)sizeof(path))
            unlink(path);
    }
    closedir(d);
    rmdir(fuzz_dir);
}

/*
 * A fresh 0700 directory for this process, removed at exit.  /dev/shm when
 * it is there: the user database fsyncs every change, which costs nothing
 * on tmpfs and milliseconds on a disk.  $TMPDIR, then /tmp, otherwise.
 */
static inline const char *
fuzz_dir_make(void)
{
    const char *base = "/dev/shm";

    if (access(base, W_OK) != 0 && ((base = getenv("TMPDIR")) == NULL ||
        *base == '\0'))
        base = "/tmp";
    FUZZ_SETUP(snprintf(fuzz_dir, sizeof(fuzz_dir), "%s/userapid-fuzz-XXXXXX",
        base) < (int)sizeof(fuzz_dir));
    FUZZ_SETUP(mkdtemp(fuzz_dir) != NULL);
    atexit(fuzz_dir_remove);
    return fuzz_dir;
}

/* Replaces path with data[0..size).  0, or -1 with errno. */
static inline int
fuzz_write_file(const char *path, const void *data, size_t size)
{
    const char *p = data;
    ssize_t     n;
    int         fd;

    if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) == -1)
        return -1;
    while (size > 0) {
        if ((n = write(fd, p, size)) <= 0) {
            if (n == -1 && errno == EINTR)
                continue;
            close(fd);
            return -1;
        }
        p += n;
        size -= (size_t)n;
    }
    return close(fd);
}

/* The journal or stderr would see every rejected input: quiet, unless
 * USERAPID_FUZZ_LOG is set (to read what a reproducer does). */
static inline void
fuzz_quiet_logs(void)
{
    log_init("userapid-fuzz", getenv("USERAPID_FUZZ_LOG") != NULL ?
        LOG_DEBUG : -1);
}

#endif
