/*
 * api.c - the route table and its handlers.
 *
 * A route is a path and the methods it answers.  A known method on a path
 * that lacks it is 405 with Allow; a path in no row is 404.  HEAD is
 * answered wherever GET is, with the same headers and no body, unless the
 * route has its own HEAD handler.  Methods the parser does not know never
 * get here: it answers them 501.
 */
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "api.h"
#include "http.h"

typedef void (*api_handler)(struct api_ctx *, const struct api_request *,
    struct api_response *);

struct api_route {
    const char  *path;
    api_handler  handlers[HTTP_METHOD_PATCH + 1];
};

static void api_status_head(struct api_ctx *, const struct api_request *,
                struct api_response *);
static void api_status_get(struct api_ctx *, const struct api_request *,
                struct api_response *);
static void api_set_json(struct api_response *r, int status,
                struct json_object *obj);

static const struct api_route api_routes[] = {
    { "/",       { [HTTP_METHOD_HEAD] = api_status_head } },
    { "/status", { [HTTP_METHOD_GET] = api_status_get } },
};

void
api_response_init(struct api_response *r)
{
    r->status = 500;
    buf_init(&r->body);
    buf_init(&r->headers);
    r->user[0] = '\0';
}

void
api_response_reset(struct api_response *r)
{
    r->status = 500;
    buf_reset(&r->body);
    buf_reset(&r->headers);
    r->user[0] = '\0';
}

void
api_response_free(struct api_response *r)
{
    buf_free(&r->body);
    buf_free(&r->headers);
}

const char *
api_error_code(int status)
{
    switch (status) {
    case 400: return "bad_request";
    case 401: return "unauthorized";
    case 403: return "forbidden";
    case 404: return "not_found";
    case 405: return "method_not_allowed";
    case 408: return "request_timeout";
    case 409: return "conflict";
    case 411: return "length_required";
    case 413: return "payload_too_large";
    case 414: return "uri_too_long";
    case 415: return "unsupported_media_type";
    case 417: return "expectation_failed";
    case 429: return "too_many_requests";
    case 431: return "header_fields_too_large";
    case 501: return "not_implemented";
    case 503: return "service_unavailable";
    case 505: return "http_version_not_supported";
    case 507: return "insufficient_storage";
    default:  return status >= 500 ? "internal_error" : "error";
    }
}

void
api_error(struct api_response *r, int status, const char *message)
{
    struct json_object *obj;

    buf_reset(&r->body);
    r->status = status;
    obj = json_object_new_object();
    if (obj == NULL ||
        json_object_object_add(obj, "error",
            json_object_new_string(api_error_code(status))) != 0 ||
        json_object_object_add(obj, "message",
            json_object_new_string(message)) != 0) {
        json_object_put(obj);
        /* Out of memory: a fixed body still tells the client what happened. */
        buf_append_str(&r->body, "{\"error\":\"internal_error\",\"message\":\"out of memory\"}");
        r->status = 500;
        return;
    }
    api_set_json(r, status, obj);
}

/* Serialises obj (taking ownership) as the body. */
static void
api_set_json(struct api_response *r, int status, struct json_object *obj)
{
    const char *s;
    size_t      len;

    s = json_object_to_json_string_length(obj, JSON_C_TO_STRING_PLAIN, &len);
    buf_reset(&r->body);
    if (s == NULL || buf_append(&r->body, s, len) == -1) {
        json_object_put(obj);
        buf_reset(&r->body);
        buf_append_str(&r->body, "{\"error\":\"internal_error\",\"message\":\"out of memory\"}");
        r->status = 500;
        return;
    }
    json_object_put(obj);
    r->status = status;
}

static void
api_status_head(struct api_ctx *ctx, const struct api_request *req,
    struct api_response *r)
{
    (void)req;
    r->status = 200;
    if (buf_appendf(&r->headers,
        "X-Userapid-Status: ok\r\n"
        "X-Userapid-Workers: %d/%d\r\n"
        "X-Userapid-Uptime: %lld\r\n"
        "X-Userapid-Version: %s\r\n",
        __atomic_load_n(&ctx->status->workers_alive, __ATOMIC_RELAXED),
        __atomic_load_n(&ctx->status->workers_configured, __ATOMIC_RELAXED),
        (long long)status_uptime(ctx->status), USERAPID_VERSION) == -1)
        api_error(r, 500, "out of memory");
}

static void
api_status_get(struct api_ctx *ctx, const struct api_request *req,
    struct api_response *r)
{
    struct json_object *obj, *workers;

    (void)req;
    obj = json_object_new_object();
    workers = json_object_new_object();
    if (obj == NULL || workers == NULL) {
        json_object_put(obj);
        json_object_put(workers);
        api_error(r, 500, "out of memory");
        return;
    }
    json_object_object_add(workers, "alive", json_object_new_int(
        __atomic_load_n(&ctx->status->workers_alive, __ATOMIC_RELAXED)));
    json_object_object_add(workers, "configured", json_object_new_int(
        __atomic_load_n(&ctx->status->workers_configured, __ATOMIC_RELAXED)));
    json_object_object_add(obj, "status", json_object_new_string("ok"));
    json_object_object_add(obj, "version", json_object_new_string(USERAPID_VERSION));
    json_object_object_add(obj, "uptime", json_object_new_int64(
        status_uptime(ctx->status)));
    json_object_object_add(obj, "workers", workers);
    json_object_object_add(obj, "connections", json_object_new_int64(
        __atomic_load_n(&ctx->status->connections, __ATOMIC_RELAXED)));
    api_set_json(r, 200, obj);
}

static const struct api_route *
api_route_find(const char *path, size_t len)
{
    size_t i;

    for (i = 0; i < sizeof(api_routes) / sizeof(api_routes[0]); i++)
        if (strlen(api_routes[i].path) == len &&
            memcmp(api_routes[i].path, path, len) == 0)
            return &api_routes[i];
    return NULL;
}

/* Appends "Allow: GET, HEAD\r\n" for the methods route answers. */
static void
api_allow_header(const struct api_route *route, struct buf *out)
{
    static const enum http_method order[] = {
        HTTP_METHOD_GET, HTTP_METHOD_HEAD, HTTP_METHOD_POST, HTTP_METHOD_PUT,
        HTTP_METHOD_PATCH, HTTP_METHOD_DELETE,
    };
    const char *sep = "";
    size_t      i;
    int         ok = buf_append_str(out, "Allow: ") == 0;

    for (i = 0; ok && i < sizeof(order) / sizeof(order[0]); i++) {
        enum http_method m = order[i];

        if (route->handlers[m] == NULL &&
            !(m == HTTP_METHOD_HEAD && route->handlers[HTTP_METHOD_GET]))
            continue;
        ok = buf_appendf(out, "%s%s", sep, http_method_name(m)) == 0;
        sep = ", ";
    }
    if (ok)
        buf_append_str(out, "\r\n");
}

void
api_handle(struct api_ctx *ctx, const struct api_request *req,
    struct api_response *r)
{
    const struct http_request *h = req->http;
    const struct api_route   *route;
    api_handler               fn;
    char                      msg[128];

    route = api_route_find(h->path, h->path_len);
    if (route == NULL) {
        api_error(r, 404, "no such resource");
        return;
    }
    fn = route->handlers[h->method];
    if (fn == NULL && h->method == HTTP_METHOD_HEAD)
        fn = route->handlers[HTTP_METHOD_GET];
    if (fn == NULL) {
        snprintf(msg, sizeof(msg), "%s is not allowed here",
            http_method_name(h->method));
        api_error(r, 405, msg);
        api_allow_header(route, &r->headers);
        return;
    }
    fn(ctx, req, r);
}
