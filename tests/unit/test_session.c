/* SPDX-License-Identifier: MIT */
/*
 * test_session.c - unit tests for session.c: issuing, looking up and
 * revoking sessions, idle and absolute expiry on a fake clock, the
 * per-user limit and a full table, per-user lists against a model, ids
 * and client addresses, the file's mode and contents, restarts, sharing
 * with forked processes, lock-free lookups under concurrent writers,
 * capacity changes and as-is opens, the upgrade of version-1 files, and
 * corrupt files and their repair.
 *
 * Each test gets a fresh state directory from mkdtemp; the fixture removes
 * it.  The clock is fake_now unless a test says otherwise, so expiry is
 * tested without sleeping.
 */
#include <check.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "auth.h"
#include "log.h"
#include "session.h"

#define T0          1700000000      /* the fake clock's start */
#define NPROC       8
#define PER_PROC    500

/* The file's layout (session.c): header, slots, user entries. */
#define HDR_SIZE    128
#define SLOT_SIZE   368
#define USER_SIZE   48

/* What list_cb saw: at most 4 sessions, then it asks to stop. */
struct listing {
    int     n;
    int64_t created[4];
    char    email[4][SESSION_EMAIL_MAX + 1];
};

static char     state_dir[64];
static char     sess_path[128];
static int64_t  fake_now;

static int64_t  fake_clock(void);
static void     sess_setup(void);
static void     sess_teardown(void);
static struct session_table *open_table(long, long, long);
static void     create(struct session_table *, const char *, int, char *);
static int      lookup(struct session_table *, const char *,
                    struct session_info *);
static void     assert_found(struct session_table *, const char *,
                    const char *);
static void     assert_not_found(struct session_table *, const char *);
static char    *read_file(const char *, size_t *);
static void     write_file(const char *, const void *, size_t);
static off_t    file_size(const char *);
static int      count_cb(const struct session_info *, void *);
static long     count_sessions(struct session_table *, const char *);
static int      list_cb(const struct session_info *, void *);
static int      child_create(struct session_table *, int, int, int);
static void     assert_check_ok(void);
static Suite   *session_suite(void);

static int64_t
fake_clock(void)
{
    return fake_now;
}

static void
sess_setup(void)
{
    snprintf(state_dir, sizeof(state_dir), "/tmp/userapid-test-sess-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(state_dir));
    snprintf(sess_path, sizeof(sess_path), "%s/%s", state_dir, SESSION_FILE);
    fake_now = T0;
    session_set_clock(fake_clock);
}

static void
sess_teardown(void)
{
    char            path[512];
    struct dirent  *de;
    DIR            *d;

    session_set_clock(NULL);
    if ((d = opendir(state_dir)) == NULL)
        return;
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        snprintf(path, sizeof(path), "%s/%s", state_dir, de->d_name);
        unlink(path);
    }
    closedir(d);
    rmdir(state_dir);
}

static struct session_table *
open_table(long max_sessions, long ttl, long max_age)
{
    struct session_cfg      cfg = { ttl, max_age, max_sessions, max_sessions };
    struct session_table   *t;
    char                    err[SESSION_ERR_LEN] = "";

    t = session_open(state_dir, &cfg, 0, err, sizeof(err));
    ck_assert_msg(t != NULL, "session_open: %s", err);
    return t;
}

static void
create(struct session_table *t, const char *email, int role, char *tok)
{
    ck_assert_int_eq(session_create(t, email, role, NULL, tok, NULL), 0);
    ck_assert_uint_eq(strlen(tok), CRYPTO_TOKEN_LEN);
}

static int
lookup(struct session_table *t, const char *tok, struct session_info *info)
{
    return session_lookup(t, tok, strlen(tok), info);
}

static void
assert_found(struct session_table *t, const char *tok, const char *email)
{
    struct session_info info;

    ck_assert_int_eq(lookup(t, tok, &info), 0);
    ck_assert_str_eq(info.email, email);
}

static void
assert_not_found(struct session_table *t, const char *tok)
{
    ck_assert_int_eq(lookup(t, tok, NULL), SESSION_NOT_FOUND);
}

static char *
read_file(const char *path, size_t *len)
{
    struct stat st;
    char       *p;
    ssize_t     n;
    int         fd;

    fd = open(path, O_RDONLY | O_CLOEXEC);
    ck_assert_msg(fd != -1, "%s: %s", path, strerror(errno));
    ck_assert_int_eq(fstat(fd, &st), 0);
    p = malloc((size_t)st.st_size + 1);
    ck_assert_ptr_nonnull(p);
    n = read(fd, p, (size_t)st.st_size);
    ck_assert_int_eq(n, st.st_size);
    close(fd);
    *len = (size_t)n;
    return p;
}

static void
write_file(const char *path, const void *data, size_t len)
{
    int fd;

    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    ck_assert_msg(fd != -1, "%s: %s", path, strerror(errno));
    ck_assert_int_eq(write(fd, data, len), (ssize_t)len);
    ck_assert_int_eq(close(fd), 0);
}

static off_t
file_size(const char *path)
{
    struct stat st;

    ck_assert_int_eq(stat(path, &st), 0);
    return st.st_size;
}

static int
count_cb(const struct session_info *info, void *arg)
{
    (void)info;
    (*(long *)arg)++;
    return 0;
}

static long
count_sessions(struct session_table *t, const char *email)
{
    long    n = 0;

    ck_assert_int_eq(session_foreach(t, email, count_cb, &n), 0);
    return n;
}

/* In a child: PER_PROC sessions, their tokens in <state_dir>/tokens.<id>,
 * once the parent closes the other end of start.  Returns an exit status. */
static int
child_create(struct session_table *t, int id, int own, int start)
{
    struct session_cfg  cfg = { 3600, 86400, NPROC * PER_PROC + 100, 10 };
    char                path[128], email[64], tok[CRYPTO_TOKEN_LEN + 1];
    char                err[SESSION_ERR_LEN];
    FILE               *fp;
    char                c;
    int                 i, rc = 0;

    /* All start together, so the creates really overlap. */
    if (read(start, &c, 1) != 0)
        return 6;
    close(start);
    if (own && (t = session_open(state_dir, &cfg, 0, err, sizeof(err))) == NULL)
        return 2;
    snprintf(path, sizeof(path), "%s/tokens.%d", state_dir, id);
    if ((fp = fopen(path, "we")) == NULL)
        return 3;
    for (i = 0; i < PER_PROC; i++) {
        snprintf(email, sizeof(email), "user%d-%d@example.com", id, i);
        if (session_create(t, email, i % 3, NULL, tok, NULL) != 0) {
            rc = 4;
            break;
        }
        fprintf(fp, "%s %s\n", tok, email);
    }
    if (fclose(fp) != 0)
        rc = 5;
    if (own)
        session_close(t);
    return rc;
}

static void
assert_check_ok(void)
{
    char    err[SESSION_ERR_LEN] = "";

    ck_assert_msg(session_check(state_dir, err, sizeof(err)) == 0,
        "session_check: %s", err);
}

static struct session_table *
open_cfg(long max_sessions, long per_user, long ttl, long max_age, int flags)
{
    struct session_cfg      cfg = { ttl, max_age, max_sessions, per_user };
    struct session_table   *t;
    char                    err[SESSION_ERR_LEN] = "";

    t = session_open(state_dir, &cfg, flags, err, sizeof(err));
    ck_assert_msg(t != NULL, "session_open: %s", err);
    return t;
}

/* 8 bytes of the file at off: in the header, 32 is max_sessions, 40
 * count, 56 seq, 64 users. */
static uint64_t
file_u64(off_t off)
{
    uint64_t    v;
    int         fd;

    fd = open(sess_path, O_RDONLY | O_CLOEXEC);
    ck_assert_int_ne(fd, -1);
    ck_assert_int_eq(pread(fd, &v, sizeof(v), off), (ssize_t)sizeof(v));
    close(fd);
    return v;
}

static void
file_put(off_t off, const void *p, size_t len)
{
    int fd;

    fd = open(sess_path, O_WRONLY | O_CLOEXEC);
    ck_assert_int_ne(fd, -1);
    ck_assert_int_eq(pwrite(fd, p, len, off), (ssize_t)len);
    close(fd);
}

static uint64_t
scans(void)
{
    struct session_stats    s;

    session_get_stats(&s);
    return s.scans;
}

static uint64_t
locked_lookups(void)
{
    struct session_stats    s;

    session_get_stats(&s);
    return s.locked_lookups;
}

/* The id session.h promises for tok: hex of the first 16 bytes of
 * SHA-256("id:" || SHA-256(tok)). */
static void
token_id(const char *tok, char id[SESSION_ID_LEN + 1])
{
    uint8_t buf[3 + CRYPTO_SHA256_LEN], d[CRYPTO_SHA256_LEN];
    int     k;

    memcpy(buf, "id:", 3);
    crypto_sha256(tok, strlen(tok), buf + 3);
    crypto_sha256(buf, sizeof(buf), d);
    for (k = 0; k < SESSION_ID_LEN / 2; k++)
        snprintf(id + 2 * k, 3, "%02x", d[k]);
}

/* The file offset of slot i and of user entry u, in a table of cap
 * slots. */
static off_t
slot_off(uint64_t i)
{
    return (off_t)(HDR_SIZE + i * SLOT_SIZE);
}

static off_t
user_off(uint64_t cap, uint64_t u)
{
    return (off_t)(HDR_SIZE + cap * SLOT_SIZE + u * USER_SIZE);
}

/* The index of the user entry of email in the file, found by its key. */
static uint64_t
user_index(uint64_t cap, const char *email)
{
    uint8_t     key[CRYPTO_SHA256_LEN], have[CRYPTO_SHA256_LEN];
    uint64_t    u;
    int         fd;

    crypto_sha256(email, strlen(email), key);
    fd = open(sess_path, O_RDONLY | O_CLOEXEC);
    ck_assert_int_ne(fd, -1);
    for (u = 0; u < cap; u++) {
        ck_assert_int_eq(pread(fd, have, sizeof(have), user_off(cap, u)),
            (ssize_t)sizeof(have));
        if (memcmp(have, key, sizeof(key)) == 0)
            break;
    }
    close(fd);
    ck_assert_uint_lt(u, cap);
    return u;
}

/* The index of the slot holding tok's session. */
static uint64_t
slot_index(uint64_t cap, const char *tok)
{
    uint8_t     key[CRYPTO_SHA256_LEN], have[CRYPTO_SHA256_LEN];
    uint64_t    i;
    int         fd;

    crypto_sha256(tok, strlen(tok), key);
    fd = open(sess_path, O_RDONLY | O_CLOEXEC);
    ck_assert_int_ne(fd, -1);
    for (i = 0; i < cap; i++) {
        ck_assert_int_eq(pread(fd, have, sizeof(have), slot_off(i)),
            (ssize_t)sizeof(have));
        if (memcmp(have, key, sizeof(key)) == 0)
            break;
    }
    close(fd);
    ck_assert_uint_lt(i, cap);
    return i;
}

static uint32_t
file_u32(off_t off)
{
    uint32_t    v;
    int         fd;

    fd = open(sess_path, O_RDONLY | O_CLOEXEC);
    ck_assert_int_ne(fd, -1);
    ck_assert_int_eq(pread(fd, &v, sizeof(v), off), (ssize_t)sizeof(v));
    close(fd);
    return v;
}

/* What ids_cb saw. */
struct ids {
    int     n;
    char    id[64][SESSION_ID_LEN + 1];
    char    addr[64][SESSION_ADDR_MAX + 1];
};

static int
ids_cb(const struct session_info *info, void *arg)
{
    struct ids *l = arg;

    ck_assert_int_lt(l->n, 64);
    memcpy(l->id[l->n], info->id, sizeof(l->id[0]));
    memcpy(l->addr[l->n], info->addr, sizeof(l->addr[0]));
    l->n++;
    return 0;
}

START_TEST(test_create_then_lookup_returns_email_role_and_times)
{
    struct session_table   *t;
    struct session_info     info;
    char                    tok[CRYPTO_TOKEN_LEN + 1];
    int64_t                 exp;

    t = open_table(100, 600, 86400);
    ck_assert_int_eq(session_create(t, "alice@example.com", 2, NULL, tok, &exp), 0);
    ck_assert_int_eq(crypto_token_valid_syntax(tok, strlen(tok)), 1);
    ck_assert_int_eq(exp, T0 + 600);
    fake_now = T0 + 10;
    ck_assert_int_eq(lookup(t, tok, &info), 0);
    ck_assert_str_eq(info.email, "alice@example.com");
    ck_assert_int_eq(info.role, 2);
    ck_assert_int_eq(info.created_at, T0);
    ck_assert_int_eq(info.last_used, T0 + 10);
    ck_assert_int_eq(info.expires_at, T0 + 10 + 600);
    session_close(t);
    assert_check_ok();
}
END_TEST

START_TEST(test_unknown_or_malformed_token_is_not_found)
{
    struct session_table   *t;
    char                    tok[CRYPTO_TOKEN_LEN + 1], other[CRYPTO_TOKEN_LEN + 1];

    t = open_table(100, 600, 86400);
    create(t, "alice@example.com", 0, tok);
    ck_assert_int_eq(crypto_token_new(other), 0);
    assert_not_found(t, other);
    assert_not_found(t, "");
    assert_not_found(t, "abc");
    ck_assert_int_eq(session_lookup(t, tok, CRYPTO_TOKEN_LEN - 1, NULL),
        SESSION_NOT_FOUND);
    other[0] = '\0';
    ck_assert_int_eq(session_lookup(t, other, CRYPTO_TOKEN_LEN, NULL),
        SESSION_NOT_FOUND);
    assert_found(t, tok, "alice@example.com");
    session_close(t);
}
END_TEST

START_TEST(test_revoke_ends_session_and_second_revoke_is_not_found)
{
    struct session_table   *t;
    char                    a[CRYPTO_TOKEN_LEN + 1], b[CRYPTO_TOKEN_LEN + 1];

    t = open_table(100, 600, 86400);
    create(t, "alice@example.com", 0, a);
    create(t, "alice@example.com", 0, b);
    ck_assert_int_eq(session_revoke(t, a, strlen(a)), 0);
    assert_not_found(t, a);
    assert_found(t, b, "alice@example.com");
    ck_assert_int_eq(session_revoke(t, a, strlen(a)), SESSION_NOT_FOUND);
    ck_assert_int_eq(session_revoke(t, "junk", 4), SESSION_NOT_FOUND);
    session_close(t);
    assert_check_ok();
}
END_TEST

START_TEST(test_revoke_user_ends_all_but_the_excepted_token)
{
    struct session_table   *t;
    char                    a[3][CRYPTO_TOKEN_LEN + 1], b[CRYPTO_TOKEN_LEN + 1];
    int                     i;

    t = open_table(100, 600, 86400);
    for (i = 0; i < 3; i++)
        create(t, "alice@example.com", 0, a[i]);
    create(t, "bob@example.com", 0, b);
    ck_assert_int_eq(session_revoke_user(t, "alice@example.com", a[1]), 2);
    assert_not_found(t, a[0]);
    assert_found(t, a[1], "alice@example.com");
    assert_not_found(t, a[2]);
    assert_found(t, b, "bob@example.com");
    ck_assert_int_eq(session_revoke_user(t, "alice@example.com", NULL), 1);
    assert_not_found(t, a[1]);
    ck_assert_int_eq(session_revoke_user(t, "alice@example.com", NULL), 0);
    /* Emails are bytes: another spelling is another user. */
    ck_assert_int_eq(session_revoke_user(t, "BOB@example.com", NULL), 0);
    assert_found(t, b, "bob@example.com");
    session_close(t);
    assert_check_ok();
}
END_TEST

START_TEST(test_set_role_applies_to_live_sessions)
{
    struct session_table   *t;
    struct session_info     info;
    char                    a[CRYPTO_TOKEN_LEN + 1], a2[CRYPTO_TOKEN_LEN + 1];
    char                    b[CRYPTO_TOKEN_LEN + 1];

    t = open_table(100, 600, 86400);
    create(t, "alice@example.com", 0, a);
    create(t, "alice@example.com", 0, a2);
    create(t, "bob@example.com", 0, b);
    ck_assert_int_eq(session_set_role(t, "alice@example.com", 1), 2);
    ck_assert_int_eq(lookup(t, a, &info), 0);
    ck_assert_int_eq(info.role, 1);
    ck_assert_int_eq(lookup(t, a2, &info), 0);
    ck_assert_int_eq(info.role, 1);
    ck_assert_int_eq(lookup(t, b, &info), 0);
    ck_assert_int_eq(info.role, 0);
    errno = 0;
    ck_assert_int_eq(session_set_role(t, "alice@example.com", 256), -1);
    ck_assert_int_eq(errno, EINVAL);
    session_close(t);
}
END_TEST

START_TEST(test_idle_session_expires_after_ttl_since_last_use)
{
    struct session_table   *t;
    struct session_info     info;
    char                    tok[CRYPTO_TOKEN_LEN + 1];

    t = open_table(100, 100, 86400);
    create(t, "alice@example.com", 0, tok);
    fake_now = T0 + 99;
    ck_assert_int_eq(lookup(t, tok, &info), 0);     /* moves last_used */
    ck_assert_int_eq(info.last_used, T0 + 99);
    ck_assert_int_eq(info.expires_at, T0 + 199);
    fake_now = T0 + 198;
    assert_found(t, tok, "alice@example.com");
    fake_now = T0 + 298;                            /* 100 s idle */
    assert_not_found(t, tok);
    /* Expired is gone for logout too. */
    ck_assert_int_eq(session_revoke(t, tok, strlen(tok)), SESSION_NOT_FOUND);
    session_close(t);
}
END_TEST

START_TEST(test_absolute_expiry_ends_a_session_in_constant_use)
{
    struct session_table   *t;
    struct session_info     info;
    char                    tok[CRYPTO_TOKEN_LEN + 1];
    int64_t                 exp;

    t = open_table(100, 100, 250);
    ck_assert_int_eq(session_create(t, "alice@example.com", 0, NULL, tok, &exp), 0);
    ck_assert_int_eq(exp, T0 + 100);
    for (fake_now = T0 + 90; fake_now < T0 + 250; fake_now += 90) {
        ck_assert_int_eq(lookup(t, tok, &info), 0);
        ck_assert_int_eq(info.expires_at,
            fake_now + 100 < T0 + 250 ? fake_now + 100 : T0 + 250);
    }
    fake_now = T0 + 249;
    assert_found(t, tok, "alice@example.com");
    fake_now = T0 + 250;
    assert_not_found(t, tok);
    session_close(t);
}
END_TEST

START_TEST(test_create_reports_idle_expiry_capped_by_max_age)
{
    struct session_table   *t;
    char                    tok[CRYPTO_TOKEN_LEN + 1];
    int64_t                 exp;

    t = open_table(100, 100, 50);
    ck_assert_int_eq(session_create(t, "alice@example.com", 0, NULL, tok, &exp), 0);
    ck_assert_int_eq(exp, T0 + 50);
    session_close(t);
}
END_TEST

START_TEST(test_full_table_reclaims_expired_sessions_before_evicting)
{
    struct session_table   *t;
    char                    a[CRYPTO_TOKEN_LEN + 1], b[CRYPTO_TOKEN_LEN + 1];
    char                    c[CRYPTO_TOKEN_LEN + 1], d[CRYPTO_TOKEN_LEN + 1];
    char                    e[CRYPTO_TOKEN_LEN + 1];

    t = open_table(3, 100, 10000);
    create(t, "a@example.com", 0, a);
    create(t, "b@example.com", 0, b);
    fake_now = T0 + 50;
    create(t, "c@example.com", 0, c);
    fake_now = T0 + 100;                            /* a and b expired */
    create(t, "d@example.com", 0, d);
    create(t, "e@example.com", 0, e);
    assert_found(t, c, "c@example.com");
    assert_found(t, d, "d@example.com");
    assert_found(t, e, "e@example.com");
    assert_not_found(t, a);
    assert_not_found(t, b);
    session_close(t);
    assert_check_ok();
}
END_TEST

START_TEST(test_live_sessions_never_exceed_max_sessions)
{
    struct session_table   *t;
    char                    tok[100][CRYPTO_TOKEN_LEN + 1];
    int                     i;

    t = open_table(10, 1000, 10000);
    for (i = 0; i < 100; i++) {
        fake_now = T0 + i;
        create(t, "a@example.com", 0, tok[i]);
    }
    ck_assert_int_eq(count_sessions(t, NULL), 10);
    for (i = 0; i < 90; i++)
        assert_not_found(t, tok[i]);
    for (i = 90; i < 100; i++)
        assert_found(t, tok[i], "a@example.com");
    session_close(t);
    assert_check_ok();
}
END_TEST

START_TEST(test_session_file_is_mode_0600)
{
    struct session_table   *t;
    struct stat             st;
    mode_t                  old;

    old = umask(0);
    t = open_table(100, 600, 86400);
    umask(old);
    ck_assert_int_eq(stat(sess_path, &st), 0);
    ck_assert_int_eq(st.st_mode & 07777, 0600);
    session_close(t);

    /* Loosened by hand: the next open tightens it again. */
    ck_assert_int_eq(chmod(sess_path, 0644), 0);
    t = open_table(100, 600, 86400);
    ck_assert_int_eq(stat(sess_path, &st), 0);
    ck_assert_int_eq(st.st_mode & 07777, 0600);
    session_close(t);
}
END_TEST

START_TEST(test_session_file_stores_no_token)
{
    struct session_table   *t;
    char                    tok[50][CRYPTO_TOKEN_LEN + 1];
    uint8_t                 key[CRYPTO_SHA256_LEN];
    char                   *data;
    size_t                  len;
    int                     i;

    t = open_table(100, 600, 86400);
    for (i = 0; i < 50; i++)
        create(t, "alice@example.com", 0, tok[i]);
    session_close(t);
    data = read_file(sess_path, &len);
    for (i = 0; i < 50; i++) {
        ck_assert_msg(memmem(data, len, tok[i], CRYPTO_TOKEN_LEN) == NULL,
            "token %d is in the file", i);
        /* Not even its first half. */
        ck_assert_ptr_null(memmem(data, len, tok[i], CRYPTO_TOKEN_LEN / 2));
        /* What is there is its SHA-256. */
        crypto_sha256(tok[i], CRYPTO_TOKEN_LEN, key);
        ck_assert_ptr_nonnull(memmem(data, len, key, sizeof(key)));
    }
    free(data);
}
END_TEST

START_TEST(test_sessions_survive_close_and_reopen)
{
    struct session_table   *t;
    struct session_info     info;
    char                    tok[CRYPTO_TOKEN_LEN + 1];

    t = open_table(100, 600, 86400);
    create(t, "alice@example.com", 3, tok);
    session_close(t);
    fake_now = T0 + 5;
    t = open_table(100, 600, 86400);
    ck_assert_int_eq(lookup(t, tok, &info), 0);
    ck_assert_str_eq(info.email, "alice@example.com");
    ck_assert_int_eq(info.role, 3);
    ck_assert_int_eq(info.created_at, T0);
    session_close(t);
}
END_TEST

START_TEST(test_forked_child_shares_sessions_with_parent)
{
    struct session_table   *t;
    char                    tok[CRYPTO_TOKEN_LEN + 1], ctok[CRYPTO_TOKEN_LEN + 1];
    int                     fds[2], status;
    pid_t                   pid;

    t = open_table(100, 600, 86400);
    create(t, "parent@example.com", 0, tok);
    ck_assert_int_eq(pipe(fds), 0);
    if ((pid = fork()) == 0) {
        /* The child uses the table it inherited. */
        int rc = 0;

        close(fds[0]);
        if (session_lookup(t, tok, strlen(tok), NULL) != 0)
            rc = 1;
        else if (session_create(t, "child@example.com", 1, NULL, ctok, NULL) != 0)
            rc = 2;
        else if (write(fds[1], ctok, CRYPTO_TOKEN_LEN) != CRYPTO_TOKEN_LEN)
            rc = 3;
        else if (session_revoke(t, tok, strlen(tok)) != 0)
            rc = 4;
        _exit(rc);
    }
    ck_assert_int_ne(pid, -1);
    close(fds[1]);
    ck_assert_int_eq(read(fds[0], ctok, CRYPTO_TOKEN_LEN), CRYPTO_TOKEN_LEN);
    ctok[CRYPTO_TOKEN_LEN] = '\0';
    close(fds[0]);
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
        "child status %#x", status);
    assert_found(t, ctok, "child@example.com");
    assert_not_found(t, tok);                       /* the child logged out */
    session_close(t);
}
END_TEST

/* All children but one use the table opened before fork (each must get
 * its own lock, not share the parent's open file description); the last
 * opens its own.  A lost update shows as a session missing or as a header
 * count session_check disagrees with. */
START_TEST(test_8_processes_creating_500_sessions_each_keep_all_4000)
{
    struct session_table   *t;
    char                    path[128], line[256], *sp;
    FILE                   *fp;
    pid_t                   pids[NPROC];
    int                     i, status, n = 0, start[2];

    t = open_table(NPROC * PER_PROC + 100, 3600, 86400);
    ck_assert_int_eq(pipe(start), 0);
    for (i = 0; i < NPROC; i++) {
        if ((pids[i] = fork()) == 0) {
            close(start[1]);
            _exit(child_create(t, i, i == NPROC - 1, start[0]));
        }
        ck_assert_int_ne(pids[i], -1);
    }
    close(start[0]);
    close(start[1]);
    for (i = 0; i < NPROC; i++) {
        ck_assert_int_eq(waitpid(pids[i], &status, 0), pids[i]);
        ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
            "child %d status %#x", i, status);
    }
    for (i = 0; i < NPROC; i++) {
        snprintf(path, sizeof(path), "%s/tokens.%d", state_dir, i);
        fp = fopen(path, "re");
        ck_assert_ptr_nonnull(fp);
        while (fgets(line, sizeof(line), fp) != NULL) {
            line[strcspn(line, "\n")] = '\0';
            sp = strchr(line, ' ');
            ck_assert_ptr_nonnull(sp);
            *sp = '\0';
            assert_found(t, line, sp + 1);
            n++;
        }
        fclose(fp);
    }
    ck_assert_int_eq(n, NPROC * PER_PROC);
    ck_assert_int_eq(count_sessions(t, NULL), NPROC * PER_PROC);
    session_close(t);
    assert_check_ok();
}
END_TEST

START_TEST(test_reopen_with_larger_max_sessions_keeps_live_sessions)
{
    struct session_table   *t, *old;
    char                    tok[5][CRYPTO_TOKEN_LEN + 1], late[CRYPTO_TOKEN_LEN + 1];
    off_t                   before;
    int                     i;

    t = open_table(10, 600, 86400);
    for (i = 0; i < 5; i++)
        create(t, "alice@example.com", 0, tok[i]);
    before = file_size(sess_path);
    /* old stays open on the file being replaced, as a running worker. */
    old = t;
    t = open_table(1000, 600, 86400);
    ck_assert_int_gt(file_size(sess_path), before);
    for (i = 0; i < 5; i++)
        assert_found(t, tok[i], "alice@example.com");
    /* The old handle follows to the new file. */
    create(old, "bob@example.com", 0, late);
    assert_found(t, late, "bob@example.com");
    assert_found(old, tok[0], "alice@example.com");
    session_close(old);
    session_close(t);
    assert_check_ok();
}
END_TEST

START_TEST(test_reopen_with_smaller_max_sessions_keeps_the_latest_expiring)
{
    struct session_table   *t;
    char                    tok[20][CRYPTO_TOKEN_LEN + 1];
    int                     i;

    t = open_table(100, 600, 86400);
    for (i = 0; i < 20; i++) {
        fake_now = T0 + i;
        create(t, "alice@example.com", 0, tok[i]);
    }
    session_close(t);
    t = open_table(5, 600, 86400);
    ck_assert_int_eq(count_sessions(t, NULL), 5);
    for (i = 0; i < 15; i++)
        assert_not_found(t, tok[i]);
    for (i = 15; i < 20; i++)
        assert_found(t, tok[i], "alice@example.com");
    session_close(t);
    assert_check_ok();
}
END_TEST

/* 40 and 50 need the same 128 slots: the limit changes in place. */
START_TEST(test_lowering_max_sessions_within_capacity_trims_in_place)
{
    struct session_table   *t;
    char                    tok[40][CRYPTO_TOKEN_LEN + 1];
    off_t                   before;
    int                     i;

    t = open_table(50, 600, 86400);
    for (i = 0; i < 40; i++) {
        fake_now = T0 + i;
        create(t, "alice@example.com", 0, tok[i]);
    }
    session_close(t);
    before = file_size(sess_path);
    t = open_table(33, 600, 86400);
    ck_assert_int_eq(file_size(sess_path), before);
    ck_assert_int_eq(count_sessions(t, NULL), 33);
    for (i = 0; i < 7; i++)
        assert_not_found(t, tok[i]);
    for (i = 7; i < 40; i++)
        assert_found(t, tok[i], "alice@example.com");
    session_close(t);
    assert_check_ok();
}
END_TEST

START_TEST(test_corrupt_file_is_refused_with_its_reason)
{
    struct session_cfg      cfg = { 600, 86400, 100, 10 };
    struct session_table   *t;
    char                    err[SESSION_ERR_LEN], want[SESSION_ERR_LEN];
    char                    junk[4096];

    memset(junk, 'x', sizeof(junk));
    write_file(sess_path, junk, sizeof(junk));
    snprintf(want, sizeof(want), "%s: bad magic: not a userapid session table",
        sess_path);
    t = session_open(state_dir, &cfg, 0, err, sizeof(err));
    ck_assert_ptr_null(t);
    ck_assert_str_eq(err, want);
    ck_assert_int_eq(session_check(state_dir, err, sizeof(err)), -1);
    ck_assert_str_eq(err, want);

    write_file(sess_path, junk, 10);
    t = session_open(state_dir, &cfg, 0, err, sizeof(err));
    ck_assert_ptr_null(t);
    snprintf(want, sizeof(want), "%s: 10 bytes, too short for a session "
        "table header", sess_path);
    ck_assert_str_eq(err, want);
    /* Nothing was replaced behind the administrator's back. */
    ck_assert_int_eq(file_size(sess_path), 10);
}
END_TEST

START_TEST(test_truncated_file_is_refused_with_expected_size)
{
    struct session_cfg      cfg = { 600, 86400, 100, 10 };
    struct session_table   *t;
    char                    err[SESSION_ERR_LEN], want[SESSION_ERR_LEN];
    off_t                   size;

    t = open_table(100, 600, 86400);
    session_close(t);
    size = file_size(sess_path);
    ck_assert_int_eq(truncate(sess_path, size - 1), 0);
    t = session_open(state_dir, &cfg, 0, err, sizeof(err));
    ck_assert_ptr_null(t);
    snprintf(want, sizeof(want), "%s: size %lld bytes, expected %lld for "
        "256 slots", sess_path, (long long)size - 1, (long long)size);
    ck_assert_str_eq(err, want);
}
END_TEST

START_TEST(test_reset_flag_recreates_a_corrupt_file_empty)
{
    struct session_cfg      cfg = { 600, 86400, 100, 10 };
    struct session_table   *t;
    char                    err[SESSION_ERR_LEN] = "", tok[CRYPTO_TOKEN_LEN + 1];
    char                    junk[4096];
    struct stat             st;

    memset(junk, 'x', sizeof(junk));
    write_file(sess_path, junk, sizeof(junk));
    t = session_open(state_dir, &cfg, SESSION_RESET, err, sizeof(err));
    ck_assert_msg(t != NULL, "session_open: %s", err);
    ck_assert_int_eq(count_sessions(t, NULL), 0);
    create(t, "alice@example.com", 0, tok);
    assert_found(t, tok, "alice@example.com");
    session_close(t);
    ck_assert_int_eq(stat(sess_path, &st), 0);
    ck_assert_int_eq(st.st_mode & 07777, 0600);
    assert_check_ok();
    /* A valid table is kept under SESSION_RESET. */
    t = session_open(state_dir, &cfg, SESSION_RESET, err, sizeof(err));
    ck_assert_ptr_nonnull(t);
    assert_found(t, tok, "alice@example.com");
    session_close(t);
}
END_TEST

START_TEST(test_check_accepts_a_missing_file_and_a_valid_one)
{
    struct session_table   *t;
    char                    tok[CRYPTO_TOKEN_LEN + 1];

    assert_check_ok();
    ck_assert_int_eq(access(sess_path, F_OK), -1);  /* check made nothing */
    t = open_table(100, 600, 86400);
    create(t, "alice@example.com", 0, tok);
    session_close(t);
    assert_check_ok();
}
END_TEST

START_TEST(test_check_reports_a_damaged_slot_and_open_drops_it)
{
    struct session_table   *t;
    char                    a[CRYPTO_TOKEN_LEN + 1], b[CRYPTO_TOKEN_LEN + 1];
    char                    err[SESSION_ERR_LEN], *data, *at;
    size_t                  len;

    t = open_table(100, 600, 86400);
    create(t, "victim@example.com", 0, a);
    create(t, "bystander@example.com", 0, b);
    session_close(t);
    data = read_file(sess_path, &len);
    at = memmem(data, len, "victim@", 7);
    ck_assert_ptr_nonnull(at);
    at[0] = '\x01';
    write_file(sess_path, data, len);
    free(data);

    ck_assert_int_eq(session_check(state_dir, err, sizeof(err)), -1);
    ck_assert_msg(strstr(err, ": control character in email") != NULL &&
        strncmp(err, sess_path, strlen(sess_path)) == 0 &&
        strstr(err, ": slot ") != NULL, "err: %s", err);

    t = open_table(100, 600, 86400);
    assert_not_found(t, a);
    assert_found(t, b, "bystander@example.com");
    session_close(t);
    assert_check_ok();
}
END_TEST

static int
list_cb(const struct session_info *info, void *arg)
{
    struct listing *l = arg;

    if (l->n == 4)
        return 42;
    l->created[l->n] = info->created_at;
    snprintf(l->email[l->n], sizeof(l->email[0]), "%s", info->email);
    l->n++;
    return 0;
}

/* The header's count sits at byte 40 (after magic, version, two sizes,
 * capacity and max_sessions); a writer killed between a slot and the count
 * leaves it one off. */
START_TEST(test_check_reports_a_wrong_count_and_open_repairs_it)
{
    struct session_table   *t;
    char                    tok[CRYPTO_TOKEN_LEN + 1], err[SESSION_ERR_LEN];
    char                    want[SESSION_ERR_LEN], *data;
    uint64_t                count;
    size_t                  len;

    t = open_table(100, 600, 86400);
    create(t, "alice@example.com", 0, tok);
    create(t, "bob@example.com", 0, tok);
    session_close(t);
    data = read_file(sess_path, &len);
    memcpy(&count, data + 40, sizeof(count));
    ck_assert_uint_eq(count, 2);
    count = 3;
    memcpy(data + 40, &count, sizeof(count));
    write_file(sess_path, data, len);
    free(data);

    ck_assert_int_eq(session_check(state_dir, err, sizeof(err)), -1);
    snprintf(want, sizeof(want), "%s: header counts 3 sessions, 2 slots are "
        "in use (a writer died mid-change; opening the table repairs it)",
        sess_path);
    ck_assert_str_eq(err, want);
    t = open_table(100, 600, 86400);
    assert_found(t, tok, "bob@example.com");
    session_close(t);
    assert_check_ok();
}
END_TEST

START_TEST(test_foreach_lists_one_users_live_sessions_oldest_first)
{
    struct session_table   *t;
    struct listing          l;
    char                    tok[CRYPTO_TOKEN_LEN + 1];
    int                     i;

    t = open_table(100, 600, 86400);
    for (i = 0; i < 3; i++) {
        fake_now = T0 + 100 - 10 * i;       /* created out of slot order */
        create(t, "alice@example.com", 0, tok);
        create(t, "bob@example.com", 0, tok);
    }
    fake_now = T0 + 100;
    memset(&l, 0, sizeof(l));
    ck_assert_int_eq(session_foreach(t, "alice@example.com", list_cb, &l), 0);
    ck_assert_int_eq(l.n, 3);
    ck_assert_int_eq(l.created[0], T0 + 80);
    ck_assert_int_eq(l.created[1], T0 + 90);
    ck_assert_int_eq(l.created[2], T0 + 100);
    for (i = 0; i < 3; i++)
        ck_assert_str_eq(l.email[i], "alice@example.com");
    /* fn's non-zero answer stops the walk and comes back. */
    memset(&l, 0, sizeof(l));
    ck_assert_int_eq(session_foreach(t, NULL, list_cb, &l), 42);
    ck_assert_int_eq(l.n, 4);
    /* Expired sessions are not listed. */
    fake_now = T0 + 695;                /* only the T0+100 ones are left */
    ck_assert_int_eq(count_sessions(t, NULL), 2);
    session_close(t);
}
END_TEST

START_TEST(test_create_rejects_bad_email_and_role)
{
    struct session_table   *t;
    char                    tok[CRYPTO_TOKEN_LEN + 1], email[SESSION_EMAIL_MAX + 2];

    t = open_table(100, 600, 86400);
    errno = 0;
    ck_assert_int_eq(session_create(t, "", 0, NULL, tok, NULL), -1);
    ck_assert_int_eq(errno, EINVAL);
    memset(email, 'a', sizeof(email) - 1);
    email[sizeof(email) - 1] = '\0';                /* 255 bytes */
    errno = 0;
    ck_assert_int_eq(session_create(t, email, 0, NULL, tok, NULL), -1);
    ck_assert_int_eq(errno, EINVAL);
    email[SESSION_EMAIL_MAX] = '\0';                /* 254 is fine */
    create(t, email, 0, tok);
    assert_found(t, tok, email);
    errno = 0;
    ck_assert_int_eq(session_create(t, "a@example.com", -1, NULL, tok, NULL), -1);
    ck_assert_int_eq(errno, EINVAL);
    ck_assert_int_eq(session_create(t, "a@example.com", 256, NULL, tok, NULL), -1);
    session_close(t);
}
END_TEST

START_TEST(test_open_rejects_out_of_range_settings)
{
    struct session_cfg  cfg;
    char                err[SESSION_ERR_LEN];

    cfg = (struct session_cfg){ 600, 86400, 0, 10 };
    ck_assert_ptr_null(session_open(state_dir, &cfg, 0, err, sizeof(err)));
    ck_assert_str_eq(err, "max_sessions 0 is out of range (1..1000000)");
    cfg = (struct session_cfg){ 0, 86400, 100, 10 };
    ck_assert_ptr_null(session_open(state_dir, &cfg, 0, err, sizeof(err)));
    ck_assert_str_eq(err, "session ttl 0 is out of range (1..3162240000)");
    cfg = (struct session_cfg){ 600, -1, 100, 10 };
    ck_assert_ptr_null(session_open(state_dir, &cfg, 0, err, sizeof(err)));
    ck_assert_str_eq(err,
        "session max_age -1 is out of range (1..3162240000)");
    cfg = (struct session_cfg){ 600, 86400, 100, 0 };
    ck_assert_ptr_null(session_open(state_dir, &cfg, 0, err, sizeof(err)));
    ck_assert_str_eq(err,
        "max_sessions_per_user 0 is out of range (1..1000000)");
    cfg = (struct session_cfg){ 600, 86400, 100, 1000001 };
    ck_assert_ptr_null(session_open(state_dir, &cfg, 0, err, sizeof(err)));
    ck_assert_str_eq(err,
        "max_sessions_per_user 1000001 is out of range (1..1000000)");
    cfg = (struct session_cfg){ 600, 86400, 100, 10 };
    ck_assert_ptr_null(session_open("/nonexistent/dir", &cfg, 0, err,
        sizeof(err)));
    ck_assert_msg(strstr(err, "No such file or directory") != NULL, "%s", err);
}
END_TEST

/*
 * Random creates and revokes against a model, on a table small enough
 * that probe runs wrap round the end, so backward-shift deletion is
 * exercised hard.  The clock moves one second per create, so the session
 * nearest expiry is always the oldest one.
 */
START_TEST(test_random_creates_and_revokes_match_a_model)
{
    static const long       maxes[] = { 7, 300 };
    struct session_table   *t;
    char                  (*tok)[CRYPTO_TOKEN_LEN + 1];
    int                    *live;
    int                     m, i, k, nlive, ops = 3000;
    unsigned int            seed = 12345;

    tok = calloc((size_t)ops, sizeof(*tok));
    live = calloc((size_t)ops, sizeof(*live));
    ck_assert_ptr_nonnull(tok);
    ck_assert_ptr_nonnull(live);
    for (m = 0; m < 2; m++) {
        t = open_table(maxes[m], 1000000, 10000000);
        memset(live, 0, (size_t)ops * sizeof(*live));
        nlive = 0;
        for (i = 0; i < ops; i++) {
            fake_now++;
            create(t, "user@example.com", 0, tok[i]);
            live[i] = 1;
            if (++nlive > maxes[m]) {           /* the oldest live goes */
                for (k = 0; !live[k]; k++)
                    ;
                live[k] = 0;
                nlive--;
            }
            if (rand_r(&seed) % 3 == 0) {       /* revoke a random one */
                k = (int)(rand_r(&seed) % (unsigned)(i + 1));
                ck_assert_int_eq(session_revoke(t, tok[k], CRYPTO_TOKEN_LEN),
                    live[k] ? 0 : SESSION_NOT_FOUND);
                nlive -= live[k];
                live[k] = 0;
            }
        }
        for (i = 0; i < ops; i++)
            ck_assert_int_eq(lookup(t, tok[i], NULL),
                live[i] ? 0 : SESSION_NOT_FOUND);
        ck_assert_int_eq(count_sessions(t, NULL), nlive);
        session_close(t);
        assert_check_ok();
        ck_assert_int_eq(unlink(sess_path), 0);
    }
    free(tok);
    free(live);
}
END_TEST

/*
 * Lookups read without a lock while another process creates and revokes
 * sessions around them (backward shifts move slots): a lookup must never
 * miss the live session nor see another session's data.
 */
START_TEST(test_lockless_lookups_stay_consistent_under_writers)
{
    struct session_table *t;
    struct session_info   info;
    char                  tok[6][CRYPTO_TOKEN_LEN + 1], other[CRYPTO_TOKEN_LEN + 1];
    char                  email[64];
    pid_t                 writer;
    int                   i, k, st, done = 0;

    session_set_clock(NULL);
    /* 16 slots, 6 readers' sessions and one churning: clusters form, and
     * the backward shifts of the writer's revokes move readers' slots. */
    t = open_table(8, 3600, 86400);
    for (k = 0; k < 6; k++) {
        snprintf(email, sizeof(email), "reader%d@example.com", k);
        create(t, email, 2, tok[k]);
    }
    writer = fork();
    ck_assert_int_ge(writer, 0);
    if (writer == 0) {
        for (i = 0; i < 30000; i++) {
            if (session_create(t, "writer@example.com", 1, NULL, other, NULL) != 0)
                _exit(1);
            if (session_revoke(t, other, CRYPTO_TOKEN_LEN) != 0)
                _exit(2);
        }
        _exit(0);
    }
    for (i = 0; !done; i++) {
        k = i % 6;
        snprintf(email, sizeof(email), "reader%d@example.com", k);
        ck_assert_msg(lookup(t, tok[k], &info) == 0, "lookup %d missed", i);
        ck_assert_str_eq(info.email, email);
        if (i % 1000 == 0)
            done = waitpid(writer, &st, WNOHANG) == writer;
    }
    ck_assert(WIFEXITED(st));
    ck_assert_int_eq(WEXITSTATUS(st), 0);
    fprintf(stderr, "lockless lookups: %d against 30000 writer rounds\n", i);
    session_close(t);
}
END_TEST

/* ---- item tests: seq after rebuild, lookups, as-is opens ----------------- */

/*
 * A rebuild ends its write on the old file; the new file's seq is never
 * touched without that file's lock, so it is even (0: nobody wrote yet)
 * and lock-free lookups work on it at once.
 */
START_TEST(test_rebuild_leaves_the_new_files_seq_even)
{
    struct session_table   *t, *old;
    char                    tok[5][CRYPTO_TOKEN_LEN + 1];
    char                    late[CRYPTO_TOKEN_LEN + 1];
    uint64_t                before;
    int                     i;

    t = open_table(10, 600, 86400);
    for (i = 0; i < 5; i++)
        create(t, "alice@example.com", 0, tok[i]);
    old = t;
    t = open_table(1000, 600, 86400);               /* rebuilds */
    ck_assert_uint_eq(file_u64(56), 0);
    before = locked_lookups();
    for (i = 0; i < 5; i++)
        assert_found(t, tok[i], "alice@example.com");
    ck_assert_uint_eq(locked_lookups(), before);
    /* One write (through the handle that followed the rebuild) moves it
     * by two, odd and back. */
    create(old, "bob@example.com", 0, late);
    ck_assert_uint_eq(file_u64(56), 2);
    assert_found(t, late, "bob@example.com");
    ck_assert_uint_eq(locked_lookups(), before);
    session_close(old);
    session_close(t);
    assert_check_ok();
}
END_TEST

/* A lookup stores the time of use under the read lock, once a second per
 * session; the lock-free path only reads. */
START_TEST(test_lookups_take_the_lock_only_to_record_a_new_second)
{
    struct session_table   *t;
    struct session_info     info;
    char                    tok[CRYPTO_TOKEN_LEN + 1];
    uint64_t                before;

    t = open_table(100, 600, 86400);
    create(t, "alice@example.com", 0, tok);
    before = locked_lookups();
    assert_found(t, tok, "alice@example.com");
    assert_found(t, tok, "alice@example.com");
    ck_assert_uint_eq(locked_lookups(), before);
    fake_now = T0 + 1;
    ck_assert_int_eq(lookup(t, tok, &info), 0);
    ck_assert_int_eq(info.last_used, T0 + 1);
    ck_assert_uint_eq(locked_lookups(), before + 1);
    ck_assert_int_eq(lookup(t, tok, &info), 0);
    ck_assert_int_eq(info.last_used, T0 + 1);
    ck_assert_uint_eq(locked_lookups(), before + 1);
    session_close(t);
}
END_TEST

/* userapictl's open: whatever its max_sessions, the table stays as the
 * daemon sized it. */
START_TEST(test_as_is_open_keeps_the_tables_size_and_sessions)
{
    struct session_table   *t, *ctl;
    char                    tok[20][CRYPTO_TOKEN_LEN + 1], email[64];
    char                    more[CRYPTO_TOKEN_LEN + 1];
    off_t                   size;
    int                     i;

    t = open_cfg(100, 10, 600, 86400, 0);
    for (i = 0; i < 20; i++) {
        snprintf(email, sizeof(email), "user%d@example.com", i);
        create(t, email, 0, tok[i]);
    }
    size = file_size(sess_path);
    ctl = open_cfg(2, 2, 600, 86400, SESSION_AS_IS);
    ck_assert_int_eq(file_size(sess_path), size);
    ck_assert_uint_eq(file_u64(32), 100);
    ck_assert_int_eq(count_sessions(ctl, NULL), 20);
    ck_assert_int_eq(session_revoke_user(ctl, "user0@example.com", NULL), 1);
    /* Its per-user limit of 2 applies to what it creates, not to the
     * table's size. */
    create(ctl, "user1@example.com", 0, more);
    for (i = 1; i < 20; i++) {
        snprintf(email, sizeof(email), "user%d@example.com", i);
        assert_found(t, tok[i], email);
    }
    session_close(ctl);
    ck_assert_int_eq(file_size(sess_path), size);
    assert_found(t, more, "user1@example.com");
    session_close(t);
    assert_check_ok();

    /* A missing file is made with cfg's size: 16 slots for 2. */
    ck_assert_int_eq(unlink(sess_path), 0);
    ctl = open_cfg(2, 2, 600, 86400, SESSION_AS_IS);
    ck_assert_int_eq(file_size(sess_path), HDR_SIZE + 16 * (SLOT_SIZE +
        USER_SIZE));
    ck_assert_uint_eq(file_u64(32), 2);
    session_close(ctl);
}
END_TEST

/* ---- per-user limit and a full table ------------------------------------ */

START_TEST(test_per_user_limit_ends_that_users_oldest_session)
{
    struct session_table   *t;
    char                    a[5][CRYPTO_TOKEN_LEN + 1], b[CRYPTO_TOKEN_LEN + 1];
    int                     i;

    t = open_cfg(100, 3, 600, 86400, 0);
    create(t, "bob@example.com", 0, b);
    for (i = 0; i < 3; i++) {
        fake_now = T0 + 10 + i;
        create(t, "alice@example.com", 0, a[i]);
    }
    fake_now = T0 + 20;
    /* Used most recently, yet the oldest by creation: it goes first. */
    assert_found(t, a[0], "alice@example.com");
    create(t, "alice@example.com", 0, a[3]);
    assert_not_found(t, a[0]);
    assert_found(t, a[1], "alice@example.com");
    assert_found(t, a[2], "alice@example.com");
    assert_found(t, a[3], "alice@example.com");
    fake_now = T0 + 21;
    create(t, "alice@example.com", 0, a[4]);
    assert_not_found(t, a[1]);
    for (i = 2; i < 5; i++)
        assert_found(t, a[i], "alice@example.com");
    assert_found(t, b, "bob@example.com");
    ck_assert_int_eq(count_sessions(t, "alice@example.com"), 3);
    ck_assert_int_eq(count_sessions(t, NULL), 4);
    session_close(t);
    assert_check_ok();
}
END_TEST

/* A limit above the table's max_sessions is the table's. */
START_TEST(test_per_user_limit_is_clamped_to_max_sessions)
{
    struct session_table   *t;
    char                    a[4][CRYPTO_TOKEN_LEN + 1];
    int                     i;

    t = open_cfg(3, 50, 600, 86400, 0);
    for (i = 0; i < 4; i++) {
        fake_now = T0 + i;
        create(t, "alice@example.com", 0, a[i]);
    }
    assert_not_found(t, a[0]);
    for (i = 1; i < 4; i++)
        assert_found(t, a[i], "alice@example.com");
    session_close(t);
}
END_TEST

/* Nobody's live session is ended for someone else's login: the admin
 * stays logged in whoever logs in in a loop. */
START_TEST(test_full_table_of_live_sessions_refuses_with_eagain)
{
    struct session_table   *t;
    char                    a[CRYPTO_TOKEN_LEN + 1], b[CRYPTO_TOKEN_LEN + 1];
    char                    c[CRYPTO_TOKEN_LEN + 1], d[CRYPTO_TOKEN_LEN + 1];
    int64_t                 exp = 0;
    int                     i;

    t = open_cfg(3, 3, 100, 10000, 0);
    create(t, "admin@example.com", 1, a);
    fake_now = T0 + 10;
    create(t, "b@example.com", 0, b);
    fake_now = T0 + 20;
    create(t, "c@example.com", 0, c);
    fake_now = T0 + 30;
    for (i = 0; i < 5; i++) {
        errno = 0;
        ck_assert_int_eq(session_create(t, "d@example.com", 0, NULL, d,
            &exp), -1);
        ck_assert_int_eq(errno, EAGAIN);
    }
    /* The user with room under their own limit is refused as well. */
    errno = 0;
    ck_assert_int_eq(session_create(t, "b@example.com", 0, NULL, d, NULL),
        -1);
    ck_assert_int_eq(errno, EAGAIN);
    assert_found(t, a, "admin@example.com");
    assert_found(t, b, "b@example.com");
    assert_found(t, c, "c@example.com");
    ck_assert_int_eq(count_sessions(t, NULL), 3);
    /* A logout makes room. */
    ck_assert_int_eq(session_revoke(t, b, strlen(b)), 0);
    create(t, "d@example.com", 0, d);
    assert_found(t, d, "d@example.com");
    assert_found(t, a, "admin@example.com");
    session_close(t);
    assert_check_ok();
}
END_TEST

/*
 * A full table is scanned for expired sessions once; after a scan that
 * found none, the next one waits for the earliest expiry it saw, so a
 * login loop against a full table does not read it all each time.
 */
START_TEST(test_full_table_is_scanned_again_only_at_the_earliest_expiry)
{
    struct session_table   *t;
    char                    tok[4][CRYPTO_TOKEN_LEN + 1], x[CRYPTO_TOKEN_LEN + 1];
    char                    email[64];
    uint64_t                s0;
    int                     i;

    t = open_cfg(4, 4, 100, 10000, 0);
    for (i = 0; i < 4; i++) {
        fake_now = T0 + i;
        snprintf(email, sizeof(email), "user%d@example.com", i);
        create(t, email, 0, tok[i]);
    }
    s0 = scans();
    fake_now = T0 + 10;
    ck_assert_int_eq(session_create(t, "x@example.com", 0, NULL, x, NULL), -1);
    ck_assert_int_eq(errno, EAGAIN);
    ck_assert_uint_eq(scans(), s0 + 1);
    fake_now = T0 + 99;
    ck_assert_int_eq(session_create(t, "x@example.com", 0, NULL, x, NULL), -1);
    ck_assert_int_eq(errno, EAGAIN);
    ck_assert_uint_eq(scans(), s0 + 1);
    fake_now = T0 + 100;                    /* user0 expires */
    create(t, "x@example.com", 0, x);
    ck_assert_uint_eq(scans(), s0 + 2);
    assert_not_found(t, tok[0]);
    for (i = 1; i < 4; i++) {
        snprintf(email, sizeof(email), "user%d@example.com", i);
        assert_found(t, tok[i], email);
    }
    assert_found(t, x, "x@example.com");
    session_close(t);
    assert_check_ok();
}
END_TEST

/*
 * Logins, lookups, logouts and the per-user calls on a table of 5000
 * never read the whole table: each costs the user's own sessions.  The
 * count of whole-table passes is structural, not a timing.
 */
START_TEST(test_per_user_calls_do_not_scan_the_table)
{
    struct session_table   *t;
    char                    tok[300][CRYPTO_TOKEN_LEN + 1], email[64];
    char                    last[CRYPTO_TOKEN_LEN + 1];
    struct session_info     info;
    struct ids              l;
    uint64_t                s0;
    int                     k, u;

    t = open_cfg(5000, 3, 600, 86400, 0);
    s0 = scans();
    for (k = 0; k < 10; k++) {
        fake_now = T0 + k;
        for (u = 0; u < 300; u++) {
            snprintf(email, sizeof(email), "user%d@example.com", u);
            create(t, email, u % 3, tok[u]);
        }
    }
    ck_assert_uint_eq(scans(), s0);
    for (u = 0; u < 300; u++) {
        snprintf(email, sizeof(email), "user%d@example.com", u);
        ck_assert_int_eq(lookup(t, tok[u], &info), 0);
        ck_assert_str_eq(info.email, email);
        memset(&l, 0, sizeof(l));
        ck_assert_int_eq(session_foreach(t, email, ids_cb, &l), 0);
        ck_assert_int_eq(l.n, 3);
        ck_assert_int_eq(session_set_role(t, email, 2), 3);
        if (u % 2 == 0) {
            ck_assert_int_eq(session_revoke_id(t, email, l.id[0]), 0);
            ck_assert_int_eq(session_revoke_user(t, email, tok[u]), 1);
        } else
            ck_assert_int_eq(session_revoke(t, tok[u], strlen(tok[u])), 0);
    }
    create(t, "last@example.com", 0, last);
    ck_assert_uint_eq(scans(), s0);
    ck_assert_int_eq(count_sessions(t, NULL), 150 + 150 * 2 + 1);
    session_close(t);
    assert_check_ok();
}
END_TEST

/* ---- ids and addresses --------------------------------------------------- */

START_TEST(test_ids_name_sessions_and_revoke_id_ends_one)
{
    struct session_table   *t;
    struct session_info     info;
    struct ids              l;
    char                    a1[CRYPTO_TOKEN_LEN + 1], a2[CRYPTO_TOKEN_LEN + 1];
    char                    b[CRYPTO_TOKEN_LEN + 1];
    char                    id1[SESSION_ID_LEN + 1], id2[SESSION_ID_LEN + 1];
    char                    idb[SESSION_ID_LEN + 1], upper[SESSION_ID_LEN + 1];
    size_t                  k;

    t = open_table(100, 600, 86400);
    create(t, "alice@example.com", 0, a1);
    fake_now = T0 + 1;
    create(t, "alice@example.com", 0, a2);
    create(t, "bob@example.com", 0, b);
    token_id(a1, id1);
    token_id(a2, id2);
    token_id(b, idb);
    ck_assert_int_eq(lookup(t, a1, &info), 0);
    /* A lookup leaves the id out (it costs a hash per request); the
     * token's id is the one foreach lists. */
    ck_assert_str_eq(info.id, "");
    session_token_id(a1, strlen(a1), info.id);
    ck_assert_str_eq(info.id, id1);
    ck_assert_ptr_null(strstr(a1, info.id));
    session_token_id("not a token", 11, info.id);
    ck_assert_str_eq(info.id, "");
    memset(&l, 0, sizeof(l));
    ck_assert_int_eq(session_foreach(t, "alice@example.com", ids_cb, &l), 0);
    ck_assert_int_eq(l.n, 2);
    ck_assert_str_eq(l.id[0], id1);
    ck_assert_str_eq(l.id[1], id2);
    /* Another user's id, junk, a truncated id: not found, nothing ends. */
    ck_assert_int_eq(session_revoke_id(t, "bob@example.com", id1),
        SESSION_NOT_FOUND);
    ck_assert_int_eq(session_revoke_id(t, "alice@example.com", idb),
        SESSION_NOT_FOUND);
    ck_assert_int_eq(session_revoke_id(t, "alice@example.com", "zz"),
        SESSION_NOT_FOUND);
    id1[SESSION_ID_LEN - 1] = '\0';
    ck_assert_int_eq(session_revoke_id(t, "alice@example.com", id1),
        SESSION_NOT_FOUND);
    token_id(a1, id1);
    assert_found(t, a1, "alice@example.com");
    for (k = 0; k <= SESSION_ID_LEN; k++)
        upper[k] = (char)toupper((unsigned char)id1[k]);
    ck_assert_int_eq(session_revoke_id(t, "alice@example.com", upper), 0);
    assert_not_found(t, a1);
    assert_found(t, a2, "alice@example.com");
    assert_found(t, b, "bob@example.com");
    ck_assert_int_eq(session_revoke_id(t, "alice@example.com", id1),
        SESSION_NOT_FOUND);
    /* An expired one is not found, and goes. */
    fake_now = T0 + 601;
    ck_assert_int_eq(session_revoke_id(t, "alice@example.com", id2),
        SESSION_NOT_FOUND);
    session_close(t);
    assert_check_ok();
}
END_TEST

START_TEST(test_client_address_is_kept_and_checked)
{
    struct session_table   *t;
    struct session_info     info;
    struct ids              l;
    char                    a[CRYPTO_TOKEN_LEN + 1], b[CRYPTO_TOKEN_LEN + 1];
    char                    c[CRYPTO_TOKEN_LEN + 1], addr[64];

    t = open_table(100, 600, 86400);
    ck_assert_int_eq(session_create(t, "alice@example.com", 0, "192.0.2.1",
        a, NULL), 0);
    ck_assert_int_eq(session_create(t, "alice@example.com", 0,
        "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255", b, NULL), 0);
    ck_assert_int_eq(session_create(t, "alice@example.com", 0, "", c, NULL),
        0);
    ck_assert_int_eq(lookup(t, a, &info), 0);
    ck_assert_str_eq(info.addr, "192.0.2.1");
    ck_assert_int_eq(lookup(t, b, &info), 0);
    ck_assert_str_eq(info.addr,
        "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255");
    ck_assert_int_eq(lookup(t, c, &info), 0);
    ck_assert_str_eq(info.addr, "");
    memset(&l, 0, sizeof(l));
    ck_assert_int_eq(session_foreach(t, "alice@example.com", ids_cb, &l), 0);
    ck_assert_int_eq(l.n, 3);
    ck_assert_str_eq(l.addr[0], "192.0.2.1");
    ck_assert_str_eq(l.addr[1],
        "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255");
    ck_assert_str_eq(l.addr[2], "");
    /* 46 bytes, or a control character: EINVAL. */
    memset(addr, '1', 46);
    addr[46] = '\0';
    errno = 0;
    ck_assert_int_eq(session_create(t, "alice@example.com", 0, addr, c,
        NULL), -1);
    ck_assert_int_eq(errno, EINVAL);
    errno = 0;
    ck_assert_int_eq(session_create(t, "alice@example.com", 0, "1.2\n", c,
        NULL), -1);
    ck_assert_int_eq(errno, EINVAL);
    ck_assert_int_eq(count_sessions(t, NULL), 3);
    session_close(t);
    assert_check_ok();
}
END_TEST

/* ---- repairs of what a writer killed mid-change leaves ------------------- */

START_TEST(test_check_reports_a_wrong_user_count_and_open_rebuilds_lists)
{
    struct session_table   *t;
    struct ids              l;
    char                    a[3][CRYPTO_TOKEN_LEN + 1], b[CRYPTO_TOKEN_LEN + 1];
    char                    err[SESSION_ERR_LEN], want[SESSION_ERR_LEN];
    char                    id[SESSION_ID_LEN + 1];
    uint64_t                u;
    uint32_t                five = 5, tail;
    int                     i;

    t = open_table(100, 600, 86400);                /* 256 slots */
    for (i = 0; i < 3; i++) {
        fake_now = T0 + i;
        create(t, "alice@example.com", 0, a[i]);
    }
    create(t, "bob@example.com", 0, b);
    session_close(t);
    u = user_index(256, "alice@example.com");
    ck_assert_uint_eq(file_u32(user_off(256, u) + 36), 3);
    tail = file_u32(user_off(256, u) + 44);
    ck_assert_uint_eq(tail, slot_index(256, a[2]));
    file_put(user_off(256, u) + 36, &five, sizeof(five));

    ck_assert_int_eq(session_check(state_dir, err, sizeof(err)), -1);
    snprintf(want, sizeof(want), "%s: user entry %llu: counts 5 sessions up "
        "to slot %u, its list has 3 up to slot %u (a writer died mid-change; "
        "opening the table repairs it)", sess_path, (unsigned long long)u,
        tail, tail);
    ck_assert_str_eq(err, want);
    t = open_table(100, 600, 86400);
    assert_check_ok();
    memset(&l, 0, sizeof(l));
    ck_assert_int_eq(session_foreach(t, "alice@example.com", ids_cb, &l), 0);
    ck_assert_int_eq(l.n, 3);
    for (i = 0; i < 3; i++) {
        token_id(a[i], id);
        ck_assert_str_eq(l.id[i], id);
    }
    ck_assert_int_eq(session_revoke_user(t, "alice@example.com", NULL), 3);
    assert_found(t, b, "bob@example.com");
    session_close(t);
    assert_check_ok();
}
END_TEST

/*
 * A writer that dies holding the write lock leaves seq odd: the next
 * writer, in a process that has had the table open all along, repairs a
 * list it left cut short before making its own change.
 */
START_TEST(test_next_writer_repairs_what_a_dead_writer_left)
{
    struct session_table   *t;
    char                    a[3][CRYPTO_TOKEN_LEN + 1], c[CRYPTO_TOKEN_LEN + 1];
    char                    err[SESSION_ERR_LEN], want[SESSION_ERR_LEN];
    uint64_t                u, seq, head, tail;
    uint32_t                none = UINT32_MAX;
    int                     i;

    t = open_table(100, 600, 86400);
    for (i = 0; i < 3; i++) {
        fake_now = T0 + i;
        create(t, "alice@example.com", 0, a[i]);
    }
    u = user_index(256, "alice@example.com");
    head = slot_index(256, a[0]);
    tail = slot_index(256, a[2]);
    ck_assert_uint_eq(file_u32(user_off(256, u) + 40), head);
    /* next of the head (at byte 60 of a slot) cut, and seq left odd. */
    file_put(slot_off(head) + 60, &none, sizeof(none));
    seq = file_u64(56);
    ck_assert_uint_eq(seq, 8);              /* open and 3 creates */
    seq++;
    file_put(56, &seq, sizeof(seq));

    ck_assert_int_eq(session_check(state_dir, err, sizeof(err)), -1);
    snprintf(want, sizeof(want), "%s: user entry %llu: counts 3 sessions up "
        "to slot %llu, its list has 1 up to slot %llu (a writer died "
        "mid-change; opening the table repairs it)", sess_path,
        (unsigned long long)u, (unsigned long long)tail,
        (unsigned long long)head);
    ck_assert_str_eq(err, want);
    create(t, "carol@example.com", 0, c);
    ck_assert_uint_eq(file_u64(56), 12);
    assert_check_ok();
    ck_assert_int_eq(count_sessions(t, "alice@example.com"), 3);
    ck_assert_int_eq(session_revoke_user(t, "alice@example.com", a[1]), 2);
    assert_found(t, a[1], "alice@example.com");
    assert_found(t, c, "carol@example.com");
    session_close(t);
    assert_check_ok();
}
END_TEST

/* The home slot of tok in a table of cap slots. */
static uint64_t
token_home(const char *tok, uint64_t cap)
{
    uint8_t     key[CRYPTO_SHA256_LEN];
    uint64_t    h;

    crypto_sha256(tok, strlen(tok), key);
    memcpy(&h, key, sizeof(h));
    return h & (cap - 1);
}

/*
 * A writer killed mid-shift, after freeing the slot of the session it
 * ended and before moving the next one back, leaves that one out of reach
 * of its home (and the count one too high): check says so, and open puts
 * it back in reach.
 */
START_TEST(test_slot_out_of_reach_is_reported_and_moved_back)
{
    struct session_table   *t;
    char                    tok[8][CRYPTO_TOKEN_LEN + 1], email[64];
    char                    err[SESSION_ERR_LEN], want[SESSION_ERR_LEN];
    uint64_t                h = 0, count;
    uint32_t                zero = 0;
    int                     i, k, lost = -1, moved = -1, tries;

    t = open_table(8, 600, 86400);                  /* 16 slots */
    for (tries = 0; moved == -1 && tries < 100; tries++) {
        for (i = 0; i < 8; i++) {
            snprintf(email, sizeof(email), "user%d@example.com", i);
            create(t, email, 0, tok[i]);
        }
        for (i = 0; i < 8 && moved == -1; i++) {
            h = token_home(tok[i], 16);
            if (slot_index(16, tok[i]) != h)
                moved = i;
        }
        if (moved == -1)
            for (i = 0; i < 8; i++)
                ck_assert_int_eq(session_revoke(t, tok[i], CRYPTO_TOKEN_LEN), 0);
    }
    ck_assert_int_ne(moved, -1);
    session_close(t);
    for (k = 0; k < 8; k++)
        if (slot_index(16, tok[k]) == h)
            lost = k;
    ck_assert_int_ne(lost, -1);
    file_put(slot_off(h) + 48, &zero, sizeof(zero));    /* in_use */

    ck_assert_int_eq(session_check(state_dir, err, sizeof(err)), -1);
    snprintf(want, sizeof(want), "%s: header counts 8 sessions, 7 slots are "
        "in use (a writer died mid-change; opening the table repairs it)",
        sess_path);
    ck_assert_str_eq(err, want);
    count = 7;
    file_put(40, &count, sizeof(count));
    ck_assert_int_eq(session_check(state_dir, err, sizeof(err)), -1);
    ck_assert_msg(strncmp(err, sess_path, strlen(sess_path)) == 0 &&
        strstr(err, ": not reachable from its hash position ") != NULL &&
        strstr(err, " (a writer died mid-change; opening the table repairs "
        "it)") != NULL, "err: %s", err);

    t = open_table(8, 600, 86400);
    assert_check_ok();
    for (i = 0; i < 8; i++) {
        snprintf(email, sizeof(email), "user%d@example.com", i);
        if (i == lost)
            assert_not_found(t, tok[i]);
        else
            assert_found(t, tok[i], email);
    }
    ck_assert_int_eq(count_sessions(t, NULL), 7);
    session_close(t);
}
END_TEST

/* ---- the previous format ------------------------------------------------- */

/* The version-1 layout, as the previous release wrote it. */
struct v1_header {
    char        magic[12];
    uint32_t    version, header_size, slot_size;
    uint64_t    capacity, max_sessions, count;
    uint32_t    retired, unused;
    uint64_t    seq;
    uint8_t     reserved[64];
};

struct v1_slot {
    uint8_t     key[CRYPTO_SHA256_LEN];
    int64_t     created_at, last_used;
    uint32_t    in_use, role;
    char        email[256];
};

_Static_assert(sizeof(struct v1_header) == 128, "v1 header");
_Static_assert(sizeof(struct v1_slot) == 312, "v1 slot");

/* A version-1 file of 16 slots (max_sessions 8) holding alice (role 1,
 * live), bob (idle past a ttl of 600) and carol (live). */
static void
write_v1(char alice[CRYPTO_TOKEN_LEN + 1], char bob[CRYPTO_TOKEN_LEN + 1],
    char carol[CRYPTO_TOKEN_LEN + 1])
{
    struct {
        struct v1_header    h;
        struct v1_slot      s[16];
    }                       f;
    struct v1_slot          s;
    char                   *toks[3] = { alice, bob, carol };
    static const char      *emails[3] = { "alice@example.com",
                                "bob@example.com", "carol@example.com" };
    static const int64_t    times[3][2] = { { T0 - 100, T0 - 10 },
                                { T0 - 1000, T0 - 700 }, { T0 - 50, T0 - 50 } };
    uint64_t                i;
    int                     k;

    memset(&f, 0, sizeof(f));
    memcpy(f.h.magic, "USERAPIDSESS", 12);
    f.h.version = 1;
    f.h.header_size = 128;
    f.h.slot_size = 312;
    f.h.capacity = 16;
    f.h.max_sessions = 8;
    f.h.count = 3;
    f.h.seq = 4;
    for (k = 0; k < 3; k++) {
        ck_assert_int_eq(crypto_token_new(toks[k]), 0);
        memset(&s, 0, sizeof(s));
        crypto_sha256(toks[k], CRYPTO_TOKEN_LEN, s.key);
        s.created_at = times[k][0];
        s.last_used = times[k][1];
        s.in_use = 1;
        s.role = k == 0 ? 1 : 0;
        snprintf(s.email, sizeof(s.email), "%s", emails[k]);
        for (i = token_home(toks[k], 16); f.s[i].in_use; i = (i + 1) % 16)
            ;
        f.s[i] = s;
    }
    write_file(sess_path, &f, sizeof(f));
}

START_TEST(test_version_1_file_is_upgraded_keeping_its_live_sessions)
{
    struct session_table   *t;
    struct session_info     info;
    char                    a[CRYPTO_TOKEN_LEN + 1], b[CRYPTO_TOKEN_LEN + 1];
    char                    c[CRYPTO_TOKEN_LEN + 1], id[SESSION_ID_LEN + 1];
    char                    err[SESSION_ERR_LEN], want[SESSION_ERR_LEN];

    write_v1(a, b, c);
    ck_assert_int_eq(session_check(state_dir, err, sizeof(err)), -1);
    snprintf(want, sizeof(want), "%s: format version 1, from an earlier "
        "release: it is upgraded to version 2 when userapid next starts",
        sess_path);
    ck_assert_str_eq(err, want);
    ck_assert_int_eq(file_size(sess_path), 128 + 16 * 312);

    t = open_table(100, 600, 86400);
    ck_assert_uint_eq(file_u32(12), 2);
    ck_assert_int_eq(file_size(sess_path), HDR_SIZE + 256 * (SLOT_SIZE +
        USER_SIZE));
    ck_assert_int_eq(lookup(t, a, &info), 0);
    ck_assert_str_eq(info.email, "alice@example.com");
    ck_assert_int_eq(info.role, 1);
    ck_assert_int_eq(info.created_at, T0 - 100);
    ck_assert_int_eq(info.last_used, T0);
    ck_assert_str_eq(info.addr, "");
    token_id(a, id);
    session_token_id(a, strlen(a), info.id);
    ck_assert_str_eq(info.id, id);
    assert_not_found(t, b);
    assert_found(t, c, "carol@example.com");
    ck_assert_int_eq(count_sessions(t, NULL), 2);
    ck_assert_int_eq(session_revoke_user(t, "carol@example.com", NULL), 1);
    session_close(t);
    assert_check_ok();

    /* As it is (userapictl): upgraded at the size it had. */
    write_v1(a, b, c);
    t = open_cfg(1000, 10, 600, 86400, SESSION_AS_IS);
    ck_assert_uint_eq(file_u32(12), 2);
    ck_assert_uint_eq(file_u64(32), 8);
    ck_assert_int_eq(file_size(sess_path), HDR_SIZE + 16 * (SLOT_SIZE +
        USER_SIZE));
    assert_found(t, a, "alice@example.com");
    assert_found(t, c, "carol@example.com");
    session_close(t);
    assert_check_ok();
}
END_TEST

/* ---- per-user lists against a model -------------------------------------- */

#define MODEL_USERS     8
#define MODEL_OPS       4000
#define MODEL_MAX       60      /* 128 slots: long runs, many shifts */
#define MODEL_PER_USER  8       /* 8 users x 8 > 60: a full table happens */

/* What the model says a user's listing is. */
static void
model_check_user(struct session_table *t, int u, char (*tok)[CRYPTO_TOKEN_LEN + 1],
    const int *user, const int *live, const int *role, int n)
{
    struct session_info     info;
    struct ids              l;
    char                    email[64], id[SESSION_ID_LEN + 1];
    int                     k, m = 0;

    snprintf(email, sizeof(email), "user%d@example.com", u);
    memset(&l, 0, sizeof(l));
    ck_assert_int_eq(session_foreach(t, email, ids_cb, &l), 0);
    for (k = 0; k < n; k++) {
        if (user[k] != u || !live[k])
            continue;
        ck_assert_int_lt(m, l.n);
        token_id(tok[k], id);
        ck_assert_str_eq(l.id[m], id);
        ck_assert_int_eq(lookup(t, tok[k], &info), 0);
        ck_assert_str_eq(info.email, email);
        ck_assert_int_eq(info.role, role[k]);
        m++;
    }
    ck_assert_int_eq(l.n, m);
}

/* A random live session of user u among the first n, or -1. */
static int
model_pick(const int *user, const int *live, int n, int u, unsigned *seed)
{
    int k, c = 0, pick = -1;

    for (k = 0; k < n; k++)
        if (user[k] == u && live[k] && rand_r(seed) % (unsigned)++c == 0)
            pick = k;
    return pick;
}

/*
 * Random logins, logouts, revoke_user, revoke_id and set_role of 8 users
 * against a model, on a table small enough for long probe runs, so the
 * backward shifts move list members all the time.  Logins end the user's
 * oldest at the per-user limit, and are refused when the table is full.
 * Every answer, and every user's listing (ids in creation order, roles),
 * must be the model's.
 */
START_TEST(test_random_per_user_calls_match_a_model)
{
    struct session_table   *t;
    char                  (*tok)[CRYPTO_TOKEN_LEN + 1], email[64];
    char                    id[SESSION_ID_LEN + 1];
    int                    *user, *live, *role, ulive[MODEL_USERS] = { 0 };
    int                     i, j, k, u, r, n = 0, nlive = 0, want, rc;
    unsigned                seed = 4242;

    tok = calloc(MODEL_OPS, sizeof(*tok));
    user = calloc(MODEL_OPS, sizeof(*user));
    live = calloc(MODEL_OPS, sizeof(*live));
    role = calloc(MODEL_OPS, sizeof(*role));
    ck_assert(tok != NULL && user != NULL && live != NULL && role != NULL);
    t = open_cfg(MODEL_MAX, MODEL_PER_USER, 1000000, 10000000, 0);
    for (i = 0; i < MODEL_OPS; i++) {
        fake_now++;
        r = (int)(rand_r(&seed) % 20);
        u = (int)(rand_r(&seed) % MODEL_USERS);
        snprintf(email, sizeof(email), "user%d@example.com", u);
        if (r < 11) {
            want = 0;
            if (ulive[u] == MODEL_PER_USER) {
                for (k = 0; user[k] != u || !live[k]; k++)
                    ;
                live[k] = 0;
                ulive[u]--;
                nlive--;
            } else if (nlive == MODEL_MAX)
                want = -1;
            user[n] = u;
            role[n] = r % 4;
            rc = session_create(t, email, role[n], NULL, tok[n], NULL);
            ck_assert_int_eq(rc, want);
            if (rc == -1) {
                ck_assert_int_eq(errno, EAGAIN);
                continue;
            }
            live[n++] = 1;
            ulive[u]++;
            nlive++;
        } else if (r < 15 && n > 0) {
            k = (int)(rand_r(&seed) % (unsigned)n);
            ck_assert_int_eq(session_revoke(t, tok[k], CRYPTO_TOKEN_LEN),
                live[k] ? 0 : SESSION_NOT_FOUND);
            ulive[user[k]] -= live[k];
            nlive -= live[k];
            live[k] = 0;
        } else if (r < 16) {
            k = rand_r(&seed) % 2 ? model_pick(user, live, n, u, &seed) : -1;
            ck_assert_int_eq(session_revoke_user(t, email, k >= 0 ? tok[k] :
                NULL), ulive[u] - (k >= 0));
            for (j = 0; j < n; j++)
                if (user[j] == u && j != k && live[j]) {
                    live[j] = 0;
                    nlive--;
                }
            ulive[u] = k >= 0;
        } else if (r < 18) {
            if ((k = model_pick(user, live, n, u, &seed)) == -1)
                continue;
            token_id(tok[k], id);
            ck_assert_int_eq(session_revoke_id(t, email, id), 0);
            live[k] = 0;
            ulive[u]--;
            nlive--;
        } else {
            ck_assert_int_eq(session_set_role(t, email, r), ulive[u]);
            for (k = 0; k < n; k++)
                if (user[k] == u)
                    role[k] = r;
        }
        if (i % 500 == 0)
            for (u = 0; u < MODEL_USERS; u++)
                model_check_user(t, u, tok, user, live, role, n);
    }
    for (u = 0; u < MODEL_USERS; u++)
        model_check_user(t, u, tok, user, live, role, n);
    for (k = 0; k < n; k++)
        if (!live[k])
            assert_not_found(t, tok[k]);
    ck_assert_int_eq(count_sessions(t, NULL), nlive);
    session_close(t);
    assert_check_ok();
    free(tok);
    free(user);
    free(live);
    free(role);
}
END_TEST

/* ---- lock-free lookups under concurrent writers -------------------------- */

/*
 * Writers and readers in separate processes on one small table, on a
 * shared fake clock that readers move on before half their lookups, so
 * most lookups have a time of use to record (and the lock-free path is
 * taken by the lookup right after, in the same tick).  In readers the
 * clock sometimes yields the CPU: a lookup is then, as if preempted,
 * between reading its slot and recording the time, while the writers
 * shift slots about.  Writers
 * log in, log out, revoke_user and set_role for their own users, and
 * publish each token with what it was issued with.  Some sessions are
 * idle: nobody looks them up before they expire, and their writer ends
 * them only long after, so expired sessions sit among the live ones as
 * backward shifts move slots about.  Readers look up published tokens and
 * accept only:
 * - found: the email, creation time, id and address the token was issued
 *   with, a role once set for that email, and never an idle token past
 *   its expiry (which a stray store of a time of use into a slot it was
 *   just moved to would revive);
 * - not found: a token its writer has ended (or is ending), an idle one,
 *   or one nobody found within ttl (minus a margin for racing readers).
 */
#define ST_USERS        6
#define ST_WRITERS      2
#define ST_READERS      3
#define ST_RECS         (1 << 18)
#define ST_MAX          16          /* 32 slots */
#define ST_BUDGET       (ST_MAX / ST_WRITERS)   /* never a full table */
#define ST_IDLE         4           /* idle sessions a writer keeps */
#define ST_TTL          5000        /* ticks */
#define ST_MARGIN       (ST_TTL / 2)
#define ST_SECONDS      2

struct st_rec {
    char        token[CRYPTO_TOKEN_LEN + 1];
    char        id[SESSION_ID_LEN + 1];
    int         user;
    int         idle;
    int64_t     created;
    int64_t     seen;       /* the latest clock a reader found it at */
    int         state;      /* 0 unpublished, 1 live, 2 ending or ended */
};

struct st_shared {
    int64_t         clock;
    int             stop;
    int             nrecs;
    int             failed;
    uint32_t        roles[ST_USERS];    /* bit r: role r was set */
    int             live[ST_WRITERS][ST_BUDGET];    /* records, or -1 */
    long            found, missing;
    char            why[256];
    struct st_rec   recs[ST_RECS];
};

/* A writer's own records still in the table, per user, oldest first. */
struct st_mine {
    int rec[ST_USERS][ST_BUDGET];
    int n[ST_USERS];
    int total, idle;
};

static struct st_shared *st;
static int              st_yield;      /* in a reader */

static int64_t
st_time(void)
{
    return __atomic_load_n(&st->clock, __ATOMIC_ACQUIRE);
}

/* session.c's clock. */
static int64_t
st_clock(void)
{
    static unsigned calls;

    if (st_yield && ++calls % 8 == 0)
        sched_yield();
    return st_time();
}

static void
st_email(int u, char *email, size_t len)
{
    snprintf(email, len, "stress%d@example.com", u);
}

static void
st_fail(const char *fmt, ...)
{
    va_list ap;

    if (__atomic_exchange_n(&st->failed, 1, __ATOMIC_ACQ_REL) == 0) {
        va_start(ap, fmt);
        vsnprintf(st->why, sizeof(st->why), fmt, ap);
        va_end(ap);
    }
    __atomic_store_n(&st->stop, 1, __ATOMIC_RELEASE);
    _exit(1);
}

/* The readers' view of writer w's records. */
static void
st_publish(int w, const struct st_mine *m)
{
    int u, j, k = 0;

    for (u = w; u < ST_USERS; u += ST_WRITERS)
        for (j = 0; j < m->n[u]; j++)
            __atomic_store_n(&st->live[w][k++], m->rec[u][j],
                __ATOMIC_RELEASE);
    while (k < ST_BUDGET)
        __atomic_store_n(&st->live[w][k++], -1, __ATOMIC_RELEASE);
}

static void
st_forget(struct st_mine *m, int u, int k)
{
    if (st->recs[m->rec[u][k]].idle)
        m->idle--;
    memmove(&m->rec[u][k], &m->rec[u][k + 1],
        (size_t)(m->n[u] - k - 1) * sizeof(int));
    m->n[u]--;
    m->total--;
}

/* Logs out record k of user u, marked ended first. */
static void
st_end(struct session_table *t, struct st_mine *m, int u, int k)
{
    struct st_rec  *rec = &st->recs[m->rec[u][k]];

    __atomic_store_n(&rec->state, 2, __ATOMIC_RELEASE);
    if (session_revoke(t, rec->token, CRYPTO_TOKEN_LEN) < 0)
        st_fail("revoke: %s", strerror(errno));
    st_forget(m, u, k);
}

static void
st_create(struct session_table *t, struct st_mine *m, int u, int idle,
    unsigned *seed)
{
    struct st_rec  *rec;
    char            email[64];
    int64_t         exp;
    int             r, role = (int)(rand_r(seed) % 4);

    /* Claimed in order; published by state. */
    if ((r = __atomic_fetch_add(&st->nrecs, 1, __ATOMIC_ACQ_REL)) >= ST_RECS)
        return;
    rec = &st->recs[r];
    rec->user = u;
    rec->idle = idle;
    __atomic_fetch_or(&st->roles[u], 1u << role, __ATOMIC_ACQ_REL);
    st_email(u, email, sizeof(email));
    if (session_create(t, email, role, "192.0.2.1", rec->token, &exp) != 0)
        st_fail("create: %s", strerror(errno));
    token_id(rec->token, rec->id);
    rec->created = exp - ST_TTL;
    rec->seen = rec->created;
    __atomic_store_n(&rec->state, 1, __ATOMIC_RELEASE);
    m->rec[u][m->n[u]++] = r;
    m->total++;
    m->idle += idle;
}

static void
st_revoke_user(struct session_table *t, struct st_mine *m, int u,
    unsigned *seed)
{
    char    email[64];
    int     k, keep = -1;

    if (m->n[u] > 0 && rand_r(seed) % 2)
        keep = (int)(rand_r(seed) % (unsigned)m->n[u]);
    for (k = 0; k < m->n[u]; k++)
        if (k != keep)
            __atomic_store_n(&st->recs[m->rec[u][k]].state, 2,
                __ATOMIC_RELEASE);
    st_email(u, email, sizeof(email));
    if (session_revoke_user(t, email, keep >= 0 ?
        st->recs[m->rec[u][keep]].token : NULL) < 0)
        st_fail("revoke_user: %s", strerror(errno));
    for (k = m->n[u] - 1; k >= 0; k--)
        if (k != keep)
            st_forget(m, u, k);
}

/* An idle record of writer w's, expired for two ttl already: its user in
 * *u, its place in the return value, or -1. */
static int
st_stale_idle(const struct st_mine *m, int w, int *u)
{
    struct st_rec  *rec;
    int             k;

    for (*u = w; *u < ST_USERS; *u += ST_WRITERS)
        for (k = 0; k < m->n[*u]; k++) {
            rec = &st->recs[m->rec[*u][k]];
            if (rec->idle && st_time() >= rec->created + 3 * ST_TTL)
                return k;
        }
    return -1;
}

/* A record of writer w's that is not idle: its user in *u, or -1. */
static int
st_active(const struct st_mine *m, int w, int *u, unsigned *seed)
{
    int k, c = 0, pick = -1, pu = -1, v;

    for (v = w; v < ST_USERS; v += ST_WRITERS)
        for (k = 0; k < m->n[v]; k++)
            if (!st->recs[m->rec[v][k]].idle &&
                rand_r(seed) % (unsigned)++c == 0) {
                pick = k;
                pu = v;
            }
    *u = pu;
    return pick;
}

static int
st_writer(struct session_table *t, int w)
{
    struct st_mine  m;
    char            email[64];
    unsigned        seed = 1000 + (unsigned)w;
    int             u, k, r, action;

    memset(&m, 0, sizeof(m));
    while (!__atomic_load_n(&st->stop, __ATOMIC_ACQUIRE)) {
        u = w + ST_WRITERS * (int)(rand_r(&seed) % (ST_USERS / ST_WRITERS));
        action = (int)(rand_r(&seed) % 50);
        if ((k = st_stale_idle(&m, w, &r)) >= 0)
            st_end(t, &m, r, k);
        else if (m.idle < ST_IDLE && m.total < ST_BUDGET)
            st_create(t, &m, u, 1, &seed);
        else if ((m.total >= ST_BUDGET || action < 20) &&
            (k = st_active(&m, w, &r, &seed)) >= 0)
            st_end(t, &m, r, k);
        else if (action == 20)
            st_revoke_user(t, &m, u, &seed);
        else if (action < 25) {
            r = (int)(rand_r(&seed) % 4);
            __atomic_fetch_or(&st->roles[u], 1u << r, __ATOMIC_ACQ_REL);
            st_email(u, email, sizeof(email));
            if (session_set_role(t, email, r) < 0)
                st_fail("set_role: %s", strerror(errno));
        } else if (m.total < ST_BUDGET)
            st_create(t, &m, u, 0, &seed);
        st_publish(w, &m);
    }
    return 0;
}

/* One lookup of record r, judged as the comment above says. */
static void
st_read_one(struct session_table *t, int r)
{
    struct st_rec          *rec = &st->recs[r];
    struct session_info     info;
    char                    email[64];
    int64_t                 c0, c1, seen;
    int                     rc, state;

    if (__atomic_load_n(&rec->state, __ATOMIC_ACQUIRE) == 0)
        return;
    c0 = st_time();
    if (rec->idle && c0 < rec->created + ST_TTL)
        return;
    rc = session_lookup(t, rec->token, CRYPTO_TOKEN_LEN, &info);
    c1 = st_time();
    state = __atomic_load_n(&rec->state, __ATOMIC_ACQUIRE);
    seen = __atomic_load_n(&rec->seen, __ATOMIC_ACQUIRE);
    if (rc == -1)
        st_fail("lookup: %s", strerror(errno));
    if (rc == SESSION_NOT_FOUND) {
        __atomic_fetch_add(&st->missing, 1, __ATOMIC_RELAXED);
        if (state == 1 && !rec->idle && c1 < seen + ST_TTL - ST_MARGIN)
            st_fail("record %d: live (found at %lld) but not found at %lld",
                r, (long long)seen, (long long)c1);
        return;
    }
    __atomic_fetch_add(&st->found, 1, __ATOMIC_RELAXED);
    st_email(rec->user, email, sizeof(email));
    if (rec->idle)
        st_fail("record %d: idle since %lld, found at %lld", r,
            (long long)rec->created, (long long)c0);
    if (strcmp(info.email, email) != 0 || info.created_at != rec->created ||
        info.id[0] != '\0' || strcmp(info.addr, "192.0.2.1") != 0 ||
        info.role < 0 || info.role > 3 ||
        !(__atomic_load_n(&st->roles[rec->user], __ATOMIC_ACQUIRE) &
        (1u << info.role)))
        st_fail("record %d: issued to %s at %lld, found %s role %d at %lld",
            r, email, (long long)rec->created, info.email, info.role,
            (long long)info.created_at);
    while (c0 > seen && !__atomic_compare_exchange_n(&rec->seen, &seen, c0,
        1, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
        ;
}

static int
st_reader(struct session_table *t, int id)
{
    unsigned    seed = 2000 + (unsigned)id;
    int         n, r;

    st_yield = 1;
    while (!__atomic_load_n(&st->stop, __ATOMIC_ACQUIRE)) {
        n = __atomic_load_n(&st->nrecs, __ATOMIC_ACQUIRE);
        if (n > ST_RECS)
            n = ST_RECS;
        if (n == 0)
            continue;
        /* Mostly sessions in the table; some old, ended ones. */
        if (rand_r(&seed) % 4 != 0)
            r = __atomic_load_n(&st->live[rand_r(&seed) % ST_WRITERS]
                [rand_r(&seed) % ST_BUDGET], __ATOMIC_ACQUIRE);
        else
            r = (int)(rand_r(&seed) % (unsigned)n);
        if (r < 0)
            continue;
        if (rand_r(&seed) % 2)
            __atomic_add_fetch(&st->clock, 1, __ATOMIC_ACQ_REL);
        st_read_one(t, r);
        if (rand_r(&seed) % 4 == 0)
            st_read_one(t, r);
    }
    return 0;
}

START_TEST(test_lockfree_lookups_see_only_issued_sessions_under_writers)
{
    struct session_table   *t;
    struct session_info     info;
    struct timespec         start, now;
    char                    email[64];
    pid_t                   pids[ST_WRITERS + ST_READERS];
    int                     i, status, n;

    st = mmap(NULL, sizeof(*st), PROT_READ | PROT_WRITE,
        MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    ck_assert_ptr_ne(st, MAP_FAILED);
    st->clock = T0;
    memset(st->live, 0xff, sizeof(st->live));
    session_set_clock(st_clock);
    t = open_cfg(ST_MAX, ST_MAX, ST_TTL, 1000000, 0);
    for (i = 0; i < ST_WRITERS + ST_READERS; i++) {
        if ((pids[i] = fork()) == 0)
            _exit(i < ST_WRITERS ? st_writer(t, i) :
                st_reader(t, i - ST_WRITERS));
        ck_assert_int_ne(pids[i], -1);
    }
    clock_gettime(CLOCK_MONOTONIC, &start);
    do {
        usleep(10000);
        clock_gettime(CLOCK_MONOTONIC, &now);
    } while (now.tv_sec - start.tv_sec < ST_SECONDS &&
        !__atomic_load_n(&st->stop, __ATOMIC_ACQUIRE));
    __atomic_store_n(&st->stop, 1, __ATOMIC_RELEASE);
    for (i = 0; i < ST_WRITERS + ST_READERS; i++)
        ck_assert_int_eq(waitpid(pids[i], &status, 0), pids[i]);
    ck_assert_msg(!st->failed, "%s", st->why);
    n = st->nrecs < ST_RECS ? st->nrecs : ST_RECS;
    fprintf(stderr, "lock-free stress: %d sessions, %lld ticks, %ld lookups "
        "found, %ld not found\n", n, (long long)(st->clock - T0), st->found,
        st->missing);
    ck_assert_int_gt(st->found, 1000);
    /* With the writers gone, what is left is what was issued. */
    for (i = 0; i < n; i++)
        if (st->recs[i].state == 1 && session_lookup(t, st->recs[i].token,
            CRYPTO_TOKEN_LEN, &info) == 0) {
            st_email(st->recs[i].user, email, sizeof(email));
            ck_assert_str_eq(info.email, email);
            ck_assert_int_eq(info.created_at, st->recs[i].created);
            ck_assert(!st->recs[i].idle ||
                st->clock < st->recs[i].created + ST_TTL);
        }
    session_close(t);
    assert_check_ok();
    munmap(st, sizeof(*st));
}
END_TEST

static Suite *
session_suite(void)
{
    Suite   *s;
    TCase   *tc;

    s = suite_create("session");

    tc = tcase_create("basics");
    tcase_add_checked_fixture(tc, sess_setup, sess_teardown);
    tcase_add_test(tc, test_create_then_lookup_returns_email_role_and_times);
    tcase_add_test(tc, test_unknown_or_malformed_token_is_not_found);
    tcase_add_test(tc, test_revoke_ends_session_and_second_revoke_is_not_found);
    tcase_add_test(tc, test_revoke_user_ends_all_but_the_excepted_token);
    tcase_add_test(tc, test_set_role_applies_to_live_sessions);
    tcase_add_test(tc, test_foreach_lists_one_users_live_sessions_oldest_first);
    tcase_add_test(tc, test_create_rejects_bad_email_and_role);
    tcase_add_test(tc, test_open_rejects_out_of_range_settings);
    tcase_add_test(tc, test_ids_name_sessions_and_revoke_id_ends_one);
    tcase_add_test(tc, test_client_address_is_kept_and_checked);
    tcase_add_test(tc, test_lookups_take_the_lock_only_to_record_a_new_second);
    suite_add_tcase(s, tc);

    tc = tcase_create("expiry");
    tcase_add_checked_fixture(tc, sess_setup, sess_teardown);
    tcase_add_test(tc, test_idle_session_expires_after_ttl_since_last_use);
    tcase_add_test(tc, test_absolute_expiry_ends_a_session_in_constant_use);
    tcase_add_test(tc, test_create_reports_idle_expiry_capped_by_max_age);
    suite_add_tcase(s, tc);

    tc = tcase_create("capacity");
    tcase_set_timeout(tc, 60);
    tcase_add_checked_fixture(tc, sess_setup, sess_teardown);
    tcase_add_test(tc, test_full_table_of_live_sessions_refuses_with_eagain);
    tcase_add_test(tc, test_full_table_reclaims_expired_sessions_before_evicting);
    tcase_add_test(tc, test_full_table_is_scanned_again_only_at_the_earliest_expiry);
    tcase_add_test(tc, test_per_user_limit_ends_that_users_oldest_session);
    tcase_add_test(tc, test_per_user_limit_is_clamped_to_max_sessions);
    tcase_add_test(tc, test_per_user_calls_do_not_scan_the_table);
    tcase_add_test(tc, test_random_per_user_calls_match_a_model);
    tcase_add_test(tc, test_live_sessions_never_exceed_max_sessions);
    tcase_add_test(tc, test_random_creates_and_revokes_match_a_model);
    suite_add_tcase(s, tc);

    tc = tcase_create("file");
    tcase_add_checked_fixture(tc, sess_setup, sess_teardown);
    tcase_add_test(tc, test_session_file_is_mode_0600);
    tcase_add_test(tc, test_session_file_stores_no_token);
    tcase_add_test(tc, test_sessions_survive_close_and_reopen);
    tcase_add_test(tc, test_reopen_with_larger_max_sessions_keeps_live_sessions);
    tcase_add_test(tc,
        test_reopen_with_smaller_max_sessions_keeps_the_latest_expiring);
    tcase_add_test(tc, test_lowering_max_sessions_within_capacity_trims_in_place);
    tcase_add_test(tc, test_rebuild_leaves_the_new_files_seq_even);
    tcase_add_test(tc, test_as_is_open_keeps_the_tables_size_and_sessions);
    tcase_add_test(tc, test_version_1_file_is_upgraded_keeping_its_live_sessions);
    tcase_add_test(tc, test_corrupt_file_is_refused_with_its_reason);
    tcase_add_test(tc, test_truncated_file_is_refused_with_expected_size);
    tcase_add_test(tc, test_reset_flag_recreates_a_corrupt_file_empty);
    tcase_add_test(tc, test_check_accepts_a_missing_file_and_a_valid_one);
    tcase_add_test(tc, test_check_reports_a_damaged_slot_and_open_drops_it);
    tcase_add_test(tc, test_check_reports_a_wrong_count_and_open_repairs_it);
    tcase_add_test(tc, test_check_reports_a_wrong_user_count_and_open_rebuilds_lists);
    tcase_add_test(tc, test_next_writer_repairs_what_a_dead_writer_left);
    tcase_add_test(tc, test_slot_out_of_reach_is_reported_and_moved_back);
    suite_add_tcase(s, tc);

    tc = tcase_create("processes");
    tcase_set_timeout(tc, 120);
    tcase_add_checked_fixture(tc, sess_setup, sess_teardown);
    tcase_add_test(tc, test_forked_child_shares_sessions_with_parent);
    tcase_add_test(tc, test_8_processes_creating_500_sessions_each_keep_all_4000);
    tcase_add_test(tc, test_lockless_lookups_stay_consistent_under_writers);
    tcase_add_test(tc, test_lockfree_lookups_see_only_issued_sessions_under_writers);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr;
    int      failed;

    /* The warnings session.c logs on repairs are expected here. */
    log_init("test_session", LOG_ERR);
    sr = srunner_create(session_suite());
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
