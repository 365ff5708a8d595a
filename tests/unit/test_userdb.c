/* SPDX-License-Identifier: MIT */
/*
 * test_userdb.c - unit tests for userdb.c: the file format byte for byte,
 * lookups, adds, rewrites, the last-admin rule, two handles as two
 * processes' views, torn and malformed lines, imports, forked processes
 * racing on one file, and full disks.
 *
 * Each test gets a fresh directory from mkdtemp under /tmp; the fixture
 * removes it.  Files are compared whole, and errors too ("PATH:LINE:
 * reason"), because the file is what an administrator reads and repairs.
 * Child processes report through their exit status only: a failing check
 * in a child prints where and exits non-zero.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "userdb.h"

#define T0          INT64_C(1700000000)     /* 2023-11-14T22:13:20Z */
#define T0_TEXT     "2023-11-14T22:13:20Z"
#define T1          INT64_C(1700000001)
#define T1_TEXT     "2023-11-14T22:13:21Z"
#define HASH_A      "$y$j9T$F5Jx5fExrKuJdjF8CoVnD.$Qq1x3IY1V8PpmHt/2n3FZ8Y4qVQx0a1nGg0bJb9OJq/"
#define HASH_B      "$y$j9T$Zo0Yh0p3o9Gk3l1QwQp6v/$8wqzQeJ1W2H7zW1e5b3dQ0H4yUO1cV1Lw2X3KkYb7mC"
#define HEADER      "userapid-users 1\n"
#define LINE_ALICE  "alice@example.com\tadmin\t" T0_TEXT "\t" HASH_A "\n"
#define LINE_BOB    "bob@example.com\tuser\t" T1_TEXT "\t" HASH_B "\n"
#define NPROC       8
#define PER_PROC    200

/* A check inside a forked child: say where, exit 1. */
#define CHILD_CHECK(c) do {                                             \
        if (!(c)) {                                                     \
            fprintf(stderr, "%s:%d: child check failed: %s (errno %s)\n",\
                __FILE__, __LINE__, #c, strerror(errno));               \
            _exit(1);                                                   \
        }                                                               \
    } while (0)

static char dir[64];
static char dbpath[128];
static char lockpath[128];
static char tmppath[128];

static void     dir_setup(void);
static void     dir_teardown(void);
static int      rm_entry(const char *, const struct stat *, int,
                    struct FTW *);
static void     mkuser(struct userdb_user *, const char *, int, int64_t,
                    const char *);
static char    *slurp(const char *, size_t *);
static void     spew(const char *, const char *, size_t);
static void     assert_file(const char *, const char *);
static struct userdb *open_ok(int);
static void     assert_open_error(const char *, const char *);
static void     add_ok(struct userdb *, const char *, int, int64_t,
                    const char *);
static double   now(void);
static mode_t   file_mode(const char *);
static ino_t    file_ino(const char *);
static int      wait_code(pid_t);
static void     child_tmpfs(const char *);
static void     enospc_child(const char *);
static void     erofs_child(const char *);
static int      run_tmpfs_child(void (*)(const char *));
static Suite   *userdb_suite(void);

static void
dir_setup(void)
{
    snprintf(dir, sizeof(dir), "/tmp/userdb-test-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(dbpath, sizeof(dbpath), "%s/users.db", dir);
    snprintf(lockpath, sizeof(lockpath), "%s/users.db.lock", dir);
    snprintf(tmppath, sizeof(tmppath), "%s/users.db.tmp", dir);
}

static int
rm_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)st;
    (void)type;
    (void)ftw;
    return remove(path);
}

static void
dir_teardown(void)
{
    if (dir[0] != '\0')
        nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void
mkuser(struct userdb_user *u, const char *email, int role, int64_t t,
    const char *hash)
{
    memset(u, 0, sizeof(*u));
    snprintf(u->email, sizeof(u->email), "%s", email);
    u->role = role;
    u->created_at = t;
    snprintf(u->hash, sizeof(u->hash), "%s", hash);
}

/* The whole file, NUL-terminated; *len without the NUL. */
static char *
slurp(const char *path, size_t *len)
{
    struct stat  st;
    char        *p;
    ssize_t      n;
    size_t       got = 0;
    int          fd;

    fd = open(path, O_RDONLY);
    ck_assert_msg(fd != -1, "%s: %s", path, strerror(errno));
    ck_assert_int_eq(fstat(fd, &st), 0);
    p = malloc((size_t)st.st_size + 1);
    ck_assert_ptr_nonnull(p);
    while (got < (size_t)st.st_size &&
        (n = read(fd, p + got, (size_t)st.st_size - got)) > 0)
        got += (size_t)n;
    ck_assert_uint_eq(got, (size_t)st.st_size);
    close(fd);
    p[got] = '\0';
    if (len != NULL)
        *len = got;
    return p;
}

static void
spew(const char *path, const char *data, size_t len)
{
    int fd;

    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    ck_assert_msg(fd != -1, "%s: %s", path, strerror(errno));
    ck_assert_int_eq(write(fd, data, len), (ssize_t)len);
    ck_assert_int_eq(close(fd), 0);
}

static void
assert_file(const char *path, const char *expect)
{
    char    *got;
    size_t   len;

    got = slurp(path, &len);
    ck_assert_uint_eq(len, strlen(expect));
    ck_assert_str_eq(got, expect);
    free(got);
}

static struct userdb *
open_ok(int flags)
{
    struct userdb   *db;
    char             err[USERDB_ERR_LEN] = "";

    db = userdb_open(dir, flags, err, sizeof(err));
    ck_assert_msg(db != NULL, "userdb_open: %s", err);
    return db;
}

/* users.db holding text does not open; err is "DBPATH" + suffix. */
static void
assert_open_error(const char *text, const char *suffix)
{
    struct userdb   *db;
    char             err[USERDB_ERR_LEN], expect[USERDB_ERR_LEN];

    spew(dbpath, text, strlen(text));
    snprintf(expect, sizeof(expect), "%s%s", dbpath, suffix);
    err[0] = '\0';
    errno = 0;
    db = userdb_open(dir, USERDB_REPAIR, err, sizeof(err));
    ck_assert_msg(db == NULL, "opened: %s", text);
    ck_assert_int_eq(errno, EBADMSG);
    ck_assert_str_eq(err, expect);
    ck_assert_int_eq(userdb_check(dir, NULL, err, sizeof(err)), -1);
    ck_assert_str_eq(err, expect);
    /* Failing to open changes nothing. */
    assert_file(dbpath, text);
}

static void
add_ok(struct userdb *db, const char *email, int role, int64_t t,
    const char *hash)
{
    struct userdb_user u;

    mkuser(&u, email, role, t, hash);
    ck_assert_msg(userdb_add(db, &u) == 0, "add %s: %s", email,
        userdb_errmsg(db));
}

static double
now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static mode_t
file_mode(const char *path)
{
    struct stat st;

    ck_assert_msg(stat(path, &st) == 0, "%s: %s", path, strerror(errno));
    return st.st_mode & 07777;
}

static ino_t
file_ino(const char *path)
{
    struct stat st;

    ck_assert_msg(stat(path, &st) == 0, "%s: %s", path, strerror(errno));
    return st.st_ino;
}

/* The exit status of a child, or -1 if it did not exit. */
static int
wait_code(pid_t pid)
{
    int st;

    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* ---- opening and creating --------------------------------------------- */

START_TEST(test_open_create_writes_header_only_file_mode_0600)
{
    struct userdb *db;

    db = open_ok(USERDB_CREATE);
    assert_file(dbpath, HEADER);
    ck_assert_uint_eq(file_mode(dbpath), 0600);
    ck_assert_uint_eq(file_mode(lockpath), 0600);
    ck_assert_int_eq(access(tmppath, F_OK), -1);
    ck_assert_uint_eq(userdb_count(db), 0);
    ck_assert_str_eq(userdb_errmsg(db), "");
    userdb_close(db);
}
END_TEST

START_TEST(test_files_are_0600_whatever_the_umask)
{
    struct userdb       *db;
    struct userdb_user   u;
    mode_t               old = umask(0);

    db = open_ok(USERDB_CREATE);
    add_ok(db, "alice@example.com", USERDB_ROLE_ADMIN, T0, HASH_A);
    mkuser(&u, "alice@example.com", USERDB_ROLE_ADMIN, 0, HASH_B);
    ck_assert_int_eq(userdb_update(db, &u, 0), 0);
    umask(old);
    ck_assert_uint_eq(file_mode(dbpath), 0600);
    ck_assert_uint_eq(file_mode(lockpath), 0600);
    userdb_close(db);
}
END_TEST

START_TEST(test_open_without_create_on_missing_file_fails_enoent)
{
    char err[USERDB_ERR_LEN], expect[USERDB_ERR_LEN];

    errno = 0;
    ck_assert_ptr_null(userdb_open(dir, 0, err, sizeof(err)));
    ck_assert_int_eq(errno, ENOENT);
    snprintf(expect, sizeof(expect), "%s: No such file or directory", dbpath);
    ck_assert_str_eq(err, expect);
    ck_assert_int_eq(access(dbpath, F_OK), -1);
}
END_TEST

START_TEST(test_open_create_keeps_an_existing_file)
{
    struct userdb *db;

    spew(dbpath, HEADER LINE_ALICE, strlen(HEADER LINE_ALICE));
    db = open_ok(USERDB_CREATE);
    ck_assert_uint_eq(userdb_count(db), 1);
    assert_file(dbpath, HEADER LINE_ALICE);
    userdb_close(db);
}
END_TEST

START_TEST(test_open_missing_directory_names_the_lock_file)
{
    char err[USERDB_ERR_LEN], expect[USERDB_ERR_LEN];

    ck_assert_ptr_null(userdb_open("/nonexistent/userdb", USERDB_CREATE, err,
        sizeof(err)));
    ck_assert_int_eq(errno, ENOENT);
    snprintf(expect, sizeof(expect), "/nonexistent/userdb/users.db.lock: %s",
        strerror(ENOENT));
    ck_assert_str_eq(err, expect);
}
END_TEST

/* ---- adding and reading ----------------------------------------------- */

START_TEST(test_add_appends_exact_lines_in_creation_order)
{
    struct userdb       *db;
    struct userdb_user   u;

    db = open_ok(USERDB_CREATE);
    add_ok(db, "alice@example.com", USERDB_ROLE_ADMIN, T0, HASH_A);
    add_ok(db, "bob@example.com", USERDB_ROLE_USER, T1, HASH_B);
    assert_file(dbpath, HEADER LINE_ALICE LINE_BOB);
    ck_assert_uint_eq(file_mode(dbpath), 0600);
    ck_assert_uint_eq(userdb_count(db), 2);

    ck_assert_int_eq(userdb_get(db, 0, &u), 0);
    ck_assert_str_eq(u.email, "alice@example.com");
    ck_assert_int_eq(u.role, USERDB_ROLE_ADMIN);
    ck_assert_int_eq(u.created_at, T0);
    ck_assert_str_eq(u.hash, HASH_A);
    ck_assert_int_eq(userdb_get(db, 1, &u), 0);
    ck_assert_str_eq(u.email, "bob@example.com");
    ck_assert_int_eq(u.role, USERDB_ROLE_USER);
    ck_assert_int_eq(u.created_at, T1);
    ck_assert_str_eq(u.hash, HASH_B);
    ck_assert_int_eq(userdb_get(db, 2, &u), USERDB_NOT_FOUND);
    userdb_close(db);

    /* And a fresh handle reads the same. */
    db = open_ok(0);
    ck_assert_uint_eq(userdb_count(db), 2);
    ck_assert_int_eq(userdb_find(db, "bob@example.com", &u), 0);
    ck_assert_int_eq(u.created_at, T1);
    userdb_close(db);
}
END_TEST

START_TEST(test_find_is_exact_on_the_stored_lower_case_email)
{
    struct userdb       *db;
    struct userdb_user   u;

    db = open_ok(USERDB_CREATE);
    add_ok(db, "alice@example.com", USERDB_ROLE_ADMIN, T0, HASH_A);
    ck_assert_int_eq(userdb_find(db, "alice@example.com", &u), 0);
    ck_assert_str_eq(u.email, "alice@example.com");
    ck_assert_int_eq(userdb_find(db, "alice@example.com", NULL), 0);
    ck_assert_int_eq(userdb_find(db, "Alice@example.com", &u),
        USERDB_NOT_FOUND);
    ck_assert_int_eq(userdb_find(db, "alice@example.co", &u),
        USERDB_NOT_FOUND);
    ck_assert_int_eq(userdb_find(db, "alice@example.comm", &u),
        USERDB_NOT_FOUND);
    ck_assert_int_eq(userdb_find(db, "alice", &u), USERDB_NOT_FOUND);
    ck_assert_int_eq(userdb_find(db, "", &u), USERDB_NOT_FOUND);
    ck_assert_int_eq(userdb_find(db, "alice@example.com\tadmin", &u),
        USERDB_NOT_FOUND);
    userdb_close(db);
}
END_TEST

/* Each handle hashes with its own random key, so a wrong match that
 * needs a collision shows up only in some of them: ask 200. */
START_TEST(test_find_never_matches_the_start_of_a_longer_line)
{
    static const char *const notthere[] = {
        "alice@example.com\tadmin",
        "alice@example.com\tadmin\t" T0_TEXT,
        "alice@example.com\t",
        "bob@example.com\tuser\t" T1_TEXT "\t" HASH_B,
        "bob@example.com\n",
    };
    struct userdb       *db;
    struct userdb_user   u;
    size_t               i, k;

    spew(dbpath, HEADER LINE_ALICE LINE_BOB,
        strlen(HEADER LINE_ALICE LINE_BOB));
    for (k = 0; k < 200; k++) {
        db = open_ok(0);
        for (i = 0; i < sizeof(notthere) / sizeof(notthere[0]); i++)
            ck_assert_msg(userdb_find(db, notthere[i], &u) ==
                USERDB_NOT_FOUND, "handle %zu found \"%s\"", k, notthere[i]);
        ck_assert_int_eq(userdb_find(db, "bob@example.com", &u), 0);
        userdb_close(db);
    }
}
END_TEST

START_TEST(test_add_existing_email_returns_exists_and_leaves_file)
{
    struct userdb       *db;
    struct userdb_user   u;

    db = open_ok(USERDB_CREATE);
    add_ok(db, "alice@example.com", USERDB_ROLE_ADMIN, T0, HASH_A);
    mkuser(&u, "alice@example.com", USERDB_ROLE_USER, T1, HASH_B);
    ck_assert_int_eq(userdb_add(db, &u), USERDB_EXISTS);
    assert_file(dbpath, HEADER LINE_ALICE);
    ck_assert_uint_eq(userdb_count(db), 1);
    userdb_close(db);
}
END_TEST

START_TEST(test_add_rejects_invalid_records_with_einval)
{
    static const struct {
        const char  *email;
        int          role;
        int64_t      t;
        const char  *hash;
        const char  *why;
    } bad[] = {
        { "", 2, T0, HASH_A, "bad email: empty" },
        { "Alice@example.com", 2, T0, HASH_A,
          "bad email: upper-case letter (emails are stored lower-case)" },
        { "al\xc3\xaf" "ce@example.com", 2, T0, HASH_A, "bad email: not ASCII" },
        { "alice", 2, T0, HASH_A, "bad email: not an address" },
        { "a\tb@example.com", 2, T0, HASH_A, "bad email: control character" },
        { "a\nb@example.com", 2, T0, HASH_A, "bad email: control character" },
        { "a\x7f@example.com", 2, T0, HASH_A, "bad email: control character" },
        { "a@example.com", 0, T0, HASH_A, "bad role 0" },
        { "a@example.com", 3, T0, HASH_A, "bad role 3" },
        { "a@example.com", 2, -1, HASH_A,
          "bad created_at -1 (expected 0..253402300799)" },
        { "a@example.com", 2, INT64_C(253402300800), HASH_A,
          "bad created_at 253402300800 (expected 0..253402300799)" },
        { "a@example.com", 2, T0, "", "bad hash: empty" },
        { "a@example.com", 2, T0, "secret",
          "bad hash: not a crypt(3) string (no leading '$')" },
        { "a@example.com", 2, T0, "$6$a b",
          "bad hash: space, ':' or non-printable byte" },
        { "a@example.com", 2, T0, "$6$a:b",
          "bad hash: space, ':' or non-printable byte" },
        { "a@example.com", 2, T0, "$6$a\tb",
          "bad hash: space, ':' or non-printable byte" },
    };
    struct userdb       *db;
    struct userdb_user   u;
    size_t               i;

    db = open_ok(USERDB_CREATE);
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        mkuser(&u, bad[i].email, bad[i].role, bad[i].t, bad[i].hash);
        errno = 0;
        ck_assert_msg(userdb_add(db, &u) == -1, "case %zu added", i);
        ck_assert_int_eq(errno, EINVAL);
        ck_assert_str_eq(userdb_errmsg(db), bad[i].why);
    }
    /* Too long: 255 bytes of email, 256 of hash. */
    mkuser(&u, "", USERDB_ROLE_USER, T0, HASH_A);
    memset(u.email, 'a', USERDB_EMAIL_MAX + 1);
    ck_assert_int_eq(userdb_add(db, &u), -1);
    ck_assert_str_eq(userdb_errmsg(db), "bad email: longer than 254 bytes");
    mkuser(&u, "a@example.com", USERDB_ROLE_USER, T0, "$");
    memset(u.hash + 1, 'h', USERDB_HASH_MAX);
    ck_assert_int_eq(userdb_add(db, &u), -1);
    ck_assert_str_eq(userdb_errmsg(db), "bad hash: longer than 255 bytes");
    assert_file(dbpath, HEADER);

    /* The longest of each field is fine. */
    mkuser(&u, "", USERDB_ROLE_USER, USERDB_TIME_MAX, "$");
    /* 64 + '@' + 63 '.' 63 '.' 61: the longest address RFC 5321 allows. */
    memset(u.email, 'e', USERDB_EMAIL_MAX);
    u.email[64] = '@';
    u.email[128] = '.';
    u.email[192] = '.';
    memset(u.hash + 1, 'h', USERDB_HASH_MAX - 1);
    ck_assert_int_eq(userdb_add(db, &u), 0);
    userdb_close(db);
    db = open_ok(0);
    ck_assert_int_eq(userdb_get(db, 0, &u), 0);
    ck_assert_uint_eq(strlen(u.email), USERDB_EMAIL_MAX);
    ck_assert_uint_eq(strlen(u.hash), USERDB_HASH_MAX);
    ck_assert_int_eq(u.created_at, USERDB_TIME_MAX);
    userdb_close(db);
}
END_TEST

START_TEST(test_count_role_counts_admins_and_users)
{
    struct userdb *db;

    db = open_ok(USERDB_CREATE);
    ck_assert_uint_eq(userdb_count_role(db, USERDB_ROLE_ADMIN), 0);
    add_ok(db, "a@example.com", USERDB_ROLE_ADMIN, T0, HASH_A);
    add_ok(db, "b@example.com", USERDB_ROLE_USER, T0, HASH_A);
    add_ok(db, "c@example.com", USERDB_ROLE_USER, T0, HASH_A);
    add_ok(db, "d@example.com", USERDB_ROLE_ADMIN, T0, HASH_A);
    ck_assert_uint_eq(userdb_count_role(db, USERDB_ROLE_ADMIN), 2);
    ck_assert_uint_eq(userdb_count_role(db, USERDB_ROLE_USER), 2);
    ck_assert_uint_eq(userdb_count_role(db, 0), 0);
    ck_assert_int_eq(userdb_delete(db, "a@example.com", 0), 0);
    ck_assert_uint_eq(userdb_count_role(db, USERDB_ROLE_ADMIN), 1);
    ck_assert_uint_eq(userdb_count_role(db, USERDB_ROLE_USER), 2);
    userdb_close(db);
}
END_TEST

/* ---- update and delete ------------------------------------------------ */

START_TEST(test_update_rewrites_file_exactly_and_keeps_created_at)
{
    struct userdb       *db;
    struct userdb_user   u;
    ino_t                before;

    db = open_ok(USERDB_CREATE);
    add_ok(db, "alice@example.com", USERDB_ROLE_ADMIN, T0, HASH_A);
    add_ok(db, "bob@example.com", USERDB_ROLE_USER, T1, HASH_B);
    before = file_ino(dbpath);
    mkuser(&u, "alice@example.com", USERDB_ROLE_USER, 12345, HASH_B);
    ck_assert_int_eq(userdb_update(db, &u, 0), 0);
    assert_file(dbpath, HEADER
        "alice@example.com\tuser\t" T0_TEXT "\t" HASH_B "\n" LINE_BOB);
    /* Replaced by rename, the temporary file gone. */
    ck_assert_uint_ne(file_ino(dbpath), before);
    ck_assert_int_eq(access(tmppath, F_OK), -1);
    ck_assert_uint_eq(file_mode(dbpath), 0600);
    /* The handle sees its own change. */
    ck_assert_int_eq(userdb_find(db, "alice@example.com", &u), 0);
    ck_assert_int_eq(u.role, USERDB_ROLE_USER);
    ck_assert_int_eq(u.created_at, T0);
    ck_assert_str_eq(u.hash, HASH_B);
    ck_assert_uint_eq(userdb_count_role(db, USERDB_ROLE_ADMIN), 0);

    mkuser(&u, "bob@example.com", USERDB_ROLE_ADMIN, 0, HASH_A);
    ck_assert_int_eq(userdb_update(db, &u, 0), 0);
    assert_file(dbpath, HEADER
        "alice@example.com\tuser\t" T0_TEXT "\t" HASH_B "\n"
        "bob@example.com\tadmin\t" T1_TEXT "\t" HASH_A "\n");
    userdb_close(db);
}
END_TEST

START_TEST(test_update_or_delete_missing_email_returns_not_found)
{
    struct userdb       *db;
    struct userdb_user   u;

    db = open_ok(USERDB_CREATE);
    add_ok(db, "alice@example.com", USERDB_ROLE_ADMIN, T0, HASH_A);
    mkuser(&u, "carol@example.com", USERDB_ROLE_USER, T0, HASH_A);
    ck_assert_int_eq(userdb_update(db, &u, 0), USERDB_NOT_FOUND);
    ck_assert_int_eq(userdb_delete(db, "carol@example.com", 0),
        USERDB_NOT_FOUND);
    ck_assert_int_eq(userdb_delete(db, "ALICE@example.com", 0),
        USERDB_NOT_FOUND);
    assert_file(dbpath, HEADER LINE_ALICE);
    userdb_close(db);
}
END_TEST

START_TEST(test_delete_rewrites_file_exactly_keeping_order)
{
    struct userdb       *db;
    struct userdb_user   u;

    db = open_ok(USERDB_CREATE);
    add_ok(db, "alice@example.com", USERDB_ROLE_ADMIN, T0, HASH_A);
    add_ok(db, "bob@example.com", USERDB_ROLE_USER, T1, HASH_B);
    add_ok(db, "carol@example.com", USERDB_ROLE_USER, T0, HASH_A);
    ck_assert_int_eq(userdb_delete(db, "bob@example.com", 0), 0);
    assert_file(dbpath, HEADER LINE_ALICE
        "carol@example.com\tuser\t" T0_TEXT "\t" HASH_A "\n");
    ck_assert_int_eq(access(tmppath, F_OK), -1);
    ck_assert_uint_eq(userdb_count(db), 2);
    ck_assert_int_eq(userdb_find(db, "bob@example.com", &u),
        USERDB_NOT_FOUND);
    ck_assert_int_eq(userdb_get(db, 1, &u), 0);
    ck_assert_str_eq(u.email, "carol@example.com");

    ck_assert_int_eq(userdb_delete(db, "carol@example.com", 0), 0);
    ck_assert_int_eq(userdb_delete(db, "alice@example.com", 0), 0);
    assert_file(dbpath, HEADER);
    ck_assert_uint_eq(userdb_count(db), 0);
    /* And adding after deleting everything works. */
    add_ok(db, "bob@example.com", USERDB_ROLE_USER, T1, HASH_B);
    assert_file(dbpath, HEADER LINE_BOB);
    userdb_close(db);
}
END_TEST

START_TEST(test_keep_admin_refuses_to_remove_the_last_admin)
{
    struct userdb       *db;
    struct userdb_user   u;

    db = open_ok(USERDB_CREATE);
    add_ok(db, "alice@example.com", USERDB_ROLE_ADMIN, T0, HASH_A);
    add_ok(db, "bob@example.com", USERDB_ROLE_USER, T1, HASH_B);

    ck_assert_int_eq(userdb_delete(db, "alice@example.com",
        USERDB_KEEP_ADMIN), USERDB_LAST_ADMIN);
    mkuser(&u, "alice@example.com", USERDB_ROLE_USER, 0, HASH_A);
    ck_assert_int_eq(userdb_update(db, &u, USERDB_KEEP_ADMIN),
        USERDB_LAST_ADMIN);
    assert_file(dbpath, HEADER LINE_ALICE LINE_BOB);

    /* Changing the last admin's hash, or removing a user, is fine. */
    mkuser(&u, "alice@example.com", USERDB_ROLE_ADMIN, 0, HASH_A);
    ck_assert_int_eq(userdb_update(db, &u, USERDB_KEEP_ADMIN), 0);
    ck_assert_int_eq(userdb_delete(db, "bob@example.com",
        USERDB_KEEP_ADMIN), 0);
    assert_file(dbpath, HEADER LINE_ALICE);

    /* With a second admin, the first may go. */
    add_ok(db, "carol@example.com", USERDB_ROLE_ADMIN, T0, HASH_A);
    ck_assert_int_eq(userdb_delete(db, "alice@example.com",
        USERDB_KEEP_ADMIN), 0);
    ck_assert_int_eq(userdb_delete(db, "carol@example.com",
        USERDB_KEEP_ADMIN), USERDB_LAST_ADMIN);
    /* Without the flag, nothing stops it. */
    ck_assert_int_eq(userdb_delete(db, "carol@example.com", 0), 0);
    assert_file(dbpath, HEADER);
    userdb_close(db);
}
END_TEST

START_TEST(test_keep_admin_decides_on_the_file_not_a_stale_view)
{
    struct userdb       *a, *b;
    struct userdb_user   u;

    a = open_ok(USERDB_CREATE);
    add_ok(a, "alice@example.com", USERDB_ROLE_ADMIN, T0, HASH_A);
    add_ok(a, "carol@example.com", USERDB_ROLE_ADMIN, T0, HASH_A);
    b = open_ok(0);
    /* Each demotes "the other" admin, from views that both show two. */
    mkuser(&u, "alice@example.com", USERDB_ROLE_USER, 0, HASH_A);
    ck_assert_int_eq(userdb_update(a, &u, USERDB_KEEP_ADMIN), 0);
    ck_assert_uint_eq(userdb_count_role(b, USERDB_ROLE_ADMIN), 2);
    ck_assert_int_eq(userdb_delete(b, "carol@example.com", USERDB_KEEP_ADMIN),
        USERDB_LAST_ADMIN);
    ck_assert_uint_eq(userdb_count_role(b, USERDB_ROLE_ADMIN), 1);
    userdb_close(a);
    userdb_close(b);
}
END_TEST

/* ---- two handles: two processes' views -------------------------------- */

START_TEST(test_refresh_sees_other_handles_append)
{
    struct userdb       *a, *b;
    struct userdb_user   u;
    char                 err[USERDB_ERR_LEN];

    a = open_ok(USERDB_CREATE);
    b = open_ok(0);
    add_ok(a, "alice@example.com", USERDB_ROLE_ADMIN, T0, HASH_A);
    /* b's view is as of its last refresh. */
    ck_assert_int_eq(userdb_find(b, "alice@example.com", &u),
        USERDB_NOT_FOUND);
    ck_assert_int_eq(userdb_refresh(b, err, sizeof(err)), 0);
    ck_assert_int_eq(userdb_find(b, "alice@example.com", &u), 0);
    ck_assert_str_eq(u.hash, HASH_A);
    ck_assert_uint_eq(userdb_count(b), 1);
    /* Nothing changed: nothing to do. */
    ck_assert_int_eq(userdb_refresh(b, err, sizeof(err)), 0);
    ck_assert_uint_eq(userdb_count(b), 1);
    userdb_close(a);
    userdb_close(b);
}
END_TEST

START_TEST(test_refresh_sees_other_handles_delete_and_update)
{
    struct userdb       *a, *b;
    struct userdb_user   u;
    char                 err[USERDB_ERR_LEN];

    a = open_ok(USERDB_CREATE);
    add_ok(a, "alice@example.com", USERDB_ROLE_ADMIN, T0, HASH_A);
    add_ok(a, "bob@example.com", USERDB_ROLE_USER, T1, HASH_B);
    b = open_ok(0);
    ck_assert_uint_eq(userdb_count(b), 2);

    ck_assert_int_eq(userdb_delete(a, "alice@example.com", 0), 0);
    ck_assert_int_eq(userdb_refresh(b, err, sizeof(err)), 0);
    ck_assert_uint_eq(userdb_count(b), 1);
    ck_assert_int_eq(userdb_find(b, "alice@example.com", &u),
        USERDB_NOT_FOUND);

    mkuser(&u, "bob@example.com", USERDB_ROLE_ADMIN, 0, HASH_A);
    ck_assert_int_eq(userdb_update(a, &u, 0), 0);
    ck_assert_int_eq(userdb_refresh(b, err, sizeof(err)), 0);
    ck_assert_int_eq(userdb_find(b, "bob@example.com", &u), 0);
    ck_assert_int_eq(u.role, USERDB_ROLE_ADMIN);
    ck_assert_str_eq(u.hash, HASH_A);
    ck_assert_uint_eq(userdb_count_role(b, USERDB_ROLE_ADMIN), 1);
    userdb_close(a);
    userdb_close(b);
}
END_TEST

START_TEST(test_add_rechecks_under_the_lock_against_a_stale_view)
{
    struct userdb       *a, *b;
    struct userdb_user   u;

    a = open_ok(USERDB_CREATE);
    b = open_ok(0);
    add_ok(a, "alice@example.com", USERDB_ROLE_ADMIN, T0, HASH_A);
    mkuser(&u, "alice@example.com", USERDB_ROLE_USER, T1, HASH_B);
    ck_assert_int_eq(userdb_add(b, &u), USERDB_EXISTS);
    /* ...and b's view is now current. */
    ck_assert_int_eq(userdb_find(b, "alice@example.com", &u), 0);
    ck_assert_str_eq(u.hash, HASH_A);
    assert_file(dbpath, HEADER LINE_ALICE);
    userdb_close(a);
    userdb_close(b);
}
END_TEST

START_TEST(test_refresh_indexes_many_appends_incrementally)
{
    struct userdb       *a, *b;
    struct userdb_user   u;
    char                 email[64], err[USERDB_ERR_LEN];
    size_t               i;

    a = open_ok(USERDB_CREATE);
    b = open_ok(0);
    for (i = 0; i < 3000; i++) {
        snprintf(email, sizeof(email), "user%zu@example.com", i);
        add_ok(a, email, i % 7 == 0 ? USERDB_ROLE_ADMIN : USERDB_ROLE_USER,
            T0 + (int64_t)i, HASH_A);
        if (i % 250 == 0)
            ck_assert_int_eq(userdb_refresh(b, err, sizeof(err)), 0);
    }
    ck_assert_int_eq(userdb_refresh(b, err, sizeof(err)), 0);
    ck_assert_uint_eq(userdb_count(b), 3000);
    ck_assert_uint_eq(userdb_count_role(b, USERDB_ROLE_ADMIN), 429);
    for (i = 0; i < 3000; i++) {
        snprintf(email, sizeof(email), "user%zu@example.com", i);
        ck_assert_int_eq(userdb_find(b, email, &u), 0);
        ck_assert_int_eq(u.created_at, T0 + (int64_t)i);
        ck_assert_int_eq(userdb_get(b, i, &u), 0);
        ck_assert_str_eq(u.email, email);
    }
    userdb_close(a);
    userdb_close(b);
}
END_TEST

START_TEST(test_failed_refresh_keeps_the_previous_view)
{
    struct userdb       *a;
    struct userdb_user   u;
    char                 err[USERDB_ERR_LEN], expect[USERDB_ERR_LEN];
    char                 fixed[128];
    const char          *bad = LINE_BOB "mallory@example.com\troot\t" T0_TEXT
                             "\t" HASH_A "\n";
    int                  fd;

    a = open_ok(USERDB_CREATE);
    add_ok(a, "alice@example.com", USERDB_ROLE_ADMIN, T0, HASH_A);
    /* Somebody else appends a good line and one userdb would never write. */
    fd = open(dbpath, O_WRONLY | O_APPEND);
    ck_assert_int_ne(fd, -1);
    ck_assert_int_eq(write(fd, bad, strlen(bad)), (ssize_t)strlen(bad));
    close(fd);
    snprintf(expect, sizeof(expect),
        "%s:4: bad role \"root\" (expected admin or user)", dbpath);
    errno = 0;
    ck_assert_int_eq(userdb_refresh(a, err, sizeof(err)), -1);
    ck_assert_int_eq(errno, EBADMSG);
    ck_assert_str_eq(err, expect);
    ck_assert_str_eq(userdb_errmsg(a), expect);
    /* All of the new lines or none: not even bob. */
    ck_assert_uint_eq(userdb_count(a), 1);
    ck_assert_int_eq(userdb_find(a, "alice@example.com", &u), 0);
    ck_assert_int_eq(userdb_find(a, "bob@example.com", &u), USERDB_NOT_FOUND);
    ck_assert_int_eq(userdb_find(a, "mallory@example.com", &u),
        USERDB_NOT_FOUND);
    /* Writers refuse to go on from a malformed file. */
    mkuser(&u, "bob@example.com", USERDB_ROLE_USER, T1, HASH_B);
    ck_assert_int_eq(userdb_add(a, &u), -1);
    ck_assert_int_eq(errno, EBADMSG);
    ck_assert_str_eq(userdb_errmsg(a), expect);
    /* Again, same answer: the failed tail left nothing behind. */
    ck_assert_int_eq(userdb_refresh(a, err, sizeof(err)), -1);
    ck_assert_str_eq(err, expect);
    ck_assert_uint_eq(userdb_count(a), 1);
    ck_assert_int_eq(userdb_find(a, "bob@example.com", &u), USERDB_NOT_FOUND);
    /* The administrator fixes the file the way an editor saves it. */
    snprintf(fixed, sizeof(fixed), "%s/fixed", dir);
    spew(fixed, HEADER LINE_ALICE LINE_BOB, strlen(HEADER LINE_ALICE LINE_BOB));
    ck_assert_int_eq(rename(fixed, dbpath), 0);
    ck_assert_int_eq(userdb_refresh(a, err, sizeof(err)), 0);
    ck_assert_uint_eq(userdb_count(a), 2);
    ck_assert_int_eq(userdb_find(a, "bob@example.com", &u), 0);
    ck_assert_str_eq(u.hash, HASH_B);
    userdb_close(a);
}
END_TEST

START_TEST(test_add_waits_for_another_holder_of_the_exclusive_lock)
{
    struct userdb       *db;
    struct userdb_user   u;
    struct flock         fl;
    char                 err[USERDB_ERR_LEN];
    pid_t                pid;
    int                  fd;

    db = open_ok(USERDB_CREATE);
    fd = open(lockpath, O_RDWR);
    ck_assert_int_ne(fd, -1);
    memset(&fl, 0, sizeof(fl));
    fl.l_type = F_WRLCK;
    fl.l_whence = SEEK_SET;
    ck_assert_int_eq(fcntl(fd, F_OFD_SETLK, &fl), 0);

    pid = fork();
    ck_assert_int_ne(pid, -1);
    if (pid == 0) {
        mkuser(&u, "alice@example.com", USERDB_ROLE_ADMIN, T0, HASH_A);
        _exit(userdb_add(db, &u) == 0 ? 0 : 1);
    }
    usleep(300 * 1000);
    ck_assert_int_eq(waitpid(pid, NULL, WNOHANG), 0);
    assert_file(dbpath, HEADER);
    fl.l_type = F_UNLCK;
    ck_assert_int_eq(fcntl(fd, F_OFD_SETLK, &fl), 0);
    ck_assert_int_eq(wait_code(pid), 0);
    close(fd);
    assert_file(dbpath, HEADER LINE_ALICE);
    ck_assert_int_eq(userdb_refresh(db, err, sizeof(err)), 0);
    ck_assert_int_eq(userdb_find(db, "alice@example.com", NULL), 0);
    userdb_close(db);
}
END_TEST

/* ---- malformed and torn files ----------------------------------------- */

START_TEST(test_malformed_line_names_path_and_line)
{
    static const struct {
        const char *line;
        const char *why;
    } bad[] = {
        { "bob@example.com\tuser\t" T1_TEXT "\n",
          ":3: expected 4 TAB-separated fields (email, role, created_at, "
          "hash), found 3" },
        { "bob@example.com\tuser\t" T1_TEXT "\t" HASH_B "\textra\n",
          ":3: expected 4 TAB-separated fields (email, role, created_at, "
          "hash), found 5" },
        { "\n", ":3: empty line" },
        { "bob@example.com\troot\t" T1_TEXT "\t" HASH_B "\n",
          ":3: bad role \"root\" (expected admin or user)" },
        { "bob@example.com\tAdmin\t" T1_TEXT "\t" HASH_B "\n",
          ":3: bad role \"Admin\" (expected admin or user)" },
        { "bob@example.com\tuser\t2023-02-29T00:00:00Z\t" HASH_B "\n",
          ":3: bad created_at \"2023-02-29T00:00:00Z\" (expected "
          "YYYY-MM-DDTHH:MM:SSZ)" },
        { "bob@example.com\tuser\t1700000001\t" HASH_B "\n",
          ":3: bad created_at \"1700000001\" (expected "
          "YYYY-MM-DDTHH:MM:SSZ)" },
        { "Bob@example.com\tuser\t" T1_TEXT "\t" HASH_B "\n",
          ":3: bad email: upper-case letter (emails are stored lower-case)" },
        /* Hand edits the API would refuse: a listing of them would not be
         * valid JSON, or not an address. */
        { "b\xc3\xb6" "b@example.com\tuser\t" T1_TEXT "\t" HASH_B "\n",
          ":3: bad email: not ASCII" },
        { "b\xff" "b@example.com\tuser\t" T1_TEXT "\t" HASH_B "\n",
          ":3: bad email: not ASCII" },
        { "bob\tuser\t" T1_TEXT "\t" HASH_B "\n",
          ":3: bad email: not an address" },
        { "bob..x@example.com\tuser\t" T1_TEXT "\t" HASH_B "\n",
          ":3: bad email: not an address" },
        { "\tuser\t" T1_TEXT "\t" HASH_B "\n", ":3: bad email: empty" },
        { "bob@exa\001mple.com\tuser\t" T1_TEXT "\t" HASH_B "\n",
          ":3: bad email: control character" },
        { "bob@example.com\tuser\t" T1_TEXT "\tsecret\n",
          ":3: bad hash: not a crypt(3) string (no leading '$')" },
        { "bob@example.com\tuser\t" T1_TEXT "\t" HASH_B "\r\n",
          ":3: bad hash: space, ':' or non-printable byte" },
        { "bob@example.com\tuser\t" T1_TEXT "\t\n", ":3: bad hash: empty" },
        { "alice@example.com\tuser\t" T1_TEXT "\t" HASH_B "\n",
          ":3: duplicate email (first on line 2)" },
    };
    char    text[1024];
    size_t  i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        snprintf(text, sizeof(text), HEADER LINE_ALICE "%s" LINE_BOB,
            bad[i].line);
        assert_open_error(text, bad[i].why);
    }
}
END_TEST

START_TEST(test_long_email_line_is_rejected_with_its_line)
{
    char    text[1024], email[300];

    memset(email, 'x', 255);
    email[255] = '\0';
    snprintf(text, sizeof(text), HEADER LINE_ALICE LINE_BOB
        "%s\tuser\t" T0_TEXT "\t" HASH_A "\n", email);
    assert_open_error(text, ":4: bad email: longer than 254 bytes");
}
END_TEST

START_TEST(test_bad_header_is_rejected)
{
    assert_open_error("",
        ":1: empty file (expected the header \"userapid-users 1\")");
    assert_open_error("userapid-users 2\n" LINE_ALICE,
        ":1: unsupported format version 2 (this userapid reads version 1)");
    assert_open_error(LINE_ALICE,
        ":1: bad header (expected \"userapid-users 1\")");
    assert_open_error("userapid-users 1",
        ":1: bad header (expected \"userapid-users 1\")");
    assert_open_error("userapid-users 1 \n",
        ":1: bad header (expected \"userapid-users 1\")");
    assert_open_error("\n" HEADER,
        ":1: bad header (expected \"userapid-users 1\")");
}
END_TEST

START_TEST(test_torn_last_line_is_dropped_and_repaired)
{
    const char      *torn = HEADER LINE_ALICE "bob@example.com\tus";
    struct userdb   *db;
    char             err[USERDB_ERR_LEN], expect[USERDB_ERR_LEN];
    size_t           n;

    spew(dbpath, torn, strlen(torn));
    /* A reader drops it and leaves the file alone. */
    db = open_ok(0);
    ck_assert_uint_eq(userdb_count(db), 1);
    ck_assert_int_eq(userdb_find(db, "bob@example.com", NULL),
        USERDB_NOT_FOUND);
    userdb_close(db);
    assert_file(dbpath, torn);
    /* userdb_check calls it a problem. */
    snprintf(expect, sizeof(expect),
        "%s:3: torn last line (18 bytes without a line end)", dbpath);
    ck_assert_int_eq(userdb_check(dir, &n, err, sizeof(err)), -1);
    ck_assert_int_eq(errno, EBADMSG);
    ck_assert_str_eq(err, expect);
    /* Repair cuts it away. */
    db = open_ok(USERDB_REPAIR);
    ck_assert_uint_eq(userdb_count(db), 1);
    assert_file(dbpath, HEADER LINE_ALICE);
    /* So appends after it are clean lines. */
    add_ok(db, "bob@example.com", USERDB_ROLE_USER, T1, HASH_B);
    assert_file(dbpath, HEADER LINE_ALICE LINE_BOB);
    userdb_close(db);
    ck_assert_int_eq(userdb_check(dir, &n, err, sizeof(err)), 0);
    ck_assert_uint_eq(n, 2);
}
END_TEST

START_TEST(test_add_after_unrepaired_torn_line_cuts_it_first)
{
    const char      *torn = HEADER LINE_ALICE "bob@exam";
    struct userdb   *a, *b;
    char             err[USERDB_ERR_LEN];

    a = open_ok(USERDB_CREATE);
    add_ok(a, "alice@example.com", USERDB_ROLE_ADMIN, T0, HASH_A);
    /* A crash mid-append, seen by a's next refresh. */
    spew(dbpath, torn, strlen(torn));
    ck_assert_int_eq(userdb_refresh(a, err, sizeof(err)), 0);
    ck_assert_uint_eq(userdb_count(a), 1);
    /* b was opened without repair; its add still writes a clean line. */
    b = open_ok(0);
    add_ok(b, "bob@example.com", USERDB_ROLE_USER, T1, HASH_B);
    assert_file(dbpath, HEADER LINE_ALICE LINE_BOB);
    /* a indexes the new line where the torn bytes were. */
    ck_assert_int_eq(userdb_refresh(a, err, sizeof(err)), 0);
    ck_assert_uint_eq(userdb_count(a), 2);
    ck_assert_int_eq(userdb_find(a, "bob@example.com", NULL), 0);
    userdb_close(a);
    userdb_close(b);
    ck_assert_int_eq(userdb_check(dir, NULL, err, sizeof(err)), 0);
}
END_TEST

START_TEST(test_rewrite_drops_an_unrepaired_torn_line)
{
    const char      *torn = HEADER LINE_ALICE LINE_BOB "carol@exa";
    struct userdb   *db;

    spew(dbpath, torn, strlen(torn));
    db = open_ok(0);
    ck_assert_int_eq(userdb_delete(db, "bob@example.com", 0), 0);
    assert_file(dbpath, HEADER LINE_ALICE);
    userdb_close(db);
}
END_TEST

START_TEST(test_check_reports_the_count_and_creates_nothing)
{
    struct userdb   *db;
    char             err[USERDB_ERR_LEN], expect[USERDB_ERR_LEN];
    size_t           n = 99;

    /* Nothing there: an error, and still nothing there after. */
    ck_assert_int_eq(userdb_check(dir, &n, err, sizeof(err)), -1);
    ck_assert_int_eq(errno, ENOENT);
    snprintf(expect, sizeof(expect), "%s: No such file or directory", dbpath);
    ck_assert_str_eq(err, expect);
    ck_assert_uint_eq(n, 99);
    ck_assert_int_eq(access(lockpath, F_OK), -1);
    ck_assert_int_eq(access(dbpath, F_OK), -1);

    db = open_ok(USERDB_CREATE);
    add_ok(db, "alice@example.com", USERDB_ROLE_ADMIN, T0, HASH_A);
    add_ok(db, "bob@example.com", USERDB_ROLE_USER, T1, HASH_B);
    userdb_close(db);
    ck_assert_int_eq(userdb_check(dir, &n, err, sizeof(err)), 0);
    ck_assert_uint_eq(n, 2);
    assert_file(dbpath, HEADER LINE_ALICE LINE_BOB);
}
END_TEST

/* ---- import ----------------------------------------------------------- */

START_TEST(test_import_appends_all_records_in_order)
{
    struct userdb       *db;
    struct userdb_user   u[3];
    char                 err[USERDB_ERR_LEN];

    db = open_ok(USERDB_CREATE);
    add_ok(db, "alice@example.com", USERDB_ROLE_ADMIN, T0, HASH_A);
    mkuser(&u[0], "bob@example.com", USERDB_ROLE_USER, T1, HASH_B);
    mkuser(&u[1], "carol@example.com", USERDB_ROLE_ADMIN, T0, HASH_A);
    mkuser(&u[2], "dave@example.com", USERDB_ROLE_USER, T1, HASH_A);
    ck_assert_int_eq(userdb_import(db, u, 3, err, sizeof(err)), 0);
    assert_file(dbpath, HEADER LINE_ALICE LINE_BOB
        "carol@example.com\tadmin\t" T0_TEXT "\t" HASH_A "\n"
        "dave@example.com\tuser\t" T1_TEXT "\t" HASH_A "\n");
    ck_assert_int_eq(access(tmppath, F_OK), -1);
    ck_assert_uint_eq(userdb_count(db), 4);
    ck_assert_uint_eq(userdb_count_role(db, USERDB_ROLE_ADMIN), 2);
    ck_assert_int_eq(userdb_find(db, "dave@example.com", NULL), 0);
    ck_assert_int_eq(userdb_import(db, u, 0, err, sizeof(err)), 0);
    userdb_close(db);
}
END_TEST

START_TEST(test_import_duplicate_in_batch_leaves_file_byte_identical)
{
    struct userdb       *db;
    struct userdb_user   u[4];
    char                 err[USERDB_ERR_LEN];
    ino_t                before;

    db = open_ok(USERDB_CREATE);
    add_ok(db, "alice@example.com", USERDB_ROLE_ADMIN, T0, HASH_A);
    before = file_ino(dbpath);
    mkuser(&u[0], "bob@example.com", USERDB_ROLE_USER, T1, HASH_B);
    mkuser(&u[1], "carol@example.com", USERDB_ROLE_USER, T1, HASH_B);
    mkuser(&u[2], "dave@example.com", USERDB_ROLE_USER, T1, HASH_B);
    mkuser(&u[3], "carol@example.com", USERDB_ROLE_ADMIN, T0, HASH_A);
    ck_assert_int_eq(userdb_import(db, u, 4, err, sizeof(err)),
        USERDB_EXISTS);
    ck_assert_str_eq(err,
        "records 2 and 4: the same email \"carol@example.com\"");
    assert_file(dbpath, HEADER LINE_ALICE);
    ck_assert_uint_eq(file_ino(dbpath), before);
    ck_assert_uint_eq(userdb_count(db), 1);
    ck_assert_int_eq(userdb_find(db, "bob@example.com", NULL),
        USERDB_NOT_FOUND);
    userdb_close(db);
}
END_TEST

START_TEST(test_import_existing_email_leaves_file_byte_identical)
{
    struct userdb       *a, *b;
    struct userdb_user   u[2];
    char                 err[USERDB_ERR_LEN];

    a = open_ok(USERDB_CREATE);
    b = open_ok(0);
    add_ok(a, "alice@example.com", USERDB_ROLE_ADMIN, T0, HASH_A);
    /* b has not seen alice: the check is made under the lock. */
    mkuser(&u[0], "bob@example.com", USERDB_ROLE_USER, T1, HASH_B);
    mkuser(&u[1], "alice@example.com", USERDB_ROLE_USER, T1, HASH_B);
    ck_assert_int_eq(userdb_import(b, u, 2, err, sizeof(err)),
        USERDB_EXISTS);
    ck_assert_str_eq(err,
        "record 2: \"alice@example.com\" exists already (line 2)");
    assert_file(dbpath, HEADER LINE_ALICE);
    userdb_close(a);
    userdb_close(b);
}
END_TEST

START_TEST(test_import_invalid_record_names_it_and_writes_nothing)
{
    struct userdb       *db;
    struct userdb_user   u[3];
    char                 err[USERDB_ERR_LEN];

    db = open_ok(USERDB_CREATE);
    mkuser(&u[0], "bob@example.com", USERDB_ROLE_USER, T1, HASH_B);
    mkuser(&u[1], "carol@example.com", USERDB_ROLE_USER, T1, HASH_B);
    mkuser(&u[2], "dave@example.com", 7, T1, HASH_B);
    errno = 0;
    ck_assert_int_eq(userdb_import(db, u, 3, err, sizeof(err)), -1);
    ck_assert_int_eq(errno, EINVAL);
    ck_assert_str_eq(err, "record 3: bad role 7");
    assert_file(dbpath, HEADER);
    userdb_close(db);
}
END_TEST

START_TEST(test_import_100000_records_is_fast)
{
    enum { N = 100000 };
    struct userdb       *db, *other;
    struct userdb_user  *u, got;
    char                 err[USERDB_ERR_LEN];
    double               t0, t1, t2;
    size_t               i, n;

    u = calloc(N, sizeof(*u));
    ck_assert_ptr_nonnull(u);
    for (i = 0; i < N; i++)
        mkuser(&u[i], "", i == 0 ? USERDB_ROLE_ADMIN : USERDB_ROLE_USER,
            T0 + (int64_t)i, HASH_A);
    for (i = 0; i < N; i++)
        snprintf(u[i].email, sizeof(u[i].email), "user%zu@example.com", i);
    db = open_ok(USERDB_CREATE);
    other = open_ok(0);
    t0 = now();
    ck_assert_msg(userdb_import(db, u, N, err, sizeof(err)) == 0, "%s", err);
    t1 = now();
    ck_assert_int_eq(userdb_refresh(other, err, sizeof(err)), 0);
    t2 = now();
    printf("userdb: import of %d records: %.3f s; another handle's "
        "refresh: %.3f s\n", N, t1 - t0, t2 - t1);
    ck_assert_uint_eq(userdb_count(db), N);
    ck_assert_uint_eq(userdb_count(other), N);
    ck_assert_uint_eq(userdb_count_role(other, USERDB_ROLE_ADMIN), 1);
    ck_assert_int_eq(userdb_find(other, "user99999@example.com", &got), 0);
    ck_assert_int_eq(got.created_at, T0 + 99999);
    ck_assert_int_eq(userdb_get(other, 12345, &got), 0);
    ck_assert_str_eq(got.email, "user12345@example.com");
    ck_assert_int_eq(userdb_check(dir, &n, err, sizeof(err)), 0);
    ck_assert_uint_eq(n, N);
    /* Generous for sanitizer builds; an unsanitized build takes ~0.1 s. */
    ck_assert_msg(t1 - t0 < 5.0, "import took %.3f s", t1 - t0);
    userdb_close(db);
    userdb_close(other);
    free(u);
}
END_TEST

START_TEST(test_million_lines_open_and_tail_refresh)
{
    enum { N = 1000000 };
    struct userdb       *a, *b;
    struct userdb_user   u;
    char                 err[USERDB_ERR_LEN], email[64];
    double               t0, t1, t2, t3, t4, t5;
    FILE                *fp;
    size_t               i;

    fp = fopen(dbpath, "w");
    ck_assert_ptr_nonnull(fp);
    fputs(HEADER, fp);
    for (i = 0; i < N; i++)
        fprintf(fp, "user%zu@example.com\t%s\t" T0_TEXT "\t" HASH_A "\n", i,
            i % 1000 == 0 ? "admin" : "user");
    /* On disk first, or the add's fdatasync would time writing it out. */
    ck_assert_int_eq(fflush(fp), 0);
    ck_assert_int_eq(fsync(fileno(fp)), 0);
    ck_assert_int_eq(fclose(fp), 0);

    t0 = now();
    a = open_ok(0);
    t1 = now();
    b = open_ok(0);
    ck_assert_uint_eq(userdb_count(a), N);
    ck_assert_uint_eq(userdb_count_role(a, USERDB_ROLE_ADMIN), N / 1000);
    for (i = 0; i < N; i += 9973) {
        snprintf(email, sizeof(email), "user%zu@example.com", i);
        ck_assert_int_eq(userdb_find(a, email, NULL), 0);
    }
    t2 = now();
    for (i = 0; i < 100000; i++)
        ck_assert_int_eq(userdb_refresh(a, err, sizeof(err)), 0);
    t3 = now();
    add_ok(b, "new@example.com", USERDB_ROLE_USER, T1, HASH_B);
    t4 = now();
    ck_assert_int_eq(userdb_refresh(a, err, sizeof(err)), 0);
    t5 = now();
    ck_assert_uint_eq(userdb_count(a), N + 1);
    ck_assert_int_eq(userdb_find(a, "new@example.com", NULL), 0);
    printf("userdb: %d lines: open %.3f s, unchanged refresh %.2f us, "
        "add %.3f ms, refresh after one append %.3f ms\n", N, t1 - t0,
        (t3 - t2) * 1e6 / 100000, (t4 - t3) * 1e3, (t5 - t4) * 1e3);

    t0 = now();
    ck_assert_int_eq(userdb_delete(b, "user500000@example.com", 0), 0);
    t1 = now();
    ck_assert_int_eq(userdb_refresh(a, err, sizeof(err)), 0);
    t2 = now();
    ck_assert_uint_eq(userdb_count(a), N);
    ck_assert_int_eq(userdb_find(a, "user500000@example.com", &u),
        USERDB_NOT_FOUND);
    printf("userdb: %d lines: delete (rewrite + re-index) %.3f s, another "
        "handle's refresh after it %.3f s\n", N, t1 - t0, t2 - t1);
    userdb_close(a);
    userdb_close(b);
}
END_TEST

/* ---- processes -------------------------------------------------------- */

START_TEST(test_concurrent_appends_from_8_processes_lose_nothing)
{
    struct userdb       *db;
    struct userdb_user   u;
    char                 email[64], err[USERDB_ERR_LEN];
    pid_t                pid[NPROC];
    size_t               n;
    int                  p, j;

    userdb_close(open_ok(USERDB_CREATE));
    for (p = 0; p < NPROC; p++) {
        pid[p] = fork();
        ck_assert_int_ne(pid[p], -1);
        if (pid[p] != 0)
            continue;
        db = userdb_open(dir, 0, err, sizeof(err));
        CHILD_CHECK(db != NULL);
        for (j = 0; j < PER_PROC; j++) {
            snprintf(email, sizeof(email), "p%d-u%d@example.com", p, j);
            mkuser(&u, email, USERDB_ROLE_USER, T0 + j, HASH_A);
            CHILD_CHECK(userdb_add(db, &u) == 0);
            /* Readers refresh while writers append. */
            if (j % 16 == 0)
                CHILD_CHECK(userdb_refresh(db, err, sizeof(err)) == 0);
        }
        userdb_close(db);
        _exit(0);
    }
    for (p = 0; p < NPROC; p++)
        ck_assert_int_eq(wait_code(pid[p]), 0);

    /* Opening would fail on a duplicate or a malformed line. */
    db = open_ok(0);
    ck_assert_uint_eq(userdb_count(db), NPROC * PER_PROC);
    for (p = 0; p < NPROC; p++) {
        for (j = 0; j < PER_PROC; j++) {
            snprintf(email, sizeof(email), "p%d-u%d@example.com", p, j);
            ck_assert_int_eq(userdb_find(db, email, &u), 0);
            ck_assert_int_eq(u.created_at, T0 + j);
        }
    }
    userdb_close(db);
    ck_assert_int_eq(userdb_check(dir, &n, err, sizeof(err)), 0);
    ck_assert_uint_eq(n, NPROC * PER_PROC);
}
END_TEST

START_TEST(test_8_processes_racing_for_one_email_one_wins)
{
    struct userdb       *db;
    struct userdb_user   u;
    char                 c, err[USERDB_ERR_LEN];
    pid_t                pid[NPROC];
    int                  p, gate[2], code, won = 0, lost = 0;

    /* One handle opened here and inherited: each child must take a lock
     * descriptor of its own, or they would all share one lock. */
    db = open_ok(USERDB_CREATE);
    ck_assert_int_eq(pipe(gate), 0);
    for (p = 0; p < NPROC; p++) {
        pid[p] = fork();
        ck_assert_int_ne(pid[p], -1);
        if (pid[p] != 0)
            continue;
        close(gate[1]);
        CHILD_CHECK(read(gate[0], &c, 1) == 0);
        mkuser(&u, "race@example.com", USERDB_ROLE_USER, T0 + p, HASH_A);
        switch (userdb_add(db, &u)) {
        case 0:
            _exit(10);
        case USERDB_EXISTS:
            _exit(11);
        default:
            fprintf(stderr, "child: %s\n", userdb_errmsg(db));
            _exit(12);
        }
    }
    close(gate[0]);
    close(gate[1]);    /* Go. */
    for (p = 0; p < NPROC; p++) {
        code = wait_code(pid[p]);
        ck_assert_msg(code == 10 || code == 11, "child exit %d", code);
        won += code == 10;
        lost += code == 11;
    }
    ck_assert_int_eq(won, 1);
    ck_assert_int_eq(lost, NPROC - 1);
    ck_assert_int_eq(userdb_refresh(db, err, sizeof(err)), 0);
    ck_assert_uint_eq(userdb_count(db), 1);
    userdb_close(db);
    ck_assert_int_eq(userdb_check(dir, NULL, err, sizeof(err)), 0);
}
END_TEST

/* ---- failing writes ---------------------------------------------------- */

START_TEST(test_short_append_is_taken_back_and_errno_kept)
{
    struct userdb       *db;
    struct userdb_user   u;
    struct rlimit        old, lim;
    struct stat          st;
    char                 err[USERDB_ERR_LEN];
    void               (*oldsig)(int);

    db = open_ok(USERDB_CREATE);
    add_ok(db, "alice@example.com", USERDB_ROLE_ADMIN, T0, HASH_A);
    ck_assert_int_eq(stat(dbpath, &st), 0);
    /* RLIMIT_FSIZE lets the write through up to 10 bytes past the current
     * size: a short write, then EFBIG, the way a full disk goes. */
    ck_assert_int_eq(getrlimit(RLIMIT_FSIZE, &old), 0);
    lim = old;
    lim.rlim_cur = (rlim_t)st.st_size + 10;
    oldsig = signal(SIGXFSZ, SIG_IGN);
    ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &lim), 0);
    mkuser(&u, "bob@example.com", USERDB_ROLE_USER, T1, HASH_B);
    errno = 0;
    ck_assert_int_eq(userdb_add(db, &u), -1);
    ck_assert_int_eq(errno, EFBIG);
    ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &old), 0);
    signal(SIGXFSZ, oldsig);
    ck_assert_str_eq(userdb_errmsg(db) + strlen(dbpath), ": File too large");

    assert_file(dbpath, HEADER LINE_ALICE);
    ck_assert_int_eq(userdb_find(db, "bob@example.com", NULL),
        USERDB_NOT_FOUND);
    ck_assert_int_eq(userdb_check(dir, NULL, err, sizeof(err)), 0);
    add_ok(db, "bob@example.com", USERDB_ROLE_USER, T1, HASH_B);
    assert_file(dbpath, HEADER LINE_ALICE LINE_BOB);
    userdb_close(db);
}
END_TEST

/*
 * In a child: enters its own user and mount namespaces, where anyone may
 * mount a tmpfs, and mounts one of 16 KiB on mnt.  Exits 77 where the
 * system does not allow that.
 */
static void
child_tmpfs(const char *mnt)
{
    char    map[64];
    uid_t   uid = getuid();
    gid_t   gid = getgid();
    int     fd;

    if (unshare(CLONE_NEWUSER | CLONE_NEWNS) == -1)
        _exit(77);
    snprintf(map, sizeof(map), "0 %u 1\n", (unsigned)uid);
    if ((fd = open("/proc/self/setgroups", O_WRONLY)) != -1) {
        CHILD_CHECK(write(fd, "deny", 4) == 4);
        close(fd);
    }
    fd = open("/proc/self/uid_map", O_WRONLY);
    CHILD_CHECK(fd != -1 && write(fd, map, strlen(map)) ==
        (ssize_t)strlen(map));
    close(fd);
    snprintf(map, sizeof(map), "0 %u 1\n", (unsigned)gid);
    fd = open("/proc/self/gid_map", O_WRONLY);
    CHILD_CHECK(fd != -1 && write(fd, map, strlen(map)) ==
        (ssize_t)strlen(map));
    close(fd);
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == -1 ||
        mount("tmpfs", mnt, "tmpfs", 0, "size=16k,mode=0700") == -1)
        _exit(77);
}

/* Fills the tmpfs on mnt.  Exit 0: passed, 77: no tmpfs to be had. */
static void
enospc_child(const char *mnt)
{
    struct userdb       *db;
    struct userdb_user   u;
    char                 err[USERDB_ERR_LEN];
    char                 path[256], tmp[256], *before, *after;
    size_t               lenb, lena, added = 0, n;
    int                  rc;

    child_tmpfs(mnt);
    snprintf(path, sizeof(path), "%s/users.db", mnt);
    snprintf(tmp, sizeof(tmp), "%s/users.db.tmp", mnt);
    db = userdb_open(mnt, USERDB_CREATE, err, sizeof(err));
    CHILD_CHECK(db != NULL);
    mkuser(&u, "", USERDB_ROLE_ADMIN, T0, "$");
    memset(u.hash + 1, 'h', 200);
    for (;;) {
        snprintf(u.email, sizeof(u.email), "user%zu@example.com", added);
        before = slurp(path, &lenb);
        errno = 0;
        rc = userdb_add(db, &u);
        if (rc != 0)
            break;
        free(before);
        added++;
        u.role = USERDB_ROLE_USER;
        CHILD_CHECK(added < 1000);
    }
    CHILD_CHECK(rc == -1 && errno == ENOSPC);
    fprintf(stderr, "userdb: ENOSPC after %zu adds (%zu bytes): %s\n", added,
        lenb, userdb_errmsg(db));
    after = slurp(path, &lena);
    CHILD_CHECK(lena == lenb && memcmp(before, after, lena) == 0);
    free(after);
    CHILD_CHECK(userdb_find(db, u.email, NULL) == USERDB_NOT_FOUND);
    CHILD_CHECK(userdb_count(db) == added);
    CHILD_CHECK(userdb_check(mnt, &n, err, sizeof(err)) == 0 && n == added);

    /* A rewrite needs room for a whole copy: it fails, and leaves the file
     * and no temporary behind. */
    errno = 0;
    CHILD_CHECK(userdb_delete(db, "user1@example.com", 0) == -1);
    CHILD_CHECK(errno == ENOSPC);
    after = slurp(path, &lena);
    CHILD_CHECK(lena == lenb && memcmp(before, after, lena) == 0);
    CHILD_CHECK(access(tmp, F_OK) == -1);
    CHILD_CHECK(userdb_count(db) == added);
    free(after);
    free(before);
    userdb_close(db);
    _exit(0);
}

/* A database on a file system remounted read-only.  Exit as above. */
static void
erofs_child(const char *mnt)
{
    struct userdb       *db;
    struct userdb_user   u;
    char                 err[USERDB_ERR_LEN], expect[USERDB_ERR_LEN];

    child_tmpfs(mnt);
    db = userdb_open(mnt, USERDB_CREATE, err, sizeof(err));
    CHILD_CHECK(db != NULL);
    mkuser(&u, "alice@example.com", USERDB_ROLE_ADMIN, T0, HASH_A);
    CHILD_CHECK(userdb_add(db, &u) == 0);
    userdb_close(db);
    CHILD_CHECK(mount(NULL, mnt, NULL, MS_REMOUNT | MS_RDONLY, NULL) == 0);

    /* Reading still works... */
    db = userdb_open(mnt, 0, err, sizeof(err));
    CHILD_CHECK(db != NULL);
    CHILD_CHECK(userdb_find(db, "alice@example.com", NULL) == 0);
    CHILD_CHECK(userdb_refresh(db, err, sizeof(err)) == 0);
    CHILD_CHECK(userdb_check(mnt, NULL, err, sizeof(err)) == 0);
    /* ...writing says EROFS, for the API to say so. */
    snprintf(expect, sizeof(expect), "%s/users.db.lock: %s", mnt,
        strerror(EROFS));
    mkuser(&u, "bob@example.com", USERDB_ROLE_USER, T1, HASH_B);
    errno = 0;
    CHILD_CHECK(userdb_add(db, &u) == -1 && errno == EROFS);
    CHILD_CHECK(strcmp(userdb_errmsg(db), expect) == 0);
    errno = 0;
    CHILD_CHECK(userdb_delete(db, "alice@example.com", 0) == -1 &&
        errno == EROFS);
    userdb_close(db);
    errno = 0;
    CHILD_CHECK(userdb_open(mnt, USERDB_REPAIR, err, sizeof(err)) == NULL &&
        errno == EROFS);
    _exit(0);
}

/* Runs fn in a child with a tmpfs on DIR/mnt; 0, or 77 for "skipped". */
static int
run_tmpfs_child(void (*fn)(const char *))
{
    char    mnt[128];
    pid_t   pid;
    int     code;

    snprintf(mnt, sizeof(mnt), "%s/mnt", dir);
    ck_assert_int_eq(mkdir(mnt, 0700), 0);
    pid = fork();
    ck_assert_int_ne(pid, -1);
    if (pid == 0)
        fn(mnt);
    code = wait_code(pid);
    if (code == 77)
        printf("userdb: skipped: no user namespaces or tmpfs here\n");
    else
        ck_assert_int_eq(code, 0);
    return code;
}

START_TEST(test_enospc_append_leaves_file_as_it_was)
{
    run_tmpfs_child(enospc_child);
}
END_TEST

START_TEST(test_read_only_file_system_reads_and_refuses_writes_erofs)
{
    run_tmpfs_child(erofs_child);
}
END_TEST

/* ---- time ------------------------------------------------------------- */

START_TEST(test_time_format_and_parse_round_trip)
{
    static const struct {
        int64_t      t;
        const char  *text;
    } good[] = {
        { 0, "1970-01-01T00:00:00Z" },
        { T0, T0_TEXT },
        { 951782400, "2000-02-29T00:00:00Z" },
        { 4107542399, "2100-02-28T23:59:59Z" },
        { 4107542400, "2100-03-01T00:00:00Z" },
        { USERDB_TIME_MAX, "9999-12-31T23:59:59Z" },
    };
    static const char *const bad[] = {
        "", "2023-11-14T22:13:20", "2023-11-14T22:13:20Zx",
        "2023-11-14 22:13:20Z", "2023-11-14T22:13:20z", "2023-02-29T00:00:00Z",
        "2100-02-29T00:00:00Z", "2023-13-01T00:00:00Z", "2023-00-01T00:00:00Z",
        "2023-04-31T00:00:00Z", "2023-11-14T24:00:00Z", "2023-11-14T23:60:00Z",
        "2023-11-14T23:59:60Z", "1969-12-31T23:59:59Z", "+023-11-14T22:13:20Z",
        "2023-1-14T22:13:20Z ",
    };
    char    out[USERDB_TIME_LEN + 1];
    int64_t t;
    size_t  i;

    for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        ck_assert_int_eq(userdb_format_time(good[i].t, out), 0);
        ck_assert_str_eq(out, good[i].text);
        ck_assert_int_eq(userdb_parse_time(good[i].text, &t), 0);
        ck_assert_int_eq(t, good[i].t);
    }
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        errno = 0;
        ck_assert_msg(userdb_parse_time(bad[i], &t) == -1, "parsed \"%s\"",
            bad[i]);
        ck_assert_int_eq(errno, EINVAL);
    }
    ck_assert_int_eq(userdb_format_time(-1, out), -1);
    ck_assert_int_eq(userdb_format_time(USERDB_TIME_MAX + 1, out), -1);
    ck_assert_str_eq(userdb_role_name(USERDB_ROLE_ADMIN), "admin");
    ck_assert_str_eq(userdb_role_name(USERDB_ROLE_USER), "user");
    ck_assert_ptr_null(userdb_role_name(0));
}
END_TEST

static Suite *
userdb_suite(void)
{
    Suite *s = suite_create("userdb");
    TCase *tc;

    tc = tcase_create("open");
    tcase_add_checked_fixture(tc, dir_setup, dir_teardown);
    tcase_add_test(tc, test_open_create_writes_header_only_file_mode_0600);
    tcase_add_test(tc, test_files_are_0600_whatever_the_umask);
    tcase_add_test(tc, test_open_without_create_on_missing_file_fails_enoent);
    tcase_add_test(tc, test_open_create_keeps_an_existing_file);
    tcase_add_test(tc, test_open_missing_directory_names_the_lock_file);
    suite_add_tcase(s, tc);

    tc = tcase_create("records");
    tcase_add_checked_fixture(tc, dir_setup, dir_teardown);
    tcase_add_test(tc, test_add_appends_exact_lines_in_creation_order);
    tcase_add_test(tc, test_find_is_exact_on_the_stored_lower_case_email);
    tcase_add_test(tc, test_find_never_matches_the_start_of_a_longer_line);
    tcase_add_test(tc, test_add_existing_email_returns_exists_and_leaves_file);
    tcase_add_test(tc, test_add_rejects_invalid_records_with_einval);
    tcase_add_test(tc, test_count_role_counts_admins_and_users);
    tcase_add_test(tc, test_update_rewrites_file_exactly_and_keeps_created_at);
    tcase_add_test(tc, test_update_or_delete_missing_email_returns_not_found);
    tcase_add_test(tc, test_delete_rewrites_file_exactly_keeping_order);
    tcase_add_test(tc, test_keep_admin_refuses_to_remove_the_last_admin);
    tcase_add_test(tc, test_keep_admin_decides_on_the_file_not_a_stale_view);
    tcase_add_test(tc, test_time_format_and_parse_round_trip);
    suite_add_tcase(s, tc);

    tc = tcase_create("views");
    /* Thousands of fdatasync'd appends: slow disks need the room. */
    tcase_set_timeout(tc, 120);
    tcase_add_checked_fixture(tc, dir_setup, dir_teardown);
    tcase_add_test(tc, test_refresh_sees_other_handles_append);
    tcase_add_test(tc, test_refresh_sees_other_handles_delete_and_update);
    tcase_add_test(tc, test_add_rechecks_under_the_lock_against_a_stale_view);
    tcase_add_test(tc, test_refresh_indexes_many_appends_incrementally);
    tcase_add_test(tc, test_failed_refresh_keeps_the_previous_view);
    tcase_add_test(tc, test_add_waits_for_another_holder_of_the_exclusive_lock);
    suite_add_tcase(s, tc);

    tc = tcase_create("format");
    tcase_add_checked_fixture(tc, dir_setup, dir_teardown);
    tcase_add_test(tc, test_malformed_line_names_path_and_line);
    tcase_add_test(tc, test_long_email_line_is_rejected_with_its_line);
    tcase_add_test(tc, test_bad_header_is_rejected);
    tcase_add_test(tc, test_torn_last_line_is_dropped_and_repaired);
    tcase_add_test(tc, test_add_after_unrepaired_torn_line_cuts_it_first);
    tcase_add_test(tc, test_rewrite_drops_an_unrepaired_torn_line);
    tcase_add_test(tc, test_check_reports_the_count_and_creates_nothing);
    suite_add_tcase(s, tc);

    tc = tcase_create("import");
    tcase_add_checked_fixture(tc, dir_setup, dir_teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_import_appends_all_records_in_order);
    tcase_add_test(tc, test_import_duplicate_in_batch_leaves_file_byte_identical);
    tcase_add_test(tc, test_import_existing_email_leaves_file_byte_identical);
    tcase_add_test(tc, test_import_invalid_record_names_it_and_writes_nothing);
    tcase_add_test(tc, test_import_100000_records_is_fast);
    tcase_add_test(tc, test_million_lines_open_and_tail_refresh);
    suite_add_tcase(s, tc);

    tc = tcase_create("processes");
    tcase_add_checked_fixture(tc, dir_setup, dir_teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_concurrent_appends_from_8_processes_lose_nothing);
    tcase_add_test(tc, test_8_processes_racing_for_one_email_one_wins);
    tcase_add_test(tc, test_short_append_is_taken_back_and_errno_kept);
    tcase_add_test(tc, test_enospc_append_leaves_file_as_it_was);
    tcase_add_test(tc, test_read_only_file_system_reads_and_refuses_writes_erofs);
    suite_add_tcase(s, tc);

    return s;
}

int
main(void)
{
    SRunner *sr;
    int      failed;

    sr = srunner_create(userdb_suite());
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
