/* SPDX-License-Identifier: MIT */
/*
 * proxyproto.h - the PROXY protocol header a load balancer sends before
 * the client's bytes (HAProxy's proxy-protocol.txt, versions 1 and 2).
 *
 * Pure code over caller-owned buffers: no I/O, no allocation, no logging,
 * no state between calls.  The caller keeps the bytes read so far and
 * calls proxyproto_parse() on all of them each time more arrive, until it
 * answers something other than PROXYPROTO_AGAIN.
 *
 * Strict: a header is either exactly as the specification writes it or
 * refused, and refused as soon as the bytes at hand prove it cannot
 * become valid.  A connection that should carry a header but does not is
 * refused too; nothing falls back to reading it as HTTP.
 */
#ifndef USERAPID_PROXYPROTO_H
#define USERAPID_PROXYPROTO_H

#include <stddef.h>
#include <stdint.h>

#include "netaddr.h"

#define PROXYPROTO_V1_MAX    107    /* a version 1 line, CRLF included */
#define PROXYPROTO_V2_MAX    4096   /* a whole version 2 header, 16-byte start included */

/* Results of proxyproto_parse(); anything > 0 is the header's length. */
#define PROXYPROTO_AGAIN     (-1)
#define PROXYPROTO_INVALID   (-2)

enum proxyproto_command {
    /*
     * Version 2 LOCAL: the proxy's own connection (a health check).  Use
     * the real peer; the rest of the header is ignored.
     */
    PROXYPROTO_LOCAL = 0,
    /* A relayed TCP connection: src, dst and the ports are set. */
    PROXYPROTO_PROXY,
    /*
     * A relayed connection of a kind that has no address here: version 1
     * "UNKNOWN", version 2 AF_UNSPEC, UDP or AF_UNIX.  Use the real peer.
     */
    PROXYPROTO_UNKNOWN,
};

struct proxyproto {
    int                     version;    /* 1 or 2 */
    enum proxyproto_command command;
    /* PROXYPROTO_PROXY only; zero otherwise.  Normalised as in netaddr.h,
     * so TCP6 with ::ffff:a.b.c.d gives an AF_INET address. */
    struct netaddr          src, dst;
    uint16_t                src_port, dst_port;
};

/*
 * Parses the header at the start of buf[0..len).  Returns
 *   PROXYPROTO_AGAIN    buf is a valid start of a header: read more;
 *   PROXYPROTO_INVALID  no bytes appended to buf can make it valid;
 *   n > 0               buf[0..n) is a complete, valid header, *out
 *                       describes it, and buf[n..len) is the client's
 *                       first bytes, which are not looked at.
 * *out is zeroed unless the result is n > 0.
 *
 * Version 1, "PROXY " then one of
 *   "TCP4 " SRC " " DST " " SPORT " " DPORT "\r\n"
 *   "TCP6 " SRC " " DST " " SPORT " " DPORT "\r\n"
 *   "UNKNOWN" [" " any bytes but CR and LF] "\r\n"
 * in at most PROXYPROTO_V1_MAX bytes: single spaces, addresses of the
 * family named (IPv4 dotted decimal without leading zeros; IPv6 as
 * inet_pton() takes it, no brackets), ports 0..65535 in decimal without
 * leading zeros.  Case matters: "proxy" is invalid.
 *
 * Version 2: the 12-byte signature "\r\n\r\n\0\r\nQUIT\n"; a byte with
 * version 2 in the high nibble and command LOCAL (0x20) or PROXY (0x21);
 * a family and transport byte; a 16-bit big-endian length of what
 * follows, at most PROXYPROTO_V2_MAX - 16.  With LOCAL the rest is
 * skipped unread.  With PROXY the family (high nibble) must be UNSPEC,
 * INET, INET6 or UNIX (0..3) and the transport (low nibble) UNSPEC,
 * STREAM or DGRAM (0..2), anything else being invalid as the
 * specification says; the length must hold the family's address block
 * (0, 12, 36 or 216 bytes), and the bytes after it must be whole TLVs
 * (type, 16-bit big-endian length, value), which are skipped.  Only 0x11
 * (TCP over IPv4) and 0x21 (TCP over IPv6) give PROXYPROTO_PROXY; the
 * other valid combinations give PROXYPROTO_UNKNOWN.  The CRC32C TLV is
 * not verified.
 */
int     proxyproto_parse(const uint8_t *buf, size_t len, struct proxyproto *out);

#endif
