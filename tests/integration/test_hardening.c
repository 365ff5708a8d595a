/* SPDX-License-Identifier: MIT */
/*
 * test_hardening.c - userapid under hostile clients and failing machines:
 * login throttling (no address can aim a lockout at others, account
 * slow-downs from many addresses, lockouts listed and lifted with
 * userapictl and the API, kept over a restart), per-address connection
 * caps, half-open and slow clients, a dead master, a full or read-only
 * state directory, login timing, and response hygiene.
 *
 * The per-address rules are exercised from several loopback source
 * addresses (127.0.0.2, 127.0.0.3, ...).  The disk tests need root: they
 * mount a small tmpfs in a private mount namespace.
 */
#include <check.h>
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "harness.h"

#define HOST "Host: t\r\n"

static double
mono(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static char *
body_req(const char *method, const char *body, const char *token)
{
    static char req[4096];
    char        auth[128] = "";

    if (token != NULL)
        snprintf(auth, sizeof(auth), "Authorization: Bearer %s\r\n", token);
    snprintf(req, sizeof(req), "%s / HTTP/1.1\r\n" HOST "%sConnection: close\r\n"
        "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
        method, auth, strlen(body), body);
    return req;
}

/* Status of a login from src. */
static int
login_from(struct daemon *d, const char *src, const char *email, const char *pw,
    char *retry_after, size_t ralen)
{
    char  body[512], *r;
    int   st;

    snprintf(body, sizeof(body), "{\"email\":\"%s\",\"password\":\"%s\"}", email, pw);
    r = http_exchange_from(d->port, src, body_req("POST", body, NULL), 5000);
    ck_assert_ptr_nonnull(r);
    st = http_status(r);
    if (retry_after != NULL && !http_header(r, "Retry-After", retry_after, ralen))
        retry_after[0] = '\0';
    if (st == 429)
        ck_assert(strstr(http_body(r), "\"error\":\"too_many_requests\"") != NULL);
    free(r);
    return st;
}

static void
create_user(struct daemon *d, const char *email, const char *pw)
{
    char body[512], *r;

    snprintf(body, sizeof(body), "{\"email\":\"%s\",\"password\":\"%s\"}", email, pw);
    r = http_exchange(d->port, body_req("PUT", body, NULL), 5000);
    ck_assert_msg(http_status(r) == 201, "%s", r);
    free(r);
}

/* How many times needle occurs in hay. */
static int
count_of(const char *hay, const char *needle)
{
    int n = 0;

    for (; (hay = strstr(hay, needle)) != NULL; hay++)
        n++;
    return n;
}

/* ---- login throttling -------------------------------------------------- */

/* The Retry-After of a login from src that must be 429, as a number. */
static long
refused_for(struct daemon *d, const char *src, const char *email,
    const char *pw)
{
    char ra[32];

    ck_assert_int_eq(login_from(d, src, email, pw, ra, sizeof(ra)), 429);
    return strtol(ra, NULL, 10);
}

/*
 * Failures from ever new addresses, each far below its own limit: from
 * login_account_max_failures on, the account waits 1, 2, then 4 capped
 * at login_lockout seconds before the next attempt, refused even with
 * the right password meanwhile; after the wait the right password works.
 */
START_TEST(test_account_slowdown_from_many_addresses_grows_to_the_lockout)
{
    struct daemon      d;
    struct daemon_opts o = { .conf_extra = "password_cost = 1\n"
                                           "login_max_failures = 3\n"
                                           "login_account_max_failures = 4\n"
                                           "login_lockout = 3\n" };
    static const long  waits[] = { 1, 2, 3, 3 };
    char               src[32], *log;
    int                i, a = 10;

    daemon_start(&d, &o);
    create_user(&d, "victim@example.com", "password1");
    for (i = 0; i < 3; i++) {
        snprintf(src, sizeof(src), "127.0.0.%d", a++);
        ck_assert_int_eq(login_from(&d, src, "victim@example.com", "wrong-one",
            NULL, 0), 401);
    }
    for (i = 0; i < 4; i++) {
        snprintf(src, sizeof(src), "127.0.0.%d", a++);
        ck_assert_int_eq(login_from(&d, src, "victim@example.com", "wrong-one",
            NULL, 0), 401);
        snprintf(src, sizeof(src), "127.0.0.%d", a++);
        ck_assert_int_eq(refused_for(&d, src, "victim@example.com",
            "password1"), waits[i]);
        sleep_ms((int)waits[i] * 1000 + 100);
    }
    fprintf(stderr, "account slow-down: Retry-After 1, 2, 3, 3 (login_lockout "
        "3)\n");
    ck_assert_int_eq(login_from(&d, "127.0.0.100", "victim@example.com",
        "password1", NULL, 0), 200);
    sleep_ms(200);
    log = daemon_log(&d);
    ck_assert_int_eq(count_of(log, "logins for victim@example.com slowed down "
        "after 4 failures from all addresses"), 1);
    free(log);
    daemon_cleanup(&d);
}
END_TEST

START_TEST(test_unknown_account_is_throttled_the_same)
{
    struct daemon      d;
    struct daemon_opts o = { .conf_extra = "password_cost = 1\nlogin_max_failures = 3\n"
                                           "login_account_max_failures = 4\n" };
    char               src[32];
    int                i;

    daemon_start(&d, &o);
    create_user(&d, "real@example.com", "password1");
    for (i = 0; i < 4; i++) {
        snprintf(src, sizeof(src), "127.0.1.%d", 10 + i);
        ck_assert_int_eq(login_from(&d, src, "real@example.com", "wrong-one", NULL, 0), 401);
        ck_assert_int_eq(login_from(&d, src, "ghost@example.com", "wrong-one", NULL, 0), 401);
    }
    /* Same answers for both: existence is not revealed. */
    ck_assert_int_eq(login_from(&d, "127.0.1.30", "real@example.com", "x-x-x-x", NULL, 0), 429);
    ck_assert_int_eq(login_from(&d, "127.0.1.30", "ghost@example.com", "x-x-x-x", NULL, 0), 429);
    daemon_cleanup(&d);
}
END_TEST

START_TEST(test_success_resets_the_account_counter)
{
    struct daemon      d;
    struct daemon_opts o = { .conf_extra = "password_cost = 1\nlogin_max_failures = 3\n"
                                           "login_account_max_failures = 4\n" };
    char               src[32];
    int                i, n = 0;

    daemon_start(&d, &o);
    create_user(&d, "reset@example.com", "password1");
    for (i = 0; i < 3; i++) {
        snprintf(src, sizeof(src), "127.0.2.%d", 10 + n++);
        ck_assert_int_eq(login_from(&d, src, "reset@example.com", "wrong-one", NULL, 0), 401);
        snprintf(src, sizeof(src), "127.0.2.%d", 10 + n++);
        ck_assert_int_eq(login_from(&d, src, "reset@example.com", "wrong-one", NULL, 0), 401);
        snprintf(src, sizeof(src), "127.0.2.%d", 10 + n++);
        ck_assert_int_eq(login_from(&d, src, "reset@example.com", "password1", NULL, 0), 200);
    }
    daemon_cleanup(&d);
}
END_TEST

START_TEST(test_address_lockout_covers_every_account)
{
    struct daemon      d;
    struct daemon_opts o = { .conf_extra = "password_cost = 1\nlogin_max_failures = 3\n" };
    char               email[64], *log;
    int                i;

    daemon_start(&d, &o);
    create_user(&d, "ok@example.com", "password1");
    for (i = 0; i < 3; i++) {
        snprintf(email, sizeof(email), "guess%d@example.com", i);
        ck_assert_int_eq(login_from(&d, "127.0.3.5", email, "wrong-one", NULL, 0), 401);
    }
    ck_assert_int_eq(login_from(&d, "127.0.3.5", "ok@example.com", "password1", NULL, 0), 429);
    ck_assert_int_eq(login_from(&d, "127.0.3.6", "ok@example.com", "password1", NULL, 0), 200);
    sleep_ms(200);
    log = daemon_log(&d);
    ck_assert_msg(strstr(log, "logins from 127.0.3.5 locked for 900 s after 3 failures")
        != NULL, "%s", log);
    ck_assert(strstr(log, "login failed for guess0@example.com from 127.0.3.5") != NULL);
    free(log);
    daemon_cleanup(&d);
}
END_TEST


/*
 * 60 wrong passwords for one account sent at once from one address, with
 * the right one among them, each on its own connection, on ~20 ms hashes:
 * attempts are counted when admitted, not when their hash is done, so
 * exactly login_max_failures are verified and the rest get 429 (the
 * address's lockout: the account, below its own limit, is not slowed).  The
 * right password gets 429 too unless it was among the first admitted.
 */
#define GUESSES 61
#define RIGHT   30

START_TEST(test_parallel_guesses_verify_no_more_than_max)
{
    struct daemon      d;
    struct daemon_opts o = { .conf_extra = "password_cost = 5\n"
                                           "login_max_failures = 5\n" };
    static char        reqs[GUESSES][4096];
    int                fds[GUESSES], i, st, right = 0, n200 = 0, n401 = 0, n429 = 0;
    char              *r, *log;

    daemon_start(&d, &o);
    create_user(&d, "target@example.com", "password1");
    for (i = 0; i < GUESSES; i++) {
        char body[128];

        snprintf(body, sizeof(body), "{\"email\":\"target@example.com\","
            "\"password\":\"%s\"}", i == RIGHT ? "password1" : "wrong-one");
        snprintf(reqs[i], sizeof(reqs[i]), "%s", body_req("POST", body, NULL));
        ck_assert_int_ge(fds[i] = http_connect_from(d.port, "127.0.8.1"), 0);
    }
    sleep_ms(200);      /* all accepted */
    for (i = 0; i < GUESSES; i++)
        http_send_str(fds[i], reqs[i]);
    for (i = 0; i < GUESSES; i++) {
        r = http_recv_all(fds[i], 10000, NULL);
        st = http_status(r);
        free(r);
        close(fds[i]);
        if (i == RIGHT)
            right = st;
        n200 += st == 200;
        n401 += st == 401;
        n429 += st == 429;
    }
    fprintf(stderr, "%d guesses at once: %d x 401, %d x 200, %d x 429 "
        "(the right password: %d)\n", GUESSES, n401, n200, n429, right);
    ck_assert_int_eq(n429, GUESSES - 5);
    if (right == 200) {
        ck_assert_int_eq(n200, 1);
        ck_assert_int_eq(n401, 4);
    } else {
        ck_assert_int_eq(right, 429);
        ck_assert_int_eq(n200, 0);
        ck_assert_int_eq(n401, 5);
    }
    /* The address's lockout is logged once; one address alone never
     * slows the account down. */
    sleep_ms(200);
    log = daemon_log(&d);
    if (right == 429)
        ck_assert_int_eq(count_of(log, "logins from 127.0.8.1 locked "
            "for 900 s after 5 failures"), 1);
    ck_assert_int_eq(count_of(log, "slowed down"), 0);
    free(log);
    daemon_cleanup(&d);
}
END_TEST

/* ---- sessions and registrations ---------------------------------------- */

/* A login's token, or "" when it was not 200. */
static void
token_from(struct daemon *d, const char *src, const char *email, const char *pw,
    char *token, size_t len)
{
    char                body[512], *r;
    struct json_object *o, *t;

    snprintf(body, sizeof(body), "{\"email\":\"%s\",\"password\":\"%s\"}", email, pw);
    r = http_exchange_from(d->port, src, body_req("POST", body, NULL), 5000);
    ck_assert_ptr_nonnull(r);
    token[0] = '\0';
    if (http_status(r) == 200 && (o = json_tokener_parse(http_body(r))) != NULL) {
        if (json_object_object_get_ex(o, "token", &t))
            snprintf(token, len, "%s", json_object_get_string(t));
        json_object_put(o);
    }
    free(r);
}

static int
get_status(struct daemon *d, const char *token)
{
    char  req[4096], *r;
    int   st;

    snprintf(req, sizeof(req), "GET / HTTP/1.1\r\n" HOST "Authorization: Bearer %s\r\n"
        "Connection: close\r\n\r\n", token);
    r = http_exchange(d->port, req, 5000);
    st = http_status(r);
    free(r);
    return st;
}

/*
 * One user logging in in a loop ends only their own oldest sessions: with
 * max_sessions = 20, 45 logins leave the admin (and another user) logged
 * in, and the looping user with exactly max_sessions_per_user sessions.
 */
START_TEST(test_login_loop_cannot_evict_other_users)
{
    struct daemon      d;
    struct daemon_opts o = { .conf_extra = "password_cost = 1\nmax_sessions = 20\n"
                                           "max_sessions_per_user = 5\n" };
    char               admin_pw[64], admin[64], other[64], tok[45][64], path[4096];
    FILE              *fp;
    int                i;

    daemon_start(&d, &o);
    snprintf(path, sizeof(path), "%s/initial-admin-password", d.state_dir);
    ck_assert_ptr_nonnull(fp = fopen(path, "r"));
    ck_assert_ptr_nonnull(fgets(admin_pw, sizeof(admin_pw), fp));
    fclose(fp);
    admin_pw[strcspn(admin_pw, "\n")] = '\0';
    token_from(&d, "127.0.9.1", "admin@localhost", admin_pw, admin, sizeof(admin));
    ck_assert_str_ne(admin, "");
    create_user(&d, "other@example.com", "password1");
    token_from(&d, "127.0.9.2", "other@example.com", "password1", other, sizeof(other));
    ck_assert_str_ne(other, "");
    create_user(&d, "looper@example.com", "password1");
    for (i = 0; i < 45; i++) {
        token_from(&d, "127.0.9.3", "looper@example.com", "password1", tok[i],
            sizeof(tok[i]));
        ck_assert_msg(tok[i][0] != '\0', "login %d refused", i);
    }
    ck_assert_int_eq(get_status(&d, admin), 200);
    ck_assert_int_eq(get_status(&d, other), 200);
    for (i = 0; i < 45; i++)
        ck_assert_msg(get_status(&d, tok[i]) == (i >= 40 ? 200 : 403), "token %d", i);
    daemon_cleanup(&d);
}
END_TEST

/*
 * Registrations are limited per address, sent one by one or all at once:
 * exactly registration_max_per_ip of them succeed, the rest are 429 with
 * Retry-After; other addresses and admins are not affected.
 */
#define REGS 12

START_TEST(test_registrations_are_limited_per_address_even_at_once)
{
    struct daemon      d;
    struct daemon_opts o = { .conf_extra = "password_cost = 1\n"
                                           "registration_max_per_ip = 3\n"
                                           "registration_window = 600\n" };
    static char        reqs[REGS][4096];
    char               ra[32], *r;
    int                fds[REGS], i, st, n201 = 0, n429 = 0;

    daemon_start(&d, &o);
    for (i = 0; i < REGS; i++) {
        char body[128];

        snprintf(body, sizeof(body), "{\"email\":\"reg%d@example.com\","
            "\"password\":\"password1\"}", i);
        snprintf(reqs[i], sizeof(reqs[i]), "%s", body_req("PUT", body, NULL));
        ck_assert_int_ge(fds[i] = http_connect_from(d.port, "127.0.10.1"), 0);
    }
    sleep_ms(100);
    for (i = 0; i < REGS; i++)
        http_send_str(fds[i], reqs[i]);
    for (i = 0; i < REGS; i++) {
        r = http_recv_all(fds[i], 10000, NULL);
        st = http_status(r);
        if (st == 429) {
            ck_assert(http_header(r, "Retry-After", ra, sizeof(ra)));
            ck_assert_int_gt(atoi(ra), 590);
            ck_assert_int_le(atoi(ra), 600);
            ck_assert_msg(strstr(http_body(r), "too many accounts registered from "
                "your address; try again in ") != NULL, "%s", r);
        }
        free(r);
        close(fds[i]);
        n201 += st == 201;
        n429 += st == 429;
    }
    fprintf(stderr, "%d registrations at once from one address: %d x 201, "
        "%d x 429\n", REGS, n201, n429);
    ck_assert_int_eq(n201, 3);
    ck_assert_int_eq(n429, REGS - 3);
    /* Another address still registers. */
    r = http_exchange_from(d.port, "127.0.10.2", body_req("PUT",
        "{\"email\":\"elsewhere@example.com\",\"password\":\"password1\"}", NULL), 5000);
    ck_assert_int_eq(http_status(r), 201);
    free(r);
    daemon_cleanup(&d);
}
END_TEST

/* ---- lockouts: aimed at nobody, listed, lifted, kept ------------------- */

static const char *
ctl_bin(void)
{
    const char *b = getenv("USERAPICTL_BIN");

    return b != NULL ? b : "build/userapictl";
}

static int
starts_with(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* "userapictl --config CONF args": its output, both streams (caller
 * frees); the exit status in *code. */
static char *
ctl_run(struct daemon *d, int *code, const char *args)
{
    char *out;
    int   st;

    out = run_cmd(&st, "%s --config %s %s 2>&1", ctl_bin(), d->conf, args);
    *code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    return out;
}

/* A request without a body, with token when not NULL.  Caller frees. */
static char *
plain_call(struct daemon *d, const char *method, const char *path,
    const char *token)
{
    char req[1024], auth[128] = "", *r;

    if (token != NULL)
        snprintf(auth, sizeof(auth), "Authorization: Bearer %s\r\n", token);
    snprintf(req, sizeof(req), "%s %s HTTP/1.1\r\n" HOST "%sConnection: "
        "close\r\n\r\n", method, path, auth);
    r = http_exchange(d->port, req, 5000);
    ck_assert_ptr_nonnull(r);
    return r;
}

/* The first administrator's token, logged in from src. */
static void
admin_token(struct daemon *d, const char *src, char *token, size_t len)
{
    char  path[4096], pw[64];
    FILE *fp;

    snprintf(path, sizeof(path), "%s/initial-admin-password", d->state_dir);
    ck_assert_ptr_nonnull(fp = fopen(path, "r"));
    ck_assert_ptr_nonnull(fgets(pw, sizeof(pw), fp));
    fclose(fp);
    pw[strcspn(pw, "\n")] = '\0';
    token_from(d, src, "admin@localhost", pw, token, len);
    ck_assert_str_ne(token, "");
}

/* One login among many sent at once. */
struct attempt {
    const char *src;
    const char *pw;
    int         fd;
    int         status;
};

/* The logins a[0..n) to email, each on its own connection, all accepted
 * first and then sent at once; their statuses into a[i].status. */
static void
logins_at_once(struct daemon *d, const char *email, struct attempt *a, int n)
{
    char body[256], *r;
    int  i;

    for (i = 0; i < n; i++)
        ck_assert_int_ge(a[i].fd = http_connect_from(d->port, a[i].src), 0);
    sleep_ms(100);      /* all accepted */
    for (i = 0; i < n; i++) {
        snprintf(body, sizeof(body), "{\"email\":\"%s\",\"password\":\"%s\"}",
            email, a[i].pw);
        http_send_str(a[i].fd, body_req("POST", body, NULL));
    }
    for (i = 0; i < n; i++) {
        r = http_recv_all(a[i].fd, 10000, NULL);
        a[i].status = http_status(r);
        free(r);
        close(a[i].fd);
    }
}

/* How many of a[0..n) from src had status. */
static int
count_status(const struct attempt *a, int n, const char *src, int status)
{
    int i, k = 0;

    for (i = 0; i < n; i++)
        k += strcmp(a[i].src, src) == 0 && a[i].status == status;
    return k;
}

/*
 * A lockout that nobody can aim: one address guesses at an account as
 * fast as it can, 20 connections at once, while three other addresses log
 * in to that account at the same moment; then again, round after round,
 * as its own lockout ends.  The guessing address gets 401 for
 * login_max_failures guesses a round and 429 for the rest; the others
 * get 200 and never 429, and the account is never slowed down: each
 * address counts at most login_max_failures times towards the account's
 * limit (7 here) in a window, however often its own window starts again.
 */
#define AIMED   20
#define OTHERS  3

START_TEST(test_one_address_cannot_aim_a_lockout_at_others)
{
    struct daemon      d;
    struct daemon_opts o = { .conf_extra = "password_cost = 1\n"
                                           "login_max_failures = 3\n"
                                           "login_account_max_failures = 7\n"
                                           "login_lockout = 2\n" };
    static const char *const others[OTHERS] = { "127.0.11.10", "127.0.11.11",
                                                "127.0.11.12" };
    struct attempt     a[AIMED + OTHERS];
    char               src[32], *out;
    int                i, round, code;

    daemon_start(&d, &o);
    create_user(&d, "aimed@example.com", "password1");
    for (i = 0; i < AIMED + OTHERS; i++) {
        /* The others in the middle of the guesses. */
        int k = i - AIMED / 2;

        a[i].src = k >= 0 && k < OTHERS ? others[k] : "127.0.11.1";
        a[i].pw = k >= 0 && k < OTHERS ? "password1" : "wrong-one";
    }
    logins_at_once(&d, "aimed@example.com", a, AIMED + OTHERS);
    ck_assert_int_eq(count_status(a, AIMED + OTHERS, "127.0.11.1", 401), 3);
    ck_assert_int_eq(count_status(a, AIMED + OTHERS, "127.0.11.1", 429),
        AIMED - 3);
    for (i = 0; i < OTHERS; i++)
        ck_assert_int_eq(count_status(a, AIMED + OTHERS, others[i], 200), 1);
    /* Round after round of the guesser's own windows, no one else. */
    for (i = 0; i < AIMED; i++) {
        a[i].src = "127.0.11.1";
        a[i].pw = "wrong-one";
    }
    for (round = 0; round < 3; round++) {
        sleep_ms(2100);
        logins_at_once(&d, "aimed@example.com", a, AIMED);
        ck_assert_int_eq(count_status(a, AIMED, "127.0.11.1", 401), 3);
        ck_assert_int_eq(count_status(a, AIMED, "127.0.11.1", 429), AIMED - 3);
    }
    out = ctl_run(&d, &code, "lockouts --json");
    ck_assert_int_eq(code, 0);
    ck_assert_msg(starts_with(out, "{\"kind\":\"address\",\"key\":"
        "\"127.0.11.1\",\"failures\":3,\"retry_after\":") &&
        strchr(out, '\n') == out + strlen(out) - 1, "%s", out);
    free(out);
    for (i = 0; i < 5; i++) {
        snprintf(src, sizeof(src), "127.0.11.%d", 20 + i);
        ck_assert_int_eq(login_from(&d, src, "aimed@example.com", "password1",
            NULL, 0), 200);
    }
    fprintf(stderr, "aimed: 4 rounds of %d guesses from one address, each "
        "3 x 401 and %d x 429; 8 logins from others, all 200\n", AIMED,
        AIMED - 3);
    daemon_cleanup(&d);
}
END_TEST

/* out is the table with the address's retry_after one of two seconds. */
static void
assert_one_of(const char *out, const char *fmt, long a, long b)
{
    char want_a[1024], want_b[1024];

    snprintf(want_a, sizeof(want_a), fmt, a);
    snprintf(want_b, sizeof(want_b), fmt, b);
    ck_assert_msg(strcmp(out, want_a) == 0 || strcmp(out, want_b) == 0,
        "got:\n%s\nwant:\n%s", out, want_a);
}

/*
 * An account slowed down and addresses locked out, as userapictl and GET
 * /lockouts list them (administrators only), lifted by userapictl unlock
 * and DELETE /lockouts/<key> (percent-encoded or not): each lifted one
 * counts from zero again, and a second lift finds nothing (4, 404).
 */
START_TEST(test_lockouts_are_listed_and_lifted_by_ctl_and_api)
{
    struct daemon      d;
    struct daemon_opts o = { .conf_extra = "password_cost = 1\n"
                                           "login_max_failures = 2\n"
                                           "login_account_max_failures = 3\n"
                                           "login_lockout = 3600\n"
                                           "login_window = 3600\n" };
    char               admin[64], user[64], *out, *r;
    int                code;

    daemon_start(&d, &o);
    admin_token(&d, "127.0.12.100", admin, sizeof(admin));
    create_user(&d, "v@example.com", "password1");
    create_user(&d, "u@example.com", "password1");
    token_from(&d, "127.0.12.101", "u@example.com", "password1", user,
        sizeof(user));
    ck_assert_int_eq(login_from(&d, "127.0.12.2", "v@example.com", "x1", NULL, 0), 401);
    ck_assert_int_eq(login_from(&d, "127.0.12.3", "v@example.com", "x2", NULL, 0), 401);
    ck_assert_int_eq(login_from(&d, "127.0.12.4", "v@example.com", "x3", NULL, 0), 401);
    sleep_ms(1100);     /* its first wait is over: retry_after 0 */
    ck_assert_int_eq(login_from(&d, "127.0.12.1", "x@example.com", "x4", NULL, 0), 401);
    ck_assert_int_eq(login_from(&d, "127.0.12.1", "x@example.com", "x5", NULL, 0), 401);
    out = ctl_run(&d, &code, "lockouts");
    ck_assert_int_eq(code, 0);
    assert_one_of(out, "KIND     KEY            FAILURES  RETRY_AFTER\n"
        "account  v@example.com  3         0\n"
        "address  127.0.12.1     2         %ld\n", 3600, 3599);
    free(out);
    r = plain_call(&d, "GET", "/lockouts", admin);
    ck_assert_int_eq(http_status(r), 200);
    assert_one_of(http_body(r), "{\"lockouts\":[{\"kind\":\"account\",\"key\":"
        "\"v@example.com\",\"failures\":3,\"retry_after\":0},{\"kind\":"
        "\"address\",\"key\":\"127.0.12.1\",\"failures\":2,\"retry_after\":%ld}]}",
        3600, 3599);
    free(r);
    /* Administrators only, as the other admin routes. */
    r = plain_call(&d, "GET", "/lockouts", user);
    ck_assert_int_eq(http_status(r), 403);
    ck_assert_str_eq(http_body(r), "{\"error\":\"forbidden\",\"message\":"
        "\"only administrators may see lockouts\"}");
    free(r);
    r = plain_call(&d, "DELETE", "/lockouts/127.0.12.1", user);
    ck_assert_int_eq(http_status(r), 403);
    ck_assert_str_eq(http_body(r), "{\"error\":\"forbidden\",\"message\":"
        "\"only administrators may lift lockouts\"}");
    free(r);
    r = plain_call(&d, "GET", "/lockouts", NULL);
    ck_assert_int_eq(http_status(r), 403);
    ck_assert_str_eq(http_body(r), "{\"error\":\"forbidden\",\"message\":"
        "\"log in first\"}");
    free(r);

    /* userapictl lifts the account: it counts from zero again. */
    out = ctl_run(&d, &code, "unlock V@Example.COM");
    ck_assert_int_eq(code, 0);
    ck_assert_str_eq(out, "unlocked v@example.com\n");
    free(out);
    out = ctl_run(&d, &code, "unlock v@example.com");
    ck_assert_int_eq(code, 4);
    ck_assert_str_eq(out, "userapictl: nothing is locked out for "
        "v@example.com\n");
    free(out);
    ck_assert_int_eq(login_from(&d, "127.0.12.5", "v@example.com", "x6", NULL, 0), 401);
    ck_assert_int_eq(login_from(&d, "127.0.12.6", "v@example.com", "x7", NULL, 0), 401);

    /* The API lifts the address, named percent-encoded. */
    r = plain_call(&d, "DELETE", "/lockouts/127%2e0.12%2E1", admin);
    ck_assert_int_eq(http_status(r), 204);
    ck_assert_str_eq(http_body(r), "");
    free(r);
    r = plain_call(&d, "DELETE", "/lockouts/127.0.12.1", admin);
    ck_assert_int_eq(http_status(r), 404);
    ck_assert_str_eq(http_body(r), "{\"error\":\"not_found\",\"message\":"
        "\"nothing is locked out for that account or address\"}");
    free(r);
    ck_assert_int_eq(login_from(&d, "127.0.12.1", "x@example.com", "x8", NULL, 0), 401);
    out = ctl_run(&d, &code, "lockouts");
    ck_assert_int_eq(code, 0);
    ck_assert_str_eq(out, "KIND     KEY  FAILURES  RETRY_AFTER\n");
    free(out);
    r = plain_call(&d, "GET", "/lockouts", admin);
    ck_assert_str_eq(http_body(r), "{\"lockouts\":[]}");
    free(r);
    daemon_cleanup(&d);
}
END_TEST

/*
 * The counts are in STATE_DIR/throttle: a restart of the daemon keeps an
 * address's lockout, counting down from where it was; other addresses
 * still log in.
 */
START_TEST(test_a_lockout_survives_a_restart_of_the_daemon)
{
    struct daemon      d;
    struct daemon_opts o = { .conf_extra = "password_cost = 1\n"
                                           "login_max_failures = 2\n"
                                           "login_lockout = 3600\n" };
    char              *out, *log;
    long               wait;
    int                code;

    daemon_start(&d, &o);
    create_user(&d, "kept@example.com", "password1");
    ck_assert_int_eq(login_from(&d, "127.0.13.1", "kept@example.com", "x1", NULL, 0), 401);
    ck_assert_int_eq(login_from(&d, "127.0.13.1", "kept@example.com", "x2", NULL, 0), 401);
    ck_assert_int_eq(refused_for(&d, "127.0.13.1", "kept@example.com",
        "password1"), 3600);
    ck_assert_int_eq(daemon_stop(&d, 10000), 0);
    daemon_start(&d, &o);
    wait = refused_for(&d, "127.0.13.1", "kept@example.com", "password1");
    ck_assert_msg(wait > 3590 && wait <= 3600, "Retry-After %ld", wait);
    ck_assert_int_eq(login_from(&d, "127.0.13.2", "kept@example.com",
        "password1", NULL, 0), 200);
    out = ctl_run(&d, &code, "lockouts --json");
    ck_assert_int_eq(code, 0);
    ck_assert_msg(starts_with(out, "{\"kind\":\"address\",\"key\":"
        "\"127.0.13.1\",\"failures\":2,\"retry_after\":3") &&
        strchr(out, '\n') == out + strlen(out) - 1, "%s", out);
    free(out);
    log = daemon_log(&d);
    ck_assert_ptr_null(strstr(log, "afresh"));
    free(log);
    daemon_cleanup(&d);
}
END_TEST

/* Same median time for an unknown email and a wrong password (20 each). */
static int
cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

START_TEST(test_login_timing_unknown_vs_wrong_password)
{
    struct daemon      d;
    struct daemon_opts o = { .conf_extra = "login_max_failures = 1000\n" };
    double             unknown[20], wrong[20], t, mu, mw, ratio;
    int                i;

    /* The default password cost, as deployed. */
    daemon_start(&d, &o);
    create_user(&d, "timed@example.com", "password1");
    for (i = 0; i < 22; i++) {
        t = mono();
        ck_assert_int_eq(login_from(&d, "127.0.4.1", "nobody@example.com", "password2",
            NULL, 0), 401);
        if (i >= 2)
            unknown[i - 2] = mono() - t;
        t = mono();
        ck_assert_int_eq(login_from(&d, "127.0.4.1", "timed@example.com", "password2",
            NULL, 0), 401);
        if (i >= 2)
            wrong[i - 2] = mono() - t;
    }
    qsort(unknown, 20, sizeof(double), cmp_double);
    qsort(wrong, 20, sizeof(double), cmp_double);
    mu = (unknown[9] + unknown[10]) / 2;
    mw = (wrong[9] + wrong[10]) / 2;
    ratio = mu / mw;
    fprintf(stderr, "login timing: unknown email median %.2f ms, wrong password "
        "median %.2f ms, ratio %.3f\n", mu * 1e3, mw * 1e3, ratio);
    ck_assert(ratio > 0.8 && ratio < 1.2);
    daemon_cleanup(&d);
}
END_TEST

/* ---- connections ------------------------------------------------------- */

START_TEST(test_connection_cap_per_address)
{
    struct daemon      d;
    struct daemon_opts o = { .conf_extra = "max_connections_per_ip = 3\n" };
    int                fds[3], fd, i;
    char              *r;

    daemon_start(&d, &o);
    sleep_ms(300);      /* the readiness probes have closed */
    for (i = 0; i < 3; i++)
        ck_assert_int_ge(fds[i] = http_connect_from(d.port, "127.0.5.1"), 0);
    sleep_ms(200);
    fd = http_connect_from(d.port, "127.0.5.1");
    r = http_recv_all(fd, 3000, NULL);
    ck_assert_int_eq(http_status(r), 503);
    ck_assert(strstr(http_body(r), "too many connections from your address") != NULL);
    free(r);
    close(fd);
    /* Another address is not affected. */
    r = http_exchange_from(d.port, "127.0.5.2", "GET /status HTTP/1.1\r\n" HOST
        "Connection: close\r\n\r\n", 3000);
    ck_assert_int_eq(http_status(r), 200);
    free(r);
    /* A slot freed is a slot for the same address again. */
    close(fds[0]);
    sleep_ms(200);
    r = http_exchange_from(d.port, "127.0.5.1", "GET /status HTTP/1.1\r\n" HOST
        "Connection: close\r\n\r\n", 3000);
    ck_assert_int_eq(http_status(r), 200);
    free(r);
    close(fds[1]);
    close(fds[2]);
    daemon_cleanup(&d);
}
END_TEST

START_TEST(test_half_open_connections_do_not_slow_requests)
{
    struct daemon      d;
    struct daemon_opts o = { .conf_extra = "max_connections_per_ip = 2000\n"
                                           "header_timeout = 30\n" };
    static int         fds[400];
    double             lat[50], t;
    char              *r;
    int                i;

    daemon_start(&d, &o);
    for (i = 0; i < 400; i++) {
        fds[i] = http_connect_from(d.port, "127.0.6.1");
        ck_assert_int_ge(fds[i], 0);
        http_send_str(fds[i], "GET /status HTTP/1.1\r\nHost: t\r\nX-Slow: ");
    }
    for (i = 0; i < 50; i++) {
        t = mono();
        r = http_exchange_from(d.port, "127.0.6.2", "GET /status HTTP/1.1\r\n" HOST
            "Connection: close\r\n\r\n", 3000);
        lat[i] = mono() - t;
        ck_assert_int_eq(http_status(r), 200);
        {
            const char *c = strstr(http_body(r), "\"connections\":");

            ck_assert_ptr_nonnull(c);
            ck_assert_int_ge(atoi(c + 14), 401);    /* the 400 are still open */
        }
        free(r);
    }
    qsort(lat, 50, sizeof(double), cmp_double);
    fprintf(stderr, "400 half-open connections: request latency median %.2f ms, "
        "max %.2f ms\n", lat[25] * 1e3, lat[49] * 1e3);
    /* Generous: it must stay interactive, not be fast on a busy machine. */
    ck_assert(lat[25] < 0.1);
    for (i = 0; i < 400; i++)
        close(fds[i]);
    daemon_cleanup(&d);
}
END_TEST

/*
 * Clients that send part of a head, or a head and part of a body, and then
 * close (FIN) or reset (RST) are noticed at once, though the FIN or RST
 * comes in the same edge as their data.
 */
START_TEST(test_churned_partial_requests_free_their_slots_at_once)
{
    static const char *const partial[] = {
        "GET / HTTP/1.1\r\nHost: t\r\nX-Pad: abc",
        "PUT / HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
            "Content-Length: 100\r\n\r\n{\"email\":\"a",
        "POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n10\r\nabc",
    };
    struct daemon      d;
    struct daemon_opts o = { .conf_extra = "max_connections_per_ip = 2000\n"
                                           "header_timeout = 30\n" };
    static int         fds[600];
    struct linger      rst = { 1, 0 };
    double             t0, waited = -1;
    long               n = -1;
    int                i;

    daemon_start(&d, &o);
    for (i = 0; i < 600; i++) {
        fds[i] = http_connect_from(d.port, "127.0.7.1");
        ck_assert_int_ge(fds[i], 0);
        if (i % 2 == 1)
            ck_assert_int_eq(setsockopt(fds[i], SOL_SOCKET, SO_LINGER, &rst,
                sizeof(rst)), 0);
    }
    /* Each one's data and its FIN or RST leave back to back. */
    for (i = 0; i < 600; i++) {
        http_send_str(fds[i], partial[i % 3]);
        close(fds[i]);
    }
    t0 = mono();
    while (mono() - t0 < 2.0) {
        if ((n = daemon_connections(&d)) == 1) {
            waited = mono() - t0;
            break;
        }
        sleep_ms(5);
    }
    fprintf(stderr, "600 partial requests closed or reset: connections back to "
        "1 after %.1f ms (last count %ld)\n", waited * 1e3, n);
    ck_assert_msg(waited >= 0, "%ld connections still counted after 2 s", n - 1);
    ck_assert_msg(waited < 0.1, "connections back to 1 only after %.1f ms", waited * 1e3);
    daemon_cleanup(&d);
}
END_TEST

START_TEST(test_slow_body_gets_408)
{
    struct daemon      d;
    struct daemon_opts o = { 0 };
    char              *r;
    int                fd;

    daemon_start(&d, &o);
    fd = http_connect(d.port);
    http_send_str(fd, "PUT / HTTP/1.1\r\n" HOST "Content-Type: application/json\r\n"
        "Content-Length: 100\r\n\r\n{\"email\":");
    /* header_timeout = 2 in the harness: the body stalls longer. */
    r = http_recv_all(fd, 5000, NULL);
    ck_assert_int_eq(http_status(r), 408);
    ck_assert(strstr(http_body(r), "request body timed out") != NULL);
    free(r);
    close(fd);
    daemon_cleanup(&d);
}
END_TEST

/* A client that asks and never reads is cut off after header_timeout. */
START_TEST(test_slow_reader_is_disconnected)
{
    struct daemon      d;
    struct daemon_opts o = { 0 };
    char              *r, req[256];
    int                fd, i, closed = 0;

    daemon_start(&d, &o);
    fd = http_connect(d.port);
    /* Many pipelined requests whose answers fill every buffer. */
    snprintf(req, sizeof(req), "GET /status HTTP/1.1\r\n" HOST "X-Pad: %0100d\r\n\r\n", 0);
    for (i = 0; i < 20000; i++)
        http_send_str(fd, req);
    for (i = 0; i < 100 && !closed; i++) {
        r = http_exchange(d.port, "GET /status HTTP/1.1\r\n" HOST
            "Connection: close\r\n\r\n", 3000);
        closed = strstr(http_body(r), "\"connections\":1}") != NULL;
        free(r);
        sleep_ms(100);
    }
    ck_assert_msg(closed, "the slow reader is still connected");
    close(fd);
    daemon_cleanup(&d);
}
END_TEST

/* ---- dead master -------------------------------------------------------- */

START_TEST(test_dead_master_workers_exit_and_new_master_starts)
{
    struct daemon      d;
    struct daemon_opts o = { .conf_extra = "password_cost = 1\n", .workers = 3 };
    pid_t              w[8];
    char               body[256], token[128], *r;
    double             t, gone = -1;
    int                n, i, alive;

    /* Orphaned workers become our children, so we see them end (and reap
     * them) instead of asking a slow init. */
    ck_assert_int_eq(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
    daemon_start(&d, &o);
    create_user(&d, "stay@example.com", "password1");
    snprintf(body, sizeof(body), "{\"email\":\"stay@example.com\",\"password\":\"password1\"}");
    r = http_exchange(d.port, body_req("POST", body, NULL), 5000);
    ck_assert_int_eq(http_status(r), 200);
    {
        struct json_object *o2 = json_tokener_parse(http_body(r)), *f;

        ck_assert(json_object_object_get_ex(o2, "token", &f));
        snprintf(token, sizeof(token), "%s", json_object_get_string(f));
        json_object_put(o2);
    }
    free(r);
    n = daemon_workers(&d, w, 8);
    ck_assert_int_eq(n, 3);
    kill(d.pid, SIGKILL);
    t = mono();
    daemon_wait(&d, 2000);
    for (i = 0; i < 300; i++) {
        int k;

        while (waitpid(-1, NULL, WNOHANG) > 0)
            ;
        for (alive = 0, k = 0; k < n; k++)
            alive += kill(w[k], 0) == 0;
        if (alive == 0) {
            gone = mono() - t;
            break;
        }
        sleep_ms(10);
    }
    ck_assert_msg(gone >= 0, "workers still alive 3 s after the master died");
    fprintf(stderr, "dead master: workers gone after %.0f ms\n", gone * 1e3);
    ck_assert(gone < 1.0);
    /* A new master on the same state directory and port, at once. */
    o.no_wait = 0;
    daemon_start(&d, &o);
    r = http_exchange(d.port, "GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n"
        "Authorization: Bearer dummy\r\n\r\n", 3000);
    ck_assert_int_eq(http_status(r), 403);
    free(r);
    {
        char req[512];

        snprintf(req, sizeof(req), "GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n"
            "Authorization: Bearer %s\r\n\r\n", token);
        r = http_exchange(d.port, req, 3000);
        ck_assert_int_eq(http_status(r), 200);
        free(r);
    }
    daemon_cleanup(&d);
}
END_TEST

/* ---- disks -------------------------------------------------------------- */

/* A private mount namespace for this (forked) test process. */
static int
private_mounts(void)
{
    if (geteuid() != 0) {
        fprintf(stderr, "disk tests need root: skipped\n");
        return 0;
    }
    ck_assert_int_eq(unshare(CLONE_NEWNS), 0);
    ck_assert_int_eq(mount("none", "/", NULL, MS_REC | MS_PRIVATE, NULL), 0);
    return 1;
}

START_TEST(test_full_disk_is_507_and_recovers)
{
    struct daemon      d;
    struct daemon_opts o = { .conf_extra = "password_cost = 1\nmax_sessions = 64\n" };
    char               email[64], path[400], *out, *r;
    int                i, st, created = 0, full = 0;

    if (!private_mounts())
        return;
    daemon_prepare(&d, &o);
    ck_assert_int_eq(mount("tmpfs", d.state_dir, "tmpfs", 0, "size=16m,mode=0700"), 0);
    daemon_start(&d, &o);
    create_user(&d, "early@example.com", "password1");
    snprintf(path, sizeof(path), "%s/filler", d.state_dir);
    out = run_cmd(&st, "dd if=/dev/zero of=%s bs=1k 2>/dev/null; true", path);
    free(out);
    for (i = 0; i < 50 && !full; i++) {
        char body[256];

        snprintf(email, sizeof(email), "fill%d@example.com", i);
        snprintf(body, sizeof(body), "{\"email\":\"%s\",\"password\":\"password1\"}", email);
        r = http_exchange(d.port, body_req("PUT", body, NULL), 5000);
        if (http_status(r) == 507) {
            full = 1;
            ck_assert_str_eq(http_body(r), "{\"error\":\"insufficient_storage\","
                "\"message\":\"no space left to store the change\"}");
        } else {
            ck_assert_int_eq(http_status(r), 201);
            created++;
        }
        free(r);
    }
    ck_assert_msg(full, "no 507 with a full disk");
    /* Reading and logging in still work. */
    ck_assert_int_eq(login_from(&d, "127.0.7.1", "early@example.com", "password1", NULL, 0), 200);
    /* Space again: service resumes by itself. */
    ck_assert_int_eq(unlink(path), 0);
    create_user(&d, "after@example.com", "password1");
    ck_assert_int_eq(login_from(&d, "127.0.7.2", "after@example.com", "password1", NULL, 0), 200);
    {
        const char *ctl = getenv("USERAPICTL_BIN");

        out = run_cmd(&st, "%s --config %s check", ctl ? ctl : "build/userapictl", d.conf);
        ck_assert_msg(WEXITSTATUS(st) == 0, "%s", out);
        free(out);
        out = run_cmd(&st, "%s --config %s list | wc -l", ctl ? ctl : "build/userapictl",
            d.conf);
        /* header + admin + early + created + after */
        {
            char want[32];

            snprintf(want, sizeof(want), "%d\n", 4 + created);
            ck_assert_str_eq(out, want);
        }
        free(out);
    }
    fprintf(stderr, "full disk: %d users created before 507, recovered\n", created);
    daemon_stop(&d, 10000);
    umount2(d.state_dir, MNT_DETACH);
    daemon_cleanup(&d);
}
END_TEST

START_TEST(test_read_only_state_dir_is_a_startup_error)
{
    struct daemon      d;
    struct daemon_opts o = { 0 };
    char              *out;
    int                st;

    if (!private_mounts())
        return;
    daemon_prepare(&d, &o);
    ck_assert_int_eq(mount(d.state_dir, d.state_dir, NULL, MS_BIND, NULL), 0);
    ck_assert_int_eq(mount(NULL, d.state_dir, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL), 0);
    out = run_cmd(&st, "%s --config %s 2>&1", harness_bin(), d.conf);
    ck_assert_int_eq(WEXITSTATUS(st), 1);
    ck_assert_msg(strstr(out, "Read-only file system") != NULL, "%s", out);
    free(out);
    umount2(d.state_dir, MNT_DETACH);
    daemon_cleanup(&d);
}
END_TEST

/* ---- response hygiene ---------------------------------------------------- */

START_TEST(test_every_answer_has_nosniff)
{
    struct daemon      d;
    struct daemon_opts o = { .conf_extra = "password_cost = 1\n" };
    static const char *const reqs[] = {
        "HEAD / HTTP/1.1\r\n" HOST "\r\n",
        "GET /status HTTP/1.1\r\n" HOST "\r\n",
        "GET /nope HTTP/1.1\r\n" HOST "\r\n",
        "GET / HTTP/1.1\r\n" HOST "\r\n",
        "BREW / HTTP/1.1\r\n" HOST "\r\n",
        "GET / HTTP/1.1\r\n\r\n",
    };
    char   v[64], *r;
    size_t i;

    daemon_start(&d, &o);
    for (i = 0; i < sizeof(reqs) / sizeof(reqs[0]); i++) {
        r = http_exchange(d.port, reqs[i], 3000);
        ck_assert_msg(http_header(r, "X-Content-Type-Options", v, sizeof(v)), "%s", r);
        ck_assert_str_eq(v, "nosniff");
        free(r);
    }
    daemon_cleanup(&d);
}
END_TEST

static Suite *
hardening_suite(void)
{
    Suite *s = suite_create("hardening");
    TCase *tc = tcase_create("hardening");

    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_account_slowdown_from_many_addresses_grows_to_the_lockout);
    tcase_add_test(tc, test_unknown_account_is_throttled_the_same);
    tcase_add_test(tc, test_success_resets_the_account_counter);
    tcase_add_test(tc, test_address_lockout_covers_every_account);
    tcase_add_test(tc, test_parallel_guesses_verify_no_more_than_max);
    tcase_add_test(tc, test_login_loop_cannot_evict_other_users);
    tcase_add_test(tc, test_registrations_are_limited_per_address_even_at_once);
    tcase_add_test(tc, test_one_address_cannot_aim_a_lockout_at_others);
    tcase_add_test(tc, test_lockouts_are_listed_and_lifted_by_ctl_and_api);
    tcase_add_test(tc, test_a_lockout_survives_a_restart_of_the_daemon);
    tcase_add_test(tc, test_login_timing_unknown_vs_wrong_password);
    tcase_add_test(tc, test_connection_cap_per_address);
    tcase_add_test(tc, test_half_open_connections_do_not_slow_requests);
    tcase_add_test(tc, test_churned_partial_requests_free_their_slots_at_once);
    tcase_add_test(tc, test_slow_body_gets_408);
    tcase_add_test(tc, test_slow_reader_is_disconnected);
    tcase_add_test(tc, test_dead_master_workers_exit_and_new_master_starts);
    tcase_add_test(tc, test_full_disk_is_507_and_recovers);
    tcase_add_test(tc, test_read_only_state_dir_is_a_startup_error);
    tcase_add_test(tc, test_every_answer_has_nosniff);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(hardening_suite());
    int      failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
