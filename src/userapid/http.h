/* SPDX-License-Identifier: MIT */
/*
 * http.h - HTTP/1.x request parser and response writer (RFC 9112).
 *
 * Pure code over caller-owned buffers: no I/O, no allocation except into a
 * struct buf the caller passes.  The worker feeds it whatever bytes it has;
 * the parser answers "need more", "done" or an HTTP status to answer with.
 *
 * The head is parsed in place: every pointer in struct http_request points
 * into the buffer given to http_parse_head(), which must stay unchanged
 * until the request has been answered.
 */
#ifndef USERAPID_HTTP_H
#define USERAPID_HTTP_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "buf.h"

#define HTTP_MAX_REQUEST_LINE  8192    /* longer: 414 */
#define HTTP_MAX_HEADER_BYTES  16384   /* header section longer: 431 */
#define HTTP_MAX_FIELDS        100     /* more fields: 431 */
#define HTTP_MAX_CHUNK_LINE    4096    /* chunk-size line incl. extensions */
#define HTTP_MAX_TRAILER_BYTES 16384
/* A head always fits in this many bytes, or the parser has failed it. */
#define HTTP_MAX_HEAD (HTTP_MAX_REQUEST_LINE + HTTP_MAX_HEADER_BYTES + 64)

#define HTTP_DATE_LEN 29               /* "Sun, 06 Nov 1994 08:49:37 GMT" */

/* Return values of the parse functions; anything > 0 is an HTTP status. */
#define HTTP_PARSE_OK     0
#define HTTP_PARSE_AGAIN  (-1)

enum http_method {
    HTTP_METHOD_UNKNOWN = 0,   /* a valid token we do not implement: 501 */
    HTTP_METHOD_GET,
    HTTP_METHOD_HEAD,
    HTTP_METHOD_POST,
    HTTP_METHOD_PUT,
    HTTP_METHOD_DELETE,
    HTTP_METHOD_PATCH,
    HTTP_METHOD_OPTIONS,
};
#define HTTP_METHOD_MAX HTTP_METHOD_OPTIONS

struct http_header {
    const char *name;
    size_t      name_len;
    const char *value;          /* leading and trailing OWS removed */
    size_t      value_len;
};

struct http_request {
    enum http_method    method;
    const char         *method_str;
    size_t              method_len;
    const char         *target;         /* request-target as sent */
    size_t              target_len;
    const char         *path;           /* absolute path, no query */
    size_t              path_len;
    const char         *query;          /* after '?', or NULL */
    size_t              query_len;
    int                 version;        /* 10 or 11 */
    struct http_header  headers[HTTP_MAX_FIELDS];
    size_t              nheaders;
    size_t              head_len;       /* bytes of the head, incl. the empty line */

    /* Derived from the headers. */
    int                 keep_alive;     /* 1.1 default on, 1.0 default off */
    int                 expect_continue;
    int                 chunked;
    int64_t             content_length; /* -1 when absent */
};

enum http_body_state {
    HTTP_BODY_NONE = 0,
    HTTP_BODY_LENGTH,
    HTTP_BODY_CHUNK_SIZE,
    HTTP_BODY_CHUNK_DATA,
    HTTP_BODY_CHUNK_DATA_CRLF,
    HTTP_BODY_TRAILER,
    HTTP_BODY_DONE,
};

struct http_parser {
    size_t               max_body;      /* larger bodies: 413 */
    size_t               scan;          /* bytes already searched for the head end */
    const char          *error;         /* human-readable reason of the last error */
    /* Body decoding state. */
    enum http_body_state body_state;
    uint64_t             remaining;     /* of the Content-Length or current chunk */
    uint64_t             body_total;    /* decoded bytes so far */
    size_t               line_len;      /* chunk-size / trailer line bytes so far */
    size_t               trailer_len;   /* trailer section bytes so far */
    uint64_t             chunk_size;    /* being parsed */
    int                  chunk_digits;
    int                  in_ext;        /* inside a chunk extension */
    int                  saw_cr;
    /* Head scanning state, private to http.c. */
    size_t               line_start;    /* offset of the line being scanned */
    size_t               rl_end;        /* offset after the request line, 0 until seen */
    int                  empty_lines;   /* skipped before the request line */
};

/* Prepares a parser for a new request; keeps max_body. */
void        http_parser_init(struct http_parser *p, size_t max_body);

/*
 * Looks for a complete head in buf[0..len).  Returns HTTP_PARSE_AGAIN when
 * more bytes are needed, HTTP_PARSE_OK with *req filled (req->head_len says
 * how much of buf the head took), or an error status: 400, 413, 414, 417,
 * 431, 501 or 505, with p->error set.  Errors in the request line (400,
 * 414, 501, 505) are returned as soon as the line is complete; on 501 the
 * request-line fields of req are already set.  On HTTP_PARSE_OK the body decoder is
 * armed for what the head announced.  Calling it again with more bytes
 * appended to the same buffer continues the scan where it stopped.
 */
int         http_parse_head(struct http_parser *p, const char *buf, size_t len,
                struct http_request *req);

/*
 * Decodes body bytes from in[0..len), appending the decoded data to body
 * (or discarding it when body is NULL).
 * *consumed tells how many input bytes were used; the rest belongs to the
 * next request.  Returns HTTP_PARSE_OK when the body is complete,
 * HTTP_PARSE_AGAIN when more input is needed, or 400 (bad framing),
 * 413 (over max_body) or 500 (out of memory) with p->error set.
 */
int         http_parse_body(struct http_parser *p, const char *in, size_t len,
                size_t *consumed, struct buf *body);

/* Case-insensitive lookup of the first field with that name, or NULL. */
const struct http_header *
            http_request_header(const struct http_request *req, const char *name);

/*
 * The elements of a comma-separated field value (RFC 9110, 5.6.1), one per
 * call: from *pos (0 to start), the next element with OWS trimmed in *e and
 * *n (n may be 0: an empty element).  Returns 1, or 0 after the last one.
 */
int         http_list_next(const char *value, size_t len, size_t *pos,
                const char **e, size_t *n);

/* Whether a comma-separated field value lists token (case-insensitive). */
int         http_list_has_token(const char *value, size_t len, const char *token);

const char *http_method_name(enum http_method m);
const char *http_status_reason(int status);

/* Writes the IMF-fixdate of t into out (HTTP_DATE_LEN bytes plus a NUL). */
void        http_format_date(time_t t, char out[HTTP_DATE_LEN + 1]);

struct http_response {
    int          status;
    int          version;       /* of the request: 10 or 11 */
    int          keep_alive;    /* 0: "Connection: close"; 1 with 1.0: "keep-alive" */
    int          head_only;     /* answer to HEAD: headers as for GET, no body */
    const char  *date;          /* from http_format_date */
    const char  *server;        /* "userapid/VERSION" */
    const char  *request_id;
    const char  *content_type;  /* NULL: no Content-Type */
    const char  *extra;         /* preformatted "Name: value\r\n" lines, or NULL */
    size_t       extra_len;
    const char  *body;
    size_t       body_len;
};

/*
 * Appends a complete response to out: status line (always HTTP/1.1), Date,
 * Server, X-Request-Id, Content-Type (when set), Content-Length, Connection
 * (when closing), the extra lines, the empty line and the body (unless
 * head_only, or 1xx/204/304).  Returns -1 when out cannot grow.
 */
int         http_response_write(struct buf *out, const struct http_response *r);

#endif
