/* SPDX-License-Identifier: MIT */
/*
 * test_tls.c - userapid serving TLS itself: every route over HTTPS with
 * curl against a CA the test makes with the openssl command, refused old
 * protocols and plain HTTP, resumption across workers, certificate
 * rotation on SIGHUP with a connection kept open, a bad new key, a stalled
 * handshake, and the configuration errors.
 *
 * Each test runs the daemon with a plain listener (the harness waits on
 * it) and a TLS one on another port.
 */
#include <check.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

static struct daemon d;
static int           tls_port;
static char          admin_pw[64];

/* Runs a shell command that must succeed; returns its stdout. */
static char *
sh(const char *fmt, ...)
{
    char    cmd[4096], *out;
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

/* A CA, and a server certificate NAME.crt/NAME.key for 127.0.0.1 and
 * localhost signed by it, in d.dir. */
static void
make_cert(const char *name)
{
    free(sh("cd %s && { [ -f ca.key ] || openssl req -x509 -newkey ec "
        "-pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout ca.key -out ca.crt "
        "-days 2 -subj /CN=userapid-test-ca; } 2>/dev/null && "
        "openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
        "-keyout %s.key -out %s.csr -subj /CN=%s 2>/dev/null && "
        "printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\\n' > %s.ext && "
        "openssl x509 -req -in %s.csr -CA ca.crt -CAkey ca.key -CAcreateserial "
        "-out %s.crt -days 2 -extfile %s.ext 2>/dev/null && chmod 600 %s.key",
        d.dir, name, name, name, name, name, name, name, name));
}

static void
write_conf(const char *cert, const char *extra)
{
    char lines[256], more[1024];

    snprintf(lines, sizeof(lines), "listen = 127.0.0.1:%d\nlisten = 127.0.0.1:%d tls\n",
        d.port, tls_port);
    snprintf(more, sizeof(more), "password_cost = 1\ntls_certificate = %s/%s.crt\n"
        "tls_key = %s/%s.key\n%s", d.dir, cert, d.dir, cert, extra ? extra : "");
    daemon_write_conf_listen(&d, 2, lines, more);
}

static void
start(const char *extra)
{
    struct daemon_opts o = { .notify = 1 };
    char               path[400];
    FILE              *fp;

    daemon_prepare(&d, &o);
    tls_port = harness_free_port();
    make_cert("one");
    write_conf("one", extra);
    daemon_start(&d, &o);
    snprintf(path, sizeof(path), "%s/initial-admin-password", d.state_dir);
    fp = fopen(path, "r");
    ck_assert_ptr_nonnull(fp);
    ck_assert_ptr_nonnull(fgets(admin_pw, sizeof(admin_pw), fp));
    fclose(fp);
    admin_pw[strcspn(admin_pw, "\n")] = '\0';
}

static void
teardown(void)
{
    daemon_cleanup(&d);
}

/* curl over TLS: "STATUS\n" then the response headers and body, as -i. */
static char *
curl_tls(const char *opts, const char *path)
{
    return sh("curl -sS -i --max-time 10 --cacert %s/ca.crt -w '\\n%%{http_code}' "
        "%s 'https://127.0.0.1:%d%s'", d.dir, opts, tls_port, path);
}

static int
curl_status(const char *out)
{
    const char *nl = strrchr(out, '\n');

    return nl != NULL ? atoi(nl + 1) : -1;
}

/* X-Userapid-Workers of HEAD / on the plain listener. */
static const char *
head_workers(void)
{
    static char v[32];
    char       *r = http_exchange(d.port, "HEAD / HTTP/1.1\r\nHost: t\r\n"
        "Connection: close\r\n\r\n", 3000);

    if (r == NULL || !http_header(r, "X-Userapid-Workers", v, sizeof(v)))
        v[0] = '\0';
    free(r);
    return v;
}

START_TEST(test_every_route_over_tls)
{
    char  cmd[1024], token[128], *out, *t;

    start("hsts_max_age = 31536000\n");
    out = curl_tls("-I", "/");
    ck_assert_int_eq(curl_status(out), 200);
    ck_assert_ptr_nonnull(strstr(out, "X-Userapid-Status: ok\r\n"));
    ck_assert_ptr_nonnull(strstr(out, "Strict-Transport-Security: max-age=31536000\r\n"));
    free(out);
    out = curl_tls("", "/status");
    ck_assert_int_eq(curl_status(out), 200);
    free(out);
    out = curl_tls("-X PUT -d email=tls@example.com -d password=password1", "/");
    ck_assert_int_eq(curl_status(out), 201);
    free(out);
    snprintf(cmd, sizeof(cmd), "-d email=admin@localhost -d password=%s", admin_pw);
    out = curl_tls(cmd, "/");
    ck_assert_int_eq(curl_status(out), 200);
    /* On a TLS connection the cookie is Secure without cookie_secure. */
    ck_assert_msg(strstr(out, "; HttpOnly; SameSite=Strict; Max-Age=3600; Secure\r\n")
        != NULL, "%s", out);
    t = strstr(out, "\"token\":\"");
    ck_assert_ptr_nonnull(t);
    snprintf(token, sizeof(token), "%.43s", t + 9);
    free(out);
    snprintf(cmd, sizeof(cmd), "-H 'Authorization: Bearer %s'", token);
    out = curl_tls(cmd, "/");
    ck_assert_int_eq(curl_status(out), 200);
    ck_assert_ptr_nonnull(strstr(out, "\"email\":\"tls@example.com\""));
    free(out);
    snprintf(cmd, sizeof(cmd), "-H 'Authorization: Bearer %s'", token);
    out = curl_tls(cmd, "/users/tls@example.com");
    ck_assert_int_eq(curl_status(out), 200);
    free(out);
    snprintf(cmd, sizeof(cmd), "-X PATCH -H 'Authorization: Bearer %s' "
        "-H 'Content-Type: application/json' -d '{\"role\":\"admin\"}'", token);
    out = curl_tls(cmd, "/users/tls@example.com");
    ck_assert_int_eq(curl_status(out), 200);
    free(out);
    snprintf(cmd, sizeof(cmd), "-X DELETE -H 'Authorization: Bearer %s'", token);
    out = curl_tls(cmd, "/users/tls@example.com");
    ck_assert_int_eq(curl_status(out), 204);
    free(out);
    snprintf(cmd, sizeof(cmd), "-X DELETE -H 'Authorization: Bearer %s'", token);
    out = curl_tls(cmd, "/session");
    ck_assert_int_eq(curl_status(out), 204);
    ck_assert_ptr_nonnull(strstr(out, "Set-Cookie: userapid_session=; Path=/; HttpOnly; "
        "SameSite=Strict; Max-Age=0; Secure\r\n"));
    free(out);
    /* The plain listener: no HSTS, no Secure. */
    out = sh("curl -sS -i -d email=admin@localhost -d password=%s http://127.0.0.1:%d/",
        admin_pw, d.port);
    ck_assert_ptr_null(strstr(out, "Strict-Transport-Security"));
    ck_assert_ptr_nonnull(strstr(out, "Max-Age=3600\r\n"));
    free(out);
}
END_TEST

/* An SSLv3 ClientHello (RFC 6101) offering TLS_RSA_WITH_AES_128_CBC_SHA
 * and 3DES gets a fatal alert (record 21, level 2) or nothing, and the
 * connection is closed. */
static void
sslv3_refused(void)
{
    static const unsigned char hello[] = {
        0x16, 0x03, 0x00, 0x00, 0x2f,               /* handshake, SSL 3.0 */
        0x01, 0x00, 0x00, 0x2b, 0x03, 0x00,         /* ClientHello, 3.0 */
        1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
        17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32,
        0x00,                                       /* no session id */
        0x00, 0x04, 0x00, 0x2f, 0x00, 0x0a,         /* two suites */
        0x01, 0x00,                                 /* no compression */
    };
    char   *in;
    size_t  len = 0;
    int     fd = http_connect(tls_port);

    ck_assert_int_ge(fd, 0);
    http_send(fd, (const char *)hello, sizeof(hello));
    in = http_recv_all(fd, 3000, &len);
    /* Either nothing, or a fatal alert (OpenSSL says handshake_failure,
     * 40, to a hello without a version it takes; protocol_version is 70);
     * never a ServerHello (22). */
    ck_assert_msg(len == 0 || (len == 7 && (unsigned char)in[0] == 21 &&
        (unsigned char)in[5] == 2 && ((unsigned char)in[6] == 40 ||
        (unsigned char)in[6] == 70)), "%zu bytes, the first %d", len,
        len > 0 ? (unsigned char)in[0] : -1);
    free(in);
    ck_assert(http_closed(fd, 1000));
    close(fd);
}

/* TLS 1.1, SSLv3 and plain HTTP get no service and no lingering slot. */
START_TEST(test_old_protocols_and_plain_http_are_refused_at_once)
{
    char *out;
    long  n = 0;
    int   st, i;

    start(NULL);
    out = run_cmd(&st, "echo | openssl s_client -connect 127.0.0.1:%d -tls1_1 "
        "-cipher DEFAULT@SECLEVEL=0 2>&1", tls_port);
    ck_assert_int_ne(WEXITSTATUS(st), 0);
    ck_assert_msg(strstr(out, "alert protocol version") != NULL ||
        strstr(out, "no protocols available") != NULL, "%s", out);
    free(out);
    /* Debian's openssl cannot speak SSLv3 any more: the ClientHello is
     * written here, and the answer is a fatal alert, then the end of the
     * connection. */
    sslv3_refused();
    for (i = 0; i < 20; i++) {
        out = http_exchange(tls_port, "GET / HTTP/1.1\r\nHost: t\r\n\r\n", 3000);
        /* Closed without an answer: nothing that parses as HTTP. */
        ck_assert_int_eq(http_status(out), -1);
        free(out);
    }
    /* Nothing left counted but the asking connection, before the 2 s
     * header_timeout would have ended a lingering one.  Each look is a
     * connection too, still closing when the next look comes at once:
     * the looks are 100 ms apart, and the one that saw 1 decides. */
    for (i = 0; i < 15 && (n = daemon_connections(&d)) != 1; i++)
        sleep_ms(100);
    ck_assert_int_eq(n, 1);
}
END_TEST

/* The pid of the worker that answered the last request of a TLS session,
 * from its access log line; and whether the session was resumed. */
static int
tls_request(const char *sess_flag, const char *sess_file, pid_t *pid)
{
    char *out, *log, *p, *last = NULL;
    int   reused, st;

    out = run_cmd(&st, "(printf 'HEAD /status HTTP/1.1\\r\\nHost: t\\r\\n\\r\\n'; "
        "sleep 0.3) | openssl s_client -connect 127.0.0.1:%d -CAfile %s/ca.crt "
        "%s %s/%s 2>/dev/null", tls_port, d.dir, sess_flag, d.dir, sess_file);
    ck_assert_msg(strstr(out, "HTTP/1.1 200 OK") != NULL, "%s", out);
    reused = strstr(out, "\nReused, TLSv1.3") != NULL;
    free(out);
    sleep_ms(100);
    log = daemon_log(&d);
    for (p = log; (p = strstr(p, "\"HEAD /status\" 200")) != NULL; p++)
        last = p;
    ck_assert_ptr_nonnull(last);
    while (last > log && *last != '[')
        last--;
    *pid = (pid_t)atoi(last + 1);
    free(log);
    return reused;
}

/*
 * A ticket made by one worker resumes on another: the issuing worker is
 * killed (the master respawns it), so the resumption cannot land on it.
 */
START_TEST(test_resumption_works_across_workers)
{
    pid_t first, again;
    int   i;

    start(NULL);
    ck_assert_int_eq(tls_request("-sess_out", "sess.pem", &first), 0);
    ck_assert_int_eq(kill(first, SIGKILL), 0);
    for (i = 0; i < 100 && strcmp(head_workers(), "2/2") != 0; i++)
        sleep_ms(50);
    for (i = 0; i < 4; i++) {
        ck_assert_msg(tls_request("-sess_in", "sess.pem", &again),
            "the session was not resumed (attempt %d)", i);
        ck_assert_int_ne(again, first);
    }
}
END_TEST

/*
 * Every TLS 1.3 resumption hands out a fresh ticket, so that a client that
 * uses each ticket once (RFC 8446 C.4: OpenSSL's own clients, browsers)
 * resumes again and again instead of falling back to a full handshake
 * every other time.  Each connection starts from the ticket the previous
 * one received.
 */
START_TEST(test_each_resumption_hands_out_a_fresh_ticket)
{
    char *out, *tickets[4], from[PATH_MAX + 16] = "";
    int   i, j, st;

    start(NULL);
    for (i = 0; i < 4; i++) {
        if (i > 0)
            snprintf(from, sizeof(from), "-sess_in %s/chain%d.pem", d.dir, i - 1);
        out = run_cmd(&st, "(printf 'HEAD /status HTTP/1.1\\r\\nHost: t\\r\\n\\r\\n'; "
            "sleep 0.3) | openssl s_client -connect 127.0.0.1:%d -CAfile %s/ca.crt "
            "%s -sess_out %s/chain%d.pem 2>/dev/null", tls_port, d.dir, from, d.dir, i);
        ck_assert_msg(strstr(out, "HTTP/1.1 200 OK") != NULL, "%s", out);
        ck_assert_msg((strstr(out, "\nReused, TLSv1.3") != NULL) == (i > 0),
            "connection %d: %s", i, out);
        ck_assert_msg(strstr(out, "Post-Handshake New Session Ticket arrived") != NULL,
            "connection %d got no ticket: %s", i, out);
        free(out);
        tickets[i] = sh("openssl sess_id -in %s/chain%d.pem -text -noout | "
            "sed -n '/TLS session ticket:/,/^$/p'", d.dir, i);
        ck_assert_msg(strlen(tickets[i]) > 100, "%s", tickets[i]);
        for (j = 0; j < i; j++)
            ck_assert_str_ne(tickets[i], tickets[j]);
    }
    for (i = 0; i < 4; i++)
        free(tickets[i]);
}
END_TEST

/*
 * Requests pipelined in several TLS records of one TCP segment (512-byte
 * records): the daemon reads a whole flight at once, and must answer what
 * waits in OpenSSL's buffer without a new edge from the socket.
 */
START_TEST(test_requests_in_records_of_one_segment_are_all_answered)
{
    char  req[4096] = "", *out, *p;
    int   i, st, n = 0;

    start(NULL);
    for (i = 0; i < 11; i++)
        snprintf(req + strlen(req), sizeof(req) - strlen(req),
            "GET /status HTTP/1.1\\r\\nHost: t\\r\\nX-Pad: %040d\\r\\n%s\\r\\n",
            i, i == 10 ? "Connection: close\\r\\n" : "");
    out = run_cmd(&st, "(printf '%s'; sleep 2) | timeout 10 openssl s_client "
        "-connect 127.0.0.1:%d -CAfile %s/ca.crt -max_send_frag 512 -quiet "
        "2>/dev/null", req, tls_port, d.dir);
    for (p = out; (p = strstr(p, "HTTP/1.1 200 OK\r\n")) != NULL; p++)
        n++;
    ck_assert_msg(n == 11, "%d answers: %s", n, out);
    free(out);
}
END_TEST

/* The SHA-256 fingerprint of the certificate served on the TLS port. */
static char *
served_fingerprint(void)
{
    return sh("echo | openssl s_client -connect 127.0.0.1:%d -CAfile %s/ca.crt "
        "2>/dev/null | openssl x509 -noout -fingerprint -sha256", tls_port, d.dir);
}

START_TEST(test_sighup_rotates_the_certificate_and_keeps_connections)
{
    char *fp1, *fp2, *want2, *out, *log;
    FILE *keep;
    int   i;

    start(NULL);
    fp1 = served_fingerprint();
    make_cert("two");
    want2 = sh("openssl x509 -in %s/two.crt -noout -fingerprint -sha256", d.dir);
    ck_assert_str_ne(fp1, want2);
    /* A keep-alive connection opened before the reload. */
    {
        char cmd[1024];

        snprintf(cmd, sizeof(cmd), "(printf 'GET /status HTTP/1.1\\r\\nHost: t\\r\\n\\r\\n'; "
            "sleep 2; printf 'GET /status HTTP/1.1\\r\\nHost: t\\r\\nConnection: close"
            "\\r\\n\\r\\n'; sleep 1) | openssl s_client -connect 127.0.0.1:%d "
            "-CAfile %s/ca.crt -quiet 2>/dev/null", tls_port, d.dir);
        keep = popen(cmd, "r");
        ck_assert_ptr_nonnull(keep);
    }
    sleep_ms(500);
    write_conf("two", NULL);
    d.notify_len = 0;
    kill(d.pid, SIGHUP);
    ck_assert(daemon_notify_wait(&d, "READY=1", 5000));
    /* Old workers may take a connection or two until they see the
     * retire signal: new ones get the new certificate right after. */
    for (i = 0; i < 20; i++) {
        fp2 = served_fingerprint();
        if (strcmp(fp2, want2) == 0)
            break;
        free(fp2);
        fp2 = NULL;
        sleep_ms(100);
    }
    ck_assert_msg(fp2 != NULL, "the new certificate is not served");
    /* The old connection answered both its requests. */
    {
        char   buf[8192];
        size_t n = fread(buf, 1, sizeof(buf) - 1, keep);
        char  *p = buf;

        buf[n] = '\0';
        pclose(keep);
        for (i = 0; (p = strstr(p, "HTTP/1.1 200 OK")) != NULL; p++)
            i++;
        ck_assert_msg(i == 2, "the kept connection got %d answers: %s", i, buf);
    }
    /* A bad key: logged, and the pair in use kept. */
    free(sh("cd %s && openssl genpkey -algorithm ec -pkeyopt ec_paramgen_curve:prime256v1 "
        "-out bad.key 2>/dev/null && cp two.crt bad.crt", d.dir));
    write_conf("bad", NULL);
    d.notify_len = 0;
    kill(d.pid, SIGHUP);
    ck_assert(daemon_notify_wait(&d, "READY=1", 5000));
    sleep_ms(300);
    out = served_fingerprint();
    ck_assert_str_eq(out, want2);
    free(out);
    sleep_ms(100);
    log = daemon_log(&d);
    ck_assert_msg(strstr(log, "; keeping the certificate and key in use") != NULL, "%s", log);
    free(log);
    free(fp1);
    free(fp2);
    free(want2);
}
END_TEST

/* A client that opens a TLS connection and never finishes the handshake
 * holds one slot until header_timeout (2 s in the harness). */
START_TEST(test_stalled_handshake_costs_one_slot_until_header_timeout)
{
    int fds[5], i;

    start(NULL);
    for (i = 0; i < 5; i++) {
        fds[i] = http_connect(tls_port);
        ck_assert_int_ge(fds[i], 0);
        /* Half a ClientHello record header. */
        http_send(fds[i], "\x16\x03\x01", 3);
    }
    sleep_ms(300);
    ck_assert_int_eq(daemon_connections(&d), 6);
    /* Served meanwhile. */
    {
        char *out = curl_tls("-I", "/");

        ck_assert_int_eq(curl_status(out), 200);
        free(out);
    }
    sleep_ms(2500);
    ck_assert_int_eq(daemon_connections(&d), 1);
    for (i = 0; i < 5; i++) {
        ck_assert(http_closed(fds[i], 1000));
        close(fds[i]);
    }
}
END_TEST

START_TEST(test_tls_configuration_errors)
{
    struct daemon_opts o = { 0 };
    char               lines[256], want[512], *out;
    int                st;

    daemon_prepare(&d, &o);
    tls_port = harness_free_port();
    snprintf(lines, sizeof(lines), "listen = 127.0.0.1:%d\nlisten = 127.0.0.1:%d tls\n",
        d.port, tls_port);
    daemon_write_conf_listen(&d, 2, lines, NULL);
    out = run_cmd(&st, "%s --config %s --check-config 2>&1", harness_bin(), d.conf);
    ck_assert_int_eq(WEXITSTATUS(st), 3);
    snprintf(want, sizeof(want), "userapid: %s:3: listen: \"127.0.0.1:%d tls\" needs "
        "tls_certificate and tls_key\n", d.conf, tls_port);
    ck_assert_str_eq(out, want);
    free(out);
    daemon_write_conf(&d, 2, "listen = 127.0.0.1:1 tsl\n");
    out = run_cmd(&st, "%s --config %s --check-config 2>&1", harness_bin(), d.conf);
    ck_assert_int_eq(WEXITSTATUS(st), 3);
    ck_assert_msg(strstr(out, ": listen: unknown flag \"tsl\" (tls, proxy)\n") != NULL, "%s", out);
    free(out);
    daemon_write_conf(&d, 2, "cookie_samesite = none\n");
    out = run_cmd(&st, "%s --config %s --check-config 2>&1", harness_bin(), d.conf);
    ck_assert_int_eq(WEXITSTATUS(st), 3);
    ck_assert_msg(strstr(out, "cookie_samesite = none needs a TLS listener or "
        "cookie_secure = yes") != NULL, "%s", out);
    free(out);
    daemon_write_conf(&d, 2, "tls_key = relative.key\n");
    out = run_cmd(&st, "%s --config %s --check-config 2>&1", harness_bin(), d.conf);
    ck_assert_int_eq(WEXITSTATUS(st), 3);
    ck_assert_msg(strstr(out, "tls_key: \"relative.key\" is not an absolute path or "
        "credential:NAME") != NULL, "%s", out);
    free(out);
    out = run_cmd(&st, "env -u CREDENTIALS_DIRECTORY %s --config %s --check-config "
        "--listen '127.0.0.1:1 tls' 2>&1", harness_bin(), d.conf);
    ck_assert_int_eq(WEXITSTATUS(st), 3);
    free(out);
    daemon_write_conf(&d, 2, "tls_key = credential:tls.key\n");
    out = run_cmd(&st, "env CREDENTIALS_DIRECTORY=/run/credentials/userapid.service "
        "%s --config %s --check-config 2>&1", harness_bin(), d.conf);
    ck_assert_int_eq(WEXITSTATUS(st), 0);
    free(out);
    out = run_cmd(&st, "env -u CREDENTIALS_DIRECTORY %s --config %s --check-config 2>&1",
        harness_bin(), d.conf);
    ck_assert_int_eq(WEXITSTATUS(st), 3);
    ck_assert_msg(strstr(out, "CREDENTIALS_DIRECTORY is not set") != NULL, "%s", out);
    free(out);
}
END_TEST

int
main(void)
{
    Suite   *s = suite_create("tls");
    TCase   *tc = tcase_create("tls");
    SRunner *sr;
    int      failed;

    tcase_add_checked_fixture(tc, NULL, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_every_route_over_tls);
    tcase_add_test(tc, test_old_protocols_and_plain_http_are_refused_at_once);
    tcase_add_test(tc, test_resumption_works_across_workers);
    tcase_add_test(tc, test_each_resumption_hands_out_a_fresh_ticket);
    tcase_add_test(tc, test_requests_in_records_of_one_segment_are_all_answered);
    tcase_add_test(tc, test_sighup_rotates_the_certificate_and_keeps_connections);
    tcase_add_test(tc, test_stalled_handshake_costs_one_slot_until_header_timeout);
    tcase_add_test(tc, test_tls_configuration_errors);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
