/* SPDX-License-Identifier: MIT */
/*
 * api_sessions.h - the handlers of /session and /sessions
 * (api_sessions.c), for the route table in api.c.
 */
#ifndef USERAPID_API_SESSIONS_H
#define USERAPID_API_SESSIONS_H

#include "api.h"

/* GET /session: 200 {"email","role","role_id","created_at","expires_at"}
 * of the caller's session. */
int api_session_get(struct api_ctx *ctx, const struct api_request *req,
        struct api_response *r);
/* GET /sessions: 200 {"sessions":[{"id","created_at","last_used",
 * "expires_at","address","current"}...]}, the caller's, oldest first. */
int api_sessions_get(struct api_ctx *ctx, const struct api_request *req,
        struct api_response *r);
/* DELETE /sessions/<id>: 204, or 404 when the caller has no such one. */
int api_sessions_delete(struct api_ctx *ctx, const struct api_request *req,
        struct api_response *r);
/* DELETE /sessions: 204, every session of the caller ended. */
int api_sessions_delete_all(struct api_ctx *ctx,
        const struct api_request *req, struct api_response *r);

#endif
