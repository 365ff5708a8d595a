/* SPDX-License-Identifier: MIT */
/*
 * proxyproto.c - the PROXY protocol header, versions 1 and 2; see
 * proxyproto.h.
 *
 * No state between calls: each call parses buf from its first byte.  A
 * version 1 line is at most 107 bytes, and a version 2 header is checked
 * again only up to its 16-byte start and TLV headers, so the cost of
 * feeding a header a byte at a time stays small.
 *
 * "Invalid as early as the bytes prove it": every check is made on the
 * bytes at hand, whether or not the header is complete.  Version 1 checks
 * each field as a prefix (netaddr_scan() and netaddr_scan_port() say
 * whether a text can still become an address or a port) and gives up
 * when 107 bytes hold no line end; version 2 checks the signature byte by
 * byte, refuses a length over the cap or too short for the family as soon
 * as it is read, and walks the TLV headers as they arrive.
 *
 * *out is written only once the header is complete and valid.
 */
#include <string.h>

#include "proxyproto.h"

#define PROXYPROTO_V1_SIG    "PROXY "
#define PROXYPROTO_V2_START  16     /* signature, command, family, length */

static const uint8_t proxyproto_v2_sig[12] = {
    0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a,
};

static int      proxyproto_v1(const char *s, size_t len, struct proxyproto *out);
static int      proxyproto_v1_more(size_t len);
static size_t   proxyproto_v1_field_end(const char *s, size_t pos, size_t lim);
static int      proxyproto_v1_protocol(const char *tok, size_t len, int *family);
static int      proxyproto_v1_unknown(const char *s, size_t pos, size_t lim,
                    size_t len);
static int      proxyproto_v2(const uint8_t *buf, size_t len,
                    struct proxyproto *out);
static size_t   proxyproto_v2_addr_len(uint8_t fam);
static int      proxyproto_v2_tlvs(const uint8_t *buf, size_t pos, size_t len,
                    size_t end);
static void     proxyproto_v2_addrs(const uint8_t *block, uint8_t fam,
                    struct proxyproto *out);
static uint16_t proxyproto_be16(const uint8_t *p);

int
proxyproto_parse(const uint8_t *buf, size_t len, struct proxyproto *out)
{
    memset(out, 0, sizeof(*out));
    if (len == 0)
        return PROXYPROTO_AGAIN;
    if (buf[0] == 'P')
        return proxyproto_v1((const char *)buf, len, out);
    if (buf[0] == '\r')
        return proxyproto_v2(buf, len, out);
    return PROXYPROTO_INVALID;
}

/* Out of bytes before the line end: wait, unless the line is at its cap. */
static int
proxyproto_v1_more(size_t len)
{
    return len >= PROXYPROTO_V1_MAX ? PROXYPROTO_INVALID : PROXYPROTO_AGAIN;
}

/* Where the field at pos ends: its space or CR, or lim when not seen yet. */
static size_t
proxyproto_v1_field_end(const char *s, size_t pos, size_t lim)
{
    while (pos < lim && s[pos] != ' ' && s[pos] != '\r')
        pos++;
    return pos;
}

/*
 * The protocol word: *family is AF_INET for "TCP4", AF_INET6 for "TCP6",
 * AF_UNSPEC for "UNKNOWN".  Results as for netaddr_scan(), so a word cut
 * short by the end of the bytes at hand can wait for more.
 */
static int
proxyproto_v1_protocol(const char *tok, size_t len, int *family)
{
    static const struct {
        const char *name;
        int         family;
    } protocols[] = {
        { "TCP4", AF_INET },
        { "TCP6", AF_INET6 },
        { "UNKNOWN", AF_UNSPEC },
    };
    size_t i, n;
    int    rc = NETADDR_SCAN_BAD;

    for (i = 0; i < sizeof(protocols) / sizeof(protocols[0]); i++) {
        n = strlen(protocols[i].name);
        if (len > n || memcmp(tok, protocols[i].name, len) != 0)
            continue;
        if (len < n) {
            rc = NETADDR_SCAN_PARTIAL;
            continue;
        }
        *family = protocols[i].family;
        return NETADDR_SCAN_DONE;
    }
    return rc;
}

static int
proxyproto_v1(const char *s, size_t len, struct proxyproto *out)
{
    static const size_t siglen = sizeof(PROXYPROTO_V1_SIG) - 1;
    struct proxyproto   p;
    struct netaddr     *addrs[2];
    uint16_t           *ports[2];
    size_t              lim = len < PROXYPROTO_V1_MAX ? len : PROXYPROTO_V1_MAX;
    size_t              pos, end, k;
    int                 family, rc;

    if (memcmp(s, PROXYPROTO_V1_SIG, lim < siglen ? lim : siglen) != 0)
        return PROXYPROTO_INVALID;
    if (lim < siglen)
        return PROXYPROTO_AGAIN;

    pos = siglen;
    end = proxyproto_v1_field_end(s, pos, lim);
    rc = proxyproto_v1_protocol(s + pos, end - pos, &family);
    if (rc == NETADDR_SCAN_BAD)
        return PROXYPROTO_INVALID;
    if (end == lim)
        return proxyproto_v1_more(len);
    if (rc != NETADDR_SCAN_DONE)
        return PROXYPROTO_INVALID;
    if (family == AF_UNSPEC) {
        if ((rc = proxyproto_v1_unknown(s, end, lim, len)) > 0) {
            out->version = 1;
            out->command = PROXYPROTO_UNKNOWN;
        }
        return rc;
    }
    if (s[end] != ' ')
        return PROXYPROTO_INVALID;

    /* SRC " " DST " " SPORT " " DPORT "\r": each field checked as it comes. */
    memset(&p, 0, sizeof(p));
    addrs[0] = &p.src;
    addrs[1] = &p.dst;
    ports[0] = &p.src_port;
    ports[1] = &p.dst_port;
    for (k = 0, pos = end + 1; k < 4; k++, pos = end + 1) {
        end = proxyproto_v1_field_end(s, pos, lim);
        if (k < 2)
            rc = netaddr_scan(family, s + pos, end - pos, addrs[k]);
        else
            rc = netaddr_scan_port(s + pos, end - pos, ports[k - 2]);
        if (rc == NETADDR_SCAN_BAD)
            return PROXYPROTO_INVALID;
        if (end == lim)
            return proxyproto_v1_more(len);
        /* An empty field (two spaces) or a cut address ends here. */
        if (rc != NETADDR_SCAN_DONE || s[end] != (k < 3 ? ' ' : '\r'))
            return PROXYPROTO_INVALID;
    }
    if (pos == lim)
        return proxyproto_v1_more(len);
    if (s[pos] != '\n')
        return PROXYPROTO_INVALID;
    p.version = 1;
    p.command = PROXYPROTO_PROXY;
    *out = p;
    return (int)pos + 1;
}

/*
 * After "UNKNOWN" (s[pos] is the space or CR after it): the specification
 * has the receiver ignore anything up to the CRLF.  A bare CR or LF is
 * still refused, since it cannot be the line end.
 */
static int
proxyproto_v1_unknown(const char *s, size_t pos, size_t lim, size_t len)
{
    if (s[pos] == ' ')
        for (pos++; pos < lim && s[pos] != '\r' && s[pos] != '\n'; pos++)
            ;
    if (pos == lim)
        return proxyproto_v1_more(len);
    if (s[pos++] != '\r')
        return PROXYPROTO_INVALID;
    if (pos == lim)
        return proxyproto_v1_more(len);
    if (s[pos] != '\n')
        return PROXYPROTO_INVALID;
    return (int)pos + 1;
}

static uint16_t
proxyproto_be16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

/* Bytes of the address block for a valid family byte of a PROXY header. */
static size_t
proxyproto_v2_addr_len(uint8_t fam)
{
    switch (fam >> 4) {
    case 0x1:
        return 12;              /* two IPv4 addresses, two ports */
    case 0x2:
        return 36;              /* two IPv6 addresses, two ports */
    case 0x3:
        return 216;             /* two 108-byte AF_UNIX paths */
    default:
        return 0;               /* AF_UNSPEC */
    }
}

/*
 * TLVs in buf[pos..end), of which buf[0..len) is at hand: each a type
 * byte and a 16-bit length, then that many bytes, and they must end
 * exactly at end.  0 when every TLV header is seen and fits, else
 * PROXYPROTO_AGAIN or PROXYPROTO_INVALID.
 */
static int
proxyproto_v2_tlvs(const uint8_t *buf, size_t pos, size_t len, size_t end)
{
    size_t vlen;

    while (pos < end) {
        if (end - pos < 3)
            return PROXYPROTO_INVALID;
        if (len < pos + 3)
            return PROXYPROTO_AGAIN;
        vlen = proxyproto_be16(buf + pos + 1);
        if (vlen > end - pos - 3)
            return PROXYPROTO_INVALID;
        pos += 3 + vlen;
    }
    return 0;
}

/* Source and destination from the address block of a TCP4 or TCP6 header. */
static void
proxyproto_v2_addrs(const uint8_t *block, uint8_t fam, struct proxyproto *out)
{
    int    family = fam == 0x11 ? AF_INET : AF_INET6;
    size_t alen = fam == 0x11 ? 4 : 16;

    (void)netaddr_from_bytes(family, block, &out->src);
    (void)netaddr_from_bytes(family, block + alen, &out->dst);
    out->src_port = proxyproto_be16(block + 2 * alen);
    out->dst_port = proxyproto_be16(block + 2 * alen + 2);
}

static int
proxyproto_v2(const uint8_t *buf, size_t len, struct proxyproto *out)
{
    size_t  total, alen;
    uint8_t cmd, fam;
    int     rc;

    if (memcmp(buf, proxyproto_v2_sig, len < sizeof(proxyproto_v2_sig) ?
        len : sizeof(proxyproto_v2_sig)) != 0)
        return PROXYPROTO_INVALID;
    if (len <= sizeof(proxyproto_v2_sig))
        return PROXYPROTO_AGAIN;
    /* Version 2 in the high nibble; LOCAL (0) or PROXY (1) in the low. */
    cmd = buf[12];
    if ((cmd >> 4) != 2 || (cmd & 0x0f) > 1)
        return PROXYPROTO_INVALID;
    if (len < 14)
        return PROXYPROTO_AGAIN;
    /* LOCAL ignores the family; PROXY's must be one the spec defines. */
    fam = buf[13];
    if ((cmd & 0x0f) == 1 && ((fam >> 4) > 3 || (fam & 0x0f) > 2))
        return PROXYPROTO_INVALID;
    if (len < PROXYPROTO_V2_START)
        return PROXYPROTO_AGAIN;
    total = PROXYPROTO_V2_START + proxyproto_be16(buf + 14);
    if (total > PROXYPROTO_V2_MAX)
        return PROXYPROTO_INVALID;

    if ((cmd & 0x0f) == 0) {
        if (len < total)
            return PROXYPROTO_AGAIN;
        out->version = 2;
        out->command = PROXYPROTO_LOCAL;
        return (int)total;
    }
    alen = proxyproto_v2_addr_len(fam);
    if (total - PROXYPROTO_V2_START < alen)
        return PROXYPROTO_INVALID;
    if ((rc = proxyproto_v2_tlvs(buf, PROXYPROTO_V2_START + alen, len,
        total)) != 0)
        return rc;
    if (len < total)
        return PROXYPROTO_AGAIN;

    out->version = 2;
    if (fam == 0x11 || fam == 0x21) {
        out->command = PROXYPROTO_PROXY;
        proxyproto_v2_addrs(buf + PROXYPROTO_V2_START, fam, out);
    } else {
        out->command = PROXYPROTO_UNKNOWN;
    }
    return (int)total;
}
