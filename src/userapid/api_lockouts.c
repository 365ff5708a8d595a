/* SPDX-License-Identifier: MIT */
/*
 * api_lockouts.c - the login throttle's lockouts over the API, for
 * administrators: GET /lockouts lists the accounts slowed down and the
 * addresses locked out (store_lockouts), DELETE /lockouts/<key> lifts
 * the slow-down of an account or the lockout of an address and clears
 * its count (store_unlock).
 *
 * Both answer 403 without a session ("log in first") or to a user who is
 * not an administrator, as the other admin routes do, and their answers
 * are not cached.  The key is the rest of the path, percent-decoded ('+'
 * stays '+', as in every path) and matched in any case; an empty,
 * over-long or undecodable one matches nothing (404).  A lifted lockout
 * is logged with the administrator who lifted it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_lockouts.h"
#include "encoding.h"
#include "jsonw.h"
#include "log.h"

#define LOCKOUTS_PREFIX_LEN (sizeof("/lockouts/") - 1)

static int  api_lockouts_admin(struct api_ctx *, const struct api_request *,
                struct api_response *, const char *, struct session_info *);
static int  api_lockout_record(struct buf *, const struct throttle_lockout *);
static int  api_lockouts_body(struct buf *, const struct throttle_lockout *,
                size_t);
static int  api_lockout_key(const struct api_request *, char *, size_t);

/* The caller must be an administrator to do what.  0, or -1 with r
 * answered (403, or the store's failure). */
static int
api_lockouts_admin(struct api_ctx *ctx, const struct api_request *req,
    struct api_response *r, const char *what, struct session_info *who)
{
    char msg[96];
    int  rc;

    if ((rc = api_authenticate(ctx, req, who, NULL)) != 0) {
        api_no_session(ctx, r, rc, "log in first");
        return -1;
    }
    snprintf(r->user, sizeof(r->user), "%s", who->email);
    if (who->role != USERDB_ROLE_ADMIN) {
        snprintf(msg, sizeof(msg), "only administrators may %s", what);
        api_error(r, 403, msg);
        return -1;
    }
    return 0;
}

/* {"kind","key","failures","retry_after"}.  0 or -1. */
static int
api_lockout_record(struct buf *b, const struct throttle_lockout *v)
{
    if (buf_appendf(b, "{\"kind\":\"%s\",\"key\":", v->kind ==
        THROTTLE_ACCOUNT ? "account" : "address") == -1 ||
        jsonw_string(b, v->key, strlen(v->key)) == -1)
        return -1;
    return buf_appendf(b, ",\"failures\":%ld,\"retry_after\":%ld}",
        v->failures, v->retry_after);
}

static int
api_lockouts_body(struct buf *b, const struct throttle_lockout *v, size_t n)
{
    size_t i;

    buf_reset(b);
    if (buf_append_str(b, "{\"lockouts\":[") == -1)
        return -1;
    for (i = 0; i < n; i++)
        if ((i > 0 && buf_append(b, ",", 1) == -1) ||
            api_lockout_record(b, &v[i]) == -1)
            return -1;
    return buf_append_str(b, "]}");
}

int
api_lockouts_get(struct api_ctx *ctx, const struct api_request *req,
    struct api_response *r)
{
    struct session_info      who;
    struct throttle_lockout *v = NULL;
    size_t                   n = 0;
    int                      rc;

    if (api_lockouts_admin(ctx, req, r, "see lockouts", &who) == -1)
        return API_DONE;
    if (store_lockouts(ctx->store, &v, &n) == -1)
        return api_store_error(ctx, r);
    rc = api_lockouts_body(&r->body, v, n);
    free(v);
    if (rc == -1) {
        api_error(r, 500, "out of memory");
        return API_DONE;
    }
    r->status = 200;
    buf_append_str(&r->headers, "Cache-Control: no-store\r\n");
    return API_DONE;
}

/* The <key> of /lockouts/<key>, percent-decoded, into out.  0, or -1
 * when it is empty, too long or malformed. */
static int
api_lockout_key(const struct api_request *req, char *out, size_t outlen)
{
    const struct http_request *h = req->http;
    size_t                     n = h->path_len - LOCKOUTS_PREFIX_LEN;
    long                       len;

    if (n == 0 || n >= outlen)
        return -1;
    memcpy(out, h->path + LOCKOUTS_PREFIX_LEN, n);
    out[n] = '\0';
    if ((len = encoding_percent_decode(out, n, 0)) <= 0 ||
        memchr(out, '\0', (size_t)len) != NULL ||
        (size_t)len > THROTTLE_KEY_MAX)
        return -1;
    return 0;
}

int
api_lockouts_delete(struct api_ctx *ctx, const struct api_request *req,
    struct api_response *r)
{
    struct session_info who;
    char                key[THROTTLE_KEY_MAX * 3 + 1];
    int                 rc = 0;

    if (api_lockouts_admin(ctx, req, r, "lift lockouts", &who) == -1)
        return API_DONE;
    if (api_lockout_key(req, key, sizeof(key)) == 0 &&
        (rc = store_unlock(ctx->store, key)) == -1)
        return api_store_error(ctx, r);
    if (rc == 0) {
        api_error(r, 404, "nothing is locked out for that account or "
            "address");
        return API_DONE;
    }
    log_msg(LOG_NOTICE, "lockout of %s lifted by %s", key, who.email);
    r->status = 204;
    return API_DONE;
}
