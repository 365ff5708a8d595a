/* SPDX-License-Identifier: MIT */
/*
 * test_api.c - the account API on a daemon with 4 workers: every route and
 * status of the contract, sessions across connections and restarts, races
 * on one email, and a crash during a storm of creations.
 */
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "harness.h"
#include "userdb.h"

#define CONF "password_cost = 1\n"

static struct daemon d;
static char          admin_pw[64];

static void
start(const char *extra)
{
    struct daemon_opts o = { .conf_extra = extra, .workers = 4 };
    char               path[400];
    FILE              *fp;

    daemon_start(&d, &o);
    snprintf(path, sizeof(path), "%s/initial-admin-password", d.state_dir);
    fp = fopen(path, "r");
    ck_assert_ptr_nonnull(fp);
    ck_assert_ptr_nonnull(fgets(admin_pw, sizeof(admin_pw), fp));
    fclose(fp);
    admin_pw[strcspn(admin_pw, "\n")] = '\0';
    ck_assert_int_ge((int)strlen(admin_pw), 20);
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

/*
 * One request on a fresh connection.  body is sent as JSON unless ctype
 * says otherwise; token (may be NULL) as a Bearer token.
 */
static char *
call(const char *method, const char *path, const char *token,
    const char *ctype, const char *body)
{
    char  req[16384], auth[128] = "", *r;
    int   n;

    if (token != NULL)
        snprintf(auth, sizeof(auth), "Authorization: Bearer %s\r\n", token);
    n = snprintf(req, sizeof(req), "%s %s HTTP/1.1\r\nHost: t\r\n%s"
        "Connection: close\r\n", method, path, auth);
    if (body != NULL)
        n += snprintf(req + n, sizeof(req) - (size_t)n,
            "Content-Type: %s\r\nContent-Length: %zu\r\n",
            ctype ? ctype : "application/json", strlen(body));
    snprintf(req + n, sizeof(req) - (size_t)n, "\r\n%s", body ? body : "");
    r = http_exchange(d.port, req, 5000);
    ck_assert_ptr_nonnull(r);
    return r;
}

static char *
jbody(const char *fmt, ...)
{
    static char b[8192];
    va_list     ap;

    va_start(ap, fmt);
    vsnprintf(b, sizeof(b), fmt, ap);
    va_end(ap);
    return b;
}

/* The string field of a JSON response body; "" when absent. */
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

static void
assert_error(const char *r, int status, const char *code)
{
    ck_assert_msg(http_status(r) == status, "want %d, got: %s", status, r);
    ck_assert_str_eq(jfield(r, "error"), code);
    ck_assert_str_ne(jfield(r, "message"), "");
}

static char *
login(const char *email, const char *pw)
{
    static char token[128];
    char       *r = call("POST", "/", NULL, NULL,
        jbody("{\"email\":\"%s\",\"password\":\"%s\"}", email, pw));

    ck_assert_msg(http_status(r) == 200, "login %s: %s", email, r);
    snprintf(token, sizeof(token), "%s", jfield(r, "token"));
    free(r);
    return token;
}

static char *
admin_token(void)
{
    static char t[128];

    snprintf(t, sizeof(t), "%s", login("admin@localhost", admin_pw));
    return t;
}

static void
create(const char *email, const char *pw)
{
    char *r = call("PUT", "/", NULL, NULL,
        jbody("{\"email\":\"%s\",\"password\":\"%s\"}", email, pw));

    ck_assert_msg(http_status(r) == 201, "create %s: %s", email, r);
    free(r);
}

/* A created_at value: "YYYY-MM-DDTHH:MM:SSZ". */
static void
assert_iso_time(const char *s)
{
    int64_t t;

    ck_assert_int_eq((int)strlen(s), 20);
    ck_assert_int_eq(userdb_parse_time(s, &t), 0);
}

/* ---- PUT / ------------------------------------------------------------- */

START_TEST(test_put_creates_user_201_with_location)
{
    char *r = call("PUT", "/", NULL, NULL,
        "{\"email\":\"Alice@Example.COM\",\"password\":\"correct horse\"}");
    char  v[256];

    ck_assert_int_eq(http_status(r), 201);
    ck_assert(http_header(r, "Location", v, sizeof(v)));
    ck_assert_str_eq(v, "/users/alice@example.com");
    ck_assert(http_header(r, "Content-Type", v, sizeof(v)));
    ck_assert_str_eq(v, "application/json");
    ck_assert_str_eq(jfield(r, "email"), "alice@example.com");
    ck_assert_str_eq(jfield(r, "role"), "user");
    ck_assert_str_eq(jfield(r, "role_id"), "2");
    assert_iso_time(jfield(r, "created_at"));
    /* Exactly the four fields of a record: no hash, no password. */
    ck_assert(strstr(http_body(r), "hash") == NULL);
    ck_assert(strstr(http_body(r), "password") == NULL);
    ck_assert(strstr(http_body(r), "$y$") == NULL);
    free(r);
}
END_TEST

START_TEST(test_put_accepts_form_body)
{
    char *r = call("PUT", "/", NULL, "application/x-www-form-urlencoded",
        "email=bob%40example.com&password=pass+word%21");

    ck_assert_int_eq(http_status(r), 201);
    ck_assert_str_eq(jfield(r, "email"), "bob@example.com");
    free(r);
    login("bob@example.com", "pass word!");
}
END_TEST

START_TEST(test_put_rejects_one_char_email)
{
    char *r = call("PUT", "/", NULL, NULL, "{\"email\":\"a\",\"password\":\"longenough\"}");

    assert_error(r, 400, "bad_request");
    free(r);
}
END_TEST

START_TEST(test_put_rejects_one_char_password)
{
    char *r = call("PUT", "/", NULL, NULL, "{\"email\":\"a@b.c\",\"password\":\"x\"}");

    assert_error(r, 400, "bad_request");
    free(r);
}
END_TEST

START_TEST(test_put_rejects_invalid_email)
{
    static const char *const bad[] = {
        "no-at-sign", "@example.com", "a@", "a@@b.c", "a b@c.d", "a@-b.c",
        "a..b@c.d", "a@b..c", "a\\u0000b@c.d",
    };
    size_t i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char *r = call("PUT", "/", NULL, NULL,
            jbody("{\"email\":\"%s\",\"password\":\"longenough\"}", bad[i]));

        assert_error(r, 400, "bad_request");
        ck_assert_str_eq(jfield(r, "message"), "email is not a valid address");
        free(r);
    }
}
END_TEST

START_TEST(test_put_rejects_short_and_long_passwords)
{
    char *r, *longpw = malloc(1100);

    r = call("PUT", "/", NULL, NULL, "{\"email\":\"c@d.e\",\"password\":\"1234567\"}");
    assert_error(r, 400, "bad_request");
    ck_assert_str_eq(jfield(r, "message"), "password must be at least 8 bytes");
    free(r);
    memset(longpw, 'p', 1025);
    longpw[1025] = '\0';
    r = call("PUT", "/", NULL, NULL,
        jbody("{\"email\":\"c@d.e\",\"password\":\"%s\"}", longpw));
    assert_error(r, 400, "bad_request");
    ck_assert_str_eq(jfield(r, "message"), "password must be at most 1024 bytes");
    free(r);
    /* 1024 bytes is still fine, and logs in. */
    longpw[1024] = '\0';
    create("long@pw.example", longpw);
    login("long@pw.example", longpw);
    free(longpw);
}
END_TEST

START_TEST(test_put_rejects_malformed_json)
{
    char *r = call("PUT", "/", NULL, NULL, "{\"email\":\"x@y.z\",");

    assert_error(r, 400, "bad_request");
    free(r);
    r = call("PUT", "/", NULL, NULL, "[1,2]");
    assert_error(r, 400, "bad_request");
    free(r);
    r = call("PUT", "/", NULL, NULL, "{\"email\":7,\"password\":\"longenough\"}");
    assert_error(r, 400, "bad_request");
    free(r);
    r = call("PUT", "/", NULL, NULL, "{\"password\":\"longenough\"}");
    assert_error(r, 400, "bad_request");
    free(r);
}
END_TEST

START_TEST(test_put_other_content_type_is_415)
{
    char *r = call("PUT", "/", NULL, "text/plain", "email=a@b.c&password=longenough");

    assert_error(r, 415, "unsupported_media_type");
    free(r);
}
END_TEST

START_TEST(test_put_existing_email_is_409_case_insensitive)
{
    char *r;

    create("dup@example.com", "password1");
    r = call("PUT", "/", NULL, NULL,
        "{\"email\":\"DUP@example.com\",\"password\":\"password2\"}");
    assert_error(r, 409, "conflict");
    free(r);
}
END_TEST

START_TEST(test_put_admin_role_needs_admin)
{
    char *r, *t;

    r = call("PUT", "/", NULL, NULL,
        "{\"email\":\"boss@example.com\",\"password\":\"password1\",\"role\":\"admin\"}");
    assert_error(r, 403, "forbidden");
    free(r);
    create("user@example.com", "password1");
    t = login("user@example.com", "password1");
    r = call("PUT", "/", t, NULL,
        "{\"email\":\"boss@example.com\",\"password\":\"password1\",\"role\":\"admin\"}");
    assert_error(r, 403, "forbidden");
    free(r);
    r = call("PUT", "/", admin_token(), NULL,
        "{\"email\":\"boss@example.com\",\"password\":\"password1\",\"role\":\"admin\"}");
    ck_assert_int_eq(http_status(r), 201);
    ck_assert_str_eq(jfield(r, "role"), "admin");
    ck_assert_str_eq(jfield(r, "role_id"), "1");
    free(r);
    r = call("PUT", "/", NULL, NULL,
        "{\"email\":\"x@example.com\",\"password\":\"password1\",\"role\":\"god\"}");
    assert_error(r, 400, "bad_request");
    free(r);
}
END_TEST

/* ---- POST / ------------------------------------------------------------ */

START_TEST(test_post_logs_in_with_token_and_cookie)
{
    char *r, v[512], want[512];

    create("eve@example.com", "password1");
    r = call("POST", "/", NULL, NULL,
        "{\"email\":\"EVE@example.com\",\"password\":\"password1\"}");
    ck_assert_int_eq(http_status(r), 200);
    ck_assert_str_eq(jfield(r, "email"), "eve@example.com");
    ck_assert_str_eq(jfield(r, "role"), "user");
    ck_assert_str_eq(jfield(r, "role_id"), "2");
    ck_assert_int_eq((int)strlen(jfield(r, "token")), 43);
    assert_iso_time(jfield(r, "expires_at"));
    ck_assert(http_header(r, "Set-Cookie", v, sizeof(v)));
    snprintf(want, sizeof(want), "userapid_session=%s; Path=/; HttpOnly; "
        "SameSite=Strict; Max-Age=3600", jfield(r, "token"));
    ck_assert_str_eq(v, want);
    ck_assert(http_header(r, "Cache-Control", v, sizeof(v)));
    ck_assert_str_eq(v, "no-store");
    free(r);
    /* The admin gets role 1. */
    r = call("POST", "/", NULL, NULL,
        jbody("{\"email\":\"admin@localhost\",\"password\":\"%s\"}", admin_pw));
    ck_assert_int_eq(http_status(r), 200);
    ck_assert_str_eq(jfield(r, "role"), "admin");
    ck_assert_str_eq(jfield(r, "role_id"), "1");
    free(r);
}
END_TEST

START_TEST(test_post_form_login_as_curl_d_sends)
{
    char *out;
    int   st;

    create("form@example.com", "password1");
    out = run_cmd(&st, "curl -s -w ' %%{http_code}' -d email=form@example.com "
        "-d password=password1 http://127.0.0.1:%d/ | sed 's/\"token\":\"[^\"]*\"/T/;"
        "s/\"expires_at\":\"[^\"]*\"/E/'", d.port);
    ck_assert_str_eq(out, "{\"email\":\"form@example.com\",\"role\":\"user\","
        "\"role_id\":2,T,E} 200");
    free(out);
}
END_TEST

START_TEST(test_post_unknown_and_wrong_password_same_401)
{
    char *r1, *r2;

    create("frank@example.com", "password1");
    r1 = call("POST", "/", NULL, NULL,
        "{\"email\":\"nobody@example.com\",\"password\":\"password1\"}");
    r2 = call("POST", "/", NULL, NULL,
        "{\"email\":\"frank@example.com\",\"password\":\"wrongpass\"}");
    ck_assert_int_eq(http_status(r1), 401);
    ck_assert_int_eq(http_status(r2), 401);
    ck_assert_str_eq(http_body(r1), http_body(r2));
    ck_assert_str_eq(http_body(r1),
        "{\"error\":\"unauthorized\",\"message\":\"wrong email or password\"}");
    free(r1);
    free(r2);
}
END_TEST

/* RFC 9110, 15.5.2: every 401 names the scheme (wget drops the body
 * of one without it). */
START_TEST(test_401_carries_www_authenticate)
{
    const char *bodies[] = {
        "{\"email\":\"nobody@example.com\",\"password\":\"password1\"}",
        "{\"email\":\"admin@localhost\",\"password\":\"wrong-password\"}",
        "{\"email\":\"admin@localhost\\u0000x\",\"password\":\"x\"}",
    };
    char        v[128], *r;
    size_t      i;

    for (i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
        r = call("POST", "/", NULL, NULL, bodies[i]);
        ck_assert_int_eq(http_status(r), 401);
        ck_assert_msg(http_header(r, "WWW-Authenticate", v, sizeof(v)), "%s", r);
        ck_assert_str_eq(v, "Bearer realm=\"userapid\"");
        free(r);
    }
}
END_TEST

/*
 * A failed login whose email holds a line end or an escape sequence
 * cannot forge a log line: the daemon's log has it escaped.
 */
START_TEST(test_failed_login_cannot_forge_log_lines)
{
    char *r, *log, *p;
    int   lines_before = 0, n;

    log = daemon_log(&d);
    for (p = log; (p = strchr(p, '\n')) != NULL; p++)
        lines_before++;
    free(log);
    r = call("POST", "/", NULL, NULL, "{\"email\":\"x@y.z\\n2026-01-01T00:00:00.000Z "
        "userapid[1]: notice: user evil@example.com created (admin)\\u001b[2J\","
        "\"password\":\"wrongpassword\"}");
    ck_assert_int_eq(http_status(r), 401);
    free(r);
    sleep_ms(200);
    log = daemon_log(&d);
    /* The login email is matched lower-cased, and logged so. */
    ck_assert_msg(strstr(log, "login failed for x@y.z\\x0a2026-01-01t00:00:00.000z "
        "userapid[1]: notice: user evil@example.com created (admin)\\x1b[2j from ")
        != NULL, "%s", log);
    ck_assert(strchr(log, '\x1b') == NULL);
    /* Only whole lines of our own: none starts with the forged text. */
    ck_assert(strstr(log, "\n2026-01-01") == NULL);
    for (n = 0, p = log; (p = strchr(p, '\n')) != NULL; p++)
        n++;
    ck_assert_int_ge(n, lines_before + 1);
    free(log);
}
END_TEST

START_TEST(test_login_with_nul_in_email_matches_nobody)
{
    char *r = call("POST", "/", NULL, NULL,
        jbody("{\"email\":\"admin@localhost\\u0000x\",\"password\":\"%s\"}", admin_pw));

    assert_error(r, 401, "unauthorized");
    free(r);
}
END_TEST

START_TEST(test_post_malformed_or_missing_field_is_400)
{
    char *r = call("POST", "/", NULL, NULL, "{\"email\":\"a@b.c\"}");

    assert_error(r, 400, "bad_request");
    free(r);
    r = call("POST", "/", NULL, NULL, "not json");
    assert_error(r, 400, "bad_request");
    free(r);
    r = call("POST", "/", NULL, NULL, NULL);
    assert_error(r, 400, "bad_request");
    free(r);
}
END_TEST

START_TEST(test_secrets_never_logged)
{
    char *r, *log, token[128];

    create("secret@example.com", "TopSecret99");
    r = call("POST", "/", NULL, NULL,
        "{\"email\":\"secret@example.com\",\"password\":\"TopSecret99\"}");
    snprintf(token, sizeof(token), "%s", jfield(r, "token"));
    free(r);
    r = call("POST", "/", NULL, NULL,
        "{\"email\":\"secret@example.com\",\"password\":\"WrongSecret\"}");
    free(r);
    free(call("GET", "/", token, NULL, NULL));
    sleep_ms(200);
    log = daemon_log(&d);
    ck_assert(strstr(log, "TopSecret99") == NULL);
    ck_assert(strstr(log, "WrongSecret") == NULL);
    ck_assert(strstr(log, token) == NULL);
    ck_assert(strstr(log, "$y$") == NULL);
    ck_assert(strstr(log, admin_pw) == NULL);
    ck_assert(strstr(log, "login failed for secret@example.com") != NULL);
    free(log);
}
END_TEST

/* ---- GET / ------------------------------------------------------------- */

START_TEST(test_get_admin_sees_all_in_creation_order)
{
    struct json_object *o, *users, *u, *f;
    char               *r;
    const char         *want[] = { "admin@localhost", "u1@example.com",
                                   "u2@example.com", "u3@example.com" };
    size_t              i;

    create("u1@example.com", "password1");
    create("u2@example.com", "password1");
    create("u3@example.com", "password1");
    r = call("GET", "/", admin_token(), NULL, NULL);
    ck_assert_int_eq(http_status(r), 200);
    o = json_tokener_parse(http_body(r));
    ck_assert(json_object_object_get_ex(o, "users", &users));
    ck_assert_int_eq((int)json_object_array_length(users), 4);
    for (i = 0; i < 4; i++) {
        u = json_object_array_get_idx(users, i);
        ck_assert_int_eq(json_object_object_length(u), 4);
        ck_assert(json_object_object_get_ex(u, "email", &f));
        ck_assert_str_eq(json_object_get_string(f), want[i]);
        ck_assert(json_object_object_get_ex(u, "role", &f));
        ck_assert_str_eq(json_object_get_string(f), i == 0 ? "admin" : "user");
        ck_assert(json_object_object_get_ex(u, "role_id", &f));
        ck_assert_int_eq(json_object_get_int(f), i == 0 ? 1 : 2);
        ck_assert(json_object_object_get_ex(u, "created_at", &f));
        assert_iso_time(json_object_get_string(f));
    }
    json_object_put(o);
    free(r);
}
END_TEST

START_TEST(test_get_user_sees_only_own_record)
{
    char *r, *t;

    create("g1@example.com", "password1");
    create("g2@example.com", "password1");
    t = login("g2@example.com", "password1");
    r = call("GET", "/", t, NULL, NULL);
    ck_assert_int_eq(http_status(r), 200);
    {
        const char *want = "{\"users\":[{\"email\":\"g2@example.com\","
            "\"role\":\"user\",\"role_id\":2,\"created_at\":\"";

        ck_assert_msg(strncmp(http_body(r), want, strlen(want)) == 0, "%s", r);
    }
    ck_assert(strstr(http_body(r), "g1@") == NULL);
    free(r);
}
END_TEST

START_TEST(test_get_by_cookie)
{
    char req[512], *r, *t;

    create("cookie@example.com", "password1");
    t = login("cookie@example.com", "password1");
    snprintf(req, sizeof(req), "GET / HTTP/1.1\r\nHost: t\r\nCookie: a=b; "
        "userapid_session=%s; c=d\r\nConnection: close\r\n\r\n", t);
    r = http_exchange(d.port, req, 3000);
    ck_assert_int_eq(http_status(r), 200);
    ck_assert(strstr(http_body(r), "cookie@example.com") != NULL);
    free(r);
}
END_TEST

START_TEST(test_get_without_token_is_403)
{
    char *r = call("GET", "/", NULL, NULL, NULL);

    assert_error(r, 403, "forbidden");
    free(r);
    r = call("GET", "/", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", NULL, NULL);
    assert_error(r, 403, "forbidden");
    free(r);
    r = call("GET", "/", "garbage", NULL, NULL);
    assert_error(r, 403, "forbidden");
    free(r);
}
END_TEST

START_TEST(test_expired_token_is_403)
{
    char *r, t[128];

    daemon_cleanup(&d);
    start(CONF "session_ttl = 1\n");
    create("exp@example.com", "password1");
    snprintf(t, sizeof(t), "%s", login("exp@example.com", "password1"));
    r = call("GET", "/", t, NULL, NULL);
    ck_assert_int_eq(http_status(r), 200);
    free(r);
    sleep_ms(2500);
    r = call("GET", "/", t, NULL, NULL);
    assert_error(r, 403, "forbidden");
    free(r);
}
END_TEST

/* The first password file goes once that password is changed. */
START_TEST(test_initial_admin_password_removed_after_password_change)
{
    char path[400], t[128], *r, *log;

    snprintf(path, sizeof(path), "%s/initial-admin-password", d.state_dir);
    ck_assert_int_eq(access(path, F_OK), 0);
    snprintf(t, sizeof(t), "%s", admin_token());
    /* A role change of someone else, or a failed change: it stays. */
    create("other@example.com", "password1");
    r = call("PATCH", "/users/other@example.com", t, NULL, "{\"role\":\"admin\"}");
    ck_assert_int_eq(http_status(r), 200);
    free(r);
    r = call("PATCH", "/users/admin@localhost", t, NULL, "{\"password\":\"x\"}");
    assert_error(r, 400, "bad_request");
    free(r);
    ck_assert_int_eq(access(path, F_OK), 0);
    r = call("PATCH", "/users/admin@localhost", t, NULL,
        "{\"password\":\"a-new-admin-password\"}");
    ck_assert_int_eq(http_status(r), 200);
    free(r);
    ck_assert_int_eq(access(path, F_OK), -1);
    ck_assert_int_eq(errno, ENOENT);
    sleep_ms(100);
    log = daemon_log(&d);
    ck_assert_msg(strstr(log, "notice: removed ") != NULL &&
        strstr(log, "/initial-admin-password: the password it holds is no longer "
        "admin@localhost's (password changed)") != NULL, "%s", log);
    free(log);
    login("admin@localhost", "a-new-admin-password");
}
END_TEST

START_TEST(test_initial_admin_password_honours_min_password_length)
{
    char path[400], pw[128];
    FILE *fp;

    daemon_cleanup(&d);
    start(CONF "min_password_length = 40\n");
    snprintf(path, sizeof(path), "%s/initial-admin-password", d.state_dir);
    fp = fopen(path, "r");
    ck_assert_ptr_nonnull(fp);
    ck_assert_ptr_nonnull(fgets(pw, sizeof(pw), fp));
    fclose(fp);
    ck_assert_int_eq((int)strlen(pw), 41);      /* and its newline */
    pw[40] = '\0';
    ck_assert_int_eq((int)strspn(pw, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
        "0123456789"), 40);
    login("admin@localhost", pw);
}
END_TEST

/*
 * A login ends nobody else's session to make room: with the session table
 * full of live sessions it is 503 with Retry-After and the admin stays
 * logged in; a user at max_sessions_per_user ends their own oldest.
 */
START_TEST(test_login_into_a_full_session_table_is_503)
{
    char admin[128], a1[128], a2[128], *r, ra[16];

    daemon_cleanup(&d);
    start(CONF "max_sessions = 3\nmax_sessions_per_user = 2\n");
    create("a@example.com", "password1");
    create("b@example.com", "password1");
    snprintf(admin, sizeof(admin), "%s", admin_token());
    snprintf(a1, sizeof(a1), "%s", login("a@example.com", "password1"));
    snprintf(a2, sizeof(a2), "%s", login("a@example.com", "password1"));
    r = call("POST", "/", NULL, NULL,
        jbody("{\"email\":\"b@example.com\",\"password\":\"password1\"}"));
    ck_assert_msg(http_status(r) == 503, "%s", r);
    ck_assert(http_header(r, "Retry-After", ra, sizeof(ra)));
    ck_assert_str_eq(ra, "5");
    ck_assert_str_eq(http_body(r), "{\"error\":\"service_unavailable\","
        "\"message\":\"too many sessions; try again later\"}");
    free(r);
    r = call("GET", "/", admin, NULL, NULL);
    ck_assert_int_eq(http_status(r), 200);
    free(r);
    /* a's third login ends a's first session, and only that one. */
    login("a@example.com", "password1");
    r = call("GET", "/", a1, NULL, NULL);
    assert_error(r, 403, "forbidden");
    free(r);
    r = call("GET", "/", a2, NULL, NULL);
    ck_assert_int_eq(http_status(r), 200);
    free(r);
    r = call("GET", "/", admin, NULL, NULL);
    ck_assert_int_eq(http_status(r), 200);
    free(r);
}
END_TEST

START_TEST(test_one_token_on_many_fresh_connections)
{
    char t[128], *r;
    int  i;

    create("many@example.com", "password1");
    snprintf(t, sizeof(t), "%s", login("many@example.com", "password1"));
    /* 4 workers: fresh connections land on all of them. */
    for (i = 0; i < 60; i++) {
        r = call("GET", "/", t, NULL, NULL);
        ck_assert_msg(http_status(r) == 200, "try %d: %s", i, r);
        free(r);
    }
}
END_TEST

/* ---- HEAD / ------------------------------------------------------------ */

START_TEST(test_head_counts_users)
{
    char *r, v[32];

    create("h1@example.com", "password1");
    create("h2@example.com", "password1");
    r = call("HEAD", "/", NULL, NULL, NULL);
    ck_assert_int_eq(http_status(r), 200);
    ck_assert(http_header(r, "X-Userapid-Users", v, sizeof(v)));
    ck_assert_str_eq(v, "3");
    ck_assert(http_header(r, "X-Userapid-Workers", v, sizeof(v)));
    ck_assert_str_eq(v, "4/4");
    free(r);
}
END_TEST

/* ---- registration ------------------------------------------------------ */

START_TEST(test_registration_closed_is_403)
{
    char *r;

    daemon_cleanup(&d);
    start(CONF "registration = closed\n");
    r = call("PUT", "/", NULL, NULL, "{\"email\":\"a@b.cd\",\"password\":\"password1\"}");
    assert_error(r, 403, "forbidden");
    free(r);
    r = call("PUT", "/", admin_token(), NULL,
        "{\"email\":\"a@b.cd\",\"password\":\"password1\"}");
    assert_error(r, 403, "forbidden");
    free(r);
}
END_TEST

START_TEST(test_registration_admin_only)
{
    char *r;

    daemon_cleanup(&d);
    start(CONF "registration = admin\n");
    r = call("PUT", "/", NULL, NULL, "{\"email\":\"a@b.cd\",\"password\":\"password1\"}");
    assert_error(r, 403, "forbidden");
    free(r);
    r = call("PUT", "/", admin_token(), NULL,
        "{\"email\":\"a@b.cd\",\"password\":\"password1\"}");
    ck_assert_int_eq(http_status(r), 201);
    free(r);
}
END_TEST

/* ---- /session and /users/<email> --------------------------------------- */

START_TEST(test_delete_session_logs_out)
{
    char t[64], *r, v[256];

    create("out@example.com", "password1");
    snprintf(t, sizeof(t), "%s", login("out@example.com", "password1"));
    r = call("DELETE", "/session", t, NULL, NULL);
    ck_assert_int_eq(http_status(r), 204);
    ck_assert(http_header(r, "Set-Cookie", v, sizeof(v)));
    ck_assert_str_eq(v, "userapid_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0");
    ck_assert_str_eq(http_body(r), "");
    free(r);
    r = call("GET", "/", t, NULL, NULL);
    assert_error(r, 403, "forbidden");
    free(r);
    r = call("DELETE", "/session", t, NULL, NULL);
    assert_error(r, 403, "forbidden");
    free(r);
}
END_TEST


/* ---- /session, /sessions ------------------------------------------------ */

/* The parsed body of r (a JSON object), freed by the caller. */
static struct json_object *
jparse(const char *r)
{
    struct json_object *o = json_tokener_parse(http_body(r));

    ck_assert_msg(o != NULL && json_object_is_type(o, json_type_object),
        "not a JSON object: %s", r);
    return o;
}

/* The string member key of o; fails when absent. */
static const char *
jstr(struct json_object *o, const char *key)
{
    struct json_object *f;

    ck_assert_msg(json_object_object_get_ex(o, key, &f), "no %s", key);
    return json_object_get_string(f);
}

static void
assert_no_store(const char *r)
{
    char v[64];

    ck_assert(http_header(r, "Cache-Control", v, sizeof(v)));
    ck_assert_str_eq(v, "no-store");
}

START_TEST(test_get_session_says_whose_the_token_is)
{
    struct json_object *o;
    char                t[64], *r;

    create("who@example.com", "password1");
    snprintf(t, sizeof(t), "%s", login("who@example.com", "password1"));
    r = call("GET", "/session", t, NULL, NULL);
    ck_assert_msg(http_status(r) == 200, "%s", r);
    assert_no_store(r);
    o = jparse(r);
    ck_assert_int_eq(json_object_object_length(o), 5);
    ck_assert_str_eq(jstr(o, "email"), "who@example.com");
    ck_assert_str_eq(jstr(o, "role"), "user");
    ck_assert_str_eq(jstr(o, "role_id"), "2");
    assert_iso_time(jstr(o, "created_at"));
    assert_iso_time(jstr(o, "expires_at"));
    ck_assert_str_lt(jstr(o, "created_at"), jstr(o, "expires_at"));
    ck_assert_ptr_null(strstr(http_body(r), t));
    json_object_put(o);
    free(r);
    r = call("GET", "/session", admin_token(), NULL, NULL);
    ck_assert_str_eq(jfield(r, "email"), "admin@localhost");
    ck_assert_str_eq(jfield(r, "role"), "admin");
    ck_assert_str_eq(jfield(r, "role_id"), "1");
    free(r);
    r = call("GET", "/session", NULL, NULL, NULL);
    assert_error(r, 403, "forbidden");
    ck_assert_str_eq(jfield(r, "message"), "log in first");
    free(r);
    r = call("DELETE", "/session", t, NULL, NULL);
    ck_assert_int_eq(http_status(r), 204);
    free(r);
    r = call("GET", "/session", t, NULL, NULL);
    assert_error(r, 403, "forbidden");
    free(r);
}
END_TEST

/* The sessions of token's user: the array (owned by *o) and its length. */
static struct json_object *
list_sessions(const char *token, struct json_object **o)
{
    struct json_object *a;
    char               *r = call("GET", "/sessions", token, NULL, NULL);

    ck_assert_msg(http_status(r) == 200, "%s", r);
    assert_no_store(r);
    ck_assert_ptr_null(strstr(http_body(r), token));
    *o = jparse(r);
    ck_assert_int_eq(json_object_object_length(*o), 1);
    ck_assert(json_object_object_get_ex(*o, "sessions", &a));
    free(r);
    return a;
}

/* The id of session i of token's user. */
static void
session_id_of(const char *token, size_t i, char *id, size_t idlen)
{
    struct json_object *o, *a = list_sessions(token, &o);

    ck_assert_uint_gt(json_object_array_length(a), i);
    snprintf(id, idlen, "%s", jstr(json_object_array_get_idx(a, i), "id"));
    json_object_put(o);
}

START_TEST(test_get_sessions_lists_own_with_exactly_one_current)
{
    struct json_object *o, *a, *e, *f;
    char                t1[64], t2[64];
    size_t              i;

    create("two@example.com", "password1");
    create("other@example.com", "password1");
    snprintf(t1, sizeof(t1), "%s", login("two@example.com", "password1"));
    sleep_ms(1100);     /* distinct creation times */
    snprintf(t2, sizeof(t2), "%s", login("two@example.com", "password1"));
    login("other@example.com", "password1");
    a = list_sessions(t2, &o);
    ck_assert_int_eq((int)json_object_array_length(a), 2);
    for (i = 0; i < 2; i++) {
        e = json_object_array_get_idx(a, i);
        ck_assert_int_eq(json_object_object_length(e), 6);
        ck_assert_int_eq((int)strlen(jstr(e, "id")), 32);
        ck_assert_int_eq((int)strspn(jstr(e, "id"), "0123456789abcdef"), 32);
        assert_iso_time(jstr(e, "created_at"));
        assert_iso_time(jstr(e, "last_used"));
        assert_iso_time(jstr(e, "expires_at"));
        ck_assert_str_eq(jstr(e, "address"), "127.0.0.1");
        ck_assert(json_object_object_get_ex(e, "current", &f));
        ck_assert(json_object_is_type(f, json_type_boolean));
        /* Creation order: t2's session, the current one, is second. */
        ck_assert_int_eq(json_object_get_boolean(f), i == 1);
    }
    ck_assert_str_lt(jstr(json_object_array_get_idx(a, 0), "created_at"),
        jstr(json_object_array_get_idx(a, 1), "created_at"));
    ck_assert_str_ne(jstr(json_object_array_get_idx(a, 0), "id"),
        jstr(json_object_array_get_idx(a, 1), "id"));
    json_object_put(o);
    a = list_sessions(t1, &o);
    ck_assert_int_eq(json_object_get_boolean(json_object_object_get(
        json_object_array_get_idx(a, 0), "current")), 1);
    ck_assert_int_eq(json_object_get_boolean(json_object_object_get(
        json_object_array_get_idx(a, 1), "current")), 0);
    json_object_put(o);
}
END_TEST

START_TEST(test_delete_sessions_id_ends_that_one_only)
{
    char t1[64], t2[64], tb[64], id1[64], idb[64], path[128], *r;

    create("a@example.com", "password1");
    create("b@example.com", "password1");
    snprintf(t1, sizeof(t1), "%s", login("a@example.com", "password1"));
    snprintf(t2, sizeof(t2), "%s", login("a@example.com", "password1"));
    snprintf(tb, sizeof(tb), "%s", login("b@example.com", "password1"));
    session_id_of(t2, 0, id1, sizeof(id1));
    session_id_of(tb, 0, idb, sizeof(idb));
    /* Another user's id is not found, and that session lives on. */
    snprintf(path, sizeof(path), "/sessions/%s", idb);
    r = call("DELETE", path, t2, NULL, NULL);
    assert_error(r, 404, "not_found");
    ck_assert_str_eq(jfield(r, "message"), "no such session");
    free(r);
    r = call("GET", "/session", tb, NULL, NULL);
    ck_assert_int_eq(http_status(r), 200);
    free(r);
    snprintf(path, sizeof(path), "/sessions/%s", id1);
    r = call("DELETE", path, t2, NULL, NULL);
    ck_assert_msg(http_status(r) == 204, "%s", r);
    ck_assert_str_eq(http_body(r), "");
    assert_no_store(r);
    free(r);
    r = call("GET", "/session", t1, NULL, NULL);
    assert_error(r, 403, "forbidden");
    free(r);
    r = call("GET", "/session", t2, NULL, NULL);
    ck_assert_int_eq(http_status(r), 200);
    free(r);
    r = call("DELETE", path, t2, NULL, NULL);
    assert_error(r, 404, "not_found");
    free(r);
    r = call("DELETE", "/sessions/not-an-id", t2, NULL, NULL);
    assert_error(r, 404, "not_found");
    free(r);
    r = call("DELETE", path, NULL, NULL, NULL);
    assert_error(r, 403, "forbidden");
    free(r);
}
END_TEST

START_TEST(test_delete_sessions_ends_all_and_clears_the_cookie)
{
    char t1[64], t2[64], tb[64], v[256], *r;

    create("all@example.com", "password1");
    create("keep@example.com", "password1");
    snprintf(t1, sizeof(t1), "%s", login("all@example.com", "password1"));
    snprintf(t2, sizeof(t2), "%s", login("all@example.com", "password1"));
    snprintf(tb, sizeof(tb), "%s", login("keep@example.com", "password1"));
    r = call("DELETE", "/sessions", t1, NULL, NULL);
    ck_assert_msg(http_status(r) == 204, "%s", r);
    ck_assert_str_eq(http_body(r), "");
    ck_assert(http_header(r, "Set-Cookie", v, sizeof(v)));
    ck_assert_str_eq(v, "userapid_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0");
    assert_no_store(r);
    free(r);
    r = call("GET", "/session", t1, NULL, NULL);
    assert_error(r, 403, "forbidden");
    free(r);
    r = call("GET", "/", t2, NULL, NULL);
    assert_error(r, 403, "forbidden");
    free(r);
    r = call("GET", "/session", tb, NULL, NULL);
    ck_assert_int_eq(http_status(r), 200);
    free(r);
    r = call("DELETE", "/sessions", t1, NULL, NULL);
    assert_error(r, 403, "forbidden");
    free(r);
}
END_TEST

/* A client asking GET /session with one token, on a fresh connection each
 * time, until told to stop. */
struct prober {
    pthread_t       thread;
    const char     *token;
    volatile int   *stop;
    const volatile int64_t *revoked_us;     /* 0 until the 204 came */
    int             ok_after;               /* 200s to requests sent after */
    int             after;                  /* requests sent after */
    int             before_ok;
};

static int64_t
now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void *
probe(void *arg)
{
    struct prober *p = arg;
    char           req[256], *r;
    int64_t        revoked;

    snprintf(req, sizeof(req), "GET /session HTTP/1.1\r\nHost: t\r\n"
        "Authorization: Bearer %s\r\nConnection: close\r\n\r\n", p->token);
    while (!*p->stop) {
        /* Read before sending: a request counts as "after" only when the
         * 204 had been received before it left. */
        revoked = __atomic_load_n(p->revoked_us, __ATOMIC_ACQUIRE);
        r = http_exchange(d.port, req, 5000);
        if (r == NULL)
            continue;
        if (revoked != 0) {
            p->after++;
            p->ok_after += http_status(r) == 200;
        } else {
            p->before_ok += http_status(r) == 200;
        }
        free(r);
    }
    return NULL;
}

START_TEST(test_delete_sessions_id_racing_requests_none_200_after_204)
{
    struct prober   pr[4];
    volatile int    stop = 0;
    volatile int64_t revoked = 0;
    char            t1[64], t2[64], id1[64], path[128], *r;
    int             i, before = 0;

    create("race@example.com", "password1");
    snprintf(t1, sizeof(t1), "%s", login("race@example.com", "password1"));
    snprintf(t2, sizeof(t2), "%s", login("race@example.com", "password1"));
    session_id_of(t2, 0, id1, sizeof(id1));
    for (i = 0; i < 4; i++) {
        memset(&pr[i], 0, sizeof(pr[i]));
        pr[i].token = t1;
        pr[i].stop = &stop;
        pr[i].revoked_us = &revoked;
        ck_assert_int_eq(pthread_create(&pr[i].thread, NULL, probe, &pr[i]), 0);
    }
    sleep_ms(300);
    snprintf(path, sizeof(path), "/sessions/%s", id1);
    r = call("DELETE", path, t2, NULL, NULL);
    ck_assert_int_eq(http_status(r), 204);
    __atomic_store_n(&revoked, now_us(), __ATOMIC_RELEASE);
    free(r);
    sleep_ms(500);
    stop = 1;
    for (i = 0; i < 4; i++) {
        pthread_join(pr[i].thread, NULL);
        ck_assert_int_eq(pr[i].ok_after, 0);
        ck_assert_int_gt(pr[i].after, 0);
        before += pr[i].before_ok;
    }
    /* The token worked until then: the race was run. */
    ck_assert_int_gt(before, 0);
}
END_TEST

/* ---- GET /?limit&after&q ------------------------------------------------ */

/* The emails of one page, appended to seen as "a b c "; the page's next
 * into next ("" when absent).  Returns the number of users. */
static int
get_page(const char *token, const char *query, char *seen, size_t seenlen,
    char *next, size_t nextlen)
{
    struct json_object *o, *a, *n;
    char                path[1024], *r;
    size_t              i, len;

    snprintf(path, sizeof(path), "/?%s", query);
    r = call("GET", path, token, NULL, NULL);
    ck_assert_msg(http_status(r) == 200, "%s: %s", path, r);
    assert_no_store(r);
    o = jparse(r);
    ck_assert(json_object_object_get_ex(o, "users", &a));
    len = json_object_array_length(a);
    for (i = 0; i < len; i++) {
        ck_assert_int_eq(json_object_object_length(
            json_object_array_get_idx(a, i)), 4);
        snprintf(seen + strlen(seen), seenlen - strlen(seen), "%s ",
            jstr(json_object_array_get_idx(a, i), "email"));
    }
    next[0] = '\0';
    if (json_object_object_get_ex(o, "next", &n)) {
        snprintf(next, nextlen, "%s", json_object_get_string(n));
        ck_assert_int_ne((int)strlen(next), 0);
        ck_assert_int_eq((int)strspn(next, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
            "abcdefghijklmnopqrstuvwxyz0123456789-_"), (int)strlen(next));
    }
    ck_assert_int_eq(json_object_object_length(o), next[0] ? 2 : 1);
    json_object_put(o);
    free(r);
    return (int)len;
}

/* Users p01..p<n>@example.com; "admin@localhost p01@example.com ..." into
 * all when not NULL. */
static void
create_many(int n, const char *stem, char *all, size_t alllen)
{
    char email[64];
    int  i;

    if (all != NULL)
        snprintf(all, alllen, "admin@localhost ");
    for (i = 1; i <= n; i++) {
        snprintf(email, sizeof(email), "%s%02d@example.com", stem, i);
        create(email, "password1");
        if (all != NULL)
            snprintf(all + strlen(all), alllen - strlen(all), "%s ", email);
    }
}

START_TEST(test_get_pages_through_all_users_in_creation_order)
{
    char all[4096], seen[4096] = "", next[1024], q[1200], t[128];

    create_many(24, "p", all, sizeof(all));
    snprintf(t, sizeof(t), "%s", admin_token());
    ck_assert_int_eq(get_page(t, "limit=10", seen, sizeof(seen), next,
        sizeof(next)), 10);
    ck_assert_str_ne(next, "");
    snprintf(q, sizeof(q), "limit=10&after=%s", next);
    ck_assert_int_eq(get_page(t, q, seen, sizeof(seen), next, sizeof(next)),
        10);
    ck_assert_str_ne(next, "");
    snprintf(q, sizeof(q), "after=%s&limit=10", next);
    ck_assert_int_eq(get_page(t, q, seen, sizeof(seen), next, sizeof(next)),
        5);
    ck_assert_str_eq(next, "");
    ck_assert_str_eq(seen, all);
    /* Exactly limit users: no next. */
    seen[0] = '\0';
    ck_assert_int_eq(get_page(t, "limit=25", seen, sizeof(seen), next,
        sizeof(next)), 25);
    ck_assert_str_eq(next, "");
    /* Only after or q: 100 at most. */
    seen[0] = '\0';
    ck_assert_int_eq(get_page(t, "q=", seen, sizeof(seen), next,
        sizeof(next)), 25);
    ck_assert_str_eq(seen, all);
}
END_TEST

START_TEST(test_get_page_filters_by_email_prefix_in_any_case)
{
    char seen[2048] = "", next[1024], q[1200], t[128];

    create_many(3, "pa", NULL, 0);
    create_many(2, "qa", NULL, 0);
    create("pa+tag@example.com", "password1");
    create_many(3, "pb", NULL, 0);
    snprintf(t, sizeof(t), "%s", admin_token());
    ck_assert_int_eq(get_page(t, "q=PA&limit=2", seen, sizeof(seen), next,
        sizeof(next)), 2);
    snprintf(q, sizeof(q), "q=PA&limit=2&after=%s", next);
    ck_assert_int_eq(get_page(t, q, seen, sizeof(seen), next, sizeof(next)),
        2);
    ck_assert_str_eq(next, "");
    ck_assert_str_eq(seen, "pa01@example.com pa02@example.com "
        "pa03@example.com pa+tag@example.com ");
    seen[0] = '\0';
    ck_assert_int_eq(get_page(t, "q=pa%2B", seen, sizeof(seen), next,
        sizeof(next)), 1);
    ck_assert_str_eq(seen, "pa+tag@example.com ");
    seen[0] = '\0';
    ck_assert_int_eq(get_page(t, "q=pa+", seen, sizeof(seen), next,
        sizeof(next)), 1);
    seen[0] = '\0';
    ck_assert_int_eq(get_page(t, "q=zz", seen, sizeof(seen), next,
        sizeof(next)), 0);
    ck_assert_str_eq(next, "");
    seen[0] = '\0';
    ck_assert_int_eq(get_page(t, "q=p_", seen, sizeof(seen), next,
        sizeof(next)), 0);
}
END_TEST

START_TEST(test_get_page_bad_parameters_are_400_saying_which)
{
    static const struct { const char *query, *message; } bad[] = {
        { "limit=0", "limit must be a number from 1 to 1000" },
        { "limit=1001", "limit must be a number from 1 to 1000" },
        { "limit=abc", "limit must be a number from 1 to 1000" },
        { "limit=", "limit must be a number from 1 to 1000" },
        { "limit=-1", "limit must be a number from 1 to 1000" },
        { "limit", "query parameter \"limit\" has no value" },
        { "page=2", "unknown query parameter \"page\"; give limit, after or q" },
        { "limit=1&limit=2", "query parameter limit given twice" },
        { "q=a&q=b", "query parameter q given twice" },
        { "after=!!!", "after is not a cursor of this server" },
        { "after=", "after is not a cursor of this server" },
        { "after=a", "after is not a cursor of this server" },
        { "after=Zm9v", "after is not a cursor of this server, or the users "
          "around it were deleted; start again without it" },
        { "q=a%20b", "q must be the start of an email address" },
        { "q=%zz", "the query string is malformed" },
    };
    char   path[256], t[128], *r;
    size_t i;

    snprintf(t, sizeof(t), "%s", admin_token());
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        snprintf(path, sizeof(path), "/?%s", bad[i].query);
        r = call("GET", path, t, NULL, NULL);
        ck_assert_msg(http_status(r) == 400, "%s: %s", path, r);
        ck_assert_str_eq(jfield(r, "error"), "bad_request");
        ck_assert_msg(strcmp(jfield(r, "message"), bad[i].message) == 0,
            "%s: %s", path, r);
        free(r);
    }
    /* Without a session the query is not looked at. */
    r = call("GET", "/?limit=0", NULL, NULL, NULL);
    assert_error(r, 403, "forbidden");
    free(r);
}
END_TEST

START_TEST(test_get_page_cursor_survives_adds_and_deletes)
{
    char all[4096], seen[4096] = "", next[1024], q[1200], t[128], *r;

    create_many(24, "c", all, sizeof(all));
    snprintf(t, sizeof(t), "%s", admin_token());
    ck_assert_int_eq(get_page(t, "limit=10", seen, sizeof(seen), next,
        sizeof(next)), 10);
    /* One already seen and one not yet seen go; one comes. */
    r = call("DELETE", "/users/c03@example.com", t, NULL, NULL);
    ck_assert_int_eq(http_status(r), 204);
    free(r);
    r = call("DELETE", "/users/c15@example.com", t, NULL, NULL);
    ck_assert_int_eq(http_status(r), 204);
    free(r);
    create("late@example.com", "password1");
    snprintf(q, sizeof(q), "limit=10&after=%s", next);
    ck_assert_int_eq(get_page(t, q, seen, sizeof(seen), next, sizeof(next)),
        10);
    /* The last one seen goes too. */
    r = call("DELETE", "/users/c20@example.com", t, NULL, NULL);
    ck_assert_int_eq(http_status(r), 204);
    free(r);
    snprintf(q, sizeof(q), "limit=10&after=%s", next);
    ck_assert_int_eq(get_page(t, q, seen, sizeof(seen), next, sizeof(next)),
        5);
    ck_assert_str_eq(next, "");
    ck_assert_str_eq(seen, "admin@localhost c01@example.com c02@example.com "
        "c03@example.com c04@example.com c05@example.com c06@example.com "
        "c07@example.com c08@example.com c09@example.com c10@example.com "
        "c11@example.com c12@example.com c13@example.com c14@example.com "
        "c16@example.com c17@example.com c18@example.com c19@example.com "
        "c20@example.com c21@example.com c22@example.com c23@example.com "
        "c24@example.com late@example.com ");
}
END_TEST

START_TEST(test_get_page_of_a_user_is_their_own_record_filtered)
{
    char seen[1024] = "", next[1024], t[64], *r;

    create_many(3, "own", NULL, 0);
    snprintf(t, sizeof(t), "%s", login("own02@example.com", "password1"));
    ck_assert_int_eq(get_page(t, "limit=1", seen, sizeof(seen), next,
        sizeof(next)), 1);
    ck_assert_str_eq(seen, "own02@example.com ");
    ck_assert_str_eq(next, "");
    ck_assert_int_eq(get_page(t, "q=OWN0", seen, sizeof(seen), next,
        sizeof(next)), 1);
    seen[0] = '\0';
    ck_assert_int_eq(get_page(t, "q=own01", seen, sizeof(seen), next,
        sizeof(next)), 0);
    ck_assert_int_eq(get_page(t, "after=Zm9v", seen, sizeof(seen), next,
        sizeof(next)), 0);
    r = call("GET", "/?limit=0", t, NULL, NULL);
    assert_error(r, 400, "bad_request");
    free(r);
}
END_TEST

START_TEST(test_get_user_record_rules)
{
    char t[128], *r;

    create("self@example.com", "password1");
    create("other@example.com", "password1");
    snprintf(t, sizeof(t), "%s", login("self@example.com", "password1"));
    r = call("GET", "/users/self@example.com", t, NULL, NULL);
    ck_assert_int_eq(http_status(r), 200);
    ck_assert_str_eq(jfield(r, "email"), "self@example.com");
    free(r);
    r = call("GET", "/users/other@example.com", t, NULL, NULL);
    assert_error(r, 403, "forbidden");
    free(r);
    r = call("GET", "/users/other%40example.com", admin_token(), NULL, NULL);
    ck_assert_int_eq(http_status(r), 200);
    ck_assert_str_eq(jfield(r, "email"), "other@example.com");
    free(r);
    r = call("GET", "/users/ghost@example.com", admin_token(), NULL, NULL);
    assert_error(r, 404, "not_found");
    free(r);
    r = call("GET", "/users/self@example.com", NULL, NULL, NULL);
    assert_error(r, 403, "forbidden");
    free(r);
}
END_TEST

START_TEST(test_patch_own_password_needs_current)
{
    char t[128], t2[128], *r;

    create("pw@example.com", "password1");
    snprintf(t, sizeof(t), "%s", login("pw@example.com", "password1"));
    snprintf(t2, sizeof(t2), "%s", login("pw@example.com", "password1"));
    r = call("PATCH", "/users/pw@example.com", t, NULL, "{\"password\":\"password2\"}");
    assert_error(r, 400, "bad_request");
    free(r);
    r = call("PATCH", "/users/pw@example.com", t, NULL,
        "{\"password\":\"password2\",\"current_password\":\"nope-nope\"}");
    assert_error(r, 403, "forbidden");
    free(r);
    /* A NUL inside cannot match, whatever comes before it. */
    r = call("PATCH", "/users/pw@example.com", t, NULL,
        "{\"password\":\"password2\",\"current_password\":\"password1\\u0000junk\"}");
    assert_error(r, 403, "forbidden");
    ck_assert_str_eq(jfield(r, "message"), "the current password is wrong");
    free(r);
    r = call("PATCH", "/users/pw@example.com", t, NULL,
        "{\"password\":\"password2\",\"current_password\":\"password1\"}");
    ck_assert_int_eq(http_status(r), 200);
    ck_assert_str_eq(jfield(r, "email"), "pw@example.com");
    free(r);
    /* The other session ended; this one lives; the new password works. */
    r = call("GET", "/", t2, NULL, NULL);
    assert_error(r, 403, "forbidden");
    free(r);
    r = call("GET", "/", t, NULL, NULL);
    ck_assert_int_eq(http_status(r), 200);
    free(r);
    r = call("POST", "/", NULL, NULL,
        "{\"email\":\"pw@example.com\",\"password\":\"password1\"}");
    ck_assert_int_eq(http_status(r), 401);
    free(r);
    login("pw@example.com", "password2");
}
END_TEST

START_TEST(test_patch_admin_resets_password_and_role)
{
    char t[128], a[128], *r;

    create("reset@example.com", "password1");
    snprintf(t, sizeof(t), "%s", login("reset@example.com", "password1"));
    snprintf(a, sizeof(a), "%s", admin_token());
    r = call("PATCH", "/users/reset@example.com", a, NULL, "{\"password\":\"newpassword\"}");
    ck_assert_int_eq(http_status(r), 200);
    free(r);
    r = call("GET", "/", t, NULL, NULL);
    assert_error(r, 403, "forbidden");
    free(r);
    snprintf(t, sizeof(t), "%s", login("reset@example.com", "newpassword"));
    /* A user may not change roles, not even their own. */
    r = call("PATCH", "/users/reset@example.com", t, NULL, "{\"role\":\"admin\"}");
    assert_error(r, 403, "forbidden");
    free(r);
    r = call("PATCH", "/users/reset@example.com", a, NULL, "{\"role\":\"admin\"}");
    ck_assert_int_eq(http_status(r), 200);
    ck_assert_str_eq(jfield(r, "role"), "admin");
    ck_assert_str_eq(jfield(r, "role_id"), "1");
    free(r);
    /* The live session got the new role: it lists everyone now. */
    r = call("GET", "/", t, NULL, NULL);
    ck_assert_int_eq(http_status(r), 200);
    ck_assert(strstr(http_body(r), "admin@localhost") != NULL);
    free(r);
    /* A user may not patch another user. */
    create("someone@example.com", "password1");
    r = call("PATCH", "/users/reset@example.com",
        login("someone@example.com", "password1"), NULL, "{\"password\":\"password9\"}");
    assert_error(r, 403, "forbidden");
    free(r);
}
END_TEST

START_TEST(test_last_admin_cannot_be_deleted_or_demoted)
{
    char a[128], *r;

    snprintf(a, sizeof(a), "%s", admin_token());
    r = call("DELETE", "/users/admin@localhost", a, NULL, NULL);
    assert_error(r, 409, "conflict");
    free(r);
    r = call("PATCH", "/users/admin@localhost", a, NULL, "{\"role\":\"user\"}");
    assert_error(r, 409, "conflict");
    free(r);
}
END_TEST

START_TEST(test_delete_user_ends_sessions)
{
    char a[128], t[128], *r;

    create("gone@example.com", "password1");
    snprintf(t, sizeof(t), "%s", login("gone@example.com", "password1"));
    snprintf(a, sizeof(a), "%s", admin_token());
    r = call("DELETE", "/users/gone@example.com", t, NULL, NULL);
    assert_error(r, 403, "forbidden");
    free(r);
    r = call("DELETE", "/users/gone@example.com", a, NULL, NULL);
    ck_assert_int_eq(http_status(r), 204);
    ck_assert_str_eq(http_body(r), "");
    free(r);
    r = call("GET", "/", t, NULL, NULL);
    assert_error(r, 403, "forbidden");
    free(r);
    r = call("DELETE", "/users/gone@example.com", a, NULL, NULL);
    assert_error(r, 404, "not_found");
    free(r);
}
END_TEST

START_TEST(test_routes_405_with_allow)
{
    char *r, v[128];

    r = call("DELETE", "/", NULL, NULL, NULL);
    assert_error(r, 405, "method_not_allowed");
    ck_assert(http_header(r, "Allow", v, sizeof(v)));
    ck_assert_str_eq(v, "GET, HEAD, POST, PUT, OPTIONS");
    free(r);
    r = call("PUT", "/session", NULL, NULL, "{}");
    assert_error(r, 405, "method_not_allowed");
    ck_assert(http_header(r, "Allow", v, sizeof(v)));
    ck_assert_str_eq(v, "GET, HEAD, DELETE, OPTIONS");
    free(r);
    r = call("POST", "/sessions", NULL, NULL, "{}");
    assert_error(r, 405, "method_not_allowed");
    ck_assert(http_header(r, "Allow", v, sizeof(v)));
    ck_assert_str_eq(v, "GET, HEAD, DELETE, OPTIONS");
    free(r);
    r = call("GET", "/sessions/0123456789abcdef0123456789abcdef", NULL, NULL,
        NULL);
    assert_error(r, 405, "method_not_allowed");
    ck_assert(http_header(r, "Allow", v, sizeof(v)));
    ck_assert_str_eq(v, "DELETE, OPTIONS");
    free(r);
    r = call("PUT", "/users/a@b.cd", NULL, NULL, "{}");
    ck_assert(http_header(r, "Allow", v, sizeof(v)));
    ck_assert_str_eq(v, "GET, HEAD, PATCH, DELETE, OPTIONS");
    free(r);
}
END_TEST

/* OPTIONS on every route: 204, Allow, no body, no Content-Length. */
START_TEST(test_options_answers_204_with_allow)
{
    static const struct { const char *path, *allow; } routes[] = {
        { "/", "GET, HEAD, POST, PUT, OPTIONS" },
        { "/status", "GET, HEAD, OPTIONS" },
        { "/session", "GET, HEAD, DELETE, OPTIONS" },
        { "/sessions", "GET, HEAD, DELETE, OPTIONS" },
        { "/sessions/0123456789abcdef0123456789abcdef", "DELETE, OPTIONS" },
        { "/users/a@b.cd", "GET, HEAD, PATCH, DELETE, OPTIONS" },
        { "/lockouts", "GET, HEAD, OPTIONS" },
        { "/lockouts/a@b.cd", "DELETE, OPTIONS" },
        { "*", "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS" },
    };
    char   req[256], v[128], *r;
    size_t i;

    for (i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
        snprintf(req, sizeof(req), "OPTIONS %s HTTP/1.1\r\nHost: t\r\n"
            "Connection: close\r\n\r\n", routes[i].path);
        r = http_exchange(d.port, req, 5000);
        ck_assert_msg(http_status(r) == 204, "%s: %s", routes[i].path, r);
        ck_assert(http_header(r, "Allow", v, sizeof(v)));
        ck_assert_str_eq(v, routes[i].allow);
        ck_assert(!http_header(r, "Content-Length", v, sizeof(v)));
        ck_assert_str_eq(http_body(r), "");
        /* No CORS header without cors_origins. */
        ck_assert(!http_header(r, "Access-Control-Allow-Origin", v, sizeof(v)));
        free(r);
    }
    r = http_exchange(d.port, "OPTIONS /nowhere HTTP/1.1\r\nHost: t\r\n"
        "Connection: close\r\n\r\n", 5000);
    ck_assert_int_eq(http_status(r), 404);
    free(r);
}
END_TEST

/*
 * HEAD answers wherever GET does, with GET's status and no body; the
 * lockout routes answer admins only; a body of another type is 415.
 */
START_TEST(test_head_lockouts_and_media_types)
{
    static const struct { const char *path; int user, anon; } gets[] = {
        { "/status", 200, 200 },
        { "/session", 200, 403 },
        { "/sessions", 200, 403 },
        { "/users/head@example.com", 200, 403 },
        { "/lockouts", 403, 403 },
    };
    char   tok[128], adm[128], *r;
    size_t i;

    create("head@example.com", "longenough");
    snprintf(tok, sizeof(tok), "%s", login("head@example.com", "longenough"));
    snprintf(adm, sizeof(adm), "%s", admin_token());
    for (i = 0; i < sizeof(gets) / sizeof(gets[0]); i++) {
        r = call("HEAD", gets[i].path, tok, NULL, NULL);
        ck_assert_msg(http_status(r) == gets[i].user, "%s: %s", gets[i].path, r);
        ck_assert_str_eq(http_body(r), "");
        free(r);
        r = call("HEAD", gets[i].path, NULL, NULL, NULL);
        ck_assert_msg(http_status(r) == gets[i].anon, "%s: %s", gets[i].path, r);
        ck_assert_str_eq(http_body(r), "");
        free(r);
    }
    r = call("GET", "/lockouts", adm, NULL, NULL);
    ck_assert_msg(http_status(r) == 200, "%s", r);
    free(r);
    r = call("GET", "/lockouts", tok, NULL, NULL);
    assert_error(r, 403, "forbidden");
    free(r);
    r = call("DELETE", "/lockouts/nobody%40example.com", adm, NULL, NULL);
    assert_error(r, 404, "not_found");
    free(r);
    r = call("DELETE", "/lockouts/nobody%40example.com", tok, NULL, NULL);
    assert_error(r, 403, "forbidden");
    free(r);
    r = call("POST", "/", NULL, "text/plain",
        "email=head@example.com&password=longenough");
    assert_error(r, 415, "unsupported_media_type");
    free(r);
    r = call("PATCH", "/users/head@example.com", tok, "text/plain", "role=admin");
    assert_error(r, 415, "unsupported_media_type");
    free(r);
    r = call("POST", "/", NULL, NULL, "{\"email\":");
    assert_error(r, 400, "bad_request");
    free(r);
}
END_TEST

/*
 * CORS: a listed Origin is echoed with credentials and Vary; a preflight
 * gets the methods and headers; an unlisted Origin gets no CORS header.
 */
START_TEST(test_cors_for_listed_origins_only)
{
    char v[256], *r;

    daemon_cleanup(&d);
    start(CONF "cors_origins = https://app.example.com, http://localhost:3000\n");
    r = http_exchange(d.port, "OPTIONS / HTTP/1.1\r\nHost: t\r\n"
        "Origin: https://app.example.com\r\nAccess-Control-Request-Method: PUT\r\n"
        "Access-Control-Request-Headers: content-type\r\nConnection: close\r\n\r\n", 5000);
    ck_assert_int_eq(http_status(r), 204);
    ck_assert(http_header(r, "Access-Control-Allow-Origin", v, sizeof(v)));
    ck_assert_str_eq(v, "https://app.example.com");
    ck_assert(http_header(r, "Access-Control-Allow-Credentials", v, sizeof(v)));
    ck_assert_str_eq(v, "true");
    ck_assert(http_header(r, "Vary", v, sizeof(v)));
    ck_assert_str_eq(v, "Origin");
    ck_assert(http_header(r, "Access-Control-Allow-Methods", v, sizeof(v)));
    ck_assert_str_eq(v, "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS");
    ck_assert(http_header(r, "Access-Control-Allow-Headers", v, sizeof(v)));
    ck_assert_str_eq(v, "Authorization, Content-Type");
    ck_assert(http_header(r, "Access-Control-Max-Age", v, sizeof(v)));
    ck_assert_str_eq(v, "600");
    free(r);
    /* A simple request from a listed origin: no preflight headers. */
    r = http_exchange(d.port, "GET /status HTTP/1.1\r\nHost: t\r\n"
        "Origin: http://localhost:3000\r\nConnection: close\r\n\r\n", 5000);
    ck_assert_int_eq(http_status(r), 200);
    ck_assert(http_header(r, "Access-Control-Allow-Origin", v, sizeof(v)));
    ck_assert_str_eq(v, "http://localhost:3000");
    ck_assert(!http_header(r, "Access-Control-Allow-Methods", v, sizeof(v)));
    free(r);
    /* Unlisted, or listed with another port or scheme: nothing. */
    r = http_exchange(d.port, "OPTIONS / HTTP/1.1\r\nHost: t\r\n"
        "Origin: https://evil.example.com\r\nAccess-Control-Request-Method: PUT\r\n"
        "Connection: close\r\n\r\n", 5000);
    ck_assert_int_eq(http_status(r), 204);
    ck_assert(strstr(r, "Access-Control-") == NULL);
    ck_assert(!http_header(r, "Vary", v, sizeof(v)));
    free(r);
    r = http_exchange(d.port, "GET /status HTTP/1.1\r\nHost: t\r\n"
        "Origin: http://app.example.com\r\nConnection: close\r\n\r\n", 5000);
    ck_assert(strstr(r, "Access-Control-") == NULL);
    free(r);
}
END_TEST

/* ---- persistence and races --------------------------------------------- */

START_TEST(test_sessions_survive_restart)
{
    struct daemon_opts o = { .conf_extra = CONF, .workers = 4 };
    char               t[128], *r;

    create("keep@example.com", "password1");
    snprintf(t, sizeof(t), "%s", login("keep@example.com", "password1"));
    ck_assert_int_eq(WEXITSTATUS(daemon_stop(&d, 10000)), 0);
    daemon_start(&d, &o);
    r = call("GET", "/", t, NULL, NULL);
    ck_assert_int_eq(http_status(r), 200);
    ck_assert(strstr(http_body(r), "keep@example.com") != NULL);
    free(r);
}
END_TEST

START_TEST(test_16_racing_puts_one_201)
{
    pid_t pids[16];
    int   i, st, created = 0, conflicts = 0;

    for (i = 0; i < 16; i++) {
        pids[i] = fork();
        if (pids[i] == 0) {
            char *r = call("PUT", "/", NULL, NULL,
                "{\"email\":\"race@example.com\",\"password\":\"password1\"}");

            _exit(http_status(r) == 201 ? 1 : http_status(r) == 409 ? 2 : 3);
        }
    }
    for (i = 0; i < 16; i++) {
        waitpid(pids[i], &st, 0);
        created += WEXITSTATUS(st) == 1;
        conflicts += WEXITSTATUS(st) == 2;
    }
    ck_assert_int_eq(created, 1);
    ck_assert_int_eq(conflicts, 15);
}
END_TEST

START_TEST(test_sigkill_during_put_storm_loses_nothing)
{
    struct userdb *db;
    char           err[USERDB_ERR_LEN], path[400], *out;
    pid_t          pids[4];
    int            i, st, fds[4][2];
    size_t         n = 0;

    /* 4 clients create users as fast as they can, reporting each 201. */
    for (i = 0; i < 4; i++) {
        ck_assert_int_eq(pipe(fds[i]), 0);
        pids[i] = fork();
        if (pids[i] == 0) {
            int k;

            close(fds[i][0]);
            for (k = 0; k < 100000; k++) {
                char email[64], *r;

                snprintf(email, sizeof(email), "s%d-%d@example.com", i, k);
                r = call("PUT", "/", NULL, NULL,
                    jbody("{\"email\":\"%s\",\"password\":\"password1\"}", email));
                if (http_status(r) == 201) {
                    dprintf(fds[i][1], "%s\n", email);
                }
                free(r);
            }
            _exit(0);
        }
        close(fds[i][1]);
    }
    sleep_ms(1500);
    kill(d.pid, SIGKILL);
    daemon_wait(&d, 5000);
    for (i = 0; i < 4; i++) {
        kill(pids[i], SIGKILL);
        waitpid(pids[i], &st, 0);
    }
    /* Every acknowledged user is in the file. */
    db = userdb_open(d.state_dir, USERDB_REPAIR, err, sizeof(err));
    ck_assert_msg(db != NULL, "%s", err);
    for (i = 0; i < 4; i++) {
        char  buf[65536];
        FILE *fp = fdopen(fds[i][0], "r");

        while (fgets(buf, sizeof(buf), fp) != NULL) {
            buf[strcspn(buf, "\n")] = '\0';
            ck_assert_msg(userdb_find(db, buf, NULL) == 0, "lost %s", buf);
            n++;
        }
        fclose(fp);
    }
    userdb_close(db);
    ck_assert_uint_gt(n, 10);
    fprintf(stderr, "put storm: %zu acknowledged users, all present\n", n);
    ck_assert_int_eq(userdb_check(d.state_dir, NULL, err, sizeof(err)), 0);
    {
        const char *ctl = getenv("USERAPICTL_BIN");

        out = run_cmd(&st, "%s --config %s check", ctl ? ctl : "build/userapictl",
            d.conf);
        ck_assert_msg(WEXITSTATUS(st) == 0, "userapictl check: %s", out);
        ck_assert(strncmp(out, "users.db: ok (", 14) == 0);
        free(out);
    }
    snprintf(path, sizeof(path), "%s/users.db", d.state_dir);
    out = run_cmd(&st, "stat -c %%a %s", path);
    ck_assert_str_eq(out, "600\n");
    free(out);
}
END_TEST

START_TEST(test_initial_admin_password_file_is_0600)
{
    struct stat st;
    char        path[400];

    snprintf(path, sizeof(path), "%s/initial-admin-password", d.state_dir);
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert_int_eq(st.st_mode & 07777, 0600);
    /* In PostgreSQL, the users and sessions are not files here. */
    if (harness_pg() != NULL) {
        snprintf(path, sizeof(path), "%s/users.db", d.state_dir);
        ck_assert_int_eq(stat(path, &st), -1);
        return;
    }
    snprintf(path, sizeof(path), "%s/users.db", d.state_dir);
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert_int_eq(st.st_mode & 07777, 0600);
    snprintf(path, sizeof(path), "%s/sessions", d.state_dir);
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert_int_eq(st.st_mode & 07777, 0600);
}
END_TEST

START_TEST(test_malformed_db_line_stops_startup)
{
    char  path[400], *out, want[512];
    FILE *fp;
    int   st;

    create("ok@example.com", "password1");
    ck_assert_int_eq(WEXITSTATUS(daemon_stop(&d, 10000)), 0);
    snprintf(path, sizeof(path), "%s/users.db", d.state_dir);
    fp = fopen(path, "a");
    fprintf(fp, "bad line without tabs\nlast@example.com\tuser\t2026-01-01T00:00:00Z\t$y$j75$x$y\n");
    fclose(fp);
    out = run_cmd(&st, "%s --config %s 2>&1", harness_bin(), d.conf);
    ck_assert_int_eq(WEXITSTATUS(st), 1);
    snprintf(want, sizeof(want), "%s:4: ", path);
    ck_assert_msg(strstr(out, want) != NULL, "%s", out);
    free(out);
}
END_TEST

START_TEST(test_torn_last_line_dropped_at_startup)
{
    struct daemon_opts o = { .conf_extra = CONF, .workers = 4 };
    char               path[400], *log, *r;
    FILE              *fp;

    create("kept@example.com", "password1");
    ck_assert_int_eq(WEXITSTATUS(daemon_stop(&d, 10000)), 0);
    snprintf(path, sizeof(path), "%s/users.db", d.state_dir);
    fp = fopen(path, "a");
    fprintf(fp, "torn@example.com\tuser\t2026-01-");
    fclose(fp);
    daemon_start(&d, &o);
    log = daemon_log(&d);
    ck_assert_msg(strstr(log, "users.db:4: removed a torn last line") != NULL, "%s", log);
    free(log);
    /* The users before it are there; new ones append cleanly after it. */
    login("kept@example.com", "password1");
    create("after@example.com", "password1");
    login("after@example.com", "password1");
    r = call("HEAD", "/", NULL, NULL, NULL);
    {
        char v[32];

        ck_assert(http_header(r, "X-Userapid-Users", v, sizeof(v)));
        ck_assert_str_eq(v, "3");
    }
    free(r);
}
END_TEST

START_TEST(test_token_survives_a_worker_crash)
{
    pid_t w[8];
    char  t[128], *r;
    int   i, n;

    create("crash@example.com", "password1");
    snprintf(t, sizeof(t), "%s", login("crash@example.com", "password1"));
    n = daemon_workers(&d, w, 8);
    ck_assert_int_eq(n, 4);
    for (i = 0; i < n; i++)
        kill(w[i], SIGKILL);
    sleep_ms(300);
    for (i = 0; i < 20; i++) {
        r = call("GET", "/", t, NULL, NULL);
        ck_assert_msg(http_status(r) == 200, "%s", r);
        free(r);
    }
}
END_TEST

/* On a terminal the first admin's password is shown; here a pty. */
START_TEST(test_first_admin_password_printed_on_a_terminal)
{
    struct daemon      d2;
    struct daemon_opts o = { .conf_extra = CONF };
    char              *out, path[400], pw[64] = "";
    FILE              *fp;
    int                st;

    daemon_prepare(&d2, &o);
    out = run_cmd(&st, "timeout -s INT 2 script -qec '%s --config %s' /dev/null "
        "| tr -d '\\r' | grep -E 'First administrator|Password:'",
        harness_bin(), d2.conf);
    snprintf(path, sizeof(path), "%s/initial-admin-password", d2.state_dir);
    fp = fopen(path, "r");
    ck_assert_ptr_nonnull(fp);
    ck_assert_ptr_nonnull(fgets(pw, sizeof(pw), fp));
    fclose(fp);
    pw[strcspn(pw, "\n")] = '\0';
    {
        char want[256];

        snprintf(want, sizeof(want), "  First administrator: admin@localhost\n"
            "  Password:            %s\n", pw);
        ck_assert_str_eq(out, want);
    }
    free(out);
    daemon_cleanup(&d2);
}
END_TEST

static Suite *
api_suite(void)
{
    Suite *s = suite_create("api");
    TCase *tc = tcase_create("api");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_put_creates_user_201_with_location);
    tcase_add_test(tc, test_put_accepts_form_body);
    tcase_add_test(tc, test_put_rejects_one_char_email);
    tcase_add_test(tc, test_put_rejects_one_char_password);
    tcase_add_test(tc, test_put_rejects_invalid_email);
    tcase_add_test(tc, test_put_rejects_short_and_long_passwords);
    tcase_add_test(tc, test_put_rejects_malformed_json);
    tcase_add_test(tc, test_put_other_content_type_is_415);
    tcase_add_test(tc, test_put_existing_email_is_409_case_insensitive);
    tcase_add_test(tc, test_put_admin_role_needs_admin);
    tcase_add_test(tc, test_post_logs_in_with_token_and_cookie);
    tcase_add_test(tc, test_post_form_login_as_curl_d_sends);
    tcase_add_test(tc, test_post_unknown_and_wrong_password_same_401);
    tcase_add_test(tc, test_401_carries_www_authenticate);
    tcase_add_test(tc, test_failed_login_cannot_forge_log_lines);
    tcase_add_test(tc, test_post_malformed_or_missing_field_is_400);
    tcase_add_test(tc, test_login_with_nul_in_email_matches_nobody);
    tcase_add_test(tc, test_secrets_never_logged);
    tcase_add_test(tc, test_get_admin_sees_all_in_creation_order);
    tcase_add_test(tc, test_get_user_sees_only_own_record);
    tcase_add_test(tc, test_get_by_cookie);
    tcase_add_test(tc, test_get_without_token_is_403);
    tcase_add_test(tc, test_expired_token_is_403);
    tcase_add_test(tc, test_initial_admin_password_removed_after_password_change);
    tcase_add_test(tc, test_initial_admin_password_honours_min_password_length);
    tcase_add_test(tc, test_login_into_a_full_session_table_is_503);
    tcase_add_test(tc, test_one_token_on_many_fresh_connections);
    tcase_add_test(tc, test_head_counts_users);
    tcase_add_test(tc, test_registration_closed_is_403);
    tcase_add_test(tc, test_registration_admin_only);
    tcase_add_test(tc, test_delete_session_logs_out);
    tcase_add_test(tc, test_get_session_says_whose_the_token_is);
    tcase_add_test(tc, test_get_sessions_lists_own_with_exactly_one_current);
    tcase_add_test(tc, test_delete_sessions_id_ends_that_one_only);
    tcase_add_test(tc, test_delete_sessions_ends_all_and_clears_the_cookie);
    tcase_add_test(tc,
        test_delete_sessions_id_racing_requests_none_200_after_204);
    tcase_add_test(tc, test_get_pages_through_all_users_in_creation_order);
    tcase_add_test(tc, test_get_page_filters_by_email_prefix_in_any_case);
    tcase_add_test(tc, test_get_page_bad_parameters_are_400_saying_which);
    tcase_add_test(tc, test_get_page_cursor_survives_adds_and_deletes);
    tcase_add_test(tc, test_get_page_of_a_user_is_their_own_record_filtered);
    tcase_add_test(tc, test_get_user_record_rules);
    tcase_add_test(tc, test_patch_own_password_needs_current);
    tcase_add_test(tc, test_patch_admin_resets_password_and_role);
    tcase_add_test(tc, test_last_admin_cannot_be_deleted_or_demoted);
    tcase_add_test(tc, test_delete_user_ends_sessions);
    tcase_add_test(tc, test_routes_405_with_allow);
    tcase_add_test(tc, test_options_answers_204_with_allow);
    tcase_add_test(tc, test_head_lockouts_and_media_types);
    tcase_add_test(tc, test_cors_for_listed_origins_only);
    tcase_add_test(tc, test_sessions_survive_restart);
    tcase_add_test(tc, test_initial_admin_password_file_is_0600);
    tcase_add_test(tc, test_token_survives_a_worker_crash);
    tcase_add_test(tc, test_first_admin_password_printed_on_a_terminal);
    tcase_add_test(tc, test_16_racing_puts_one_201);
    suite_add_tcase(s, tc);
    /* What only the file store has: users.db's own format and repair. */
    if (harness_pg() == NULL) {
        tc = tcase_create("file store");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_set_timeout(tc, 60);
        tcase_add_test(tc, test_malformed_db_line_stops_startup);
        tcase_add_test(tc, test_torn_last_line_dropped_at_startup);
        tcase_add_test(tc, test_sigkill_during_put_storm_loses_nothing);
        suite_add_tcase(s, tc);
    }
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(api_suite());
    int      failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
