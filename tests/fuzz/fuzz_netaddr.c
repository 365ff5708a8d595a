/* SPDX-License-Identifier: MIT */
/*
 * fuzz_netaddr.c - libFuzzer target for client addresses, CIDR lists and
 * the client behind trusted proxies (src/netaddr.c).
 *
 * Input: lines.  The first is a list of trusted blocks as a configuration
 * value; the second the peer's address; every further line (up to
 * FUZZ_MAX_FIELDS) the value of one X-Forwarded-For field.  A list that
 * does not parse is replaced by "10.0.0.0/8 2001:db8::/32" and a peer that
 * does not parse by 10.0.0.1, so the walk is reached either way.
 *
 * Checked:
 *   - a list parses to blocks that format and parse back to themselves,
 *     or fails with a printable reason;
 *   - netaddr_client() agrees with a plain model of its rules, written
 *     here over the entries split left to right, and its client is always
 *     the peer or an entry of the list;
 *   - every entry, as text, scans as inet_pton() reads it; every prefix
 *     of a text that can still become an address can too; a parsed
 *     address formats and parses back to itself.
 */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "netaddr.h"

#define FUZZ_MAX_FIELDS     32
#define FUZZ_MAX_ENTRIES    (32768 + FUZZ_MAX_FIELDS)   /* -max_len's worth */

struct fuzz_entry {
    const char *s;              /* OWS stripped */
    size_t      len;
    int         ok;             /* parsed by netaddr_parse_xff */
    struct netaddr a;
};

static struct fuzz_entry entries[FUZZ_MAX_ENTRIES];

static int      fuzz_check_list(const char *s, size_t len,
                    struct netaddr_cidr *out, size_t *n);
static void     fuzz_check_block(const struct netaddr_cidr *c);
static void     fuzz_check_text(const char *s, size_t len);
static void     fuzz_check_roundtrip(const struct netaddr *a);
static size_t   fuzz_split(const char *const *xff, const size_t *xff_len,
                    size_t nxff);
static int      fuzz_model(const struct netaddr *peer,
                    const struct netaddr_cidr *t, size_t nt, size_t nentries,
                    size_t nxff, struct netaddr *out);

/* A formatted address parses back to the same one. */
static void
fuzz_check_roundtrip(const struct netaddr *a)
{
    struct netaddr again;
    char           text[NETADDR_STRLEN];
    int            n;

    FUZZ_CHECK(a->family == AF_INET || a->family == AF_INET6);
    if (a->family == AF_INET) {
        static const uint8_t zero[12];

        FUZZ_CHECK(memcmp(a->bytes + 4, zero, sizeof(zero)) == 0);
    }
    n = netaddr_format(a, text, sizeof(text));
    FUZZ_CHECK(n > 0 && (size_t)n < sizeof(text) && strlen(text) == (size_t)n);
    FUZZ_CHECK(netaddr_parse(text, (size_t)n, &again) == 0);
    FUZZ_CHECK(netaddr_cmp(a, &again) == 0);
    FUZZ_CHECK(netaddr_parse_xff(text, (size_t)n, &again) == 0);
    FUZZ_CHECK(netaddr_cmp(a, &again) == 0);
}

/* A block: host bits clear, inside itself, and its text gives it back. */
static void
fuzz_check_block(const struct netaddr_cidr *c)
{
    struct netaddr_cidr again;
    const char         *why;
    char                text[NETADDR_STRLEN + 8];
    int                 n;

    fuzz_check_roundtrip(&c->addr);
    FUZZ_CHECK(c->prefix <= (c->addr.family == AF_INET ? 32u : 128u));
    FUZZ_CHECK(netaddr_cidr_contains(c, &c->addr));
    n = netaddr_format(&c->addr, text, sizeof(text));
    FUZZ_CHECK(n > 0);
    n += snprintf(text + n, sizeof(text) - (size_t)n, "/%u", c->prefix);
    FUZZ_CHECK(netaddr_cidr_parse(text, (size_t)n, &again, &why) == 0);
    FUZZ_CHECK(netaddr_cmp(&again.addr, &c->addr) == 0 &&
        again.prefix == c->prefix);
}

/* A list: valid blocks, or a printable reason.  0 or -1 as the parser. */
static int
fuzz_check_list(const char *s, size_t len, struct netaddr_cidr *out, size_t *n)
{
    char   err[128];
    size_t i;

    memset(err, 'x', sizeof(err));
    if (netaddr_cidr_list_parse(s, len, out, n, err, sizeof(err)) == 0) {
        FUZZ_CHECK(*n <= NETADDR_MAX_CIDRS);
        for (i = 0; i < *n; i++)
            fuzz_check_block(&out[i]);
        return 0;
    }
    FUZZ_CHECK(*n == 0);
    FUZZ_CHECK(memchr(err, '\0', sizeof(err)) != NULL && err[0] != '\0');
    for (i = 0; err[i] != '\0'; i++)
        FUZZ_CHECK(err[i] >= 0x20 && err[i] < 0x7f);
    return -1;
}

/*
 * One text as an address of each family: the same verdict and bytes as
 * inet_pton(), and a viable text has only viable prefixes.
 */
static void
fuzz_check_text(const char *s, size_t len)
{
    struct netaddr_cidr c;
    struct netaddr      a;
    const char         *why;
    uint8_t             want[16];
    char                z[64];
    size_t              k;
    int                 af, family, rc;

    if (netaddr_cidr_parse(s, len, &c, &why) == 0)
        fuzz_check_block(&c);
    else
        FUZZ_CHECK(why != NULL && why[0] != '\0');
    for (af = 0; af < 2; af++) {
        family = af == 0 ? AF_INET : AF_INET6;
        rc = netaddr_scan(family, s, len, &a);
        FUZZ_CHECK(rc == NETADDR_SCAN_BAD || rc == NETADDR_SCAN_PARTIAL ||
            rc == NETADDR_SCAN_DONE);
        if (len < sizeof(z) && memchr(s, '\0', len) == NULL) {
            memcpy(z, s, len);
            z[len] = '\0';
            FUZZ_CHECK((inet_pton(family, z, want) == 1) ==
                (rc == NETADDR_SCAN_DONE));
        }
        if (rc == NETADDR_SCAN_DONE) {
            fuzz_check_roundtrip(&a);
            if (len < sizeof(z) && family == AF_INET)
                FUZZ_CHECK(memcmp(a.bytes, want, 4) == 0);
            else if (len < sizeof(z) && a.family == AF_INET6)
                FUZZ_CHECK(memcmp(a.bytes, want, 16) == 0);
            else if (len < sizeof(z))
                FUZZ_CHECK(memcmp(a.bytes, want + 12, 4) == 0);
        }
        if (rc != NETADDR_SCAN_BAD)
            for (k = 0; k < len; k++)
                FUZZ_CHECK(netaddr_scan(family, s, k, &a) != NETADDR_SCAN_BAD);
    }
}

/*
 * The entries of all fields, left to right, OWS stripped; how many, or
 * FUZZ_MAX_ENTRIES + 1 when they do not all fit.
 */
static size_t
fuzz_split(const char *const *xff, const size_t *xff_len, size_t nxff)
{
    size_t f, i, start, n = 0;

    for (f = 0; f < nxff; f++) {
        for (i = 0, start = 0; i <= xff_len[f]; i++) {
            struct fuzz_entry *e;

            if (i < xff_len[f] && xff[f][i] != ',')
                continue;
            if (n == FUZZ_MAX_ENTRIES)
                return n + 1;
            e = &entries[n++];
            e->s = xff[f] + start;
            e->len = i - start;
            while (e->len > 0 && (e->s[0] == ' ' || e->s[0] == '\t')) {
                e->s++;
                e->len--;
            }
            while (e->len > 0 && (e->s[e->len - 1] == ' ' ||
                e->s[e->len - 1] == '\t'))
                e->len--;
            e->ok = netaddr_parse_xff(e->s, e->len, &e->a) == 0;
            start = i + 1;
        }
    }
    return n;
}

/* netaddr.h's rules, read literally, over entries[0..n). */
static int
fuzz_model(const struct netaddr *peer, const struct netaddr_cidr *t, size_t nt,
    size_t n, size_t nxff, struct netaddr *out)
{
    struct netaddr hop = *peer;
    size_t         i, walked;

    *out = *peer;
    if (!netaddr_cidr_list_contains(t, nt, peer))
        return NETADDR_CLIENT_PEER;
    if (nxff == 0)
        return NETADDR_CLIENT_NO_XFF;
    for (i = n, walked = 0; i-- > 0; walked++) {
        if (walked == NETADDR_MAX_XFF) {
            *out = hop;
            return NETADDR_CLIENT_TOO_LONG;
        }
        if (!entries[i].ok) {
            *out = hop;
            return NETADDR_CLIENT_MALFORMED;
        }
        if (!netaddr_cidr_list_contains(t, nt, &entries[i].a)) {
            *out = entries[i].a;
            return NETADDR_CLIENT_FORWARDED;
        }
        hop = entries[i].a;
    }
    *out = hop;
    return NETADDR_CLIENT_ALL_TRUSTED;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char    fallback[] = "10.0.0.0/8 2001:db8::/32";
    struct netaddr_cidr  trusted[NETADDR_MAX_CIDRS];
    struct netaddr       peer, got, want;
    const char          *lines[FUZZ_MAX_FIELDS + 2], *xff[FUZZ_MAX_FIELDS];
    size_t               lens[FUZZ_MAX_FIELDS + 2], xff_len[FUZZ_MAX_FIELDS];
    size_t               nlines = 0, ntrusted, nxff, nentries, i, start;
    char                *buf;
    int                  rc, model, found;

    /* Exactly size bytes: a read past them is a heap overflow. */
    if ((buf = malloc(size > 0 ? size : 1)) == NULL)
        return 0;
    if (size > 0)
        memcpy(buf, data, size);
    for (i = 0, start = 0; i <= size && nlines < FUZZ_MAX_FIELDS + 2; i++) {
        if (i < size && buf[i] != '\n')
            continue;
        lines[nlines] = buf + start;
        lens[nlines++] = i - start;
        start = i + 1;
    }

    if (fuzz_check_list(lines[0], lens[0], trusted, &ntrusted) == -1)
        FUZZ_CHECK(fuzz_check_list(fallback, strlen(fallback), trusted,
            &ntrusted) == 0);
    if (nlines < 2 || netaddr_parse(lines[1], lens[1], &peer) == -1)
        FUZZ_CHECK(netaddr_parse("10.0.0.1", 8, &peer) == 0);
    else
        fuzz_check_roundtrip(&peer);
    nxff = nlines > 2 ? nlines - 2 : 0;
    for (i = 0; i < nxff; i++) {
        xff[i] = lines[i + 2];
        xff_len[i] = lens[i + 2];
    }

    rc = netaddr_client(&peer, trusted, ntrusted, xff, xff_len, nxff, &got);
    fuzz_check_roundtrip(&got);
    FUZZ_CHECK(rc >= NETADDR_CLIENT_PEER && rc <= NETADDR_CLIENT_TOO_LONG);
    if (rc == NETADDR_CLIENT_FORWARDED)
        FUZZ_CHECK(!netaddr_cidr_list_contains(trusted, ntrusted, &got));
    else if (rc != NETADDR_CLIENT_PEER)
        FUZZ_CHECK(netaddr_cidr_list_contains(trusted, ntrusted, &got));
    if ((nentries = fuzz_split(xff, xff_len, nxff)) > FUZZ_MAX_ENTRIES) {
        free(buf);
        return 0;
    }
    model = fuzz_model(&peer, trusted, ntrusted, nentries, nxff, &want);
    FUZZ_CHECK(rc == model);
    FUZZ_CHECK(netaddr_cmp(&got, &want) == 0);
    /* Never an address nobody wrote: the peer or one of the entries. */
    found = netaddr_cmp(&got, &peer) == 0;
    for (i = 0; i < nentries && !found; i++)
        found = entries[i].ok && netaddr_cmp(&got, &entries[i].a) == 0;
    FUZZ_CHECK(found);

    for (i = 0; i < nentries; i++) {
        fuzz_check_text(entries[i].s, entries[i].len);
        if (entries[i].ok)
            fuzz_check_roundtrip(&entries[i].a);
    }

    free(buf);
    return 0;
}
