/* SPDX-License-Identifier: MIT */
/*
 * test_races.c - what a request that waits for a password hash sees when
 * the world changes meanwhile.
 *
 * Each test first floods the one worker's hashing queue with account
 * creations (from other source addresses, each its own connection), so
 * that the request under test waits behind them, then changes the account
 * from outside (userapictl, or the API on another connection), and only
 * then lets the waiting request finish.  Every test checks that the
 * request was still unanswered when the change was made, so a race that
 * did not happen fails instead of passing by luck.
 *
 * Rules proved here: a login's session is made only for the record that
 * was verified (same user, same hash) and carries the role the user has
 * now; a password change proved with a current password applies only if
 * that password is still the current one.
 */
#include <check.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "harness.h"

#define FLOOD 80

static struct daemon d;
static char          admin_pw[64];
static int           flood_fds[FLOOD];
static int           flood_round;

static void
setup(void)
{
    /* One worker, default hashing cost: about 25 ms a hash, 2 threads. */
    struct daemon_opts o = { .workers = 1,
        .conf_extra = "login_max_failures = 1000\nmax_connections_per_ip = 1000\n" };
    char               path[400];
    FILE              *fp;

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

static const char *
req(const char *method, const char *path, const char *token, const char *body)
{
    static char r[4096];
    char        auth[128] = "";

    if (token != NULL)
        snprintf(auth, sizeof(auth), "Authorization: Bearer %s\r\n", token);
    snprintf(r, sizeof(r), "%s %s HTTP/1.1\r\nHost: t\r\n%sConnection: close\r\n"
        "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
        method, path, auth, body ? strlen(body) : 0, body ? body : "");
    return r;
}

/* A JSON string field of a response; "" when absent. */
static const char *
jfield(const char *resp, const char *key)
{
    static char         v[512];
    struct json_object *o = json_tokener_parse(http_body(resp)), *f;

    v[0] = '\0';
    if (o != NULL && json_object_object_get_ex(o, key, &f))
        snprintf(v, sizeof(v), "%s", json_object_get_string(f));
    json_object_put(o);
    return v;
}

static int
call(const char *method, const char *path, const char *token, const char *body,
    char *field, const char *key)
{
    char *r = http_exchange(d.port, req(method, path, token, body), 10000);
    int   st;

    ck_assert_ptr_nonnull(r);
    st = http_status(r);
    if (field != NULL)
        snprintf(field, 128, "%s", jfield(r, key));
    free(r);
    return st;
}

static void
login_ok(const char *email, const char *pw, char *token)
{
    char body[256];

    snprintf(body, sizeof(body), "{\"email\":\"%s\",\"password\":\"%s\"}", email, pw);
    ck_assert_int_eq(call("POST", "/", NULL, body, token, "token"), 200);
}

static void
ctl(const char *input, const char *fmt, ...)
{
    char    args[512], *out;
    va_list ap;
    int     st;

    va_start(ap, fmt);
    vsnprintf(args, sizeof(args), fmt, ap);
    va_end(ap);
    out = run_cmd(&st, "printf '%s\\n' | %s --config %s %s 2>&1", input,
        getenv("USERAPICTL_BIN"), d.conf, args);
    ck_assert_msg(st == 0, "userapictl %s: %s", args, out);
    free(out);
}

/* Queues FLOOD account creations, each hashing, from other addresses. */
static void
flood_start(void)
{
    char body[256], src[32];
    int  i;

    flood_round++;
    for (i = 0; i < FLOOD; i++) {
        snprintf(src, sizeof(src), "127.0.9.%d", 1 + i % 200);
        snprintf(body, sizeof(body), "{\"email\":\"flood%d-%d@example.com\","
            "\"password\":\"floodpassword\"}", flood_round, i);
        flood_fds[i] = http_connect_from(d.port, src);
        ck_assert_int_ge(flood_fds[i], 0);
        http_send_str(flood_fds[i], req("PUT", "/", NULL, body));
    }
    /* Every one read and queued before the request under test. */
    sleep_ms(50);
}

static void
flood_finish(void)
{
    char *r;
    int   i;

    for (i = 0; i < FLOOD; i++) {
        r = http_recv_response(flood_fds[i], 20000);
        ck_assert_msg(r != NULL && http_status(r) == 201, "flood %d: %s", i,
            r ? r : "(none)");
        free(r);
        close(flood_fds[i]);
    }
}

/* Sends a request on its own connection and returns the connection. */
static int
send_waiting(const char *method, const char *path, const char *token,
    const char *body)
{
    int fd = http_connect(d.port);

    ck_assert_int_ge(fd, 0);
    http_send_str(fd, req(method, path, token, body));
    return fd;
}

/* The waiting request has not been answered yet: the race is real. */
static void
assert_still_waiting(int fd)
{
    struct pollfd pfd = { fd, POLLIN, 0 };

    ck_assert_msg(poll(&pfd, 1, 0) == 0,
        "the request was answered before the change: no race was tested");
}

static char *
finish_waiting(int fd)
{
    char *r = http_recv_response(fd, 20000);

    ck_assert_ptr_nonnull(r);
    close(fd);
    return r;
}

START_TEST(test_login_verified_before_userapictl_passwd_gets_no_session)
{
    char *r;
    int   fd;

    ctl("password1", "useradd --password-stdin carol@example.com");
    flood_start();
    fd = send_waiting("POST", "/", NULL,
        "{\"email\":\"carol@example.com\",\"password\":\"password1\"}");
    sleep_ms(10);
    ctl("password2", "passwd --password-stdin carol@example.com");
    assert_still_waiting(fd);
    r = finish_waiting(fd);
    ck_assert_msg(http_status(r) == 401, "%s", r);
    ck_assert(strstr(r, "\r\nSet-Cookie:") == NULL);
    ck_assert_str_eq(http_body(r),
        "{\"error\":\"unauthorized\",\"message\":\"wrong email or password\"}");
    free(r);
    flood_finish();
    /* The new password works, the old one does not. */
    ck_assert_int_eq(call("POST", "/", NULL,
        "{\"email\":\"carol@example.com\",\"password\":\"password1\"}", NULL, NULL), 401);
    {
        char t[128];

        login_ok("carol@example.com", "password2", t);
    }
}
END_TEST

START_TEST(test_login_of_user_deleted_over_the_api_gets_no_session)
{
    char admin[128], *r;
    int  fd;

    ctl("password1", "useradd --password-stdin dave@example.com");
    login_ok("admin@localhost", admin_pw, admin);
    flood_start();
    fd = send_waiting("POST", "/", NULL,
        "{\"email\":\"dave@example.com\",\"password\":\"password1\"}");
    sleep_ms(10);
    /* A deletion needs no hash: the loop answers it past the queue. */
    ck_assert_int_eq(call("DELETE", "/users/dave@example.com", admin, NULL, NULL,
        NULL), 204);
    assert_still_waiting(fd);
    r = finish_waiting(fd);
    ck_assert_msg(http_status(r) == 401, "%s", r);
    free(r);
    flood_finish();
}
END_TEST

START_TEST(test_login_of_deleted_and_recreated_user_gets_no_session)
{
    char t[128], *r;
    int  fd;

    ctl("password1", "useradd --password-stdin erin@example.com");
    flood_start();
    fd = send_waiting("POST", "/", NULL,
        "{\"email\":\"erin@example.com\",\"password\":\"password1\"}");
    sleep_ms(10);
    /* Same email, even the same password: another record, another hash. */
    ctl("", "userdel erin@example.com");
    ctl("password1", "useradd --password-stdin erin@example.com");
    assert_still_waiting(fd);
    r = finish_waiting(fd);
    ck_assert_msg(http_status(r) == 401, "%s", r);
    free(r);
    flood_finish();
    /* Trying again verifies against the new record. */
    login_ok("erin@example.com", "password1", t);
}
END_TEST

START_TEST(test_login_of_demoted_admin_gets_the_current_role)
{
    char token[128], role[128], admin[128], *r;
    int  fd;

    ctl("password1", "useradd --role admin --password-stdin frank@example.com");
    login_ok("admin@localhost", admin_pw, admin);
    flood_start();
    fd = send_waiting("POST", "/", NULL,
        "{\"email\":\"frank@example.com\",\"password\":\"password1\"}");
    sleep_ms(10);
    /* A role change needs no hash: the loop answers it past the queue. */
    ck_assert_int_eq(call("PATCH", "/users/frank@example.com", admin,
        "{\"role\":\"user\"}", role, "role"), 200);
    ck_assert_str_eq(role, "user");
    assert_still_waiting(fd);
    r = finish_waiting(fd);
    ck_assert_msg(http_status(r) == 200, "%s", r);
    ck_assert_str_eq(jfield(r, "role"), "user");
    snprintf(token, sizeof(token), "%s", jfield(r, "token"));
    free(r);
    flood_finish();
    /* The session is a user's: its own record, not the listing. */
    ck_assert_int_eq(call("GET", "/users/admin@localhost", token, NULL, NULL, NULL), 403);
    ck_assert_int_eq(call("GET", "/users/frank@example.com", token, NULL, role, "role"), 200);
    ck_assert_str_eq(role, "user");
}
END_TEST

START_TEST(test_patch_proved_with_a_replaced_password_does_not_apply)
{
    char user[128], admin[128], *r;
    int  fd;

    ctl("password1", "useradd --password-stdin gina@example.com");
    login_ok("gina@example.com", "password1", user);
    login_ok("admin@localhost", admin_pw, admin);
    flood_start();
    /* gina changes her password, proving password1 ... */
    fd = send_waiting("PATCH", "/users/gina@example.com", user,
        "{\"password\":\"gina-new-password\",\"current_password\":\"password1\"}");
    sleep_ms(10);
    /* ... while the admin resets it (on the shell, not queued behind). */
    ctl("admin-set-password", "passwd --password-stdin gina@example.com");
    assert_still_waiting(fd);
    r = finish_waiting(fd);
    ck_assert_msg(http_status(r) == 403, "%s", r);
    ck_assert_str_eq(jfield(r, "message"), "the current password is wrong");
    free(r);
    flood_finish();
    /* The admin's password stands; gina's never applied. */
    ck_assert_int_eq(call("POST", "/", NULL,
        "{\"email\":\"gina@example.com\",\"password\":\"gina-new-password\"}", NULL, NULL), 401);
    login_ok("gina@example.com", "admin-set-password", user);
}
END_TEST

int
main(void)
{
    Suite   *s = suite_create("races");
    TCase   *tc = tcase_create("hash-wait");
    SRunner *sr;
    int      failed;

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_login_verified_before_userapictl_passwd_gets_no_session);
    tcase_add_test(tc, test_login_of_user_deleted_over_the_api_gets_no_session);
    tcase_add_test(tc, test_login_of_deleted_and_recreated_user_gets_no_session);
    tcase_add_test(tc, test_login_of_demoted_admin_gets_the_current_role);
    tcase_add_test(tc, test_patch_proved_with_a_replaced_password_does_not_apply);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
