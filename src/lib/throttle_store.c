/* SPDX-License-Identifier: MIT */
/*
 * throttle_store.c - making, checking and mapping STATE_DIR/throttle and
 * the master's anonymous connection mapping; see throttle_store.h for the
 * layout and its invariants.
 *
 * The master uses the file in place when it is whole, of this version and
 * of this boot; otherwise it makes a new one (THROTTLE_FILE ".new",
 * renamed into place), with a warning when the old one was damaged or of
 * another version.  When the boot id cannot be read, every start of the
 * master makes the file afresh: counts then do not survive a restart, as
 * they must not survive a reboot.  userapictl never makes or replaces the
 * file, and takes one of another boot as counting nothing.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "auth.h"
#include "log.h"
#include "throttle_store.h"

#define THR_BOOT_ID_PATH    "/proc/sys/kernel/random/boot_id"

static const char *thr_boot_override;

static int  thr_conns_create(struct throttle *);
static int  thr_mutex_init(pthread_mutex_t *);
static void thr_header_init(struct thr_header *, const char *);
static int  thr_file_init(struct thr_file *);
static const char *thr_layout_why(const struct thr_file *, size_t);
static int  thr_map(struct throttle *, int, const char **, char *, size_t);
static int  thr_use_or_remake(struct throttle *, char *, size_t);
static int  thr_attach(struct throttle *, char *, size_t);

void
throttle_set_boot_id(const char *id)
{
    thr_boot_override = id;
}

/* Read once per process: it does not change while the machine runs. */
const char *
thr_boot_id(void)
{
    static char id[THR_BOOT_ID_LEN];
    static int  read_once;
    FILE       *fp;

    if (thr_boot_override != NULL)
        return thr_boot_override;
    if (read_once)
        return id;
    read_once = 1;
    if ((fp = fopen(THR_BOOT_ID_PATH, "re")) == NULL)
        return id;
    if (fgets(id, sizeof(id), fp) == NULL)
        id[0] = '\0';
    id[strcspn(id, "\n")] = '\0';
    fclose(fp);
    return id;
}

static int
thr_mutex_init(pthread_mutex_t *m)
{
    pthread_mutexattr_t a;
    int                 rc;

    if (pthread_mutexattr_init(&a) != 0)
        return -1;
    pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
    pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
    rc = pthread_mutex_init(m, &a);
    pthread_mutexattr_destroy(&a);
    return rc == 0 ? 0 : -1;
}

/* The connection table: the master's own, fresh at every start. */
static int
thr_conns_create(struct throttle *t)
{
    struct thr_conns *c;

    c = mmap(NULL, sizeof(*c), PROT_READ | PROT_WRITE,
        MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (c == MAP_FAILED)
        return -1;
    if (crypto_random_bytes(c->seed, sizeof(c->seed)) == -1 ||
        thr_mutex_init(&c->lock) == -1) {
        munmap(c, sizeof(*c));
        errno = ENOMEM;
        return -1;
    }
    c->meta.swept = INT64_MIN;
    t->c = c;
    return 0;
}

/* A header of this layout and boot, with no seed or lock yet. */
static void
thr_header_init(struct thr_header *h, const char *boot)
{
    memcpy(h->magic, THR_MAGIC, sizeof(h->magic));
    h->version = THR_VERSION;
    h->header_size = THR_HEADER_SIZE;
    h->entry_sizes[0] = sizeof(struct thr_acct);
    h->entry_sizes[1] = sizeof(struct thr_addr);
    h->entry_sizes[2] = sizeof(struct thr_pair);
    h->entry_sizes[3] = sizeof(struct thr_limit);
    h->slots[0] = THR_ACCT_SLOTS;
    h->slots[1] = THR_ADDR_SLOTS;
    h->slots[2] = THR_PAIR_SLOTS;
    h->slots[3] = THR_REG_SLOTS;
    h->mutex_size = sizeof(pthread_mutex_t);
    h->file_size = sizeof(struct thr_file);
    snprintf(h->boot_id, sizeof(h->boot_id), "%s", boot);
    /* Any clock reading, even 0, is a second not yet swept. */
    h->acct_meta.swept = INT64_MIN;
    h->addr_meta.swept = INT64_MIN;
    h->pair_meta.swept = INT64_MIN;
    h->reg_meta.swept = INT64_MIN;
}

/* A new file's header, seed and lock, its tables being zero.  0 or -1. */
static int
thr_file_init(struct thr_file *f)
{
    thr_header_init(&f->u.h, thr_boot_id());
    if (crypto_random_bytes(f->u.h.seed, sizeof(f->u.h.seed)) == -1)
        return -1;
    return thr_mutex_init(&f->u.h.lock);
}

/* Why f (size bytes) is not a throttle file of this version, or NULL. */
static const char *
thr_layout_why(const struct thr_file *f, size_t size)
{
    struct thr_header want;

    memset(&want, 0, sizeof(want));
    thr_header_init(&want, "");
    if (memcmp(f->u.h.magic, THR_MAGIC, sizeof(f->u.h.magic)) != 0)
        return "not a throttle file";
    if (f->u.h.version != THR_VERSION)
        return "a throttle file of another version";
    if (f->u.h.header_size != want.header_size ||
        memcmp(f->u.h.entry_sizes, want.entry_sizes,
        sizeof(want.entry_sizes)) != 0 ||
        memcmp(f->u.h.slots, want.slots, sizeof(want.slots)) != 0 ||
        f->u.h.mutex_size != want.mutex_size ||
        f->u.h.file_size != size)
        return "a throttle file of another layout";
    if (memchr(f->u.h.boot_id, '\0', sizeof(f->u.h.boot_id)) == NULL)
        return "a damaged header";
    return NULL;
}

/*
 * Maps the file open on fd into t->f when it is whole and of this
 * layout.  0; 1 with *why when it is not; -1 with err for a failure.
 */
static int
thr_map(struct throttle *t, int fd, const char **why, char *err,
    size_t errlen)
{
    struct stat st;
    void       *p;

    if (fstat(fd, &st) == -1) {
        snprintf(err, errlen, "%s: %s", t->path, strerror(errno));
        return -1;
    }
    if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size !=
        sizeof(struct thr_file)) {
        *why = S_ISREG(st.st_mode) ? "a file of the wrong size" :
            "not a regular file";
        return 1;
    }
    p = mmap(NULL, sizeof(struct thr_file), PROT_READ | PROT_WRITE,
        MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) {
        snprintf(err, errlen, "%s: mmap: %s", t->path, strerror(errno));
        return -1;
    }
    if ((*why = thr_layout_why(p, (size_t)st.st_size)) != NULL) {
        munmap(p, sizeof(struct thr_file));
        return 1;
    }
    t->f = p;
    return 0;
}

int
thr_store_remake(struct throttle *t, char *err, size_t errlen)
{
    struct thr_file *f = MAP_FAILED;
    char             tmp[sizeof(t->path) + 8];
    int              fd, rc, ok = 0;

    snprintf(tmp, sizeof(tmp), "%s.new", t->path);
    fd = open(tmp, O_RDWR | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd == -1) {
        snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
        return -1;
    }
    if ((rc = posix_fallocate(fd, 0, sizeof(*f))) != 0)
        snprintf(err, errlen, "%s: %s", tmp, strerror(rc));
    else if ((f = mmap(NULL, sizeof(*f), PROT_READ | PROT_WRITE,
        MAP_SHARED, fd, 0)) == MAP_FAILED)
        snprintf(err, errlen, "%s: mmap: %s", tmp, strerror(errno));
    else if (thr_file_init(f) == -1)
        snprintf(err, errlen, "%s: cannot set up the seed and the lock", tmp);
    else if (rename(tmp, t->path) == -1)
        snprintf(err, errlen, "%s: %s", t->path, strerror(errno));
    else
        ok = 1;
    close(fd);
    if (!ok) {
        if (f != MAP_FAILED)
            munmap(f, sizeof(*f));
        unlink(tmp);
        return -1;
    }
    if (t->f != NULL)
        munmap(t->f, sizeof(*t->f));
    t->f = f;
    return 0;
}

/* The master: the file in place when it is usable, else a new one. */
static int
thr_use_or_remake(struct throttle *t, char *err, size_t errlen)
{
    const char *why = NULL, *boot = thr_boot_id();
    int         fd, rc;

    fd = open(t->path, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
    if (fd == -1 && errno != ENOENT && errno != ELOOP) {
        snprintf(err, errlen, "%s: %s", t->path, strerror(errno));
        return -1;
    }
    if (fd == -1) {
        why = errno == ELOOP ? "a symbolic link" : NULL;
        rc = 1;
    } else {
        rc = thr_map(t, fd, &why, err, errlen);
        close(fd);
    }
    if (rc == -1)
        return -1;
    if (rc == 0 && boot[0] != '\0' && strcmp(t->f->u.h.boot_id, boot) == 0)
        return 0;
    if (why != NULL)
        log_msg(LOG_WARNING, "%s: %s; making it afresh", t->path, why);
    else if (rc == 0 && boot[0] == '\0')
        log_msg(LOG_INFO, "%s: the boot id is unknown; counts start afresh",
            t->path);
    else if (rc == 0)
        log_msg(LOG_INFO, "%s: counts of an earlier boot; making it afresh",
            t->path);
    return thr_store_remake(t, err, errlen);
}

/* userapictl: the file as it is; none, or one of another boot, is no
 * file. */
static int
thr_attach(struct throttle *t, char *err, size_t errlen)
{
    const char *why = NULL;
    int         fd, rc;

    if ((fd = open(t->path, O_RDWR | O_NOFOLLOW | O_CLOEXEC)) == -1) {
        if (errno == ENOENT)
            return 0;
        snprintf(err, errlen, "%s: %s", t->path, strerror(errno));
        return -1;
    }
    rc = thr_map(t, fd, &why, err, errlen);
    close(fd);
    if (rc == 1)
        snprintf(err, errlen, "%s: %s (userapid makes it afresh when it "
            "starts)", t->path, why);
    if (rc != 0)
        return -1;
    if (strcmp(t->f->u.h.boot_id, thr_boot_id()) != 0) {
        munmap(t->f, sizeof(*t->f));
        t->f = NULL;
    }
    return 0;
}

int
thr_store_open(struct throttle *t, const char *state_dir, int flags,
    char *err, size_t errlen)
{
    int n;

    n = snprintf(t->path, sizeof(t->path), "%s/%s", state_dir, THROTTLE_FILE);
    if (n < 0 || (size_t)n >= sizeof(t->path) - 8) {
        snprintf(err, errlen, "%s: path too long", state_dir);
        return -1;
    }
    if (!(flags & THROTTLE_DAEMON))
        return thr_attach(t, err, errlen);
    if (thr_conns_create(t) == -1) {
        snprintf(err, errlen, "cannot map the connection counts: %s",
            strerror(errno));
        return -1;
    }
    if (thr_use_or_remake(t, err, errlen) == -1) {
        thr_store_close(t);
        return -1;
    }
    return 0;
}

void
thr_store_close(struct throttle *t)
{
    if (t->f != NULL)
        munmap(t->f, sizeof(*t->f));
    if (t->c != NULL)
        munmap(t->c, sizeof(*t->c));
    t->f = NULL;
    t->c = NULL;
}
