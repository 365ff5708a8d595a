/* SPDX-License-Identifier: MIT */
/*
 * netaddr.c - client addresses, CIDR blocks and X-Forwarded-For; see
 * netaddr.h.
 *
 * Addresses are scanned here rather than by inet_pton() so that the scan
 * can also say whether a text is the start of an address, which the PROXY
 * protocol parser needs to refuse a bad header as early as possible.  The
 * grammar is exactly glibc's inet_pton(): dotted decimal without leading
 * zeros; up to eight groups of one to four hex digits, one "::" standing
 * for at least one zero group, and optionally a dotted-decimal tail
 * standing for the last two groups.  The scanners fail at the first
 * character after which no text could be valid, so NETADDR_SCAN_PARTIAL
 * always has a valid continuation.
 *
 * Scanners give raw bytes; only the public functions normalise an
 * IPv4-mapped address to IPv4 (netaddr.h), so a CIDR block can check its
 * host bits on what was written.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "encoding.h"
#include "netaddr.h"

#define NETADDR_QUOTE_MAX 48    /* bytes of a bad element quoted in errors */

/* Compared by address: the one reason an error message adds a hint to. */
static const char netaddr_why_host_bits[] = "host bits set";

/* Where an IPv6 scan is: what the last character was. */
enum netaddr_v6_last {
    NETADDR_V6_START = 0,   /* nothing yet */
    NETADDR_V6_LEAD,        /* one ':' at the start, another must follow */
    NETADDR_V6_COLON,       /* ':' after a group */
    NETADDR_V6_DCOLON,      /* "::" */
    NETADDR_V6_DIGIT,       /* inside a group */
};

static int  netaddr_scan_decimal(const char *s, size_t len, unsigned max,
                unsigned *out);
static int  netaddr_scan_v4(const char *s, size_t len, uint8_t out[4]);
static int  netaddr_scan_v6(const char *s, size_t len, uint8_t out[16]);
static void netaddr_expand_v6(const uint16_t *groups, unsigned ngroups,
                int dcolon, uint8_t out[16]);
static int  netaddr_scan_raw(const char *s, size_t len, struct netaddr *out);
static void netaddr_normalise(struct netaddr *a);
static int  netaddr_is_blank(unsigned char c);
static int  netaddr_cidr_scan(const char *s, size_t len, struct netaddr *raw,
                unsigned *prefix, const char **why);
static int  netaddr_prefix_len(const char *s, size_t len, unsigned max,
                unsigned *out, const char **why);
static int  netaddr_host_bits_clear(struct netaddr *a, unsigned prefix);
static void netaddr_cidr_make(const struct netaddr *raw, unsigned prefix,
                struct netaddr_cidr *out);
static void netaddr_quote(const char *s, size_t len, char *out, size_t size);
static int  netaddr_list_fail(char *err, size_t errlen, const char *elem,
                size_t elen, const char *why, const char *hint);
static int  netaddr_xff_entry(const char *s, size_t len, struct netaddr *out);


/* 1*DIGIT without a leading zero, at most max (below 2^16). */
static int
netaddr_scan_decimal(const char *s, size_t len, unsigned max, unsigned *out)
{
    unsigned val = 0;
    size_t   i;

    for (i = 0; i < len; i++) {
        unsigned d = (unsigned char)s[i] - '0';

        if (d > 9 || (i == 1 && val == 0))
            return NETADDR_SCAN_BAD;
        val = val * 10 + d;
        if (val > max)
            return NETADDR_SCAN_BAD;
    }
    if (len == 0)
        return NETADDR_SCAN_PARTIAL;
    *out = val;
    return NETADDR_SCAN_DONE;
}

int
netaddr_scan_port(const char *s, size_t len, uint16_t *out)
{
    unsigned v;
    int      rc;

    if ((rc = netaddr_scan_decimal(s, len, 65535, &v)) == NETADDR_SCAN_DONE)
        *out = (uint16_t)v;
    return rc;
}

/* Four decimal octets, 0..255 without leading zeros, separated by dots. */
static int
netaddr_scan_v4(const char *s, size_t len, uint8_t out[4])
{
    size_t   i, start = 0;
    unsigned octets = 0, val;
    int      rc;

    for (i = 0; i < len; i++) {
        if (s[i] != '.')
            continue;
        /* A dot ends an octet: neither an empty one nor the fourth. */
        if (octets == 3 || netaddr_scan_decimal(s + start, i - start, 255,
            &val) != NETADDR_SCAN_DONE)
            return NETADDR_SCAN_BAD;
        out[octets++] = (uint8_t)val;
        start = i + 1;
    }
    rc = netaddr_scan_decimal(s + start, len - start, 255, &val);
    if (rc == NETADDR_SCAN_BAD)
        return rc;
    if (rc == NETADDR_SCAN_PARTIAL || octets < 3)
        return NETADDR_SCAN_PARTIAL;
    out[3] = (uint8_t)val;
    return NETADDR_SCAN_DONE;
}

/*
 * RFC 4291 section 2.2 text.  A group may start only if it still fits:
 * eight in all, or seven beside "::" (which stands for at least one zero
 * group, as in inet_pton()).  A dotted-decimal tail takes two groups and
 * must end the text.
 */
static int
netaddr_scan_v6(const char *s, size_t len, uint8_t out[16])
{
    enum netaddr_v6_last last = NETADDR_V6_START;
    uint16_t groups[8];
    uint8_t  v4[4];
    unsigned g = 0, digits = 0, val = 0, max;
    size_t   i, tok = 0;
    int      d, dcolon = -1, rc;

    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];

        max = dcolon >= 0 ? 7 : 8;
        if ((d = encoding_hex_digit(c)) >= 0) {
            if (last == NETADDR_V6_LEAD || digits == 4)
                return NETADDR_SCAN_BAD;
            if (digits == 0) {
                if (g + 1 > max)
                    return NETADDR_SCAN_BAD;
                tok = i;
            }
            val = val << 4 | (unsigned)d;
            digits++;
            last = NETADDR_V6_DIGIT;
        } else if (c == ':') {
            switch (last) {
            case NETADDR_V6_START:
                last = NETADDR_V6_LEAD;
                break;
            case NETADDR_V6_LEAD:
            case NETADDR_V6_COLON:
                if (dcolon >= 0 || g > 7)
                    return NETADDR_SCAN_BAD;
                dcolon = (int)g;
                last = NETADDR_V6_DCOLON;
                break;
            case NETADDR_V6_DCOLON:
                return NETADDR_SCAN_BAD;
            case NETADDR_V6_DIGIT:
                /* Another group, or "::", must still fit after it. */
                if (g + 2 > max)
                    return NETADDR_SCAN_BAD;
                groups[g++] = (uint16_t)val;
                digits = 0;
                val = 0;
                last = NETADDR_V6_COLON;
                break;
            }
        } else if (c == '.' && last == NETADDR_V6_DIGIT) {
            if (dcolon >= 0 ? g + 2 > 7 : g + 2 != 8)
                return NETADDR_SCAN_BAD;
            if ((rc = netaddr_scan_v4(s + tok, len - tok, v4)) !=
                NETADDR_SCAN_DONE)
                return rc;
            groups[g++] = (uint16_t)(v4[0] << 8 | v4[1]);
            groups[g++] = (uint16_t)(v4[2] << 8 | v4[3]);
            netaddr_expand_v6(groups, g, dcolon, out);
            return NETADDR_SCAN_DONE;
        } else {
            return NETADDR_SCAN_BAD;
        }
    }
    if (last == NETADDR_V6_DIGIT)
        groups[g++] = (uint16_t)val;
    else if (last != NETADDR_V6_DCOLON)
        return NETADDR_SCAN_PARTIAL;
    if (dcolon < 0 && g != 8)
        return NETADDR_SCAN_PARTIAL;
    netaddr_expand_v6(groups, g, dcolon, out);
    return NETADDR_SCAN_DONE;
}

/* Groups to bytes, the zeros of "::" (before group dcolon, or none) inserted. */
static void
netaddr_expand_v6(const uint16_t *groups, unsigned ngroups, int dcolon,
    uint8_t out[16])
{
    unsigned i, at;

    memset(out, 0, 16);
    for (i = 0; i < ngroups; i++) {
        at = dcolon >= 0 && i >= (unsigned)dcolon ? 8 - ngroups + i : i;
        out[2 * at] = (uint8_t)(groups[i] >> 8);
        out[2 * at + 1] = (uint8_t)groups[i];
    }
}

int
netaddr_scan(int family, const char *s, size_t len, struct netaddr *out)
{
    struct netaddr a;
    int            rc;

    memset(&a, 0, sizeof(a));
    a.family = family;
    if (family == AF_INET)
        rc = netaddr_scan_v4(s, len, a.bytes);
    else if (family == AF_INET6)
        rc = netaddr_scan_v6(s, len, a.bytes);
    else
        return NETADDR_SCAN_BAD;
    if (rc == NETADDR_SCAN_DONE) {
        netaddr_normalise(&a);
        *out = a;
    }
    return rc;
}

/* An IPv4 or IPv6 address as written, not normalised.  0 or -1. */
static int
netaddr_scan_raw(const char *s, size_t len, struct netaddr *out)
{
    memset(out, 0, sizeof(*out));
    out->family = AF_INET;
    if (netaddr_scan_v4(s, len, out->bytes) == NETADDR_SCAN_DONE)
        return 0;
    memset(out, 0, sizeof(*out));
    out->family = AF_INET6;
    if (netaddr_scan_v6(s, len, out->bytes) == NETADDR_SCAN_DONE)
        return 0;
    return -1;
}

static void
netaddr_normalise(struct netaddr *a)
{
    static const uint8_t mapped[12] = {
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff,
    };

    if (a->family != AF_INET6 || memcmp(a->bytes, mapped, sizeof(mapped)) != 0)
        return;
    a->family = AF_INET;
    memmove(a->bytes, a->bytes + 12, 4);
    memset(a->bytes + 4, 0, 12);
}

int
netaddr_parse(const char *s, size_t len, struct netaddr *out)
{
    struct netaddr a;

    if (len >= 2 && s[0] == '[' && s[len - 1] == ']') {
        if (netaddr_scan(AF_INET6, s + 1, len - 2, &a) != NETADDR_SCAN_DONE)
            return -1;
    } else {
        if (netaddr_scan_raw(s, len, &a) == -1)
            return -1;
        netaddr_normalise(&a);
    }
    *out = a;
    return 0;
}

int
netaddr_parse_xff(const char *s, size_t len, struct netaddr *out)
{
    struct netaddr a;
    const char    *close;
    uint16_t       port;
    size_t         colon;

    if (netaddr_parse(s, len, out) == 0)
        return 0;
    if (len > 0 && s[0] == '[') {
        /* "[v6]:port": the address ends at the first ']'. */
        if ((close = memchr(s, ']', len)) == NULL)
            return -1;
        colon = (size_t)(close - s) + 1;
        if (colon == len || s[colon] != ':' ||
            netaddr_parse(s, colon, &a) == -1)
            return -1;
    } else {
        /* "v4:port": an IPv6 address with a port needs brackets. */
        for (colon = len; colon > 0 && s[colon - 1] != ':'; colon--)
            ;
        if (colon == 0)
            return -1;
        colon--;
        memset(&a, 0, sizeof(a));
        a.family = AF_INET;
        if (netaddr_scan_v4(s, colon, a.bytes) != NETADDR_SCAN_DONE)
            return -1;
    }
    if (netaddr_scan_port(s + colon + 1, len - colon - 1, &port) !=
        NETADDR_SCAN_DONE)
        return -1;
    *out = a;
    return 0;
}

int
netaddr_format(const struct netaddr *a, char *out, size_t size)
{
    if ((a->family != AF_INET && a->family != AF_INET6) || size == 0)
        return -1;
    /* More room than any address needs is not more to tell inet_ntop(). */
    if (size > NETADDR_STRLEN)
        size = NETADDR_STRLEN;
    if (inet_ntop(a->family, a->bytes, out, (socklen_t)size) == NULL)
        return -1;
    return (int)strlen(out);
}

int
netaddr_cmp(const struct netaddr *a, const struct netaddr *b)
{
    if (a->family != b->family)
        return a->family == AF_INET ? -1 : 1;
    return memcmp(a->bytes, b->bytes, a->family == AF_INET ? 4 : 16);
}

int
netaddr_from_bytes(int family, const void *bytes, struct netaddr *out)
{
    memset(out, 0, sizeof(*out));
    out->family = AF_INET;
    if (family == AF_INET) {
        memcpy(out->bytes, bytes, 4);
        return 0;
    }
    if (family != AF_INET6)
        return -1;      /* *out is still a valid netaddr: 0.0.0.0 */
    out->family = AF_INET6;
    memcpy(out->bytes, bytes, 16);
    netaddr_normalise(out);
    return 0;
}

int
netaddr_from_sockaddr(const struct sockaddr_storage *ss, struct netaddr *out)
{
    switch (ss->ss_family) {
    case AF_INET:
        return netaddr_from_bytes(AF_INET,
            &((const struct sockaddr_in *)ss)->sin_addr, out);
    case AF_INET6:
        return netaddr_from_bytes(AF_INET6,
            &((const struct sockaddr_in6 *)ss)->sin6_addr, out);
    default:
        return netaddr_from_bytes(AF_UNSPEC, NULL, out);
    }
}

/* The length after '/': decimal, no leading zero, at most max. */
static int
netaddr_prefix_len(const char *s, size_t len, unsigned max, unsigned *out,
    const char **why)
{
    size_t i;

    for (i = 0; i < len; i++)
        if (s[i] < '0' || s[i] > '9')
            break;
    if (len == 0 || i < len) {
        *why = "prefix length is not a number";
        return -1;
    }
    if (len > 1 && s[0] == '0') {
        *why = "prefix length has a leading zero";
        return -1;
    }
    if (netaddr_scan_decimal(s, len, max, out) != NETADDR_SCAN_DONE) {
        *why = max == 32 ? "prefix length over 32 for IPv4" :
            "prefix length over 128 for IPv6";
        return -1;
    }
    return 0;
}

/* Clears the bits of a past prefix; whether they were all clear (1) or not. */
static int
netaddr_host_bits_clear(struct netaddr *a, unsigned prefix)
{
    unsigned i, nbytes = a->family == AF_INET ? 4 : 16;
    uint8_t  mask, was = 0;

    for (i = prefix / 8; i < nbytes; i++) {
        mask = i == prefix / 8 ? (uint8_t)(0xff >> (prefix % 8)) : 0xff;
        was |= a->bytes[i] & mask;
        a->bytes[i] &= (uint8_t)~mask;
    }
    return was == 0;
}

/*
 * A block as written: *raw not normalised, host bits cleared even when the
 * answer is "host bits set" (so the error can name the block meant).
 */
static int
netaddr_cidr_scan(const char *s, size_t len, struct netaddr *raw,
    unsigned *prefix, const char **why)
{
    const char *slash = memchr(s, '/', len);
    size_t      alen = slash != NULL ? (size_t)(slash - s) : len;
    unsigned    max;

    if (netaddr_scan_raw(s, alen, raw) == -1) {
        *why = "not an IP address";
        return -1;
    }
    max = raw->family == AF_INET ? 32 : 128;
    *prefix = max;
    if (slash != NULL &&
        netaddr_prefix_len(slash + 1, len - alen - 1, max, prefix, why) == -1)
        return -1;
    if (!netaddr_host_bits_clear(raw, *prefix)) {
        *why = netaddr_why_host_bits;
        return -1;
    }
    return 0;
}

/* ::ffff:a.b.c.d/96+n is a.b.c.d/n; host bits rule out a shorter one. */
static void
netaddr_cidr_make(const struct netaddr *raw, unsigned prefix,
    struct netaddr_cidr *out)
{
    out->addr = *raw;
    out->prefix = prefix;
    netaddr_normalise(&out->addr);
    if (out->addr.family == AF_INET && raw->family == AF_INET6)
        out->prefix -= 96;
}

int
netaddr_cidr_parse(const char *s, size_t len, struct netaddr_cidr *out,
    const char **why)
{
    struct netaddr raw;
    unsigned       prefix;

    if (netaddr_cidr_scan(s, len, &raw, &prefix, why) == -1)
        return -1;
    netaddr_cidr_make(&raw, prefix, out);
    return 0;
}

int
netaddr_cidr_contains(const struct netaddr_cidr *c, const struct netaddr *a)
{
    unsigned full = c->prefix / 8, rest = c->prefix % 8;
    uint8_t  mask;

    if (a->family != c->addr.family)
        return 0;
    if (memcmp(a->bytes, c->addr.bytes, full) != 0)
        return 0;
    if (rest == 0)
        return 1;
    mask = (uint8_t)(0xff << (8 - rest));
    return (a->bytes[full] & mask) == c->addr.bytes[full];
}

int
netaddr_cidr_list_contains(const struct netaddr_cidr *list, size_t n,
    const struct netaddr *a)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (netaddr_cidr_contains(&list[i], a))
            return 1;
    return 0;
}

static int
netaddr_is_blank(unsigned char c)
{
    return c == ' ' || c == '\t';
}

/* s[0..len) for an error message: printable ASCII, '?' for the rest, cut. */
static void
netaddr_quote(const char *s, size_t len, char *out, size_t size)
{
    size_t i, n = 0;

    for (i = 0; i < len && i < NETADDR_QUOTE_MAX && n + 1 < size; i++) {
        unsigned char c = (unsigned char)s[i];

        out[n++] = c > 0x20 && c < 0x7f && c != '"' ? (char)c : '?';
    }
    if (i < len && n + 3 < size) {
        memcpy(out + n, "...", 3);
        n += 3;
    }
    out[n] = '\0';
}

static int
netaddr_list_fail(char *err, size_t errlen, const char *elem, size_t elen,
    const char *why, const char *hint)
{
    char quoted[NETADDR_QUOTE_MAX + 4];

    if (errlen == 0)
        return -1;
    netaddr_quote(elem, elen, quoted, sizeof(quoted));
    snprintf(err, errlen, "\"%s\": %s%s", quoted, why, hint);
    return -1;
}

int
netaddr_cidr_list_parse(const char *s, size_t len, struct netaddr_cidr *out,
    size_t *n, char *err, size_t errlen)
{
    struct netaddr raw;
    const char    *why;
    char           block[NETADDR_STRLEN], hint[NETADDR_STRLEN + 32];
    unsigned       prefix;
    size_t         i = 0, start, count = 0;
    int            comma;

    *n = 0;
    while (i < len && netaddr_is_blank((unsigned char)s[i]))
        i++;
    if (i == len)
        return 0;
    for (;;) {
        start = i;
        while (i < len && s[i] != ',' && !netaddr_is_blank((unsigned char)s[i]))
            i++;
        if (i == start) {
            if (errlen > 0)
                snprintf(err, errlen, "empty element (a comma at an end, "
                    "or two in a row)");
            return -1;
        }
        if (count == NETADDR_MAX_CIDRS)
            return netaddr_list_fail(err, errlen, s + start, i - start,
                "more than 64 blocks", "");
        if (netaddr_cidr_scan(s + start, i - start, &raw, &prefix, &why) == -1) {
            hint[0] = '\0';
            if (why == netaddr_why_host_bits &&
                netaddr_format(&raw, block, sizeof(block)) > 0)
                snprintf(hint, sizeof(hint), " (the block is %s/%u)", block,
                    prefix);
            return netaddr_list_fail(err, errlen, s + start, i - start, why,
                hint);
        }
        netaddr_cidr_make(&raw, prefix, &out[count++]);
        /* Blanks, at most one comma among them. */
        comma = 0;
        while (i < len && (netaddr_is_blank((unsigned char)s[i]) ||
            (s[i] == ',' && !comma))) {
            comma |= s[i] == ',';
            i++;
        }
        if (i == len && !comma)
            break;
    }
    *n = count;
    return 0;
}

/* One list element: OWS stripped, then an address with an optional port. */
static int
netaddr_xff_entry(const char *s, size_t len, struct netaddr *out)
{
    while (len > 0 && netaddr_is_blank((unsigned char)s[0])) {
        s++;
        len--;
    }
    while (len > 0 && netaddr_is_blank((unsigned char)s[len - 1]))
        len--;
    return netaddr_parse_xff(s, len, out);
}

int
netaddr_client(const struct netaddr *peer, const struct netaddr_cidr *trusted,
    size_t ntrusted, const char *const *xff, const size_t *xff_len,
    size_t nxff, struct netaddr *out)
{
    struct netaddr hop = *peer, a;
    const char    *v;
    size_t         f, start, end, walked = 0;

    *out = *peer;
    if (!netaddr_cidr_list_contains(trusted, ntrusted, peer))
        return NETADDR_CLIENT_PEER;
    if (nxff == 0)
        return NETADDR_CLIENT_NO_XFF;
    /* The last field holds the right-most entries. */
    for (f = nxff; f-- > 0;) {
        v = xff[f] != NULL ? xff[f] : "";
        end = xff[f] != NULL ? xff_len[f] : 0;
        for (;;) {
            for (start = end; start > 0 && v[start - 1] != ','; start--)
                ;
            if (walked++ == NETADDR_MAX_XFF) {
                *out = hop;
                return NETADDR_CLIENT_TOO_LONG;
            }
            if (netaddr_xff_entry(v + start, end - start, &a) == -1) {
                *out = hop;
                return NETADDR_CLIENT_MALFORMED;
            }
            if (!netaddr_cidr_list_contains(trusted, ntrusted, &a)) {
                *out = a;
                return NETADDR_CLIENT_FORWARDED;
            }
            hop = a;
            if (start == 0)
                break;
            end = start - 1;
        }
    }
    *out = hop;
    return NETADDR_CLIENT_ALL_TRUSTED;
}
