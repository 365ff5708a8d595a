/* SPDX-License-Identifier: MIT */
/*
 * api_lockouts.h - the handlers of /lockouts (api_lockouts.c), for the
 * route table in api.c.
 */
#ifndef USERAPID_API_LOCKOUTS_H
#define USERAPID_API_LOCKOUTS_H

#include "api.h"

/* GET /lockouts: 200 {"lockouts":[{"kind","key","failures",
 * "retry_after"}...]}, accounts first, each kind by key. */
int api_lockouts_get(struct api_ctx *ctx, const struct api_request *req,
        struct api_response *r);
/* DELETE /lockouts/<email-or-address>: 204, or 404 when nothing was
 * locked for it. */
int api_lockouts_delete(struct api_ctx *ctx, const struct api_request *req,
        struct api_response *r);

#endif
