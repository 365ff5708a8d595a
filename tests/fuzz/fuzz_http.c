/* SPDX-License-Identifier: MIT */
/*
 * fuzz_http.c - libFuzzer target for the HTTP/1.1 request parser: heads,
 * Content-Length and chunked bodies, pipelined requests.
 *
 * Input: one control byte, then the bytes a client sends.  The control
 * byte chooses max_body (bit 6: 32 bytes, so 413 is reachable) and how
 * the bytes arrive the second time round (bit 7: in two pieces split at a
 * point the low six bits choose; otherwise in pieces of (low bits + 1)
 * bytes, one byte at a time for 0).
 *
 * Each input is parsed twice, as the worker does it: http_parse_head on a
 * buffer that grows until a head parses, then http_parse_body on what
 * follows until the body is complete, then the next request from where
 * that one ended.  Once with all the bytes at hand, once as they trickle
 * in.  Both runs must tell the same story: same statuses, same head
 * lengths, same decoded bodies, same bytes consumed.  The bytes not yet
 * "received" are poisoned for AddressSanitizer, so a parser that looks
 * past the length it was given is caught even though the memory exists.
 */
#include <sanitizer/asan_interface.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "fuzz.h"
#include "http.h"

#define FUZZ_MAX_REQUESTS   64      /* pipelined requests followed per input */

struct fuzz_req {
    int         head_rc;
    size_t      head_len;
    int         method;
    int         version;
    int         chunked;
    int         keep_alive;
    int         expect_continue;
    int64_t     content_length;
    size_t      nheaders;
    int         body_rc;
    size_t      body_len;
    size_t      used;               /* input bytes: head and body */
};

struct fuzz_trace {
    struct fuzz_req r[FUZZ_MAX_REQUESTS];
    size_t          n;
    struct buf      bodies;         /* every decoded body, end to end */
};

/* How the bytes arrive: all at once, in two pieces, or in fixed pieces. */
struct fuzz_feed {
    size_t  size;
    size_t  split;                  /* two pieces: the first one's length */
    size_t  step;                   /* fixed pieces: their length */
};

static size_t   fuzz_feed_first(const struct fuzz_feed *f);
static size_t   fuzz_feed_more(const struct fuzz_feed *f, size_t avail);
static void     fuzz_run(const char *buf, const struct fuzz_feed *f,
                    size_t max_body, struct fuzz_trace *t);
static void     fuzz_check_head(const char *head, size_t avail,
                    const struct http_request *req, size_t max_body);
static int      fuzz_in(const char *p, size_t len, const char *lo,
                    const char *hi);
static int      fuzz_field_is(const struct http_header *h, const char *name);
static void     fuzz_check_response(const struct http_request *req,
                    const struct buf *bodies, size_t start);
static void     fuzz_compare(const struct fuzz_trace *a,
                    const struct fuzz_trace *b);

static size_t
fuzz_feed_first(const struct fuzz_feed *f)
{
    if (f->step == 0)
        return f->split;
    return f->step < f->size ? f->step : f->size;
}

static size_t
fuzz_feed_more(const struct fuzz_feed *f, size_t avail)
{
    if (f->step == 0)
        return f->size;
    return f->size - avail > f->step ? avail + f->step : f->size;
}

/* Whether p[0..len) lies inside [lo, hi). */
static int
fuzz_in(const char *p, size_t len, const char *lo, const char *hi)
{
    return p != NULL && p >= lo && p <= hi && len <= (size_t)(hi - p);
}

static int
fuzz_field_is(const struct http_header *h, const char *name)
{
    return h->name_len == strlen(name) &&
        strncasecmp(h->name, name, h->name_len) == 0;
}

/* What a parsed head promises its reader. */
static void
fuzz_check_head(const char *head, size_t avail, const struct http_request *req,
    size_t max_body)
{
    const char *end = head + req->head_len;
    size_t      i, k;

    FUZZ_CHECK(req->head_len > 0 && req->head_len <= avail);
    FUZZ_CHECK(head[req->head_len - 1] == '\n');
    FUZZ_CHECK(req->method != HTTP_METHOD_UNKNOWN);
    FUZZ_CHECK(strcmp(http_method_name(req->method), "UNKNOWN") != 0);
    FUZZ_CHECK(req->version == 10 || req->version == 11);
    FUZZ_CHECK(fuzz_in(req->method_str, req->method_len, head, end));
    FUZZ_CHECK(req->method_len == strlen(http_method_name(req->method)) &&
        memcmp(req->method_str, http_method_name(req->method),
        req->method_len) == 0);
    FUZZ_CHECK(req->target_len > 0 && fuzz_in(req->target, req->target_len, head, end));
    FUZZ_CHECK(req->path_len > 0 && req->path[0] == '/');
    FUZZ_CHECK((req->path_len == 1 && strcmp(req->path, "/") == 0) ||
        fuzz_in(req->path, req->path_len, req->target,
        req->target + req->target_len));
    FUZZ_CHECK(memchr(req->path, '?', req->path_len) == NULL);
    if (req->query != NULL)
        FUZZ_CHECK(fuzz_in(req->query, req->query_len, req->target,
            req->target + req->target_len) && req->query[-1] == '?');
    FUZZ_CHECK(req->nheaders <= HTTP_MAX_FIELDS);
    for (i = 0; i < req->nheaders; i++) {
        const struct http_header *h = &req->headers[i];

        FUZZ_CHECK(h->name_len > 0 && fuzz_in(h->name, h->name_len, head, end));
        FUZZ_CHECK(fuzz_in(h->value, h->value_len, head, end));
        FUZZ_CHECK(h->value >= h->name + h->name_len + 1);
        FUZZ_CHECK(h->name[h->name_len] == ':');
        for (k = 0; k < h->value_len; k++)
            FUZZ_CHECK(h->value[k] != '\r' && h->value[k] != '\n' &&
                h->value[k] != '\0');
        if (h->value_len > 0)
            FUZZ_CHECK(h->value[0] != ' ' && h->value[0] != '\t' &&
                h->value[h->value_len - 1] != ' ' &&
                h->value[h->value_len - 1] != '\t');
        /* The lookup handlers make finds the first field of a name. */
        k = fuzz_field_is(h, "Content-Type");
        FUZZ_CHECK(!k || http_request_header(req, "content-type") != NULL);
        (void)http_list_has_token(h->value, h->value_len, "close");
    }
    if (req->version == 11)
        FUZZ_CHECK(http_request_header(req, "Host") != NULL);
    FUZZ_CHECK(!(req->chunked && req->content_length >= 0));
    FUZZ_CHECK(!req->chunked || req->version == 11);
    FUZZ_CHECK(req->content_length >= -1 &&
        (req->content_length < 0 || (uint64_t)req->content_length <= max_body));
    FUZZ_CHECK(!req->expect_continue || req->version == 11);
}

/* The answer to a request is well formed and carries the body it was given. */
static void
fuzz_check_response(const struct http_request *req, const struct buf *bodies,
    size_t start)
{
    struct http_response r;
    struct buf           out;
    static const char    first[] = "HTTP/1.1 200 OK\r\n";
    size_t               blen = bodies->len - start;

    memset(&r, 0, sizeof(r));
    r.status = 200;
    r.version = req->version;
    r.keep_alive = req->keep_alive;
    r.head_only = req->method == HTTP_METHOD_HEAD;
    r.date = "Thu, 01 Jan 1970 00:00:00 GMT";
    r.server = "userapid/fuzz";
    r.content_type = "application/octet-stream";
    r.body = blen > 0 ? bodies->data + start : NULL;
    r.body_len = blen;
    buf_init(&out);
    FUZZ_CHECK(http_response_write(&out, &r) == 0);
    FUZZ_CHECK(out.len > sizeof(first) - 1 &&
        memcmp(out.data, first, sizeof(first) - 1) == 0);
    if (!r.head_only && blen > 0)
        FUZZ_CHECK(out.len >= blen &&
            memcmp(out.data + out.len - blen, r.body, blen) == 0);
    else
        FUZZ_CHECK(out.len >= 4 && memcmp(out.data + out.len - 4, "\r\n\r\n", 4) == 0);
    buf_free(&out);
}

/*
 * Parses buf[0..f->size) as a connection would receive it, recording each
 * request in t.  Bytes not yet received are poisoned.
 */
static void
fuzz_run(const char *buf, const struct fuzz_feed *f, size_t max_body,
    struct fuzz_trace *t)
{
    struct http_parser  p;
    struct http_request req;
    size_t              off = 0, avail, boff, consumed, before, start;
    int                 rc;

    memset(t->r, 0, sizeof(t->r));
    t->n = 0;
    buf_reset(&t->bodies);
    avail = fuzz_feed_first(f);
    ASAN_POISON_MEMORY_REGION(buf + avail, f->size - avail);

    while (t->n < FUZZ_MAX_REQUESTS && off < f->size) {
        struct fuzz_req *r = &t->r[t->n++];

        http_parser_init(&p, max_body);
        memset(&req, 0, sizeof(req));
        for (;;) {
            rc = http_parse_head(&p, buf + off, avail - off, &req);
            if (rc != HTTP_PARSE_AGAIN || avail == f->size)
                break;
            before = avail;
            avail = fuzz_feed_more(f, avail);
            ASAN_UNPOISON_MEMORY_REGION(buf + before, avail - before);
        }
        r->head_rc = rc;
        if (rc == HTTP_PARSE_AGAIN)
            break;
        if (rc != HTTP_PARSE_OK) {
            FUZZ_CHECK(rc == 400 || rc == 413 || rc == 414 || rc == 417 ||
                rc == 431 || rc == 501 || rc == 505);
            FUZZ_CHECK(p.error != NULL);
            FUZZ_CHECK(strcmp(http_status_reason(rc), "Unknown") != 0);
            /* 501 for a method: the request line is there to be logged. */
            if (rc == 501 && req.method == HTTP_METHOD_UNKNOWN)
                FUZZ_CHECK(fuzz_in(req.method_str, req.method_len, buf + off,
                    buf + avail) && req.method_len > 0);
            break;
        }
        fuzz_check_head(buf + off, avail - off, &req, max_body);
        r->head_len = req.head_len;
        r->method = req.method;
        r->version = req.version;
        r->chunked = req.chunked;
        r->keep_alive = req.keep_alive;
        r->expect_continue = req.expect_continue;
        r->content_length = req.content_length;
        r->nheaders = req.nheaders;

        boff = off + req.head_len;
        start = t->bodies.len;
        for (;;) {
            rc = http_parse_body(&p, buf + boff, avail - boff, &consumed,
                &t->bodies);
            FUZZ_CHECK(consumed <= avail - boff);
            /* "Need more" means everything given was used. */
            if (rc == HTTP_PARSE_AGAIN)
                FUZZ_CHECK(consumed == avail - boff);
            boff += consumed;
            if (rc != HTTP_PARSE_AGAIN || avail == f->size)
                break;
            before = avail;
            avail = fuzz_feed_more(f, avail);
            ASAN_UNPOISON_MEMORY_REGION(buf + before, avail - before);
        }
        r->body_rc = rc;
        r->body_len = t->bodies.len - start;
        r->used = boff - off;
        FUZZ_CHECK(p.body_total == r->body_len);
        FUZZ_CHECK(r->body_len <= max_body);
        if (rc == HTTP_PARSE_OK) {
            FUZZ_CHECK(p.body_state == HTTP_BODY_DONE);
            if (!req.chunked)
                FUZZ_CHECK(r->body_len == (req.content_length > 0 ?
                    (size_t)req.content_length : 0));
            fuzz_check_response(&req, &t->bodies, start);
            /* Done stays done: a complete body takes no more bytes. */
            FUZZ_CHECK(http_parse_body(&p, buf + boff, avail - boff, &consumed,
                NULL) == HTTP_PARSE_OK && consumed == 0);
        } else if (rc != HTTP_PARSE_AGAIN) {
            FUZZ_CHECK(rc == 400 || rc == 413);
            FUZZ_CHECK(p.error != NULL);
        }
        if (rc != HTTP_PARSE_OK)
            break;
        off = boff;
    }
    ASAN_UNPOISON_MEMORY_REGION(buf, f->size);
}

static void
fuzz_compare(const struct fuzz_trace *a, const struct fuzz_trace *b)
{
    size_t i;

    FUZZ_CHECK(a->n == b->n);
    for (i = 0; i < a->n; i++) {
        const struct fuzz_req *x = &a->r[i], *y = &b->r[i];

        FUZZ_CHECK(x->head_rc == y->head_rc);
        FUZZ_CHECK(x->head_len == y->head_len);
        FUZZ_CHECK(x->method == y->method && x->version == y->version);
        FUZZ_CHECK(x->chunked == y->chunked && x->keep_alive == y->keep_alive);
        FUZZ_CHECK(x->expect_continue == y->expect_continue);
        FUZZ_CHECK(x->content_length == y->content_length);
        FUZZ_CHECK(x->nheaders == y->nheaders);
        FUZZ_CHECK(x->body_rc == y->body_rc);
        FUZZ_CHECK(x->body_len == y->body_len);
        FUZZ_CHECK(x->used == y->used);
    }
    FUZZ_CHECK(a->bodies.len == b->bodies.len);
    FUZZ_CHECK(a->bodies.len == 0 ||
        memcmp(a->bodies.data, b->bodies.data, a->bodies.len) == 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct fuzz_trace whole, pieces;
    struct fuzz_feed         all, feed;
    size_t                   max_body;
    char                    *buf;
    uint8_t                  ctl;

    if (size == 0)
        return 0;
    ctl = data[0];
    data++;
    size--;
    max_body = (ctl & 0x40) ? 32 : 65536;

    /* Exactly size bytes: a read past them is a heap overflow. */
    if ((buf = malloc(size > 0 ? size : 1)) == NULL)
        return 0;
    if (size > 0)
        memcpy(buf, data, size);

    memset(&all, 0, sizeof(all));
    all.size = size;
    all.split = size;
    memset(&feed, 0, sizeof(feed));
    feed.size = size;
    if (ctl & 0x80)
        feed.split = size * (ctl & 0x3f) / 0x3f;
    else
        feed.step = (size_t)(ctl & 0x3f) + 1;

    fuzz_run(buf, &all, max_body, &whole);
    fuzz_run(buf, &feed, max_body, &pieces);
    fuzz_compare(&whole, &pieces);

    free(buf);
    return 0;
}
