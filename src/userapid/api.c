/* SPDX-License-Identifier: MIT */
/*
 * api.c - the route table and its handlers.
 *
 * A route is a path (exact, or a prefix ending in '/') and the methods it
 * answers.  A known method on a path that lacks it is 405 with Allow; a
 * path in no row is 404.  HEAD is answered wherever GET is, with the same
 * headers and no body, unless the route has its own HEAD handler.  Methods
 * the parser does not know never get here: it answers them 501.
 *
 * Handlers that need a password hashed or verified stop with API_PENDING
 * and a job; api_resume() picks up at job->step once a hashing thread has
 * run it.  Between the two, other processes (or hosts) may change the
 * store, so every continuation looks the user up again.
 *
 * Users, sessions and login counts are the store's (store.h): a call may
 * wait on the database, suspending the request's coroutine, so nothing
 * here keeps request state in statics across a store call.
 *
 * Nothing here logs a password, a token or a hash; request bodies holding
 * passwords are wiped once decoded.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <json-c/json.h>

#include "api.h"
#include "api_lockouts.h"
#include "api_page.h"
#include "api_sessions.h"
#include "api_ui.h"
#include "encoding.h"
#include "firstadmin.h"
#include "http.h"
#include "jsonw.h"
#include "log.h"

#define COOKIE_NAME      "userapid_session"
#define STATUS_REFRESH_MS 100
#define API_RETRY_DB     2          /* Retry-After while the database is away */

typedef int (*api_handler)(struct api_ctx *, const struct api_request *,
    struct api_response *);

struct api_route {
    const char  *path;
    int          prefix;            /* path is a prefix, e.g. "/users/" */
    api_handler  handlers[HTTP_METHOD_MAX + 1];
};

/* Fields of a decoded request body; strings point into the decoder's
 * storage and are NULL when absent. */
struct api_fields {
    const char  *email;
    size_t       email_len;
    const char  *password;
    size_t       password_len;
    const char  *current_password;
    size_t       current_password_len;
    const char  *role;
    size_t       role_len;
    struct json_object *json;       /* owns the strings of a JSON body */
    char        *form;              /* owns the strings of a form body */
    size_t       form_len;
};

/* Continuations, job->step. */
enum api_step {
    STEP_LOGIN_VERIFIED = 1,
    STEP_CREATE_HASHED,
    STEP_PATCH_VERIFIED,
    STEP_PATCH_HASHED,
};

static int  api_status_head(struct api_ctx *, const struct api_request *,
                struct api_response *);
static int  api_status_get(struct api_ctx *, const struct api_request *,
                struct api_response *);
static int  api_login(struct api_ctx *, const struct api_request *,
                struct api_response *);
static int  api_list(struct api_ctx *, const struct api_request *,
                struct api_response *);
static int  api_create(struct api_ctx *, const struct api_request *,
                struct api_response *);
static int  api_logout(struct api_ctx *, const struct api_request *,
                struct api_response *);
static int  api_user_get(struct api_ctx *, const struct api_request *,
                struct api_response *);
static int  api_user_patch(struct api_ctx *, const struct api_request *,
                struct api_response *);
static int  api_user_delete(struct api_ctx *, const struct api_request *,
                struct api_response *);

static int  api_login_done(struct api_ctx *, struct api_job *, struct api_response *);
static int  api_login_session(struct api_ctx *, struct api_job *,
                struct api_response *);
static void api_login_answer(struct api_ctx *, struct api_response *,
                const struct userdb_user *, const char *, int64_t, int);
static void api_login_failed(struct api_ctx *, struct api_job *,
                struct api_response *);
static int  api_create_done(struct api_ctx *, struct api_job *, struct api_response *);
static int  api_patch_fields(struct api_ctx *, const struct api_fields *, int,
                int *, struct api_response *);
static int  api_patch_prove(struct api_job *, const struct api_fields *,
                const char *, struct api_response *);
static int  api_patch_hash_new(struct api_job *);
static int  api_patch_verified(struct api_ctx *, struct api_job *, struct api_response *);
static int  api_patch_done(struct api_ctx *, struct api_job *, struct api_response *);

static void api_set_json(struct api_response *r, int status,
                struct json_object *obj);
static int  api_set_record(struct api_response *r, int status,
                const struct userdb_user *u);
static int  api_decode_body(const struct api_request *req,
                struct api_response *r, struct api_fields *f);
static int  api_decode_json(const struct api_request *req,
                struct api_response *r, struct api_fields *f);
static int  api_decode_form(const struct api_request *req,
                struct api_response *r, struct api_fields *f);
static int  api_field_slot(struct api_fields *f, const char *name,
                const char ***dst, size_t **dlen);
static void api_fields_free(struct api_fields *f);
static int  api_target_email(const struct api_request *req, char *out,
                size_t outlen);
static int  api_check_password(struct api_ctx *ctx, const char *pw, size_t len,
                struct api_response *r, const char *field);
static int  api_parse_role(const char *s, size_t len);
static int  api_cross_site(const struct api_ctx *ctx,
                const struct api_request *req);
static void api_wipe_job(struct api_job *job);

static const struct api_route api_routes[] = {
    { "/",        0, { [HTTP_METHOD_HEAD] = api_status_head,
                       [HTTP_METHOD_GET] = api_list,
                       [HTTP_METHOD_POST] = api_login,
                       [HTTP_METHOD_PUT] = api_create } },
    { "/status",  0, { [HTTP_METHOD_GET] = api_status_get } },
    { "/session", 0, { [HTTP_METHOD_GET] = api_session_get,
                       [HTTP_METHOD_DELETE] = api_logout } },
    { "/sessions", 0, { [HTTP_METHOD_GET] = api_sessions_get,
                       [HTTP_METHOD_DELETE] = api_sessions_delete_all } },
    { "/sessions/", 1, { [HTTP_METHOD_DELETE] = api_sessions_delete } },
    { "/users/",  1, { [HTTP_METHOD_GET] = api_user_get,
                       [HTTP_METHOD_PATCH] = api_user_patch,
                       [HTTP_METHOD_DELETE] = api_user_delete } },
    { "/lockouts", 0, { [HTTP_METHOD_GET] = api_lockouts_get } },
    { "/lockouts/", 1, { [HTTP_METHOD_DELETE] = api_lockouts_delete } },
    { "/ui",      0, { [HTTP_METHOD_GET] = api_ui_redirect } },
    { "/ui/",     0, { [HTTP_METHOD_GET] = api_ui_get } },
    { "/ui/",     1, { [HTTP_METHOD_GET] = api_ui_get } },
};

void
api_response_init(struct api_response *r)
{
    memset(r, 0, sizeof(*r));
    r->status = 500;
    buf_init(&r->body);
    buf_init(&r->headers);
}

void
api_response_reset(struct api_response *r)
{
    r->status = 500;
    buf_reset(&r->body);
    buf_reset(&r->headers);
    r->user[0] = '\0';
    r->content_type = NULL;
}

void
api_response_free(struct api_response *r)
{
    buf_free(&r->body);
    buf_free(&r->headers);
    api_wipe_job(&r->job);
}

static void
api_wipe_job(struct api_job *job)
{
    explicit_bzero(job->password, sizeof(job->password));
    explicit_bzero(job->new_password, sizeof(job->new_password));
    explicit_bzero(job->token, sizeof(job->token));
    explicit_bzero(job->hash, sizeof(job->hash));
    explicit_bzero(job->verified, sizeof(job->verified));
}

const char *
api_error_code(int status)
{
    switch (status) {
    case 400: return "bad_request";
    case 401: return "unauthorized";
    case 403: return "forbidden";
    case 404: return "not_found";
    case 405: return "method_not_allowed";
    case 408: return "request_timeout";
    case 409: return "conflict";
    case 411: return "length_required";
    case 413: return "payload_too_large";
    case 414: return "uri_too_long";
    case 415: return "unsupported_media_type";
    case 417: return "expectation_failed";
    case 429: return "too_many_requests";
    case 431: return "header_fields_too_large";
    case 501: return "not_implemented";
    case 503: return "service_unavailable";
    case 505: return "http_version_not_supported";
    case 507: return "insufficient_storage";
    default:  return status >= 500 ? "internal_error" : "error";
    }
}

void
api_error(struct api_response *r, int status, const char *message)
{
    struct json_object *obj;

    buf_reset(&r->body);
    r->status = status;
    obj = json_object_new_object();
    if (obj == NULL ||
        json_object_object_add(obj, "error",
            json_object_new_string(api_error_code(status))) != 0 ||
        json_object_object_add(obj, "message",
            json_object_new_string(message)) != 0) {
        json_object_put(obj);
        /* Out of memory: a fixed body still tells the client what happened. */
        buf_append_str(&r->body, "{\"error\":\"internal_error\",\"message\":\"out of memory\"}");
        r->status = 500;
        return;
    }
    api_set_json(r, status, obj);
    /* RFC 9110, 15.5.2: a 401 names the scheme that would succeed. */
    if (status == 401)
        buf_append_str(&r->headers, "WWW-Authenticate: Bearer realm=\"userapid\"\r\n");
}

/* Serialises obj (taking ownership) as the body. */
static void
api_set_json(struct api_response *r, int status, struct json_object *obj)
{
    const char *s = NULL;
    size_t      len = 0;

    if (obj != NULL)
        s = json_object_to_json_string_length(obj, JSON_C_TO_STRING_PLAIN |
            JSON_C_TO_STRING_NOSLASHESCAPE, &len);
    buf_reset(&r->body);
    if (s == NULL || buf_append(&r->body, s, len) == -1) {
        json_object_put(obj);
        buf_reset(&r->body);
        buf_append_str(&r->body, "{\"error\":\"internal_error\",\"message\":\"out of memory\"}");
        r->status = 500;
        return;
    }
    json_object_put(obj);
    r->status = status;
}

/* Answers that carry tokens or user data must not be cached. */
void
api_no_store(struct api_response *r)
{
    buf_append_str(&r->headers, "Cache-Control: no-store\r\n");
}

int
api_store_error(struct api_ctx *ctx, struct api_response *r)
{
    int e = errno;

    if (e == ENOSPC || e == EDQUOT) {
        log_msg(LOG_ERR, "store: %s", store_errmsg(ctx->store));
        api_error(r, 507, "no space left to store the change");
    } else if (e == ETIMEDOUT || e == ENOTCONN || e == ECONNREFUSED) {
        /* Said once by the connection when it went down, not per request. */
        log_msg(LOG_DEBUG, "store: %s", store_errmsg(ctx->store));
        api_error(r, 503, "the database is not available; try again later");
        buf_appendf(&r->headers, "Retry-After: %d\r\n", API_RETRY_DB);
    } else {
        log_msg(LOG_ERR, "store: %s", store_errmsg(ctx->store));
        api_error(r, 500, "the user store cannot be used");
    }
    return API_DONE;
}

int
api_no_session(struct api_ctx *ctx, struct api_response *r, int rc,
    const char *message)
{
    if (rc == -1)
        return api_store_error(ctx, r);
    api_error(r, 403, rc == API_CROSS_SITE ?
        "a cross-site request may not use the session cookie" : message);
    return API_DONE;
}

/*
 * The user count of HEAD / and /status, the health checks: read from the
 * store only when a worker changed it, or at most every STATUS_REFRESH_MS
 * for changes made elsewhere (userapictl, other hosts), never per request.
 * When the store may wait (a database), the count is the one the worker's
 * background refresh last put in the status page, so a health check never
 * waits on the database.
 */
size_t
api_users_count(struct api_ctx *ctx)
{
    static uint64_t seen_changes, refreshed_ms;
    static size_t   count;
    uint64_t        changes, now;
    size_t          n;

    if (store_kind(ctx->store) != CONFIG_STORAGE_FILE)
        return (size_t)__atomic_load_n(&ctx->status->users, __ATOMIC_RELAXED);
    now = status_monotonic_ms();
    changes = __atomic_load_n(&ctx->status->db_changes, __ATOMIC_ACQUIRE);
    if (changes == seen_changes && refreshed_ms != 0 &&
        now - refreshed_ms < STATUS_REFRESH_MS)
        return count;
    if (store_user_count(ctx->store, 0, &n) == -1) {
        log_msg(LOG_ERR, "store: %s", store_errmsg(ctx->store));
        return count;
    }
    seen_changes = changes;
    refreshed_ms = now;
    count = n;
    return count;
}

/* Tells the other workers (their HEAD /) that the users changed, by
 * delta users: for a database, the count the refresh keeps moves at once
 * too (other hosts' changes come with the next refresh). */
void
api_db_changed(struct api_ctx *ctx, int delta)
{
    __atomic_add_fetch(&ctx->status->db_changes, 1, __ATOMIC_RELEASE);
    if (store_kind(ctx->store) != CONFIG_STORAGE_FILE && delta != 0)
        __atomic_add_fetch(&ctx->status->users, (uint64_t)(int64_t)delta,
            __ATOMIC_RELAXED);
}

static int
api_status_head(struct api_ctx *ctx, const struct api_request *req,
    struct api_response *r)
{
    (void)req;
    r->status = 200;
    /* Plain appends, no printf: HEAD / is the health check, called often. */
    if (buf_append_str(&r->headers, ctx->degraded != NULL ?
        "X-Userapid-Status: degraded\r\nX-Userapid-Workers: " :
        "X-Userapid-Status: ok\r\nX-Userapid-Workers: ") == -1 ||
        buf_append_u64(&r->headers, (uint64_t)__atomic_load_n(
            &ctx->status->workers_alive, __ATOMIC_RELAXED)) == -1 ||
        buf_append(&r->headers, "/", 1) == -1 ||
        buf_append_u64(&r->headers, (uint64_t)__atomic_load_n(
            &ctx->status->workers_configured, __ATOMIC_RELAXED)) == -1 ||
        buf_append_str(&r->headers, "\r\nX-Userapid-Uptime: ") == -1 ||
        buf_append_u64(&r->headers, (uint64_t)status_uptime(ctx->status)) == -1 ||
        buf_append_str(&r->headers, "\r\nX-Userapid-Version: " USERAPID_VERSION
            "\r\nX-Userapid-Users: ") == -1 ||
        buf_append_u64(&r->headers, (uint64_t)api_users_count(ctx)) == -1 ||
        buf_append(&r->headers, "\r\n", 2) == -1)
        api_error(r, 500, "out of memory");
    return API_DONE;
}

static int
api_status_get(struct api_ctx *ctx, const struct api_request *req,
    struct api_response *r)
{
    struct json_object *obj, *workers;

    (void)req;
    obj = json_object_new_object();
    workers = json_object_new_object();
    if (obj == NULL || workers == NULL) {
        json_object_put(obj);
        json_object_put(workers);
        api_error(r, 500, "out of memory");
        return API_DONE;
    }
    json_object_object_add(workers, "alive", json_object_new_int(
        __atomic_load_n(&ctx->status->workers_alive, __ATOMIC_RELAXED)));
    json_object_object_add(workers, "configured", json_object_new_int(
        __atomic_load_n(&ctx->status->workers_configured, __ATOMIC_RELAXED)));
    json_object_object_add(obj, "status", json_object_new_string(
        ctx->degraded != NULL ? "degraded" : "ok"));
    if (ctx->degraded != NULL)
        json_object_object_add(obj, "reason", json_object_new_string(
            ctx->degraded));
    json_object_object_add(obj, "version", json_object_new_string(USERAPID_VERSION));
    json_object_object_add(obj, "uptime", json_object_new_int64(
        status_uptime(ctx->status)));
    json_object_object_add(obj, "workers", workers);
    json_object_object_add(obj, "users", json_object_new_int64(
        (int64_t)api_users_count(ctx)));
    json_object_object_add(obj, "connections", json_object_new_int64(
        __atomic_load_n(&ctx->status->connections, __ATOMIC_RELAXED)));
    api_set_json(r, 200, obj);
    return API_DONE;
}

/* Role name to id; -1 when it is neither. */
static int
api_parse_role(const char *s, size_t len)
{
    int role = userdb_role_parse(s, len);

    return role != 0 ? role : -1;
}

/* Length rules for a new password.  0, or -1 with r answered 400. */
static int
api_check_password(struct api_ctx *ctx, const char *pw, size_t len,
    struct api_response *r, const char *field)
{
    char msg[128];

    if (len <= 1 || (long)len < ctx->cfg->min_password_length) {
        snprintf(msg, sizeof(msg), "%s must be at least %ld bytes", field,
            ctx->cfg->min_password_length);
        api_error(r, 400, msg);
        return -1;
    }
    if (len > CONFIG_MAX_PASSWORD) {
        snprintf(msg, sizeof(msg), "%s must be at most %d bytes", field,
            CONFIG_MAX_PASSWORD);
        api_error(r, 400, msg);
        return -1;
    }
    if (memchr(pw, '\0', len) != NULL) {
        snprintf(msg, sizeof(msg), "%s must not contain NUL", field);
        api_error(r, 400, msg);
        return -1;
    }
    return 0;
}

/* Lower-cases src[0..len) into out.  -1 when it does not fit or holds a
 * NUL, which no stored email can: such a login matches nobody. */
static int
api_lower(const char *src, size_t len, char *out, size_t outlen)
{
    size_t i;

    if (len >= outlen || memchr(src, '\0', len) != NULL)
        return -1;
    for (i = 0; i < len; i++)
        out[i] = (char)tolower((unsigned char)src[i]);
    out[len] = '\0';
    return 0;
}



static void
api_fields_free(struct api_fields *f)
{
    if (f->json != NULL) {
        /* json-c owns the strings; wipe the passwords it holds. */
        if (f->password != NULL)
            explicit_bzero((char *)f->password, f->password_len);
        if (f->current_password != NULL)
            explicit_bzero((char *)f->current_password, f->current_password_len);
        json_object_put(f->json);
    }
    if (f->form != NULL) {
        explicit_bzero(f->form, f->form_len);
        free(f->form);
    }
    memset(f, 0, sizeof(*f));
}

/* Where the body field name goes in f: 0 with *dst and *dlen set, or -1
 * for a field no handler reads (ignored). */
static int
api_field_slot(struct api_fields *f, const char *name, const char ***dst,
    size_t **dlen)
{
    if (strcmp(name, "email") == 0) {
        *dst = &f->email;
        *dlen = &f->email_len;
    } else if (strcmp(name, "password") == 0) {
        *dst = &f->password;
        *dlen = &f->password_len;
    } else if (strcmp(name, "current_password") == 0) {
        *dst = &f->current_password;
        *dlen = &f->current_password_len;
    } else if (strcmp(name, "role") == 0) {
        *dst = &f->role;
        *dlen = &f->role_len;
    } else {
        return -1;
    }
    return 0;
}

/* Keeps field name = v[0..len) in f.  0, or -1 when it was given twice. */
static int
api_form_field(struct api_fields *f, const char *name, const char *v, size_t len)
{
    const char **dst;
    size_t      *dlen;

    if (api_field_slot(f, name, &dst, &dlen) == -1)
        return 0;
    if (*dst != NULL)
        return -1;
    *dst = v;
    *dlen = len;
    return 0;
}

/*
 * Decodes a JSON object or a form body into f.  0, or -1 with r answered:
 * 400 for an empty or malformed body, 415 for another content type.
 */
static int
api_decode_body(const struct api_request *req, struct api_response *r,
    struct api_fields *f)
{
    const struct http_header *ct;
    size_t                    ctlen;

    memset(f, 0, sizeof(*f));
    ct = http_request_header(req->http, "Content-Type");
    if (req->body_len == 0) {
        api_error(r, 400, "a request body is required");
        return -1;
    }
    /* The media type, without parameters such as charset. */
    for (ctlen = 0; ct != NULL && ctlen < ct->value_len &&
        ct->value[ctlen] != ';' && ct->value[ctlen] != ' ' &&
        ct->value[ctlen] != '\t'; ctlen++)
        ;
    if (ct != NULL && ctlen == 16 &&
        strncasecmp(ct->value, "application/json", 16) == 0)
        return api_decode_json(req, r, f);
    if (ct != NULL && ctlen == 33 &&
        strncasecmp(ct->value, "application/x-www-form-urlencoded", 33) == 0)
        return api_decode_form(req, r, f);
    api_error(r, 415, "Content-Type must be application/json or "
        "application/x-www-form-urlencoded");
    return -1;
}

/* A JSON object body: the fields api_form_field knows must be strings,
 * others are ignored.  As api_decode_body. */
static int
api_decode_json(const struct api_request *req, struct api_response *r,
    struct api_fields *f)
{
    struct json_tokener     *tok = json_tokener_new();
    struct json_object      *obj;
    struct json_object_iter  it;
    char                     msg[96];

    if (tok == NULL) {
        api_error(r, 500, "out of memory");
        return -1;
    }
    obj = json_tokener_parse_ex(tok, req->body, (int)req->body_len);
    if (obj == NULL || json_tokener_get_error(tok) != json_tokener_success ||
        json_tokener_get_parse_end(tok) != req->body_len ||
        !json_object_is_type(obj, json_type_object)) {
        json_tokener_free(tok);
        json_object_put(obj);
        api_error(r, 400, "the body is not a JSON object");
        return -1;
    }
    json_tokener_free(tok);
    f->json = obj;
    json_object_object_foreachC(obj, it) {
        const char **dst;
        size_t      *dlen;

        if (api_field_slot(f, it.key, &dst, &dlen) == -1)
            continue;
        if (!json_object_is_type(it.val, json_type_string)) {
            snprintf(msg, sizeof(msg), "\"%s\" must be a string", it.key);
            api_fields_free(f);
            api_error(r, 400, msg);
            return -1;
        }
        api_form_field(f, it.key, json_object_get_string(it.val),
            (size_t)json_object_get_string_len(it.val));
    }
    return 0;
}

/* An application/x-www-form-urlencoded body, decoded in a copy the fields
 * point into.  As api_decode_body. */
static int
api_decode_form(const struct api_request *req, struct api_response *r,
    struct api_fields *f)
{
    char *p, *end, *amp, *eq;
    long  nl, vl;

    if ((f->form = malloc(req->body_len + 1)) == NULL) {
        api_error(r, 500, "out of memory");
        return -1;
    }
    memcpy(f->form, req->body, req->body_len);
    f->form[req->body_len] = '\0';
    f->form_len = req->body_len;
    for (p = f->form, end = f->form + req->body_len; p < end; p = amp + 1) {
        if ((amp = memchr(p, '&', (size_t)(end - p))) == NULL)
            amp = end;
        *amp = '\0';
        if (amp == p)
            continue;
        if ((eq = strchr(p, '=')) == NULL)
            eq = amp;
        else
            *eq++ = '\0';
        nl = encoding_percent_decode(p, strlen(p), 1);
        vl = eq < amp ? encoding_percent_decode(eq, (size_t)(amp - eq), 1) : 0;
        if (nl < 0 || vl < 0 ||
            api_form_field(f, p, eq < amp ? eq : "", (size_t)vl) == -1) {
            api_fields_free(f);
            api_error(r, 400, "the form body is malformed");
            return -1;
        }
    }
    return 0;
}

/* ---- authentication ---------------------------------------------------- */

/*
 * The caller's session, from "Authorization: Bearer" or the cookie.
 * 0 with who (and token) filled, STORE_NOT_FOUND, or -1.
 */
int
api_authenticate(struct api_ctx *ctx, const struct api_request *req,
    struct session_info *who, char token[CRYPTO_TOKEN_LEN + 1])
{
    const struct http_header *h;
    const char               *t = NULL, *p, *end;
    size_t                    tlen = 0;
    int                       rc, from_cookie = 0;

    h = http_request_header(req->http, "Authorization");
    if (h != NULL && h->value_len > 7 && strncasecmp(h->value, "Bearer ", 7) == 0) {
        t = h->value + 7;
        tlen = h->value_len - 7;
        while (tlen > 0 && *t == ' ') {
            t++;
            tlen--;
        }
    } else if ((h = http_request_header(req->http, "Cookie")) != NULL) {
        for (p = h->value, end = h->value + h->value_len; p < end; ) {
            const char *semi = memchr(p, ';', (size_t)(end - p));
            const char *stop = semi ? semi : end;

            while (p < stop && (*p == ' ' || *p == '\t'))
                p++;
            if ((size_t)(stop - p) > sizeof(COOKIE_NAME) &&
                memcmp(p, COOKIE_NAME "=", sizeof(COOKIE_NAME)) == 0) {
                t = p + sizeof(COOKIE_NAME);
                tlen = (size_t)(stop - t);
                from_cookie = 1;
                while (tlen > 0 && (t[tlen - 1] == ' ' || t[tlen - 1] == '\t'))
                    tlen--;
                break;
            }
            p = stop + 1;
        }
    }
    if (t == NULL || !crypto_token_valid_syntax(t, tlen))
        return STORE_NOT_FOUND;
    /* A browser sends the cookie by itself: a change asked from another
     * site's page is refused before the session is even looked up. */
    if (from_cookie && api_cross_site(ctx, req))
        return API_CROSS_SITE;
    if ((rc = store_session_lookup(ctx->store, t, tlen, who)) != 0)
        return rc;
    if (token != NULL) {
        memcpy(token, t, CRYPTO_TOKEN_LEN);
        token[CRYPTO_TOKEN_LEN] = '\0';
    }
    return 0;
}

/*
 * Whether a request that may change something (not GET, HEAD or OPTIONS)
 * comes from another site's page, for a cookie-authenticated request and
 * a login: its Origin is present and neither the server's own
 * ("http[s]://" Host) nor one of cors_origins, or, without Origin, its
 * Sec-Fetch-Site is "cross-site".
 * A listed origin may act with cookie_samesite = none, as CORS allows it.
 */
static int
api_cross_site(const struct api_ctx *ctx, const struct api_request *req)
{
    const struct http_header *o, *host, *sfs;
    const char               *v;
    size_t                    n;

    switch (req->http->method) {
    case HTTP_METHOD_GET:
    case HTTP_METHOD_HEAD:
    case HTTP_METHOD_OPTIONS:
        return 0;
    default:
        break;
    }
    if ((o = http_request_header(req->http, "Origin")) != NULL) {
        /* Either scheme: behind a proxy that terminates TLS, the daemon
         * may not know which one the browser used. */
        host = http_request_header(req->http, "Host");
        v = o->value;
        n = o->value_len;
        if (n > 8 && strncasecmp(v, "https://", 8) == 0) {
            v += 8;
            n -= 8;
        } else if (n > 7 && strncasecmp(v, "http://", 7) == 0) {
            v += 7;
            n -= 7;
        }
        if (v != o->value && host != NULL && n == host->value_len &&
            strncasecmp(v, host->value, n) == 0)
            return 0;
        return !config_cors_allowed(ctx->cfg, o->value, o->value_len);
    }
    sfs = http_request_header(req->http, "Sec-Fetch-Site");
    return sfs != NULL && sfs->value_len == 10 &&
        strncasecmp(sfs->value, "cross-site", 10) == 0;
}

/* The <email> of /users/<email>, percent-decoded and lower-cased.
 * 0, or -1 when it is not a valid email. */
static int
api_target_email(const struct api_request *req, char *out, size_t outlen)
{
    const struct http_request *h = req->http;
    char                       tmp[USERDB_EMAIL_MAX * 3 + 1];
    size_t                     n = h->path_len - 7;   /* after "/users/" */
    long                       len;

    if (n == 0 || n >= sizeof(tmp))
        return -1;
    memcpy(tmp, h->path + 7, n);
    tmp[n] = '\0';
    /* '+' stays '+' in a path. */
    if ((len = encoding_percent_decode(tmp, n, 0)) == -1)
        return -1;
    if (!userdb_email_valid(tmp, (size_t)len))
        return -1;
    return api_lower(tmp, (size_t)len, out, outlen);
}

/* ---- POST /: log in ---------------------------------------------------- */

static int
api_login(struct api_ctx *ctx, const struct api_request *req,
    struct api_response *r)
{
    struct api_fields  f;
    struct userdb_user u;
    struct api_job    *job = &r->job;
    long               wait;
    int                rc;

    /* Login CSRF: another site's page must not log the browser in to an
     * account of its choosing. */
    if (api_cross_site(ctx, req)) {
        api_error(r, 403, "a login may not be sent from another site's page");
        return API_DONE;
    }
    if (api_decode_body(req, r, &f) == -1)
        return API_DONE;
    if (f.email == NULL || f.password == NULL) {
        api_fields_free(&f);
        api_error(r, 400, "email and password are required");
        return API_DONE;
    }
    memset(job, 0, sizeof(*job));
    memset(&u, 0, sizeof(u));
    /* Locked out: refused before any hash, even with the right password.
     * Unknown emails are counted too, so this says nothing of existence.
     * The attempt is counted now, not when its hash is done, so guesses
     * sent all at once cannot pass the limit. */
    if (api_lower(f.email, f.email_len, job->email, sizeof(job->email)) == -1)
        job->email[0] = '\0';
    if ((wait = store_login_begin(ctx->store, job->email,
        req->remote_addr)) != 0) {
        api_fields_free(&f);
        if (wait == -1)
            return api_store_error(ctx, r);
        metrics_count_login(ctx->metrics, METRICS_LOGIN_THROTTLED);
        api_error(r, 429, "too many failed logins; try again later");
        buf_appendf(&r->headers, "Retry-After: %ld\r\n", wait);
        return API_DONE;
    }
    job->kind = API_JOB_VERIFY;
    job->step = STEP_LOGIN_VERIFIED;
    /* An over-long email or password cannot match; it still costs a hash,
     * and its failure counts against the same email as its admission. */
    if (job->email[0] != '\0' && f.password_len < sizeof(job->password) &&
        memchr(f.password, '\0', f.password_len) == NULL) {
        memcpy(job->password, f.password, f.password_len);
        if ((rc = store_user_find(ctx->store, job->email, &u)) == -1) {
            api_wipe_job(job);
            api_fields_free(&f);
            return api_store_error(ctx, r);
        }
        job->found = rc == 0;
    }
    /* An unknown email costs the same hash as a wrong password. */
    snprintf(job->hash, sizeof(job->hash), "%s",
        job->found ? u.hash : ctx->dummy_hash);
    explicit_bzero(u.hash, sizeof(u.hash));
    api_fields_free(&f);
    return API_PENDING;
}

/*
 * The session of a verified login, made by the store for the record that
 * was verified: the same user with the same hash (a password changed, or
 * the user deleted and made again, while the hash ran makes it a failed
 * login) and the role it has now.  0 with the answer in r; 1 when the
 * record moved on (a failed login); -1 with r answered 5xx.
 */
static int
api_login_session(struct api_ctx *ctx, struct api_job *job,
    struct api_response *r)
{
    struct store_login out;
    int                rc;

    rc = store_session_login(ctx->store, job->email, job->hash, job->remote,
        &out);
    if (rc == STORE_CHANGED)
        return 1;
    if (rc == STORE_FULL) {
        /* Full of other users' live sessions: none of them is ended. */
        api_error(r, 503, "too many sessions; try again later");
        buf_append_str(&r->headers, "Retry-After: 5\r\n");
        return -1;
    }
    if (rc != 0) {
        api_store_error(ctx, r);
        return -1;
    }
    snprintf(r->user, sizeof(r->user), "%s", out.user.email);
    /* The session stands; a count not cleared only slows this account. */
    if (store_login_end(ctx->store, job->email, job->remote, 1) == -1)
        log_msg(LOG_WARNING, "login throttle: %s", store_errmsg(ctx->store));
    metrics_count_login(ctx->metrics, METRICS_LOGIN_OK);
    api_login_answer(ctx, r, &out.user, out.token, out.expires_at, job->secure);
    explicit_bzero(out.token, sizeof(out.token));
    return 0;
}

/* 200 with the session: JSON and the cookie. */
static void
api_login_answer(struct api_ctx *ctx, struct api_response *r,
    const struct userdb_user *u, const char *token, int64_t expires, int secure)
{
    struct json_object *obj;
    char                exp[USERDB_TIME_LEN + 1];

    if (userdb_format_time(expires, exp) == -1)
        exp[0] = '\0';
    obj = json_object_new_object();
    json_object_object_add(obj, "email", json_object_new_string(u->email));
    json_object_object_add(obj, "role",
        json_object_new_string(userdb_role_name(u->role)));
    json_object_object_add(obj, "role_id", json_object_new_int(u->role));
    json_object_object_add(obj, "token", json_object_new_string(token));
    json_object_object_add(obj, "expires_at", json_object_new_string(exp));
    api_set_json(r, 200, obj);
    api_cookie(ctx, r, token, ctx->cfg->session_ttl, secure);
    api_no_store(r);
}

/*
 * The session cookie: HttpOnly, the configured SameSite, and Secure when
 * the client used HTTPS (a TLS listener, or X-Forwarded-Proto from a
 * trusted proxy) or cookie_secure says so.  token "" with max_age 0 clears
 * it.
 */
void
api_cookie(struct api_ctx *ctx, struct api_response *r, const char *token,
    long max_age, int secure)
{
    buf_appendf(&r->headers, "Set-Cookie: " COOKIE_NAME "=%s; Path=/; HttpOnly; "
        "SameSite=%s; Max-Age=%ld%s\r\n", token,
        config_samesite_name(ctx->cfg->cookie_samesite), max_age,
        secure || ctx->cfg->cookie_secure ? "; Secure" : "");
}

/* A failed login: logged, counted, and one answer for every cause. */
static void
api_login_failed(struct api_ctx *ctx, struct api_job *job,
    struct api_response *r)
{
    char        femail[USERDB_EMAIL_MAX + 32], faddr[96];
    const char *extra[3];
    int         started;

    if (job->result == -1 && job->found)
        log_msg(LOG_ERR, "password verification failed: %s", strerror(job->error));
    snprintf(femail, sizeof(femail), "USERAPID_USER=%s", job->email);
    snprintf(faddr, sizeof(faddr), "REMOTE_ADDR=%s", job->remote);
    extra[0] = femail;
    extra[1] = faddr;
    extra[2] = NULL;
    log_event(LOG_NOTICE, MSGID_LOGIN_FAILED, extra, "login failed for %s from %s",
        job->email, job->remote);
    if ((started = store_login_end(ctx->store, job->email, job->remote,
        0)) == -1) {
        log_msg(LOG_WARNING, "login throttle: %s", store_errmsg(ctx->store));
        started = 0;
    }
    if (started & THROTTLE_SLOWED_ACCOUNT)
        log_event(LOG_WARNING, MSGID_LOGIN_LOCKOUT, extra,
            "logins for %s slowed down after %ld failures from all "
            "addresses", job->email, ctx->cfg->login_account_max_failures);
    if (started & THROTTLE_LOCKED_ADDRESS)
        log_event(LOG_WARNING, MSGID_LOGIN_LOCKOUT, extra,
            "logins from %s locked for %ld s after %ld failures", job->remote,
            ctx->cfg->login_lockout, ctx->cfg->login_max_failures);
    metrics_count_login(ctx->metrics, METRICS_LOGIN_FAILED);
    /* One answer for an unknown email and a wrong password. */
    api_error(r, 401, "wrong email or password");
}

static int
api_login_done(struct api_ctx *ctx, struct api_job *job, struct api_response *r)
{
    if (job->found && job->result == 1 && api_login_session(ctx, job, r) <= 0)
        return API_DONE;
    api_login_failed(ctx, job, r);
    return API_DONE;
}

/* ---- GET /: list users ------------------------------------------------- */

/*
 * A user record, written directly (the admin listing holds thousands):
 * {"email","role","role_id","created_at"}.
 */
int
api_user_record(struct buf *b, const struct userdb_user *u)
{
    char t[USERDB_TIME_LEN + 1];

    if (userdb_format_time(u->created_at, t) == -1)
        snprintf(t, sizeof(t), "1970-01-01T00:00:00Z");
    if (buf_append_str(b, "{\"email\":") == -1 || jsonw_string(b, u->email, strlen(u->email)) == -1)
        return -1;
    return buf_appendf(b, ",\"role\":\"%s\",\"role_id\":%d,\"created_at\":\"%s\"}",
        userdb_role_name(u->role), u->role, t);
}

/* One user record as the whole answer. */
static int
api_set_record(struct api_response *r, int status, const struct userdb_user *u)
{
    buf_reset(&r->body);
    if (api_user_record(&r->body, u) == -1) {
        api_error(r, 500, "out of memory");
        return -1;
    }
    r->status = status;
    return 0;
}

/*
 * The admin listing is the same for every admin until the users change,
 * so each process keeps it, keyed by the store's user version (a store
 * that cannot tell, version 0, is read each time).
 */
static struct {
    const struct store *st;
    uint64_t            version;
    int                 valid;
    struct buf          body;
} api_listing;

struct api_listing_walk {
    struct buf *b;
    size_t      n;
};

/* store_user_foreach's step: one record, after a comma but the first.
 * 1 when out of memory. */
static int
api_listing_add(const struct userdb_user *u, void *arg)
{
    struct api_listing_walk *w = arg;

    if (w->n++ > 0 && buf_append(w->b, ",", 1) == -1)
        return 1;
    return api_user_record(w->b, u) == -1 ? 1 : 0;
}

/* {"users":[...]} of every user into b.  0, 1 when out of memory, or -1
 * when the store failed. */
static int
api_listing_write(struct api_ctx *ctx, struct buf *b)
{
    struct api_listing_walk w = { b, 0 };
    int                     rc;

    if (buf_append_str(b, "{\"users\":[") == -1)
        return 1;
    if ((rc = store_user_foreach(ctx->store, api_listing_add, &w)) != 0)
        return rc;
    return buf_append_str(b, "]}") == -1 ? 1 : 0;
}

/* The admin listing into r->body, from the cache when it is current. */
static int
api_listing_answer(struct api_ctx *ctx, struct api_response *r)
{
    uint64_t v = store_user_version(ctx->store);
    int      rc;

    if (v != 0 && api_listing.valid && api_listing.st == ctx->store &&
        api_listing.version == v)
        return buf_append(&r->body, api_listing.body.data,
            api_listing.body.len) == -1 ? 1 : 0;
    api_listing.valid = 0;
    if ((rc = api_listing_write(ctx, &r->body)) != 0 || v == 0)
        return rc;
    buf_reset(&api_listing.body);
    if (buf_append(&api_listing.body, r->body.data, r->body.len) == 0) {
        api_listing.st = ctx->store;
        api_listing.version = v;
        api_listing.valid = 1;
    }
    return 0;
}

/* A user's own record as a listing of one. */
static int
api_listing_own(struct api_ctx *ctx, const char *email, struct api_response *r)
{
    struct userdb_user u;
    int                rc;

    if ((rc = store_user_find(ctx->store, email, &u)) != 0)
        return rc;
    explicit_bzero(u.hash, sizeof(u.hash));
    if (buf_append_str(&r->body, "{\"users\":[") == -1 ||
        api_user_record(&r->body, &u) == -1 ||
        buf_append_str(&r->body, "]}") == -1)
        return 1;
    return 0;
}

static int
api_list(struct api_ctx *ctx, const struct api_request *req,
    struct api_response *r)
{
    struct session_info who;
    int                 rc;

    if ((rc = api_authenticate(ctx, req, &who, NULL)) != 0)
        return api_no_session(ctx, r, rc, "log in first");
    snprintf(r->user, sizeof(r->user), "%s", who.email);
    /* A query string asks for a page; without, the full listing. */
    if (req->http->query != NULL && req->http->query_len > 0)
        return api_page(ctx, req, &who, r);
    buf_reset(&r->body);
    if (who.role == USERDB_ROLE_ADMIN)
        rc = api_listing_answer(ctx, r);
    else if ((rc = api_listing_own(ctx, who.email, r)) == STORE_NOT_FOUND)
        return api_no_session(ctx, r, rc, "log in first");
    if (rc == -1)
        return api_store_error(ctx, r);
    if (rc != 0) {
        api_error(r, 500, "out of memory");
        return API_DONE;
    }
    r->status = 200;
    api_no_store(r);
    return API_DONE;
}

/* ---- PUT /: create a user ---------------------------------------------- */

/*
 * Registrations without an admin's session, counted per client address:
 * each account may hold max_sessions_per_user sessions, so this bounds
 * what one client can take of the session table.  0 when admitted (and
 * counted), -1 with r answered 429.
 */
static int
api_register_throttled(struct api_ctx *ctx, const char *addr,
    struct api_response *r)
{
    char msg[128];
    long wait;

    if ((wait = store_register(ctx->store, addr)) == 0)
        return 0;
    if (wait == -1) {
        api_store_error(ctx, r);
        return -1;
    }
    snprintf(msg, sizeof(msg), "too many accounts registered from your "
        "address; try again in %ld s", wait);
    api_error(r, 429, msg);
    buf_appendf(&r->headers, "Retry-After: %ld\r\n", wait);
    return -1;
}

static int
api_create(struct api_ctx *ctx, const struct api_request *req,
    struct api_response *r)
{
    struct api_fields   f;
    struct session_info who;
    struct api_job     *job = &r->job;
    int                 authed, role = USERDB_ROLE_USER, rc;

    if ((rc = api_authenticate(ctx, req, &who, NULL)) == -1)
        return api_store_error(ctx, r);
    if (rc == API_CROSS_SITE)
        return api_no_session(ctx, r, rc, NULL);
    authed = rc == 0;
    if (authed)
        snprintf(r->user, sizeof(r->user), "%s", who.email);
    if (ctx->cfg->registration == CONFIG_REGISTRATION_CLOSED) {
        api_error(r, 403, "registration is closed");
        return API_DONE;
    }
    if (ctx->cfg->registration == CONFIG_REGISTRATION_ADMIN &&
        (!authed || who.role != USERDB_ROLE_ADMIN)) {
        api_error(r, 403, "only administrators may create users");
        return API_DONE;
    }
    if (api_decode_body(req, r, &f) == -1)
        return API_DONE;
    if (f.email == NULL || f.password == NULL) {
        api_fields_free(&f);
        api_error(r, 400, "email and password are required");
        return API_DONE;
    }
    if (f.email_len <= 1 || !userdb_email_valid(f.email, f.email_len)) {
        api_fields_free(&f);
        api_error(r, 400, "email is not a valid address");
        return API_DONE;
    }
    if (api_check_password(ctx, f.password, f.password_len, r, "password") == -1) {
        api_fields_free(&f);
        return API_DONE;
    }
    if (f.role != NULL && (role = api_parse_role(f.role, f.role_len)) == -1) {
        api_fields_free(&f);
        api_error(r, 400, "role must be \"admin\" or \"user\"");
        return API_DONE;
    }
    if (role == USERDB_ROLE_ADMIN && (!authed || who.role != USERDB_ROLE_ADMIN)) {
        api_fields_free(&f);
        api_error(r, 403, "only administrators may create administrators");
        return API_DONE;
    }
    memset(job, 0, sizeof(*job));
    api_lower(f.email, f.email_len, job->email, sizeof(job->email));
    /* Refuse a taken email before paying for a hash; checked again on add. */
    if ((rc = store_user_find(ctx->store, job->email, NULL)) != STORE_NOT_FOUND) {
        api_fields_free(&f);
        if (rc == -1)
            return api_store_error(ctx, r);
        api_error(r, 409, "a user with this email exists");
        return API_DONE;
    }
    if ((!authed || who.role != USERDB_ROLE_ADMIN) &&
        api_register_throttled(ctx, req->remote_addr, r) == -1) {
        api_fields_free(&f);
        return API_DONE;
    }
    job->kind = API_JOB_HASH;
    job->step = STEP_CREATE_HASHED;
    job->cost = (unsigned long)ctx->cfg->password_cost;
    job->role = role;
    memcpy(job->password, f.password, f.password_len);
    if (authed)
        snprintf(job->actor, sizeof(job->actor), "%s", who.email);
    api_fields_free(&f);
    return API_PENDING;
}

/* Appends "Location: /users/<email>" with the email percent-encoded. */
static void
api_location(struct api_response *r, const char *email)
{
    buf_append_str(&r->headers, "Location: /users/");
    encoding_percent_encode(&r->headers, email);
    buf_append_str(&r->headers, "\r\n");
}

static int
api_create_done(struct api_ctx *ctx, struct api_job *job, struct api_response *r)
{
    struct userdb_user u;
    char               fuser[USERDB_EMAIL_MAX + 32], frole[32];
    const char        *extra[3];
    int                rc;

    if (job->actor[0] != '\0')
        snprintf(r->user, sizeof(r->user), "%s", job->actor);
    if (job->result != 0) {
        log_msg(LOG_ERR, "password hashing failed: %s", strerror(job->error));
        api_error(r, 500, "cannot hash the password");
        return API_DONE;
    }
    memset(&u, 0, sizeof(u));
    snprintf(u.email, sizeof(u.email), "%s", job->email);
    u.role = job->role;
    u.created_at = (int64_t)time(NULL);
    memcpy(u.hash, job->hash, sizeof(u.hash));
    rc = store_user_add(ctx->store, &u);
    explicit_bzero(u.hash, sizeof(u.hash));
    if (rc == STORE_EXISTS) {
        api_error(r, 409, "a user with this email exists");
        return API_DONE;
    }
    if (rc != 0)
        return api_store_error(ctx, r);
    api_db_changed(ctx, 1);
    snprintf(fuser, sizeof(fuser), "USERAPID_USER=%s", u.email);
    snprintf(frole, sizeof(frole), "USERAPID_ROLE=%s", userdb_role_name(u.role));
    extra[0] = fuser;
    extra[1] = frole;
    extra[2] = NULL;
    log_event(LOG_NOTICE, MSGID_USER_CREATED, extra, "user %s created (%s)",
        u.email, userdb_role_name(u.role));
    if (api_set_record(r, 201, &u) == 0)
        api_location(r, u.email);
    api_no_store(r);
    return API_DONE;
}

/* ---- DELETE /session: log out ------------------------------------------ */

static int
api_logout(struct api_ctx *ctx, const struct api_request *req,
    struct api_response *r)
{
    struct session_info who;
    char                token[CRYPTO_TOKEN_LEN + 1];
    int                 rc;

    if ((rc = api_authenticate(ctx, req, &who, token)) != 0)
        return api_no_session(ctx, r, rc, "log in first");
    snprintf(r->user, sizeof(r->user), "%s", who.email);
    /* Ended meanwhile by another request (STORE_NOT_FOUND) is ended too. */
    rc = store_session_revoke(ctx->store, token, CRYPTO_TOKEN_LEN);
    explicit_bzero(token, sizeof(token));
    if (rc == -1)
        return api_store_error(ctx, r);
    api_db_changed(ctx, 0);
    r->status = 204;
    api_cookie(ctx, r, "", 0, req->secure);
    api_no_store(r);
    return API_DONE;
}

/* ---- /users/<email> ---------------------------------------------------- */

/*
 * Common start of the /users/<email> handlers: the caller's session and
 * the target.  0, or -1 with r answered (403 without a session, 404 for a
 * malformed address).
 */
static int
api_user_begin(struct api_ctx *ctx, const struct api_request *req,
    struct api_response *r, struct session_info *who, char *target,
    char token[CRYPTO_TOKEN_LEN + 1])
{
    int rc;

    if ((rc = api_authenticate(ctx, req, who, token)) != 0) {
        api_no_session(ctx, r, rc, "log in first");
        return -1;
    }
    snprintf(r->user, sizeof(r->user), "%s", who->email);
    if (api_target_email(req, target, USERDB_EMAIL_MAX + 1) == -1) {
        api_error(r, 404, "no such user");
        return -1;
    }
    return 0;
}

static int
api_user_get(struct api_ctx *ctx, const struct api_request *req,
    struct api_response *r)
{
    struct session_info who;
    struct userdb_user  u;
    char                target[USERDB_EMAIL_MAX + 1];
    int                 rc;

    if (api_user_begin(ctx, req, r, &who, target, NULL) == -1)
        return API_DONE;
    /* Users learn nothing about others, not even whether they exist. */
    if (who.role != USERDB_ROLE_ADMIN && strcmp(who.email, target) != 0) {
        api_error(r, 403, "you may only see your own record");
        return API_DONE;
    }
    if ((rc = store_user_find(ctx->store, target, &u)) == -1)
        return api_store_error(ctx, r);
    if (rc != 0) {
        api_error(r, 404, "no such user");
        return API_DONE;
    }
    explicit_bzero(u.hash, sizeof(u.hash));
    api_set_record(r, 200, &u);
    api_no_store(r);
    return API_DONE;
}

static int
api_user_delete(struct api_ctx *ctx, const struct api_request *req,
    struct api_response *r)
{
    struct session_info who;
    char                target[USERDB_EMAIL_MAX + 1], fuser[USERDB_EMAIL_MAX + 32];
    char                fby[USERDB_EMAIL_MAX + 32];
    const char         *extra[3];
    int                 rc;

    if (api_user_begin(ctx, req, r, &who, target, NULL) == -1)
        return API_DONE;
    if (who.role != USERDB_ROLE_ADMIN) {
        api_error(r, 403, "only administrators may delete users");
        return API_DONE;
    }
    rc = store_user_delete(ctx->store, target, STORE_KEEP_ADMIN);
    if (rc == STORE_NOT_FOUND) {
        api_error(r, 404, "no such user");
        return API_DONE;
    }
    if (rc == STORE_LAST_ADMIN) {
        api_error(r, 409, "the last administrator cannot be deleted");
        return API_DONE;
    }
    if (rc != 0)
        return api_store_error(ctx, r);
    api_db_changed(ctx, -1);
    snprintf(fuser, sizeof(fuser), "USERAPID_USER=%s", target);
    snprintf(fby, sizeof(fby), "USERAPID_ACTOR=%s", who.email);
    extra[0] = fuser;
    extra[1] = fby;
    extra[2] = NULL;
    log_event(LOG_NOTICE, MSGID_USER_DELETED, extra, "user %s deleted by %s",
        target, who.email);
    firstadmin_forget(ctx->cfg->state_dir, target, "account deleted");
    r->status = 204;
    return API_DONE;
}

/*
 * PATCH /users/<email> with {"password", "current_password"} and/or
 * {"role"}.  A user changing their own password proves the current one
 * first (job step STEP_PATCH_VERIFIED); then the new one is hashed
 * (STEP_PATCH_HASHED) and stored with the role in one update.
 */
static int
api_user_patch(struct api_ctx *ctx, const struct api_request *req,
    struct api_response *r)
{
    struct session_info who;
    struct userdb_user  u;
    struct api_fields   f;
    struct api_job     *job = &r->job;
    char                target[USERDB_EMAIL_MAX + 1], token[CRYPTO_TOKEN_LEN + 1];
    int                 is_admin, role = 0, rc;

    if (api_user_begin(ctx, req, r, &who, target, token) == -1)
        return API_DONE;
    is_admin = who.role == USERDB_ROLE_ADMIN;
    if (!is_admin && strcmp(who.email, target) != 0) {
        api_error(r, 403, "you may only change your own record");
        return API_DONE;
    }
    if (api_decode_body(req, r, &f) == -1)
        return API_DONE;
    if (api_patch_fields(ctx, &f, is_admin, &role, r) == -1) {
        api_fields_free(&f);
        return API_DONE;
    }
    if ((rc = store_user_find(ctx->store, target, &u)) != 0) {
        api_fields_free(&f);
        if (rc == -1)
            return api_store_error(ctx, r);
        api_error(r, 404, "no such user");
        return API_DONE;
    }
    memset(job, 0, sizeof(*job));
    snprintf(job->email, sizeof(job->email), "%s", target);
    snprintf(job->actor, sizeof(job->actor), "%s", who.email);
    job->actor_role = who.role;
    job->role = role;
    job->cost = (unsigned long)ctx->cfg->password_cost;
    memcpy(job->token, token, sizeof(job->token));
    explicit_bzero(token, sizeof(token));
    if (f.password == NULL) {
        /* A role change alone needs no hashing. */
        rc = api_patch_done(ctx, job, r);
    } else {
        memcpy(job->new_password, f.password, f.password_len);
        job->found = 1;     /* a new password is to be stored */
        rc = is_admin ? api_patch_hash_new(job) :
            api_patch_prove(job, &f, u.hash, r);
    }
    explicit_bzero(u.hash, sizeof(u.hash));
    api_fields_free(&f);
    return rc;
}

/* What a PATCH may change and who may: 0 with *role (0: unchanged), or -1
 * with r answered. */
static int
api_patch_fields(struct api_ctx *ctx, const struct api_fields *f, int is_admin,
    int *role, struct api_response *r)
{
    if (f->password == NULL && f->role == NULL) {
        api_error(r, 400, "nothing to change: give password or role");
        return -1;
    }
    if (f->role != NULL && (*role = api_parse_role(f->role, f->role_len)) == -1) {
        api_error(r, 400, "role must be \"admin\" or \"user\"");
        return -1;
    }
    if (f->role != NULL && !is_admin) {
        api_error(r, 403, "only administrators may change roles");
        return -1;
    }
    if (f->password != NULL &&
        api_check_password(ctx, f->password, f->password_len, r, "password") == -1)
        return -1;
    return 0;
}

/* A user's own change: the current password is verified against hash
 * first (STEP_PATCH_VERIFIED).  API_PENDING, or API_DONE with r answered. */
static int
api_patch_prove(struct api_job *job, const struct api_fields *f,
    const char *hash, struct api_response *r)
{
    if (f->current_password == NULL) {
        api_wipe_job(job);
        api_error(r, 400, "give your current password to change it");
        return API_DONE;
    }
    /* As at login: too long or holding a NUL, it cannot match. */
    if (f->current_password_len >= sizeof(job->password) ||
        memchr(f->current_password, '\0', f->current_password_len) != NULL) {
        api_wipe_job(job);
        api_error(r, 403, "the current password is wrong");
        return API_DONE;
    }
    memcpy(job->password, f->current_password, f->current_password_len);
    snprintf(job->hash, sizeof(job->hash), "%s", hash);
    job->kind = API_JOB_VERIFY;
    job->step = STEP_PATCH_VERIFIED;
    return API_PENDING;
}

/* The new password of job is hashed next (STEP_PATCH_HASHED). */
static int
api_patch_hash_new(struct api_job *job)
{
    memcpy(job->password, job->new_password, sizeof(job->password));
    job->kind = API_JOB_HASH;
    job->step = STEP_PATCH_HASHED;
    return API_PENDING;
}

static int
api_patch_verified(struct api_ctx *ctx, struct api_job *job,
    struct api_response *r)
{
    (void)ctx;
    snprintf(r->user, sizeof(r->user), "%s", job->actor);
    if (job->result != 1) {
        api_error(r, 403, "the current password is wrong");
        return API_DONE;
    }
    /* The change stands only while this is still the user's hash. */
    memcpy(job->verified, job->hash, sizeof(job->verified));
    return api_patch_hash_new(job);
}

/* What the change of job is, for the store. */
static void
api_patch_change(const struct api_job *job, struct store_change *c)
{
    memset(c, 0, sizeof(*c));
    c->email = job->email;
    c->hash = job->found ? job->hash : NULL;
    c->role = job->role;
    /* The change stands only while the proved password is the hash. */
    c->expect = job->verified[0] != '\0' ? job->verified : NULL;
    /* Other sessions of that user end; the caller's own one stays. */
    c->keep_token = strcmp(job->actor, job->email) == 0 ? job->token : NULL;
    c->flags = STORE_KEEP_ADMIN;
}

/* Stores the change; job->found says whether job->hash is a new hash. */
static int
api_patch_done(struct api_ctx *ctx, struct api_job *job, struct api_response *r)
{
    struct store_change  c;
    struct store_changed out;
    int                  rc;

    snprintf(r->user, sizeof(r->user), "%s", job->actor);
    if (job->result != 0) {
        log_msg(LOG_ERR, "password hashing failed: %s", strerror(job->error));
        api_error(r, 500, "cannot hash the password");
        return API_DONE;
    }
    api_patch_change(job, &c);
    rc = store_user_change(ctx->store, &c, &out);
    explicit_bzero(job->hash, sizeof(job->hash));
    if (rc == STORE_NOT_FOUND) {
        api_error(r, 404, "no such user");
        return API_DONE;
    }
    if (rc == STORE_CHANGED) {
        /* Changed meanwhile: what was proved is not the password now. */
        api_error(r, 403, "the current password is wrong");
        return API_DONE;
    }
    if (rc == STORE_LAST_ADMIN) {
        api_error(r, 409, "the last administrator cannot be demoted");
        return API_DONE;
    }
    if (rc != 0)
        return api_store_error(ctx, r);
    explicit_bzero(out.user.hash, sizeof(out.user.hash));
    api_db_changed(ctx, 0);
    if (job->found) {
        log_msg(LOG_NOTICE, "password of %s changed by %s; %d other sessions ended",
            out.user.email, job->actor, out.ended);
        firstadmin_forget(ctx->cfg->state_dir, out.user.email, "password changed");
    }
    if (job->role != 0)
        log_msg(LOG_NOTICE, "role of %s set to %s by %s", out.user.email,
            userdb_role_name(out.user.role), job->actor);
    api_set_record(r, 200, &out.user);
    api_no_store(r);
    return API_DONE;
}

/* ---- jobs -------------------------------------------------------------- */

void
api_job_run(struct hashpool_job *pj)
{
    struct api_job *job = (struct api_job *)pj;

    if (job->kind == API_JOB_VERIFY) {
        job->result = auth_verify_password(job->password, job->hash);
    } else {
        job->result = auth_hash_password(job->password, job->cost, job->hash,
            sizeof(job->hash));
    }
    /* errno is this thread's: the loop thread reads it from the job. */
    job->error = job->result == -1 ? errno : 0;
    explicit_bzero(job->password, sizeof(job->password));
}

int
api_resume(struct api_ctx *ctx, struct api_job *job, struct api_response *r)
{
    int rc;

    switch (job->step) {
    case STEP_LOGIN_VERIFIED:
        rc = api_login_done(ctx, job, r);
        break;
    case STEP_CREATE_HASHED:
        rc = api_create_done(ctx, job, r);
        break;
    case STEP_PATCH_VERIFIED:
        rc = api_patch_verified(ctx, job, r);
        break;
    case STEP_PATCH_HASHED:
        rc = api_patch_done(ctx, job, r);
        break;
    default:
        api_error(r, 500, "lost request state");
        rc = API_DONE;
        break;
    }
    if (rc == API_DONE)
        api_wipe_job(job);
    return rc;
}

/* ---- routing ----------------------------------------------------------- */

static const struct api_route *
api_route_find(const char *path, size_t len)
{
    size_t i, plen;

    for (i = 0; i < sizeof(api_routes) / sizeof(api_routes[0]); i++) {
        plen = strlen(api_routes[i].path);
        if (api_routes[i].prefix ? len > plen &&
            memcmp(api_routes[i].path, path, plen) == 0 :
            plen == len && memcmp(api_routes[i].path, path, len) == 0)
            return &api_routes[i];
    }
    return NULL;
}

/* Appends "Allow: GET, HEAD, OPTIONS\r\n" for the methods route answers;
 * for NULL (OPTIONS *), every method the server implements. */
static void
api_allow_header(const struct api_route *route, struct buf *out)
{
    static const enum http_method order[] = {
        HTTP_METHOD_GET, HTTP_METHOD_HEAD, HTTP_METHOD_POST, HTTP_METHOD_PUT,
        HTTP_METHOD_PATCH, HTTP_METHOD_DELETE, HTTP_METHOD_OPTIONS,
    };
    const char *sep = "";
    size_t      i;
    int         ok = buf_append_str(out, "Allow: ") == 0;

    for (i = 0; ok && i < sizeof(order) / sizeof(order[0]); i++) {
        enum http_method m = order[i];

        /* Every route answers OPTIONS; HEAD goes with GET. */
        if (route != NULL && route->handlers[m] == NULL &&
            m != HTTP_METHOD_OPTIONS &&
            !(m == HTTP_METHOD_HEAD && route->handlers[HTTP_METHOD_GET]))
            continue;
        ok = buf_appendf(out, "%s%s", sep, http_method_name(m)) == 0;
        sep = ", ";
    }
    if (ok)
        buf_append_str(out, "\r\n");
}

int
api_handle(struct api_ctx *ctx, const struct api_request *req,
    struct api_response *r)
{
    const struct http_request *h = req->http;
    const struct api_route   *route;
    api_handler               fn;
    char                      msg[128];
    int                       rc;

    if (h->path_len == 1 && h->path[0] == '*') {
        r->status = 204;
        api_allow_header(NULL, &r->headers);
        return API_DONE;
    }
    route = api_route_find(h->path, h->path_len);
    if (route == NULL) {
        api_error(r, 404, "no such resource");
        return API_DONE;
    }
    if (h->method == HTTP_METHOD_OPTIONS) {
        /* What the route allows; a browser's preflight gets its CORS
         * headers from the worker, as every answer does. */
        r->status = 204;
        api_allow_header(route, &r->headers);
        return API_DONE;
    }
    fn = route->handlers[h->method];
    if (fn == NULL && h->method == HTTP_METHOD_HEAD)
        fn = route->handlers[HTTP_METHOD_GET];
    if (fn == NULL) {
        snprintf(msg, sizeof(msg), "%s is not allowed here",
            http_method_name(h->method));
        api_error(r, 405, msg);
        api_allow_header(route, &r->headers);
        return API_DONE;
    }
    rc = fn(ctx, req, r);
    if (rc == API_PENDING) {
        snprintf(r->job.remote, sizeof(r->job.remote), "%s", req->remote_addr);
        r->job.secure = req->secure;
    }
    return rc;
}

void
api_cors(const struct config *cfg, const struct http_request *req,
    struct buf *headers)
{
    const struct http_header *o;

    if (cfg->ncors_origins == 0 ||
        (o = http_request_header(req, "Origin")) == NULL ||
        !config_cors_allowed(cfg, o->value, o->value_len))
        return;
    buf_append_str(headers, "Access-Control-Allow-Origin: ");
    buf_append(headers, o->value, o->value_len);
    buf_append_str(headers, "\r\nAccess-Control-Allow-Credentials: true\r\n"
        "Vary: Origin\r\n");
    if (req->method == HTTP_METHOD_OPTIONS &&
        http_request_header(req, "Access-Control-Request-Method") != NULL)
        buf_append_str(headers, "Access-Control-Allow-Methods: GET, HEAD, POST, "
            "PUT, PATCH, DELETE, OPTIONS\r\nAccess-Control-Allow-Headers: "
            "Authorization, Content-Type\r\nAccess-Control-Max-Age: 600\r\n");
}
