/* SPDX-License-Identifier: MIT */
/*
 * test_netaddr.c - unit tests for client addresses, CIDR blocks and the
 * client behind trusted proxies (src/netaddr.c).
 *
 * Addresses are checked byte for byte and in their formatted form; every
 * rule of netaddr_client() has a test with the rule it must report and
 * the exact address it must choose, including the ways a client tries to
 * choose its own address.  The address grammar is also checked against
 * inet_pton(), which it must agree with.
 */
#include <arpa/inet.h>
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "netaddr.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static struct netaddr   addr(const char *s);
static const char      *fmt(const struct netaddr *a);
static void             assert_addr(const struct netaddr *a, const char *text,
                            int family);
static size_t           trust(const char *list);
static int              client(const char *peer, const char *const *fields,
                            size_t nfields, const char **out);
static int              client1(const char *peer, const char *field,
                            const char **out);
static Suite           *netaddr_suite(void);

static struct netaddr_cidr  T[NETADDR_MAX_CIDRS];
static size_t               NT;

/* A text that must parse. */
static struct netaddr
addr(const char *s)
{
    struct netaddr a;

    ck_assert_msg(netaddr_parse(s, strlen(s), &a) == 0, "%s", s);
    return a;
}

/* The formatted address, in a static buffer. */
static const char *
fmt(const struct netaddr *a)
{
    static char buf[NETADDR_STRLEN];

    ck_assert_int_gt(netaddr_format(a, buf, sizeof(buf)), 0);
    return buf;
}

static void
assert_addr(const struct netaddr *a, const char *text, int family)
{
    ck_assert_int_eq(a->family, family);
    ck_assert_str_eq(fmt(a), text);
}

/* Sets the trusted list T from a configuration value. */
static size_t
trust(const char *list)
{
    char err[256];

    ck_assert_msg(netaddr_cidr_list_parse(list, strlen(list), T, &NT, err,
        sizeof(err)) == 0, "%s", err);
    return NT;
}

/* netaddr_client() for peer and X-Forwarded-For fields, trusting T. */
static int
client(const char *peer, const char *const *fields, size_t nfields,
    const char **out)
{
    struct netaddr p = addr(peer), c;
    size_t         lens[NETADDR_MAX_XFF * 2], i;
    int            rc;

    ck_assert_uint_le(nfields, NELEM(lens));
    for (i = 0; i < nfields; i++)
        lens[i] = fields[i] != NULL ? strlen(fields[i]) : 0;
    rc = netaddr_client(&p, T, NT, fields, lens, nfields, &c);
    *out = fmt(&c);
    return rc;
}

static int
client1(const char *peer, const char *field, const char **out)
{
    const char *fields[1];

    fields[0] = field;
    return client(peer, fields, 1, out);
}

/* ---- addresses ---------------------------------------------------------- */

START_TEST(test_parse_ipv4_bytes)
{
    static const uint8_t want[16] = { 192, 0, 2, 1 };
    struct netaddr a = addr("192.0.2.1");

    ck_assert_int_eq(a.family, AF_INET);
    ck_assert_mem_eq(a.bytes, want, 16);
    assert_addr(&a, "192.0.2.1", AF_INET);
    a = addr("0.0.0.0");
    assert_addr(&a, "0.0.0.0", AF_INET);
    a = addr("255.255.255.255");
    assert_addr(&a, "255.255.255.255", AF_INET);
}
END_TEST

START_TEST(test_parse_ipv4_rejects)
{
    static const char *const bad[] = {
        "", "1", "1.2.3", "1.2.3.", "1.2.3.4.", "1.2.3.4.5", "256.0.0.1",
        "1.2.3.256", "01.2.3.4", "1.02.3.4", "1.2.3.00", "1..2.3", ".1.2.3",
        " 1.2.3.4", "1.2.3.4 ", "1.2.3.-1", "1.2.3.4/8", "a.b.c.d", "1.2.3.4a",
        "0x1.2.3.4", "1234.1.1.1", "[1.2.3.4]", "1.2.3.4:80",
    };
    struct netaddr a;
    size_t         i;

    for (i = 0; i < NELEM(bad); i++)
        ck_assert_msg(netaddr_parse(bad[i], strlen(bad[i]), &a) == -1, "%s",
            bad[i]);
    /* The length is the end, not a NUL. */
    ck_assert_int_eq(netaddr_parse("1.2.3.4\0", 8, &a), -1);
    ck_assert_int_eq(netaddr_parse("1.2.3.45", 7, &a), 0);
    assert_addr(&a, "1.2.3.4", AF_INET);
}
END_TEST

START_TEST(test_parse_ipv6_bytes)
{
    static const uint8_t doc[16] = {
        0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01,
    };
    static const struct {
        const char *in, *out;
    } good[] = {
        { "2001:db8::1", "2001:db8::1" },
        { "2001:0DB8:0000:0000:0000:0000:0000:0001", "2001:db8::1" },
        { "::", "::" },
        { "::1", "::1" },
        { "1::", "1::" },
        { "1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8" },
        { "1:2:3:4:5:6:7::", "1:2:3:4:5:6:7:0" },
        { "::2:3:4:5:6:7:8", "0:2:3:4:5:6:7:8" },
        { "1:2:3:4:5:6:1.2.3.4", "1:2:3:4:5:6:102:304" },
        { "1::5:6:1.2.3.4", "1::5:6:102:304" },
        { "64:ff9b::192.0.2.1", "64:ff9b::c000:201" },
        { "::1.2.3.4", "::1.2.3.4" },        /* IPv4-compatible: still IPv6 */
        { "fe80::abcd:ef01", "fe80::abcd:ef01" },
        { "[2001:db8::1]", "2001:db8::1" },
    };
    struct netaddr a;
    size_t         i;

    a = addr("2001:db8::1");
    ck_assert_int_eq(a.family, AF_INET6);
    ck_assert_mem_eq(a.bytes, doc, 16);
    for (i = 0; i < NELEM(good); i++) {
        a = addr(good[i].in);
        assert_addr(&a, good[i].out, AF_INET6);
    }
}
END_TEST

START_TEST(test_parse_ipv6_rejects)
{
    static const char *const bad[] = {
        ":", ":::", "1:::2", "1::2::3", ":1::", "1:", "1::2:", ":1:2:3:4:5:6:7",
        "1:2:3:4:5:6:7", "1:2:3:4:5:6:7:8:9", "1:2:3:4:5:6:7:8::",
        "::1:2:3:4:5:6:7:8", "1:2:3:4::5:6:7:8", "12345::", "g::", "::g",
        "::1.2.3", "::256.1.1.1", "::01.2.3.4", "1:2:3:4:5:6:7:1.2.3.4",
        "1:2:3:4:5::6:1.2.3.4", "::1.2.3.4:5", "::1.2.3.4.5", "::a.2.3.4",
        "fe80::1%eth0", "[::1", "::1]", "[::1]]", "[[::1]", "[]", " ::1",
        "::1 ", "::ffff:1.2.3.4 ",
    };
    struct netaddr a;
    size_t         i;

    for (i = 0; i < NELEM(bad); i++)
        ck_assert_msg(netaddr_parse(bad[i], strlen(bad[i]), &a) == -1, "%s",
            bad[i]);
}
END_TEST

START_TEST(test_mapped_ipv6_is_ipv4)
{
    static const uint8_t want[16] = { 192, 0, 2, 1 };
    static const char *const forms[] = {
        "::ffff:192.0.2.1", "::FFFF:c000:201", "0:0:0:0:0:ffff:192.0.2.1",
        "[::ffff:192.0.2.1]", "192.0.2.1",
    };
    struct netaddr a, v4 = addr("192.0.2.1");
    size_t         i;

    for (i = 0; i < NELEM(forms); i++) {
        a = addr(forms[i]);
        assert_addr(&a, "192.0.2.1", AF_INET);
        ck_assert_mem_eq(a.bytes, want, 16);
        ck_assert_int_eq(netaddr_cmp(&a, &v4), 0);
    }
    /* Only ::ffff:0:0/96 is mapped. */
    a = addr("::fffe:192.0.2.1");
    assert_addr(&a, "::fffe:c000:201", AF_INET6);
    a = addr("1::ffff:192.0.2.1");
    assert_addr(&a, "1::ffff:c000:201", AF_INET6);
}
END_TEST

START_TEST(test_parse_xff_ports_and_brackets)
{
    static const struct {
        const char *in, *out;
    } good[] = {
        { "192.0.2.1", "192.0.2.1" },
        { "192.0.2.1:8080", "192.0.2.1" },
        { "192.0.2.1:0", "192.0.2.1" },
        { "192.0.2.1:65535", "192.0.2.1" },
        { "2001:db8::1", "2001:db8::1" },
        { "[2001:db8::1]", "2001:db8::1" },
        { "[2001:db8::1]:443", "2001:db8::1" },
        { "[::ffff:192.0.2.1]:443", "192.0.2.1" },
        /* A valid IPv6 address, not 2001:db8::1 port 80. */
        { "2001:db8::1:80", "2001:db8::1:80" },
    };
    static const char *const bad[] = {
        "", "192.0.2.1:", "192.0.2.1:65536", "192.0.2.1:080", "192.0.2.1:-1",
        "192.0.2.1:80:80", "192.0.2.1 :80", "192.0.2.1: 80", ":80",
        "[2001:db8::1]80", "[2001:db8::1]:", "[2001:db8::1]:99999",
        "[2001:db8::1]:80]", "[192.0.2.1]:80", "[2001:db8::1:80", "unknown",
        "_hidden", "192.0.2.1,192.0.2.2", "localhost:80",
    };
    struct netaddr a;
    size_t         i;

    for (i = 0; i < NELEM(good); i++) {
        ck_assert_msg(netaddr_parse_xff(good[i].in, strlen(good[i].in), &a) == 0,
            "%s", good[i].in);
        ck_assert_str_eq(fmt(&a), good[i].out);
    }
    for (i = 0; i < NELEM(bad); i++)
        ck_assert_msg(netaddr_parse_xff(bad[i], strlen(bad[i]), &a) == -1,
            "%s", bad[i]);
    /* Ports are for X-Forwarded-For only. */
    ck_assert_int_eq(netaddr_parse("192.0.2.1:80", 12, &a), -1);
    ck_assert_int_eq(netaddr_parse("[::1]:80", 8, &a), -1);
}
END_TEST

START_TEST(test_scan_says_partial_while_an_address_may_follow)
{
    static const struct {
        int         family;
        const char *in;
        int         rc;
    } cases[] = {
        { AF_INET, "", NETADDR_SCAN_PARTIAL },
        { AF_INET, "192", NETADDR_SCAN_PARTIAL },
        { AF_INET, "192.0.", NETADDR_SCAN_PARTIAL },
        { AF_INET, "192.0.2.1", NETADDR_SCAN_DONE },
        { AF_INET, "192.0.2.1.", NETADDR_SCAN_BAD },
        { AF_INET, "192.0.2.256", NETADDR_SCAN_BAD },
        { AF_INET, "0", NETADDR_SCAN_PARTIAL },
        { AF_INET, "00", NETADDR_SCAN_BAD },
        { AF_INET, "1:", NETADDR_SCAN_BAD },
        { AF_INET6, "", NETADDR_SCAN_PARTIAL },
        { AF_INET6, ":", NETADDR_SCAN_PARTIAL },
        { AF_INET6, ":1", NETADDR_SCAN_BAD },
        { AF_INET6, "2001:db8:", NETADDR_SCAN_PARTIAL },
        { AF_INET6, "2001:db8::", NETADDR_SCAN_DONE },
        { AF_INET6, "2001:db8:::", NETADDR_SCAN_BAD },
        { AF_INET6, "1:2:3:4:5:6:7", NETADDR_SCAN_PARTIAL },
        { AF_INET6, "1:2:3:4:5:6:7:", NETADDR_SCAN_PARTIAL },
        { AF_INET6, "1:2:3:4:5:6:7:8", NETADDR_SCAN_DONE },
        /* Eight groups: neither a ninth nor "::" can follow. */
        { AF_INET6, "1:2:3:4:5:6:7:8:", NETADDR_SCAN_BAD },
        /* Seven beside "::": nothing more fits. */
        { AF_INET6, "1::3:4:5:6:7:8", NETADDR_SCAN_DONE },
        { AF_INET6, "1::3:4:5:6:7:8:", NETADDR_SCAN_BAD },
        { AF_INET6, "::ffff:1.2.", NETADDR_SCAN_PARTIAL },
        { AF_INET6, "::ffff:1.2.3.4", NETADDR_SCAN_DONE },
        { AF_INET6, "::ffff:1.2.3.4:", NETADDR_SCAN_BAD },
        /* A dotted tail where it cannot be the last two groups. */
        { AF_INET6, "1.", NETADDR_SCAN_BAD },
        { AF_INET6, "1:2:3:4:5:6:7:1.", NETADDR_SCAN_BAD },
        { AF_INET6, "12345", NETADDR_SCAN_BAD },
        { AF_INET6, "1.2.3.4", NETADDR_SCAN_BAD },
        { AF_UNSPEC, "1.2.3.4", NETADDR_SCAN_BAD },
    };
    struct netaddr a;
    size_t         i;

    for (i = 0; i < NELEM(cases); i++)
        ck_assert_msg(netaddr_scan(cases[i].family, cases[i].in,
            strlen(cases[i].in), &a) == cases[i].rc, "%s", cases[i].in);
    ck_assert_int_eq(netaddr_scan(AF_INET6, "::ffff:10.0.0.1", 15, &a),
        NETADDR_SCAN_DONE);
    assert_addr(&a, "10.0.0.1", AF_INET);
}
END_TEST

/* Every prefix of a valid address can still become one. */
START_TEST(test_scan_prefixes_of_valid_addresses_are_never_bad)
{
    static const struct {
        int         family;
        const char *in;
    } cases[] = {
        { AF_INET, "255.255.255.255" },
        { AF_INET, "10.0.0.1" },
        { AF_INET6, "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255" },
        { AF_INET6, "1:2:3:4:5:6:7:8" },
        { AF_INET6, "1::" },
        { AF_INET6, "::1:2:3:4:5:6:7" },
        { AF_INET6, "1:2:3::5:6:1.2.3.4" },
    };
    struct netaddr a;
    size_t         i, k, len;

    for (i = 0; i < NELEM(cases); i++) {
        len = strlen(cases[i].in);
        for (k = 0; k < len; k++)
            ck_assert_msg(netaddr_scan(cases[i].family, cases[i].in, k, &a) !=
                NETADDR_SCAN_BAD, "%.*s", (int)k, cases[i].in);
        ck_assert_int_eq(netaddr_scan(cases[i].family, cases[i].in, len, &a),
            NETADDR_SCAN_DONE);
    }
}
END_TEST

/* The grammar is inet_pton()'s: same verdict, same bytes. */
START_TEST(test_scan_agrees_with_inet_pton)
{
    static const char *const texts[] = {
        "1.2.3.4", "01.2.3.4", "1.2.3.04", "0.0.0.0", "1.2.3", "255.255.255.256",
        "::", ":::", "::1", "1::", "1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7::",
        "::2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8::", "::1:2:3:4:5:6:7:8",
        "::1.2.3.4", "::ffff:1.2.3.4", "1:2:3:4:5:6:1.2.3.4",
        "1:2:3:4:5::1.2.3.4", "1:2:3:4:5:6::1.2.3.4", "1:2:3:4:5:6:7:1.2.3.4",
        "1.2.3.4::", "::01.2.3.4", "00000::", "0000::", "a:b:c:d:e:f:a:b",
        ":1::", "1::2:", "1:2", "abcd", "::ffff:1.2.3", "::ffff:1.2.3.4.5",
    };
    struct netaddr a;
    uint8_t        want[16];
    char           z[64];
    size_t         i;
    int            af, want_ok, got;

    for (i = 0; i < NELEM(texts); i++) {
        for (af = 0; af < 2; af++) {
            int family = af == 0 ? AF_INET : AF_INET6;

            snprintf(z, sizeof(z), "%s", texts[i]);
            want_ok = inet_pton(family, z, want) == 1;
            got = netaddr_scan(family, texts[i], strlen(texts[i]), &a);
            ck_assert_msg((got == NETADDR_SCAN_DONE) == want_ok, "%s %d",
                texts[i], family);
            if (want_ok && family == AF_INET)
                ck_assert_mem_eq(a.bytes, want, 4);
            if (want_ok && family == AF_INET6 && a.family == AF_INET6)
                ck_assert_mem_eq(a.bytes, want, 16);
            if (want_ok && family == AF_INET6 && a.family == AF_INET)
                ck_assert_mem_eq(a.bytes, want + 12, 4);
        }
    }
}
END_TEST

START_TEST(test_scan_port)
{
    static const struct {
        const char *in;
        int         rc;
        uint16_t    port;
    } cases[] = {
        { "0", NETADDR_SCAN_DONE, 0 },
        { "1", NETADDR_SCAN_DONE, 1 },
        { "443", NETADDR_SCAN_DONE, 443 },
        { "65535", NETADDR_SCAN_DONE, 65535 },
        { "", NETADDR_SCAN_PARTIAL, 0 },
        { "65536", NETADDR_SCAN_BAD, 0 },
        { "99999", NETADDR_SCAN_BAD, 0 },
        { "123456", NETADDR_SCAN_BAD, 0 },
        { "00", NETADDR_SCAN_BAD, 0 },
        { "080", NETADDR_SCAN_BAD, 0 },
        { "8a", NETADDR_SCAN_BAD, 0 },
        { "-1", NETADDR_SCAN_BAD, 0 },
        { "+1", NETADDR_SCAN_BAD, 0 },
        { " 1", NETADDR_SCAN_BAD, 0 },
    };
    uint16_t port;
    size_t   i;

    for (i = 0; i < NELEM(cases); i++) {
        port = 7;
        ck_assert_msg(netaddr_scan_port(cases[i].in, strlen(cases[i].in),
            &port) == cases[i].rc, "%s", cases[i].in);
        ck_assert_uint_eq(port, cases[i].rc == NETADDR_SCAN_DONE ?
            cases[i].port : 7);
    }
}
END_TEST

START_TEST(test_format_sizes_and_bad_family)
{
    struct netaddr a = addr("192.0.2.1"), bad;
    char           buf[NETADDR_STRLEN];

    ck_assert_int_eq(netaddr_format(&a, buf, 10), 9);
    ck_assert_str_eq(buf, "192.0.2.1");
    ck_assert_int_eq(netaddr_format(&a, buf, 9), -1);
    ck_assert_int_eq(netaddr_format(&a, buf, 0), -1);
    a = addr("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
    ck_assert_int_eq(netaddr_format(&a, buf, sizeof(buf)), 39);
    memset(&bad, 0, sizeof(bad));
    bad.family = AF_UNIX;
    ck_assert_int_eq(netaddr_format(&bad, buf, sizeof(buf)), -1);
}
END_TEST

START_TEST(test_cmp_orders_family_then_bytes)
{
    struct netaddr a = addr("10.0.0.1"), b = addr("10.0.0.2");
    struct netaddr c = addr("::1"), d = addr("::2"), e = addr("255.255.255.255");

    ck_assert_int_lt(netaddr_cmp(&a, &b), 0);
    ck_assert_int_gt(netaddr_cmp(&b, &a), 0);
    ck_assert_int_eq(netaddr_cmp(&a, &a), 0);
    ck_assert_int_lt(netaddr_cmp(&e, &c), 0);
    ck_assert_int_gt(netaddr_cmp(&c, &e), 0);
    ck_assert_int_lt(netaddr_cmp(&c, &d), 0);
}
END_TEST

START_TEST(test_from_sockaddr)
{
    struct sockaddr_storage ss;
    struct sockaddr_in     *sin = (struct sockaddr_in *)&ss;
    struct sockaddr_in6    *sin6 = (struct sockaddr_in6 *)&ss;
    struct netaddr          a;

    memset(&ss, 0, sizeof(ss));
    sin->sin_family = AF_INET;
    sin->sin_port = htons(8080);
    ck_assert_int_eq(inet_pton(AF_INET, "192.0.2.1", &sin->sin_addr), 1);
    ck_assert_int_eq(netaddr_from_sockaddr(&ss, &a), 0);
    assert_addr(&a, "192.0.2.1", AF_INET);

    memset(&ss, 0, sizeof(ss));
    sin6->sin6_family = AF_INET6;
    ck_assert_int_eq(inet_pton(AF_INET6, "2001:db8::1", &sin6->sin6_addr), 1);
    ck_assert_int_eq(netaddr_from_sockaddr(&ss, &a), 0);
    assert_addr(&a, "2001:db8::1", AF_INET6);

    /* An IPv4 client of a dual-stack socket is the same key as over IPv4. */
    ck_assert_int_eq(inet_pton(AF_INET6, "::ffff:192.0.2.1", &sin6->sin6_addr), 1);
    ck_assert_int_eq(netaddr_from_sockaddr(&ss, &a), 0);
    assert_addr(&a, "192.0.2.1", AF_INET);

    memset(&ss, 0, sizeof(ss));
    ss.ss_family = AF_UNIX;
    ck_assert_int_eq(netaddr_from_sockaddr(&ss, &a), -1);
    assert_addr(&a, "0.0.0.0", AF_INET);
}
END_TEST

START_TEST(test_from_bytes)
{
    static const uint8_t v4[4] = { 198, 51, 100, 7 };
    static const uint8_t mapped[16] = {
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 198, 51, 100, 7,
    };
    struct netaddr a;

    ck_assert_int_eq(netaddr_from_bytes(AF_INET, v4, &a), 0);
    assert_addr(&a, "198.51.100.7", AF_INET);
    ck_assert_int_eq(netaddr_from_bytes(AF_INET6, mapped, &a), 0);
    assert_addr(&a, "198.51.100.7", AF_INET);
    ck_assert_int_eq(netaddr_from_bytes(AF_UNIX, mapped, &a), -1);
}
END_TEST

/* ---- CIDR blocks -------------------------------------------------------- */

START_TEST(test_cidr_parse_valid)
{
    static const struct {
        const char *in;
        const char *addr;
        int         family;
        unsigned    prefix;
    } good[] = {
        { "10.0.0.0/8", "10.0.0.0", AF_INET, 8 },
        { "192.168.0.0/16", "192.168.0.0", AF_INET, 16 },
        { "192.0.2.128/25", "192.0.2.128", AF_INET, 25 },
        { "192.0.2.1/32", "192.0.2.1", AF_INET, 32 },
        { "192.0.2.1", "192.0.2.1", AF_INET, 32 },
        { "0.0.0.0/0", "0.0.0.0", AF_INET, 0 },
        { "2001:db8::/32", "2001:db8::", AF_INET6, 32 },
        { "2001:db8::1", "2001:db8::1", AF_INET6, 128 },
        { "::1/128", "::1", AF_INET6, 128 },
        { "::/0", "::", AF_INET6, 0 },
        { "fe80::/10", "fe80::", AF_INET6, 10 },
        { "::ffff:10.0.0.0/104", "10.0.0.0", AF_INET, 8 },
        { "::ffff:0:0/96", "0.0.0.0", AF_INET, 0 },
        { "::ffff:192.0.2.1", "192.0.2.1", AF_INET, 32 },
    };
    struct netaddr_cidr c;
    const char         *why;
    size_t              i;

    for (i = 0; i < NELEM(good); i++) {
        why = NULL;
        ck_assert_msg(netaddr_cidr_parse(good[i].in, strlen(good[i].in), &c,
            &why) == 0, "%s: %s", good[i].in, why);
        assert_addr(&c.addr, good[i].addr, good[i].family);
        ck_assert_uint_eq(c.prefix, good[i].prefix);
    }
}
END_TEST

START_TEST(test_cidr_parse_rejects_with_reason)
{
    static const struct {
        const char *in, *why;
    } bad[] = {
        { "10.0.0.1/8", "host bits set" },
        { "192.0.2.1/24", "host bits set" },
        { "192.0.2.129/25", "host bits set" },
        { "0.0.0.1/0", "host bits set" },
        { "2001:db8::1/32", "host bits set" },
        { "::ffff:10.0.0.0/95", "host bits set" },
        { "10.0.0.0/33", "prefix length over 32 for IPv4" },
        { "10.0.0.0/320", "prefix length over 32 for IPv4" },
        { "::/129", "prefix length over 128 for IPv6" },
        { "::/99999999999999999999", "prefix length over 128 for IPv6" },
        { "10.0.0.0/08", "prefix length has a leading zero" },
        { "10.0.0.0/00", "prefix length has a leading zero" },
        { "10.0.0.0/", "prefix length is not a number" },
        { "10.0.0.0/-1", "prefix length is not a number" },
        { "10.0.0.0/+8", "prefix length is not a number" },
        { "10.0.0.0/ 8", "prefix length is not a number" },
        { "10.0.0.0/8/8", "prefix length is not a number" },
        { "10.0.0.0/8 ", "prefix length is not a number" },
        { "", "not an IP address" },
        { "/8", "not an IP address" },
        { "foo/8", "not an IP address" },
        { "10.0.0/8", "not an IP address" },
        { "[::1]/128", "not an IP address" },
        { "[::1]", "not an IP address" },
        { "10.0.0.0 /8", "not an IP address" },
    };
    struct netaddr_cidr c;
    const char         *why;
    size_t              i;

    for (i = 0; i < NELEM(bad); i++) {
        why = NULL;
        ck_assert_msg(netaddr_cidr_parse(bad[i].in, strlen(bad[i].in), &c,
            &why) == -1, "%s", bad[i].in);
        ck_assert_msg(why != NULL && strcmp(why, bad[i].why) == 0,
            "%s: got \"%s\"", bad[i].in, why);
    }
}
END_TEST

START_TEST(test_cidr_contains)
{
    static const struct {
        const char *block, *addr;
        int         in;
    } cases[] = {
        { "10.0.0.0/8", "10.0.0.0", 1 },
        { "10.0.0.0/8", "10.255.255.255", 1 },
        { "10.0.0.0/8", "11.0.0.0", 0 },
        { "10.0.0.0/8", "9.255.255.255", 0 },
        { "192.0.2.128/25", "192.0.2.128", 1 },
        { "192.0.2.128/25", "192.0.2.255", 1 },
        { "192.0.2.128/25", "192.0.2.127", 0 },
        { "254.0.0.0/7", "255.1.2.3", 1 },
        { "254.0.0.0/7", "253.255.255.255", 0 },
        { "192.0.2.1", "192.0.2.1", 1 },
        { "192.0.2.1", "192.0.2.2", 0 },
        { "0.0.0.0/0", "203.0.113.7", 1 },
        { "0.0.0.0/0", "::1", 0 },
        { "0.0.0.0/0", "::ffff:203.0.113.7", 1 },
        { "::/0", "2001:db8::1", 1 },
        { "::/0", "203.0.113.7", 0 },
        { "::/0", "::ffff:203.0.113.7", 0 },
        { "2001:db8::/32", "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", 1 },
        { "2001:db8::/32", "2001:db9::", 0 },
        { "2001:db8::/33", "2001:db8:7fff::", 1 },
        { "2001:db8::/33", "2001:db8:8000::", 0 },
        { "::1", "::1", 1 },
        { "::1", "::", 0 },
        { "::ffff:10.0.0.0/104", "10.1.2.3", 1 },
        { "::ffff:10.0.0.0/104", "::ffff:10.1.2.3", 1 },
    };
    struct netaddr_cidr c;
    struct netaddr      a;
    const char         *why;
    size_t              i;

    for (i = 0; i < NELEM(cases); i++) {
        ck_assert_int_eq(netaddr_cidr_parse(cases[i].block,
            strlen(cases[i].block), &c, &why), 0);
        a = addr(cases[i].addr);
        ck_assert_msg(netaddr_cidr_contains(&c, &a) == cases[i].in, "%s in %s",
            cases[i].addr, cases[i].block);
    }
}
END_TEST

START_TEST(test_cidr_list_separators)
{
    static const char *const lists[] = {
        "10.0.0.0/8,192.168.0.0/16,::1",
        "10.0.0.0/8, 192.168.0.0/16, ::1",
        "10.0.0.0/8 192.168.0.0/16 ::1",
        " \t10.0.0.0/8 ,\t192.168.0.0/16\t ::1  ",
        "10.0.0.0/8 , 192.168.0.0/16,::1",
    };
    struct netaddr_cidr out[NETADDR_MAX_CIDRS];
    struct netaddr      a;
    char                err[128];
    size_t              i, n;

    for (i = 0; i < NELEM(lists); i++) {
        n = 99;
        ck_assert_msg(netaddr_cidr_list_parse(lists[i], strlen(lists[i]), out,
            &n, err, sizeof(err)) == 0, "%s: %s", lists[i], err);
        ck_assert_uint_eq(n, 3);
        assert_addr(&out[0].addr, "10.0.0.0", AF_INET);
        ck_assert_uint_eq(out[0].prefix, 8);
        assert_addr(&out[1].addr, "192.168.0.0", AF_INET);
        ck_assert_uint_eq(out[1].prefix, 16);
        assert_addr(&out[2].addr, "::1", AF_INET6);
        ck_assert_uint_eq(out[2].prefix, 128);
    }
    a = addr("192.168.7.7");
    ck_assert_int_eq(netaddr_cidr_list_contains(out, 3, &a), 1);
    a = addr("192.169.0.0");
    ck_assert_int_eq(netaddr_cidr_list_contains(out, 3, &a), 0);
    ck_assert_int_eq(netaddr_cidr_list_contains(out, 0, &a), 0);

    n = 99;
    ck_assert_int_eq(netaddr_cidr_list_parse("", 0, out, &n, err, sizeof(err)), 0);
    ck_assert_uint_eq(n, 0);
    n = 99;
    ck_assert_int_eq(netaddr_cidr_list_parse(" \t ", 3, out, &n, err,
        sizeof(err)), 0);
    ck_assert_uint_eq(n, 0);
}
END_TEST

START_TEST(test_cidr_list_errors_name_the_element)
{
    static const struct {
        const char *in, *err;
    } bad[] = {
        { "10.0.0.1/8", "\"10.0.0.1/8\": host bits set (the block is 10.0.0.0/8)" },
        { "10.0.0.0/8, 2001:db8::1/32",
          "\"2001:db8::1/32\": host bits set (the block is 2001:db8::/32)" },
        { "::ffff:10.0.0.1/104",
          "\"::ffff:10.0.0.1/104\": host bits set (the block is ::ffff:10.0.0.0/104)" },
        { "10.0.0.0/8 bogus", "\"bogus\": not an IP address" },
        { "10.0.0.0/33", "\"10.0.0.0/33\": prefix length over 32 for IPv4" },
        { "10.0.0.0/8;192.168.0.0/16",
          "\"10.0.0.0/8;192.168.0.0/16\": prefix length is not a number" },
        { "1.2.3.4\x01", "\"1.2.3.4?\": not an IP address" },
        { "\"1.2.3.4\"", "\"?1.2.3.4?\": not an IP address" },
        { "10.0.0.0/8,,10.1.0.0/16",
          "empty element (a comma at an end, or two in a row)" },
        { "10.0.0.0/8, ,10.1.0.0/16",
          "empty element (a comma at an end, or two in a row)" },
        { ",10.0.0.0/8", "empty element (a comma at an end, or two in a row)" },
        { "10.0.0.0/8,", "empty element (a comma at an end, or two in a row)" },
        { "10.0.0.0/8 , ", "empty element (a comma at an end, or two in a row)" },
        { ",", "empty element (a comma at an end, or two in a row)" },
        { "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
          "\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx...\": "
          "not an IP address" },
    };
    struct netaddr_cidr out[NETADDR_MAX_CIDRS];
    char                err[256];
    size_t              i, n;

    for (i = 0; i < NELEM(bad); i++) {
        n = 99;
        err[0] = '\0';
        ck_assert_msg(netaddr_cidr_list_parse(bad[i].in, strlen(bad[i].in), out,
            &n, err, sizeof(err)) == -1, "%s", bad[i].in);
        ck_assert_str_eq(err, bad[i].err);
        ck_assert_uint_eq(n, 0);
    }
    /* A short buffer gets what fits; none gets nothing. */
    ck_assert_int_eq(netaddr_cidr_list_parse("bogus", 5, out, &n, err, 8), -1);
    ck_assert_str_eq(err, "\"bogus\"");
    ck_assert_int_eq(netaddr_cidr_list_parse("bogus", 5, out, &n, NULL, 0), -1);
    ck_assert_int_eq(netaddr_cidr_list_parse(",", 1, out, &n, NULL, 0), -1);
}
END_TEST

START_TEST(test_cidr_list_holds_64_blocks_not_65)
{
    struct netaddr_cidr out[NETADDR_MAX_CIDRS];
    char                list[NETADDR_MAX_CIDRS * 16 + 16], err[128];
    size_t              i, len = 0, n;

    for (i = 0; i < NETADDR_MAX_CIDRS; i++)
        len += (size_t)snprintf(list + len, sizeof(list) - len, "%s10.0.0.%zu",
            i > 0 ? "," : "", i);
    ck_assert_int_eq(netaddr_cidr_list_parse(list, len, out, &n, err,
        sizeof(err)), 0);
    ck_assert_uint_eq(n, 64);
    assert_addr(&out[63].addr, "10.0.0.63", AF_INET);
    len += (size_t)snprintf(list + len, sizeof(list) - len, " 10.0.0.64");
    ck_assert_int_eq(netaddr_cidr_list_parse(list, len, out, &n, err,
        sizeof(err)), -1);
    ck_assert_str_eq(err, "\"10.0.0.64\": more than 64 blocks");
    ck_assert_uint_eq(n, 0);
}
END_TEST

/* ---- the client behind trusted proxies ---------------------------------- */

START_TEST(test_client_untrusted_peer_ignores_xff)
{
    const char *c;

    trust("10.0.0.0/8");
    /* A client connecting directly cannot claim another address. */
    ck_assert_int_eq(client1("203.0.113.7", "1.2.3.4", &c), NETADDR_CLIENT_PEER);
    ck_assert_str_eq(c, "203.0.113.7");
    ck_assert_int_eq(client1("203.0.113.7", "10.0.0.2", &c), NETADDR_CLIENT_PEER);
    ck_assert_str_eq(c, "203.0.113.7");
    ck_assert_int_eq(client("203.0.113.7", NULL, 0, &c), NETADDR_CLIENT_PEER);
    ck_assert_str_eq(c, "203.0.113.7");
    /* Nothing trusted: always the peer. */
    NT = 0;
    ck_assert_int_eq(client1("10.0.0.1", "1.2.3.4", &c), NETADDR_CLIENT_PEER);
    ck_assert_str_eq(c, "10.0.0.1");
}
END_TEST

START_TEST(test_client_trusted_peer_without_xff_is_peer)
{
    const char *c;

    trust("10.0.0.0/8");
    ck_assert_int_eq(client("10.0.0.1", NULL, 0, &c), NETADDR_CLIENT_NO_XFF);
    ck_assert_str_eq(c, "10.0.0.1");
}
END_TEST

START_TEST(test_client_from_appending_proxy)
{
    const char *c;

    trust("10.0.0.0/8");
    ck_assert_int_eq(client1("10.0.0.1", "203.0.113.7", &c),
        NETADDR_CLIENT_FORWARDED);
    ck_assert_str_eq(c, "203.0.113.7");
}
END_TEST

/* The client sent X-Forwarded-For itself; the proxy appended its address. */
START_TEST(test_client_spoofed_entries_left_of_the_proxy_are_ignored)
{
    const char *c;

    trust("10.0.0.0/8");
    ck_assert_int_eq(client1("10.0.0.1", "1.2.3.4, 203.0.113.7", &c),
        NETADDR_CLIENT_FORWARDED);
    ck_assert_str_eq(c, "203.0.113.7");
    /* Claiming to be a trusted proxy does not help either. */
    ck_assert_int_eq(client1("10.0.0.1", "1.2.3.4, 10.0.0.2, 203.0.113.7", &c),
        NETADDR_CLIENT_FORWARDED);
    ck_assert_str_eq(c, "203.0.113.7");
    /* Nor junk, which is never reached. */
    ck_assert_int_eq(client1("10.0.0.1", "junk, , 203.0.113.7", &c),
        NETADDR_CLIENT_FORWARDED);
    ck_assert_str_eq(c, "203.0.113.7");
}
END_TEST

START_TEST(test_client_chain_of_trusted_proxies)
{
    const char *c;

    trust("10.0.0.0/8, 192.168.0.0/16");
    ck_assert_int_eq(client1("10.0.0.1",
        "198.51.100.1, 203.0.113.7, 192.168.1.1, 10.0.0.3", &c),
        NETADDR_CLIENT_FORWARDED);
    ck_assert_str_eq(c, "203.0.113.7");
}
END_TEST

START_TEST(test_client_all_trusted_is_left_most)
{
    const char *c;

    trust("10.0.0.0/8");
    ck_assert_int_eq(client1("10.0.0.1", "10.0.0.3, 10.0.0.2", &c),
        NETADDR_CLIENT_ALL_TRUSTED);
    ck_assert_str_eq(c, "10.0.0.3");
    ck_assert_int_eq(client1("10.0.0.1", "10.0.0.9", &c),
        NETADDR_CLIENT_ALL_TRUSTED);
    ck_assert_str_eq(c, "10.0.0.9");
}
END_TEST

START_TEST(test_client_malformed_entry_gives_last_trusted_hop)
{
    static const struct {
        const char *xff, *client;
    } cases[] = {
        /* Right-most entry bad: the peer itself. */
        { "junk", "10.0.0.1" },
        { "203.0.113.7, junk", "10.0.0.1" },
        { "", "10.0.0.1" },
        { " \t ", "10.0.0.1" },
        { "203.0.113.7,", "10.0.0.1" },
        { "unknown", "10.0.0.1" },
        { "203.0.113.7:99999", "10.0.0.1" },
        { "1.2.3.4\r\n", "10.0.0.1" },
        /* Further left: the trusted entry to its right. */
        { "203.0.113.7, junk, 10.0.0.2", "10.0.0.2" },
        { "203.0.113.7,, 10.0.0.2", "10.0.0.2" },
        { "203.0.113.7, 10.0.0.4 10.0.0.3, 10.0.0.2", "10.0.0.2" },
        { "_obf, 10.0.0.3, 10.0.0.2", "10.0.0.3" },
    };
    const char *c;
    size_t      i;

    trust("10.0.0.0/8");
    for (i = 0; i < NELEM(cases); i++) {
        ck_assert_msg(client1("10.0.0.1", cases[i].xff, &c) ==
            NETADDR_CLIENT_MALFORMED, "%s", cases[i].xff);
        ck_assert_str_eq(c, cases[i].client);
    }
}
END_TEST

START_TEST(test_client_ows_around_commas)
{
    const char *c;

    trust("10.0.0.0/8");
    ck_assert_int_eq(client1("10.0.0.1", "  203.0.113.7\t,\t 10.0.0.2  ", &c),
        NETADDR_CLIENT_FORWARDED);
    ck_assert_str_eq(c, "203.0.113.7");
    ck_assert_int_eq(client1("10.0.0.1", "203.0.113.7,10.0.0.2", &c),
        NETADDR_CLIENT_FORWARDED);
    ck_assert_str_eq(c, "203.0.113.7");
}
END_TEST

/* Several fields are one list, in order (RFC 9110 section 5.3). */
START_TEST(test_client_multiple_fields_form_one_list)
{
    static const char *const two[] = { "203.0.113.7", "10.0.0.2" };
    static const char *const spoof[] = { "10.0.0.5", "203.0.113.7" };
    static const char *const four[] = {
        "1.2.3.4, 203.0.113.9", "10.0.0.4", "10.0.0.3, 10.0.0.2", "10.0.0.6",
    };
    static const char *const junk[] = { "203.0.113.7", "", "10.0.0.2" };
    static const char *const null[] = { "203.0.113.7", NULL };
    const char *c;

    trust("10.0.0.0/8");
    ck_assert_int_eq(client("10.0.0.1", two, 2, &c), NETADDR_CLIENT_FORWARDED);
    ck_assert_str_eq(c, "203.0.113.7");
    ck_assert_int_eq(client("10.0.0.1", spoof, 2, &c), NETADDR_CLIENT_FORWARDED);
    ck_assert_str_eq(c, "203.0.113.7");
    ck_assert_int_eq(client("10.0.0.1", four, 4, &c), NETADDR_CLIENT_FORWARDED);
    ck_assert_str_eq(c, "203.0.113.9");
    /* An empty field is an empty entry. */
    ck_assert_int_eq(client("10.0.0.1", junk, 3, &c), NETADDR_CLIENT_MALFORMED);
    ck_assert_str_eq(c, "10.0.0.2");
    ck_assert_int_eq(client("10.0.0.1", null, 2, &c), NETADDR_CLIENT_MALFORMED);
    ck_assert_str_eq(c, "10.0.0.1");
}
END_TEST

START_TEST(test_client_ports_and_brackets)
{
    const char *c;

    trust("10.0.0.0/8, 2001:db8:ffff::/48");
    ck_assert_int_eq(client1("10.0.0.1",
        "[2001:db8::7]:1234, 10.0.0.2:80, [2001:db8:ffff::3]:443", &c),
        NETADDR_CLIENT_FORWARDED);
    ck_assert_str_eq(c, "2001:db8::7");
    ck_assert_int_eq(client1("10.0.0.1", "203.0.113.7:5555", &c),
        NETADDR_CLIENT_FORWARDED);
    ck_assert_str_eq(c, "203.0.113.7");
}
END_TEST

START_TEST(test_client_ipv6_and_mapped)
{
    const char *c;

    trust("10.0.0.0/8, 2001:db8:ffff::/48");
    /* A proxy reaching a dual-stack socket over IPv4 is still 10.0.0.1. */
    ck_assert_int_eq(client1("::ffff:10.0.0.1", "::ffff:203.0.113.7", &c),
        NETADDR_CLIENT_FORWARDED);
    ck_assert_str_eq(c, "203.0.113.7");
    ck_assert_int_eq(client1("2001:db8:ffff::1", "2001:db8:1::5", &c),
        NETADDR_CLIENT_FORWARDED);
    ck_assert_str_eq(c, "2001:db8:1::5");
    ck_assert_int_eq(client1("2001:db8:ffff::1",
        "2001:db8:1::5, ::ffff:10.0.0.9", &c), NETADDR_CLIENT_FORWARDED);
    ck_assert_str_eq(c, "2001:db8:1::5");
    /* Not trusted over IPv6. */
    ck_assert_int_eq(client1("2001:db8:fffe::1", "203.0.113.7", &c),
        NETADDR_CLIENT_PEER);
    ck_assert_str_eq(c, "2001:db8:fffe::1");
}
END_TEST

START_TEST(test_client_walk_limit)
{
    char        list[(NETADDR_MAX_XFF + 2) * 16];
    const char *c;
    size_t      i, len = 0;

    trust("10.0.0.0/8");
    /* 64 trusted entries, 10.0.0.64 left-most: all walked. */
    for (i = NETADDR_MAX_XFF; i >= 1; i--)
        len += (size_t)snprintf(list + len, sizeof(list) - len, "%s10.0.0.%zu",
            len > 0 ? ", " : "", i);
    ck_assert_int_eq(client1("10.0.0.1", list, &c), NETADDR_CLIENT_ALL_TRUSTED);
    ck_assert_str_eq(c, "10.0.0.64");
    /* One more, even the real client, is beyond the walk. */
    memmove(list + 13, list, len + 1);
    memcpy(list, "203.0.113.7, ", 13);
    ck_assert_int_eq(client1("10.0.0.1", list, &c), NETADDR_CLIENT_TOO_LONG);
    ck_assert_str_eq(c, "10.0.0.64");
}
END_TEST

START_TEST(test_client_walk_limit_spans_fields)
{
    const char *fields[NETADDR_MAX_XFF + 1];
    const char *c;
    size_t      i;

    trust("10.0.0.0/8");
    for (i = 0; i < NELEM(fields); i++)
        fields[i] = "10.1.1.1";
    fields[1] = "10.2.2.2";
    ck_assert_int_eq(client("10.0.0.1", fields + 1, NETADDR_MAX_XFF, &c),
        NETADDR_CLIENT_ALL_TRUSTED);
    ck_assert_str_eq(c, "10.2.2.2");
    ck_assert_int_eq(client("10.0.0.1", fields, NETADDR_MAX_XFF + 1, &c),
        NETADDR_CLIENT_TOO_LONG);
    ck_assert_str_eq(c, "10.2.2.2");
    /* An untrusted 64th entry is still reached. */
    fields[1] = "203.0.113.7";
    ck_assert_int_eq(client("10.0.0.1", fields, NETADDR_MAX_XFF + 1, &c),
        NETADDR_CLIENT_FORWARDED);
    ck_assert_str_eq(c, "203.0.113.7");
}
END_TEST

static Suite *
netaddr_suite(void)
{
    Suite *s = suite_create("netaddr");
    TCase *tc;

    tc = tcase_create("addresses");
    tcase_add_test(tc, test_parse_ipv4_bytes);
    tcase_add_test(tc, test_parse_ipv4_rejects);
    tcase_add_test(tc, test_parse_ipv6_bytes);
    tcase_add_test(tc, test_parse_ipv6_rejects);
    tcase_add_test(tc, test_mapped_ipv6_is_ipv4);
    tcase_add_test(tc, test_parse_xff_ports_and_brackets);
    tcase_add_test(tc, test_scan_says_partial_while_an_address_may_follow);
    tcase_add_test(tc, test_scan_prefixes_of_valid_addresses_are_never_bad);
    tcase_add_test(tc, test_scan_agrees_with_inet_pton);
    tcase_add_test(tc, test_scan_port);
    tcase_add_test(tc, test_format_sizes_and_bad_family);
    tcase_add_test(tc, test_cmp_orders_family_then_bytes);
    tcase_add_test(tc, test_from_sockaddr);
    tcase_add_test(tc, test_from_bytes);
    suite_add_tcase(s, tc);

    tc = tcase_create("cidr");
    tcase_add_test(tc, test_cidr_parse_valid);
    tcase_add_test(tc, test_cidr_parse_rejects_with_reason);
    tcase_add_test(tc, test_cidr_contains);
    tcase_add_test(tc, test_cidr_list_separators);
    tcase_add_test(tc, test_cidr_list_errors_name_the_element);
    tcase_add_test(tc, test_cidr_list_holds_64_blocks_not_65);
    suite_add_tcase(s, tc);

    tc = tcase_create("client");
    tcase_add_test(tc, test_client_untrusted_peer_ignores_xff);
    tcase_add_test(tc, test_client_trusted_peer_without_xff_is_peer);
    tcase_add_test(tc, test_client_from_appending_proxy);
    tcase_add_test(tc, test_client_spoofed_entries_left_of_the_proxy_are_ignored);
    tcase_add_test(tc, test_client_chain_of_trusted_proxies);
    tcase_add_test(tc, test_client_all_trusted_is_left_most);
    tcase_add_test(tc, test_client_malformed_entry_gives_last_trusted_hop);
    tcase_add_test(tc, test_client_ows_around_commas);
    tcase_add_test(tc, test_client_multiple_fields_form_one_list);
    tcase_add_test(tc, test_client_ports_and_brackets);
    tcase_add_test(tc, test_client_ipv6_and_mapped);
    tcase_add_test(tc, test_client_walk_limit);
    tcase_add_test(tc, test_client_walk_limit_spans_fields);
    suite_add_tcase(s, tc);

    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(netaddr_suite());
    int      failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
