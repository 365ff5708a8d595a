/*
 * api.h - routes and handlers: a parsed request in, a status, extra header
 * lines and a JSON body out.  No I/O of its own; the worker owns sockets.
 */
#ifndef USERAPID_API_H
#define USERAPID_API_H

#include <stddef.h>

#include "buf.h"
#include "config.h"
#include "http.h"
#include "status.h"

struct api_ctx {
    const struct config *cfg;
    struct status       *status;
};

struct api_request {
    const struct http_request *http;
    const char                *body;
    size_t                     body_len;
    const char                *remote_addr;
};

struct api_response {
    int          status;
    struct buf   body;          /* JSON, empty for none */
    struct buf   headers;       /* extra "Name: value\r\n" lines */
    char         user[256];     /* who made the request, for the access log */
};

void api_response_init(struct api_response *r);
void api_response_reset(struct api_response *r);
void api_response_free(struct api_response *r);

/* Routes one request.  Always leaves a complete answer in r. */
void api_handle(struct api_ctx *ctx, const struct api_request *req,
         struct api_response *r);

/* Replaces r's answer with status and {"error":"<code>","message":msg}. */
void api_error(struct api_response *r, int status, const char *message);

/* The machine-readable error code of a status ("not_found"). */
const char *api_error_code(int status);

#endif
