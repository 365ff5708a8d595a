/* SPDX-License-Identifier: MIT */
/*
 * test_throttle.c - unit tests for throttle.c: login admission and
 * outcome (exactly max_failures admitted per address and window, the
 * address lockout only for that address, the account slow-down from all
 * addresses growing and capped, no address alone slowing an account,
 * refunds, reports), listing and lifting lockouts, registrations,
 * connection counts, the file (counts kept across a re-open, reset on a
 * new boot, a damaged file or table made afresh), and the tables'
 * invariants: entries within the probe limit after churn, no live entry
 * evicted by a flood, a full table refusing, times on the monotonic
 * clock, processes racing for the last attempts, and a worker killed at
 * any moment.
 *
 * Each test gets a fresh state directory and throttle, opened as the
 * master opens it; the fixture checks it is sound at the end.  The clock
 * is fake_now unless a test says otherwise, so windows and lockouts are
 * tested without sleeping; the boot id is fake_boot.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "throttle.h"
#include "throttle_store.h"

#define T0          1000            /* the fake clock's start */
#define NPROC       8
#define PER_PROC    20

static struct throttle *t;
static int64_t          fake_now;
static volatile time_t  wall_offset;    /* added to the wall clock */
static char             dir[64];        /* the state directory */
static char             fake_boot[64];

static int64_t  fake_clock(void);
static void     setup(void);
static void     teardown(void);
static void     assert_sound(void);
static const char *email_of(int);
static const char *addr_of(int);
static long     begin(const char *, const char *, const struct throttle_limits *);
static int      admit_all(const char *, const char *,
                    const struct throttle_limits *, int);
static int      child_begin(int, const struct throttle_limits *, int, int);
static void     race(const struct throttle_limits *, int, int *, int *,
                    int *);
static void     child_churn(int);
static void     assert_conn_free(const char *, long);
static void     reopen(int);
static const char *file_path(void);
static void     expect_lockouts(const char *);
static Suite   *throttle_suite(void);

/*
 * The wall clock as this process sees it, wall_offset away from the
 * system's: throttle.c must not notice.  Everything else passes through.
 */
int
clock_gettime(clockid_t id, struct timespec *ts)
{
    if (syscall(SYS_clock_gettime, id, ts) == -1)
        return -1;
    if (id == CLOCK_REALTIME || id == CLOCK_REALTIME_COARSE)
        ts->tv_sec += wall_offset;
    return 0;
}

time_t
time(time_t *tp)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    if (tp != NULL)
        *tp = ts.tv_sec;
    return ts.tv_sec;
}

static int64_t
fake_clock(void)
{
    return fake_now;
}

static void
setup(void)
{
    char err[THROTTLE_ERR_LEN];

    fake_now = T0;
    wall_offset = 0;
    throttle_set_clock(fake_clock);
    snprintf(fake_boot, sizeof(fake_boot), "boot-1");
    throttle_set_boot_id(fake_boot);
    snprintf(dir, sizeof(dir), "/tmp/test_throttle.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    t = throttle_open(dir, THROTTLE_DAEMON, err, sizeof(err));
    ck_assert_msg(t != NULL, "%s", err);
}

static void
teardown(void)
{
    char path[160];

    if (t != NULL)
        assert_sound();
    throttle_close(t);
    t = NULL;
    throttle_set_clock(NULL);
    throttle_set_boot_id(NULL);
    unlink(file_path());
    snprintf(path, sizeof(path), "%s.new", file_path());
    unlink(path);
    ck_assert_int_eq(rmdir(dir), 0);
}

static void
assert_sound(void)
{
    char err[256] = "";

    ck_assert_msg(throttle_check(t, err, sizeof(err)) == 0, "%s", err);
}

static const char *
file_path(void)
{
    static char path[128];

    snprintf(path, sizeof(path), "%s/" THROTTLE_FILE, dir);
    return path;
}

/* Closes t and opens the directory again, as flags say. */
static void
reopen(int flags)
{
    char err[THROTTLE_ERR_LEN];

    throttle_close(t);
    t = throttle_open(dir, flags, err, sizeof(err));
    ck_assert_msg(t != NULL, "%s", err);
}

/* throttle_lockouts as "kind key failures retry_after" lines. */
static void
expect_lockouts(const char *want)
{
    struct throttle_lockout *v;
    char                     got[4096] = "";
    size_t                   n, i, len = 0;

    ck_assert_int_eq(throttle_lockouts(t, &v, &n), 0);
    for (i = 0; i < n; i++)
        len += (size_t)snprintf(got + len, sizeof(got) - len, "%s %s %ld %ld\n",
            v[i].kind == THROTTLE_ACCOUNT ? "account" : "address", v[i].key,
            v[i].failures, v[i].retry_after);
    free(v);
    ck_assert_str_eq(got, want);
}

static const char *
email_of(int i)
{
    static char s[4][64];
    static int  n;

    n = (n + 1) % 4;
    snprintf(s[n], sizeof(s[n]), "user%d@example.com", i);
    return s[n];
}

static const char *
addr_of(int i)
{
    static char s[4][64];
    static int  n;

    n = (n + 1) % 4;
    snprintf(s[n], sizeof(s[n]), "10.%d.%d.%d", (i >> 16) & 255,
        (i >> 8) & 255, i & 255);
    return s[n];
}

/* throttle_login_begin with errno checked against the answer. */
static long
begin(const char *email, const char *ad, const struct throttle_limits *l)
{
    long w;

    errno = 0;
    w = throttle_login_begin(t, email, ad, l);
    if (w > 0)
        ck_assert_msg(errno == EAGAIN || errno == ENOSPC, "errno %d", errno);
    return w;
}

/* Begins n times; returns how many were admitted. */
static int
admit_all(const char *email, const char *ad, const struct throttle_limits *l,
    int n)
{
    int i, admitted = 0;

    for (i = 0; i < n; i++)
        admitted += begin(email, ad, l) == 0;
    return admitted;
}

/* ---- logins: addresses --------------------------------------------------- */

START_TEST(test_exactly_max_admitted_then_the_address_is_locked)
{
    struct throttle_limits l = { 5, 60, 300, 50 };

    ck_assert_int_eq(admit_all("a@example.com", "10.0.0.1", &l, 5), 5);
    ck_assert_int_eq(begin("a@example.com", "10.0.0.1", &l), 300);
    ck_assert_int_eq(errno, EAGAIN);
    /* The address for another account; the account from elsewhere is
     * not refused. */
    ck_assert_int_eq(begin("b@example.com", "10.0.0.1", &l), 300);
    ck_assert_int_eq(begin("a@example.com", "10.0.0.2", &l), 0);
    fake_now = T0 + 120;
    ck_assert_int_eq(begin("c@example.com", "10.0.0.1", &l), 180);
    /* Refusals charge nothing: another address is not touched. */
    ck_assert_int_eq(admit_all("b@example.com", "10.0.0.3", &l, 5), 5);
    ck_assert_int_eq(begin("b@example.com", "10.0.0.3", &l), 300);
    expect_lockouts("address 10.0.0.1 5 180\n"
                    "address 10.0.0.3 5 300\n");
}
END_TEST

/* An address locked out refuses every account from it, and nothing from
 * any other address, whatever it tries for how long. */
START_TEST(test_address_lockout_refuses_only_that_address)
{
    struct throttle_limits l = { 3, 900, 900, 30 };
    int                    round, i;

    for (round = 0; round < 5; round++) {
        fake_now = T0 + round * 900;
        ck_assert_int_eq(admit_all("a@example.com", "10.0.0.1", &l, 10), 3);
        for (i = 0; i < 10; i++) {
            ck_assert_int_eq(begin(email_of(i), "10.0.0.1", &l), 900);
            ck_assert_int_eq(begin("a@example.com", addr_of(100 + i), &l), 0);
            ck_assert_int_eq(throttle_login_end(t, "a@example.com",
                addr_of(100 + i), 1, &l), 0);
        }
    }
    expect_lockouts("address 10.0.0.1 3 900\n");
}
END_TEST

START_TEST(test_success_after_failures_unlocks_the_address)
{
    struct throttle_limits l = { 3, 60, 300, 30 };

    /* Three in flight at once, two wrong: the address counts two. */
    ck_assert_int_eq(admit_all("a@example.com", "10.0.0.1", &l, 1), 1);
    ck_assert_int_eq(admit_all("b@example.com", "10.0.0.1", &l, 1), 1);
    ck_assert_int_eq(admit_all("c@example.com", "10.0.0.1", &l, 1), 1);
    ck_assert_int_eq(throttle_login_end(t, "a@example.com", "10.0.0.1", 0, &l),
        THROTTLE_LOCKED_ADDRESS);
    ck_assert_int_eq(throttle_login_end(t, "c@example.com", "10.0.0.1", 1, &l), 0);
    ck_assert_int_eq(throttle_login_end(t, "b@example.com", "10.0.0.1", 0, &l), 0);
    ck_assert_int_eq(admit_all("d@example.com", "10.0.0.1", &l, 2), 1);
    ck_assert_int_eq(throttle_login_end(t, "d@example.com", "10.0.0.1", 0, &l),
        THROTTLE_LOCKED_ADDRESS);
}
END_TEST

START_TEST(test_lockout_ends_after_lockout_seconds)
{
    struct throttle_limits l = { 3, 60, 100, 30 };

    ck_assert_int_eq(admit_all("a@example.com", "10.0.0.1", &l, 3), 3);
    fake_now = T0 + 99;
    ck_assert_int_eq(begin("a@example.com", "10.0.0.1", &l), 1);
    fake_now = T0 + 100;
    expect_lockouts("");
    /* A new count: three more, the third locking again from now. */
    ck_assert_int_eq(admit_all("a@example.com", "10.0.0.1", &l, 4), 3);
    ck_assert_int_eq(begin("a@example.com", "10.0.0.1", &l), 100);
    /* A lockout longer than the window outlasts it. */
    fake_now = T0 + 199;
    ck_assert_int_eq(begin("b@example.com", "10.0.0.1", &l), 1);
}
END_TEST

START_TEST(test_window_starts_at_the_first_charge)
{
    struct throttle_limits l = { 3, 60, 900, 30 };

    ck_assert_int_eq(admit_all("a@example.com", "10.0.0.1", &l, 2), 2);
    ck_assert_int_eq(admit_all("b@example.com", "10.0.0.2", &l, 2), 2);
    fake_now = T0 + 59;
    ck_assert_int_eq(admit_all("a@example.com", "10.0.0.1", &l, 2), 1);
    ck_assert_int_eq(begin("a@example.com", "10.0.0.1", &l), 900);
    fake_now = T0 + 60;
    ck_assert_int_eq(admit_all("b@example.com", "10.0.0.2", &l, 4), 3);
    ck_assert_int_eq(begin("b@example.com", "10.0.0.2", &l), 900);
}
END_TEST

/* ---- logins: accounts ---------------------------------------------------- */

/*
 * From account_max_failures on, each attempt makes the next wait 1, 2,
 * 4, 8... seconds, never more than lockout; the attempts come from ever
 * new addresses, each far below its own limit.
 */
START_TEST(test_account_slowdown_grows_and_is_capped)
{
    struct throttle_limits l = { 3, 900, 10, 4 };
    static const long      waits[] = { 1, 2, 4, 8, 10, 10, 10 };
    int                    i, a = 0;

    for (i = 0; i < 3; i++)
        ck_assert_int_eq(begin("a@example.com", addr_of(a++), &l), 0);
    expect_lockouts("");
    for (i = 0; i < 7; i++) {
        ck_assert_int_eq(begin("a@example.com", addr_of(a++), &l), 0);
        ck_assert_int_eq(begin("a@example.com", addr_of(a++), &l), waits[i]);
        ck_assert_int_eq(errno, EAGAIN);
        fake_now += waits[i] - 1;
        ck_assert_int_eq(begin("a@example.com", addr_of(a++), &l), 1);
        fake_now++;
    }
    /* Slowed, its next attempt admitted at once: listed with 0. */
    expect_lockouts("account a@example.com 10 0\n");
    ck_assert_int_eq(begin("b@example.com", addr_of(a++), &l), 0);
    /* Its window ended: a new count, four at once again. */
    fake_now = T0 + 900;
    expect_lockouts("");
    ck_assert_int_eq(admit_all("a@example.com", addr_of(a++), &l, 1), 1);
    ck_assert_int_eq(admit_all("a@example.com", addr_of(a++), &l, 1), 1);
    ck_assert_int_eq(admit_all("a@example.com", addr_of(a++), &l, 2), 2);
    ck_assert_int_eq(begin("a@example.com", addr_of(a++), &l), 1);
}
END_TEST

/*
 * One address guessing at an account as fast as it may, window after
 * window of its own: it counts at most max_failures times in the
 * account's window, so the account is never slowed down; a second
 * address is needed for that.
 */
START_TEST(test_one_address_never_slows_an_account)
{
    struct throttle_limits l = { 3, 900, 10, 4 };
    int                    round;

    for (round = 0; round < 50; round++) {
        fake_now = T0 + round * 10;
        ck_assert_int_eq(admit_all("a@example.com", "10.0.0.1", &l, 10), 3);
        ck_assert_int_eq(throttle_login_end(t, "a@example.com", "10.0.0.1",
            0, &l), THROTTLE_LOCKED_ADDRESS);
        expect_lockouts("address 10.0.0.1 3 10\n");
    }
    /* A second address does it. */
    ck_assert_int_eq(begin("a@example.com", "10.0.0.2", &l), 0);
    ck_assert_int_eq(begin("a@example.com", "10.0.0.3", &l), 1);
    expect_lockouts("account a@example.com 4 1\n"
                    "address 10.0.0.1 3 10\n");
}
END_TEST

START_TEST(test_wait_is_the_longer_of_account_and_address)
{
    struct throttle_limits l = { 2, 60, 300, 3 };

    /* 10.0.0.1 locked out; a@ slowed down by it and 10.0.0.2. */
    ck_assert_int_eq(admit_all("a@example.com", "10.0.0.1", &l, 2), 2);
    ck_assert_int_eq(admit_all("a@example.com", "10.0.0.2", &l, 1), 1);
    ck_assert_int_eq(begin("a@example.com", "10.0.0.3", &l), 1);
    ck_assert_int_eq(begin("b@example.com", "10.0.0.1", &l), 300);
    ck_assert_int_eq(begin("a@example.com", "10.0.0.1", &l), 300);
    fake_now = T0 + 1;
    ck_assert_int_eq(begin("a@example.com", "10.0.0.3", &l), 0);
    ck_assert_int_eq(begin("a@example.com", "10.0.0.4", &l), 2);
    ck_assert_int_eq(begin("a@example.com", "10.0.0.1", &l), 299);
}
END_TEST

START_TEST(test_failures_report_each_lockout_once)
{
    struct throttle_limits l = { 3, 60, 300, 4 };

    ck_assert_int_eq(admit_all("a@example.com", "10.0.0.1", &l, 2), 2);
    ck_assert_int_eq(throttle_login_end(t, "a@example.com", "10.0.0.1", 0, &l), 0);
    ck_assert_int_eq(begin("a@example.com", "10.0.0.1", &l), 0);
    ck_assert_int_eq(throttle_login_end(t, "a@example.com", "10.0.0.1", 0, &l),
        THROTTLE_LOCKED_ADDRESS);
    ck_assert_int_eq(throttle_login_end(t, "a@example.com", "10.0.0.1", 0, &l), 0);
    /* A fourth from elsewhere slows the account down: once reported. */
    ck_assert_int_eq(begin("a@example.com", "10.0.0.2", &l), 0);
    ck_assert_int_eq(throttle_login_end(t, "a@example.com", "10.0.0.2", 0, &l),
        THROTTLE_SLOWED_ACCOUNT);
    fake_now = T0 + 1;
    ck_assert_int_eq(begin("a@example.com", "10.0.0.3", &l), 0);
    ck_assert_int_eq(throttle_login_end(t, "a@example.com", "10.0.0.3", 0, &l), 0);
    /* The address locked by another account's attempts: only it reports. */
    ck_assert_int_eq(admit_all("b@example.com", "10.0.0.4", &l, 2), 2);
    ck_assert_int_eq(admit_all("c@example.com", "10.0.0.4", &l, 1), 1);
    ck_assert_int_eq(throttle_login_end(t, "c@example.com", "10.0.0.4", 0, &l),
        THROTTLE_LOCKED_ADDRESS);
    ck_assert_int_eq(throttle_login_end(t, "b@example.com", "10.0.0.4", 0, &l), 0);
    /* New ones are reported again. */
    fake_now = T0 + 300;
    ck_assert_int_eq(admit_all("a@example.com", "10.0.0.1", &l, 3), 3);
    ck_assert_int_eq(throttle_login_end(t, "a@example.com", "10.0.0.1", 0, &l),
        THROTTLE_LOCKED_ADDRESS);
    ck_assert_int_eq(begin("a@example.com", "10.0.0.5", &l), 0);
    ck_assert_int_eq(throttle_login_end(t, "a@example.com", "10.0.0.5", 0, &l),
        THROTTLE_SLOWED_ACCOUNT);
    /* An end without a begin (or after expiry) reports nothing. */
    ck_assert_int_eq(throttle_login_end(t, "z@example.com", "10.9.9.9", 0, &l), 0);
}
END_TEST

START_TEST(test_success_refunds_the_address_and_clears_the_account)
{
    struct throttle_limits l = { 3, 60, 300, 4 };

    /* The address: two wrong guesses, then a right one that locks it. */
    ck_assert_int_eq(admit_all("a@example.com", "10.0.0.1", &l, 2), 2);
    ck_assert_int_eq(begin("b@example.com", "10.0.0.1", &l), 0);
    ck_assert_int_eq(begin("c@example.com", "10.0.0.1", &l), 300);
    ck_assert_int_eq(throttle_login_end(t, "b@example.com", "10.0.0.1", 1, &l), 0);
    /* Refunded and lifted: room for exactly one more. */
    ck_assert_int_eq(admit_all("c@example.com", "10.0.0.1", &l, 2), 1);
    ck_assert_int_eq(begin("d@example.com", "10.0.0.1", &l), 300);

    /* The account "a": 2 charges so far, two more slow it down; a
     * success from another address clears it for a full new count. */
    ck_assert_int_eq(begin("a@example.com", "10.0.0.2", &l), 0);
    ck_assert_int_eq(begin("a@example.com", "10.0.0.3", &l), 0);
    ck_assert_int_eq(begin("a@example.com", "10.0.0.4", &l), 1);
    expect_lockouts("account a@example.com 4 1\n"
                    "address 10.0.0.1 3 300\n");
    ck_assert_int_eq(throttle_login_end(t, "a@example.com", "10.0.0.2", 1, &l), 0);
    expect_lockouts("address 10.0.0.1 3 300\n");
    ck_assert_int_eq(admit_all("a@example.com", "10.0.0.4", &l, 4), 3);
    ck_assert_int_eq(begin("a@example.com", "10.0.0.5", &l), 0);
    ck_assert_int_eq(begin("a@example.com", "10.0.0.6", &l), 1);
}
END_TEST

/* Attempts whose clients vanished never end: their charges expire. */
START_TEST(test_abandoned_attempts_do_not_fill_the_table)
{
    struct throttle_limits l = { 2, 60, 60, 20 };
    int                    r, i;

    for (r = 0; r < 100; r++) {
        fake_now = T0 + r * 61;
        for (i = 0; i < 1000; i++) {
            ck_assert_int_eq(begin(email_of(r * 1000 + i), addr_of(r * 1000 + i), &l), 0);
            ck_assert_int_eq(begin(email_of(r * 1000 + i), addr_of(r * 1000 + i), &l), 0);
        }
    }
    assert_sound();
}
END_TEST

/* ---- lockouts: listing and lifting ---------------------------------------- */

START_TEST(test_lockouts_are_listed_in_order)
{
    struct throttle_limits l = { 2, 600, 300, 3 };
    int                    i;

    expect_lockouts("");
    ck_assert_int_eq(admit_all("x@example.com", "192.0.2.9", &l, 2), 2);
    fake_now = T0 + 10;
    ck_assert_int_eq(admit_all("y@example.com", "10.0.0.7", &l, 2), 2);
    ck_assert_int_eq(admit_all("y@example.com", "2001:db8::1", &l, 1), 1);
    for (i = 0; i < 3; i++)
        ck_assert_int_eq(begin("b@example.com", addr_of(i), &l), 0);
    /* Counted but neither slowed nor locked: not listed. */
    ck_assert_int_eq(begin("c@example.com", "10.0.0.8", &l), 0);
    expect_lockouts("account b@example.com 3 1\n"
                    "account y@example.com 3 1\n"
                    "address 10.0.0.7 2 300\n"
                    "address 192.0.2.9 2 290\n");
}
END_TEST

START_TEST(test_unlock_lifts_an_account_or_an_address)
{
    struct throttle_limits l = { 3, 900, 900, 4 };
    int                    i;

    ck_assert_int_eq(admit_all("a@example.com", "10.0.0.1", &l, 3), 3);
    ck_assert_int_eq(begin("a@example.com", "10.0.0.2", &l), 0);
    ck_assert_int_eq(begin("b@example.com", "10.0.0.3", &l), 0);
    expect_lockouts("account a@example.com 4 1\n"
                    "address 10.0.0.1 3 900\n");
    /* Nothing listed for them: nothing changes. */
    ck_assert_int_eq(throttle_unlock(t, "b@example.com"), 0);
    ck_assert_int_eq(throttle_unlock(t, "10.0.0.3"), 0);
    ck_assert_int_eq(throttle_unlock(t, "nobody@example.com"), 0);
    ck_assert_int_eq(throttle_unlock(t, ""), 0);
    /* Any case; the count starts again. */
    ck_assert_int_eq(throttle_unlock(t, "A@Example.COM"), 1);
    expect_lockouts("address 10.0.0.1 3 900\n");
    for (i = 0; i < 3; i++)
        ck_assert_int_eq(begin("a@example.com", addr_of(100 + i), &l), 0);
    ck_assert_int_eq(throttle_unlock(t, "10.0.0.1"), 1);
    ck_assert_int_eq(throttle_unlock(t, "10.0.0.1"), 0);
    expect_lockouts("");
    ck_assert_int_eq(admit_all("c@example.com", "10.0.0.1", &l, 3), 3);
    ck_assert_int_eq(begin("c@example.com", "10.0.0.1", &l), 900);
}
END_TEST

/* ---- the file ------------------------------------------------------------ */

START_TEST(test_counts_survive_a_reopen)
{
    struct throttle_limits l = { 3, 900, 900, 4 };
    struct stat            st;

    ck_assert_int_eq(stat(file_path(), &st), 0);
    ck_assert_uint_eq(st.st_mode & 07777, 0600);
    ck_assert_int_eq(st.st_size, 7999488);
    ck_assert_int_eq(admit_all("a@example.com", "10.0.0.1", &l, 3), 3);
    ck_assert_int_eq(begin("a@example.com", "10.0.0.2", &l), 0);
    ck_assert_int_eq(throttle_register(t, "10.0.0.9", 1, 600), 0);
    fake_now = T0 + 100;
    /* The master again, then a reader such as userapictl. */
    reopen(THROTTLE_DAEMON);
    expect_lockouts("account a@example.com 4 0\n"
                    "address 10.0.0.1 3 800\n");
    ck_assert_int_eq(begin("b@example.com", "10.0.0.1", &l), 800);
    ck_assert_int_eq(throttle_register(t, "10.0.0.9", 1, 600), 500);
    reopen(0);
    expect_lockouts("account a@example.com 4 0\n"
                    "address 10.0.0.1 3 800\n");
    ck_assert_int_eq(throttle_unlock(t, "10.0.0.1"), 1);
    reopen(THROTTLE_DAEMON);
    expect_lockouts("account a@example.com 4 0\n");
}
END_TEST

START_TEST(test_a_new_boot_starts_afresh)
{
    struct throttle_limits l = { 3, 900, 900, 4 };
    char                   err[THROTTLE_ERR_LEN];

    ck_assert_int_eq(admit_all("a@example.com", "10.0.0.1", &l, 3), 3);
    throttle_close(t);
    snprintf(fake_boot, sizeof(fake_boot), "boot-2");
    /* A reader finds nothing locked, and changes nothing. */
    t = throttle_open(dir, 0, err, sizeof(err));
    ck_assert_msg(t != NULL, "%s", err);
    expect_lockouts("");
    ck_assert_int_eq(throttle_unlock(t, "10.0.0.1"), 0);
    snprintf(fake_boot, sizeof(fake_boot), "boot-1");
    reopen(0);
    expect_lockouts("address 10.0.0.1 3 900\n");
    /* The master of the new boot makes it afresh. */
    snprintf(fake_boot, sizeof(fake_boot), "boot-2");
    reopen(THROTTLE_DAEMON);
    expect_lockouts("");
    ck_assert_int_eq(admit_all("b@example.com", "10.0.0.1", &l, 3), 3);
    snprintf(fake_boot, sizeof(fake_boot), "boot-1");
    reopen(0);
    expect_lockouts("");
}
END_TEST

/* A damaged or foreign file: the master makes it afresh, a reader says
 * what is wrong with it. */
START_TEST(test_a_damaged_file_is_made_afresh)
{
    static const struct {
        off_t       at;         /* -1: truncate to 100 bytes */
        const char *bytes;
        const char *why;
    } cases[] = {
        { -1, NULL, "a file of the wrong size" },
        { 0, "NOTATHROTTLEFILE", "not a throttle file" },
        { 16, "\x7f", "a throttle file of another version" },
        { 24, "\x01\x02", "a throttle file of another layout" },
    };
    struct throttle_limits l = { 3, 900, 900, 4 };
    char                   err[THROTTLE_ERR_LEN], want[THROTTLE_ERR_LEN];
    size_t                 i;
    int                    fd;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        ck_assert_int_eq(admit_all("a@example.com", "10.0.0.1", &l, 3), 3);
        throttle_close(t);
        t = NULL;
        ck_assert_int_ge(fd = open(file_path(), O_RDWR), 0);
        if (cases[i].at == -1)
            ck_assert_int_eq(ftruncate(fd, 100), 0);
        else
            ck_assert_int_eq(pwrite(fd, cases[i].bytes,
                strlen(cases[i].bytes), cases[i].at),
                (ssize_t)strlen(cases[i].bytes));
        close(fd);
        ck_assert_ptr_null(throttle_open(dir, 0, err, sizeof(err)));
        snprintf(want, sizeof(want), "%s: %s (userapid makes it afresh when "
            "it starts)", file_path(), cases[i].why);
        ck_assert_str_eq(err, want);
        t = throttle_open(dir, THROTTLE_DAEMON, err, sizeof(err));
        ck_assert_msg(t != NULL, "%s", err);
        expect_lockouts("");
        assert_sound();
        reopen(0);
        reopen(THROTTLE_DAEMON);
    }
}
END_TEST

/* A table damaged in place: the master empties it, and only it. */
START_TEST(test_a_damaged_table_is_emptied)
{
    struct throttle_limits l = { 3, 900, 900, 4 };
    uint32_t               used = 12345;
    char                   err[256];
    int                    fd;

    ck_assert_int_eq(admit_all("a@example.com", "10.0.0.1", &l, 3), 3);
    ck_assert_int_eq(begin("a@example.com", "10.0.0.2", &l), 0);
    reopen(0);
    /* The address table's used count, in the header. */
    ck_assert_int_ge(fd = open(file_path(), O_RDWR), 0);
    ck_assert_int_eq(pwrite(fd, &used, sizeof(used),
        (off_t)offsetof(struct thr_file, u.h.addr_meta.used)), sizeof(used));
    close(fd);
    ck_assert_int_eq(throttle_check(t, err, sizeof(err)), -1);
    ck_assert_str_eq(err, "address table: 2 entries, 12345 counted as used");
    reopen(THROTTLE_DAEMON);
    assert_sound();
    expect_lockouts("account a@example.com 4 1\n");
}
END_TEST

/* Without a file (userapictl before the daemon ever ran) nothing counts. */
START_TEST(test_a_reader_without_a_file_counts_nothing)
{
    struct throttle_limits l = { 1, 900, 900, 2 };
    char                   err[THROTTLE_ERR_LEN];

    throttle_close(t);
    ck_assert_int_eq(unlink(file_path()), 0);
    t = throttle_open(dir, 0, err, sizeof(err));
    ck_assert_msg(t != NULL, "%s", err);
    expect_lockouts("");
    ck_assert_int_eq(throttle_unlock(t, "10.0.0.1"), 0);
    ck_assert_int_eq(admit_all("a@example.com", "10.0.0.1", &l, 3), 3);
    ck_assert_int_eq(access(file_path(), F_OK), -1);
}
END_TEST

/* ---- processes ------------------------------------------------------------ */

/* Processes racing for the same account, from one address each when
 * own_addr, else all from the same one. */
static int
child_begin(int start, const struct throttle_limits *l, int own_addr, int i)
{
    const char *ad = own_addr ? addr_of(1000 + i) : "10.1.1.1";
    char        c;
    int         n, admitted = 0, reported = 0;

    if (read(start, &c, 1) != 0)
        return 255;
    for (n = 0; n < PER_PROC; n++) {
        if (throttle_login_begin(t, "race@example.com", ad, l) != 0)
            continue;
        admitted++;
        reported |= throttle_login_end(t, "race@example.com", ad, 0, l);
    }
    return admitted | reported << 5;
}

/* NPROC processes at once; the attempts admitted and the reports. */
static void
race(const struct throttle_limits *l, int own_addr, int *admitted,
    int *acct_rep, int *addr_rep)
{
    pid_t pids[NPROC];
    int   i, status, start[2];

    *admitted = *acct_rep = *addr_rep = 0;
    ck_assert_int_eq(pipe(start), 0);
    for (i = 0; i < NPROC; i++) {
        if ((pids[i] = fork()) == 0) {
            close(start[1]);
            _exit(child_begin(start[0], l, own_addr, i));
        }
        ck_assert_int_ne(pids[i], -1);
    }
    close(start[0]);
    close(start[1]);        /* all children go */
    for (i = 0; i < NPROC; i++) {
        ck_assert_int_eq(waitpid(pids[i], &status, 0), pids[i]);
        ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) != 255,
            "child %d status %#x", i, status);
        *admitted += WEXITSTATUS(status) & 31;
        *acct_rep += ((WEXITSTATUS(status) >> 5) & THROTTLE_SLOWED_ACCOUNT) != 0;
        *addr_rep += ((WEXITSTATUS(status) >> 5) & THROTTLE_LOCKED_ADDRESS) != 0;
    }
}

START_TEST(test_processes_at_once_admit_exactly_max)
{
    struct throttle_limits l = { 5, 60, 300, 50 };
    int                    admitted, acct_rep, addr_rep;

    race(&l, 0, &admitted, &acct_rep, &addr_rep);
    ck_assert_int_eq(admitted, 5);
    ck_assert_int_eq(acct_rep, 0);
    ck_assert_int_eq(addr_rep, 1);
    ck_assert_int_eq(begin("race@example.com", "10.1.1.1", &l), 300);
    ck_assert_int_eq(begin("race@example.com", "10.1.1.2", &l), 0);
}
END_TEST

START_TEST(test_processes_at_once_reach_the_account_limit_exactly)
{
    struct throttle_limits l = { 5, 60, 300, 12 };
    int                    admitted, acct_rep, addr_rep;

    race(&l, 1, &admitted, &acct_rep, &addr_rep);
    ck_assert_int_eq(admitted, 12);
    ck_assert_int_eq(acct_rep, 1);
    ck_assert_int_eq(begin("race@example.com", "10.1.1.2", &l), 1);
}
END_TEST

/* ---- registrations ----------------------------------------------------- */

START_TEST(test_register_allows_max_per_window)
{
    struct throttle_limits l = { 2, 60, 300, 20 };

    ck_assert_int_eq(throttle_register(t, "10.0.0.1", 3, 60), 0);
    fake_now = T0 + 10;
    ck_assert_int_eq(throttle_register(t, "10.0.0.1", 3, 60), 0);
    ck_assert_int_eq(throttle_register(t, "10.0.0.1", 3, 60), 0);
    errno = 0;
    ck_assert_int_eq(throttle_register(t, "10.0.0.1", 3, 60), 50);
    ck_assert_int_eq(errno, EAGAIN);
    ck_assert_int_eq(throttle_register(t, "10.0.0.2", 3, 60), 0);
    fake_now = T0 + 59;
    ck_assert_int_eq(throttle_register(t, "10.0.0.1", 3, 60), 1);
    fake_now = T0 + 60;
    ck_assert_int_eq(throttle_register(t, "10.0.0.1", 3, 60), 0);
    ck_assert_int_eq(throttle_register(t, "10.0.0.1", 3, 60), 0);
    ck_assert_int_eq(throttle_register(t, "10.0.0.1", 3, 60), 0);
    ck_assert_int_eq(throttle_register(t, "10.0.0.1", 3, 60), 60);
    /* Logins and registrations are counted apart. */
    ck_assert_int_eq(admit_all("a@example.com", "10.0.0.1", &l, 2), 2);
    ck_assert_int_eq(begin("a@example.com", "10.0.0.1", &l), 300);
    ck_assert_int_eq(throttle_register(t, "10.0.0.3", 3, 60), 0);
    ck_assert_int_eq(throttle_register(t, "10.0.0.2", 3, 60), 0);
    ck_assert_int_eq(begin("b@example.com", "10.0.0.2", &l), 0);
}
END_TEST

/* ---- connections --------------------------------------------------------- */

/* addr holds nothing: exactly limit acquire, then release all. */
static void
assert_conn_free(const char *ad, long limit)
{
    long i;

    for (i = 0; i < limit; i++)
        ck_assert_msg(throttle_conn_acquire(t, ad, (int)(i % 3), limit) == 0,
            "%s: connection %ld of %ld refused", ad, i + 1, limit);
    errno = 0;
    ck_assert_int_eq(throttle_conn_acquire(t, ad, 0, limit), -1);
    ck_assert_int_eq(errno, EAGAIN);
    for (i = 0; i < limit; i++)
        throttle_conn_release(t, ad, (int)(i % 3));
}

START_TEST(test_conn_limit_per_address)
{
    ck_assert_int_eq(throttle_conn_acquire(t, "10.0.0.1", 0, 3), 0);
    ck_assert_int_eq(throttle_conn_acquire(t, "10.0.0.1", 1, 3), 0);
    ck_assert_int_eq(throttle_conn_acquire(t, "10.0.0.1", 1, 3), 0);
    ck_assert_int_eq(throttle_conn_acquire(t, "10.0.0.1", 2, 3), -1);
    ck_assert_int_eq(throttle_conn_acquire(t, "10.0.0.2", 2, 3), 0);
    throttle_conn_release(t, "10.0.0.1", 1);
    ck_assert_int_eq(throttle_conn_acquire(t, "10.0.0.1", 2, 3), 0);
    ck_assert_int_eq(throttle_conn_acquire(t, "10.0.0.1", 2, 3), -1);
    /* Releasing what was never acquired gives nothing back. */
    throttle_conn_release(t, "10.0.0.1", 5);
    throttle_conn_release(t, "10.0.0.3", 0);
    ck_assert_int_eq(throttle_conn_acquire(t, "10.0.0.1", 2, 3), -1);
    assert_sound();
    throttle_conn_release(t, "10.0.0.1", 0);
    throttle_conn_release(t, "10.0.0.1", 1);
    throttle_conn_release(t, "10.0.0.1", 2);
    throttle_conn_release(t, "10.0.0.2", 2);
    assert_conn_free("10.0.0.1", 3);
}
END_TEST

START_TEST(test_clear_slot_gives_back_what_a_dead_worker_held)
{
    int i;

    for (i = 0; i < 1000; i++) {
        ck_assert_int_eq(throttle_conn_acquire(t, addr_of(i), 1, 4), 0);
        ck_assert_int_eq(throttle_conn_acquire(t, addr_of(i), 1, 4), 0);
        ck_assert_int_eq(throttle_conn_acquire(t, addr_of(i), 2, 4), 0);
    }
    throttle_conn_clear_slot(t, 1);
    assert_sound();
    for (i = 0; i < 1000; i++) {
        ck_assert_int_eq(throttle_conn_acquire(t, addr_of(i), 3, 4), 0);
        ck_assert_int_eq(throttle_conn_acquire(t, addr_of(i), 3, 4), 0);
        ck_assert_int_eq(throttle_conn_acquire(t, addr_of(i), 3, 4), 0);
        ck_assert_int_eq(throttle_conn_acquire(t, addr_of(i), 3, 4), -1);
    }
    throttle_conn_clear_slot(t, 2);
    throttle_conn_clear_slot(t, 3);
    for (i = 0; i < 1000; i++)
        assert_conn_free(addr_of(i), 4);
}
END_TEST

/* Entries at 0 are removed: far more addresses than slots come and go. */
START_TEST(test_closed_connections_leave_no_entries)
{
    int i;

    for (i = 0; i < 200000; i++) {
        ck_assert_int_eq(throttle_conn_acquire(t, addr_of(i), i % 7, 1), 0);
        throttle_conn_release(t, addr_of(i), i % 7);
    }
    assert_sound();
}
END_TEST

/*
 * Random opens and closes over 6000 addresses on 4 worker slots, enough
 * to keep the table about 85% full (some opens are refused for want of
 * room: those are not held); afterwards each address has its whole limit
 * again, so no count was lost.
 */
START_TEST(test_conn_counts_given_back_after_churn)
{
    static unsigned char held[6000][4];
    int                  i, a, s, n, refused = 0;

    srandom(1);
    for (i = 0; i < 600000; i++) {
        a = (int)(random() % 6000);
        s = (int)(random() % 4);
        if (random() % 4 != 0 && held[a][s] < 2) {
            errno = 0;
            if (throttle_conn_acquire(t, addr_of(a), s, 8) == 0) {
                held[a][s]++;
            } else {
                ck_assert_int_eq(errno, ENOSPC);
                refused++;
            }
        } else if (held[a][s] > 0) {
            throttle_conn_release(t, addr_of(a), s);
            held[a][s]--;
        }
        if (i % 100000 == 0)
            assert_sound();
    }
    fprintf(stderr, "connection churn: %d opens refused for want of room\n",
        refused);
    for (a = 0; a < 6000; a++)
        for (s = 0; s < 4; s++)
            for (n = held[a][s]; n > 0; n--)
                throttle_conn_release(t, addr_of(a), s);
    for (a = 0; a < 6000; a++)
        assert_conn_free(addr_of(a), 2);
}
END_TEST

/* ---- table invariants ---------------------------------------------------- */

/*
 * Logins over 100000 accounts and 20000 addresses, more than the table
 * holds at once, while the clock moves on: entries go stale, are swept
 * and replaced, and each stays within the probe limit.
 */
START_TEST(test_entries_stay_within_probe_limit_after_churn)
{
    struct throttle_limits l = { 4, 30, 45, 40 };
    int                    i, a;

    srandom(2);
    for (i = 0; i < 600000; i++) {
        if (i % 2000 == 0)
            fake_now++;
        a = (int)(random() % 100000);
        if (begin(email_of(a), addr_of(a % 20000), &l) == 0 && random() % 8 == 0)
            throttle_login_end(t, email_of(a), addr_of(a % 20000), 1, &l);
        if (i % 50000 == 0)
            assert_sound();
    }
}
END_TEST

START_TEST(test_flood_cannot_evict_a_live_lockout)
{
    struct throttle_limits l = { 3, 900, 900, 4 };
    int                    i, refused = 0;
    long                   w;

    /* 192.0.2.1 locked out, and victim@ slowed down with 192.0.2.3. */
    ck_assert_int_eq(admit_all("victim@example.com", "192.0.2.1", &l, 3), 3);
    ck_assert_int_eq(begin("victim@example.com", "192.0.2.3", &l), 0);
    for (i = 0; i < 200000; i++) {
        w = begin(email_of(i), addr_of(i), &l);
        if (w != 0) {
            ck_assert_int_eq(w, 1);
            ck_assert_int_eq(errno, ENOSPC);
            refused++;
        }
    }
    ck_assert_int_eq(begin("victim@example.com", "192.0.2.2", &l), 1);
    ck_assert_int_eq(begin("other@example.com", "192.0.2.1", &l), 900);
    ck_assert_int_gt(refused, 0);
    assert_sound();
    fake_now = T0 + 899;
    expect_lockouts("account victim@example.com 4 0\n"
                    "address 192.0.2.1 3 1\n");
    ck_assert_int_eq(begin("other@example.com", "192.0.2.1", &l), 1);
}
END_TEST

/*
 * A full table refuses a new key, charging nothing, until entries expire;
 * then they are swept and the key is admitted.
 */
START_TEST(test_full_login_table_refuses_until_entries_expire)
{
    struct throttle_limits l = { 1000, 60, 60, 10000 };
    int                    i, last = -1;

    for (i = 0; i < 100000; i++)
        if (begin(email_of(i), addr_of(i), &l) != 0)
            last = i;
    ck_assert_int_ge(last, 0);
    fake_now = T0 + 59;
    errno = 0;
    ck_assert_int_eq(begin(email_of(last), addr_of(last), &l), 1);
    ck_assert_int_eq(errno, ENOSPC);
    fake_now = T0 + 60;
    ck_assert_int_eq(begin(email_of(last), addr_of(last), &l), 0);
    assert_sound();
}
END_TEST

START_TEST(test_full_registration_table_refuses_and_keeps_counts)
{
    int  i, refused = 0;
    long w;

    for (i = 0; i < 3; i++)
        ck_assert_int_eq(throttle_register(t, "192.0.2.1", 3, 600), 0);
    for (i = 0; i < 50000; i++) {
        errno = 0;
        if ((w = throttle_register(t, addr_of(i), 3, 600)) != 0) {
            ck_assert_int_eq(w, 1);
            ck_assert_int_eq(errno, ENOSPC);
            refused++;
        }
    }
    ck_assert_int_eq(throttle_register(t, "192.0.2.1", 3, 600), 600);
    ck_assert_int_gt(refused, 0);
    fake_now = T0 + 600;
    ck_assert_int_eq(throttle_register(t, "192.0.2.1", 3, 600), 0);
    assert_sound();
}
END_TEST

START_TEST(test_full_connection_table_refuses_and_keeps_counts)
{
    int i, refused = 0;

    ck_assert_int_eq(throttle_conn_acquire(t, "192.0.2.1", 0, 2), 0);
    ck_assert_int_eq(throttle_conn_acquire(t, "192.0.2.1", 0, 2), 0);
    for (i = 0; i < 40000; i++) {
        errno = 0;
        if (throttle_conn_acquire(t, addr_of(i), 0, 2) != 0) {
            ck_assert_int_eq(errno, ENOSPC);
            refused++;
        }
    }
    ck_assert_int_eq(throttle_conn_acquire(t, "192.0.2.1", 1, 2), -1);
    ck_assert_int_eq(errno, EAGAIN);
    ck_assert_int_gt(refused, 0);
    assert_sound();
    throttle_conn_clear_slot(t, 0);
    assert_conn_free("192.0.2.1", 2);
    for (i = 0; i < 40000; i += 97)
        assert_conn_free(addr_of(i), 2);
}
END_TEST

/* The default clock is CLOCK_MONOTONIC: wall-clock jumps do not count. */
START_TEST(test_wall_clock_jumps_change_no_lockout)
{
    struct throttle_limits l = { 2, 60, 100, 20 };
    struct timespec        a, b;
    long                   w[3];
    int                    tries;

    throttle_set_clock(NULL);
    /* Retried until all of it falls within one second. */
    for (tries = 0; tries < 5; tries++) {
        wall_offset = 0;
        syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &a);
        ck_assert_int_eq(admit_all(email_of(tries), addr_of(tries), &l, 2), 2);
        wall_offset = 86400;
        w[0] = begin(email_of(tries), addr_of(tries), &l);
        wall_offset = -86400;
        w[1] = begin(email_of(tries), addr_of(tries), &l);
        wall_offset = 3 * 86400;
        w[2] = begin(email_of(tries), addr_of(tries), &l);
        syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &b);
        if (a.tv_sec == b.tv_sec)
            break;
    }
    wall_offset = 0;
    ck_assert_int_lt(tries, 5);
    ck_assert_int_eq(w[0], 100);
    ck_assert_int_eq(w[1], 100);
    ck_assert_int_eq(w[2], 100);
}
END_TEST

/* The injected clock drives everything, from near 0 on. */
START_TEST(test_times_follow_the_injected_clock)
{
    struct throttle_limits l = { 2, 60, 100, 20 };

    fake_now = 5;
    ck_assert_int_eq(admit_all("a@example.com", "10.0.0.1", &l, 2), 2);
    ck_assert_int_eq(begin("a@example.com", "10.0.0.1", &l), 100);
    fake_now = 104;
    ck_assert_int_eq(begin("a@example.com", "10.0.0.1", &l), 1);
    ck_assert_int_eq(throttle_register(t, "10.0.0.1", 1, 30), 0);
    ck_assert_int_eq(throttle_register(t, "10.0.0.1", 1, 30), 30);
    fake_now = 105;
    ck_assert_int_eq(begin("a@example.com", "10.0.0.1", &l), 0);
    ck_assert_int_eq(throttle_register(t, "10.0.0.1", 1, 30), 29);
}
END_TEST

/* ---- processes dying ------------------------------------------------------ */

/* What a worker does, for ever, on slot 3. */
static void
child_churn(int seed)
{
    struct throttle_limits l = { 3, 60, 60, 30 };
    int                    i, a;

    srandom((unsigned)seed);
    for (i = 0;; i++) {
        a = (int)(random() % 64);
        if (throttle_conn_acquire(t, addr_of(a), 3, 1000) == 0 && random() % 2)
            throttle_conn_release(t, addr_of(a), 3);
        if (throttle_login_begin(t, email_of(a), addr_of(a), &l) == 0)
            throttle_login_end(t, email_of(a), addr_of(a), (int)(random() % 2), &l);
        throttle_register(t, addr_of(a), 1000000, 60);
    }
}

/*
 * Workers killed at random moments, often holding the lock in the middle
 * of a change: the next caller is not wedged, the tables are sound, and
 * once the master clears the slot every address has its limit again.
 */
START_TEST(test_worker_killed_at_any_moment)
{
    int   round, status, a;
    pid_t pid;

    for (round = 0; round < 200; round++) {
        if ((pid = fork()) == 0)
            child_churn(round);
        ck_assert_int_ne(pid, -1);
        usleep((useconds_t)(1000 + (random() % 3000)));
        kill(pid, SIGKILL);
        ck_assert_int_eq(waitpid(pid, &status, 0), pid);
        throttle_conn_clear_slot(t, 3);
        assert_sound();
    }
    for (a = 0; a < 64; a++)
        assert_conn_free(addr_of(a), 5);
}
END_TEST

static Suite *
throttle_suite(void)
{
    Suite *s = suite_create("throttle");
    TCase *tc = tcase_create("logins");

    /* Generous: the churn and flood tests run long under sanitizers. */
    tcase_set_timeout(tc, 120);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_exactly_max_admitted_then_the_address_is_locked);
    tcase_add_test(tc, test_address_lockout_refuses_only_that_address);
    tcase_add_test(tc, test_success_after_failures_unlocks_the_address);
    tcase_add_test(tc, test_lockout_ends_after_lockout_seconds);
    tcase_add_test(tc, test_window_starts_at_the_first_charge);
    tcase_add_test(tc, test_account_slowdown_grows_and_is_capped);
    tcase_add_test(tc, test_one_address_never_slows_an_account);
    tcase_add_test(tc, test_wait_is_the_longer_of_account_and_address);
    tcase_add_test(tc, test_failures_report_each_lockout_once);
    tcase_add_test(tc, test_success_refunds_the_address_and_clears_the_account);
    tcase_add_test(tc, test_abandoned_attempts_do_not_fill_the_table);
    tcase_add_test(tc, test_processes_at_once_admit_exactly_max);
    tcase_add_test(tc, test_processes_at_once_reach_the_account_limit_exactly);
    tcase_add_test(tc, test_register_allows_max_per_window);
    suite_add_tcase(s, tc);

    tc = tcase_create("lockouts");
    tcase_set_timeout(tc, 120);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_lockouts_are_listed_in_order);
    tcase_add_test(tc, test_unlock_lifts_an_account_or_an_address);
    tcase_add_test(tc, test_counts_survive_a_reopen);
    tcase_add_test(tc, test_a_new_boot_starts_afresh);
    tcase_add_test(tc, test_a_damaged_file_is_made_afresh);
    tcase_add_test(tc, test_a_damaged_table_is_emptied);
    tcase_add_test(tc, test_a_reader_without_a_file_counts_nothing);
    suite_add_tcase(s, tc);

    tc = tcase_create("connections");
    tcase_set_timeout(tc, 120);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_conn_limit_per_address);
    tcase_add_test(tc, test_clear_slot_gives_back_what_a_dead_worker_held);
    tcase_add_test(tc, test_closed_connections_leave_no_entries);
    tcase_add_test(tc, test_conn_counts_given_back_after_churn);
    suite_add_tcase(s, tc);

    tc = tcase_create("tables");
    tcase_set_timeout(tc, 120);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_entries_stay_within_probe_limit_after_churn);
    tcase_add_test(tc, test_flood_cannot_evict_a_live_lockout);
    tcase_add_test(tc, test_full_login_table_refuses_until_entries_expire);
    tcase_add_test(tc, test_full_registration_table_refuses_and_keeps_counts);
    tcase_add_test(tc, test_full_connection_table_refuses_and_keeps_counts);
    tcase_add_test(tc, test_wall_clock_jumps_change_no_lockout);
    tcase_add_test(tc, test_times_follow_the_injected_clock);
    tcase_add_test(tc, test_worker_killed_at_any_moment);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(throttle_suite());
    int      failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
