/* SPDX-License-Identifier: MIT */
/*
 * test_metrics.c - GET /metrics on metrics_listen: the exposition passes
 * promtool, counters move by exactly the requests made, sum over every
 * worker, survive a killed worker and a reload, and the listener is kept
 * apart from the API (each answers 404 for the other's paths).
 */
#include <check.h>
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

#define HOST "Host: t\r\n"

/* Starts a daemon whose metrics listener is on *mport, with more
 * configuration lines (may be NULL). */
static void
start_with_metrics_conf(struct daemon *d, int workers, int *mport,
    const char *more)
{
    struct daemon_opts o = { .workers = workers };
    char               extra[512];

    *mport = harness_free_port();
    snprintf(extra, sizeof(extra), "metrics_listen = 127.0.0.1:%d\n%s", *mport,
        more != NULL ? more : "");
    o.conf_extra = extra;
    daemon_start(d, &o);
}

static void
start_with_metrics(struct daemon *d, int workers, int *mport)
{
    start_with_metrics_conf(d, workers, mport, NULL);
}

/* The body of GET /metrics on port (caller frees), after checking the
 * status and the content type. */
static char *
scrape(int port)
{
    char *r = http_exchange(port, "GET /metrics HTTP/1.1\r\n" HOST
        "Connection: close\r\n\r\n", 3000);
    char  ct[128], *body;

    ck_assert_ptr_nonnull(r);
    ck_assert_int_eq(http_status(r), 200);
    ck_assert(http_header(r, "Content-Type", ct, sizeof(ct)));
    ck_assert_str_eq(ct, "text/plain; version=0.0.4; charset=utf-8");
    body = strdup(http_body(r));
    free(r);
    ck_assert_ptr_nonnull(body);
    return body;
}

/* The value of the sample named series ("name{labels}"), 0 when absent. */
static double
sample(const char *body, const char *series)
{
    size_t      n = strlen(series);
    const char *p = body;

    while ((p = strstr(p, series)) != NULL) {
        if ((p == body || p[-1] == '\n') && p[n] == ' ')
            return strtod(p + n + 1, NULL);
        p += n;
    }
    return 0;
}

static double
scrape_sample(int mport, const char *series)
{
    char  *body = scrape(mport);
    double v = sample(body, series);

    free(body);
    return v;
}

static int
status_of(int port, const char *req)
{
    char *r = http_exchange(port, req, 3000);
    int   st = r != NULL ? http_status(r) : -1;

    free(r);
    return st;
}

static void
head_root(int port, int times)
{
    int i;

    for (i = 0; i < times; i++)
        ck_assert_int_eq(status_of(port, "HEAD / HTTP/1.1\r\n" HOST
            "Connection: close\r\n\r\n"), 200);
}

#define HEAD_ROOT "userapid_http_requests_total{method=\"HEAD\",route=\"/\",code=\"200\"}"

START_TEST(test_exposition_passes_promtool_check_metrics)
{
    struct daemon d;
    char          path[320], *body, *out;
    FILE         *fp;
    int           mport, st;

    start_with_metrics(&d, 2, &mport);
    head_root(d.port, 2);
    ck_assert_int_eq(status_of(d.port, "GET /nowhere HTTP/1.1\r\n" HOST
        "Connection: close\r\n\r\n"), 404);
    body = scrape(mport);
    snprintf(path, sizeof(path), "%s/metrics.txt", d.dir);
    ck_assert_ptr_nonnull(fp = fopen(path, "w"));
    fputs(body, fp);
    fclose(fp);
    /* Lint findings are printed: any output at all is a failure. */
    out = run_cmd(&st, "promtool check metrics < '%s' 2>&1", path);
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "promtool: %s", out);
    ck_assert_msg(out[0] == '\0', "promtool says: %s", out);
    free(out);
    /* Every family says what it is. */
    ck_assert_ptr_nonnull(strstr(body, "# TYPE userapid_http_request_duration_seconds histogram\n"));
    ck_assert_ptr_nonnull(strstr(body, "# HELP userapid_sessions "));
    ck_assert_ptr_nonnull(strstr(body, "userapid_build_info{version=\"0.1.0\"} 1\n"));
    ck_assert(sample(body, "process_resident_memory_bytes") > 0);
    ck_assert(sample(body, "process_open_fds") >= 3);
    ck_assert(sample(body, "process_start_time_seconds") > 1.7e9);
    ck_assert(sample(body, "userapid_users") == 1);
    free(body);
    daemon_cleanup(&d);
}
END_TEST

START_TEST(test_counters_move_by_exactly_the_requests_made)
{
    struct daemon d;
    char         *a, *b;
    int           mport;

    start_with_metrics(&d, 2, &mport);
    a = scrape(mport);
    head_root(d.port, 3);
    ck_assert_int_eq(status_of(d.port, "GET /no/such/x@example.com HTTP/1.1\r\n"
        HOST "Connection: close\r\n\r\n"), 404);
    ck_assert_int_eq(status_of(d.port, "GET /users/someone@example.com HTTP/1.1\r\n"
        HOST "Connection: close\r\n\r\n"), 403);
    ck_assert_int_eq(status_of(d.port, "POST / HTTP/1.1\r\n" HOST
        "Content-Type: application/x-www-form-urlencoded\r\n"
        "Content-Length: 40\r\nConnection: close\r\n\r\n"
        "email=nobody@example.com&password=wrong1"), 401);
    b = scrape(mport);
    ck_assert(sample(b, HEAD_ROOT) - sample(a, HEAD_ROOT) == 3);
    ck_assert(sample(b, "userapid_http_requests_total{method=\"GET\",route=\"other\",code=\"404\"}") -
        sample(a, "userapid_http_requests_total{method=\"GET\",route=\"other\",code=\"404\"}") == 1);
    ck_assert(sample(b, "userapid_http_requests_total{method=\"GET\",route=\"/users/{email}\",code=\"403\"}") == 1);
    ck_assert(sample(b, "userapid_http_requests_total{method=\"POST\",route=\"/\",code=\"401\"}") == 1);
    ck_assert(sample(b, "userapid_logins_total{result=\"failed\"}") -
        sample(a, "userapid_logins_total{result=\"failed\"}") == 1);
    ck_assert(sample(b, "userapid_logins_total{result=\"ok\"}") == 0);
    ck_assert(sample(b, "userapid_http_request_duration_seconds_count{route=\"other\"}") -
        sample(a, "userapid_http_request_duration_seconds_count{route=\"other\"}") == 1);
    /* Neither the email nor the raw path is ever a label. */
    ck_assert_ptr_null(strstr(b, "example.com"));
    ck_assert_ptr_null(strstr(b, "/no/such"));
    free(a);
    free(b);
    daemon_cleanup(&d);
}
END_TEST

/* POST / as form fields; its status. */
static int
login(int port, const char *email, const char *password)
{
    char req[512], body[256];

    snprintf(body, sizeof(body), "email=%s&password=%s", email, password);
    snprintf(req, sizeof(req), "POST / HTTP/1.1\r\n" HOST
        "Content-Type: application/x-www-form-urlencoded\r\n"
        "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
        strlen(body), body);
    return status_of(port, req);
}

START_TEST(test_logins_count_ok_failed_and_throttled)
{
    struct daemon d;
    char          path[400], pw[64], *b;
    FILE         *fp;
    int           mport;

    start_with_metrics_conf(&d, 2, &mport, "login_max_failures = 1\n");
    snprintf(path, sizeof(path), "%s/initial-admin-password", d.state_dir);
    ck_assert_ptr_nonnull(fp = fopen(path, "r"));
    ck_assert_ptr_nonnull(fgets(pw, sizeof(pw), fp));
    fclose(fp);
    pw[strcspn(pw, "\n")] = '\0';
    ck_assert_int_eq(login(d.port, "admin@localhost", pw), 200);
    ck_assert_int_eq(login(d.port, "admin@localhost", "not-the-password"), 401);
    /* One failure locks this address out: refused before any hash. */
    ck_assert_int_eq(login(d.port, "admin@localhost", pw), 429);
    b = scrape(mport);
    ck_assert(sample(b, "userapid_logins_total{result=\"ok\"}") == 1);
    ck_assert(sample(b, "userapid_logins_total{result=\"failed\"}") == 1);
    ck_assert(sample(b, "userapid_logins_total{result=\"throttled\"}") == 1);
    ck_assert(sample(b, "userapid_sessions") == 1);
    ck_assert(sample(b, "userapid_http_requests_total{method=\"POST\",route=\"/\",code=\"429\"}") == 1);
    free(b);
    daemon_cleanup(&d);
}
END_TEST

START_TEST(test_metrics_and_api_ports_are_404_for_each_other)
{
    struct daemon d;
    int           mport;

    start_with_metrics(&d, 2, &mport);
    ck_assert_int_eq(status_of(d.port, "GET /metrics HTTP/1.1\r\n" HOST
        "Connection: close\r\n\r\n"), 404);
    ck_assert_int_eq(status_of(mport, "GET / HTTP/1.1\r\n" HOST
        "Connection: close\r\n\r\n"), 404);
    ck_assert_int_eq(status_of(mport, "HEAD /status HTTP/1.1\r\n" HOST
        "Connection: close\r\n\r\n"), 404);
    ck_assert_int_eq(status_of(mport, "HEAD /metrics HTTP/1.1\r\n" HOST
        "Connection: close\r\n\r\n"), 200);
    ck_assert_int_eq(status_of(mport, "POST /metrics HTTP/1.1\r\n" HOST
        "Content-Length: 0\r\nConnection: close\r\n\r\n"), 405);
    /* Scrapes are not API requests: the API's counters stay put. */
    ck_assert(scrape_sample(mport, "userapid_http_requests_total{method=\"GET\",route=\"other\",code=\"404\"}") == 1);
    daemon_cleanup(&d);
}
END_TEST

START_TEST(test_metrics_off_leaves_the_api_port_404)
{
    struct daemon      d;
    struct daemon_opts o = { 0 };

    daemon_start(&d, &o);
    ck_assert_int_eq(status_of(d.port, "GET /metrics HTTP/1.1\r\n" HOST
        "Connection: close\r\n\r\n"), 404);
    daemon_cleanup(&d);
}
END_TEST

#define NCONN 16

/* n HEAD / requests on fresh connections, each answered 200. */
static void
heads_on_fresh_connections(int port, int n)
{
    char *r;
    int   i;

    for (i = 0; i < n; i++) {
        r = http_exchange(port, "HEAD / HTTP/1.1\r\n" HOST
            "Connection: close\r\n\r\n", 5000);
        ck_assert_int_eq(http_status(r), 200);
        free(r);
    }
}

/*
 * Requests answered by each worker in turn: whichever worker answers the
 * scrape reports all of them.  A stopped worker is out of epoll_wait, so
 * the kernel wakes the other one for every new connection: stopping one
 * worker, then the other, decides which answers.
 */
START_TEST(test_counts_are_summed_over_the_workers)
{
    struct daemon d;
    pid_t         w[2];
    int           mport, i, k;
    double        before;

    start_with_metrics(&d, 2, &mport);
    ck_assert_int_eq(daemon_workers(&d, w, 2), 2);
    before = scrape_sample(mport, HEAD_ROOT);
    for (k = 0; k < 2; k++) {
        ck_assert_int_eq(kill(w[k], SIGSTOP), 0);
        heads_on_fresh_connections(d.port, NCONN / 2);
        ck_assert_int_eq(kill(w[k], SIGCONT), 0);
    }
    /* Each worker answered NCONN / 2; every scrape sees NCONN. */
    for (i = 0; i < 4; i++)
        ck_assert(scrape_sample(mport, HEAD_ROOT) - before == NCONN);
    daemon_cleanup(&d);
}
END_TEST

START_TEST(test_killed_worker_counts_are_kept)
{
    struct daemon d;
    pid_t         w[2];
    double        before;
    int           mport, i;

    start_with_metrics(&d, 2, &mport);
    head_root(d.port, 20);
    before = scrape_sample(mport, HEAD_ROOT);
    ck_assert(before >= 20);
    ck_assert(scrape_sample(mport, "userapid_worker_restarts_total") == 0);
    ck_assert_int_eq(daemon_workers(&d, w, 2), 2);
    kill(w[0], SIGKILL);
    kill(w[1], SIGKILL);
    for (i = 0; i < 100 && scrape_sample(mport,
        "userapid_worker_restarts_total") < 2; i++)
        sleep_ms(50);
    ck_assert(scrape_sample(mport, "userapid_worker_restarts_total") == 2);
    /* Every worker is new, and nothing they counted before is lost. */
    ck_assert(scrape_sample(mport, HEAD_ROOT) == before);
    head_root(d.port, 2);
    ck_assert(scrape_sample(mport, HEAD_ROOT) == before + 2);
    daemon_cleanup(&d);
}
END_TEST

START_TEST(test_reload_is_counted_and_keeps_totals)
{
    struct daemon d;
    double        before;
    int           mport, i;

    start_with_metrics(&d, 2, &mport);
    head_root(d.port, 5);
    before = scrape_sample(mport, HEAD_ROOT);
    ck_assert(scrape_sample(mport, "userapid_reloads_total") == 0);
    kill(d.pid, SIGHUP);
    for (i = 0; i < 100 && scrape_sample(mport, "userapid_reloads_total") < 1; i++)
        sleep_ms(50);
    ck_assert(scrape_sample(mport, "userapid_reloads_total") == 1);
    /* The old generation retires; its counts stay in the totals. */
    for (i = 0; i < 40; i++) {
        pid_t w[8];

        if (daemon_workers(&d, w, 8) == 2)
            break;
        sleep_ms(50);
    }
    ck_assert(scrape_sample(mport, HEAD_ROOT) == before);
    daemon_cleanup(&d);
}
END_TEST

/* systemd passes the API socket and one named "metrics". */
START_TEST(test_socket_named_metrics_serves_metrics)
{
    struct daemon      d;
    struct daemon_opts o = { 0 };
    char               l1[64], l2[64];
    int                mport = harness_free_port(), i, st = -1;

    daemon_prepare(&d, &o);
    snprintf(l1, sizeof(l1), "127.0.0.1:%d", d.port);
    snprintf(l2, sizeof(l2), "127.0.0.1:%d", mport);
    d.pid = fork();
    ck_assert_int_ge(d.pid, 0);
    if (d.pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (freopen(d.log, "a", stderr) == NULL)
            _exit(127);
        unsetenv("NOTIFY_SOCKET");
        execlp("systemd-socket-activate", "systemd-socket-activate", "-l", l1,
            "-l", l2, "--fdname=http:metrics", harness_bin(), "--config",
            d.conf, (char *)NULL);
        _exit(127);
    }
    /* Every worker up, as daemon_start waits for. */
    for (i = 0; i < 400 && st != 200; i++) {
        char *r, wk[32] = "";

        sleep_ms(25);
        r = http_exchange(d.port, "HEAD / HTTP/1.1\r\n" HOST
            "Connection: close\r\n\r\n", 3000);
        if (r != NULL && http_status(r) == 200 &&
            http_header(r, "X-Userapid-Workers", wk, sizeof(wk)) &&
            strcmp(wk, "2/2") == 0)
            st = 200;
        free(r);
    }
    ck_assert_int_eq(st, 200);
    ck_assert_int_eq(status_of(d.port, "GET /metrics HTTP/1.1\r\n" HOST
        "Connection: close\r\n\r\n"), 404);
    ck_assert(scrape_sample(mport, HEAD_ROOT) >= 1);
    ck_assert_int_eq(WEXITSTATUS(daemon_stop(&d, 10000)), 0);
    daemon_cleanup(&d);
}
END_TEST

static Suite *
metrics_suite(void)
{
    Suite *s = suite_create("metrics");
    TCase *tc = tcase_create("metrics");

    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_exposition_passes_promtool_check_metrics);
    tcase_add_test(tc, test_counters_move_by_exactly_the_requests_made);
    tcase_add_test(tc, test_logins_count_ok_failed_and_throttled);
    tcase_add_test(tc, test_metrics_and_api_ports_are_404_for_each_other);
    tcase_add_test(tc, test_metrics_off_leaves_the_api_port_404);
    tcase_add_test(tc, test_counts_are_summed_over_the_workers);
    tcase_add_test(tc, test_killed_worker_counts_are_kept);
    tcase_add_test(tc, test_reload_is_counted_and_keeps_totals);
    tcase_add_test(tc, test_socket_named_metrics_serves_metrics);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(metrics_suite());
    int      failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
