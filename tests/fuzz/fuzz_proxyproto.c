/* SPDX-License-Identifier: MIT */
/*
 * fuzz_proxyproto.c - libFuzzer target for the PROXY protocol header
 * parser (src/proxyproto.c), versions 1 and 2.
 *
 * Input: the bytes a connection starts with.  They are parsed whole, then
 * as every shorter prefix, as a worker would see them arrive split at
 * that point.  The answers must tell one story: before a header's end
 * "need more", from there on its length and the same fields; for bytes
 * that are invalid, "need more" up to some point and invalid from there
 * on.  The bytes past each prefix are poisoned for AddressSanitizer, so a
 * parser that looks beyond the length it was given is caught.
 *
 * A parsed header must be whole (no length beyond what was given or
 * beyond the caps), its addresses must format and parse back to
 * themselves, and the header written back from the fields, in version 1
 * when it fits and always in version 2, must parse to the same fields.
 */
#include <sanitizer/asan_interface.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "proxyproto.h"

static const uint8_t fuzz_v2_sig[12] = {
    0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a,
};

static void fuzz_check_addr(const struct netaddr *a);
static void fuzz_check_header(const uint8_t *buf, size_t size, int rc,
                const struct proxyproto *p);
static void fuzz_rewrite_v1(const struct proxyproto *p);
static void fuzz_rewrite_v2(const struct proxyproto *p);
static void fuzz_put_addr(uint8_t *out, const struct netaddr *a);

/* A formatted address parses back to the same one. */
static void
fuzz_check_addr(const struct netaddr *a)
{
    struct netaddr again;
    char           text[NETADDR_STRLEN];
    int            n;

    FUZZ_CHECK(a->family == AF_INET || a->family == AF_INET6);
    n = netaddr_format(a, text, sizeof(text));
    FUZZ_CHECK(n > 0);
    FUZZ_CHECK(netaddr_parse(text, (size_t)n, &again) == 0);
    FUZZ_CHECK(netaddr_cmp(a, &again) == 0);
}

/* 16 bytes of a for a TCP6 block: IPv4 as ::ffff:a.b.c.d. */
static void
fuzz_put_addr(uint8_t *out, const struct netaddr *a)
{
    memset(out, 0, 16);
    if (a->family == AF_INET6) {
        memcpy(out, a->bytes, 16);
    } else {
        out[10] = 0xff;
        out[11] = 0xff;
        memcpy(out + 12, a->bytes, 4);
    }
}

/* The fields written as a version 1 line parse to the same fields. */
static void
fuzz_rewrite_v1(const struct proxyproto *p)
{
    struct proxyproto again;
    char              src[NETADDR_STRLEN + 8], dst[NETADDR_STRLEN + 8];
    char              line[256];
    int               v4 = p->src.family == AF_INET && p->dst.family == AF_INET;
    int               n;

    FUZZ_CHECK(netaddr_format(&p->src, src, sizeof(src)) > 0);
    FUZZ_CHECK(netaddr_format(&p->dst, dst, sizeof(dst)) > 0);
    n = snprintf(line, sizeof(line), "PROXY %s %s%s %s%s %u %u\r\n",
        v4 ? "TCP4" : "TCP6",
        !v4 && p->src.family == AF_INET ? "::ffff:" : "", src,
        !v4 && p->dst.family == AF_INET ? "::ffff:" : "", dst,
        (unsigned)p->src_port, (unsigned)p->dst_port);
    FUZZ_CHECK(n > 0 && (size_t)n < sizeof(line));
    if (n > PROXYPROTO_V1_MAX) {
        FUZZ_CHECK(proxyproto_parse((const uint8_t *)line, (size_t)n, &again) ==
            PROXYPROTO_INVALID);
        return;
    }
    FUZZ_CHECK(proxyproto_parse((const uint8_t *)line, (size_t)n, &again) == n);
    FUZZ_CHECK(again.version == 1);
    again.version = p->version;
    FUZZ_CHECK(memcmp(&again, p, sizeof(again)) == 0);
}

/* The fields written as a version 2 TCP6 header parse to the same fields. */
static void
fuzz_rewrite_v2(const struct proxyproto *p)
{
    struct proxyproto again;
    uint8_t           h[16 + 36];

    memcpy(h, fuzz_v2_sig, sizeof(fuzz_v2_sig));
    h[12] = 0x21;
    h[13] = 0x21;
    h[14] = 0;
    h[15] = 36;
    fuzz_put_addr(h + 16, &p->src);
    fuzz_put_addr(h + 32, &p->dst);
    h[48] = (uint8_t)(p->src_port >> 8);
    h[49] = (uint8_t)p->src_port;
    h[50] = (uint8_t)(p->dst_port >> 8);
    h[51] = (uint8_t)p->dst_port;
    FUZZ_CHECK(proxyproto_parse(h, sizeof(h), &again) == (int)sizeof(h));
    FUZZ_CHECK(again.version == 2);
    again.version = p->version;
    FUZZ_CHECK(memcmp(&again, p, sizeof(again)) == 0);
}

/* What a complete header promises. */
static void
fuzz_check_header(const uint8_t *buf, size_t size, int rc,
    const struct proxyproto *p)
{
    static const struct netaddr none;

    FUZZ_CHECK(rc > 0 && (size_t)rc <= size);
    FUZZ_CHECK(p->version == 1 || p->version == 2);
    if (p->version == 1) {
        FUZZ_CHECK(rc <= PROXYPROTO_V1_MAX);
        FUZZ_CHECK(buf[0] == 'P' && buf[rc - 2] == '\r' && buf[rc - 1] == '\n');
        FUZZ_CHECK(memchr(buf, '\n', (size_t)rc - 1) == NULL);
        FUZZ_CHECK(p->command == PROXYPROTO_PROXY ||
            p->command == PROXYPROTO_UNKNOWN);
    } else {
        FUZZ_CHECK(rc >= 16 && rc <= PROXYPROTO_V2_MAX);
        FUZZ_CHECK(memcmp(buf, fuzz_v2_sig, sizeof(fuzz_v2_sig)) == 0);
        FUZZ_CHECK((size_t)rc == 16 + (size_t)(buf[14] << 8 | buf[15]));
        FUZZ_CHECK(p->command == (buf[12] == 0x20 ? PROXYPROTO_LOCAL :
            (buf[13] == 0x11 || buf[13] == 0x21) ? PROXYPROTO_PROXY :
            PROXYPROTO_UNKNOWN));
    }
    if (p->command != PROXYPROTO_PROXY) {
        FUZZ_CHECK(memcmp(&p->src, &none, sizeof(none)) == 0);
        FUZZ_CHECK(memcmp(&p->dst, &none, sizeof(none)) == 0);
        FUZZ_CHECK(p->src_port == 0 && p->dst_port == 0);
        return;
    }
    fuzz_check_addr(&p->src);
    fuzz_check_addr(&p->dst);
    fuzz_rewrite_v1(p);
    fuzz_rewrite_v2(p);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct proxyproto whole, part, zero;
    uint8_t          *buf;
    size_t            k, last;
    int               rc, r, bad = 0;

    /* Exactly size bytes: a read past them is a heap overflow. */
    if ((buf = malloc(size > 0 ? size : 1)) == NULL)
        return 0;
    if (size > 0)
        memcpy(buf, data, size);
    memset(&zero, 0, sizeof(zero));

    rc = proxyproto_parse(buf, size, &whole);
    FUZZ_CHECK(rc == PROXYPROTO_AGAIN || rc == PROXYPROTO_INVALID || rc > 0);
    if (rc > 0)
        fuzz_check_header(buf, size, rc, &whole);
    else
        FUZZ_CHECK(memcmp(&whole, &zero, sizeof(zero)) == 0);
    /* A header ends within the v2 cap: no longer prefix can differ. */
    FUZZ_CHECK(rc != PROXYPROTO_AGAIN || size < PROXYPROTO_V2_MAX);

    last = size < PROXYPROTO_V2_MAX ? size : PROXYPROTO_V2_MAX;
    for (k = 0; k <= last; k++) {
        ASAN_POISON_MEMORY_REGION(buf + k, size - k);
        r = proxyproto_parse(buf, k, &part);
        ASAN_UNPOISON_MEMORY_REGION(buf + k, size - k);
        if (rc > 0) {
            FUZZ_CHECK(r == ((size_t)rc <= k ? rc : PROXYPROTO_AGAIN));
        } else if (rc == PROXYPROTO_INVALID) {
            FUZZ_CHECK(r == PROXYPROTO_INVALID || (!bad && r == PROXYPROTO_AGAIN));
            bad = r == PROXYPROTO_INVALID;
        } else {
            FUZZ_CHECK(r == PROXYPROTO_AGAIN);
        }
        if (r > 0)
            FUZZ_CHECK(memcmp(&part, &whole, sizeof(part)) == 0);
        else
            FUZZ_CHECK(memcmp(&part, &zero, sizeof(zero)) == 0);
    }
    /* Invalid is decided within the caps, whatever follows. */
    if (rc == PROXYPROTO_INVALID)
        FUZZ_CHECK(bad);

    free(buf);
    return 0;
}
