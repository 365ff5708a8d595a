/* SPDX-License-Identifier: MIT */
/*
 * test_multihost.c - two userapid hosts, A and B (separate state
 * directories and ports), sharing one PostgreSQL database: what one host
 * does is what the other sees, at once or within the notification delay,
 * and an outage of the database gives 503s, then recovery with nothing
 * acknowledged lost.  Run by make check as pg:test_multihost (it needs
 * USERAPID_TEST_PG; see tests/pg/with-pg).
 */
#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <time.h>

#include "harness.h"

#define CONF    "password_cost = 1\nlogin_max_failures = 5\n" \
                "login_account_max_failures = 1000\ndatabase_timeout = 2\n"

static struct daemon a, b;
static char          admin_pw[64];
static char          admin_tok[64];

static uint64_t
now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/* One request to port on a fresh connection; body as a form. */
static char *
call(int port, const char *method, const char *path, const char *token,
    const char *form)
{
    char req[4096], auth[128] = "", *r;
    int  n;

    if (token != NULL)
        snprintf(auth, sizeof(auth), "Authorization: Bearer %s\r\n", token);
    n = snprintf(req, sizeof(req), "%s %s HTTP/1.1\r\nHost: t\r\n%s"
        "Connection: close\r\n", method, path, auth);
    if (form != NULL)
        n += snprintf(req + n, sizeof(req) - (size_t)n, "Content-Type: "
            "application/x-www-form-urlencoded\r\nContent-Length: %zu\r\n",
            strlen(form));
    snprintf(req + n, sizeof(req) - (size_t)n, "\r\n%s", form ? form : "");
    r = http_exchange(port, req, 10000);
    ck_assert_ptr_nonnull(r);
    return r;
}

static int
status_of(int port, const char *method, const char *path, const char *token,
    const char *form)
{
    char *r = call(port, method, path, token, form);
    int   st = http_status(r);

    free(r);
    return st;
}

/* Logs in on port; the token into tok (64 bytes).  The status. */
static int
login(int port, const char *email, const char *pw, char *tok)
{
    char        form[256], *r;
    const char *t;
    int         st;

    snprintf(form, sizeof(form), "email=%s&password=%s", email, pw);
    r = call(port, "POST", "/", NULL, form);
    st = http_status(r);
    if (st == 200 && tok != NULL) {
        t = strstr(r, "\"token\":\"");
        ck_assert_ptr_nonnull(t);
        snprintf(tok, 64, "%.43s", t + 9);
    }
    free(r);
    return st;
}

static void
setup(void)
{
    struct daemon_opts oa = { .conf_extra = CONF, .workers = 2 };
    struct daemon_opts ob = { .conf_extra = CONF, .workers = 2, .share_db = &a };
    char               path[400];
    FILE              *fp;

    ck_assert_msg(harness_pg() != NULL, "needs USERAPID_TEST_PG (make check "
        "runs it as pg:test_multihost under tests/pg/with-pg)");
    daemon_start(&a, &oa);
    daemon_start(&b, &ob);
    snprintf(path, sizeof(path), "%s/initial-admin-password", a.state_dir);
    fp = fopen(path, "r");
    ck_assert_ptr_nonnull(fp);
    ck_assert_ptr_nonnull(fgets(admin_pw, sizeof(admin_pw), fp));
    fclose(fp);
    admin_pw[strcspn(admin_pw, "\n")] = '\0';
    ck_assert_int_eq(login(a.port, "admin@localhost", admin_pw, admin_tok), 200);
}

static void pg_signal(const char *sig);

static void
teardown(void)
{
    /* A test that stopped the server and failed must not leave it so. */
    pg_signal("CONT");
    daemon_cleanup(&a);
    daemon_cleanup(&b);
}

/* A session made on A is good on B; B made no first admin of its own. */
START_TEST(test_login_on_a_get_on_b)
{
    char  path[400], *r;
    FILE *fp;

    r = call(b.port, "GET", "/", admin_tok, NULL);
    ck_assert_int_eq(http_status(r), 200);
    ck_assert_ptr_nonnull(strstr(http_body(r), "{\"users\":[{\"email\":"
        "\"admin@localhost\",\"role\":\"admin\",\"role_id\":1,"));
    free(r);
    snprintf(path, sizeof(path), "%s/initial-admin-password", b.state_dir);
    fp = fopen(path, "r");
    ck_assert_ptr_null(fp);
}
END_TEST

struct racer {
    int port;
    int status;
};

static void *
racer_put(void *arg)
{
    struct racer *r = arg;

    r->status = status_of(r->port, "PUT", "/", NULL,
        "email=race@example.com&password=password1");
    return NULL;
}

/* 16 PUTs of one email at once, half on each host: one 201, 15 409s. */
START_TEST(test_racing_puts_over_two_hosts_make_one_user)
{
    struct racer racers[16];
    pthread_t    th[16];
    int          i, created = 0, conflicts = 0;

    for (i = 0; i < 16; i++) {
        racers[i].port = i % 2 ? b.port : a.port;
        ck_assert_int_eq(pthread_create(&th[i], NULL, racer_put, &racers[i]), 0);
    }
    for (i = 0; i < 16; i++) {
        pthread_join(th[i], NULL);
        created += racers[i].status == 201;
        conflicts += racers[i].status == 409;
    }
    ck_assert_int_eq(created, 1);
    ck_assert_int_eq(conflicts, 15);
}
END_TEST

/* Polls GET path on port with tok until it answers want; the delay in
 * microseconds since t0, or -1 after 3 s. */
static long
until_status(int port, const char *path, const char *tok, int want,
    uint64_t t0)
{
    while (now_us() - t0 < 3000000) {
        if (status_of(port, "GET", path, tok, NULL) == want)
            return (long)(now_us() - t0);
    }
    return -1;
}

/* A deletion on B ends the session on A, which had it cached, within
 * 100 ms. */
START_TEST(test_delete_on_b_kills_token_on_a_within_100ms)
{
    char     tok[64];
    uint64_t t0;
    long     us;
    int      i;

    ck_assert_int_eq(status_of(a.port, "PUT", "/", NULL,
        "email=gone@example.com&password=password1"), 201);
    ck_assert_int_eq(login(a.port, "gone@example.com", "password1", tok), 200);
    /* Both workers of A have it cached. */
    for (i = 0; i < 4; i++)
        ck_assert_int_eq(status_of(a.port, "GET", "/", tok, NULL), 200);
    t0 = now_us();
    ck_assert_int_eq(status_of(b.port, "DELETE", "/users/gone@example.com",
        admin_tok, NULL), 204);
    us = until_status(a.port, "/", tok, 403, t0);
    ck_assert_int_ge(us, 0);
    /* And it stays dead on every worker. */
    for (i = 0; i < 4; i++)
        ck_assert_int_eq(status_of(a.port, "GET", "/", tok, NULL), 403);
    fprintf(stderr, "test_multihost: deletion on B ended the session on A "
        "after %ld us\n", us);
    ck_assert_int_le(us, 100000);
}
END_TEST

/* A role change on A is what B answers by, within 100 ms. */
START_TEST(test_role_change_on_a_seen_on_b)
{
    char     tok[64];
    uint64_t t0;
    long     us;
    int      i;

    ck_assert_int_eq(status_of(a.port, "PUT", "/", NULL,
        "email=promo@example.com&password=password1"), 201);
    ck_assert_int_eq(login(b.port, "promo@example.com", "password1", tok), 200);
    for (i = 0; i < 4; i++)
        ck_assert_int_eq(status_of(b.port, "GET", "/users/admin@localhost",
            tok, NULL), 403);
    t0 = now_us();
    ck_assert_int_eq(status_of(a.port, "PATCH", "/users/promo@example.com",
        admin_tok, "role=admin"), 200);
    us = until_status(b.port, "/users/admin@localhost", tok, 200, t0);
    ck_assert_int_ge(us, 0);
    for (i = 0; i < 4; i++)
        ck_assert_int_eq(status_of(b.port, "GET", "/users/admin@localhost",
            tok, NULL), 200);
    fprintf(stderr, "test_multihost: role change on A seen on B after %ld us\n",
        us);
    ck_assert_int_le(us, 100000);
}
END_TEST

/* Guesses from one address spread over A and B are limited as on one
 * host: 5 verified, then 429 on both, even for the right password. */
START_TEST(test_guesses_over_two_hosts_are_limited_as_on_one)
{
    int i;

    ck_assert_int_eq(status_of(a.port, "PUT", "/", NULL,
        "email=victim@example.com&password=password1"), 201);
    for (i = 0; i < 5; i++)
        ck_assert_int_eq(login(i % 2 ? b.port : a.port, "victim@example.com",
            "wrong-guess", NULL), 401);
    ck_assert_int_eq(login(a.port, "victim@example.com", "wrong-guess", NULL), 429);
    ck_assert_int_eq(login(b.port, "victim@example.com", "password1", NULL), 429);
}
END_TEST

struct writer {
    int      port;
    int      n;
    int      ok, unavailable, other;
    uint64_t slowest_us;
    char     acked[400][40];
    int      nacked;
    volatile int *stop;
};

static void *
writer_run(void *arg)
{
    struct writer *w = arg;
    char           form[128], email[40], *r;
    uint64_t       t;

    while (!*w->stop && w->n < 400) {
        snprintf(email, sizeof(email), "w%d-%d@example.com", w->port, w->n++);
        snprintf(form, sizeof(form), "email=%s&password=password1", email);
        t = now_us();
        r = call(w->port, "PUT", "/", NULL, form);
        t = now_us() - t;
        if (t > w->slowest_us)
            w->slowest_us = t;
        if (http_status(r) == 201) {
            w->ok++;
            snprintf(w->acked[w->nacked++], sizeof(w->acked[0]), "%s", email);
        } else if (http_status(r) == 503 &&
            strstr(r, "\r\nRetry-After: 2\r\n") != NULL) {
            w->unavailable++;
        } else {
            w->other++;
            fprintf(stderr, "test_multihost: unexpected answer: %.200s\n", r);
        }
        free(r);
        sleep_ms(20);
    }
    return NULL;
}

/* PostgreSQL stops and starts again under writes on both hosts: 201s,
 * then 503s with Retry-After (none slower than database_timeout and a
 * margin), then 201s again; every acknowledged user is there. */
START_TEST(test_database_restart_under_traffic)
{
    struct writer *w = calloc(2, sizeof(*w));
    volatile int   stop = 0;
    pthread_t      th[2];
    char          *out, path[200], *r;
    int            i, j, st, before;

    ck_assert_ptr_nonnull(w);
    for (i = 0; i < 2; i++) {
        w[i].port = i ? b.port : a.port;
        w[i].stop = &stop;
        ck_assert_int_eq(pthread_create(&th[i], NULL, writer_run, &w[i]), 0);
    }
    sleep_ms(500);
    out = run_cmd(&st, "%s/tests/pg/pgtest stop %s 2>&1", getenv("USERAPID_SRCDIR"),
        getenv("USERAPID_TEST_PG_DIR"));
    ck_assert_msg(st == 0, "%s", out);
    free(out);
    sleep_ms(1500);
    r = call(a.port, "HEAD", "/", NULL, NULL);
    ck_assert_ptr_nonnull(strstr(r, "\r\nX-Userapid-Status: degraded\r\n"));
    free(r);
    r = call(b.port, "GET", "/status", NULL, NULL);
    ck_assert_ptr_nonnull(strstr(http_body(r), "\"status\":\"degraded\","));
    free(r);
    before = w[0].ok + w[1].ok;
    out = run_cmd(&st, "%s/tests/pg/pgtest start %s 2>&1", getenv("USERAPID_SRCDIR"),
        getenv("USERAPID_TEST_PG_DIR"));
    ck_assert_msg(st == 0, "%s", out);
    free(out);
    /* Back within the longest backoff (5 s) and then some. */
    for (i = 0; i < 80 && w[0].ok + w[1].ok < before + 10; i++)
        sleep_ms(100);
    stop = 1;
    pthread_join(th[0], NULL);
    pthread_join(th[1], NULL);
    fprintf(stderr, "test_multihost: restart under traffic: %d created, "
        "%d answered 503, slowest %lu ms\n", w[0].ok + w[1].ok,
        w[0].unavailable + w[1].unavailable,
        (unsigned long)((w[0].slowest_us > w[1].slowest_us ?
        w[0].slowest_us : w[1].slowest_us) / 1000));
    ck_assert_int_ge(w[0].ok + w[1].ok, before + 10);
    ck_assert_int_gt(w[0].unavailable + w[1].unavailable, 0);
    ck_assert_int_eq(w[0].other + w[1].other, 0);
    ck_assert_uint_lt(w[0].slowest_us, 4000000);
    ck_assert_uint_lt(w[1].slowest_us, 4000000);
    r = call(b.port, "HEAD", "/", NULL, NULL);
    ck_assert_ptr_nonnull(strstr(r, "\r\nX-Userapid-Status: ok\r\n"));
    free(r);
    ck_assert_int_eq(login(a.port, "admin@localhost", admin_pw, admin_tok), 200);
    for (i = 0; i < 2; i++)
        for (j = 0; j < w[i].nacked; j++) {
            snprintf(path, sizeof(path), "/users/%s", w[i].acked[j]);
            ck_assert_int_eq(status_of(j % 2 ? a.port : b.port, "GET", path,
                admin_tok, NULL), 200);
        }
    free(w);
}
END_TEST

/* A file store's users, exported and imported into the database, are
 * the same users there: hashes, roles and creation times, so their
 * passwords work on either host. */
START_TEST(test_export_from_files_imports_into_postgresql)
{
    const char *ctl = getenv("USERAPICTL_BIN");
    char        dir[] = "/tmp/userapid-migrate.XXXXXX", *out, *from, *to;
    char        conf[200], *line, *save;
    FILE       *fp;
    int         st;

    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(conf, sizeof(conf), "%s/file.conf", dir);
    fp = fopen(conf, "w");
    ck_assert_ptr_nonnull(fp);
    fprintf(fp, "state_dir = %s\npassword_cost = 1\n", dir);
    fclose(fp);
    out = run_cmd(&st, "echo password1 | %s --config %s useradd --role admin "
        "--password-stdin boss@example.com && echo password2 | %s --config %s "
        "useradd --password-stdin clerk@example.com 2>&1", ctl, conf, ctl, conf);
    ck_assert_msg(st == 0, "%s", out);
    free(out);
    out = run_cmd(&st, "%s --config %s export | %s --config %s import - 2>&1",
        ctl, conf, ctl, a.conf);
    ck_assert_msg(st == 0, "%s", out);
    free(out);
    from = run_cmd(&st, "%s --config %s export", ctl, conf);
    ck_assert_int_eq(st, 0);
    to = run_cmd(&st, "%s --config %s export", ctl, a.conf);
    ck_assert_int_eq(st, 0);
    /* Every exported line, hash and time included, is there unchanged. */
    for (line = strtok_r(from, "\n", &save); line != NULL;
        line = strtok_r(NULL, "\n", &save))
        ck_assert_msg(strstr(to, line) != NULL, "missing: %s\nin: %s", line, to);
    free(from);
    free(to);
    ck_assert_int_eq(login(b.port, "boss@example.com", "password1", NULL), 200);
    ck_assert_int_eq(login(a.port, "clerk@example.com", "password2", NULL), 200);
    out = run_cmd(&st, "rm -rf %s", dir);
    free(out);
}
END_TEST

/* A database without the schema: userapid says what to run and exits 3. */
START_TEST(test_missing_schema_exits_3_naming_db_init)
{
    struct daemon      bare, d;
    struct daemon_opts o = { .conf_extra = CONF, .share_db = &bare, .no_wait = 1 };
    char              *out, *log;
    int                st;

    ck_assert_msg(harness_pg() != NULL, "needs USERAPID_TEST_PG");
    memset(&bare, 0, sizeof(bare));
    memset(&d, 0, sizeof(d));
    snprintf(bare.dbname, sizeof(bare.dbname), "bare_%d", (int)getpid());
    out = run_cmd(&st, "%s/tests/pg/pgtest createdb %s %s 2>&1",
        getenv("USERAPID_SRCDIR"), getenv("USERAPID_TEST_PG_DIR"), bare.dbname);
    ck_assert_msg(st == 0, "%s", out);
    free(out);
    daemon_start(&d, &o);
    st = daemon_wait(&d, 10000);
    ck_assert(WIFEXITED(st));
    ck_assert_int_eq(WEXITSTATUS(st), 3);
    log = daemon_log(&d);
    ck_assert_msg(strstr(log, "run userapictl db init") != NULL, "%s", log);
    free(log);
    daemon_cleanup(&d);
}
END_TEST

/* userapictl on a's configuration (the database), its output and exit
 * status. */
static char *
ctl(int *st, const char *input, const char *fmt, const char *arg)
{
    char cmd[512];

    snprintf(cmd, sizeof(cmd), fmt, arg);
    if (input != NULL)
        return run_cmd(st, "echo %s | %s --config %s %s 2>&1", input,
            getenv("USERAPICTL_BIN"), a.conf, cmd);
    return run_cmd(st, "%s --config %s %s 2>&1", getenv("USERAPICTL_BIN"),
        a.conf, cmd);
}

/* Every userapictl command works on the database, and what it does is
 * what both hosts answer by. */
START_TEST(test_userapictl_commands_on_postgresql)
{
    char  tok[64], *out;
    int   st, i;

    out = ctl(&st, "password1", "useradd --password-stdin %s", "ops@example.com");
    ck_assert_msg(st == 0, "%s", out);
    free(out);
    out = ctl(&st, "password1", "useradd --password-stdin %s", "ops@example.com");
    ck_assert_int_eq(WEXITSTATUS(st), 5);
    free(out);
    ck_assert_int_eq(login(b.port, "ops@example.com", "password1", tok), 200);
    out = ctl(&st, NULL, "sessions %s", "ops@example.com");
    ck_assert_msg(st == 0 && strstr(out, "ops@example.com") != NULL, "%s", out);
    free(out);
    out = ctl(&st, NULL, "role %s admin", "ops@example.com");
    ck_assert_msg(st == 0, "%s", out);
    free(out);
    ck_assert_int_ge(until_status(b.port, "/users/admin@localhost", tok, 200,
        now_us()), 0);
    out = ctl(&st, NULL, "show %s", "ops@example.com");
    ck_assert_msg(st == 0 && strstr(out, "admin") != NULL, "%s", out);
    free(out);
    out = ctl(&st, "password2", "passwd --password-stdin %s", "ops@example.com");
    ck_assert_msg(st == 0, "%s", out);
    free(out);
    ck_assert_int_ge(until_status(b.port, "/", tok, 403, now_us()), 0);
    ck_assert_int_eq(login(a.port, "ops@example.com", "password2", tok), 200);
    out = ctl(&st, NULL, "revoke %s", "ops@example.com");
    ck_assert_msg(st == 0, "%s", out);
    free(out);
    ck_assert_int_ge(until_status(a.port, "/", tok, 403, now_us()), 0);
    /* A locked-out address, listed and lifted. */
    for (i = 0; i < 5; i++)
        ck_assert_int_eq(login(b.port, "ops@example.com", "wrong-guess", NULL), 401);
    ck_assert_int_eq(login(a.port, "ops@example.com", "password2", NULL), 429);
    out = ctl(&st, NULL, "lockouts%s", "");
    ck_assert_msg(st == 0 && strstr(out, "127.0.0.1") != NULL, "%s", out);
    free(out);
    out = ctl(&st, NULL, "unlock %s", "127.0.0.1");
    ck_assert_msg(st == 0, "%s", out);
    free(out);
    ck_assert_int_eq(login(a.port, "ops@example.com", "password2", NULL), 200);
    out = ctl(&st, NULL, "check%s", "");
    ck_assert_msg(st == 0, "%s", out);
    free(out);
    out = ctl(&st, NULL, "userdel %s", "ops@example.com");
    ck_assert_msg(st == 0, "%s", out);
    free(out);
    out = ctl(&st, NULL, "show %s", "ops@example.com");
    ck_assert_int_eq(WEXITSTATUS(st), 4);
    free(out);
    ck_assert_int_eq(login(b.port, "ops@example.com", "password2", NULL), 401);
}
END_TEST

/* systemd's status text says when the database is away, and when it is
 * back. */
START_TEST(test_status_text_follows_the_database)
{
    struct daemon      c;
    struct daemon_opts oc = { .conf_extra = CONF, .share_db = &a, .notify = 1 };
    char              *out;
    int                st;

    memset(&c, 0, sizeof(c));
    daemon_start(&c, &oc);
    ck_assert(daemon_notify_wait(&c, "READY=1", 5000));
    c.notify_len = 0;
    out = run_cmd(&st, "%s/tests/pg/pgtest stop %s 2>&1", getenv("USERAPID_SRCDIR"),
        getenv("USERAPID_TEST_PG_DIR"));
    ck_assert_msg(st == 0, "%s", out);
    free(out);
    ck_assert(daemon_notify_wait(&c, "STATUS=Degraded, the database cannot be "
        "reached: serving on 127.0.0.1:", 5000));
    c.notify_len = 0;
    out = run_cmd(&st, "%s/tests/pg/pgtest start %s 2>&1", getenv("USERAPID_SRCDIR"),
        getenv("USERAPID_TEST_PG_DIR"));
    ck_assert_msg(st == 0, "%s", out);
    free(out);
    ck_assert(daemon_notify_wait(&c, "STATUS=Serving on 127.0.0.1:", 10000));
    daemon_cleanup(&c);
}
END_TEST

/* Sends SIGSTOP or SIGCONT to every process of the tests' server. */
static void
pg_signal(const char *sig)
{
    char *out;
    int   st;

    /* The postmaster's pid is the first line of its pid file; its
     * children are the backends. */
    out = run_cmd(&st, "p=$(head -1 %s/data/postmaster.pid) && "
        "kill -%s $p $(pgrep -P $p) 2>&1", getenv("USERAPID_TEST_PG_DIR"), sig);
    ck_assert_msg(st == 0, "%s", out);
    free(out);
}

/* A database that stops answering: what needs it gets 503 within
 * database_timeout (2 s here) and a margin, what does not (HEAD /,
 * /status) is not delayed at all; when it answers again, so does
 * userapid. */
START_TEST(test_a_silent_database_delays_only_what_needs_it)
{
    char    *r;
    uint64_t t;

    pg_signal("STOP");
    t = now_us();
    r = call(a.port, "PUT", "/", NULL, "email=slow@example.com&password=password1");
    t = now_us() - t;
    ck_assert_msg(http_status(r) == 503 && strstr(r, "\r\nRetry-After: 2\r\n")
        != NULL, "%s", r);
    free(r);
    fprintf(stderr, "test_multihost: a PUT while the database is silent: "
        "503 after %lu ms\n", (unsigned long)(t / 1000));
    ck_assert_uint_ge(t, 1900000);
    ck_assert_uint_lt(t, 3500000);
    /* Meanwhile, and with a statement of another request out, HEAD / and
     * /status answer at once, on every worker. */
    {
        int  fd = http_connect(b.port), i;
        char req[256];

        ck_assert_int_ge(fd, 0);
        snprintf(req, sizeof(req), "PUT / HTTP/1.1\r\nHost: t\r\nContent-Type: "
            "application/x-www-form-urlencoded\r\nContent-Length: 42\r\n\r\n"
            "email=slow2@example.com&password=password1");
        http_send_str(fd, req);
        t = now_us();
        for (i = 0; i < 8; i++) {
            ck_assert_int_eq(status_of(i % 2 ? a.port : b.port, "HEAD", "/",
                NULL, NULL), 200);
            ck_assert_int_eq(status_of(i % 2 ? a.port : b.port, "GET",
                "/status", NULL, NULL), 200);
        }
        t = now_us() - t;
        ck_assert_uint_lt(t, 500000);
        r = http_recv_response(fd, 5000);
        ck_assert_int_eq(http_status(r), 503);
        free(r);
        close(fd);
    }
    pg_signal("CONT");
    t = now_us();
    while (status_of(a.port, "PUT", "/", NULL,
        "email=slow@example.com&password=password1") != 201)
        ck_assert_uint_lt(now_us() - t, 10000000);
}
END_TEST

int
main(void)
{
    Suite   *s = suite_create("multihost");
    TCase   *tc = tcase_create("two hosts, one database");
    SRunner *sr;
    int      failed;

    tcase_set_timeout(tc, 60);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_login_on_a_get_on_b);
    tcase_add_test(tc, test_racing_puts_over_two_hosts_make_one_user);
    tcase_add_test(tc, test_delete_on_b_kills_token_on_a_within_100ms);
    tcase_add_test(tc, test_role_change_on_a_seen_on_b);
    tcase_add_test(tc, test_guesses_over_two_hosts_are_limited_as_on_one);
    tcase_add_test(tc, test_database_restart_under_traffic);
    tcase_add_test(tc, test_export_from_files_imports_into_postgresql);
    tcase_add_test(tc, test_userapictl_commands_on_postgresql);
    tcase_add_test(tc, test_status_text_follows_the_database);
    tcase_add_test(tc, test_a_silent_database_delays_only_what_needs_it);
    suite_add_tcase(s, tc);
    tc = tcase_create("schema");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_missing_schema_exits_3_naming_db_init);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? 0 : 1;
}
