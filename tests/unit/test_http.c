/* SPDX-License-Identifier: MIT */
/*
 * test_http.c - unit tests for the HTTP/1.x parser and response writer.
 *
 * Every rule of src/http.c has a test here with the exact status it must
 * give and the fields it must set; limits are tested at the boundary and
 * one past it, and incremental parsing is tested by splitting input at
 * every byte.
 */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "http.h"

#define TEST_MAX_BODY ((size_t)1 << 20)

/* Asserts that the span (p, n) holds exactly the string lit. */
#define assert_span(p, n, lit) do {                                         \
        ck_assert_ptr_nonnull(p);                                           \
        ck_assert_uint_eq((n), strlen(lit));                                \
        ck_assert_mem_eq((p), (lit), strlen(lit));                          \
    } while (0)

/* Asserts that out holds exactly the string lit. */
#define assert_buf(b, lit) do {                                             \
        ck_assert_uint_eq((b)->len, strlen(lit));                           \
        ck_assert_mem_eq((b)->data, (lit), strlen(lit));                    \
    } while (0)

static struct http_parser  P;
static struct http_request R;

static int  parse_n(const char *s, size_t n, size_t max_body);
static int  parse(const char *s);
static int  parse_max(const char *s, size_t max_body);
static void add(struct buf *b, const char *s);
static void add_fill(struct buf *b, char c, size_t n);
static void make_request_line(struct buf *b, size_t len);
static void make_header_section(struct buf *b, size_t section);
static void assert_same_request(const struct http_request *a,
                const struct http_request *b);
static int  body_all(const char *s, size_t max_body, size_t *consumed,
                struct buf *out);
static int  body_head_then(const char *head, const char *body, size_t *consumed,
                struct buf *out);
static Suite *http_suite(void);

static int
parse_n(const char *s, size_t n, size_t max_body)
{
    http_parser_init(&P, max_body);
    memset(&R, 0, sizeof(R));
    return http_parse_head(&P, s, n, &R);
}

static int
parse(const char *s)
{
    return parse_n(s, strlen(s), TEST_MAX_BODY);
}

static int
parse_max(const char *s, size_t max_body)
{
    return parse_n(s, strlen(s), max_body);
}

static void
add(struct buf *b, const char *s)
{
    ck_assert_int_eq(buf_append_str(b, s), 0);
}

static void
add_fill(struct buf *b, char c, size_t n)
{
    ck_assert_int_eq(buf_reserve(b, n), 0);
    memset(b->data + b->len, c, n);
    b->len += n;
}

/* "GET /aaa...a HTTP/1.1" of exactly len bytes, no line end. */
static void
make_request_line(struct buf *b, size_t len)
{
    size_t start = b->len;

    add(b, "GET /");
    add_fill(b, 'a', len - strlen("GET / HTTP/1.1"));
    add(b, " HTTP/1.1");
    ck_assert_uint_eq(b->len - start, len);
}

/* A request whose header section (after the request line) is section bytes. */
static void
make_header_section(struct buf *b, size_t section)
{
    add(b, "GET / HTTP/1.1\r\nHost: a\r\nX: ");
    /* "Host: a\r\n" 9 + "X: " 3 + filler + "\r\n" 2 + "\r\n" 2 */
    add_fill(b, 'v', section - 16);
    add(b, "\r\n\r\n");
}

static void
assert_same_request(const struct http_request *a, const struct http_request *b)
{
    size_t i;

    ck_assert_int_eq(a->method, b->method);
    ck_assert_ptr_eq(a->method_str, b->method_str);
    ck_assert_uint_eq(a->method_len, b->method_len);
    ck_assert_ptr_eq(a->target, b->target);
    ck_assert_uint_eq(a->target_len, b->target_len);
    ck_assert_ptr_eq(a->path, b->path);
    ck_assert_uint_eq(a->path_len, b->path_len);
    ck_assert_ptr_eq(a->query, b->query);
    ck_assert_uint_eq(a->query_len, b->query_len);
    ck_assert_int_eq(a->version, b->version);
    ck_assert_uint_eq(a->nheaders, b->nheaders);
    for (i = 0; i < a->nheaders; i++) {
        ck_assert_ptr_eq(a->headers[i].name, b->headers[i].name);
        ck_assert_uint_eq(a->headers[i].name_len, b->headers[i].name_len);
        ck_assert_ptr_eq(a->headers[i].value, b->headers[i].value);
        ck_assert_uint_eq(a->headers[i].value_len, b->headers[i].value_len);
    }
    ck_assert_uint_eq(a->head_len, b->head_len);
    ck_assert_int_eq(a->keep_alive, b->keep_alive);
    ck_assert_int_eq(a->expect_continue, b->expect_continue);
    ck_assert_int_eq(a->chunked, b->chunked);
    ck_assert_int_eq(a->content_length, b->content_length);
}

/* Arms a chunked decoder and feeds it s in one piece. */
static int
body_all(const char *s, size_t max_body, size_t *consumed, struct buf *out)
{
    static const char head[] =
        "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n";

    ck_assert_int_eq(parse_max(head, max_body), HTTP_PARSE_OK);
    ck_assert_int_eq(P.body_state, HTTP_BODY_CHUNK_SIZE);
    return http_parse_body(&P, s, strlen(s), consumed, out);
}

/* Parses head, then feeds body in one piece. */
static int
body_head_then(const char *head, const char *body, size_t *consumed,
    struct buf *out)
{
    ck_assert_int_eq(parse(head), HTTP_PARSE_OK);
    return http_parse_body(&P, body, strlen(body), consumed, out);
}

/* ---- request line ---------------------------------------------------- */

START_TEST(test_simple_get_fills_every_field)
{
    static const char s[] = "GET /users/42 HTTP/1.1\r\nHost: example.com\r\n\r\n";

    ck_assert_int_eq(parse(s), HTTP_PARSE_OK);
    ck_assert_int_eq(R.method, HTTP_METHOD_GET);
    assert_span(R.method_str, R.method_len, "GET");
    assert_span(R.target, R.target_len, "/users/42");
    assert_span(R.path, R.path_len, "/users/42");
    ck_assert_ptr_null(R.query);
    ck_assert_uint_eq(R.query_len, 0);
    ck_assert_int_eq(R.version, 11);
    ck_assert_uint_eq(R.nheaders, 1);
    assert_span(R.headers[0].name, R.headers[0].name_len, "Host");
    assert_span(R.headers[0].value, R.headers[0].value_len, "example.com");
    ck_assert_uint_eq(R.head_len, strlen(s));
    ck_assert_int_eq(R.keep_alive, 1);
    ck_assert_int_eq(R.expect_continue, 0);
    ck_assert_int_eq(R.chunked, 0);
    ck_assert_int_eq(R.content_length, -1);
    ck_assert_int_eq(P.body_state, HTTP_BODY_DONE);
    ck_assert_ptr_null(P.error);
}
END_TEST

START_TEST(test_known_methods_map_to_enum)
{
    static const struct {
        const char      *line;
        enum http_method m;
    } cases[] = {
        { "GET / HTTP/1.1\r\nHost: a\r\n\r\n", HTTP_METHOD_GET },
        { "HEAD / HTTP/1.1\r\nHost: a\r\n\r\n", HTTP_METHOD_HEAD },
        { "POST / HTTP/1.1\r\nHost: a\r\n\r\n", HTTP_METHOD_POST },
        { "PUT / HTTP/1.1\r\nHost: a\r\n\r\n", HTTP_METHOD_PUT },
        { "DELETE / HTTP/1.1\r\nHost: a\r\n\r\n", HTTP_METHOD_DELETE },
        { "PATCH / HTTP/1.1\r\nHost: a\r\n\r\n", HTTP_METHOD_PATCH },
    };
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        ck_assert_int_eq(parse(cases[i].line), HTTP_PARSE_OK);
        ck_assert_int_eq(R.method, cases[i].m);
        assert_span(R.method_str, R.method_len, http_method_name(cases[i].m));
    }
}
END_TEST

START_TEST(test_unknown_token_method_is_501_with_method_str)
{
    ck_assert_int_eq(parse("BREW /pot HTTP/1.1\r\nHost: a\r\n\r\n"), 501);
    ck_assert_int_eq(R.method, HTTP_METHOD_UNKNOWN);
    assert_span(R.method_str, R.method_len, "BREW");
    assert_span(R.path, R.path_len, "/pot");
    ck_assert_int_eq(R.version, 11);
    ck_assert_ptr_nonnull(P.error);
}
END_TEST

START_TEST(test_method_is_case_sensitive_lowercase_get_is_501)
{
    ck_assert_int_eq(parse("get / HTTP/1.1\r\nHost: a\r\n\r\n"), 501);
    ck_assert_int_eq(R.method, HTTP_METHOD_UNKNOWN);
}
END_TEST

START_TEST(test_unknown_method_is_501_as_soon_as_request_line_ends)
{
    ck_assert_int_eq(parse("PROPFIND / HTTP/1.1\r\n"), 501);
    assert_span(R.method_str, R.method_len, "PROPFIND");
}
END_TEST

/* OPTIONS is known, and only it may ask about "*" (RFC 9112, 3.2.4). */
START_TEST(test_options_and_the_asterisk_form)
{
    ck_assert_int_eq(parse("OPTIONS / HTTP/1.1\r\nHost: a\r\n\r\n"), 0);
    ck_assert_int_eq(R.method, HTTP_METHOD_OPTIONS);
    assert_span(R.path, R.path_len, "/");
    ck_assert_int_eq(parse("OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n"), 0);
    assert_span(R.path, R.path_len, "*");
    ck_assert_int_eq(parse("GET * HTTP/1.1\r\nHost: a\r\n\r\n"), 400);
    ck_assert_int_eq(parse("OPTIONS ** HTTP/1.1\r\nHost: a\r\n\r\n"), 400);
}
END_TEST

START_TEST(test_method_with_non_token_char_is_400)
{
    ck_assert_int_eq(parse("GE@T / HTTP/1.1\r\nHost: a\r\n\r\n"), 400);
    ck_assert_int_eq(parse("GET\t/ HTTP/1.1\r\nHost: a\r\n\r\n"), 400);
    ck_assert_int_eq(parse("G(ET / HTTP/1.1\r\n"), 400);
}
END_TEST

START_TEST(test_empty_method_is_400)
{
    ck_assert_int_eq(parse(" / HTTP/1.1\r\nHost: a\r\n\r\n"), 400);
}
END_TEST

START_TEST(test_double_space_in_request_line_is_400)
{
    ck_assert_int_eq(parse("GET  / HTTP/1.1\r\nHost: a\r\n\r\n"), 400);
    ck_assert_int_eq(parse("GET /  HTTP/1.1\r\nHost: a\r\n\r\n"), 400);
}
END_TEST

START_TEST(test_request_line_without_version_is_400)
{
    ck_assert_int_eq(parse("GET /\r\n\r\n"), 400);
    ck_assert_int_eq(parse("GET\r\n\r\n"), 400);
}
END_TEST

START_TEST(test_space_in_target_is_400)
{
    ck_assert_int_eq(parse("GET /a b HTTP/1.1\r\nHost: a\r\n\r\n"), 400);
}
END_TEST

START_TEST(test_http10_parses_with_keep_alive_off)
{
    ck_assert_int_eq(parse("GET / HTTP/1.0\r\n\r\n"), HTTP_PARSE_OK);
    ck_assert_int_eq(R.version, 10);
    ck_assert_int_eq(R.keep_alive, 0);
}
END_TEST

START_TEST(test_other_version_digits_are_505)
{
    ck_assert_int_eq(parse("GET / HTTP/2.0\r\nHost: a\r\n\r\n"), 505);
    ck_assert_int_eq(parse("GET / HTTP/1.2\r\nHost: a\r\n\r\n"), 505);
    ck_assert_int_eq(parse("GET / HTTP/0.9\r\nHost: a\r\n\r\n"), 505);
    ck_assert_int_eq(parse("GET / HTTP/3.1\r\n"), 505);
}
END_TEST

START_TEST(test_malformed_version_is_400)
{
    ck_assert_int_eq(parse("GET / HTTP/1\r\nHost: a\r\n\r\n"), 400);
    ck_assert_int_eq(parse("GET / HTTP/1.1x\r\nHost: a\r\n\r\n"), 400);
    ck_assert_int_eq(parse("GET / http/1.1\r\nHost: a\r\n\r\n"), 400);
    ck_assert_int_eq(parse("GET / HTTP/11.1\r\nHost: a\r\n\r\n"), 400);
    ck_assert_int_eq(parse("GET / HTTP/1.1 \r\nHost: a\r\n\r\n"), 400);
    ck_assert_int_eq(parse("GET / HTTP/a.b\r\nHost: a\r\n\r\n"), 400);
    ck_assert_int_eq(parse("GET / FTP/1.1\r\nHost: a\r\n\r\n"), 400);
}
END_TEST

START_TEST(test_bare_lf_line_ends_are_accepted)
{
    static const char s[] = "GET /x HTTP/1.1\nHost: a\nX: y\r\n\n";

    ck_assert_int_eq(parse(s), HTTP_PARSE_OK);
    assert_span(R.path, R.path_len, "/x");
    ck_assert_uint_eq(R.nheaders, 2);
    assert_span(R.headers[0].value, R.headers[0].value_len, "a");
    assert_span(R.headers[1].value, R.headers[1].value_len, "y");
    ck_assert_uint_eq(R.head_len, strlen(s));
}
END_TEST

START_TEST(test_lone_cr_in_request_line_is_400)
{
    ck_assert_int_eq(parse("GET /\r HTTP/1.1\r\nHost: a\r\n\r\n"), 400);
    ck_assert_int_eq(parse("GET / HTTP/1.1\r\r\nHost: a\r\n\r\n"), 400);
}
END_TEST

START_TEST(test_lone_cr_in_field_is_400)
{
    ck_assert_int_eq(parse("GET / HTTP/1.1\r\nHost: a\rb\r\n\r\n"), 400);
    ck_assert_int_eq(parse("GET / HTTP/1.1\r\nHost: a\r\n\r\r\n"), 400);
}
END_TEST

START_TEST(test_cr_at_end_of_input_waits_for_next_byte)
{
    static const char s[] = "GET / HTTP/1.1\r";

    ck_assert_int_eq(parse(s), HTTP_PARSE_AGAIN);
    ck_assert_uint_eq(P.scan, strlen(s) - 1);
}
END_TEST

START_TEST(test_leading_empty_lines_are_skipped_and_counted_in_head_len)
{
    static const char s[] = "\r\n\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n";

    ck_assert_int_eq(parse(s), HTTP_PARSE_OK);
    ck_assert_int_eq(R.method, HTTP_METHOD_GET);
    assert_span(R.method_str, R.method_len, "GET");
    ck_assert_ptr_eq(R.method_str, s + 5);
    ck_assert_uint_eq(R.head_len, strlen(s));
}
END_TEST

START_TEST(test_more_than_four_leading_empty_lines_is_400)
{
    ck_assert_int_eq(parse("\r\n\r\n\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n"),
        HTTP_PARSE_OK);
    ck_assert_int_eq(parse("\r\n\r\n\r\n\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n"),
        400);
}
END_TEST

START_TEST(test_incomplete_head_is_again)
{
    ck_assert_int_eq(parse(""), HTTP_PARSE_AGAIN);
    ck_assert_int_eq(parse("GET / HT"), HTTP_PARSE_AGAIN);
    ck_assert_int_eq(parse("GET / HTTP/1.1\r\nHost: a\r\n"), HTTP_PARSE_AGAIN);
    ck_assert_int_eq(parse("GET / HTTP/1.1\r\nHost: a\r\n\r"), HTTP_PARSE_AGAIN);
}
END_TEST

/* ---- request target -------------------------------------------------- */

START_TEST(test_query_is_split_from_path)
{
    ck_assert_int_eq(parse("GET /users?limit=10&x=%20 HTTP/1.1\r\nHost: a\r\n\r\n"),
        HTTP_PARSE_OK);
    assert_span(R.target, R.target_len, "/users?limit=10&x=%20");
    assert_span(R.path, R.path_len, "/users");
    assert_span(R.query, R.query_len, "limit=10&x=%20");
}
END_TEST

START_TEST(test_empty_query_after_question_mark_is_empty_not_null)
{
    ck_assert_int_eq(parse("GET /a? HTTP/1.1\r\nHost: a\r\n\r\n"), HTTP_PARSE_OK);
    assert_span(R.path, R.path_len, "/a");
    ck_assert_ptr_nonnull(R.query);
    ck_assert_uint_eq(R.query_len, 0);
}
END_TEST

START_TEST(test_absolute_form_http_gives_path_and_query)
{
    ck_assert_int_eq(parse("GET http://example.com/a/b?c=1 HTTP/1.1\r\n"
        "Host: example.com\r\n\r\n"), HTTP_PARSE_OK);
    assert_span(R.target, R.target_len, "http://example.com/a/b?c=1");
    assert_span(R.path, R.path_len, "/a/b");
    assert_span(R.query, R.query_len, "c=1");
}
END_TEST

START_TEST(test_absolute_form_https_with_port_and_any_case_scheme)
{
    ck_assert_int_eq(parse("GET HTTPS://Example.com:8443/x HTTP/1.1\r\nHost: a\r\n\r\n"),
        HTTP_PARSE_OK);
    assert_span(R.path, R.path_len, "/x");
    ck_assert_ptr_null(R.query);
}
END_TEST

START_TEST(test_absolute_form_without_path_is_root)
{
    ck_assert_int_eq(parse("GET http://example.com HTTP/1.1\r\nHost: a\r\n\r\n"),
        HTTP_PARSE_OK);
    assert_span(R.path, R.path_len, "/");
    ck_assert_ptr_null(R.query);

    ck_assert_int_eq(parse("GET http://example.com:80?q=2 HTTP/1.1\r\nHost: a\r\n\r\n"),
        HTTP_PARSE_OK);
    assert_span(R.path, R.path_len, "/");
    assert_span(R.query, R.query_len, "q=2");
}
END_TEST

START_TEST(test_absolute_form_with_empty_authority_is_400)
{
    ck_assert_int_eq(parse("GET http:///x HTTP/1.1\r\nHost: a\r\n\r\n"), 400);
    ck_assert_int_eq(parse("GET https:// HTTP/1.1\r\nHost: a\r\n\r\n"), 400);
}
END_TEST

START_TEST(test_other_target_forms_are_400)
{
    ck_assert_int_eq(parse("GET * HTTP/1.1\r\nHost: a\r\n\r\n"), 400);
    ck_assert_int_eq(parse("GET foo HTTP/1.1\r\nHost: a\r\n\r\n"), 400);
    ck_assert_int_eq(parse("GET example.com:80 HTTP/1.1\r\nHost: a\r\n\r\n"), 400);
    ck_assert_int_eq(parse("GET ftp://h/x HTTP/1.1\r\nHost: a\r\n\r\n"), 400);
    ck_assert_int_eq(parse("GET http:/x HTTP/1.1\r\nHost: a\r\n\r\n"), 400);
}
END_TEST

START_TEST(test_target_with_non_visible_byte_is_400)
{
    static const char nul[] = "GET /a\0b HTTP/1.1\r\nHost: a\r\n\r\n";

    ck_assert_int_eq(parse("GET /a\x7f HTTP/1.1\r\nHost: a\r\n\r\n"), 400);
    ck_assert_int_eq(parse("GET /caf\xc3\xa9 HTTP/1.1\r\nHost: a\r\n\r\n"), 400);
    ck_assert_int_eq(parse("GET /a\tb HTTP/1.1\r\nHost: a\r\n\r\n"), 400);
    ck_assert_int_eq(parse_n(nul, sizeof(nul) - 1, TEST_MAX_BODY), 400);
}
END_TEST

/* ---- field lines ------------------------------------------------------ */

START_TEST(test_field_value_ows_is_trimmed_inner_kept)
{
    ck_assert_int_eq(parse("GET / HTTP/1.1\r\nHost:a\r\nX-A: \t a b\t \r\n\r\n"),
        HTTP_PARSE_OK);
    ck_assert_uint_eq(R.nheaders, 2);
    assert_span(R.headers[0].value, R.headers[0].value_len, "a");
    assert_span(R.headers[1].name, R.headers[1].name_len, "X-A");
    assert_span(R.headers[1].value, R.headers[1].value_len, "a b");
}
END_TEST

START_TEST(test_field_with_empty_value_is_accepted)
{
    ck_assert_int_eq(parse("GET / HTTP/1.1\r\nHost: a\r\nX-Empty:\r\nX-Ws:  \r\n\r\n"),
        HTTP_PARSE_OK);
    ck_assert_uint_eq(R.nheaders, 3);
    ck_assert_uint_eq(R.headers[1].value_len, 0);
    ck_assert_uint_eq(R.headers[2].value_len, 0);
}
END_TEST

START_TEST(test_field_name_must_be_a_token)
{
    ck_assert_int_eq(parse("GET / HTTP/1.1\r\nHost: a\r\nBad Name: x\r\n\r\n"), 400);
    ck_assert_int_eq(parse("GET / HTTP/1.1\r\nHost: a\r\nNa(me: x\r\n\r\n"), 400);
    ck_assert_int_eq(parse("GET / HTTP/1.1\r\nHost: a\r\nN\xc3\xa4me: x\r\n\r\n"), 400);
}
END_TEST

START_TEST(test_empty_field_name_is_400)
{
    ck_assert_int_eq(parse("GET / HTTP/1.1\r\nHost: a\r\n: x\r\n\r\n"), 400);
}
END_TEST

START_TEST(test_whitespace_before_colon_is_400)
{
    ck_assert_int_eq(parse("GET / HTTP/1.1\r\nHost : a\r\n\r\n"), 400);
    ck_assert_int_eq(parse("GET / HTTP/1.1\r\nHost: a\r\nX\t: b\r\n\r\n"), 400);
}
END_TEST

START_TEST(test_obs_fold_is_400)
{
    ck_assert_int_eq(parse("GET / HTTP/1.1\r\nHost: a\r\nX: b\r\n c\r\n\r\n"), 400);
    ck_assert_int_eq(parse("GET / HTTP/1.1\r\nHost: a\r\nX: b\r\n\tc\r\n\r\n"), 400);
}
END_TEST

START_TEST(test_field_without_colon_is_400)
{
    ck_assert_int_eq(parse("GET / HTTP/1.1\r\nHost: a\r\nNoColon\r\n\r\n"), 400);
}
END_TEST

START_TEST(test_control_chars_in_value_are_400)
{
    static const char nul[] = "GET / HTTP/1.1\r\nHost: a\r\nX: a\0b\r\n\r\n";

    ck_assert_int_eq(parse_n(nul, sizeof(nul) - 1, TEST_MAX_BODY), 400);
    ck_assert_int_eq(parse("GET / HTTP/1.1\r\nHost: a\r\nX: a\x01" "b\r\n\r\n"), 400);
    ck_assert_int_eq(parse("GET / HTTP/1.1\r\nHost: a\r\nX: a\x7f\r\n\r\n"), 400);
    ck_assert_int_eq(parse("GET / HTTP/1.1\r\nHost: a\r\nX: a\x1b[0m\r\n\r\n"), 400);
}
END_TEST

START_TEST(test_obs_text_and_htab_in_value_are_accepted)
{
    ck_assert_int_eq(parse("GET / HTTP/1.1\r\nHost: a\r\nX: caf\xc3\xa9\tok\xff\r\n\r\n"),
        HTTP_PARSE_OK);
    assert_span(R.headers[1].value, R.headers[1].value_len, "caf\xc3\xa9\tok\xff");
}
END_TEST

START_TEST(test_request_header_lookup_is_case_insensitive_first_match)
{
    const struct http_header *h;

    ck_assert_int_eq(parse("GET / HTTP/1.1\r\nHost: a\r\nX-Id: 1\r\nx-id: 2\r\n\r\n"),
        HTTP_PARSE_OK);
    h = http_request_header(&R, "X-ID");
    ck_assert_ptr_nonnull(h);
    assert_span(h->value, h->value_len, "1");
    ck_assert_ptr_eq(http_request_header(&R, "host"), &R.headers[0]);
}
END_TEST

START_TEST(test_request_header_absent_or_prefix_is_null)
{
    ck_assert_int_eq(parse("GET / HTTP/1.1\r\nHost: a\r\nX-Ident: 1\r\n\r\n"),
        HTTP_PARSE_OK);
    ck_assert_ptr_null(http_request_header(&R, "X-Id"));
    ck_assert_ptr_null(http_request_header(&R, "X-Identity"));
    ck_assert_ptr_null(http_request_header(&R, "Cookie"));
}
END_TEST

/* ---- Host ------------------------------------------------------------- */

START_TEST(test_missing_host_in_http11_is_400)
{
    ck_assert_int_eq(parse("GET / HTTP/1.1\r\n\r\n"), 400);
    ck_assert_int_eq(parse("GET / HTTP/1.1\r\nX-Host: a\r\n\r\n"), 400);
}
END_TEST

START_TEST(test_missing_host_in_http10_is_ok)
{
    ck_assert_int_eq(parse("GET / HTTP/1.0\r\n\r\n"), HTTP_PARSE_OK);
}
END_TEST

START_TEST(test_two_host_fields_are_400)
{
    ck_assert_int_eq(parse("GET / HTTP/1.1\r\nHost: a\r\nhost: a\r\n\r\n"), 400);
    ck_assert_int_eq(parse("GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n"), 400);
}
END_TEST

/* ---- limits ----------------------------------------------------------- */

START_TEST(test_request_line_of_8192_bytes_is_accepted)
{
    struct buf b;

    buf_init(&b);
    make_request_line(&b, HTTP_MAX_REQUEST_LINE);
    add(&b, "\r\nHost: a\r\n\r\n");
    ck_assert_int_eq(parse_n(b.data, b.len, TEST_MAX_BODY), HTTP_PARSE_OK);
    ck_assert_uint_eq(R.path_len, HTTP_MAX_REQUEST_LINE - strlen("GET  HTTP/1.1"));
    buf_free(&b);
}
END_TEST

START_TEST(test_request_line_over_8k_is_414)
{
    struct buf b;

    buf_init(&b);
    make_request_line(&b, HTTP_MAX_REQUEST_LINE + 1);
    add(&b, "\r\nHost: a\r\n\r\n");
    ck_assert_int_eq(parse_n(b.data, b.len, TEST_MAX_BODY), 414);
    ck_assert_str_eq(P.error, "request line too long");
    buf_free(&b);
}
END_TEST

START_TEST(test_request_line_414_is_reported_before_the_line_ends)
{
    struct buf b;

    buf_init(&b);
    add(&b, "GET /");
    add_fill(&b, 'a', 20000);
    http_parser_init(&P, TEST_MAX_BODY);
    ck_assert_int_eq(http_parse_head(&P, b.data, HTTP_MAX_REQUEST_LINE, &R),
        HTTP_PARSE_AGAIN);
    ck_assert_int_eq(http_parse_head(&P, b.data, HTTP_MAX_REQUEST_LINE + 1, &R), 414);
    buf_free(&b);
}
END_TEST

START_TEST(test_request_line_of_8192_with_pending_cr_is_again)
{
    struct buf b;

    buf_init(&b);
    make_request_line(&b, HTTP_MAX_REQUEST_LINE);
    add(&b, "\r\nHost: a\r\n\r\n");
    http_parser_init(&P, TEST_MAX_BODY);
    ck_assert_int_eq(http_parse_head(&P, b.data, HTTP_MAX_REQUEST_LINE + 1, &R),
        HTTP_PARSE_AGAIN);
    ck_assert_int_eq(http_parse_head(&P, b.data, b.len, &R), HTTP_PARSE_OK);
    buf_free(&b);
}
END_TEST

START_TEST(test_request_line_limit_ignores_leading_empty_lines)
{
    struct buf b;

    buf_init(&b);
    add(&b, "\r\n\r\n");
    make_request_line(&b, HTTP_MAX_REQUEST_LINE);
    add(&b, "\r\nHost: a\r\n\r\n");
    ck_assert_int_eq(parse_n(b.data, b.len, TEST_MAX_BODY), HTTP_PARSE_OK);
    buf_reset(&b);
    add(&b, "\r\n\r\n");
    make_request_line(&b, HTTP_MAX_REQUEST_LINE + 1);
    add(&b, "\r\nHost: a\r\n\r\n");
    ck_assert_int_eq(parse_n(b.data, b.len, TEST_MAX_BODY), 414);
    buf_free(&b);
}
END_TEST

START_TEST(test_100_fields_are_accepted)
{
    struct buf b;
    int        i;

    buf_init(&b);
    add(&b, "GET / HTTP/1.1\r\nHost: a\r\n");
    for (i = 1; i < HTTP_MAX_FIELDS; i++)
        ck_assert_int_eq(buf_appendf(&b, "X-%03d: v%d\r\n", i, i), 0);
    add(&b, "\r\n");
    ck_assert_int_eq(parse_n(b.data, b.len, TEST_MAX_BODY), HTTP_PARSE_OK);
    ck_assert_uint_eq(R.nheaders, HTTP_MAX_FIELDS);
    assert_span(R.headers[99].name, R.headers[99].name_len, "X-099");
    assert_span(R.headers[99].value, R.headers[99].value_len, "v99");
    buf_free(&b);
}
END_TEST

START_TEST(test_101_fields_are_431)
{
    struct buf b;
    int        i;

    buf_init(&b);
    add(&b, "GET / HTTP/1.1\r\nHost: a\r\n");
    for (i = 1; i <= HTTP_MAX_FIELDS; i++)
        ck_assert_int_eq(buf_appendf(&b, "X-%03d: v\r\n", i), 0);
    add(&b, "\r\n");
    ck_assert_int_eq(parse_n(b.data, b.len, TEST_MAX_BODY), 431);
    ck_assert_str_eq(P.error, "too many header fields");
    buf_free(&b);
}
END_TEST

START_TEST(test_header_section_of_16384_bytes_is_accepted)
{
    struct buf b;

    buf_init(&b);
    make_header_section(&b, HTTP_MAX_HEADER_BYTES);
    ck_assert_int_eq(parse_n(b.data, b.len, TEST_MAX_BODY), HTTP_PARSE_OK);
    ck_assert_uint_eq(R.head_len, strlen("GET / HTTP/1.1\r\n") + HTTP_MAX_HEADER_BYTES);
    ck_assert_uint_le(R.head_len, HTTP_MAX_HEAD);
    buf_free(&b);
}
END_TEST

START_TEST(test_header_section_over_16384_bytes_is_431)
{
    struct buf b;

    buf_init(&b);
    make_header_section(&b, HTTP_MAX_HEADER_BYTES + 1);
    ck_assert_int_eq(parse_n(b.data, b.len, TEST_MAX_BODY), 431);
    ck_assert_str_eq(P.error, "header section too large");
    buf_free(&b);
}
END_TEST

START_TEST(test_header_section_431_is_reported_before_the_head_ends)
{
    struct buf b;
    size_t     rl = strlen("GET / HTTP/1.1\r\n");

    buf_init(&b);
    add(&b, "GET / HTTP/1.1\r\nX: ");
    add_fill(&b, 'v', 20000);
    http_parser_init(&P, TEST_MAX_BODY);
    ck_assert_int_eq(http_parse_head(&P, b.data, rl + HTTP_MAX_HEADER_BYTES, &R),
        HTTP_PARSE_AGAIN);
    ck_assert_int_eq(http_parse_head(&P, b.data, rl + HTTP_MAX_HEADER_BYTES + 1, &R),
        431);
    buf_free(&b);
}
END_TEST

START_TEST(test_header_section_limit_with_bare_lf_at_boundary)
{
    struct buf b;

    /* Same section size as the CRLF case, one byte less per line end. */
    buf_init(&b);
    add(&b, "GET / HTTP/1.1\nHost: a\nX: ");
    add_fill(&b, 'v', HTTP_MAX_HEADER_BYTES - 13);
    add(&b, "\n\n");
    ck_assert_int_eq(parse_n(b.data, b.len, TEST_MAX_BODY), HTTP_PARSE_OK);
    buf_reset(&b);
    add(&b, "GET / HTTP/1.1\nHost: a\nX: ");
    add_fill(&b, 'v', HTTP_MAX_HEADER_BYTES - 12);
    add(&b, "\n\n");
    ck_assert_int_eq(parse_n(b.data, b.len, TEST_MAX_BODY), 431);
    buf_free(&b);
}
END_TEST

/* ---- Content-Length ---------------------------------------------------- */

START_TEST(test_content_length_is_parsed_and_arms_length_decoder)
{
    ck_assert_int_eq(parse("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 42\r\n\r\n"),
        HTTP_PARSE_OK);
    ck_assert_int_eq(R.content_length, 42);
    ck_assert_int_eq(R.chunked, 0);
    ck_assert_int_eq(P.body_state, HTTP_BODY_LENGTH);
    ck_assert_uint_eq(P.remaining, 42);
}
END_TEST

START_TEST(test_content_length_zero_needs_no_body)
{
    size_t consumed = 99;

    ck_assert_int_eq(parse("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n"),
        HTTP_PARSE_OK);
    ck_assert_int_eq(R.content_length, 0);
    ck_assert_int_eq(P.body_state, HTTP_BODY_DONE);
    ck_assert_int_eq(http_parse_body(&P, "xyz", 3, &consumed, NULL), HTTP_PARSE_OK);
    ck_assert_uint_eq(consumed, 0);
}
END_TEST

START_TEST(test_content_length_identical_list_is_accepted)
{
    ck_assert_int_eq(parse("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5 , 5,5\r\n\r\n"),
        HTTP_PARSE_OK);
    ck_assert_int_eq(R.content_length, 5);
}
END_TEST

START_TEST(test_content_length_repeated_identical_fields_are_accepted)
{
    ck_assert_int_eq(parse("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 7\r\n"
        "content-length: 7\r\n\r\n"), HTTP_PARSE_OK);
    ck_assert_int_eq(R.content_length, 7);
}
END_TEST

START_TEST(test_content_length_differing_list_is_400)
{
    ck_assert_int_eq(parse("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 6\r\n\r\n"),
        400);
}
END_TEST

START_TEST(test_content_length_differing_fields_are_400)
{
    ck_assert_int_eq(parse("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n"
        "Content-Length: 50\r\n\r\n"), 400);
    ck_assert_str_eq(P.error, "conflicting Content-Length");
}
END_TEST

START_TEST(test_content_length_non_digits_or_empty_are_400)
{
    static const char *const bad[] = {
        "5a", "-1", "+5", "0x10", "", " ", "5,", ",5", "5,,5", "1 2", "1.0",
    };
    char   s[128];
    size_t i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ck_assert_int_lt(snprintf(s, sizeof(s), "POST / HTTP/1.1\r\nHost: a\r\n"
            "Content-Length: %s\r\n\r\n", bad[i]), (int)sizeof(s));
        ck_assert_msg(parse(s) == 400, "Content-Length \"%s\" not refused", bad[i]);
    }
}
END_TEST

START_TEST(test_content_length_beyond_int64_is_413)
{
    ck_assert_int_eq(parse_max("POST / HTTP/1.1\r\nHost: a\r\n"
        "Content-Length: 9223372036854775808\r\n\r\n", SIZE_MAX), 413);
    ck_assert_int_eq(R.content_length, -1);
    ck_assert_int_eq(parse_max("POST / HTTP/1.1\r\nHost: a\r\n"
        "Content-Length: 99999999999999999999999999\r\n\r\n", SIZE_MAX), 413);
}
END_TEST

START_TEST(test_content_length_of_int64_max_is_accepted_with_huge_max_body)
{
    ck_assert_int_eq(parse_max("POST / HTTP/1.1\r\nHost: a\r\n"
        "Content-Length: 9223372036854775807\r\n\r\n", SIZE_MAX), HTTP_PARSE_OK);
    ck_assert_int_eq(R.content_length, INT64_MAX);
}
END_TEST

START_TEST(test_content_length_over_max_body_is_413_from_head)
{
    ck_assert_int_eq(parse_max("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\n",
        10), HTTP_PARSE_OK);
    ck_assert_int_eq(parse_max("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\n\r\n",
        10), 413);
    ck_assert_int_eq(R.content_length, 11);
    ck_assert_str_eq(P.error, "body too large");
}
END_TEST

START_TEST(test_content_length_with_transfer_encoding_is_400)
{
    ck_assert_int_eq(parse("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n"
        "Transfer-Encoding: chunked\r\n\r\n"), 400);
    ck_assert_int_eq(parse("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n"
        "Content-Length: 0\r\n\r\n"), 400);
}
END_TEST

START_TEST(test_post_without_length_has_empty_body)
{
    size_t consumed = 99;

    ck_assert_int_eq(parse("POST / HTTP/1.1\r\nHost: a\r\n\r\n"), HTTP_PARSE_OK);
    ck_assert_int_eq(R.content_length, -1);
    ck_assert_int_eq(R.chunked, 0);
    ck_assert_int_eq(http_parse_body(&P, "GET", 3, &consumed, NULL), HTTP_PARSE_OK);
    ck_assert_uint_eq(consumed, 0);
}
END_TEST

/* ---- Transfer-Encoding ------------------------------------------------- */

START_TEST(test_chunked_sets_chunked_and_arms_chunk_decoder)
{
    ck_assert_int_eq(parse("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"),
        HTTP_PARSE_OK);
    ck_assert_int_eq(R.chunked, 1);
    ck_assert_int_eq(R.content_length, -1);
    ck_assert_int_eq(P.body_state, HTTP_BODY_CHUNK_SIZE);
}
END_TEST

START_TEST(test_chunked_is_case_insensitive_with_ows)
{
    ck_assert_int_eq(parse("POST / HTTP/1.1\r\nHost: a\r\n"
        "Transfer-Encoding: \t ChUnKeD \r\n\r\n"), HTTP_PARSE_OK);
    ck_assert_int_eq(R.chunked, 1);
}
END_TEST

START_TEST(test_other_transfer_codings_are_501)
{
    ck_assert_int_eq(parse("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n"),
        501);
    ck_assert_int_eq(parse("POST / HTTP/1.1\r\nHost: a\r\n"
        "Transfer-Encoding: gzip, chunked\r\n\r\n"), 501);
    ck_assert_int_eq(parse("POST / HTTP/1.1\r\nHost: a\r\n"
        "Transfer-Encoding: chunked, gzip\r\n\r\n"), 501);
    ck_assert_int_eq(parse("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n"
        "Transfer-Encoding: chunked\r\n\r\n"), 501);
    ck_assert_int_eq(R.chunked, 0);
}
END_TEST

START_TEST(test_chunked_twice_is_400)
{
    ck_assert_int_eq(parse("POST / HTTP/1.1\r\nHost: a\r\n"
        "Transfer-Encoding: chunked, chunked\r\n\r\n"), 400);
    ck_assert_int_eq(parse("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n"
        "Transfer-Encoding: chunked\r\n\r\n"), 400);
}
END_TEST

START_TEST(test_empty_transfer_encoding_is_400)
{
    ck_assert_int_eq(parse("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:\r\n\r\n"), 400);
    ck_assert_int_eq(parse("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: ,\r\n\r\n"), 400);
}
END_TEST

START_TEST(test_transfer_encoding_in_http10_is_400)
{
    ck_assert_int_eq(parse("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n"), 400);
}
END_TEST

/* ---- Connection and Expect -------------------------------------------- */

START_TEST(test_connection_close_in_http11_disables_keep_alive)
{
    ck_assert_int_eq(parse("GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"),
        HTTP_PARSE_OK);
    ck_assert_int_eq(R.keep_alive, 0);
    ck_assert_int_eq(parse("GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade, CLOSE\r\n\r\n"),
        HTTP_PARSE_OK);
    ck_assert_int_eq(R.keep_alive, 0);
}
END_TEST

START_TEST(test_connection_keep_alive_in_http10_enables_keep_alive)
{
    ck_assert_int_eq(parse("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n"),
        HTTP_PARSE_OK);
    ck_assert_int_eq(R.keep_alive, 1);
}
END_TEST

START_TEST(test_connection_close_wins_over_keep_alive)
{
    ck_assert_int_eq(parse("GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n"),
        HTTP_PARSE_OK);
    ck_assert_int_eq(R.keep_alive, 0);
    ck_assert_int_eq(parse("GET / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive\r\n"
        "Connection: close\r\n\r\n"), HTTP_PARSE_OK);
    ck_assert_int_eq(R.keep_alive, 0);
}
END_TEST

START_TEST(test_connection_token_must_match_exactly)
{
    ck_assert_int_eq(parse("GET / HTTP/1.1\r\nHost: a\r\nConnection: closed\r\n\r\n"),
        HTTP_PARSE_OK);
    ck_assert_int_eq(R.keep_alive, 1);
    ck_assert_int_eq(parse("GET / HTTP/1.0\r\nConnection: keep-alive-ish\r\n\r\n"),
        HTTP_PARSE_OK);
    ck_assert_int_eq(R.keep_alive, 0);
}
END_TEST

START_TEST(test_expect_100_continue_sets_flag_case_insensitive)
{
    ck_assert_int_eq(parse("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n"
        "Expect: 100-Continue\r\n\r\n"), HTTP_PARSE_OK);
    ck_assert_int_eq(R.expect_continue, 1);
}
END_TEST

START_TEST(test_expect_100_continue_is_ignored_in_http10)
{
    ck_assert_int_eq(parse("POST / HTTP/1.0\r\nContent-Length: 3\r\n"
        "Expect: 100-continue\r\n\r\n"), HTTP_PARSE_OK);
    ck_assert_int_eq(R.expect_continue, 0);
}
END_TEST

START_TEST(test_other_expectation_is_417)
{
    ck_assert_int_eq(parse("POST / HTTP/1.1\r\nHost: a\r\nExpect: 200-ok\r\n\r\n"), 417);
    ck_assert_int_eq(parse("POST / HTTP/1.1\r\nHost: a\r\n"
        "Expect: 100-continue, x\r\n\r\n"), 417);
    ck_assert_int_eq(parse("POST / HTTP/1.0\r\nExpect: foo\r\n\r\n"), 417);
}
END_TEST

/* ---- incremental head parsing ----------------------------------------- */

START_TEST(test_head_split_at_every_byte_matches_one_piece)
{
    static const char s[] =
        "\r\nPOST http://h/u/1?x=%41&y HTTP/1.1\r\nHost: h\r\n"
        "Content-Length: 3\nConnection: keep-alive\r\nExpect: 100-continue\r\n"
        "X-Obs: \xe2\x82\xac \r\n\r\nabc";
    struct http_request whole;
    size_t              n, len = strlen(s);
    int                 rc;

    ck_assert_int_eq(parse(s), HTTP_PARSE_OK);
    whole = R;
    ck_assert_uint_eq(whole.head_len, len - 3);

    http_parser_init(&P, TEST_MAX_BODY);
    memset(&R, 0xa5, sizeof(R));
    for (n = 0; n < whole.head_len; n++)
        ck_assert_int_eq(http_parse_head(&P, s, n, &R), HTTP_PARSE_AGAIN);
    rc = http_parse_head(&P, s, whole.head_len, &R);
    ck_assert_int_eq(rc, HTTP_PARSE_OK);
    assert_same_request(&R, &whole);
}
END_TEST

START_TEST(test_head_in_two_pieces_at_every_split_matches_one_piece)
{
    static const char s[] =
        "GET /a?b HTTP/1.0\r\nConnection: keep-alive\r\nX: \t y \r\n\r\nGET";
    struct http_request whole;
    size_t              k, len = strlen(s);

    ck_assert_int_eq(parse(s), HTTP_PARSE_OK);
    whole = R;
    for (k = 0; k < whole.head_len; k++) {
        http_parser_init(&P, TEST_MAX_BODY);
        ck_assert_int_eq(http_parse_head(&P, s, k, &R), HTTP_PARSE_AGAIN);
        ck_assert_int_eq(http_parse_head(&P, s, len, &R), HTTP_PARSE_OK);
        assert_same_request(&R, &whole);
    }
}
END_TEST

START_TEST(test_errors_are_found_whatever_the_split)
{
    static const char s[] = "GET / HTTP/1.1\r\nHost: a\r\nBad Name: x\r\n\r\n";
    size_t n;
    int    rc = HTTP_PARSE_AGAIN;

    http_parser_init(&P, TEST_MAX_BODY);
    for (n = 1; n <= strlen(s) && rc == HTTP_PARSE_AGAIN; n++)
        rc = http_parse_head(&P, s, n, &R);
    ck_assert_int_eq(rc, 400);
    ck_assert_uint_eq(n - 1, strlen(s));
}
END_TEST

START_TEST(test_scan_resumes_where_it_stopped)
{
    static const char s[] = "GET / HTTP/1.1\r\nHost: a\r\nX-Long: 0123456789\r\n";
    size_t n;

    http_parser_init(&P, TEST_MAX_BODY);
    for (n = 1; n <= strlen(s); n++) {
        ck_assert_int_eq(http_parse_head(&P, s, n, &R), HTTP_PARSE_AGAIN);
        /* Every byte looked at once; only a trailing CR is looked at again. */
        ck_assert_uint_eq(P.scan, s[n - 1] == '\r' ? n - 1 : n);
    }
}
END_TEST

START_TEST(test_large_head_byte_by_byte_completes)
{
    struct buf b;
    size_t     n;

    buf_init(&b);
    make_header_section(&b, HTTP_MAX_HEADER_BYTES);
    http_parser_init(&P, TEST_MAX_BODY);
    for (n = 1; n < b.len; n++)
        ck_assert_int_eq(http_parse_head(&P, b.data, n, &R), HTTP_PARSE_AGAIN);
    ck_assert_int_eq(http_parse_head(&P, b.data, b.len, &R), HTTP_PARSE_OK);
    ck_assert_uint_eq(R.head_len, b.len);
    buf_free(&b);
}
END_TEST

START_TEST(test_parser_init_resets_all_but_max_body)
{
    static const char s[] = "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\n";

    ck_assert_int_eq(parse_max("GET / HTTP/1.1\r\nHost: a\r\nBad Name: x\r\n\r\n", 5), 400);
    ck_assert_int_eq(parse(s), HTTP_PARSE_OK);
    http_parser_init(&P, 77);
    ck_assert_uint_eq(P.max_body, 77);
    ck_assert_uint_eq(P.scan, 0);
    ck_assert_ptr_null(P.error);
    ck_assert_int_eq(P.body_state, HTTP_BODY_NONE);
    ck_assert_uint_eq(P.remaining, 0);
    ck_assert_uint_eq(P.body_total, 0);
    ck_assert_uint_eq(P.line_start, 0);
    ck_assert_uint_eq(P.rl_end, 0);
    ck_assert_int_eq(P.empty_lines, 0);
    ck_assert_int_eq(http_parse_head(&P, s, strlen(s), &R), HTTP_PARSE_OK);
    ck_assert_int_eq(R.content_length, 3);
}
END_TEST

/* ---- Content-Length bodies -------------------------------------------- */

START_TEST(test_length_body_takes_exactly_its_bytes)
{
    struct buf body;
    size_t     consumed;

    buf_init(&body);
    ck_assert_int_eq(body_head_then("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\n",
        "helloGET / HTTP/1.1\r\n", &consumed, &body), HTTP_PARSE_OK);
    ck_assert_uint_eq(consumed, 5);
    assert_buf(&body, "hello");
    ck_assert_int_eq(P.body_state, HTTP_BODY_DONE);
    /* Done stays done. */
    ck_assert_int_eq(http_parse_body(&P, "x", 1, &consumed, &body), HTTP_PARSE_OK);
    ck_assert_uint_eq(consumed, 0);
    buf_free(&body);
}
END_TEST

START_TEST(test_length_body_in_pieces)
{
    struct buf body;
    size_t     consumed;

    buf_init(&body);
    ck_assert_int_eq(parse("PUT / HTTP/1.1\r\nHost: a\r\nContent-Length: 6\r\n\r\n"),
        HTTP_PARSE_OK);
    ck_assert_int_eq(http_parse_body(&P, "", 0, &consumed, &body), HTTP_PARSE_AGAIN);
    ck_assert_uint_eq(consumed, 0);
    ck_assert_int_eq(http_parse_body(&P, "ab", 2, &consumed, &body), HTTP_PARSE_AGAIN);
    ck_assert_uint_eq(consumed, 2);
    ck_assert_int_eq(http_parse_body(&P, "cde", 3, &consumed, &body), HTTP_PARSE_AGAIN);
    ck_assert_uint_eq(consumed, 3);
    ck_assert_int_eq(http_parse_body(&P, "fgh", 3, &consumed, &body), HTTP_PARSE_OK);
    ck_assert_uint_eq(consumed, 1);
    assert_buf(&body, "abcdef");
    ck_assert_uint_eq(P.body_total, 6);
    buf_free(&body);
}
END_TEST

START_TEST(test_length_body_append_failure_is_500)
{
    struct buf full = { NULL, SIZE_MAX - 1, 0, 0, 0 };
    size_t     consumed = 99;

    ck_assert_int_eq(body_head_then("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\n",
        "hello", &consumed, &full), 500);
    ck_assert_uint_eq(consumed, 0);
    ck_assert_str_eq(P.error, "out of memory");
}
END_TEST

START_TEST(test_null_body_buffer_discards_data)
{
    size_t consumed;

    ck_assert_int_eq(body_head_then("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\n",
        "abcd", &consumed, NULL), HTTP_PARSE_OK);
    ck_assert_uint_eq(consumed, 3);
    ck_assert_int_eq(body_all("3\r\nabc\r\n0\r\n\r\nx", TEST_MAX_BODY, &consumed, NULL),
        HTTP_PARSE_OK);
    ck_assert_uint_eq(consumed, strlen("3\r\nabc\r\n0\r\n\r\n"));
    ck_assert_uint_eq(P.body_total, 3);
}
END_TEST

/* ---- chunked bodies ---------------------------------------------------- */

START_TEST(test_chunked_body_decodes)
{
    static const char s[] = "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n";
    struct buf body;
    size_t     consumed;

    buf_init(&body);
    ck_assert_int_eq(body_all(s, TEST_MAX_BODY, &consumed, &body), HTTP_PARSE_OK);
    ck_assert_uint_eq(consumed, strlen(s));
    assert_buf(&body, "hello world");
    ck_assert_int_eq(P.body_state, HTTP_BODY_DONE);
    buf_free(&body);
}
END_TEST

START_TEST(test_chunked_empty_body_decodes)
{
    struct buf body;
    size_t     consumed;

    buf_init(&body);
    ck_assert_int_eq(body_all("0\r\n\r\n", TEST_MAX_BODY, &consumed, &body), HTTP_PARSE_OK);
    ck_assert_uint_eq(consumed, 5);
    ck_assert_uint_eq(body.len, 0);
    buf_free(&body);
}
END_TEST

START_TEST(test_chunked_hex_sizes_any_case)
{
    struct buf body;
    size_t     consumed;

    buf_init(&body);
    ck_assert_int_eq(body_all("a\r\n0123456789\r\nB\r\nabcdefghijk\r\n0\r\n\r\n",
        TEST_MAX_BODY, &consumed, &body), HTTP_PARSE_OK);
    assert_buf(&body, "0123456789abcdefghijk");
    buf_free(&body);
}
END_TEST

START_TEST(test_chunk_extensions_are_ignored)
{
    struct buf body;
    size_t     consumed;

    buf_init(&body);
    ck_assert_int_eq(body_all("3;name=val\r\nabc\r\n2 ; x=\"q;\"\r\nde\r\n0;last\r\n\r\n",
        TEST_MAX_BODY, &consumed, &body), HTTP_PARSE_OK);
    assert_buf(&body, "abcde");
    buf_free(&body);
}
END_TEST

START_TEST(test_chunk_trailers_are_discarded)
{
    static const char s[] = "3\r\nabc\r\n0\r\nX-Sum: 1\r\nX-Other: 2\r\n\r\nNEXT";
    struct buf body;
    size_t     consumed;

    buf_init(&body);
    ck_assert_int_eq(body_all(s, TEST_MAX_BODY, &consumed, &body), HTTP_PARSE_OK);
    ck_assert_uint_eq(consumed, strlen(s) - 4);
    assert_buf(&body, "abc");
    buf_free(&body);
}
END_TEST

START_TEST(test_chunked_bare_lf_is_accepted)
{
    struct buf body;
    size_t     consumed;

    buf_init(&body);
    ck_assert_int_eq(body_all("3\nabc\n0\nT: x\n\n", TEST_MAX_BODY, &consumed, &body),
        HTTP_PARSE_OK);
    ck_assert_uint_eq(consumed, strlen("3\nabc\n0\nT: x\n\n"));
    assert_buf(&body, "abc");
    buf_free(&body);
}
END_TEST

START_TEST(test_chunked_split_at_every_byte_decodes_identically)
{
    static const char s[] =
        "5\r\nhello\r\n19;ext=\"v\"\r\n, this is a chunked body!\r\n"
        "1\nX\n0\r\nTrailer: t\r\n\r\n"
        "GET / HTTP/1.1\r\nHost: a\r\n\r\n";
    static const char expect[] = "hello, this is a chunked body!X";
    size_t body_len = strlen(s) - strlen("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
    size_t len = strlen(s), avail, off, consumed;
    struct buf body;
    int    rc;

    /* One more byte available per call, as if read one at a time. */
    buf_init(&body);
    ck_assert_int_eq(body_all("", TEST_MAX_BODY, &consumed, &body), HTTP_PARSE_AGAIN);
    off = 0;
    rc = HTTP_PARSE_AGAIN;
    for (avail = 1; avail <= len && rc == HTTP_PARSE_AGAIN; avail++) {
        rc = http_parse_body(&P, s + off, avail - off, &consumed, &body);
        off += consumed;
        if (rc == HTTP_PARSE_AGAIN)
            ck_assert_uint_eq(off, avail);
    }
    ck_assert_int_eq(rc, HTTP_PARSE_OK);
    ck_assert_uint_eq(off, body_len);
    assert_buf(&body, expect);
    buf_free(&body);
}
END_TEST

START_TEST(test_chunked_in_two_pieces_at_every_split_leaves_pipelined_bytes)
{
    static const char s[] =
        "4\r\nWiki\r\n5;a=b\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n0\r\nT: 1\r\n\r\n"
        "POST /next HTTP/1.1\r\n";
    static const char expect[] = "Wikipedia in\r\n\r\nchunks.";
    size_t body_len = strlen(s) - strlen("POST /next HTTP/1.1\r\n");
    size_t len = strlen(s), k, off, consumed;
    struct buf body;
    int    rc;

    buf_init(&body);
    for (k = 0; k <= len; k++) {
        buf_reset(&body);
        ck_assert_int_eq(body_all("", TEST_MAX_BODY, &consumed, &body), HTTP_PARSE_AGAIN);
        rc = http_parse_body(&P, s, k, &consumed, &body);
        off = consumed;
        if (k < body_len) {
            ck_assert_int_eq(rc, HTTP_PARSE_AGAIN);
            ck_assert_uint_eq(off, k);
            rc = http_parse_body(&P, s + off, len - off, &consumed, &body);
            off += consumed;
        }
        ck_assert_int_eq(rc, HTTP_PARSE_OK);
        ck_assert_uint_eq(off, body_len);
        assert_buf(&body, expect);
    }
    buf_free(&body);
}
END_TEST

START_TEST(test_chunk_size_of_16_digits_is_accepted)
{
    struct buf body;
    size_t     consumed;

    buf_init(&body);
    ck_assert_int_eq(body_all("000000000000000a\r\n0123456789\r\n0\r\n\r\n",
        TEST_MAX_BODY, &consumed, &body), HTTP_PARSE_OK);
    assert_buf(&body, "0123456789");
    buf_free(&body);
}
END_TEST

START_TEST(test_chunk_size_of_17_digits_is_400)
{
    size_t consumed;

    ck_assert_int_eq(body_all("0000000000000000a\r\n", SIZE_MAX, &consumed, NULL), 400);
    ck_assert_int_eq(body_all("10000000000000000\r\n", SIZE_MAX, &consumed, NULL), 400);
    ck_assert_str_eq(P.error, "chunk size too large");
}
END_TEST

START_TEST(test_chunk_size_without_digits_is_400)
{
    size_t consumed;

    ck_assert_int_eq(body_all("\r\n", TEST_MAX_BODY, &consumed, NULL), 400);
    ck_assert_int_eq(body_all(";ext\r\n", TEST_MAX_BODY, &consumed, NULL), 400);
    ck_assert_int_eq(body_all("xyz\r\n", TEST_MAX_BODY, &consumed, NULL), 400);
    ck_assert_int_eq(body_all(" 3\r\nabc\r\n", TEST_MAX_BODY, &consumed, NULL), 400);
    ck_assert_int_eq(body_all("-3\r\n", TEST_MAX_BODY, &consumed, NULL), 400);
}
END_TEST

START_TEST(test_chunk_size_with_junk_after_digits_is_400)
{
    size_t consumed;

    ck_assert_int_eq(body_all("3x\r\nabc\r\n", TEST_MAX_BODY, &consumed, NULL), 400);
    ck_assert_int_eq(body_all("3 4\r\nabc\r\n", TEST_MAX_BODY, &consumed, NULL), 400);
    ck_assert_int_eq(body_all("3;a\x01\r\nabc\r\n", TEST_MAX_BODY, &consumed, NULL), 400);
}
END_TEST

START_TEST(test_chunk_line_of_4096_bytes_ok_4097_is_400)
{
    struct buf in, body;
    size_t     consumed;

    buf_init(&in);
    buf_init(&body);
    add(&in, "1;");
    add_fill(&in, 'x', HTTP_MAX_CHUNK_LINE - 2);
    add(&in, "\r\nZ\r\n0\r\n\r\n");
    ck_assert_int_eq(body_all("", TEST_MAX_BODY, &consumed, &body), HTTP_PARSE_AGAIN);
    ck_assert_int_eq(http_parse_body(&P, in.data, in.len, &consumed, &body), HTTP_PARSE_OK);
    assert_buf(&body, "Z");

    buf_reset(&in);
    add(&in, "1;");
    add_fill(&in, 'x', HTTP_MAX_CHUNK_LINE - 1);
    add(&in, "\r\nZ\r\n0\r\n\r\n");
    ck_assert_int_eq(body_all("", TEST_MAX_BODY, &consumed, &body), HTTP_PARSE_AGAIN);
    ck_assert_int_eq(http_parse_body(&P, in.data, in.len, &consumed, &body), 400);
    ck_assert_str_eq(P.error, "chunk size line too long");
    buf_free(&in);
    buf_free(&body);
}
END_TEST

START_TEST(test_chunk_data_not_followed_by_crlf_is_400)
{
    size_t consumed;

    ck_assert_int_eq(body_all("3\r\nabcd\r\n0\r\n\r\n", TEST_MAX_BODY, &consumed, NULL), 400);
    ck_assert_str_eq(P.error, "chunk data not followed by CRLF");
    ck_assert_int_eq(body_all("3\r\nabc\rX", TEST_MAX_BODY, &consumed, NULL), 400);
    ck_assert_int_eq(body_all("3\r\nabc\r\r\n", TEST_MAX_BODY, &consumed, NULL), 400);
}
END_TEST

START_TEST(test_bare_cr_in_chunk_size_line_is_400)
{
    size_t consumed;

    ck_assert_int_eq(body_all("3\rabc", TEST_MAX_BODY, &consumed, NULL), 400);
    ck_assert_int_eq(body_all("3;e\r\r\n", TEST_MAX_BODY, &consumed, NULL), 400);
}
END_TEST

START_TEST(test_chunk_size_over_max_body_is_413_before_data)
{
    struct buf body;
    size_t     consumed;

    buf_init(&body);
    ck_assert_int_eq(body_all("b\r\nhello world\r\n0\r\n\r\n", 10, &consumed, &body), 413);
    ck_assert_uint_eq(consumed, 3);
    ck_assert_uint_eq(body.len, 0);
    ck_assert_str_eq(P.error, "body too large");
    ck_assert_int_eq(body_all("ffffffffffffffff\r\n", 10, &consumed, &body), 413);
    buf_free(&body);
}
END_TEST

START_TEST(test_chunks_adding_up_over_max_body_are_413)
{
    struct buf body;
    size_t     consumed;

    buf_init(&body);
    ck_assert_int_eq(body_all("6\r\nabcdef\r\n4\r\nghij\r\n0\r\n\r\n", 10, &consumed, &body),
        HTTP_PARSE_OK);
    assert_buf(&body, "abcdefghij");
    buf_reset(&body);
    ck_assert_int_eq(body_all("6\r\nabcdef\r\n5\r\nghijk\r\n0\r\n\r\n", 10, &consumed, &body),
        413);
    ck_assert_uint_eq(consumed, strlen("6\r\nabcdef\r\n5\r\n"));
    assert_buf(&body, "abcdef");
    buf_free(&body);
}
END_TEST

START_TEST(test_trailer_section_of_16384_ok_more_is_400)
{
    struct buf in;
    size_t     consumed;

    /* Counted after the last-chunk line: "X: " + filler + CRLF + CRLF. */
    buf_init(&in);
    add(&in, "0\r\nX: ");
    add_fill(&in, 't', HTTP_MAX_TRAILER_BYTES - 7);
    add(&in, "\r\n\r\n");
    ck_assert_int_eq(body_all("", TEST_MAX_BODY, &consumed, NULL), HTTP_PARSE_AGAIN);
    ck_assert_int_eq(http_parse_body(&P, in.data, in.len, &consumed, NULL), HTTP_PARSE_OK);
    ck_assert_uint_eq(consumed, in.len);

    buf_reset(&in);
    add(&in, "0\r\nX: ");
    add_fill(&in, 't', HTTP_MAX_TRAILER_BYTES - 6);
    add(&in, "\r\n\r\n");
    ck_assert_int_eq(body_all("", TEST_MAX_BODY, &consumed, NULL), HTTP_PARSE_AGAIN);
    ck_assert_int_eq(http_parse_body(&P, in.data, in.len, &consumed, NULL), 400);
    ck_assert_str_eq(P.error, "trailer section too large");
    buf_free(&in);
}
END_TEST

START_TEST(test_bad_bytes_in_trailer_are_400)
{
    size_t consumed;

    ck_assert_int_eq(body_all("0\r\nX: a\rb\r\n\r\n", TEST_MAX_BODY, &consumed, NULL), 400);
    ck_assert_int_eq(body_all("0\r\nX: a\x01\r\n\r\n", TEST_MAX_BODY, &consumed, NULL), 400);
}
END_TEST

START_TEST(test_chunked_append_failure_is_500)
{
    struct buf full = { NULL, SIZE_MAX - 1, 0, 0, 0 };
    size_t     consumed;

    ck_assert_int_eq(body_all("3\r\nabc\r\n0\r\n\r\n", TEST_MAX_BODY, &consumed, &full), 500);
    ck_assert_str_eq(P.error, "out of memory");
}
END_TEST

START_TEST(test_chunked_incomplete_is_again_and_consumes_all)
{
    struct buf body;
    size_t     consumed;

    buf_init(&body);
    ck_assert_int_eq(body_all("5\r\nhel", TEST_MAX_BODY, &consumed, &body), HTTP_PARSE_AGAIN);
    ck_assert_uint_eq(consumed, 6);
    assert_buf(&body, "hel");
    ck_assert_int_eq(P.body_state, HTTP_BODY_CHUNK_DATA);
    ck_assert_uint_eq(P.remaining, 2);
    buf_free(&body);
}
END_TEST

/* ---- pipelining -------------------------------------------------------- */

START_TEST(test_pipelined_length_body_then_get)
{
    static const char s[] =
        "POST /a HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc"
        "GET /b?c HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n";
    struct buf body;
    size_t     off, consumed;

    buf_init(&body);
    ck_assert_int_eq(parse(s), HTTP_PARSE_OK);
    assert_span(R.path, R.path_len, "/a");
    off = R.head_len;
    ck_assert_int_eq(http_parse_body(&P, s + off, strlen(s) - off, &consumed, &body),
        HTTP_PARSE_OK);
    assert_buf(&body, "abc");
    off += consumed;

    http_parser_init(&P, TEST_MAX_BODY);
    ck_assert_int_eq(http_parse_head(&P, s + off, strlen(s) - off, &R), HTTP_PARSE_OK);
    ck_assert_int_eq(R.method, HTTP_METHOD_GET);
    assert_span(R.path, R.path_len, "/b");
    assert_span(R.query, R.query_len, "c");
    ck_assert_int_eq(R.keep_alive, 0);
    ck_assert_uint_eq(off + R.head_len, strlen(s));
    ck_assert_int_eq(http_parse_body(&P, s + off + R.head_len, 0, &consumed, &body),
        HTTP_PARSE_OK);
    ck_assert_uint_eq(consumed, 0);
    buf_free(&body);
}
END_TEST

START_TEST(test_pipelined_chunked_body_then_head)
{
    static const char s[] =
        "PUT /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
        "2\r\nhi\r\n0\r\n\r\n"
        "HEAD / HTTP/1.1\r\nHost: a\r\n\r\n";
    struct buf body;
    size_t     off, consumed;

    buf_init(&body);
    ck_assert_int_eq(parse(s), HTTP_PARSE_OK);
    off = R.head_len;
    ck_assert_int_eq(http_parse_body(&P, s + off, strlen(s) - off, &consumed, &body),
        HTTP_PARSE_OK);
    ck_assert_uint_eq(consumed, strlen("2\r\nhi\r\n0\r\n\r\n"));
    assert_buf(&body, "hi");
    off += consumed;

    http_parser_init(&P, TEST_MAX_BODY);
    ck_assert_int_eq(http_parse_head(&P, s + off, strlen(s) - off, &R), HTTP_PARSE_OK);
    ck_assert_int_eq(R.method, HTTP_METHOD_HEAD);
    ck_assert_uint_eq(off + R.head_len, strlen(s));
    buf_free(&body);
}
END_TEST

START_TEST(test_head_len_stops_at_empty_line_with_more_after)
{
    static const char s[] = "GET / HTTP/1.1\r\nHost: a\r\n\r\nGET / HTTP/1.1\r\n";

    ck_assert_int_eq(parse(s), HTTP_PARSE_OK);
    ck_assert_uint_eq(R.head_len, strlen("GET / HTTP/1.1\r\nHost: a\r\n\r\n"));
    ck_assert_uint_eq(R.nheaders, 1);
}
END_TEST

/* ---- helpers ----------------------------------------------------------- */

START_TEST(test_list_has_token_matches_whole_trimmed_tokens)
{
    ck_assert_int_eq(http_list_has_token("close", 5, "close"), 1);
    ck_assert_int_eq(http_list_has_token("Keep-Alive, Upgrade", 19, "upgrade"), 1);
    ck_assert_int_eq(http_list_has_token(" a ,\tclose\t", 11, "close"), 1);
    ck_assert_int_eq(http_list_has_token("x,,close", 8, "close"), 1);
    ck_assert_int_eq(http_list_has_token("closed", 6, "close"), 0);
    ck_assert_int_eq(http_list_has_token("xclose", 6, "close"), 0);
    ck_assert_int_eq(http_list_has_token("", 0, "close"), 0);
    ck_assert_int_eq(http_list_has_token("close", 3, "close"), 0);
    ck_assert_int_eq(http_list_has_token("a, b", 4, "a, b"), 0);
}
END_TEST

START_TEST(test_method_names)
{
    ck_assert_str_eq(http_method_name(HTTP_METHOD_GET), "GET");
    ck_assert_str_eq(http_method_name(HTTP_METHOD_HEAD), "HEAD");
    ck_assert_str_eq(http_method_name(HTTP_METHOD_POST), "POST");
    ck_assert_str_eq(http_method_name(HTTP_METHOD_PUT), "PUT");
    ck_assert_str_eq(http_method_name(HTTP_METHOD_DELETE), "DELETE");
    ck_assert_str_eq(http_method_name(HTTP_METHOD_PATCH), "PATCH");
    ck_assert_str_eq(http_method_name(HTTP_METHOD_UNKNOWN), "UNKNOWN");
}
END_TEST

START_TEST(test_status_reasons)
{
    static const struct {
        int         status;
        const char *reason;
    } cases[] = {
        { 100, "Continue" }, { 200, "OK" }, { 201, "Created" },
        { 204, "No Content" }, { 301, "Moved Permanently" },
        { 304, "Not Modified" }, { 400, "Bad Request" },
        { 401, "Unauthorized" }, { 403, "Forbidden" }, { 404, "Not Found" },
        { 405, "Method Not Allowed" }, { 408, "Request Timeout" },
        { 409, "Conflict" }, { 411, "Length Required" },
        { 413, "Content Too Large" }, { 414, "URI Too Long" },
        { 415, "Unsupported Media Type" }, { 417, "Expectation Failed" },
        { 429, "Too Many Requests" },
        { 431, "Request Header Fields Too Large" },
        { 500, "Internal Server Error" }, { 501, "Not Implemented" },
        { 503, "Service Unavailable" }, { 505, "HTTP Version Not Supported" },
        { 507, "Insufficient Storage" },
        { 0, "Unknown" }, { 299, "Unknown" }, { 999, "Unknown" }, { -1, "Unknown" },
    };
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        ck_assert_str_eq(http_status_reason(cases[i].status), cases[i].reason);
}
END_TEST

START_TEST(test_format_date_is_imf_fixdate)
{
    char out[HTTP_DATE_LEN + 1];

    http_format_date(784111777, out);
    ck_assert_str_eq(out, "Sun, 06 Nov 1994 08:49:37 GMT");
    http_format_date(951782400, out);
    ck_assert_str_eq(out, "Tue, 29 Feb 2000 00:00:00 GMT");
    http_format_date(0, out);
    ck_assert_str_eq(out, "Thu, 01 Jan 1970 00:00:00 GMT");
    http_format_date(1735689599, out);
    ck_assert_str_eq(out, "Tue, 31 Dec 2024 23:59:59 GMT");
    ck_assert_uint_eq(strlen(out), HTTP_DATE_LEN);
}
END_TEST

START_TEST(test_format_date_out_of_range_falls_back_to_epoch)
{
    char out[HTTP_DATE_LEN + 1];

    http_format_date((time_t)INT64_MAX, out);
    ck_assert_str_eq(out, "Thu, 01 Jan 1970 00:00:00 GMT");
    http_format_date((time_t)253402300800LL, out);     /* year 10000 */
    ck_assert_str_eq(out, "Thu, 01 Jan 1970 00:00:00 GMT");
}
END_TEST

/* ---- response writer --------------------------------------------------- */

static void
response_defaults(struct http_response *r)
{
    memset(r, 0, sizeof(*r));
    r->status = 200;
    r->version = 11;
    r->keep_alive = 1;
    r->date = "Sun, 06 Nov 1994 08:49:37 GMT";
    r->server = "userapid/0.1.0";
    r->request_id = "4f2a9c";
    r->content_type = "application/json";
    r->body = "{\"ok\":true}";
    r->body_len = 11;
}

START_TEST(test_response_200_with_body_exact_bytes)
{
    struct http_response r;
    struct buf           out;

    buf_init(&out);
    response_defaults(&r);
    ck_assert_int_eq(http_response_write(&out, &r), 0);
    assert_buf(&out,
        "HTTP/1.1 200 OK\r\n"
        "Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n"
        "Server: userapid/0.1.0\r\n"
        "X-Request-Id: 4f2a9c\r\n"
        "Content-Type: application/json\r\n"
        "Content-Length: 11\r\n"
        "\r\n"
        "{\"ok\":true}");
    buf_free(&out);
}
END_TEST

START_TEST(test_response_head_keeps_length_without_body)
{
    struct http_response r;
    struct buf           out;

    buf_init(&out);
    response_defaults(&r);
    r.head_only = 1;
    ck_assert_int_eq(http_response_write(&out, &r), 0);
    assert_buf(&out,
        "HTTP/1.1 200 OK\r\n"
        "Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n"
        "Server: userapid/0.1.0\r\n"
        "X-Request-Id: 4f2a9c\r\n"
        "Content-Type: application/json\r\n"
        "Content-Length: 11\r\n"
        "\r\n");
    buf_free(&out);
}
END_TEST

START_TEST(test_response_204_has_no_length_and_no_body)
{
    struct http_response r;
    struct buf           out;

    buf_init(&out);
    response_defaults(&r);
    r.status = 204;
    r.content_type = NULL;
    ck_assert_int_eq(http_response_write(&out, &r), 0);
    assert_buf(&out,
        "HTTP/1.1 204 No Content\r\n"
        "Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n"
        "Server: userapid/0.1.0\r\n"
        "X-Request-Id: 4f2a9c\r\n"
        "\r\n");
    buf_free(&out);
}
END_TEST

START_TEST(test_response_304_keeps_length_without_body)
{
    struct http_response r;
    struct buf           out;

    buf_init(&out);
    response_defaults(&r);
    r.status = 304;
    r.content_type = NULL;
    ck_assert_int_eq(http_response_write(&out, &r), 0);
    assert_buf(&out,
        "HTTP/1.1 304 Not Modified\r\n"
        "Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n"
        "Server: userapid/0.1.0\r\n"
        "X-Request-Id: 4f2a9c\r\n"
        "Content-Length: 11\r\n"
        "\r\n");
    buf_free(&out);
}
END_TEST

START_TEST(test_response_100_has_no_length)
{
    struct http_response r;
    struct buf           out;

    buf_init(&out);
    response_defaults(&r);
    r.status = 100;
    r.request_id = NULL;
    r.content_type = NULL;
    r.body = NULL;
    r.body_len = 0;
    ck_assert_int_eq(http_response_write(&out, &r), 0);
    assert_buf(&out,
        "HTTP/1.1 100 Continue\r\n"
        "Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n"
        "Server: userapid/0.1.0\r\n"
        "\r\n");
    buf_free(&out);
}
END_TEST

START_TEST(test_response_close_says_connection_close)
{
    struct http_response r;
    struct buf           out;

    buf_init(&out);
    response_defaults(&r);
    r.status = 400;
    r.keep_alive = 0;
    r.body = "{}";
    r.body_len = 2;
    ck_assert_int_eq(http_response_write(&out, &r), 0);
    assert_buf(&out,
        "HTTP/1.1 400 Bad Request\r\n"
        "Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n"
        "Server: userapid/0.1.0\r\n"
        "X-Request-Id: 4f2a9c\r\n"
        "Content-Type: application/json\r\n"
        "Content-Length: 2\r\n"
        "Connection: close\r\n"
        "\r\n"
        "{}");
    buf_free(&out);
}
END_TEST

START_TEST(test_response_http10_keep_alive_says_keep_alive)
{
    struct http_response r;
    struct buf           out;

    buf_init(&out);
    response_defaults(&r);
    r.version = 10;
    ck_assert_int_eq(http_response_write(&out, &r), 0);
    assert_buf(&out,
        "HTTP/1.1 200 OK\r\n"
        "Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n"
        "Server: userapid/0.1.0\r\n"
        "X-Request-Id: 4f2a9c\r\n"
        "Content-Type: application/json\r\n"
        "Content-Length: 11\r\n"
        "Connection: keep-alive\r\n"
        "\r\n"
        "{\"ok\":true}");
    buf_free(&out);
}
END_TEST

START_TEST(test_response_extra_lines_verbatim_and_optional_fields_skipped)
{
    static const char extra[] = "Allow: GET, HEAD\r\nWWW-Authenticate: Bearer\r\n";
    struct http_response r;
    struct buf           out;

    buf_init(&out);
    add(&out, "PREVIOUS");
    response_defaults(&r);
    r.status = 405;
    r.request_id = NULL;
    r.content_type = NULL;
    r.body = NULL;
    r.body_len = 0;
    r.extra = extra;
    r.extra_len = strlen(extra);
    ck_assert_int_eq(http_response_write(&out, &r), 0);
    assert_buf(&out,
        "PREVIOUS"
        "HTTP/1.1 405 Method Not Allowed\r\n"
        "Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n"
        "Server: userapid/0.1.0\r\n"
        "Content-Length: 0\r\n"
        "Allow: GET, HEAD\r\n"
        "WWW-Authenticate: Bearer\r\n"
        "\r\n");
    buf_free(&out);
}
END_TEST

START_TEST(test_response_without_date_uses_current_time)
{
    struct http_response r;
    struct buf           out;

    buf_init(&out);
    response_defaults(&r);
    r.date = NULL;
    ck_assert_int_eq(http_response_write(&out, &r), 0);
    ck_assert_uint_gt(out.len, strlen("HTTP/1.1 200 OK\r\nDate: ") + HTTP_DATE_LEN + 2);
    ck_assert_mem_eq(out.data + strlen("HTTP/1.1 200 OK\r\nDate: ") + HTTP_DATE_LEN,
        "\r\n", 2);
    ck_assert_mem_eq(out.data + strlen("HTTP/1.1 200 OK\r\nDate: ") + HTTP_DATE_LEN - 4,
        " GMT", 4);
    buf_free(&out);
}
END_TEST

START_TEST(test_response_write_failure_returns_minus_one_and_keeps_out)
{
    struct http_response r;
    struct buf           full = { NULL, SIZE_MAX - 1, 0, 0, 0 };

    response_defaults(&r);
    ck_assert_int_eq(http_response_write(&full, &r), -1);
    ck_assert_uint_eq(full.len, SIZE_MAX - 1);
    ck_assert_ptr_null(full.data);
}
END_TEST

static Suite *
http_suite(void)
{
    Suite *s = suite_create("http");
    TCase *tc;

    tc = tcase_create("request_line");
    tcase_add_test(tc, test_simple_get_fills_every_field);
    tcase_add_test(tc, test_known_methods_map_to_enum);
    tcase_add_test(tc, test_unknown_token_method_is_501_with_method_str);
    tcase_add_test(tc, test_method_is_case_sensitive_lowercase_get_is_501);
    tcase_add_test(tc, test_unknown_method_is_501_as_soon_as_request_line_ends);
    tcase_add_test(tc, test_options_and_the_asterisk_form);
    tcase_add_test(tc, test_method_with_non_token_char_is_400);
    tcase_add_test(tc, test_empty_method_is_400);
    tcase_add_test(tc, test_double_space_in_request_line_is_400);
    tcase_add_test(tc, test_request_line_without_version_is_400);
    tcase_add_test(tc, test_space_in_target_is_400);
    tcase_add_test(tc, test_http10_parses_with_keep_alive_off);
    tcase_add_test(tc, test_other_version_digits_are_505);
    tcase_add_test(tc, test_malformed_version_is_400);
    tcase_add_test(tc, test_bare_lf_line_ends_are_accepted);
    tcase_add_test(tc, test_lone_cr_in_request_line_is_400);
    tcase_add_test(tc, test_lone_cr_in_field_is_400);
    tcase_add_test(tc, test_cr_at_end_of_input_waits_for_next_byte);
    tcase_add_test(tc, test_leading_empty_lines_are_skipped_and_counted_in_head_len);
    tcase_add_test(tc, test_more_than_four_leading_empty_lines_is_400);
    tcase_add_test(tc, test_incomplete_head_is_again);
    suite_add_tcase(s, tc);

    tc = tcase_create("target");
    tcase_add_test(tc, test_query_is_split_from_path);
    tcase_add_test(tc, test_empty_query_after_question_mark_is_empty_not_null);
    tcase_add_test(tc, test_absolute_form_http_gives_path_and_query);
    tcase_add_test(tc, test_absolute_form_https_with_port_and_any_case_scheme);
    tcase_add_test(tc, test_absolute_form_without_path_is_root);
    tcase_add_test(tc, test_absolute_form_with_empty_authority_is_400);
    tcase_add_test(tc, test_other_target_forms_are_400);
    tcase_add_test(tc, test_target_with_non_visible_byte_is_400);
    suite_add_tcase(s, tc);

    tc = tcase_create("fields");
    tcase_add_test(tc, test_field_value_ows_is_trimmed_inner_kept);
    tcase_add_test(tc, test_field_with_empty_value_is_accepted);
    tcase_add_test(tc, test_field_name_must_be_a_token);
    tcase_add_test(tc, test_empty_field_name_is_400);
    tcase_add_test(tc, test_whitespace_before_colon_is_400);
    tcase_add_test(tc, test_obs_fold_is_400);
    tcase_add_test(tc, test_field_without_colon_is_400);
    tcase_add_test(tc, test_control_chars_in_value_are_400);
    tcase_add_test(tc, test_obs_text_and_htab_in_value_are_accepted);
    tcase_add_test(tc, test_request_header_lookup_is_case_insensitive_first_match);
    tcase_add_test(tc, test_request_header_absent_or_prefix_is_null);
    tcase_add_test(tc, test_missing_host_in_http11_is_400);
    tcase_add_test(tc, test_missing_host_in_http10_is_ok);
    tcase_add_test(tc, test_two_host_fields_are_400);
    suite_add_tcase(s, tc);

    tc = tcase_create("limits");
    tcase_add_test(tc, test_request_line_of_8192_bytes_is_accepted);
    tcase_add_test(tc, test_request_line_over_8k_is_414);
    tcase_add_test(tc, test_request_line_414_is_reported_before_the_line_ends);
    tcase_add_test(tc, test_request_line_of_8192_with_pending_cr_is_again);
    tcase_add_test(tc, test_request_line_limit_ignores_leading_empty_lines);
    tcase_add_test(tc, test_100_fields_are_accepted);
    tcase_add_test(tc, test_101_fields_are_431);
    tcase_add_test(tc, test_header_section_of_16384_bytes_is_accepted);
    tcase_add_test(tc, test_header_section_over_16384_bytes_is_431);
    tcase_add_test(tc, test_header_section_431_is_reported_before_the_head_ends);
    tcase_add_test(tc, test_header_section_limit_with_bare_lf_at_boundary);
    suite_add_tcase(s, tc);

    tc = tcase_create("framing");
    tcase_add_test(tc, test_content_length_is_parsed_and_arms_length_decoder);
    tcase_add_test(tc, test_content_length_zero_needs_no_body);
    tcase_add_test(tc, test_content_length_identical_list_is_accepted);
    tcase_add_test(tc, test_content_length_repeated_identical_fields_are_accepted);
    tcase_add_test(tc, test_content_length_differing_list_is_400);
    tcase_add_test(tc, test_content_length_differing_fields_are_400);
    tcase_add_test(tc, test_content_length_non_digits_or_empty_are_400);
    tcase_add_test(tc, test_content_length_beyond_int64_is_413);
    tcase_add_test(tc, test_content_length_of_int64_max_is_accepted_with_huge_max_body);
    tcase_add_test(tc, test_content_length_over_max_body_is_413_from_head);
    tcase_add_test(tc, test_content_length_with_transfer_encoding_is_400);
    tcase_add_test(tc, test_post_without_length_has_empty_body);
    tcase_add_test(tc, test_chunked_sets_chunked_and_arms_chunk_decoder);
    tcase_add_test(tc, test_chunked_is_case_insensitive_with_ows);
    tcase_add_test(tc, test_other_transfer_codings_are_501);
    tcase_add_test(tc, test_chunked_twice_is_400);
    tcase_add_test(tc, test_empty_transfer_encoding_is_400);
    tcase_add_test(tc, test_transfer_encoding_in_http10_is_400);
    suite_add_tcase(s, tc);

    tc = tcase_create("connection");
    tcase_add_test(tc, test_connection_close_in_http11_disables_keep_alive);
    tcase_add_test(tc, test_connection_keep_alive_in_http10_enables_keep_alive);
    tcase_add_test(tc, test_connection_close_wins_over_keep_alive);
    tcase_add_test(tc, test_connection_token_must_match_exactly);
    tcase_add_test(tc, test_expect_100_continue_sets_flag_case_insensitive);
    tcase_add_test(tc, test_expect_100_continue_is_ignored_in_http10);
    tcase_add_test(tc, test_other_expectation_is_417);
    suite_add_tcase(s, tc);

    tc = tcase_create("incremental");
    tcase_add_test(tc, test_head_split_at_every_byte_matches_one_piece);
    tcase_add_test(tc, test_head_in_two_pieces_at_every_split_matches_one_piece);
    tcase_add_test(tc, test_errors_are_found_whatever_the_split);
    tcase_add_test(tc, test_scan_resumes_where_it_stopped);
    tcase_add_test(tc, test_large_head_byte_by_byte_completes);
    tcase_add_test(tc, test_parser_init_resets_all_but_max_body);
    suite_add_tcase(s, tc);

    tc = tcase_create("body");
    tcase_add_test(tc, test_length_body_takes_exactly_its_bytes);
    tcase_add_test(tc, test_length_body_in_pieces);
    tcase_add_test(tc, test_length_body_append_failure_is_500);
    tcase_add_test(tc, test_null_body_buffer_discards_data);
    tcase_add_test(tc, test_chunked_body_decodes);
    tcase_add_test(tc, test_chunked_empty_body_decodes);
    tcase_add_test(tc, test_chunked_hex_sizes_any_case);
    tcase_add_test(tc, test_chunk_extensions_are_ignored);
    tcase_add_test(tc, test_chunk_trailers_are_discarded);
    tcase_add_test(tc, test_chunked_bare_lf_is_accepted);
    tcase_add_test(tc, test_chunked_split_at_every_byte_decodes_identically);
    tcase_add_test(tc, test_chunked_in_two_pieces_at_every_split_leaves_pipelined_bytes);
    tcase_add_test(tc, test_chunk_size_of_16_digits_is_accepted);
    tcase_add_test(tc, test_chunk_size_of_17_digits_is_400);
    tcase_add_test(tc, test_chunk_size_without_digits_is_400);
    tcase_add_test(tc, test_chunk_size_with_junk_after_digits_is_400);
    tcase_add_test(tc, test_chunk_line_of_4096_bytes_ok_4097_is_400);
    tcase_add_test(tc, test_chunk_data_not_followed_by_crlf_is_400);
    tcase_add_test(tc, test_bare_cr_in_chunk_size_line_is_400);
    tcase_add_test(tc, test_chunk_size_over_max_body_is_413_before_data);
    tcase_add_test(tc, test_chunks_adding_up_over_max_body_are_413);
    tcase_add_test(tc, test_trailer_section_of_16384_ok_more_is_400);
    tcase_add_test(tc, test_bad_bytes_in_trailer_are_400);
    tcase_add_test(tc, test_chunked_append_failure_is_500);
    tcase_add_test(tc, test_chunked_incomplete_is_again_and_consumes_all);
    suite_add_tcase(s, tc);

    tc = tcase_create("pipelining");
    tcase_add_test(tc, test_pipelined_length_body_then_get);
    tcase_add_test(tc, test_pipelined_chunked_body_then_head);
    tcase_add_test(tc, test_head_len_stops_at_empty_line_with_more_after);
    suite_add_tcase(s, tc);

    tc = tcase_create("helpers");
    tcase_add_test(tc, test_list_has_token_matches_whole_trimmed_tokens);
    tcase_add_test(tc, test_method_names);
    tcase_add_test(tc, test_status_reasons);
    tcase_add_test(tc, test_format_date_is_imf_fixdate);
    tcase_add_test(tc, test_format_date_out_of_range_falls_back_to_epoch);
    suite_add_tcase(s, tc);

    tc = tcase_create("response");
    tcase_add_test(tc, test_response_200_with_body_exact_bytes);
    tcase_add_test(tc, test_response_head_keeps_length_without_body);
    tcase_add_test(tc, test_response_204_has_no_length_and_no_body);
    tcase_add_test(tc, test_response_304_keeps_length_without_body);
    tcase_add_test(tc, test_response_100_has_no_length);
    tcase_add_test(tc, test_response_close_says_connection_close);
    tcase_add_test(tc, test_response_http10_keep_alive_says_keep_alive);
    tcase_add_test(tc, test_response_extra_lines_verbatim_and_optional_fields_skipped);
    tcase_add_test(tc, test_response_without_date_uses_current_time);
    tcase_add_test(tc, test_response_write_failure_returns_minus_one_and_keeps_out);
    suite_add_tcase(s, tc);

    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(http_suite());
    int      failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
