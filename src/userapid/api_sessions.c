/* SPDX-License-Identifier: MIT */
/*
 * api_sessions.c - a caller's own sessions over the API.  GET /session
 * says whose the token is (the introspection call for other services);
 * GET /sessions lists the caller's live sessions; DELETE /sessions/<id>
 * ends one of them and DELETE /sessions all of them ("log out
 * everywhere").  DELETE /session (log out) stays in api.c.
 *
 * Invariants: a session is named by its id (session_token_id), never by
 * its token, and no answer here carries a token.  Only the caller's own
 * sessions are seen or ended: another user's id is 404 as an unknown
 * one.  Every revocation is told to the other workers (api_db_changed)
 * before the answer, so that a request made after the 204 is received
 * finds the session gone whichever worker serves it.  Without a live
 * session the answer is 403 as on "/".  Nothing here is cached.
 */
#include <stdio.h>
#include <string.h>

#include "api_sessions.h"
#include "jsonw.h"
#include "log.h"

#define SESSIONS_PREFIX_LEN (sizeof("/sessions/") - 1)

struct api_sessions_walk {
    struct buf *b;
    const char *current;            /* the caller's session id */
    size_t      n;
};

static int  api_sessions_begin(struct api_ctx *, const struct api_request *,
                struct api_response *, struct session_info *,
                char [SESSION_ID_LEN + 1]);
static int  api_sessions_add(const struct session_info *, void *);
static int  api_session_id(const struct api_request *, char *, size_t);
static void api_time(int64_t, char [USERDB_TIME_LEN + 1]);

/* The caller's session, and its id when id is not NULL.  0, or -1 with r
 * answered (403 without a live session, or the store's failure). */
static int
api_sessions_begin(struct api_ctx *ctx, const struct api_request *req,
    struct api_response *r, struct session_info *who,
    char id[SESSION_ID_LEN + 1])
{
    char token[CRYPTO_TOKEN_LEN + 1];
    int  rc;

    if ((rc = api_authenticate(ctx, req, who, token)) != 0) {
        api_no_session(ctx, r, rc, "log in first");
        return -1;
    }
    snprintf(r->user, sizeof(r->user), "%s", who->email);
    if (id != NULL)
        session_token_id(token, CRYPTO_TOKEN_LEN, id);
    explicit_bzero(token, sizeof(token));
    return 0;
}

static void
api_time(int64_t t, char out[USERDB_TIME_LEN + 1])
{
    if (userdb_format_time(t, out) == -1)
        snprintf(out, USERDB_TIME_LEN + 1, "1970-01-01T00:00:00Z");
}

int
api_session_get(struct api_ctx *ctx, const struct api_request *req,
    struct api_response *r)
{
    struct session_info who;
    char                created[USERDB_TIME_LEN + 1], exp[USERDB_TIME_LEN + 1];

    if (api_sessions_begin(ctx, req, r, &who, NULL) == -1)
        return API_DONE;
    api_time(who.created_at, created);
    api_time(who.expires_at, exp);
    buf_reset(&r->body);
    if (buf_append_str(&r->body, "{\"email\":") == -1 ||
        jsonw_string(&r->body, who.email, strlen(who.email)) == -1 ||
        buf_appendf(&r->body, ",\"role\":\"%s\",\"role_id\":%d,"
            "\"created_at\":\"%s\",\"expires_at\":\"%s\"}",
            userdb_role_name(who.role), who.role, created, exp) == -1) {
        api_error(r, 500, "out of memory");
        return API_DONE;
    }
    r->status = 200;
    api_no_store(r);
    return API_DONE;
}

/* store_session_foreach's step: one session, after a comma but the
 * first.  1 when out of memory. */
static int
api_sessions_add(const struct session_info *s, void *arg)
{
    struct api_sessions_walk *w = arg;
    char                      c[USERDB_TIME_LEN + 1], u[USERDB_TIME_LEN + 1];
    char                      e[USERDB_TIME_LEN + 1];

    api_time(s->created_at, c);
    api_time(s->last_used, u);
    api_time(s->expires_at, e);
    if ((w->n++ > 0 && buf_append(w->b, ",", 1) == -1) ||
        buf_appendf(w->b, "{\"id\":\"%s\",\"created_at\":\"%s\","
            "\"last_used\":\"%s\",\"expires_at\":\"%s\",\"address\":", s->id,
            c, u, e) == -1 ||
        jsonw_string(w->b, s->addr, strlen(s->addr)) == -1 ||
        buf_appendf(w->b, ",\"current\":%s}", strcmp(s->id, w->current) == 0 ?
            "true" : "false") == -1)
        return 1;
    return 0;
}

int
api_sessions_get(struct api_ctx *ctx, const struct api_request *req,
    struct api_response *r)
{
    struct session_info      who;
    char                     id[SESSION_ID_LEN + 1];
    struct api_sessions_walk w = { &r->body, id, 0 };
    int                      rc;

    if (api_sessions_begin(ctx, req, r, &who, id) == -1)
        return API_DONE;
    buf_reset(&r->body);
    if (buf_append_str(&r->body, "{\"sessions\":[") == -1)
        rc = 1;
    else
        rc = store_session_foreach(ctx->store, who.email, api_sessions_add, &w);
    if (rc == -1)
        return api_store_error(ctx, r);
    if (rc != 0 || buf_append_str(&r->body, "]}") == -1) {
        api_error(r, 500, "out of memory");
        return API_DONE;
    }
    r->status = 200;
    api_no_store(r);
    return API_DONE;
}

/* The <id> of /sessions/<id>: 0, or -1 when it cannot be an id (lower
 * case hexadecimal, SESSION_ID_LEN digits). */
static int
api_session_id(const struct api_request *req, char *out, size_t outlen)
{
    const char *p = req->http->path + SESSIONS_PREFIX_LEN;
    size_t      n = req->http->path_len - SESSIONS_PREFIX_LEN, i;

    if (n != SESSION_ID_LEN || n >= outlen)
        return -1;
    for (i = 0; i < n; i++)
        if (!((p[i] >= '0' && p[i] <= '9') || (p[i] >= 'a' && p[i] <= 'f')))
            return -1;
    memcpy(out, p, n);
    out[n] = '\0';
    return 0;
}

int
api_sessions_delete(struct api_ctx *ctx, const struct api_request *req,
    struct api_response *r)
{
    struct session_info who;
    char                own[SESSION_ID_LEN + 1], id[SESSION_ID_LEN + 1];
    int                 rc;

    if (api_sessions_begin(ctx, req, r, &who, own) == -1)
        return API_DONE;
    api_no_store(r);
    if (api_session_id(req, id, sizeof(id)) == -1) {
        api_error(r, 404, "no such session");
        return API_DONE;
    }
    rc = store_session_revoke_id(ctx->store, who.email, id);
    if (rc == -1)
        return api_store_error(ctx, r);
    if (rc != 0) {
        api_error(r, 404, "no such session");
        return API_DONE;
    }
    api_db_changed(ctx, 0);
    log_msg(LOG_INFO, "a session of %s ended by its owner", who.email);
    r->status = 204;
    /* Ending the session in use is a logout. */
    if (strcmp(id, own) == 0)
        api_cookie(ctx, r, "", 0, req->secure);
    return API_DONE;
}

int
api_sessions_delete_all(struct api_ctx *ctx, const struct api_request *req,
    struct api_response *r)
{
    struct session_info who;
    int                 n;

    if (api_sessions_begin(ctx, req, r, &who, NULL) == -1)
        return API_DONE;
    if ((n = store_session_revoke_user(ctx->store, who.email, NULL)) == -1)
        return api_store_error(ctx, r);
    api_db_changed(ctx, 0);
    log_msg(LOG_INFO, "%d sessions of %s ended by their owner", n, who.email);
    r->status = 204;
    api_cookie(ctx, r, "", 0, req->secure);
    api_no_store(r);
    return API_DONE;
}
