/* SPDX-License-Identifier: MIT */
/*
 * api_page.c - GET /?limit=N&after=CURSOR&q=PREFIX: the users a page at a
 * time, in creation order, those whose email starts with PREFIX (any
 * case; emails are stored lower case).
 *
 * The query string is limit (1..STORE_PAGE_MAX, API_PAGE_DEFAULT when
 * absent), after (the "next" of the previous page) and q, each at most
 * once, percent-decoded with '+' kept as a plus sign (emails hold '+',
 * never a space); anything else is 400 saying which.  A cursor is the
 * store's cursor (store_user_page) in base64url: opaque to clients,
 * valid while users are added and deleted, meant for the same q.
 *
 * Administrators page through every user.  A user sees their own record
 * only, as without a query string: listed when it matches q on a first
 * page (no after), never with a "next".
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_page.h"
#include "encoding.h"

#define API_CURSOR_B64  (STORE_CURSOR_LEN / 3 * 4 + 4)

struct api_page_query {
    size_t limit;
    int    has_limit;
    int    has_after;
    int    has_q;
    char   after[STORE_CURSOR_LEN];
    char   q[USERDB_EMAIL_MAX + 1];
};

struct api_page_walk {
    struct buf *b;
    size_t      n;
};

static int  api_page_parse(const struct api_request *, struct api_page_query *,
                char *, size_t);
static int  api_page_param(struct api_page_query *, const char *, char *,
                size_t, char *, size_t);
static int  api_page_why(char *, size_t, const char *, ...)
                __attribute__((format(printf, 3, 4)));
static int  api_page_printable(const char *);
static int  api_page_limit(const char *, size_t *);
static int  api_page_prefix(const char *, size_t, char *, size_t);
static int  api_page_add(const struct userdb_user *, void *);
static int  api_page_all(struct api_ctx *, const struct api_page_query *,
                struct api_response *);
static int  api_page_own(struct api_ctx *, const struct api_page_query *,
                const char *, struct api_response *);

/* why = the 400's message (cut short if need be).  Returns -1. */
static int
api_page_why(char *why, size_t whylen, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    if (vsnprintf(why, whylen, fmt, ap) < 0)
        snprintf(why, whylen, "the query string is malformed");
    va_end(ap);
    return -1;
}

/* Whether s may be quoted in a message: printable ASCII, no quote. */
static int
api_page_printable(const char *s)
{
    for (; *s != '\0'; s++)
        if (*s < 0x20 || *s > 0x7e || *s == '"' || *s == '\\')
            return 0;
    return 1;
}

/* limit's value: 0 with *n, or -1 when it is not 1..STORE_PAGE_MAX. */
static int
api_page_limit(const char *v, size_t *n)
{
    size_t i, len = strlen(v);

    if (len == 0 || len > 4)
        return -1;
    for (i = 0; i < len; i++)
        if (v[i] < '0' || v[i] > '9')
            return -1;
    *n = (size_t)strtoul(v, NULL, 10);
    return *n >= 1 && *n <= STORE_PAGE_MAX ? 0 : -1;
}

/* q's value lower-cased into out: 0, or -1 when no email starts so (a
 * character no address holds, or too long). */
static int
api_page_prefix(const char *v, size_t len, char *out, size_t outlen)
{
    size_t i;

    if (len >= outlen || len > USERDB_EMAIL_MAX)
        return -1;
    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char)v[i];

        if (!isalnum(c) && (c == '\0' || strchr("!#$%&'*+-/=?^_`{|}~.@", c) ==
            NULL))
            return -1;
        out[i] = (char)tolower(c);
    }
    out[len] = '\0';
    return 0;
}

/* One parameter name=v (decoded, vlen bytes) into query.  0, or -1 with
 * why (400's message) set. */
static int
api_page_param(struct api_page_query *query, const char *name, char *v,
    size_t vlen, char *why, size_t whylen)
{
    int *seen;
    long n;

    if (strcmp(name, "limit") == 0)
        seen = &query->has_limit;
    else if (strcmp(name, "after") == 0)
        seen = &query->has_after;
    else if (strcmp(name, "q") == 0)
        seen = &query->has_q;
    else if (api_page_printable(name))
        return api_page_why(why, whylen, "unknown query parameter \"%.40s\"; "
            "give limit, after or q", name);
    else
        return api_page_why(why, whylen, "unknown query parameter; give limit, "
            "after or q");
    if (*seen)
        return api_page_why(why, whylen, "query parameter %s given twice",
            name);
    *seen = 1;
    if (seen == &query->has_limit && api_page_limit(v, &query->limit) == -1)
        return api_page_why(why, whylen, "limit must be a number from 1 to %d",
            STORE_PAGE_MAX);
    if (seen == &query->has_q &&
        api_page_prefix(v, vlen, query->q, sizeof(query->q)) == -1)
        return api_page_why(why, whylen, "q must be the start of an email "
            "address");
    if (seen == &query->has_after && (vlen == 0 || vlen >= API_CURSOR_B64 ||
        (n = encoding_base64url_decode(v, vlen, query->after,
        sizeof(query->after))) <= 0 || (size_t)n != strlen(query->after)))
        return api_page_why(why, whylen, "after is not a cursor of this "
            "server");
    return 0;
}

/* The query string into query.  0, or -1 with why set. */
static int
api_page_parse(const struct api_request *req, struct api_page_query *query,
    char *why, size_t whylen)
{
    char  copy[HTTP_MAX_REQUEST_LINE + 1], *p, *amp, *eq, *end;
    long  nl, vl;

    memset(query, 0, sizeof(*query));
    query->limit = API_PAGE_DEFAULT;
    if (req->http->query_len >= sizeof(copy))
        return api_page_why(why, whylen, "the query string is too long");
    memcpy(copy, req->http->query, req->http->query_len);
    copy[req->http->query_len] = '\0';
    for (p = copy, end = copy + req->http->query_len; p < end; p = amp + 1) {
        if ((amp = memchr(p, '&', (size_t)(end - p))) == NULL)
            amp = end;
        *amp = '\0';
        if (amp == p)
            continue;
        if ((eq = strchr(p, '=')) == NULL)
            return api_page_why(why, whylen, "query parameter \"%.40s\" has no "
                "value", p);
        *eq++ = '\0';
        nl = encoding_percent_decode(p, strlen(p), 0);
        vl = encoding_percent_decode(eq, (size_t)(amp - eq), 0);
        if (nl < 0 || vl < 0 || (size_t)nl != strlen(p))
            return api_page_why(why, whylen, "the query string is malformed");
        if (api_page_param(query, p, eq, (size_t)vl, why, whylen) == -1)
            return -1;
    }
    return 0;
}

/* store_user_page's step: one record, after a comma but the first. */
static int
api_page_add(const struct userdb_user *u, void *arg)
{
    struct api_page_walk *w = arg;

    if (w->n++ > 0 && buf_append(w->b, ",", 1) == -1)
        return 1;
    return api_user_record(w->b, u) == -1 ? 1 : 0;
}

/* An administrator's page into r.  API_DONE. */
static int
api_page_all(struct api_ctx *ctx, const struct api_page_query *query,
    struct api_response *r)
{
    struct api_page_walk w = { &r->body, 0 };
    char                 next[STORE_CURSOR_LEN], enc[API_CURSOR_B64];
    int                  rc = 1;

    if (buf_append_str(&r->body, "{\"users\":[") == 0)
        rc = store_user_page(ctx->store, query->has_after ? query->after :
            NULL, query->q, query->limit, api_page_add, &w, next,
            sizeof(next));
    if (rc == -1)
        return api_store_error(ctx, r);
    if (rc == STORE_BAD_CURSOR) {
        api_error(r, 400, "after is not a cursor of this server, or the "
            "users around it were deleted; start again without it");
        return API_DONE;
    }
    if (rc == 0 && buf_append(&r->body, "]", 1) == 0 && next[0] != '\0') {
        if (encoding_base64url_encode(next, strlen(next), enc,
            sizeof(enc)) == -1 ||
            buf_appendf(&r->body, ",\"next\":\"%s\"", enc) == -1)
            rc = 1;
    }
    if (rc != 0 || buf_append(&r->body, "}", 1) == -1) {
        api_error(r, 500, "out of memory");
        return API_DONE;
    }
    r->status = 200;
    return API_DONE;
}

/* A user's page: their own record when it matches a first page. */
static int
api_page_own(struct api_ctx *ctx, const struct api_page_query *query,
    const char *email, struct api_response *r)
{
    struct userdb_user u;
    int                rc, show;

    show = !query->has_after && strncmp(email, query->q, strlen(query->q)) == 0;
    if (show && (rc = store_user_find(ctx->store, email, &u)) != 0)
        return api_no_session(ctx, r, rc, "log in first");
    if (buf_append_str(&r->body, "{\"users\":[") == -1 ||
        (show && api_user_record(&r->body, &u) == -1) ||
        buf_append_str(&r->body, "]}") == -1) {
        api_error(r, 500, "out of memory");
        return API_DONE;
    }
    if (show)
        explicit_bzero(u.hash, sizeof(u.hash));
    r->status = 200;
    return API_DONE;
}

int
api_page(struct api_ctx *ctx, const struct api_request *req,
    const struct session_info *who, struct api_response *r)
{
    struct api_page_query query;
    char                  why[128];

    buf_reset(&r->body);
    api_no_store(r);
    if (api_page_parse(req, &query, why, sizeof(why)) == -1) {
        api_error(r, 400, why);
        return API_DONE;
    }
    if (who->role == USERDB_ROLE_ADMIN)
        return api_page_all(ctx, &query, r);
    return api_page_own(ctx, &query, who->email, r);
}
