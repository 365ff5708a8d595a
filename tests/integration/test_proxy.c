/* SPDX-License-Identifier: MIT */
/*
 * test_proxy.c - userapid behind a reverse proxy: X-Forwarded-For and
 * friends from trusted_proxies only, the PROXY protocol (v1 and v2, with
 * and without TLS) on `proxy` listeners, and the nginx recipe of
 * docs/nginx-userapid.conf run for real (nginx from Debian's nginx-light),
 * showing that two clients behind it are throttled apart.
 *
 * Loopback addresses stand for hosts: 127.0.0.1 is the proxy, 127.0.0.2
 * and up are clients.
 */
#include <check.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

static struct daemon d;
static int           extra_port;

static char *
sh(const char *fmt, ...)
{
    char    cmd[8192], *out;
    va_list ap;
    int     st;

    va_start(ap, fmt);
    vsnprintf(cmd, sizeof(cmd), fmt, ap);
    va_end(ap);
    out = run_cmd(&st, "%s", cmd);
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "%s: status %d: %s",
        cmd, st, out);
    return out;
}

static void
teardown(void)
{
    daemon_cleanup(&d);
}

/* Starts the daemon with a plain listener and, when flags is not NULL, a
 * second one with those flags on extra_port. */
static void
start(const char *flags, const char *extra)
{
    struct daemon_opts o = { 0 };
    char               lines[256], more[1024];

    daemon_prepare(&d, &o);
    extra_port = harness_free_port();
    snprintf(lines, sizeof(lines), "listen = 127.0.0.1:%d\n", d.port);
    if (flags != NULL)
        snprintf(lines + strlen(lines), sizeof(lines) - strlen(lines),
            "listen = 127.0.0.1:%d %s\n", extra_port, flags);
    snprintf(more, sizeof(more), "password_cost = 1\n%s", extra ? extra : "");
    daemon_write_conf_listen(&d, 2, lines, more);
    daemon_start(&d, &o);
}

/* Whether the access log has a line for "method path" from addr. */
static int
logged_from(const char *addr, const char *what)
{
    char  pat[256], *log;
    int   found;

    sleep_ms(150);
    snprintf(pat, sizeof(pat), "info: %s \"%s\"", addr, what);
    log = daemon_log(&d);
    found = strstr(log, pat) != NULL;
    free(log);
    return found;
}

static char *
login_req(const char *email, const char *pw, const char *more)
{
    static char req[1024];
    char        body[256];

    snprintf(body, sizeof(body), "{\"email\":\"%s\",\"password\":\"%s\"}", email, pw);
    snprintf(req, sizeof(req), "POST / HTTP/1.1\r\nHost: t\r\n%sConnection: close\r\n"
        "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
        more, strlen(body), body);
    return req;
}

static void
create(const char *email, const char *pw)
{
    char body[256], req[1024], *r;

    snprintf(body, sizeof(body), "{\"email\":\"%s\",\"password\":\"%s\"}", email, pw);
    snprintf(req, sizeof(req), "PUT / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n"
        "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
        strlen(body), body);
    r = http_exchange(d.port, req, 5000);
    ck_assert_int_eq(http_status(r), 201);
    free(r);
}

/* n registrations at once (tag-N@example.com), each on its own
 * connection, with header more (may be ""); counts the 201s and the
 * 503s, which must be all of them. */
static void
puts_at_once(int n, const char *tag, const char *more, int *ok, int *busy)
{
    char  body[128], req[1024], *r;
    int   fds[64], i;

    ck_assert_int_le(n, 64);
    *ok = *busy = 0;
    for (i = 0; i < n; i++) {
        fds[i] = http_connect(d.port);
        ck_assert_int_ge(fds[i], 0);
    }
    for (i = 0; i < n; i++) {
        snprintf(body, sizeof(body), "{\"email\":\"%s-%d@example.com\","
            "\"password\":\"password1\"}", tag, i);
        snprintf(req, sizeof(req), "PUT / HTTP/1.1\r\nHost: t\r\n%s"
            "Connection: close\r\nContent-Type: application/json\r\n"
            "Content-Length: %zu\r\n\r\n%s", more, strlen(body), body);
        http_send_str(fds[i], req);
    }
    for (i = 0; i < n; i++) {
        r = http_recv_response(fds[i], 10000);
        ck_assert_ptr_nonnull(r);
        if (http_status(r) == 503) {
            ck_assert_msg(strstr(r, "too many requests from your address at "
                "once") != NULL && strstr(r, "\r\nRetry-After: 1\r\n") != NULL,
                "%s", r);
            (*busy)++;
        } else {
            ck_assert_msg(http_status(r) == 201, "%s", r);
            (*ok)++;
        }
        free(r);
        close(fds[i]);
    }
}

/* max_connections_per_ip holds for a client behind a trusted proxy, as its
 * requests in flight; not for the proxy itself. */
START_TEST(test_forwarded_clients_are_held_to_the_per_address_cap)
{
    int ok, busy;

    start(NULL, "trusted_proxies = 127.0.0.1\nmax_connections_per_ip = 2\n");
    puts_at_once(48, "a", "X-Forwarded-For: 203.0.113.7\r\n", &ok, &busy);
    fprintf(stderr, "test_proxy: 48 registrations at once from one forwarded "
        "client, max_connections_per_ip = 2: %d x 201, %d x 503\n", ok, busy);
    ck_assert_int_ge(ok, 2);
    ck_assert_int_ge(busy, 1);
    ck_assert_int_eq(ok + busy, 48);
    /* Its slots came back; the proxy's own requests are not held. */
    puts_at_once(1, "b", "X-Forwarded-For: 203.0.113.7\r\n", &ok, &busy);
    ck_assert_int_eq(ok, 1);
    puts_at_once(48, "c", "", &ok, &busy);
    ck_assert_int_eq(ok, 48);
    ck_assert_int_eq(busy, 0);
}
END_TEST

/* ---- X-Forwarded-For ---------------------------------------------------- */

START_TEST(test_forwarded_headers_from_trusted_proxies_only)
{
    char v[128], *r;

    start(NULL, "trusted_proxies = 127.0.0.1\nlogin_max_failures = 2\n");
    create("victim@example.com", "password1");
    /* From the trusted proxy: the right-most untrusted entry is the client. */
    r = http_exchange_from(d.port, "127.0.0.1", "GET /status HTTP/1.1\r\nHost: t\r\n"
        "X-Forwarded-For: 203.0.113.9, 198.51.100.7\r\nX-Request-Id: abc-123.X_y\r\n"
        "Connection: close\r\n\r\n", 3000);
    ck_assert_int_eq(http_status(r), 200);
    ck_assert(http_header(r, "X-Request-Id", v, sizeof(v)));
    ck_assert_str_eq(v, "abc-123.X_y");
    free(r);
    ck_assert(logged_from("198.51.100.7", "GET /status"));
    /* An untrusted peer's headers are ignored. */
    r = http_exchange_from(d.port, "127.0.0.5", "GET /status HTTP/1.1\r\nHost: t\r\n"
        "X-Forwarded-For: 198.51.100.99\r\nX-Request-Id: chosen-by-client\r\n"
        "Connection: close\r\n\r\n", 3000);
    ck_assert(http_header(r, "X-Request-Id", v, sizeof(v)));
    ck_assert_str_ne(v, "chosen-by-client");
    free(r);
    ck_assert(logged_from("127.0.0.5", "GET /status"));
    ck_assert(!logged_from("198.51.100.99", "GET /status"));
    /* A request id of other characters is replaced. */
    r = http_exchange_from(d.port, "127.0.0.1", "GET /status HTTP/1.1\r\nHost: t\r\n"
        "X-Request-Id: a b\r\nConnection: close\r\n\r\n", 3000);
    ck_assert(http_header(r, "X-Request-Id", v, sizeof(v)));
    ck_assert_int_eq((int)strlen(v), 16);
    free(r);
    /* X-Forwarded-Proto: https makes the cookie Secure. */
    r = http_exchange_from(d.port, "127.0.0.1", login_req("victim@example.com",
        "password1", "X-Forwarded-For: 198.51.100.7\r\nX-Forwarded-Proto: https\r\n"), 5000);
    ck_assert_int_eq(http_status(r), 200);
    ck_assert(strstr(r, "; Max-Age=3600; Secure\r\n") != NULL);
    free(r);
    /* Two clients behind the proxy are throttled apart. */
    r = http_exchange_from(d.port, "127.0.0.1", login_req("victim@example.com",
        "wrong", "X-Forwarded-For: 192.0.2.1\r\n"), 5000);
    ck_assert_int_eq(http_status(r), 401);
    free(r);
    r = http_exchange_from(d.port, "127.0.0.1", login_req("victim@example.com",
        "wrong", "X-Forwarded-For: 192.0.2.1\r\n"), 5000);
    ck_assert_int_eq(http_status(r), 401);
    free(r);
    r = http_exchange_from(d.port, "127.0.0.1", login_req("victim@example.com",
        "password1", "X-Forwarded-For: 192.0.2.1\r\n"), 5000);
    ck_assert_int_eq(http_status(r), 429);
    free(r);
    /* ... even when it claims to be the other one, to the left. */
    r = http_exchange_from(d.port, "127.0.0.1", login_req("victim@example.com",
        "password1", "X-Forwarded-For: 192.0.2.2, 192.0.2.1\r\n"), 5000);
    ck_assert_int_eq(http_status(r), 429);
    free(r);
    r = http_exchange_from(d.port, "127.0.0.1", login_req("victim@example.com",
        "password1", "X-Forwarded-For: 192.0.2.2\r\n"), 5000);
    ck_assert_int_eq(http_status(r), 200);
    free(r);
}
END_TEST

/* ---- PROXY protocol ----------------------------------------------------- */

static char *
proxy_exchange(const void *hdr, size_t hlen, const char *req)
{
    int   fd = http_connect(extra_port);
    char *r;

    ck_assert_int_ge(fd, 0);
    http_send(fd, hdr, hlen);
    if (req != NULL)
        http_send_str(fd, req);
    r = http_recv_all(fd, 3000, NULL);
    close(fd);
    return r;
}

START_TEST(test_proxy_protocol_v1_and_v2)
{
    static const char v1[] = "PROXY TCP4 192.0.2.44 127.0.0.1 51000 80\r\n";
    /* v2: signature, PROXY over TCP4, 12 bytes: 198.51.100.23 -> 127.0.0.1. */
    static const unsigned char v2[] = {
        0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a,
        0x21, 0x11, 0x00, 0x0c,
        198, 51, 100, 23, 127, 0, 0, 1, 0xc3, 0x50, 0x00, 0x50,
    };
    static const char req[] = "GET /status HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n";
    char *r;

    start("proxy", NULL);
    r = proxy_exchange(v1, strlen(v1), req);
    ck_assert_int_eq(http_status(r), 200);
    free(r);
    ck_assert(logged_from("192.0.2.44", "GET /status"));
    r = proxy_exchange(v2, sizeof(v2), req);
    ck_assert_int_eq(http_status(r), 200);
    free(r);
    ck_assert(logged_from("198.51.100.23", "GET /status"));
    /* The header and the request in one write, or the request alone
     * without a header: only the first is served. */
    {
        char both[512];

        snprintf(both, sizeof(both), "%s%s", v1, req);
        r = proxy_exchange(both, strlen(both), NULL);
        ck_assert_int_eq(http_status(r), 200);
        free(r);
    }
    r = proxy_exchange(req, strlen(req), NULL);
    ck_assert_int_eq(http_status(r), -1);
    free(r);
    /* Malformed: closed without an answer. */
    r = proxy_exchange("PROXY TCP4 192.0.2.44 127.0.0.1 051000 80\r\n", 43, req);
    ck_assert_int_eq(http_status(r), -1);
    free(r);
    /* The plain listener does not read PROXY headers. */
    r = http_exchange(d.port, "PROXY TCP4 192.0.2.44 127.0.0.1 51000 80\r\n"
        "GET /status HTTP/1.1\r\nHost: t\r\n\r\n", 3000);
    ck_assert_int_ne(http_status(r), 200);
    free(r);
}
END_TEST

/* A client that never completes its PROXY header is closed after
 * header_timeout (2 s in the harness). */
START_TEST(test_proxy_header_times_out)
{
    int fd;

    start("proxy", NULL);
    fd = http_connect(extra_port);
    ck_assert_int_ge(fd, 0);
    http_send_str(fd, "PROXY TCP4 192.0");
    ck_assert(!http_closed(fd, 1000));
    ck_assert(http_closed(fd, 3000));
    close(fd);
}
END_TEST

/* PROXY then TLS, as HAProxy sends it to a TLS backend (curl plays the
 * proxy here). */
START_TEST(test_proxy_protocol_before_tls)
{
    char *out;

    {
        struct daemon_opts o = { 0 };
        char               lines[256], more[2048];

        daemon_prepare(&d, &o);
        extra_port = harness_free_port();
        free(sh("cd %s && openssl req -x509 -newkey ec -pkeyopt "
            "ec_paramgen_curve:prime256v1 -nodes -keyout ca.key -out ca.crt -days 2 "
            "-subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 2>/dev/null",
            d.dir));
        snprintf(lines, sizeof(lines), "listen = 127.0.0.1:%d\n"
            "listen = 127.0.0.1:%d tls proxy\n", d.port, extra_port);
        snprintf(more, sizeof(more), "tls_certificate = %s/ca.crt\n"
            "tls_key = %s/ca.key\n", d.dir, d.dir);
        daemon_write_conf_listen(&d, 2, lines, more);
        daemon_start(&d, &o);
    }
    out = sh("curl -sS -o /dev/null -w '%%{http_code}' --haproxy-protocol "
        "--interface 127.0.0.7 --cacert %s/ca.crt https://127.0.0.1:%d/status",
        d.dir, extra_port);
    ck_assert_str_eq(out, "200");
    free(out);
    ck_assert(logged_from("127.0.0.7", "GET /status"));
}
END_TEST

/* ---- the nginx recipe --------------------------------------------------- */

START_TEST(test_nginx_recipe_throttles_two_clients_apart)
{
    char  conf[8192], *out, *recipe;
    int   nport, i, st;
    pid_t nginx;

    start(NULL, "trusted_proxies = 127.0.0.1\nlogin_max_failures = 3\n");
    create("victim@example.com", "password1");
    nport = harness_free_port();
    free(sh("cd %s && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 "
        "-nodes -keyout api.key -out api.pem -days 2 -subj /CN=127.0.0.1 "
        "-addext subjectAltName=IP:127.0.0.1 2>/dev/null && mkdir -p nginx-tmp", d.dir));
    /* The recipe as it is, with this test's ports and certificate. */
    recipe = sh("sed -e 's|127.0.0.1:8080|127.0.0.1:%d|' "
        "-e 's|listen 443 ssl|listen 127.0.0.1:%d ssl|' "
        "-e 's|/etc/ssl/certs/api.example.com.pem|%s/api.pem|' "
        "-e 's|/etc/ssl/private/api.example.com.key|%s/api.key|' %s/docs/nginx-userapid.conf",
        d.port, nport, d.dir, d.dir, getenv("USERAPID_SRCDIR"));
    snprintf(conf, sizeof(conf), "%s/nginx.conf", d.dir);
    {
        FILE *fp = fopen(conf, "w");

        ck_assert_ptr_nonnull(fp);
        fprintf(fp, "daemon off;\nmaster_process off;\npid %s/nginx.pid;\n"
            "error_log %s/nginx-error.log;\nevents { worker_connections 64; }\n"
            "http {\n access_log off;\n client_body_temp_path %s/nginx-tmp;\n"
            " proxy_temp_path %s/nginx-tmp;\n fastcgi_temp_path %s/nginx-tmp;\n"
            " uwsgi_temp_path %s/nginx-tmp;\n scgi_temp_path %s/nginx-tmp;\n%s\n}\n",
            d.dir, d.dir, d.dir, d.dir, d.dir, d.dir, d.dir, recipe);
        ck_assert_int_eq(fclose(fp), 0);
    }
    free(recipe);
    nginx = fork();
    ck_assert_int_ge(nginx, 0);
    if (nginx == 0) {
        execl("/usr/sbin/nginx", "nginx", "-c", conf, "-p", d.dir, (char *)NULL);
        _exit(127);
    }
    for (i = 0; i < 50; i++) {
        out = run_cmd(&st, "curl -s -o /dev/null -w '%%{http_code}' --cacert %s/api.pem "
            "https://127.0.0.1:%d/status", d.dir, nport);
        if (strcmp(out, "200") == 0) {
            free(out);
            break;
        }
        free(out);
        sleep_ms(100);
    }
    ck_assert_msg(i < 50, "nginx did not come up");
#define LOGIN(src, pw, more) sh("curl -s -o /dev/null -w '%%{http_code}' --interface %s " \
        "--cacert %s/api.pem %s -H 'Content-Type: application/json' " \
        "-d '{\"email\":\"victim@example.com\",\"password\":\"%s\"}' https://127.0.0.1:%d/", \
        src, d.dir, more, pw, nport)
    /* Client A guesses until it is locked out... */
    for (i = 0; i < 3; i++) {
        out = LOGIN("127.0.0.2", "wrong", "");
        ck_assert_str_eq(out, "401");
        free(out);
    }
    out = LOGIN("127.0.0.2", "password1", "");
    ck_assert_str_eq(out, "429");
    free(out);
    /* ... and cannot pass for B with a header of its own. */
    out = LOGIN("127.0.0.2", "password1", "-H 'X-Forwarded-For: 127.0.0.3'");
    ck_assert_str_eq(out, "429");
    free(out);
    /* Client B, behind the same nginx, logs in. */
    out = LOGIN("127.0.0.3", "password1", "");
    ck_assert_str_eq(out, "200");
    free(out);
#undef LOGIN
    ck_assert(logged_from("127.0.0.2", "POST /"));
    ck_assert(logged_from("127.0.0.3", "POST /"));
    /* nginx's request id reaches the client, and the cookie is Secure. */
    out = sh("curl -s -i --cacert %s/api.pem -H 'Content-Type: application/json' "
        "-d '{\"email\":\"victim@example.com\",\"password\":\"password1\"}' "
        "--interface 127.0.0.4 https://127.0.0.1:%d/", d.dir, nport);
    ck_assert_msg(strstr(out, "; Secure\r\n") != NULL, "%s", out);
    {
        const char *id = strstr(out, "X-Request-Id: ");

        ck_assert_ptr_nonnull(id);
        ck_assert_int_eq((int)strcspn(id + 14, "\r"), 32);
    }
    free(out);
    kill(nginx, SIGTERM);
    waitpid(nginx, &st, 0);
}
END_TEST

int
main(void)
{
    Suite   *s = suite_create("proxy");
    TCase   *tc = tcase_create("proxy");
    SRunner *sr;
    int      failed;

    tcase_add_checked_fixture(tc, NULL, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_forwarded_headers_from_trusted_proxies_only);
    tcase_add_test(tc, test_forwarded_clients_are_held_to_the_per_address_cap);
    tcase_add_test(tc, test_proxy_protocol_v1_and_v2);
    tcase_add_test(tc, test_proxy_header_times_out);
    tcase_add_test(tc, test_proxy_protocol_before_tls);
    tcase_add_test(tc, test_nginx_recipe_throttles_two_clients_apart);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
