/* SPDX-License-Identifier: MIT */
/*
 * api_ui.c - serves the web app of ui/: index.html, its stylesheet and
 * its JavaScript modules, compiled into the daemon so that the binary is
 * the whole deployment and nothing is read from disk per request.
 *
 * Every file goes out with a Content-Security-Policy that allows nothing
 * but the daemon's own origin (no inline script or style, no framing),
 * Referrer-Policy: no-referrer, X-Frame-Options: DENY, and Cache-Control:
 * no-cache, so that a browser revalidates after an upgrade.  The app calls
 * the API with fetch and the session cookie; it holds no secret itself.
 * `ui = no` makes every /ui path 404, as an unknown path.
 */
#include <string.h>

#include "api_ui.h"

#define UI_PREFIX_LEN (sizeof("/ui/") - 1)

#define UI_HEADERS \
    "Cache-Control: no-cache\r\n" \
    "Content-Security-Policy: default-src 'self'; script-src 'self'; " \
    "style-src 'self'; img-src 'self' data:; connect-src 'self'; " \
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'\r\n" \
    "Referrer-Policy: no-referrer\r\n" \
    "X-Frame-Options: DENY\r\n"

const struct ui_file *
api_ui_find(const char *name, size_t len)
{
    const struct ui_file *f;

    for (f = ui_files; f->name != NULL; f++)
        if (strlen(f->name) == len && memcmp(f->name, name, len) == 0)
            return f;
    return NULL;
}

int
api_ui_redirect(struct api_ctx *ctx, const struct api_request *req,
    struct api_response *r)
{
    (void)req;
    if (!ctx->cfg->ui) {
        api_error(r, 404, "no such resource");
        return API_DONE;
    }
    r->status = 308;
    buf_append_str(&r->headers, "Location: /ui/\r\n");
    return API_DONE;
}

int
api_ui_get(struct api_ctx *ctx, const struct api_request *req,
    struct api_response *r)
{
    const struct http_request *h = req->http;
    const struct ui_file      *f;

    if (!ctx->cfg->ui) {
        api_error(r, 404, "no such resource");
        return API_DONE;
    }
    if (h->path_len == UI_PREFIX_LEN)
        f = api_ui_find("index.html", sizeof("index.html") - 1);
    else
        f = api_ui_find(h->path + UI_PREFIX_LEN, h->path_len - UI_PREFIX_LEN);
    if (f == NULL) {
        api_error(r, 404, "no such file");
        return API_DONE;
    }
    buf_reset(&r->body);
    if (buf_append(&r->body, f->data, f->len) == -1 ||
        buf_append_str(&r->headers, UI_HEADERS) == -1) {
        api_error(r, 500, "out of memory");
        return API_DONE;
    }
    r->content_type = f->content_type;
    r->status = 200;
    return API_DONE;
}
