/* SPDX-License-Identifier: MIT */
/*
 * client.c - the client of a request; see client.h.
 */
#include <string.h>
#include <strings.h>

#include "client.h"

#define CLIENT_MAX_XFF  16          /* X-Forwarded-For fields looked at */

static void client_forwarded(const struct config *cfg, const struct netaddr *peer,
                const struct http_request *req, struct client *out);

void
client_resolve(const struct config *cfg, const struct netaddr *peer, int tls,
    const struct http_request *req, struct client *out)
{
    out->secure = tls;
    out->request_id[0] = '\0';
    if (cfg->ntrusted_proxies == 0 || !netaddr_cidr_list_contains(
        cfg->trusted_proxies, cfg->ntrusted_proxies, peer)) {
        if (netaddr_format(peer, out->addr, sizeof(out->addr)) == -1)
            out->addr[0] = '\0';
        return;
    }
    client_forwarded(cfg, peer, req, out);
}

/* From a trusted proxy: its headers say who, how, and which request. */
static void
client_forwarded(const struct config *cfg, const struct netaddr *peer,
    const struct http_request *req, struct client *out)
{
    const char               *xff[CLIENT_MAX_XFF];
    size_t                    xlen[CLIENT_MAX_XFF], n = 0, i;
    const struct http_header *h;
    struct netaddr            who;

    for (i = 0; i < req->nheaders; i++) {
        h = &req->headers[i];
        if (h->name_len == 15 && strncasecmp(h->name, "X-Forwarded-For", 15) == 0 &&
            n < CLIENT_MAX_XFF) {
            xff[n] = h->value;
            xlen[n++] = h->value_len;
        } else if (h->name_len == 17 &&
            strncasecmp(h->name, "X-Forwarded-Proto", 17) == 0) {
            out->secure = h->value_len == 5 && strncasecmp(h->value, "https", 5) == 0;
        } else if (h->name_len == 12 && strncasecmp(h->name, "X-Request-Id", 12) == 0 &&
            client_request_id_ok(h->value, h->value_len)) {
            memcpy(out->request_id, h->value, h->value_len);
            out->request_id[h->value_len] = '\0';
        }
    }
    netaddr_client(peer, cfg->trusted_proxies, cfg->ntrusted_proxies, xff, xlen,
        n, &who);
    if (netaddr_format(&who, out->addr, sizeof(out->addr)) == -1)
        out->addr[0] = '\0';
}

int
client_request_id_ok(const char *s, size_t len)
{
    size_t i;

    if (len == 0 || len > CLIENT_REQUEST_ID_MAX)
        return 0;
    for (i = 0; i < len; i++) {
        char c = s[i];

        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
            (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
            return 0;
    }
    return 1;
}
