/* SPDX-License-Identifier: MIT */
/*
 * commands.c - the commands of userapi, one function each, called by
 * main.c with the command line read and checked into struct ua and the
 * server resolved.  See userapi(1) for what each sends and prints.
 *
 * Each returns the exit status, having said on stderr why when it is not
 * 0, and frees and wipes all it used: the saved session it loaded (whose
 * token is a secret) on every way out.  With --json a command prints the
 * server's body as it came, except login's, whose token stays out.
 */
#include <string.h>

#include "userapi.h"

#define UA_JSON_FLAGS   (JSON_C_TO_STRING_PLAIN | \
                            JSON_C_TO_STRING_NOSLASHESCAPE)

int
ua_status(struct ua *ua)
{
    struct ua_response r;
    int                rc;

    /* The headers of HEAD / say it all; as JSON, GET /status does. */
    rc = ua_exchange(ua, ua->json ? "GET" : "HEAD",
        ua->json ? "/status" : "/", NULL, NULL, &r);
    if (rc == 0 && ua->json)
        ua_print_body(&r);
    else if (rc == 0)
        ua_print_status(&r);
    ua_response_free(&r);
    return rc;
}

/* One line from the user record in r: fmt with its email and role.  0,
 * or UA_EXIT_FAIL (said) when it is no user record. */
static int
ua_print_record(const struct ua_response *r, const char *fmt)
{
    struct json_object *o, *e, *ro;
    int                 rc = 0;

    if ((o = ua_response_json(r)) == NULL ||
        !json_object_object_get_ex(o, "email", &e) ||
        !json_object_object_get_ex(o, "role", &ro) ||
        !ua_text_ok(json_object_get_string(e)) ||
        !ua_text_ok(json_object_get_string(ro)))
        rc = ua_err("unexpected answer from the server: no user record");
    else
        printf(fmt, json_object_get_string(e), json_object_get_string(ro));
    json_object_put(o);
    return rc;
}

/* "created EMAIL (ROLE)" from register's answer r. */
static int
ua_print_created(const struct ua_response *r)
{
    return ua_print_record(r, "created %s (%s)\n");
}

int
ua_register(struct ua *ua)
{
    struct ua_response r;
    struct ua_session  s;
    struct buf         body;
    int                rc, authed;

    /* A saved session lets an administrator create administrators. */
    if ((rc = ua_session_load(ua, &s, 1)) == UA_EXIT_FAIL)
        return rc;
    authed = rc == 0;
    ua_response_init(&r);
    ua_buf_init(&body);
    if ((rc = ua_account_body(ua, 1, &body)) == 0 &&
        (rc = ua_exchange(ua, "PUT", "/", authed ? &s : NULL, &body,
        &r)) == 0) {
        if (ua->json)
            ua_print_body(&r);
        else
            rc = ua_print_created(&r);
    }
    explicit_bzero(&s, sizeof(s));
    buf_free(&body);
    ua_response_free(&r);
    return rc;
}

/*
 * The session in login's answer r into s, and the answer as an object
 * without its token into *op (the caller puts it).  0, or UA_EXIT_FAIL
 * (said) when it holds no well-formed token, email and role.
 */
static int
ua_login_session(const struct ua_response *r, struct ua_session *s,
    struct json_object **op)
{
    struct json_object *o, *t, *e, *ro;
    const char         *tok, *email;
    size_t              tlen;

    if ((*op = o = ua_response_json(r)) == NULL ||
        !json_object_object_get_ex(o, "token", &t) ||
        !json_object_is_type(t, json_type_string) ||
        !json_object_object_get_ex(o, "email", &e) ||
        !json_object_is_type(e, json_type_string) ||
        !json_object_object_get_ex(o, "role", &ro) ||
        !ua_text_ok(json_object_get_string(ro)))
        return ua_err("unexpected answer from the server: no session token");
    tok = json_object_get_string(t);
    tlen = (size_t)json_object_get_string_len(t);
    email = json_object_get_string(e);
    if (!ua_token_ok(tok, tlen) || email[0] == '\0' ||
        strlen(email) > UA_EMAIL_MAX || !ua_text_ok(email))
        return ua_err("unexpected answer from the server: a malformed token "
            "or email");
    memcpy(s->token, tok, tlen + 1);
    memcpy(s->email, email, strlen(email) + 1);
    /* json-c's copy of the token goes too (the object is ours), and so
     * it is not printed. */
    explicit_bzero((char *)tok, tlen);
    json_object_object_del(o, "token");
    return 0;
}

int
ua_login(struct ua *ua)
{
    struct ua_response  r;
    struct ua_session   s;
    struct buf          body;
    struct json_object *o = NULL, *ro;
    int                 rc;

    ua_response_init(&r);
    ua_buf_init(&body);
    memset(&s, 0, sizeof(s));
    if ((rc = ua_account_body(ua, 0, &body)) == 0 &&
        (rc = ua_exchange(ua, "POST", "/", NULL, &body, &r)) == 0 &&
        (rc = ua_login_session(&r, &s, &o)) == 0 &&
        (rc = ua_session_save(ua, &s)) == 0) {
        if (ua->json)
            puts(json_object_to_json_string_ext(o, UA_JSON_FLAGS));
        else if (json_object_object_get_ex(o, "role", &ro))
            printf("logged in as %s (%s)\n", s.email,
                json_object_get_string(ro));
    }
    json_object_put(o);
    explicit_bzero(&s, sizeof(s));
    buf_free(&body);
    ua_response_free(&r);
    return rc;
}

/*
 * Sends method to the path of the user email with the saved session s
 * (body: NULL for none), leaving the answer in r.  0 for a 2xx answer,
 * else the exit status after saying why.
 */
static int
ua_user_call(const struct ua *ua, const char *method, const char *email,
    const struct buf *body, const struct ua_session *s, struct ua_response *r)
{
    struct buf  path;
    const char *p;
    int         rc;

    ua_buf_init(&path);
    if ((p = ua_buf_path(&path, "/users/", email)) == NULL)
        rc = ua_err("out of memory");
    else
        rc = ua_exchange(ua, method, p, s, body, r);
    buf_free(&path);
    return rc;
}

/*
 * users without paging options, and show: the record of ua->arg when
 * one, which an admin or that user may read, else the users the session
 * may see (GET / lists all for an admin), as a table.
 */
int
ua_show_users(struct ua *ua, int one)
{
    struct ua_response r;
    struct ua_session  s;
    int                rc;

    ua_response_init(&r);
    if ((rc = ua_session_load(ua, &s, 0)) == 0 &&
        (rc = one ? ua_user_call(ua, "GET", ua->arg, NULL, &s, &r) :
        ua_exchange(ua, "GET", "/", &s, NULL, &r)) == 0) {
        if (ua->json)
            ua_print_body(&r);
        else
            rc = ua_print_users(&r, one);
    }
    explicit_bzero(&s, sizeof(s));
    ua_response_free(&r);
    return rc;
}

/*
 * GET path with the saved session; the answer as JSON (--json) or as
 * print makes it.  The exit status.
 */
int
ua_get_print(struct ua *ua, const char *path,
    int (*print)(const struct ua_response *))
{
    struct ua_response r;
    struct ua_session  s;
    int                rc;

    ua_response_init(&r);
    if ((rc = ua_session_load(ua, &s, 0)) == 0 &&
        (rc = ua_exchange(ua, "GET", path, &s, NULL, &r)) == 0) {
        if (ua->json)
            ua_print_body(&r);
        else
            rc = print(&r);
    }
    explicit_bzero(&s, sizeof(s));
    ua_response_free(&r);
    return rc;
}

/* GET /session: whose the saved token is, and until when. */
int
ua_whoami(struct ua *ua)
{
    return ua_get_print(ua, "/session", ua_print_session);
}

int
ua_users(struct ua *ua)
{
    if (ua->limit != 0 || ua->after != NULL || ua->search != NULL || ua->all)
        return ua_users_paged(ua);
    return ua_show_users(ua, 0);
}

int
ua_show(struct ua *ua)
{
    return ua_show_users(ua, 1);
}

/* "role of EMAIL set to ROLE" from the record in r. */
static int
ua_print_role(const struct ua_response *r)
{
    return ua_print_record(r, "role of %s set to %s\n");
}

/* PATCH /users/EMAIL {"role"}: "role of EMAIL set to ROLE". */
int
ua_role(struct ua *ua)
{
    struct ua_response r;
    struct ua_session  s;
    struct buf         body;
    int                rc;

    ua_response_init(&r);
    ua_buf_init(&body);
    if ((rc = ua_session_load(ua, &s, 0)) == 0) {
        if (buf_append_str(&body, "{\"role\":\"") == -1 ||
            buf_append_str(&body, ua->role) == -1 ||
            buf_append_str(&body, "\"}") == -1)
            rc = ua_err("out of memory");
        else
            rc = ua_user_call(ua, "PATCH", ua->arg, &body, &s, &r);
    }
    if (rc == 0 && ua->json) {
        ua_print_body(&r);
    } else if (rc == 0) {
        rc = ua_print_role(&r);
    }
    explicit_bzero(&s, sizeof(s));
    buf_free(&body);
    ua_response_free(&r);
    return rc;
}

int
ua_passwd(struct ua *ua)
{
    struct ua_response r;
    struct ua_session  s;
    struct buf         body;
    int                rc;

    ua_response_init(&r);
    ua_buf_init(&body);
    /* Logged in before any password is asked for.  With an EMAIL, an
     * administrator's reset: no current password. */
    if ((rc = ua_session_load(ua, &s, 0)) == 0 &&
        (rc = ua->arg != NULL ? ua_reset_body(ua, &body) :
        ua_passwd_body(ua, &body)) == 0 &&
        (rc = ua_user_call(ua, "PATCH", ua->arg != NULL ? ua->arg : s.email,
        &body, &s, &r)) == 0) {
        if (ua->json)
            ua_print_body(&r);
        else if (ua->arg != NULL)
            ua_print_lower("password changed for", ua->arg);
        else
            printf("password changed for %s\n", s.email);
    }
    explicit_bzero(&s, sizeof(s));
    buf_free(&body);
    ua_response_free(&r);
    return rc;
}

int
ua_delete(struct ua *ua)
{
    struct ua_response r;
    struct ua_session  s;
    int                rc;

    ua_response_init(&r);
    if ((rc = ua_session_load(ua, &s, 0)) == 0 &&
        (rc = ua_user_call(ua, "DELETE", ua->arg, NULL, &s, &r)) == 0) {
        if (ua->json)
            ua_print_body(&r);
        else
            ua_print_lower("deleted", ua->arg);
    }
    explicit_bzero(&s, sizeof(s));
    ua_response_free(&r);
    return rc;
}

int
ua_logout(struct ua *ua)
{
    struct ua_response r;
    struct ua_session  s;
    int                rc, rc2;

    ua_response_init(&r);
    if ((rc = ua_session_load(ua, &s, 0)) != 0 ||
        (rc = ua_request(ua, "DELETE", ua->all ? "/sessions" : "/session",
        s.token, NULL, &r)) != 0)
        goto out;
    /* DELETE /session refuses only a token the server does not know: a
     * session that is as good as ended. */
    if (r.status == 403) {
        ua_err("the session for %s had already ended", ua->server);
        rc = UA_EXIT_AUTH;
    } else {
        rc = ua_answer(ua, NULL, &r);
    }
    /* Forgotten whether it ended now or before. */
    if ((rc == 0 || rc == UA_EXIT_AUTH) &&
        (rc2 = ua_session_remove(ua)) != 0 && rc == 0)
        rc = rc2;
    if (rc == 0 && ua->json)
        ua_print_body(&r);
    else if (rc == 0 && ua->all)
        printf("logged out of every session on %s\n", ua->server);
    else if (rc == 0)
        printf("logged out of %s\n", ua->server);
out:
    explicit_bzero(&s, sizeof(s));
    ua_response_free(&r);
    return rc;
}

int
ua_lockouts(struct ua *ua)
{
    return ua_get_print(ua, "/lockouts", ua_print_lockouts);
}

int
ua_unlock(struct ua *ua)
{
    struct ua_response r;
    struct ua_session  s;
    struct buf         path;
    const char        *p;
    int                rc;

    ua_response_init(&r);
    ua_buf_init(&path);
    if ((rc = ua_session_load(ua, &s, 0)) == 0) {
        if ((p = ua_buf_path(&path, "/lockouts/", ua->arg)) == NULL)
            rc = ua_err("out of memory");
        else
            rc = ua_exchange(ua, "DELETE", p, &s, NULL, &r);
    }
    if (rc == 0 && ua->json)
        ua_print_body(&r);
    else if (rc == 0)
        ua_print_lower("unlocked", ua->arg);
    explicit_bzero(&s, sizeof(s));
    buf_free(&path);
    ua_response_free(&r);
    return rc;
}
