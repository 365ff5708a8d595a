/* SPDX-License-Identifier: MIT */
/*
 * netaddr.h - client addresses: parsing, formatting and comparing IPv4 and
 * IPv6 addresses, CIDR blocks and lists of them, and the client behind
 * trusted proxies according to X-Forwarded-For.
 *
 * Pure code over caller-owned buffers: no I/O, no allocation, no logging.
 * Text is given as (pointer, length) and need not be NUL-terminated.
 *
 * Invariants of a struct netaddr, kept by every function that makes one:
 *   - family is AF_INET or AF_INET6;
 *   - an IPv4-mapped IPv6 address (::ffff:a.b.c.d) is stored as the IPv4
 *     address a.b.c.d, so one client is one key whichever socket it came
 *     through;
 *   - an IPv4 address sits in bytes[0..4) and bytes[4..16) are zero.
 * Two netaddrs are the same client exactly when netaddr_cmp() says 0.
 */
#ifndef USERAPID_NETADDR_H
#define USERAPID_NETADDR_H

#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>
#include <sys/socket.h>

#define NETADDR_STRLEN      INET6_ADDRSTRLEN    /* formatted address, with NUL */
#define NETADDR_MAX_CIDRS   64      /* blocks in one list */
#define NETADDR_MAX_XFF     64      /* X-Forwarded-For entries walked */

struct netaddr {
    int     family;         /* AF_INET or AF_INET6 */
    uint8_t bytes[16];      /* network order */
};

struct netaddr_cidr {
    struct netaddr addr;    /* the block's first address: host bits zero */
    unsigned       prefix;  /* 0..32 for AF_INET, 0..128 for AF_INET6 */
};

/* Results of netaddr_scan() and netaddr_scan_port(). */
#define NETADDR_SCAN_BAD      (-1)  /* no more characters make it valid */
#define NETADDR_SCAN_PARTIAL  0     /* not valid yet, a longer text may be */
#define NETADDR_SCAN_DONE     1     /* valid (a longer text may also be) */

/*
 * Scans s[0..len) as an address of one family, written as inet_pton()
 * accepts it: dotted decimal for AF_INET (no leading zeros), RFC 4291 text
 * for AF_INET6 (no brackets, no zone).  NETADDR_SCAN_DONE fills *out
 * (normalised, so AF_INET6 text may give an AF_INET address);
 * NETADDR_SCAN_PARTIAL says s is the start of some valid address, so an
 * incremental parser can wait for more; NETADDR_SCAN_BAD says it is not.
 */
int     netaddr_scan(int family, const char *s, size_t len, struct netaddr *out);

/*
 * Scans s[0..len) as a port number: 1 to 5 decimal digits, no leading zero
 * ("0" itself is fine), at most 65535.  Results as for netaddr_scan().
 */
int     netaddr_scan_port(const char *s, size_t len, uint16_t *out);

/*
 * Parses an address: "192.0.2.1", "2001:db8::1" or "[2001:db8::1]".
 * 0 with *out set, or -1.
 */
int     netaddr_parse(const char *s, size_t len, struct netaddr *out);

/*
 * Parses one X-Forwarded-For entry (OWS already removed): what
 * netaddr_parse() takes, or an IPv4 address or a bracketed IPv6 address
 * followed by ":PORT" (as netaddr_scan_port() takes it; the port is
 * dropped): "192.0.2.1:8080", "[2001:db8::1]:443".  0 or -1.
 */
int     netaddr_parse_xff(const char *s, size_t len, struct netaddr *out);

/*
 * Writes a's inet_ntop() form and a NUL into out[0..size): "192.0.2.1",
 * "2001:db8::1".  Returns its length, or -1 when a is not a valid netaddr
 * or size is too small (NETADDR_STRLEN always suffices).
 */
int     netaddr_format(const struct netaddr *a, char *out, size_t size);

/* Orders AF_INET before AF_INET6, then by bytes: <0, 0 or >0. */
int     netaddr_cmp(const struct netaddr *a, const struct netaddr *b);

/*
 * The address in bytes (network order: 4 of them for AF_INET, 16 for
 * AF_INET6), normalised.  0, or -1 for another family.
 */
int     netaddr_from_bytes(int family, const void *bytes, struct netaddr *out);

/*
 * The address of an AF_INET or AF_INET6 socket address (the port is
 * dropped).  0, or -1 for any other family (AF_UNIX: no address).
 */
int     netaddr_from_sockaddr(const struct sockaddr_storage *ss,
            struct netaddr *out);

/*
 * Parses a CIDR block: "10.0.0.0/8", "2001:db8::/32", or a bare address
 * meaning /32 or /128.  The prefix length is decimal without leading
 * zeros.  Host bits must be zero: "10.0.0.1/8" is refused, since it is
 * most likely a typo for a single host or a different block.  An
 * IPv4-mapped block (::ffff:0:0/96 and inside) becomes the IPv4 block,
 * like addresses; any other IPv6 block holds only IPv6 addresses, so
 * "::/0" does not hold IPv4 clients.  0, or -1 with *why set to a static
 * reason such as "host bits set".
 */
int     netaddr_cidr_parse(const char *s, size_t len, struct netaddr_cidr *out,
            const char **why);

/* Whether a is inside c (1) or not (0). */
int     netaddr_cidr_contains(const struct netaddr_cidr *c,
            const struct netaddr *a);

/* Whether a is inside any of list[0..n) (1) or none (0). */
int     netaddr_cidr_list_contains(const struct netaddr_cidr *list, size_t n,
            const struct netaddr *a);

/*
 * Parses a configuration value listing CIDR blocks, separated by a comma,
 * blanks (spaces, tabs), or a comma with blanks around it:
 * "10.0.0.0/8, 192.168.0.0/16 ::1".  An empty or blank value is a list of
 * none.  At most NETADDR_MAX_CIDRS blocks go into out[0..NETADDR_MAX_CIDRS)
 * and their number into *n.  Returns 0, or -1 with *n set to 0 and err
 * (of errlen bytes, cut to fit) holding a reason naming the element, its
 * unprintable bytes shown as '?', ready to follow "FILE:LINE: ":
 * "\"10.0.0.1/8\": host bits set (the block is 10.0.0.0/8)".
 */
int     netaddr_cidr_list_parse(const char *s, size_t len,
            struct netaddr_cidr *out, size_t *n, char *err, size_t errlen);

/* What netaddr_client() went by; see there. */
enum netaddr_client_rule {
    NETADDR_CLIENT_PEER = 0,        /* peer not trusted: X-F-F ignored */
    NETADDR_CLIENT_NO_XFF,          /* trusted peer sent no X-F-F: the peer */
    NETADDR_CLIENT_FORWARDED,       /* the right-most untrusted entry */
    NETADDR_CLIENT_ALL_TRUSTED,     /* every entry trusted: the left-most */
    NETADDR_CLIENT_MALFORMED,       /* junk entry: the last trusted hop */
    NETADDR_CLIENT_TOO_LONG,        /* walk limit hit: the last trusted hop */
};

/*
 * The client of a request that came from peer, given the trusted proxies
 * trusted[0..ntrusted) and the values of every X-Forwarded-For field of
 * the request in order, xff[i][0..xff_len[i]) for i < nxff (xff[i] may be
 * NULL when xff_len[i] is 0).  Several fields form one comma-separated
 * list (RFC 9110 section 5.3); each entry is stripped of OWS and parsed
 * with netaddr_parse_xff().  This is nginx's real_ip_recursive on.  The
 * rules, in order, and the value returned:
 *
 *   NETADDR_CLIENT_PEER        peer is not in trusted: the client is
 *                              peer and X-Forwarded-For is ignored.
 *   NETADDR_CLIENT_NO_XFF      nxff is 0: the client is peer.
 *   Otherwise the list is walked from the right, each entry that is a
 *   trusted address being skipped (a proxy that appended its peer):
 *   NETADDR_CLIENT_FORWARDED   the first entry not in trusted is the
 *                              client.
 *   NETADDR_CLIENT_MALFORMED   an empty or unparsable entry ends the walk
 *                              before that: the client is the last trusted
 *                              hop, the entry right of the bad one (peer
 *                              when it is the right-most), so junk never
 *                              becomes an address.
 *   NETADDR_CLIENT_TOO_LONG    NETADDR_MAX_XFF entries were trusted and
 *                              there are more: the client is the last of
 *                              them (the left-most walked).
 *   NETADDR_CLIENT_ALL_TRUSTED every entry is trusted: the client is the
 *                              left-most one.
 *
 * The client is thus always peer or an entry of the list.  It is only as
 * right as the trusted proxies: each must append the address it received
 * the request from, else a client can pick its own address.
 */
int     netaddr_client(const struct netaddr *peer,
            const struct netaddr_cidr *trusted, size_t ntrusted,
            const char *const *xff, const size_t *xff_len, size_t nxff,
            struct netaddr *out);

#endif
