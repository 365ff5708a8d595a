/* SPDX-License-Identifier: MIT */
/*
 * api_page.h - GET / with a query string: a page of the users
 * (api_page.c), for api.c's listing.
 */
#ifndef USERAPID_API_PAGE_H
#define USERAPID_API_PAGE_H

#include "api.h"

#define API_PAGE_DEFAULT    100     /* users in a page without limit */

/* GET /?limit=N&after=CURSOR&q=PREFIX for the authenticated caller who:
 * 200 {"users":[...][,"next"]}, or 400 naming the bad parameter. */
int api_page(struct api_ctx *ctx, const struct api_request *req,
        const struct session_info *who, struct api_response *r);

#endif
