/* SPDX-License-Identifier: MIT */
/*
 * test_api.c - the account API on a daemon with 4 workers: every route and
 * status of the contract, sessions across connections and restarts, races
 * on one email, and a crash during a storm of creations.
 */
#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
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
    r = call("GET", "/session", NULL, NULL, NULL);
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
        { "/session", "DELETE, OPTIONS" },
        { "/users/a@b.cd", "GET, HEAD, PATCH, DELETE, OPTIONS" },
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
    tcase_add_test(tc, test_get_user_record_rules);
    tcase_add_test(tc, test_patch_own_password_needs_current);
    tcase_add_test(tc, test_patch_admin_resets_password_and_role);
    tcase_add_test(tc, test_last_admin_cannot_be_deleted_or_demoted);
    tcase_add_test(tc, test_delete_user_ends_sessions);
    tcase_add_test(tc, test_routes_405_with_allow);
    tcase_add_test(tc, test_options_answers_204_with_allow);
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
