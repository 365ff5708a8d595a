/* SPDX-License-Identifier: MIT */
/*
 * test_ui.c - the web app at /ui/: every file of ui/ served with its
 * content type and the app's headers (CSP...), /ui redirected, ui = no;
 * and the cross-site request forgery guard of cookie-authenticated
 * routes: a form sent from another site's page with the cookie does not
 * act, the same from the daemon's own origin (or a listed CORS origin)
 * does.
 */
#include <check.h>
#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "harness.h"

#define CONF "password_cost = 1\n"
#define CSP  "default-src 'self'; script-src 'self'; style-src 'self'; " \
             "img-src 'self' data:; connect-src 'self'; base-uri 'none'; " \
             "form-action 'self'; frame-ancestors 'none'"

static struct daemon d;
static char          admin_pw[64];
static char          host[64];          /* 127.0.0.1:<port> */

static void
start(const char *extra)
{
    struct daemon_opts o = { .conf_extra = extra, .workers = 2 };
    char               path[400];
    FILE              *fp;

    daemon_start(&d, &o);
    snprintf(host, sizeof(host), "127.0.0.1:%d", d.port);
    snprintf(path, sizeof(path), "%s/initial-admin-password", d.state_dir);
    fp = fopen(path, "r");
    ck_assert_ptr_nonnull(fp);
    ck_assert_ptr_nonnull(fgets(admin_pw, sizeof(admin_pw), fp));
    fclose(fp);
    admin_pw[strcspn(admin_pw, "\n")] = '\0';
}

static void
setup(void)
{
    start(CONF);
}

static void
teardown(void)
{
    daemon_cleanup(&d);
}

/* One request on a fresh connection, with extra header lines (may be
 * ""), a body of ctype when body is not NULL, and Host: host. */
static char *
call(const char *method, const char *path, const char *extra,
    const char *ctype, const char *body)
{
    char  req[16384], *r;
    int   n;

    n = snprintf(req, sizeof(req), "%s %s HTTP/1.1\r\nHost: %s\r\n%s"
        "Connection: close\r\n", method, path, host, extra);
    if (body != NULL)
        n += snprintf(req + n, sizeof(req) - (size_t)n,
            "Content-Type: %s\r\nContent-Length: %zu\r\n", ctype, strlen(body));
    snprintf(req + n, sizeof(req) - (size_t)n, "\r\n%s", body ? body : "");
    r = http_exchange(d.port, req, 5000);
    ck_assert_ptr_nonnull(r);
    return r;
}

/* The session cookie header line of a login of email. */
static const char *
cookie_of(const char *email, const char *pw)
{
    static char line[300];
    char        body[512], v[256], *r;

    snprintf(body, sizeof(body), "{\"email\":\"%s\",\"password\":\"%s\"}", email, pw);
    r = call("POST", "/", "", "application/json", body);
    ck_assert_msg(http_status(r) == 200, "login %s: %s", email, r);
    ck_assert(http_header(r, "Set-Cookie", v, sizeof(v)));
    v[strcspn(v, ";")] = '\0';
    snprintf(line, sizeof(line), "Cookie: %s\r\n", v);
    free(r);
    return line;
}

static void
create_user(const char *email, const char *pw)
{
    char body[512], *r;

    snprintf(body, sizeof(body), "{\"email\":\"%s\",\"password\":\"%s\"}", email, pw);
    r = call("PUT", "/", "", "application/json", body);
    ck_assert_msg(http_status(r) == 201, "%s", r);
    free(r);
}

static int
status_of(const char *method, const char *path, const char *extra,
    const char *ctype, const char *body)
{
    char *r = call(method, path, extra, ctype, body);
    int   s = http_status(r);

    free(r);
    return s;
}

static void
assert_header(const char *r, const char *name, const char *want)
{
    char v[1024];

    ck_assert_msg(http_header(r, name, v, sizeof(v)), "no %s: %s", name, r);
    ck_assert_str_eq(v, want);
}

static void
assert_ui_headers(const char *r)
{
    assert_header(r, "Cache-Control", "no-cache");
    assert_header(r, "Content-Security-Policy", CSP);
    assert_header(r, "Referrer-Policy", "no-referrer");
    assert_header(r, "X-Frame-Options", "DENY");
    assert_header(r, "X-Content-Type-Options", "nosniff");
}

/* The content of ui/<name> in the source tree. */
static char *
source_file(const char *name, size_t *len)
{
    const char *src = getenv("USERAPID_SRCDIR");
    char        path[4096], *buf;
    FILE       *fp;
    long        n;

    snprintf(path, sizeof(path), "%s/ui/%s", src ? src : ".", name);
    fp = fopen(path, "rb");
    ck_assert_msg(fp != NULL, "%s", path);
    ck_assert_int_eq(fseek(fp, 0, SEEK_END), 0);
    n = ftell(fp);
    ck_assert_int_ge(n, 0);
    rewind(fp);
    buf = malloc((size_t)n + 1);
    ck_assert_ptr_nonnull(buf);
    ck_assert_int_eq(fread(buf, 1, (size_t)n, fp), (size_t)n);
    buf[n] = '\0';
    fclose(fp);
    *len = (size_t)n;
    return buf;
}

START_TEST(test_ui_slash_serves_index_html_with_csp_and_headers)
{
    char   *r = call("GET", "/ui/", "", NULL, NULL), *want;
    size_t  len;

    ck_assert_msg(http_status(r) == 200, "%s", r);
    assert_header(r, "Content-Type", "text/html; charset=utf-8");
    assert_ui_headers(r);
    want = source_file("index.html", &len);
    ck_assert_str_eq(http_body(r), want);
    ck_assert_ptr_nonnull(strstr(http_body(r), "<script type=\"module\" src=\"app.js\">"));
    free(want);
    free(r);

    /* HEAD: the same headers, no body. */
    r = call("HEAD", "/ui/", "", NULL, NULL);
    ck_assert_int_eq(http_status(r), 200);
    assert_ui_headers(r);
    ck_assert_str_eq(http_body(r), "");
    free(r);
}
END_TEST

START_TEST(test_ui_every_file_with_its_content_type)
{
    const char    *src = getenv("USERAPID_SRCDIR");
    char           dir[4096], path[512], *r, *want;
    const char    *ext, *type;
    struct dirent *e;
    DIR           *dp;
    size_t         len;
    int            n = 0;

    snprintf(dir, sizeof(dir), "%s/ui", src ? src : ".");
    dp = opendir(dir);
    ck_assert_ptr_nonnull(dp);
    while ((e = readdir(dp)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        ext = strrchr(e->d_name, '.');
        ck_assert_ptr_nonnull(ext);
        type = strcmp(ext, ".html") == 0 ? "text/html; charset=utf-8" :
            strcmp(ext, ".css") == 0 ? "text/css; charset=utf-8" :
            strcmp(ext, ".js") == 0 ? "text/javascript; charset=utf-8" : NULL;
        ck_assert_msg(type != NULL, "ui/%s: unknown kind", e->d_name);
        snprintf(path, sizeof(path), "/ui/%s", e->d_name);
        r = call("GET", path, "", NULL, NULL);
        ck_assert_msg(http_status(r) == 200, "%s: %s", path, r);
        assert_header(r, "Content-Type", type);
        assert_ui_headers(r);
        want = source_file(e->d_name, &len);
        ck_assert_msg(strcmp(http_body(r), want) == 0, "%s differs from ui/", path);
        free(want);
        free(r);
        n++;
    }
    closedir(dp);
    ck_assert_int_ge(n, 5);
}
END_TEST

START_TEST(test_ui_without_slash_is_308_unknown_file_404)
{
    char *r = call("GET", "/ui", "", NULL, NULL);

    ck_assert_msg(http_status(r) == 308, "%s", r);
    assert_header(r, "Location", "/ui/");
    free(r);
    ck_assert_int_eq(status_of("HEAD", "/ui", "", NULL, NULL), 308);
    ck_assert_int_eq(status_of("GET", "/ui/nosuch.js", "", NULL, NULL), 404);
    ck_assert_int_eq(status_of("GET", "/ui/../README.md", "", NULL, NULL), 404);
    ck_assert_int_eq(status_of("GET", "/ui/sub/app.js", "", NULL, NULL), 404);
    r = call("POST", "/ui/", "", "application/json", "{}");
    ck_assert_int_eq(http_status(r), 405);
    assert_header(r, "Allow", "GET, HEAD, OPTIONS");
    free(r);
}
END_TEST

START_TEST(test_ui_no_is_404)
{
    daemon_cleanup(&d);
    start(CONF "ui = no\n");
    ck_assert_int_eq(status_of("GET", "/ui/", "", NULL, NULL), 404);
    ck_assert_int_eq(status_of("GET", "/ui/app.js", "", NULL, NULL), 404);
    ck_assert_int_eq(status_of("GET", "/ui", "", NULL, NULL), 404);
    /* The API is there still. */
    ck_assert_int_eq(status_of("HEAD", "/", "", NULL, NULL), 200);
}
END_TEST

START_TEST(test_get_root_is_still_the_api)
{
    char *r = call("GET", "/", "", NULL, NULL), v[256];

    ck_assert_msg(http_status(r) == 403, "%s", r);
    assert_header(r, "Content-Type", "application/json");
    ck_assert(!http_header(r, "Content-Security-Policy", v, sizeof(v)));
    free(r);
    r = call("GET", "/", cookie_of("admin@localhost", admin_pw), NULL, NULL);
    ck_assert_msg(http_status(r) == 200, "%s", r);
    assert_header(r, "Content-Type", "application/json");
    ck_assert_ptr_nonnull(strstr(http_body(r), "\"users\":["));
    free(r);
}
END_TEST

/* A form another site's page posts with the victim's cookie does not
 * act: the password stays, the session lives. */
START_TEST(test_form_from_other_origin_with_cookie_is_403_and_changes_nothing)
{
    char        extra[512], *r;
    const char *cookie;

    create_user("victim@example.com", "old-password");
    cookie = cookie_of("victim@example.com", "old-password");
    snprintf(extra, sizeof(extra), "%sOrigin: https://evil.example\r\n", cookie);
    ck_assert_int_eq(status_of("PATCH", "/users/victim@example.com", extra,
        "application/x-www-form-urlencoded",
        "password=evil-password&current_password=old-password"), 403);
    /* The one route a form can reach: a login, refused too (login CSRF). */
    ck_assert_int_eq(status_of("POST", "/", extra,
        "application/x-www-form-urlencoded",
        "email=victim%40example.com&password=evil-password"), 403);
    ck_assert_int_eq(status_of("DELETE", "/sessions", extra, NULL, NULL), 403);
    ck_assert_int_eq(status_of("DELETE", "/session", extra, NULL, NULL), 403);
    /* Without Origin, Sec-Fetch-Site says it. */
    snprintf(extra, sizeof(extra), "%sSec-Fetch-Site: cross-site\r\n", cookie);
    ck_assert_int_eq(status_of("DELETE", "/session", extra, NULL, NULL), 403);
    /* Nothing changed: the session lives, the old password logs in. */
    ck_assert_int_eq(status_of("GET", "/session", cookie, NULL, NULL), 200);
    r = call("GET", "/sessions", cookie, NULL, NULL);
    ck_assert_int_eq(http_status(r), 200);
    ck_assert_ptr_null(strstr(strstr(http_body(r), "\"id\"") + 1, "\"id\""));
    free(r);
    cookie_of("victim@example.com", "old-password");
    ck_assert_int_eq(status_of("POST", "/", "Origin: https://evil.example\r\n",
        "application/x-www-form-urlencoded",
        "email=victim%40example.com&password=old-password"), 403);
}
END_TEST

START_TEST(test_form_from_own_origin_with_cookie_acts)
{
    char        extra[512];
    const char *cookie;

    create_user("self@example.com", "old-password");
    cookie = cookie_of("self@example.com", "old-password");
    snprintf(extra, sizeof(extra), "%sOrigin: http://%s\r\n"
        "Sec-Fetch-Site: same-origin\r\n", cookie, host);
    ck_assert_int_eq(status_of("PATCH", "/users/self@example.com", extra,
        "application/x-www-form-urlencoded",
        "password=new-password&current_password=old-password"), 200);
    cookie_of("self@example.com", "new-password");
    /* No Origin at all (curl, userapi): acts too. */
    ck_assert_int_eq(status_of("DELETE", "/session", cookie, NULL, NULL), 204);
}
END_TEST

START_TEST(test_samesite_none_listed_cors_origin_may_use_cookie)
{
    char        extra[512];
    const char *cookie;

    daemon_cleanup(&d);
    start(CONF "cookie_samesite = none\ncookie_secure = yes\n"
        "cors_origins = https://app.example.com\n");
    create_user("cors@example.com", "old-password");
    cookie = cookie_of("cors@example.com", "old-password");
    snprintf(extra, sizeof(extra), "%sOrigin: https://app.example.com\r\n"
        "Sec-Fetch-Site: cross-site\r\n", cookie);
    ck_assert_int_eq(status_of("PATCH", "/users/cors@example.com", extra,
        "application/json",
        "{\"password\":\"new-password\",\"current_password\":\"old-password\"}"), 200);
    snprintf(extra, sizeof(extra), "%sOrigin: https://other.example.com\r\n"
        "Sec-Fetch-Site: cross-site\r\n", cookie);
    ck_assert_int_eq(status_of("DELETE", "/session", extra, NULL, NULL), 403);
    snprintf(extra, sizeof(extra), "%sOrigin: https://app.example.com\r\n"
        "Sec-Fetch-Site: cross-site\r\n", cookie);
    ck_assert_int_eq(status_of("DELETE", "/session", extra, NULL, NULL), 204);
}
END_TEST

static Suite *
ui_suite(void)
{
    Suite *s = suite_create("ui");
    TCase *tc = tcase_create("ui");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_ui_slash_serves_index_html_with_csp_and_headers);
    tcase_add_test(tc, test_ui_every_file_with_its_content_type);
    tcase_add_test(tc, test_ui_without_slash_is_308_unknown_file_404);
    tcase_add_test(tc, test_ui_no_is_404);
    tcase_add_test(tc, test_get_root_is_still_the_api);
    tcase_add_test(tc, test_form_from_other_origin_with_cookie_is_403_and_changes_nothing);
    tcase_add_test(tc, test_form_from_own_origin_with_cookie_acts);
    tcase_add_test(tc, test_samesite_none_listed_cors_origin_may_use_cookie);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(ui_suite());
    int      failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
