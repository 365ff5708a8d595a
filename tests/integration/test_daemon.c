/* SPDX-License-Identifier: MIT */
/*
 * test_daemon.c - the built userapid, driven over loopback with raw sockets
 * and curl: statuses, limits, keep-alive, pipelining and the common headers.
 */
#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

#define HOST "Host: t\r\n"

static struct daemon d;

static void
start_default(void)
{
    struct daemon_opts o = { .conf_extra = "max_body_size = 1k\nmax_connections = 8\n" };

    daemon_start(&d, &o);
}

static void
stop_default(void)
{
    daemon_cleanup(&d);
}

/* One request on a fresh connection, closed after it. */
static char *
ask(const char *req)
{
    char *r = http_exchange(d.port, req, 3000);

    ck_assert_ptr_nonnull(r);
    return r;
}

static void
assert_common_headers(const char *r)
{
    char v[128];

    ck_assert_msg(http_header(r, "Date", v, sizeof(v)), "no Date in %s", r);
    ck_assert_int_eq((int)strlen(v), 29);
    ck_assert(http_header(r, "Server", v, sizeof(v)));
    ck_assert_str_eq(v, "userapid/0.1.0");
    ck_assert(http_header(r, "X-Request-Id", v, sizeof(v)));
    ck_assert_int_eq((int)strlen(v), 16);
    ck_assert(http_header(r, "Content-Length", v, sizeof(v)));
}

static void
assert_json_error(const char *r, int status, const char *code)
{
    char v[128], want[128];

    ck_assert_int_eq(http_status(r), status);
    assert_common_headers(r);
    ck_assert(http_header(r, "Content-Type", v, sizeof(v)));
    ck_assert_str_eq(v, "application/json");
    snprintf(want, sizeof(want), "{\"error\":\"%s\",\"message\":\"", code);
    ck_assert_msg(strncmp(http_body(r), want, strlen(want)) == 0,
        "body %s does not start with %s", http_body(r), want);
    ck_assert(http_header(r, "Content-Length", v, sizeof(v)));
    ck_assert_int_eq(atoi(v), (int)strlen(http_body(r)));
}

START_TEST(test_head_root_reports_status)
{
    char *r = ask("HEAD / HTTP/1.1\r\n" HOST "Connection: close\r\n\r\n");
    char  v[64];

    ck_assert_int_eq(http_status(r), 200);
    assert_common_headers(r);
    ck_assert(http_header(r, "Content-Length", v, sizeof(v)));
    ck_assert_str_eq(v, "0");
    ck_assert(http_header(r, "X-Userapid-Status", v, sizeof(v)));
    ck_assert_str_eq(v, "ok");
    ck_assert(http_header(r, "X-Userapid-Workers", v, sizeof(v)));
    ck_assert_str_eq(v, "2/2");
    ck_assert(http_header(r, "X-Userapid-Version", v, sizeof(v)));
    ck_assert_str_eq(v, "0.1.0");
    ck_assert(http_header(r, "X-Userapid-Uptime", v, sizeof(v)));
    ck_assert_int_ge(atoi(v), 0);
    ck_assert_int_le(atoi(v), 30);
    ck_assert(!http_header(r, "Content-Type", v, sizeof(v)));
    ck_assert_str_eq(http_body(r), "");
    free(r);
}
END_TEST

START_TEST(test_head_root_with_curl)
{
    char *out;
    int   st;

    out = run_cmd(&st, "curl -sS -I http://127.0.0.1:%d/ | tr -d '\\r' | "
        "grep -E '^(HTTP|X-Userapid-(Status|Workers|Version))' ", d.port);
    ck_assert_int_eq(st, 0);
    ck_assert_str_eq(out, "HTTP/1.1 200 OK\nX-Userapid-Status: ok\n"
        "X-Userapid-Workers: 2/2\nX-Userapid-Version: 0.1.0\n");
    free(out);
}
END_TEST

START_TEST(test_get_status_json)
{
    char *out;
    int   st;

    out = run_cmd(&st, "curl -sS -w '\\n%%{http_code} %%{content_type}' "
        "http://127.0.0.1:%d/status | sed -e 's/\"uptime\":[0-9]*/\"uptime\":N/' "
        "-e 's/\"connections\":[0-9]*/\"connections\":N/'", d.port);
    ck_assert_int_eq(st, 0);
    ck_assert_str_eq(out, "{\"status\":\"ok\",\"version\":\"0.1.0\",\"uptime\":N,"
        "\"workers\":{\"alive\":2,\"configured\":2},\"users\":1,\"connections\":N}\n"
        "200 application/json");
    free(out);
}
END_TEST

START_TEST(test_unknown_path_is_404)
{
    char *r = ask("GET /nope HTTP/1.1\r\n" HOST "\r\n");

    assert_json_error(r, 404, "not_found");
    free(r);
}
END_TEST

START_TEST(test_known_method_on_wrong_path_is_405_with_allow)
{
    char *r = ask("DELETE /status HTTP/1.1\r\n" HOST "\r\n");
    char  v[64];

    assert_json_error(r, 405, "method_not_allowed");
    ck_assert(http_header(r, "Allow", v, sizeof(v)));
    ck_assert_str_eq(v, "GET, HEAD, OPTIONS");
    free(r);
}
END_TEST

START_TEST(test_unknown_method_is_501)
{
    char *r = ask("BREW / HTTP/1.1\r\n" HOST "\r\n");

    assert_json_error(r, 501, "not_implemented");
    free(r);
}
END_TEST

START_TEST(test_request_line_over_8k_is_414)
{
    char *req = malloc(9000), *r;

    memcpy(req, "GET /", 5);
    memset(req + 5, 'a', 8400);
    strcpy(req + 8405, " HTTP/1.1\r\n" HOST "\r\n");
    r = ask(req);
    assert_json_error(r, 414, "uri_too_long");
    free(r);
    free(req);
}
END_TEST

START_TEST(test_headers_over_16k_is_431)
{
    char *req = malloc(20000), *r;
    size_t len;

    len = (size_t)sprintf(req, "GET /status HTTP/1.1\r\n" HOST "X-Big: ");
    memset(req + len, 'b', 17000);
    strcpy(req + len + 17000, "\r\n\r\n");
    r = ask(req);
    assert_json_error(r, 431, "header_fields_too_large");
    free(r);
    free(req);
}
END_TEST

START_TEST(test_more_than_100_fields_is_431)
{
    char req[8192], *r;
    size_t len;
    int i;

    len = (size_t)sprintf(req, "GET /status HTTP/1.1\r\n" HOST);
    for (i = 0; i < 100; i++)
        len += (size_t)sprintf(req + len, "X-F%d: v\r\n", i);
    strcpy(req + len, "\r\n");
    r = ask(req);
    assert_json_error(r, 431, "header_fields_too_large");
    free(r);
}
END_TEST

START_TEST(test_body_over_max_is_413_before_body)
{
    /* Only the head is sent; the answer must come without the body. */
    int   fd = http_connect(d.port);
    char *r;

    http_send_str(fd, "PUT /status HTTP/1.1\r\n" HOST
        "Content-Length: 2000\r\nExpect: 100-continue\r\n\r\n");
    r = http_recv_response(fd, 3000);
    assert_json_error(r, 413, "payload_too_large");
    ck_assert(http_closed(fd, 3000));
    free(r);
    close(fd);
}
END_TEST

START_TEST(test_chunked_body_over_max_is_413)
{
    char *r = ask("PUT /status HTTP/1.1\r\n" HOST
        "Transfer-Encoding: chunked\r\n\r\n800\r\n");

    assert_json_error(r, 413, "payload_too_large");
    free(r);
}
END_TEST

START_TEST(test_stalled_head_is_408)
{
    int   fd = http_connect(d.port);
    char *r;

    http_send_str(fd, "GET /status HTTP/1.1\r\n" HOST);
    /* header_timeout is 2 s in the harness config. */
    r = http_recv_all(fd, 4000, NULL);
    assert_json_error(r, 408, "request_timeout");
    free(r);
    close(fd);
}
END_TEST

START_TEST(test_content_length_with_transfer_encoding_is_400)
{
    char *r = ask("PUT /status HTTP/1.1\r\n" HOST "Content-Length: 3\r\n"
        "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n");

    assert_json_error(r, 400, "bad_request");
    free(r);
}
END_TEST

START_TEST(test_conflicting_content_lengths_are_400)
{
    char *r = ask("PUT /status HTTP/1.1\r\n" HOST "Content-Length: 3\r\n"
        "Content-Length: 4\r\n\r\nabcd");

    assert_json_error(r, 400, "bad_request");
    free(r);
}
END_TEST

START_TEST(test_bad_chunk_is_400)
{
    char *r = ask("PUT /status HTTP/1.1\r\n" HOST
        "Transfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n");

    assert_json_error(r, 400, "bad_request");
    free(r);
}
END_TEST

START_TEST(test_missing_host_in_http11_is_400)
{
    char *r = ask("GET /status HTTP/1.1\r\n\r\n");

    assert_json_error(r, 400, "bad_request");
    free(r);
}
END_TEST

START_TEST(test_bad_syntax_is_400)
{
    char *r = ask("GET /status HTTP/1.1\r\n" HOST "Bad Header: x\r\n\r\n");

    assert_json_error(r, 400, "bad_request");
    free(r);
    r = ask("GET status\r\n\r\n");
    assert_json_error(r, 400, "bad_request");
    free(r);
}
END_TEST

START_TEST(test_http10_without_host_closes)
{
    int   fd = http_connect(d.port);
    char *r, v[64];

    http_send_str(fd, "GET /status HTTP/1.0\r\n\r\n");
    r = http_recv_response(fd, 3000);
    ck_assert_int_eq(http_status(r), 200);
    ck_assert(http_header(r, "Connection", v, sizeof(v)));
    ck_assert_str_eq(v, "close");
    ck_assert(http_closed(fd, 3000));
    free(r);
    close(fd);
}
END_TEST

START_TEST(test_http10_keep_alive_is_honoured)
{
    int   fd = http_connect(d.port);
    char *r, v[64];

    http_send_str(fd, "GET /status HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    r = http_recv_response(fd, 3000);
    ck_assert_int_eq(http_status(r), 200);
    ck_assert(http_header(r, "Connection", v, sizeof(v)));
    ck_assert_str_eq(v, "keep-alive");
    free(r);
    http_send_str(fd, "HEAD / HTTP/1.0\r\n\r\n");
    r = http_recv_response(fd, 3000);
    ck_assert_int_eq(http_status(r), 200);
    ck_assert(http_closed(fd, 3000));
    free(r);
    close(fd);
}
END_TEST

/* Sends req on a fresh connection and reads its answer, status, and the
 * server's end of the connection; the client's end stays open. */
static int
answered_and_ended(const char *req, int status)
{
    int   fd = http_connect(d.port);
    char *r;

    http_send_str(fd, req);
    r = http_recv_response(fd, 3000);
    ck_assert_int_eq(http_status(r), status);
    ck_assert(http_closed(fd, 3000));
    free(r);
    return fd;
}

/*
 * A connection that asked to close is closed once its answer is written,
 * though its client still holds it.  One that ends with input unread, an
 * error's or a request pipelined past the close, lingers (reading and
 * discarding, so the client sees the answer and not a reset) until its
 * client closes it.
 */
START_TEST(test_a_close_is_at_once_unread_input_lingers)
{
    long n = -1;
    int  fds[3], i;

    fds[0] = answered_and_ended("GET /status HTTP/1.1\r\n" HOST
        "Connection: close\r\n\r\n", 200);
    for (i = 0; i < 10 && (n = daemon_connections(&d)) != 1; i++)
        sleep_ms(50);
    ck_assert_int_eq(n, 1);
    fds[1] = answered_and_ended("GET /status HTTP/1.1\r\n" HOST
        "Connection: close\r\n\r\nGET /status HTTP/1.1\r\n" HOST "\r\n", 200);
    fds[2] = answered_and_ended("GET /status HTTP/1.1\r\n\r\n", 400);
    /* Well within the 2 s a lingering connection waits for its client. */
    sleep_ms(300);
    ck_assert_int_eq(daemon_connections(&d), 3);
    close(fds[1]);
    close(fds[2]);
    for (i = 0; i < 20 && (n = daemon_connections(&d)) != 1; i++)
        sleep_ms(50);
    ck_assert_int_eq(n, 1);
    close(fds[0]);
}
END_TEST

START_TEST(test_connection_is_reused)
{
    int   fd = http_connect(d.port), i;
    char *r;

    for (i = 0; i < 5; i++) {
        http_send_str(fd, "GET /status HTTP/1.1\r\n" HOST "\r\n");
        r = http_recv_response(fd, 3000);
        ck_assert_int_eq(http_status(r), 200);
        ck_assert(!http_closed(fd, 0));
        free(r);
    }
    close(fd);
}
END_TEST

START_TEST(test_curl_reuses_the_connection)
{
    char *out;
    int   st;

    out = run_cmd(&st, "curl -sS -v -o /dev/null -o /dev/null "
        "http://127.0.0.1:%d/status http://127.0.0.1:%d/status 2>&1 | "
        "grep -c -i 're-using existing connection'", d.port, d.port);
    ck_assert_int_eq(st, 0);
    ck_assert_str_eq(out, "1\n");
    free(out);
}
END_TEST

START_TEST(test_pipelined_requests_answered_in_order)
{
    int    fd = http_connect(d.port);
    char  *r1, *r2, *r3, *r4;
    char   v[64];

    /* A body-carrying request in the middle proves its body is framed. */
    http_send_str(fd,
        "GET /status HTTP/1.1\r\n" HOST "\r\n"
        "PUT /status HTTP/1.1\r\n" HOST "Content-Length: 5\r\n\r\nhello"
        "PUT /status HTTP/1.1\r\n" HOST "Transfer-Encoding: chunked\r\n\r\n"
        "3\r\nabc\r\n0\r\n\r\n"
        "HEAD / HTTP/1.1\r\n" HOST "\r\n");
    r1 = http_recv_response(fd, 3000);
    r2 = http_recv_response(fd, 3000);
    r3 = http_recv_response(fd, 3000);
    r4 = http_recv_response(fd, 3000);
    ck_assert_int_eq(http_status(r1), 200);
    ck_assert(strstr(http_body(r1), "\"status\":\"ok\"") != NULL);
    assert_json_error(r2, 405, "method_not_allowed");
    assert_json_error(r3, 405, "method_not_allowed");
    ck_assert_int_eq(http_status(r4), 200);
    ck_assert(http_header(r4, "X-Userapid-Status", v, sizeof(v)));
    ck_assert(!http_closed(fd, 0));
    free(r1);
    free(r2);
    free(r3);
    free(r4);
    close(fd);
}
END_TEST

START_TEST(test_expect_100_continue)
{
    int   fd = http_connect(d.port);
    char *r;

    http_send_str(fd, "PUT /status HTTP/1.1\r\n" HOST
        "Content-Length: 4\r\nExpect: 100-continue\r\n\r\n");
    r = http_recv_response(fd, 3000);
    ck_assert_str_eq(r, "HTTP/1.1 100 Continue\r\n\r\n");
    free(r);
    http_send_str(fd, "abcd");
    r = http_recv_response(fd, 3000);
    assert_json_error(r, 405, "method_not_allowed");
    free(r);
    close(fd);
}
END_TEST

START_TEST(test_request_split_into_single_bytes)
{
    const char *req = "GET /status HTTP/1.1\r\n" HOST "\r\n";
    int         fd = http_connect(d.port);
    char       *r;
    size_t      i;

    for (i = 0; req[i] != '\0'; i++) {
        http_send(fd, req + i, 1);
        usleep(2000);
    }
    r = http_recv_response(fd, 3000);
    ck_assert_int_eq(http_status(r), 200);
    free(r);
    close(fd);
}
END_TEST

START_TEST(test_max_connections_enforced)
{
    int   fds[8], fd, i;
    char *r;

    /* Earlier connections (the readiness probes) may still be closing:
     * wait until /status counts only its own. */
    for (i = 0; i < 100; i++) {
        r = ask("GET /status HTTP/1.1\r\n" HOST "Connection: close\r\n\r\n");
        fd = strstr(http_body(r), "\"connections\":1}") != NULL;
        free(r);
        if (fd)
            break;
        usleep(20000);
    }
    usleep(100000);     /* and for that one to close too */
    /* max_connections = 8 in this config; fill it with idle connections. */
    for (i = 0; i < 8; i++) {
        fds[i] = http_connect(d.port);
        ck_assert_int_ge(fds[i], 0);
    }
    usleep(200000);
    fd = http_connect(d.port);
    r = http_recv_all(fd, 3000, NULL);
    assert_json_error(r, 503, "service_unavailable");
    free(r);
    close(fd);
    close(fds[0]);
    usleep(200000);
    r = ask("GET /status HTTP/1.1\r\n" HOST "Connection: close\r\n\r\n");
    ck_assert_int_eq(http_status(r), 200);
    free(r);
    for (i = 1; i < 8; i++)
        close(fds[i]);
}
END_TEST

START_TEST(test_access_log_carries_request_id)
{
    char *r = ask("GET /status?x=1 HTTP/1.1\r\n" HOST "Connection: close\r\n\r\n");
    char  id[64], want[128], *log;
    int   i;

    ck_assert(http_header(r, "X-Request-Id", id, sizeof(id)));
    snprintf(want, sizeof(want), "127.0.0.1 \"GET /status\" 200 ");
    for (i = 0; i < 50; i++) {
        log = daemon_log(&d);
        if (strstr(log, id) != NULL)
            break;
        free(log);
        log = NULL;
        usleep(20000);
    }
    ck_assert_ptr_nonnull(log);
    ck_assert(strstr(log, want) != NULL);
    /* The query string is not logged. */
    ck_assert(strstr(log, "x=1") == NULL);
    free(log);
    free(r);
}
END_TEST

START_TEST(test_unknown_expectation_is_417)
{
    char *r = ask("PUT /status HTTP/1.1\r\n" HOST "Content-Length: 2\r\n"
        "Expect: 200-ok\r\n\r\nab");

    assert_json_error(r, 417, "expectation_failed");
    free(r);
}
END_TEST

START_TEST(test_http_2_0_is_505)
{
    char *r = ask("GET /status HTTP/2.0\r\n" HOST "\r\n");

    assert_json_error(r, 505, "http_version_not_supported");
    free(r);
}
END_TEST

START_TEST(test_gzip_transfer_coding_is_501)
{
    char *r = ask("PUT /status HTTP/1.1\r\n" HOST
        "Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n");

    assert_json_error(r, 501, "not_implemented");
    free(r);
}
END_TEST

START_TEST(test_absolute_form_target_is_served)
{
    char *r = ask("GET http://t/status HTTP/1.1\r\n" HOST "\r\n");

    ck_assert_int_eq(http_status(r), 200);
    ck_assert(strstr(http_body(r), "\"status\":\"ok\"") != NULL);
    free(r);
}
END_TEST

static Suite *
daemon_suite(void)
{
    Suite *s = suite_create("daemon");
    TCase *tc = tcase_create("http");

    tcase_add_checked_fixture(tc, start_default, stop_default);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_head_root_reports_status);
    tcase_add_test(tc, test_head_root_with_curl);
    tcase_add_test(tc, test_get_status_json);
    tcase_add_test(tc, test_unknown_path_is_404);
    tcase_add_test(tc, test_known_method_on_wrong_path_is_405_with_allow);
    tcase_add_test(tc, test_unknown_method_is_501);
    tcase_add_test(tc, test_request_line_over_8k_is_414);
    tcase_add_test(tc, test_headers_over_16k_is_431);
    tcase_add_test(tc, test_more_than_100_fields_is_431);
    tcase_add_test(tc, test_body_over_max_is_413_before_body);
    tcase_add_test(tc, test_chunked_body_over_max_is_413);
    tcase_add_test(tc, test_stalled_head_is_408);
    tcase_add_test(tc, test_content_length_with_transfer_encoding_is_400);
    tcase_add_test(tc, test_conflicting_content_lengths_are_400);
    tcase_add_test(tc, test_bad_chunk_is_400);
    tcase_add_test(tc, test_missing_host_in_http11_is_400);
    tcase_add_test(tc, test_bad_syntax_is_400);
    tcase_add_test(tc, test_http10_without_host_closes);
    tcase_add_test(tc, test_http10_keep_alive_is_honoured);
    tcase_add_test(tc, test_a_close_is_at_once_unread_input_lingers);
    tcase_add_test(tc, test_connection_is_reused);
    tcase_add_test(tc, test_curl_reuses_the_connection);
    tcase_add_test(tc, test_pipelined_requests_answered_in_order);
    tcase_add_test(tc, test_expect_100_continue);
    tcase_add_test(tc, test_request_split_into_single_bytes);
    tcase_add_test(tc, test_max_connections_enforced);
    tcase_add_test(tc, test_access_log_carries_request_id);
    tcase_add_test(tc, test_unknown_expectation_is_417);
    tcase_add_test(tc, test_http_2_0_is_505);
    tcase_add_test(tc, test_gzip_transfer_coding_is_501);
    tcase_add_test(tc, test_absolute_form_target_is_served);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(daemon_suite());
    int      failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
