/* SPDX-License-Identifier: MIT */
/*
 * http.c - HTTP/1.x request parser and response writer (RFC 9112); see http.h.
 *
 * Head: an incremental scan looks for the empty line that ends the head.
 * Its place is kept in the parser (scan, line_start, rl_end), so feeding a
 * growing buffer one byte at a time costs O(n) in total.  What must be
 * reported before the head is complete is checked during the scan: a bare
 * CR (400), an over-long request line (414), an over-large header section
 * (431); the request line is validated as soon as it ends, so a bad method,
 * target or version fails without waiting for the fields.  When the empty
 * line arrives the fields are split and checked in one pass.
 *
 * Body: a byte-level state machine kept in struct http_parser, so input may
 * be split anywhere.  It consumes exactly the body's bytes and leaves what
 * follows (a pipelined request) alone.
 *
 * Statuses chosen where the RFC leaves room:
 *   - Content-Length beyond int64: 413 (syntactically valid, just too big).
 *   - Transfer-Encoding naming any coding but chunked: 501; "chunked" more
 *     than once or an empty list: 400; with Content-Length or in 1.0: 400.
 *   - Trailer section over HTTP_MAX_TRAILER_BYTES (counting every byte after
 *     the last-chunk line, line ends included): 400, like other framing
 *     errors in the body, since the head has already been answered for.
 *   - Expectation other than 100-continue: 417, in 1.0 as well.
 *   - More than HTTP_MAX_LEADING_EMPTY empty lines before the request: 400.
 * Order of checks after a complete head: field syntax (400), Host (400),
 * framing (400), transfer coding (501), size (413), expectation (417).
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "encoding.h"
#include "http.h"

/* Empty lines tolerated before the request line (RFC 9112 section 2.2). */
#define HTTP_MAX_LEADING_EMPTY 4

/* A Content-Length that does not fit in int64_t saturates to this. */
#define HTTP_CL_HUGE ((uint64_t)INT64_MAX + 1)

/* Where a chunk-size line is, kept in p->in_ext. */
enum {
    HTTP_CHUNK_DIGITS = 0,  /* reading the hex size */
    HTTP_CHUNK_BWS,         /* whitespace after the size */
    HTTP_CHUNK_EXT,         /* inside extensions, up to the line end */
};

struct http_fields {
    int      hosts;
    int      cl_seen;
    uint64_t cl;
    int      te_seen;
    int      te_chunked;    /* "chunked" elements */
    int      te_other;      /* any other coding */
    int      conn_close;
    int      conn_keep_alive;
    int      expect_continue;
    int      expect_bad;
};

static int  http_fail(struct http_parser *p, int status, const char *why);
static int  http_is_tchar(unsigned char c);
static int  http_is_ows(unsigned char c);
static void http_trim_ows(const char **s, size_t *len);
static int  http_eq_nocase(const char *s, size_t len, const char *lit);
static enum http_method http_method_lookup(const char *s, size_t len);
static int  http_parse_request_line(struct http_parser *p, const char *line,
                size_t len, struct http_request *req);
static int  http_parse_target(struct http_parser *p, struct http_request *req);
static int  http_parse_fields(struct http_parser *p, const char *buf,
                size_t end, struct http_request *req);
static int  http_parse_field_line(struct http_parser *p, const char *line,
                size_t len, struct http_header *h);
static int  http_note_field(struct http_parser *p, const struct http_header *h,
                struct http_fields *f);
static int  http_apply_fields(struct http_parser *p, struct http_request *req);
static int  http_parse_content_length(const char *v, size_t len, uint64_t *out);
static void http_note_coding(const char *v, size_t len, struct http_fields *f);
static int  http_body_append(struct http_parser *p, struct buf *body,
                const char *in, size_t n);
static void http_chunk_line_reset(struct http_parser *p);
static int  http_chunk_byte(struct http_parser *p, unsigned char c);
static int  http_chunk_size_byte(struct http_parser *p, unsigned char c);
static int  http_trailer_byte(struct http_parser *p, unsigned char c);

void
http_parser_init(struct http_parser *p, size_t max_body)
{
    memset(p, 0, sizeof(*p));
    p->max_body = max_body;
}

static int
http_fail(struct http_parser *p, int status, const char *why)
{
    p->error = why;
    return status;
}

/* tchar from RFC 9110 section 5.6.2. */
static int
http_is_tchar(unsigned char c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
        (c >= '0' && c <= '9'))
        return 1;
    return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static int
http_is_ows(unsigned char c)
{
    return c == ' ' || c == '\t';
}

static void
http_trim_ows(const char **s, size_t *len)
{
    while (*len > 0 && http_is_ows((unsigned char)(*s)[0])) {
        (*s)++;
        (*len)--;
    }
    while (*len > 0 && http_is_ows((unsigned char)(*s)[*len - 1]))
        (*len)--;
}

static int
http_eq_nocase(const char *s, size_t len, const char *lit)
{
    return strlen(lit) == len && strncasecmp(s, lit, len) == 0;
}

int
http_parse_head(struct http_parser *p, const char *buf, size_t len,
    struct http_request *req)
{
    size_t  i, content;
    int     rc;

    for (i = p->scan; i < len; i++) {
        unsigned char c = (unsigned char)buf[i];

        /* Counting every byte, so the limit holds whatever the line ends. */
        if (p->rl_end != 0 && i + 1 - p->rl_end > HTTP_MAX_HEADER_BYTES)
            return http_fail(p, 431, "header section too large");
        if (c == '\r') {
            if (i + 1 == len)
                break;          /* decided when the next byte comes */
            if (buf[i + 1] != '\n')
                return http_fail(p, 400, "bare CR in head");
            continue;
        }
        if (c != '\n') {
            /* Byte HTTP_MAX_REQUEST_LINE of the line is one too many. */
            if (p->rl_end == 0 && i - p->line_start >= HTTP_MAX_REQUEST_LINE)
                return http_fail(p, 414, "request line too long");
            continue;
        }
        content = i - p->line_start;
        if (content > 0 && buf[i - 1] == '\r')
            content--;
        if (p->rl_end == 0) {
            if (content == 0) {
                if (++p->empty_lines > HTTP_MAX_LEADING_EMPTY)
                    return http_fail(p, 400, "too many empty lines before request");
            } else {
                rc = http_parse_request_line(p, buf + p->line_start, content, req);
                if (rc != HTTP_PARSE_OK)
                    return rc;
                p->rl_end = i + 1;
            }
        } else if (content == 0) {
            p->scan = i + 1;
            return http_parse_fields(p, buf, i + 1, req);
        }
        p->line_start = i + 1;
    }
    p->scan = i;
    return HTTP_PARSE_AGAIN;
}

static enum http_method
http_method_lookup(const char *s, size_t len)
{
    static const struct {
        const char      *name;
        enum http_method method;
    } methods[] = {
        { "GET", HTTP_METHOD_GET },
        { "HEAD", HTTP_METHOD_HEAD },
        { "POST", HTTP_METHOD_POST },
        { "PUT", HTTP_METHOD_PUT },
        { "DELETE", HTTP_METHOD_DELETE },
        { "PATCH", HTTP_METHOD_PATCH },
        { "OPTIONS", HTTP_METHOD_OPTIONS },
    };
    size_t i;

    /* Methods are case-sensitive (RFC 9110 section 9.1). */
    for (i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
        if (strlen(methods[i].name) == len && memcmp(methods[i].name, s, len) == 0)
            return methods[i].method;
    return HTTP_METHOD_UNKNOWN;
}

/* line[0..len) without its line end; fills the request-line fields of req. */
static int
http_parse_request_line(struct http_parser *p, const char *line, size_t len,
    struct http_request *req)
{
    const char *v;
    size_t      i, t;
    int         rc;

    req->method = HTTP_METHOD_UNKNOWN;
    req->method_str = NULL;
    req->method_len = 0;
    req->target = NULL;
    req->target_len = 0;
    req->path = NULL;
    req->path_len = 0;
    req->query = NULL;
    req->query_len = 0;
    req->version = 0;

    for (i = 0; i < len && http_is_tchar((unsigned char)line[i]); i++)
        ;
    if (i == 0 || i == len || line[i] != ' ')
        return http_fail(p, 400, "invalid method");
    req->method_str = line;
    req->method_len = i;
    req->method = http_method_lookup(line, i);

    t = ++i;
    while (i < len && line[i] != ' ')
        i++;
    if (i == len)
        return http_fail(p, 400, "missing HTTP version");
    req->target = line + t;
    req->target_len = i - t;
    if ((rc = http_parse_target(p, req)) != HTTP_PARSE_OK)
        return rc;

    /* Exactly "HTTP/" DIGIT "." DIGIT, case-sensitive (RFC 9112 2.3). */
    v = line + i + 1;
    if (len - i - 1 != 8 || memcmp(v, "HTTP/", 5) != 0 ||
        v[5] < '0' || v[5] > '9' || v[6] != '.' || v[7] < '0' || v[7] > '9')
        return http_fail(p, 400, "malformed HTTP version");
    if (v[5] != '1' || (v[7] != '0' && v[7] != '1'))
        return http_fail(p, 505, "HTTP version not supported");
    req->version = v[7] == '1' ? 11 : 10;

    if (req->method == HTTP_METHOD_UNKNOWN)
        return http_fail(p, 501, "method not implemented");
    return HTTP_PARSE_OK;
}

/* Origin-form or absolute-form (http/https); sets path and query. */
static int
http_parse_target(struct http_parser *p, struct http_request *req)
{
    const char *t = req->target, *end = t + req->target_len;
    const char *start, *q, *pend;
    size_t      i, skip;

    for (i = 0; i < req->target_len; i++)
        if ((unsigned char)t[i] < 0x21 || (unsigned char)t[i] > 0x7e)
            return http_fail(p, 400, "invalid character in request target");

    /* The asterisk form is OPTIONS's alone (RFC 9112, 3.2.4). */
    if (req->target_len == 1 && t[0] == '*') {
        if (req->method != HTTP_METHOD_OPTIONS)
            return http_fail(p, 400, "\"*\" is a target for OPTIONS only");
        req->path = t;
        req->path_len = 1;
        return HTTP_PARSE_OK;
    }
    if (req->target_len > 0 && t[0] == '/') {
        start = t;
    } else {
        if (req->target_len >= 7 && strncasecmp(t, "http://", 7) == 0)
            skip = 7;
        else if (req->target_len >= 8 && strncasecmp(t, "https://", 8) == 0)
            skip = 8;
        else
            return http_fail(p, 400, "invalid request target");
        for (start = t + skip; start < end && *start != '/' && *start != '?'; start++)
            ;
        if (start == t + skip)
            return http_fail(p, 400, "empty authority in request target");
    }
    q = memchr(start, '?', (size_t)(end - start));
    pend = q != NULL ? q : end;
    if (pend == start) {
        /* "http://host" and "http://host?q" mean the root (RFC 9112 3.2.2). */
        req->path = "/";
        req->path_len = 1;
    } else {
        req->path = start;
        req->path_len = (size_t)(pend - start);
    }
    if (q != NULL) {
        req->query = q + 1;
        req->query_len = (size_t)(end - q - 1);
    }
    return HTTP_PARSE_OK;
}

/* The head is buf[0..end), its last line the empty one. */
static int
http_parse_fields(struct http_parser *p, const char *buf, size_t end,
    struct http_request *req)
{
    const char *eol;
    size_t      rs, rl_len, pos, llen;
    int         rc;

    /* Redone here because req may not be the struct seen when the line ended. */
    for (rs = 0; buf[rs] == '\r' || buf[rs] == '\n'; rs++)
        ;
    rl_len = p->rl_end - 1 - rs;
    if (rl_len > 0 && buf[rs + rl_len - 1] == '\r')
        rl_len--;
    if ((rc = http_parse_request_line(p, buf + rs, rl_len, req)) != HTTP_PARSE_OK)
        return rc;

    req->nheaders = 0;
    req->head_len = end;
    for (pos = p->rl_end; pos < end; pos = (size_t)(eol - buf) + 1) {
        eol = memchr(buf + pos, '\n', end - pos);
        llen = (size_t)(eol - (buf + pos));
        if (llen > 0 && eol[-1] == '\r')
            llen--;
        if (llen == 0)
            break;
        if (req->nheaders == HTTP_MAX_FIELDS)
            return http_fail(p, 431, "too many header fields");
        rc = http_parse_field_line(p, buf + pos, llen, &req->headers[req->nheaders]);
        if (rc != HTTP_PARSE_OK)
            return rc;
        req->nheaders++;
    }
    return http_apply_fields(p, req);
}

/* field-line = field-name ":" OWS field-value OWS (RFC 9112 section 5). */
static int
http_parse_field_line(struct http_parser *p, const char *line, size_t len,
    struct http_header *h)
{
    const char *v;
    size_t      n, vlen, i;

    if (http_is_ows((unsigned char)line[0]))
        return http_fail(p, 400, "obsolete line folding");
    for (n = 0; n < len && http_is_tchar((unsigned char)line[n]); n++)
        ;
    if (n == len)
        return http_fail(p, 400, "field without colon");
    if (line[n] != ':') {
        if (http_is_ows((unsigned char)line[n]))
            return http_fail(p, 400, "whitespace before colon");
        return http_fail(p, 400, "invalid character in field name");
    }
    if (n == 0)
        return http_fail(p, 400, "empty field name");

    v = line + n + 1;
    vlen = len - n - 1;
    for (i = 0; i < vlen; i++) {
        unsigned char c = (unsigned char)v[i];

        /* VCHAR, obs-text, SP and HTAB; no other control. */
        if ((c < 0x20 && c != '\t') || c == 0x7f)
            return http_fail(p, 400, "invalid character in field value");
    }
    http_trim_ows(&v, &vlen);
    h->name = line;
    h->name_len = n;
    h->value = v;
    h->value_len = vlen;
    return HTTP_PARSE_OK;
}

/* Collects what one field says about framing and connection handling. */
static int
http_note_field(struct http_parser *p, const struct http_header *h,
    struct http_fields *f)
{
    uint64_t cl;

    if (http_eq_nocase(h->name, h->name_len, "Host")) {
        f->hosts++;
    } else if (http_eq_nocase(h->name, h->name_len, "Content-Length")) {
        if (http_parse_content_length(h->value, h->value_len, &cl) == -1)
            return http_fail(p, 400, "invalid Content-Length");
        if (f->cl_seen && cl != f->cl)
            return http_fail(p, 400, "conflicting Content-Length");
        f->cl = cl;
        f->cl_seen = 1;
    } else if (http_eq_nocase(h->name, h->name_len, "Transfer-Encoding")) {
        f->te_seen = 1;
        http_note_coding(h->value, h->value_len, f);
    } else if (http_eq_nocase(h->name, h->name_len, "Connection")) {
        if (http_list_has_token(h->value, h->value_len, "close"))
            f->conn_close = 1;
        if (http_list_has_token(h->value, h->value_len, "keep-alive"))
            f->conn_keep_alive = 1;
    } else if (http_eq_nocase(h->name, h->name_len, "Expect")) {
        if (http_eq_nocase(h->value, h->value_len, "100-continue"))
            f->expect_continue = 1;
        else
            f->expect_bad = 1;
    }
    return HTTP_PARSE_OK;
}

static int
http_apply_fields(struct http_parser *p, struct http_request *req)
{
    struct http_fields f;
    size_t             i;
    int                rc;

    memset(&f, 0, sizeof(f));
    for (i = 0; i < req->nheaders; i++)
        if ((rc = http_note_field(p, &req->headers[i], &f)) != HTTP_PARSE_OK)
            return rc;

    /* Derived fields first, so the caller can log them on an error too. */
    if (req->version == 11)
        req->keep_alive = !f.conn_close;
    else
        req->keep_alive = f.conn_keep_alive && !f.conn_close;
    /* A 1.0 client may not understand 100 (RFC 9110 10.1.1). */
    req->expect_continue = f.expect_continue && req->version == 11;
    req->chunked = f.te_seen && !f.te_other && f.te_chunked == 1;
    req->content_length = f.cl_seen && f.cl < HTTP_CL_HUGE ? (int64_t)f.cl : -1;

    if (req->version == 11 && f.hosts == 0)
        return http_fail(p, 400, "missing Host");
    if (f.hosts > 1)
        return http_fail(p, 400, "more than one Host");
    /* Both framings at once is how requests get smuggled (RFC 9112 6.3). */
    if (f.te_seen && f.cl_seen)
        return http_fail(p, 400, "both Content-Length and Transfer-Encoding");
    if (f.te_seen && req->version == 10)
        return http_fail(p, 400, "Transfer-Encoding in HTTP/1.0");
    if (f.te_seen && f.te_other)
        return http_fail(p, 501, "transfer coding not implemented");
    if (f.te_seen && f.te_chunked != 1)
        return http_fail(p, 400, "invalid Transfer-Encoding");
    if (f.cl_seen && f.cl >= HTTP_CL_HUGE)
        return http_fail(p, 413, "Content-Length too large");
    if (f.cl_seen && f.cl > p->max_body)
        return http_fail(p, 413, "body too large");
    if (f.expect_bad)
        return http_fail(p, 417, "unsupported expectation");

    p->body_total = 0;
    if (req->chunked) {
        p->body_state = HTTP_BODY_CHUNK_SIZE;
        http_chunk_line_reset(p);
    } else if (req->content_length > 0) {
        p->body_state = HTTP_BODY_LENGTH;
        p->remaining = (uint64_t)req->content_length;
    } else {
        p->body_state = HTTP_BODY_DONE;
    }
    return HTTP_PARSE_OK;
}

/*
 * 1*DIGIT, or a list of identical ones ("5, 5", RFC 9110 8.6).  Values past
 * INT64_MAX saturate to HTTP_CL_HUGE.  -1 on bad syntax or differing values.
 */
static int
http_parse_content_length(const char *v, size_t len, uint64_t *out)
{
    const char *e;
    size_t      i = 0, start, n, k;
    uint64_t    val, first = 0;
    int         have = 0;

    for (;;) {
        start = i;
        while (i < len && v[i] != ',')
            i++;
        e = v + start;
        n = i - start;
        http_trim_ows(&e, &n);
        if (n == 0)
            return -1;
        val = 0;
        for (k = 0; k < n; k++) {
            unsigned d = (unsigned char)e[k] - '0';

            if (d > 9)
                return -1;
            if (val > ((uint64_t)INT64_MAX - d) / 10)
                val = HTTP_CL_HUGE;
            else
                val = val * 10 + d;
        }
        if (have && val != first)
            return -1;
        first = val;
        have = 1;
        if (i == len)
            break;
        i++;
    }
    *out = first;
    return 0;
}

/* Counts the codings of one Transfer-Encoding value; empty elements skipped. */
static void
http_note_coding(const char *v, size_t len, struct http_fields *f)
{
    const char *e;
    size_t      pos = 0, n;

    while (http_list_next(v, len, &pos, &e, &n)) {
        if (n == 0)
            continue;
        if (http_eq_nocase(e, n, "chunked"))
            f->te_chunked++;
        else
            f->te_other = 1;
    }
}

const struct http_header *
http_request_header(const struct http_request *req, const char *name)
{
    size_t i;

    for (i = 0; i < req->nheaders; i++)
        if (http_eq_nocase(req->headers[i].name, req->headers[i].name_len, name))
            return &req->headers[i];
    return NULL;
}

int
http_list_next(const char *v, size_t len, size_t *pos, const char **e,
    size_t *n)
{
    size_t start = *pos, i = start;

    if (start > len)
        return 0;
    while (i < len && v[i] != ',')
        i++;
    *e = v + start;
    *n = i - start;
    http_trim_ows(e, n);
    *pos = i + 1;
    return 1;
}

int
http_list_has_token(const char *value, size_t len, const char *token)
{
    const char *e;
    size_t      pos = 0, n;

    while (http_list_next(value, len, &pos, &e, &n))
        if (http_eq_nocase(e, n, token))
            return 1;
    return 0;
}

static int
http_body_append(struct http_parser *p, struct buf *body, const char *in,
    size_t n)
{
    if (body != NULL && buf_append(body, in, n) == -1)
        return http_fail(p, 500, "out of memory");
    p->body_total += n;
    return HTTP_PARSE_OK;
}

int
http_parse_body(struct http_parser *p, const char *in, size_t len,
    size_t *consumed, struct buf *body)
{
    size_t  i = 0, n;
    int     rc = HTTP_PARSE_AGAIN;

    *consumed = 0;
    switch (p->body_state) {
    case HTTP_BODY_NONE:
    case HTTP_BODY_DONE:
        return HTTP_PARSE_OK;
    case HTTP_BODY_LENGTH:
        n = p->remaining < len ? (size_t)p->remaining : len;
        if ((rc = http_body_append(p, body, in, n)) != HTTP_PARSE_OK)
            return rc;
        *consumed = n;
        p->remaining -= n;
        if (p->remaining > 0)
            return HTTP_PARSE_AGAIN;
        p->body_state = HTTP_BODY_DONE;
        return HTTP_PARSE_OK;
    default:
        break;
    }

    while (i < len) {
        if (p->body_state == HTTP_BODY_CHUNK_DATA) {
            n = p->remaining < len - i ? (size_t)p->remaining : len - i;
            if ((rc = http_body_append(p, body, in + i, n)) != HTTP_PARSE_OK)
                break;
            rc = HTTP_PARSE_AGAIN;
            i += n;
            p->remaining -= n;
            if (p->remaining == 0) {
                p->body_state = HTTP_BODY_CHUNK_DATA_CRLF;
                p->saw_cr = 0;
            }
            continue;
        }
        rc = http_chunk_byte(p, (unsigned char)in[i++]);
        if (rc != HTTP_PARSE_AGAIN)
            break;
    }
    *consumed = i;
    return rc;
}

static void
http_chunk_line_reset(struct http_parser *p)
{
    p->line_len = 0;
    p->chunk_size = 0;
    p->chunk_digits = 0;
    p->in_ext = HTTP_CHUNK_DIGITS;
    p->saw_cr = 0;
}

static int
http_chunk_byte(struct http_parser *p, unsigned char c)
{
    switch (p->body_state) {
    case HTTP_BODY_CHUNK_SIZE:
        return http_chunk_size_byte(p, c);
    case HTTP_BODY_CHUNK_DATA_CRLF:
        if (c == '\r' && !p->saw_cr) {
            p->saw_cr = 1;
            return HTTP_PARSE_AGAIN;
        }
        if (c != '\n')
            return http_fail(p, 400, "chunk data not followed by CRLF");
        p->body_state = HTTP_BODY_CHUNK_SIZE;
        http_chunk_line_reset(p);
        return HTTP_PARSE_AGAIN;
    case HTTP_BODY_TRAILER:
        return http_trailer_byte(p, c);
    default:
        return http_fail(p, 500, "body decoder in a bad state");
    }
}


/* chunk-size [ BWS ";" ext ] CRLF, a byte at a time. */
static int
http_chunk_size_byte(struct http_parser *p, unsigned char c)
{
    int d;

    if (p->saw_cr && c != '\n')
        return http_fail(p, 400, "bare CR in chunk size line");
    if (c == '\r') {
        p->saw_cr = 1;
        return HTTP_PARSE_AGAIN;
    }
    if (c == '\n') {
        if (p->chunk_digits == 0)
            return http_fail(p, 400, "missing chunk size");
        if (p->chunk_size == 0) {
            p->body_state = HTTP_BODY_TRAILER;
            p->line_len = 0;
            p->trailer_len = 0;
            p->saw_cr = 0;
            return HTTP_PARSE_AGAIN;
        }
        /* Refused before any of its data is read; body_total <= max_body. */
        if (p->chunk_size > (uint64_t)p->max_body - p->body_total)
            return http_fail(p, 413, "body too large");
        p->remaining = p->chunk_size;
        p->body_state = HTTP_BODY_CHUNK_DATA;
        return HTTP_PARSE_AGAIN;
    }
    if (++p->line_len > HTTP_MAX_CHUNK_LINE)
        return http_fail(p, 400, "chunk size line too long");

    switch (p->in_ext) {
    case HTTP_CHUNK_DIGITS:
        if ((d = encoding_hex_digit(c)) >= 0) {
            /* 16 hex digits fill 64 bits, so this also stops overflow. */
            if (++p->chunk_digits > 16)
                return http_fail(p, 400, "chunk size too large");
            p->chunk_size = (p->chunk_size << 4) | (uint64_t)d;
            return HTTP_PARSE_AGAIN;
        }
        if (p->chunk_digits == 0)
            return http_fail(p, 400, "invalid chunk size");
        /* FALLTHROUGH */
    case HTTP_CHUNK_BWS:
        if (http_is_ows(c)) {
            p->in_ext = HTTP_CHUNK_BWS;
            return HTTP_PARSE_AGAIN;
        }
        if (c != ';')
            return http_fail(p, 400, "invalid chunk size");
        p->in_ext = HTTP_CHUNK_EXT;
        return HTTP_PARSE_AGAIN;
    default:
        /* Extensions are ignored, but no control characters in them. */
        if ((c < 0x20 && c != '\t') || c == 0x7f)
            return http_fail(p, 400, "invalid character in chunk extension");
        return HTTP_PARSE_AGAIN;
    }
}

/* *(trailer-field CRLF) CRLF, checked loosely and thrown away. */
static int
http_trailer_byte(struct http_parser *p, unsigned char c)
{
    if (p->saw_cr && c != '\n')
        return http_fail(p, 400, "bare CR in trailer");
    if (++p->trailer_len > HTTP_MAX_TRAILER_BYTES)
        return http_fail(p, 400, "trailer section too large");
    if (c == '\r') {
        p->saw_cr = 1;
        return HTTP_PARSE_AGAIN;
    }
    if (c == '\n') {
        if (p->line_len == 0) {
            p->body_state = HTTP_BODY_DONE;
            return HTTP_PARSE_OK;
        }
        p->line_len = 0;
        p->saw_cr = 0;
        return HTTP_PARSE_AGAIN;
    }
    if ((c < 0x20 && c != '\t') || c == 0x7f)
        return http_fail(p, 400, "invalid character in trailer");
    p->line_len++;
    return HTTP_PARSE_AGAIN;
}

const char *
http_method_name(enum http_method m)
{
    switch (m) {
    case HTTP_METHOD_GET:       return "GET";
    case HTTP_METHOD_HEAD:      return "HEAD";
    case HTTP_METHOD_POST:      return "POST";
    case HTTP_METHOD_PUT:       return "PUT";
    case HTTP_METHOD_DELETE:    return "DELETE";
    case HTTP_METHOD_PATCH:     return "PATCH";
    case HTTP_METHOD_OPTIONS:   return "OPTIONS";
    case HTTP_METHOD_UNKNOWN:   break;
    }
    return "UNKNOWN";
}

const char *
http_status_reason(int status)
{
    switch (status) {
    case 100: return "Continue";
    case 101: return "Switching Protocols";
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 303: return "See Other";
    case 304: return "Not Modified";
    case 307: return "Temporary Redirect";
    case 308: return "Permanent Redirect";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 406: return "Not Acceptable";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 410: return "Gone";
    case 411: return "Length Required";
    case 412: return "Precondition Failed";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 415: return "Unsupported Media Type";
    case 417: return "Expectation Failed";
    case 422: return "Unprocessable Content";
    case 428: return "Precondition Required";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    case 505: return "HTTP Version Not Supported";
    case 507: return "Insufficient Storage";
    default:  return "Unknown";
    }
}

/* Own name tables: strftime would follow the locale. */
void
http_format_date(time_t t, char out[HTTP_DATE_LEN + 1])
{
    static const char *const days[7] = {
        "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat",
    };
    static const char *const months[12] = {
        "Jan", "Feb", "Mar", "Apr", "May", "Jun",
        "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    };
    static const char epoch[] = "Thu, 01 Jan 1970 00:00:00 GMT";
    struct tm tm;
    int       n;

    /* Only four-digit years fit the fixed length; anything else is a bug. */
    if (gmtime_r(&t, &tm) == NULL || tm.tm_year < 0 - 1900 ||
        tm.tm_year > 9999 - 1900) {
        memcpy(out, epoch, sizeof(epoch));
        return;
    }
    n = snprintf(out, HTTP_DATE_LEN + 1, "%s, %02d %s %04d %02d:%02d:%02d GMT",
        days[tm.tm_wday % 7], tm.tm_mday % 100, months[tm.tm_mon % 12],
        tm.tm_year + 1900, tm.tm_hour % 100, tm.tm_min % 100, tm.tm_sec % 100);
    if (n != HTTP_DATE_LEN)
        memcpy(out, epoch, sizeof(epoch));
}

int
http_response_write(struct buf *out, const struct http_response *r)
{
    char        now[HTTP_DATE_LEN + 1];
    const char *date = r->date;
    size_t      start = out->len;
    int         no_length, no_body;

    /* 1xx and 204 never carry a body nor its length (RFC 9110 8.6). */
    no_length = (r->status >= 100 && r->status < 200) || r->status == 204;
    no_body = no_length || r->status == 304 || r->head_only;
    if (date == NULL) {
        http_format_date(time(NULL), now);
        date = now;
    }

    /* Plain appends, no printf: this runs for every answer. */
    if (buf_append_str(out, "HTTP/1.1 ") == -1 ||
        buf_append_u64(out, (uint64_t)r->status) == -1 ||
        buf_append(out, " ", 1) == -1 ||
        buf_append_str(out, http_status_reason(r->status)) == -1 ||
        buf_append_str(out, "\r\nDate: ") == -1 ||
        buf_append_str(out, date) == -1 ||
        buf_append(out, "\r\n", 2) == -1)
        goto fail;
    if (r->server != NULL && (buf_append_str(out, "Server: ") == -1 ||
        buf_append_str(out, r->server) == -1 || buf_append(out, "\r\n", 2) == -1))
        goto fail;
    if (r->request_id != NULL && (buf_append_str(out, "X-Request-Id: ") == -1 ||
        buf_append_str(out, r->request_id) == -1 || buf_append(out, "\r\n", 2) == -1))
        goto fail;
    if (r->content_type != NULL && (buf_append_str(out, "Content-Type: ") == -1 ||
        buf_append_str(out, r->content_type) == -1 ||
        buf_append(out, "\r\n", 2) == -1))
        goto fail;
    if (!no_length && (buf_append_str(out, "Content-Length: ") == -1 ||
        buf_append_u64(out, (uint64_t)r->body_len) == -1 ||
        buf_append(out, "\r\n", 2) == -1))
        goto fail;
    if (!r->keep_alive) {
        if (buf_append_str(out, "Connection: close\r\n") == -1)
            goto fail;
    } else if (r->version == 10) {
        /* A 1.0 client closes unless told the connection stays. */
        if (buf_append_str(out, "Connection: keep-alive\r\n") == -1)
            goto fail;
    }
    if (r->extra != NULL && buf_append(out, r->extra, r->extra_len) == -1)
        goto fail;
    if (buf_append(out, "\r\n", 2) == -1)
        goto fail;
    if (!no_body && r->body != NULL && buf_append(out, r->body, r->body_len) == -1)
        goto fail;
    return 0;

fail:
    out->len = start;
    return -1;
}
