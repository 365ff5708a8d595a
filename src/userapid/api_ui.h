/* SPDX-License-Identifier: MIT */
/*
 * api_ui.h - the web app at /ui/ (api_ui.c): files of ui/ compiled into
 * the daemon (build/gen/ui_files.c), for the route table in api.c.
 */
#ifndef USERAPID_API_UI_H
#define USERAPID_API_UI_H

#include <stddef.h>

#include "api.h"

/* One file of ui/, as the Makefile embeds it. */
struct ui_file {
    const char *name;               /* "index.html", no folder */
    const char *content_type;
    const char *data;
    size_t      len;
};

/* The generated table, ended by an entry whose name is NULL. */
extern const struct ui_file ui_files[];

/* The embedded file called name (len bytes), or NULL. */
const struct ui_file *api_ui_find(const char *name, size_t len);

/* GET /ui: 308 to /ui/; 404 when ui = no. */
int api_ui_redirect(struct api_ctx *ctx, const struct api_request *req,
        struct api_response *r);
/* GET /ui/ and /ui/<file>: the file (index.html for /ui/) with its
 * content type and the headers of the app (CSP...); 404 for an unknown
 * file or when ui = no. */
int api_ui_get(struct api_ctx *ctx, const struct api_request *req,
        struct api_response *r);

#endif
