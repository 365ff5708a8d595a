/* SPDX-License-Identifier: MIT */
/*
 * test_proxyproto.c - unit tests for the PROXY protocol header parser
 * (src/proxyproto.c), versions 1 and 2.
 *
 * Every valid form is checked field by field; every malformed form is
 * checked to be invalid, and where it matters, invalid at the exact byte
 * that proves it.  Each header is also fed a byte at a time, which must
 * end as feeding it whole does, with "need more" before that, and with
 * the client's bytes after the header left alone.
 */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proxyproto.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

#define V2_SIG  "\r\n\r\n\0\r\nQUIT\n"
#define V2_SIG_LEN 12

/* A version 2 header being built. */
struct v2 {
    uint8_t b[8192];
    size_t  len;
};

static int          parse_n(const void *buf, size_t len, struct proxyproto *out);
static int          parse_s(const char *s, struct proxyproto *out);
static const char  *fmt(const struct netaddr *a);
static void         assert_incremental(const void *buf, size_t len);
static size_t       first_invalid(const void *buf, size_t len);
static void         v2_start(struct v2 *h, uint8_t cmd, uint8_t fam, size_t blen);
static void         v2_add(struct v2 *h, const void *p, size_t n);
static void         v2_tcp4(struct v2 *h, size_t extra);
static Suite       *proxyproto_suite(void);

static int
parse_n(const void *buf, size_t len, struct proxyproto *out)
{
    return proxyproto_parse(buf, len, out);
}

static int
parse_s(const char *s, struct proxyproto *out)
{
    return parse_n(s, strlen(s), out);
}

static const char *
fmt(const struct netaddr *a)
{
    static char buf[2][NETADDR_STRLEN];
    static int  which;

    which = !which;
    ck_assert_int_gt(netaddr_format(a, buf[which], sizeof(buf[which])), 0);
    return buf[which];
}

/*
 * Every prefix of buf answers as the whole does: "need more" up to a
 * header's end and its length from there; for an invalid input, "need
 * more" up to some byte and invalid from there on.
 */
static void
assert_incremental(const void *buf, size_t len)
{
    struct proxyproto whole, part, zero;
    size_t            k;
    int               rc, r, bad = 0;

    memset(&zero, 0, sizeof(zero));
    rc = parse_n(buf, len, &whole);
    for (k = 0; k <= len; k++) {
        r = parse_n(buf, k, &part);
        if (rc > 0) {
            ck_assert_int_eq(r, (size_t)rc <= k ? rc : PROXYPROTO_AGAIN);
        } else if (rc == PROXYPROTO_INVALID) {
            if (bad)
                ck_assert_int_eq(r, PROXYPROTO_INVALID);
            ck_assert(r == PROXYPROTO_AGAIN || r == PROXYPROTO_INVALID);
            bad = r == PROXYPROTO_INVALID;
        } else {
            ck_assert_int_eq(r, PROXYPROTO_AGAIN);
        }
        if (r > 0)
            ck_assert_mem_eq(&part, &whole, sizeof(part));
        else
            ck_assert_mem_eq(&part, &zero, sizeof(part));
    }
    if (rc == PROXYPROTO_INVALID)
        ck_assert(bad);
}

/* How many bytes it takes to see that buf is invalid (len + 1: never). */
static size_t
first_invalid(const void *buf, size_t len)
{
    struct proxyproto out;
    size_t            k;

    for (k = 0; k <= len; k++)
        if (parse_n(buf, k, &out) == PROXYPROTO_INVALID)
            return k;
    return len + 1;
}

static void
v2_start(struct v2 *h, uint8_t cmd, uint8_t fam, size_t blen)
{
    memcpy(h->b, V2_SIG, V2_SIG_LEN);
    h->b[12] = cmd;
    h->b[13] = fam;
    h->b[14] = (uint8_t)(blen >> 8);
    h->b[15] = (uint8_t)blen;
    h->len = 16;
}

static void
v2_add(struct v2 *h, const void *p, size_t n)
{
    ck_assert_uint_le(h->len + n, sizeof(h->b));
    memcpy(h->b + h->len, p, n);
    h->len += n;
}

/* PROXY TCP4 192.0.2.1:56324 -> 198.51.100.2:443, extra bytes of TLVs to come. */
static void
v2_tcp4(struct v2 *h, size_t extra)
{
    static const uint8_t block[12] = {
        192, 0, 2, 1, 198, 51, 100, 2, 0xdc, 0x04, 0x01, 0xbb,
    };

    v2_start(h, 0x21, 0x11, sizeof(block) + extra);
    v2_add(h, block, sizeof(block));
}

/* ---- version 1 ---------------------------------------------------------- */

START_TEST(test_v1_tcp4)
{
    static const char line[] = "PROXY TCP4 192.0.2.1 198.51.100.2 56324 443\r\n";
    struct proxyproto p;

    ck_assert_int_eq(parse_s(line, &p), (int)strlen(line));
    ck_assert_int_eq(p.version, 1);
    ck_assert_int_eq(p.command, PROXYPROTO_PROXY);
    ck_assert_int_eq(p.src.family, AF_INET);
    ck_assert_str_eq(fmt(&p.src), "192.0.2.1");
    ck_assert_str_eq(fmt(&p.dst), "198.51.100.2");
    ck_assert_uint_eq(p.src_port, 56324);
    ck_assert_uint_eq(p.dst_port, 443);
    assert_incremental(line, strlen(line));
}
END_TEST

START_TEST(test_v1_tcp6)
{
    static const char line[] = "PROXY TCP6 2001:db8::1 2001:db8::2 1 65535\r\n";
    struct proxyproto p;

    ck_assert_int_eq(parse_s(line, &p), (int)strlen(line));
    ck_assert_int_eq(p.version, 1);
    ck_assert_int_eq(p.command, PROXYPROTO_PROXY);
    ck_assert_int_eq(p.src.family, AF_INET6);
    ck_assert_str_eq(fmt(&p.src), "2001:db8::1");
    ck_assert_str_eq(fmt(&p.dst), "2001:db8::2");
    ck_assert_uint_eq(p.src_port, 1);
    ck_assert_uint_eq(p.dst_port, 65535);
    assert_incremental(line, strlen(line));
}
END_TEST

START_TEST(test_v1_tcp6_mapped_is_ipv4)
{
    static const char line[] =
        "PROXY TCP6 ::ffff:192.0.2.1 ::ffff:198.51.100.2 80 8080\r\n";
    struct proxyproto p;

    ck_assert_int_eq(parse_s(line, &p), (int)strlen(line));
    ck_assert_int_eq(p.command, PROXYPROTO_PROXY);
    ck_assert_int_eq(p.src.family, AF_INET);
    ck_assert_str_eq(fmt(&p.src), "192.0.2.1");
    ck_assert_str_eq(fmt(&p.dst), "198.51.100.2");
    ck_assert_uint_eq(p.src_port, 80);
    ck_assert_uint_eq(p.dst_port, 8080);
}
END_TEST

START_TEST(test_v1_zero_ports_and_addresses)
{
    static const char line[] = "PROXY TCP4 0.0.0.0 255.255.255.255 0 0\r\n";
    struct proxyproto p;

    ck_assert_int_eq(parse_s(line, &p), (int)strlen(line));
    ck_assert_str_eq(fmt(&p.src), "0.0.0.0");
    ck_assert_str_eq(fmt(&p.dst), "255.255.255.255");
    ck_assert_uint_eq(p.src_port, 0);
    ck_assert_uint_eq(p.dst_port, 0);
}
END_TEST

START_TEST(test_v1_unknown)
{
    /* The specification's worst case: exactly 107 bytes. */
    static const char longest[] = "PROXY UNKNOWN "
        "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff "
        "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n";
    static const char *const lines[] = {
        "PROXY UNKNOWN\r\n",
        "PROXY UNKNOWN \r\n",
        "PROXY UNKNOWN 192.0.2.1 198.51.100.2 56324 443\r\n",
        "PROXY UNKNOWN anything at all \x01\x7f\xff\r\n",
        longest,
    };
    struct proxyproto p;
    size_t            i;

    ck_assert_uint_eq(strlen(longest), 107);
    for (i = 0; i < NELEM(lines); i++) {
        ck_assert_msg(parse_s(lines[i], &p) == (int)strlen(lines[i]), "%s",
            lines[i]);
        ck_assert_int_eq(p.version, 1);
        ck_assert_int_eq(p.command, PROXYPROTO_UNKNOWN);
        ck_assert_int_eq(p.src.family, 0);
        assert_incremental(lines[i], strlen(lines[i]));
    }
}
END_TEST

START_TEST(test_v1_tcp6_longest_fits)
{
    static const char line[] = "PROXY TCP6 "
        "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff "
        "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n";
    struct proxyproto p;

    ck_assert_uint_eq(strlen(line), 104);
    ck_assert_int_eq(parse_s(line, &p), 104);
    ck_assert_str_eq(fmt(&p.src), "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
}
END_TEST

START_TEST(test_v1_leaves_request_bytes)
{
    static const char line[] = "PROXY TCP4 192.0.2.1 198.51.100.2 56324 443\r\n";
    static const char req[] = "GET / HTTP/1.1\r\nHost: a\r\n\r\n";
    char              buf[256], copy[256];
    struct proxyproto p;
    size_t            hl = strlen(line), len;

    len = (size_t)snprintf(buf, sizeof(buf), "%s%s", line, req);
    memcpy(copy, buf, len);
    ck_assert_int_eq(parse_n(buf, len, &p), (int)hl);
    ck_assert_mem_eq(buf, copy, len);
    ck_assert_mem_eq(buf + hl, req, strlen(req));
    /* Even a second header after the first is the client's business. */
    len = (size_t)snprintf(buf, sizeof(buf), "%s%s", line, line);
    ck_assert_int_eq(parse_n(buf, len, &p), (int)hl);
    assert_incremental(buf, len);
}
END_TEST

START_TEST(test_v1_malformed)
{
    static const char *const bad[] = {
        "proxy TCP4 192.0.2.1 198.51.100.2 56324 443\r\n",
        "Proxy TCP4 192.0.2.1 198.51.100.2 56324 443\r\n",
        "PROXY tcp4 192.0.2.1 198.51.100.2 56324 443\r\n",
        "PROXY TCP5 192.0.2.1 198.51.100.2 56324 443\r\n",
        "PROXY UDP4 192.0.2.1 198.51.100.2 56324 443\r\n",
        "PROXY  TCP4 192.0.2.1 198.51.100.2 56324 443\r\n",
        "PROXY TCP4  192.0.2.1 198.51.100.2 56324 443\r\n",
        "PROXY TCP4 192.0.2.1  198.51.100.2 56324 443\r\n",
        "PROXY TCP4 192.0.2.1 198.51.100.2  56324 443\r\n",
        "PROXY TCP4 192.0.2.1 198.51.100.2 56324  443\r\n",
        "PROXY TCP4 192.0.2.1 198.51.100.2 56324 443 \r\n",
        "PROXY\tTCP4 192.0.2.1 198.51.100.2 56324 443\r\n",
        "PROXY TCP4\t192.0.2.1 198.51.100.2 56324 443\r\n",
        " PROXY TCP4 192.0.2.1 198.51.100.2 56324 443\r\n",
        "PROXY TCP4 192.0.2.1 198.51.100.2 56324 443\n",
        "PROXY TCP4 192.0.2.1 198.51.100.2 56324 443\r\r\n",
        "PROXY TCP4 192.0.2.1 198.51.100.2 56324 443\rX",
        "PROXY TCP4 192.0.2.1 198.51.100.2 56324\r\n",
        "PROXY TCP4 192.0.2.1 198.51.100.2 56324 443 80\r\n",
        "PROXY TCP4 192.0.2.1 198.51.100.2\r\n",
        "PROXY TCP4\r\n",
        "PROXY\r\n",
        "PROXY \r\n",
        "PROXY TCP4 192.0.2.1 198.51.100.2 056324 443\r\n",
        "PROXY TCP4 192.0.2.1 198.51.100.2 56324 0443\r\n",
        "PROXY TCP4 192.0.2.1 198.51.100.2 00 443\r\n",
        "PROXY TCP4 192.0.2.1 198.51.100.2 65536 443\r\n",
        "PROXY TCP4 192.0.2.1 198.51.100.2 56324 99999\r\n",
        "PROXY TCP4 192.0.2.1 198.51.100.2 56324 123456\r\n",
        "PROXY TCP4 192.0.2.1 198.51.100.2 -1 443\r\n",
        "PROXY TCP4 192.0.2.1 198.51.100.2 +1 443\r\n",
        "PROXY TCP4 192.0.2.1 198.51.100.2 0x1 443\r\n",
        "PROXY TCP4 2001:db8::1 198.51.100.2 56324 443\r\n",
        "PROXY TCP4 192.0.2.1 2001:db8::2 56324 443\r\n",
        "PROXY TCP4 ::ffff:192.0.2.1 198.51.100.2 56324 443\r\n",
        "PROXY TCP6 192.0.2.1 2001:db8::2 56324 443\r\n",
        "PROXY TCP6 2001:db8::1 198.51.100.2 56324 443\r\n",
        "PROXY TCP6 [2001:db8::1] [2001:db8::2] 56324 443\r\n",
        "PROXY TCP6 fe80::1%eth0 2001:db8::2 56324 443\r\n",
        "PROXY TCP4 192.0.2.01 198.51.100.2 56324 443\r\n",
        "PROXY TCP4 192.0.2.256 198.51.100.2 56324 443\r\n",
        "PROXY TCP4 192.0.2 198.51.100.2 56324 443\r\n",
        "PROXY TCP4 192.0.2.1:56324 198.51.100.2:443\r\n",
        "PROXY UNKNOWN\n",
        "PROXY UNKNOWN\rX",
        "PROXY UNKNOWN\r\r\n",
        "PROXY UNKNOWNX\r\n",
        "PROXY UNKNOWN a\nb\r\n",
        "PROXY UNKNOWN a\rb\r\n",
        "PROXY UNKNOW\r\n",
        "PROXY TCP\r\n",
        "GET / HTTP/1.1\r\n",
        "\n",
    };
    struct proxyproto p;
    size_t            i;

    for (i = 0; i < NELEM(bad); i++) {
        ck_assert_msg(parse_s(bad[i], &p) == PROXYPROTO_INVALID, "%s", bad[i]);
        assert_incremental(bad[i], strlen(bad[i]));
    }
    /* A NUL is no address character. */
    ck_assert_int_eq(parse_n("PROXY TCP4 192.0.2.1\0 198.51.100.2 1 2\r\n", 40,
        &p), PROXYPROTO_INVALID);
}
END_TEST

/* Invalid at the first byte that proves it, not at the line end. */
START_TEST(test_v1_invalid_as_early_as_proven)
{
    static const struct {
        const char *in;
        size_t      at;
    } cases[] = {
        { "GET / HTTP/1.1\r\n", 1 },
        { "proxy TCP4", 1 },
        { "PROXX TCP4", 5 },
        { "PROXY  TCP4", 7 },
        { "PROXY TCP5 ", 10 },
        { "PROXY TCP4\r\n", 11 },
        { "PROXY UNKNOWNX", 14 },
        { "PROXY TCP4 2001:db8::1 ", 15 },        /* 2001 > 255 */
        { "PROXY TCP4 192.0.2.1  ", 22 },
        { "PROXY TCP4 192.0.2.256 ", 22 },
        { "PROXY TCP4 192.0.2.1 198.51.100.2 01", 36 },
        { "PROXY TCP4 192.0.2.1 198.51.100.2 0 0 ", 38 },
        { "PROXY TCP4 192.0.2.1 198.51.100.2 65536", 39 },
        { "PROXY TCP4 192.0.2.1 198.51.100.2 1 2\n", 38 },
        { "PROXY TCP4 192.0.2.1 198.51.100.2 1 2 ", 38 },
        { "PROXY TCP4 192.0.2.1 198.51.100.2 1 2\rX", 39 },
        /* Valid so far: never invalid. */
        { "PROXY TCP4 192.0.2.1 198.51.100.2 0", 36 },
    };
    size_t i;

    for (i = 0; i < NELEM(cases); i++)
        ck_assert_msg(first_invalid(cases[i].in, strlen(cases[i].in)) ==
            cases[i].at, "%s: %zu", cases[i].in,
            first_invalid(cases[i].in, strlen(cases[i].in)));
}
END_TEST

START_TEST(test_v1_without_crlf_in_107_bytes)
{
    char              buf[300];
    struct proxyproto p;
    size_t            k;

    memset(buf, 'x', sizeof(buf));
    memcpy(buf, "PROXY UNKNOWN ", 14);
    for (k = 0; k < 107; k++)
        ck_assert_int_eq(parse_n(buf, k, &p), PROXYPROTO_AGAIN);
    ck_assert_int_eq(parse_n(buf, 107, &p), PROXYPROTO_INVALID);
    ck_assert_int_eq(parse_n(buf, sizeof(buf), &p), PROXYPROTO_INVALID);
    /* CR as byte 107, LF as 108: one too many. */
    buf[105] = '\r';
    buf[106] = '\n';
    ck_assert_int_eq(parse_n(buf, 107, &p), 107);
    buf[105] = 'x';
    buf[106] = '\r';
    buf[107] = '\n';
    ck_assert_int_eq(parse_n(buf, 106, &p), PROXYPROTO_AGAIN);
    ck_assert_int_eq(parse_n(buf, 108, &p), PROXYPROTO_INVALID);
}
END_TEST

/* Valid addresses, but too long for a line in the embedded-IPv4 form. */
START_TEST(test_v1_tcp6_over_107_bytes)
{
    static const char line[] = "PROXY TCP6 "
        "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255 "
        "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255 65535 65535\r\n";
    struct proxyproto p;

    ck_assert_uint_gt(strlen(line), 107);
    ck_assert_int_eq(parse_s(line, &p), PROXYPROTO_INVALID);
    ck_assert_uint_eq(first_invalid(line, strlen(line)), 107);
}
END_TEST

/* ---- version 2 ---------------------------------------------------------- */

START_TEST(test_v2_local)
{
    struct v2         h;
    struct proxyproto p;

    v2_start(&h, 0x20, 0x00, 0);
    ck_assert_int_eq(parse_n(h.b, h.len, &p), 16);
    ck_assert_int_eq(p.version, 2);
    ck_assert_int_eq(p.command, PROXYPROTO_LOCAL);
    ck_assert_int_eq(p.src.family, 0);
    assert_incremental(h.b, h.len);

    /* LOCAL skips the rest, whatever the family byte or the bytes say. */
    v2_start(&h, 0x20, 0xff, 5);
    v2_add(&h, "\xff\xff\xff\xff\xff", 5);
    ck_assert_int_eq(parse_n(h.b, h.len, &p), 21);
    ck_assert_int_eq(p.command, PROXYPROTO_LOCAL);
    assert_incremental(h.b, h.len);
}
END_TEST

START_TEST(test_v2_tcp4)
{
    struct v2         h;
    struct proxyproto p;

    v2_tcp4(&h, 0);
    ck_assert_int_eq(parse_n(h.b, h.len, &p), 28);
    ck_assert_int_eq(p.version, 2);
    ck_assert_int_eq(p.command, PROXYPROTO_PROXY);
    ck_assert_int_eq(p.src.family, AF_INET);
    ck_assert_str_eq(fmt(&p.src), "192.0.2.1");
    ck_assert_str_eq(fmt(&p.dst), "198.51.100.2");
    ck_assert_uint_eq(p.src_port, 56324);
    ck_assert_uint_eq(p.dst_port, 443);
    assert_incremental(h.b, h.len);
}
END_TEST

START_TEST(test_v2_tcp6)
{
    static const uint8_t block[36] = {
        0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01,
        0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02,
        0x00, 0x01, 0xff, 0xff,
    };
    struct v2         h;
    struct proxyproto p;

    v2_start(&h, 0x21, 0x21, sizeof(block));
    v2_add(&h, block, sizeof(block));
    ck_assert_int_eq(parse_n(h.b, h.len, &p), 52);
    ck_assert_int_eq(p.command, PROXYPROTO_PROXY);
    ck_assert_int_eq(p.src.family, AF_INET6);
    ck_assert_str_eq(fmt(&p.src), "2001:db8::1");
    ck_assert_str_eq(fmt(&p.dst), "2001:db8::2");
    ck_assert_uint_eq(p.src_port, 1);
    ck_assert_uint_eq(p.dst_port, 65535);
    assert_incremental(h.b, h.len);
}
END_TEST

START_TEST(test_v2_tcp6_mapped_is_ipv4)
{
    static const uint8_t block[36] = {
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0, 2, 1,
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 198, 51, 100, 2,
        0x00, 0x50, 0x1f, 0x90,
    };
    struct v2         h;
    struct proxyproto p;

    v2_start(&h, 0x21, 0x21, sizeof(block));
    v2_add(&h, block, sizeof(block));
    ck_assert_int_eq(parse_n(h.b, h.len, &p), 52);
    ck_assert_int_eq(p.src.family, AF_INET);
    ck_assert_str_eq(fmt(&p.src), "192.0.2.1");
    ck_assert_str_eq(fmt(&p.dst), "198.51.100.2");
    ck_assert_uint_eq(p.src_port, 80);
    ck_assert_uint_eq(p.dst_port, 8080);
}
END_TEST

START_TEST(test_v2_tlvs_are_skipped)
{
    struct v2         h;
    struct proxyproto p;

    /* NOOP with 3 bytes, ALPN "h2", an empty AUTHORITY. */
    v2_tcp4(&h, 6 + 5 + 3);
    v2_add(&h, "\x04\x00\x03" "abc", 6);
    v2_add(&h, "\x01\x00\x02" "h2", 5);
    v2_add(&h, "\x02\x00\x00", 3);
    ck_assert_int_eq(parse_n(h.b, h.len, &p), 42);
    ck_assert_int_eq(p.command, PROXYPROTO_PROXY);
    ck_assert_str_eq(fmt(&p.src), "192.0.2.1");
    ck_assert_uint_eq(p.dst_port, 443);
    assert_incremental(h.b, h.len);
}
END_TEST

START_TEST(test_v2_unknown_families)
{
    static const uint8_t fams[] = {
        0x00, 0x01, 0x02, 0x10, 0x12, 0x20, 0x22, 0x30, 0x31, 0x32,
    };
    static const uint8_t zeros[216];
    struct v2            h;
    struct proxyproto    p;
    size_t               i, alen;

    for (i = 0; i < NELEM(fams); i++) {
        alen = (fams[i] >> 4) == 1 ? 12 : (fams[i] >> 4) == 2 ? 36 :
            (fams[i] >> 4) == 3 ? 216 : 0;
        v2_start(&h, 0x21, fams[i], alen);
        v2_add(&h, zeros, alen);
        ck_assert_msg(parse_n(h.b, h.len, &p) == (int)(16 + alen), "%02x",
            fams[i]);
        ck_assert_int_eq(p.version, 2);
        ck_assert_int_eq(p.command, PROXYPROTO_UNKNOWN);
        ck_assert_int_eq(p.src.family, 0);
        assert_incremental(h.b, h.len);
    }
    /* AF_UNSPEC with TLVs only. */
    v2_start(&h, 0x21, 0x00, 4);
    v2_add(&h, "\x04\x00\x01" "x", 4);
    ck_assert_int_eq(parse_n(h.b, h.len, &p), 20);
    ck_assert_int_eq(p.command, PROXYPROTO_UNKNOWN);
}
END_TEST

START_TEST(test_v2_size_cap)
{
    struct v2         h;
    struct proxyproto p;
    static uint8_t    fill[PROXYPROTO_V2_MAX];
    size_t            tlv = PROXYPROTO_V2_MAX - 28 - 3;

    /* One NOOP TLV filling the header to exactly 4096 bytes. */
    v2_tcp4(&h, 3 + tlv);
    v2_add(&h, (const uint8_t []){ 0x04, (uint8_t)(tlv >> 8), (uint8_t)tlv }, 3);
    v2_add(&h, fill, tlv);
    ck_assert_uint_eq(h.len, PROXYPROTO_V2_MAX);
    ck_assert_int_eq(parse_n(h.b, h.len, &p), PROXYPROTO_V2_MAX);
    ck_assert_int_eq(parse_n(h.b, h.len - 1, &p), PROXYPROTO_AGAIN);

    /* One byte more is refused as soon as the length is read. */
    v2_tcp4(&h, 4 + tlv);
    ck_assert_uint_eq(first_invalid(h.b, 16), 16);
    v2_start(&h, 0x21, 0x11, 0xffff);
    ck_assert_uint_eq(first_invalid(h.b, 16), 16);
    v2_start(&h, 0x20, 0x00, 0xffff);
    ck_assert_uint_eq(first_invalid(h.b, 16), 16);
}
END_TEST

START_TEST(test_v2_leaves_request_bytes)
{
    static const char req[] = "GET / HTTP/1.1\r\nHost: a\r\n\r\n";
    struct v2         h;
    struct proxyproto p;
    uint8_t           copy[128];

    v2_tcp4(&h, 0);
    v2_add(&h, req, strlen(req));
    memcpy(copy, h.b, h.len);
    ck_assert_int_eq(parse_n(h.b, h.len, &p), 28);
    ck_assert_mem_eq(h.b, copy, h.len);
    ck_assert_mem_eq(h.b + 28, req, strlen(req));
    assert_incremental(h.b, h.len);
}
END_TEST

START_TEST(test_v2_bad_signature_at_each_byte)
{
    struct v2         h;
    struct proxyproto p;
    size_t            i;

    for (i = 0; i < V2_SIG_LEN; i++) {
        v2_tcp4(&h, 0);
        h.b[i] ^= 0x20;
        ck_assert_int_eq(parse_n(h.b, h.len, &p), PROXYPROTO_INVALID);
        ck_assert_uint_eq(first_invalid(h.b, h.len), i + 1);
    }
    /* A v1 signature cannot continue as v2, nor the reverse. */
    ck_assert_int_eq(parse_n("\r\nPROXY", 7, &p), PROXYPROTO_INVALID);
    ck_assert_int_eq(parse_n("\r\n\r\n\r", 5, &p), PROXYPROTO_INVALID);
    ck_assert_int_eq(parse_n("\r\n\r\n\0", 5, &p), PROXYPROTO_AGAIN);
}
END_TEST

START_TEST(test_v2_bad_version_or_command)
{
    static const uint8_t bad[] = {
        0x11, 0x10, 0x31, 0x30, 0x01, 0xf1, 0x22, 0x2f, 0x12, 0x00,
    };
    struct v2         h;
    struct proxyproto p;
    size_t            i;

    for (i = 0; i < NELEM(bad); i++) {
        v2_tcp4(&h, 0);
        h.b[12] = bad[i];
        ck_assert_msg(parse_n(h.b, h.len, &p) == PROXYPROTO_INVALID, "%02x",
            bad[i]);
        ck_assert_uint_eq(first_invalid(h.b, h.len), 13);
    }
}
END_TEST

START_TEST(test_v2_bad_family_or_transport)
{
    static const uint8_t bad[] = { 0x41, 0x51, 0xf1, 0x13, 0x1f, 0x23, 0x03, 0xff };
    struct v2         h;
    struct proxyproto p;
    size_t            i;

    for (i = 0; i < NELEM(bad); i++) {
        v2_tcp4(&h, 0);
        h.b[13] = bad[i];
        ck_assert_msg(parse_n(h.b, h.len, &p) == PROXYPROTO_INVALID, "%02x",
            bad[i]);
        ck_assert_uint_eq(first_invalid(h.b, h.len), 14);
    }
}
END_TEST

START_TEST(test_v2_address_block_too_short)
{
    static const struct {
        uint8_t fam;
        size_t  len;
    } cases[] = {
        { 0x11, 0 }, { 0x11, 11 }, { 0x12, 11 }, { 0x21, 12 }, { 0x21, 35 },
        { 0x22, 35 }, { 0x31, 215 }, { 0x32, 0 },
    };
    static const uint8_t zeros[300];
    struct v2            h;
    struct proxyproto    p;
    size_t               i;

    for (i = 0; i < NELEM(cases); i++) {
        v2_start(&h, 0x21, cases[i].fam, cases[i].len);
        v2_add(&h, zeros, cases[i].len);
        ck_assert_msg(parse_n(h.b, h.len, &p) == PROXYPROTO_INVALID, "%02x %zu",
            cases[i].fam, cases[i].len);
        /* The length alone proves it. */
        ck_assert_uint_eq(first_invalid(h.b, h.len), 16);
    }
}
END_TEST

START_TEST(test_v2_bad_tlvs)
{
    struct v2         h;
    struct proxyproto p;

    /* Two bytes after the addresses: no room for a TLV header. */
    v2_tcp4(&h, 2);
    v2_add(&h, "\x04\x00", 2);
    ck_assert_int_eq(parse_n(h.b, h.len, &p), PROXYPROTO_INVALID);
    ck_assert_uint_eq(first_invalid(h.b, h.len), 16);

    /* A TLV running past the block: refused once its header is read. */
    v2_tcp4(&h, 3 + 4);
    v2_add(&h, "\x04\x00\x05" "abcd", 7);
    ck_assert_int_eq(parse_n(h.b, h.len, &p), PROXYPROTO_INVALID);
    ck_assert_uint_eq(first_invalid(h.b, h.len), 31);

    /* A second TLV cut short. */
    v2_tcp4(&h, 4 + 2);
    v2_add(&h, "\x04\x00\x01" "a" "\x04\x00", 6);
    ck_assert_int_eq(parse_n(h.b, h.len, &p), PROXYPROTO_INVALID);
    ck_assert_uint_eq(first_invalid(h.b, h.len), 31);

    /* AF_UNSPEC: the whole block must be TLVs. */
    v2_start(&h, 0x21, 0x00, 1);
    v2_add(&h, "x", 1);
    ck_assert_int_eq(parse_n(h.b, h.len, &p), PROXYPROTO_INVALID);
}
END_TEST

START_TEST(test_v2_truncated_is_again)
{
    struct v2         h;
    struct proxyproto p, zero;
    size_t            k;

    memset(&zero, 0, sizeof(zero));
    v2_tcp4(&h, 5);
    v2_add(&h, "\x01\x00\x02" "h2", 5);
    for (k = 0; k < h.len; k++) {
        ck_assert_int_eq(parse_n(h.b, k, &p), PROXYPROTO_AGAIN);
        ck_assert_mem_eq(&p, &zero, sizeof(p));
    }
    ck_assert_int_eq(parse_n(h.b, h.len, &p), 33);
}
END_TEST

START_TEST(test_empty_and_dispatch)
{
    struct proxyproto p;

    ck_assert_int_eq(parse_n("", 0, &p), PROXYPROTO_AGAIN);
    ck_assert_int_eq(parse_n("P", 1, &p), PROXYPROTO_AGAIN);
    ck_assert_int_eq(parse_n("\r", 1, &p), PROXYPROTO_AGAIN);
    ck_assert_int_eq(parse_n("\x16\x03\x01", 3, &p), PROXYPROTO_INVALID);
    ck_assert_int_eq(parse_n("\0", 1, &p), PROXYPROTO_INVALID);
}
END_TEST

static Suite *
proxyproto_suite(void)
{
    Suite *s = suite_create("proxyproto");
    TCase *tc;

    tc = tcase_create("v1");
    tcase_add_test(tc, test_v1_tcp4);
    tcase_add_test(tc, test_v1_tcp6);
    tcase_add_test(tc, test_v1_tcp6_mapped_is_ipv4);
    tcase_add_test(tc, test_v1_zero_ports_and_addresses);
    tcase_add_test(tc, test_v1_unknown);
    tcase_add_test(tc, test_v1_tcp6_longest_fits);
    tcase_add_test(tc, test_v1_leaves_request_bytes);
    tcase_add_test(tc, test_v1_malformed);
    tcase_add_test(tc, test_v1_invalid_as_early_as_proven);
    tcase_add_test(tc, test_v1_without_crlf_in_107_bytes);
    tcase_add_test(tc, test_v1_tcp6_over_107_bytes);
    suite_add_tcase(s, tc);

    tc = tcase_create("v2");
    tcase_add_test(tc, test_v2_local);
    tcase_add_test(tc, test_v2_tcp4);
    tcase_add_test(tc, test_v2_tcp6);
    tcase_add_test(tc, test_v2_tcp6_mapped_is_ipv4);
    tcase_add_test(tc, test_v2_tlvs_are_skipped);
    tcase_add_test(tc, test_v2_unknown_families);
    tcase_add_test(tc, test_v2_size_cap);
    tcase_add_test(tc, test_v2_leaves_request_bytes);
    tcase_add_test(tc, test_v2_bad_signature_at_each_byte);
    tcase_add_test(tc, test_v2_bad_version_or_command);
    tcase_add_test(tc, test_v2_bad_family_or_transport);
    tcase_add_test(tc, test_v2_address_block_too_short);
    tcase_add_test(tc, test_v2_bad_tlvs);
    tcase_add_test(tc, test_v2_truncated_is_again);
    tcase_add_test(tc, test_empty_and_dispatch);
    suite_add_tcase(s, tc);

    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(proxyproto_suite());
    int      failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
