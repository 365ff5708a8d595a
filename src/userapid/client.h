/* SPDX-License-Identifier: MIT */
/*
 * client.h - who the client of a request is: the one place that decides.
 *
 * The connection's peer (or the source a PROXY protocol header named, on
 * a `proxy` listener) is the client, unless it is one of trusted_proxies:
 * then the client is the right-most X-Forwarded-For entry that is not a
 * trusted proxy (see netaddr_client), X-Forwarded-Proto: https says the
 * client used HTTPS, and an X-Request-Id of 1-64 characters of
 * [A-Za-z0-9._-] is kept.  From anyone else those headers are ignored.
 * Everything after it (throttling, the access log, the journal, cookies)
 * uses what this says.
 */
#ifndef USERAPID_CLIENT_H
#define USERAPID_CLIENT_H

#include "config.h"
#include "http.h"
#include "netaddr.h"

#define CLIENT_REQUEST_ID_MAX   64

struct client {
    char    addr[NETADDR_STRLEN];       /* the client's address, as text */
    int     secure;                     /* HTTPS as the client sees it */
    char    request_id[CLIENT_REQUEST_ID_MAX + 1];  /* a proxy's, or "" */
};

/* The client of req, which came over a connection from peer (TLS when
 * tls), under cfg's trusted_proxies. */
void client_resolve(const struct config *cfg, const struct netaddr *peer,
    int tls, const struct http_request *req, struct client *out);

/* Whether s[0..len) is a request id to keep: 1-64 of [A-Za-z0-9._-]. */
int  client_request_id_ok(const char *s, size_t len);

#endif
