/* SPDX-License-Identifier: MIT */
/*
 * request.c - one request to the server through libcurl, and what its
 * answer means: the exit status, and the one line on stderr that says
 * why when it is not a success.
 *
 * A request goes to the server URL and a path below it, with the saved
 * token as a Bearer credential when there is one, and reads the answer
 * into a struct ua_response whose body is capped at UA_BODY_MAX.  Nothing
 * is followed: a redirect would carry the token elsewhere.  The body sent
 * and the Authorization header are built in wiped buffers; libcurl keeps
 * its own copy of the header while sending, which is beyond our reach.
 *
 * An error answer is said as the server's JSON "message" (else its
 * status), with the wait Retry-After gives when there is one.  A 403 to
 * a saved token is either a refusal or the end of the session: the
 * server's own record of the user, which any live session may read,
 * tells them apart, and an ended session is said as such, with the
 * command that logs in again.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "userapi.h"

#define UA_CONNECT_TIMEOUT  5L      /* seconds */
#define UA_TIMEOUT          30L     /* seconds, for the whole request */

/* ---- buffers -------------------------------------------------------------- */

/* Every buffer of the client may hold a password or a token: wiped when
 * it moves or is freed, and never larger than UA_BODY_MAX. */
void
ua_buf_init(struct buf *b)
{
    buf_init_with(b, BUF_WIPE, UA_BODY_MAX);
}

/* prefix then email percent-encoded into b, as the server writes
 * Location.  The path, or NULL when memory ran out. */
const char *
ua_buf_path(struct buf *b, const char *prefix, const char *email)
{
    static const char hex[] = "0123456789ABCDEF";
    const char       *p;
    char              esc[3];

    if (buf_append_str(b, prefix) == -1)
        return NULL;
    for (p = email; *p != '\0'; p++) {
        unsigned char c = (unsigned char)*p;

        if (isalnum(c) || strchr("-._~!$&'*+=@", c) != NULL) {
            if (buf_append(b, p, 1) == -1)
                return NULL;
            continue;
        }
        esc[0] = '%';
        esc[1] = hex[c >> 4];
        esc[2] = hex[c & 0xf];
        if (buf_append(b, esc, 3) == -1)
            return NULL;
    }
    return buf_str(b);
}

/* ---- sending -------------------------------------------------------------- */

void
ua_response_init(struct ua_response *r)
{
    memset(r, 0, sizeof(*r));
    ua_buf_init(&r->body);
}

void
ua_response_free(struct ua_response *r)
{
    buf_free(&r->body);
    if (r->curl != NULL)
        curl_easy_cleanup(r->curl);
    r->curl = NULL;
}

static size_t
ua_body_cb(char *data, size_t size, size_t n, void *arg)
{
    struct ua_response *r = arg;

    /* A short count makes libcurl stop with CURLE_WRITE_ERROR. */
    if (buf_append(&r->body, data, size * n) == -1) {
        r->over = errno == EFBIG;
        return 0;
    }
    return size * n;
}

/* Appends line to *hdrs.  0, or -1 when memory ran out. */
static int
ua_header_add(struct curl_slist **hdrs, const char *line)
{
    struct curl_slist *h;

    if (line == NULL || (h = curl_slist_append(*hdrs, line)) == NULL)
        return -1;
    *hdrs = h;
    return 0;
}

/* The request's headers into *hdrs: token (NULL: none) as a Bearer
 * credential, and a JSON body's type when it has one.  0, or -1 when
 * memory ran out. */
static int
ua_headers(struct curl_slist **hdrs, const char *token, int has_body)
{
    struct buf auth;
    int        rc;

    /* "Expect:" keeps libcurl from waiting for a 100 Continue. */
    if (ua_header_add(hdrs, "Expect:") == -1 ||
        ua_header_add(hdrs, "Accept: application/json") == -1 ||
        (has_body &&
        ua_header_add(hdrs, "Content-Type: application/json") == -1))
        return -1;
    if (token == NULL)
        return 0;
    ua_buf_init(&auth);
    if (buf_append_str(&auth, "Authorization: Bearer ") == -1 ||
        buf_append_str(&auth, token) == -1)
        rc = -1;
    else
        rc = ua_header_add(hdrs, buf_str(&auth));
    buf_free(&auth);
    return rc;
}

/* The options of the transfer r->curl: url, hdrs, the method and body
 * (NULL: none).  CURLE_OK, or CURLE_UNKNOWN_OPTION when libcurl refused
 * one. */
static CURLcode
ua_setopts(struct ua_response *r, const char *url, struct curl_slist *hdrs,
    const char *method, const struct buf *body)
{
    CURL    *c = r->curl;
    CURLcode cc = CURLE_OK;

    cc |= curl_easy_setopt(c, CURLOPT_URL, url);
    cc |= curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    cc |= curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    cc |= curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, UA_CONNECT_TIMEOUT);
    cc |= curl_easy_setopt(c, CURLOPT_TIMEOUT, UA_TIMEOUT);
    cc |= curl_easy_setopt(c, CURLOPT_ERRORBUFFER, r->errbuf);
    cc |= curl_easy_setopt(c, CURLOPT_USERAGENT, "userapi/" USERAPID_VERSION);
    cc |= curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
    cc |= curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, ua_body_cb);
    cc |= curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
    if (strcmp(method, "HEAD") == 0)
        cc |= curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    else if (strcmp(method, "GET") != 0)
        cc |= curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    if (body != NULL) {
        /* Not copied by libcurl: body stays ours to wipe. */
        cc |= curl_easy_setopt(c, CURLOPT_POSTFIELDS, body->data);
        cc |= curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
            (curl_off_t)body->len);
    }
    /* The codes are or-ed together: only whether one failed is known. */
    return cc == CURLE_OK ? CURLE_OK : CURLE_UNKNOWN_OPTION;
}

/*
 * Sends method path as ua_request does, without a word: 0 with
 * r->status set; UA_EXIT_CONNECT when no complete answer came, or
 * UA_EXIT_FAIL, with r->cc (and r->over, r->errbuf) saying why.
 */
static int
ua_send(const struct ua *ua, const char *method, const char *path,
    const char *token, const struct buf *body, struct ua_response *r)
{
    struct curl_slist *hdrs = NULL;
    struct buf         url;
    int                rc = UA_EXIT_FAIL;

    ua_response_init(r);
    ua_buf_init(&url);
    r->cc = CURLE_FAILED_INIT;
    if ((r->curl = curl_easy_init()) == NULL)
        return rc;
    r->cc = CURLE_OUT_OF_MEMORY;
    if (buf_append_str(&url, ua->server) == -1 ||
        buf_append_str(&url, path) == -1 || buf_str(&url) == NULL ||
        ua_headers(&hdrs, token, body != NULL) == -1)
        goto out;
    if ((r->cc = ua_setopts(r, buf_str(&url), hdrs, method, body)) !=
        CURLE_OK)
        goto out;
    if ((r->cc = curl_easy_perform(r->curl)) == CURLE_OK) {
        curl_easy_getinfo(r->curl, CURLINFO_RESPONSE_CODE, &r->status);
        rc = buf_str(&r->body) != NULL ? 0 : UA_EXIT_FAIL;
        r->cc = rc == 0 ? CURLE_OK : CURLE_OUT_OF_MEMORY;
    } else if (!r->over && r->cc != CURLE_WRITE_ERROR &&
        r->cc != CURLE_OUT_OF_MEMORY) {
        rc = UA_EXIT_CONNECT;
    }
out:
    curl_slist_free_all(hdrs);
    buf_free(&url);
    return rc;
}

/* Says why ua_send gave rc, not 0, for r.  Returns rc. */
static int
ua_say_unsent(const struct ua *ua, const struct ua_response *r, int rc)
{
    if (rc == UA_EXIT_CONNECT)
        ua_err("cannot connect to %s: %s", ua->server,
            r->errbuf[0] != '\0' ? r->errbuf : curl_easy_strerror(r->cc));
    else if (r->over)
        ua_err("the answer from %s is larger than %ld bytes", ua->server,
            UA_BODY_MAX);
    else if (r->cc == CURLE_FAILED_INIT)
        ua_err("cannot start libcurl");
    else if (r->cc == CURLE_UNKNOWN_OPTION)
        ua_err("libcurl refused an option (version %s)", curl_version());
    else
        ua_err("out of memory");
    return rc;
}

/*
 * Sends method path (below the server URL) with token as a Bearer
 * credential (NULL: none) and body as JSON (NULL: none) and reads the
 * answer into r, which the caller frees with ua_response_free whatever
 * this returns.  0 with r->status set, UA_EXIT_CONNECT when no complete
 * answer came, or UA_EXIT_FAIL, after saying why.
 */
int
ua_request(const struct ua *ua, const char *method, const char *path,
    const char *token, const struct buf *body, struct ua_response *r)
{
    int rc = ua_send(ua, method, path, token, body, r);

    return rc != 0 ? ua_say_unsent(ua, r, rc) : 0;
}

/* ---- answers -------------------------------------------------------------- */

/* The body as a JSON object, or NULL when it is not one.  The caller
 * puts it. */
struct json_object *
ua_response_json(const struct ua_response *r)
{
    struct json_tokener *tok;
    struct json_object  *o;

    if (r->body.len == 0 || (tok = json_tokener_new()) == NULL)
        return NULL;
    o = json_tokener_parse_ex(tok, r->body.data, (int)r->body.len);
    if (o != NULL && (json_tokener_get_error(tok) != json_tokener_success ||
        json_tokener_get_parse_end(tok) != r->body.len ||
        !json_object_is_type(o, json_type_object))) {
        json_object_put(o);
        o = NULL;
    }
    json_tokener_free(tok);
    return o;
}

/* The value of a header of the answer, or NULL when it has none that may
 * go to a terminal. */
const char *
ua_header(const struct ua_response *r, const char *name)
{
    struct curl_header *h;

    if (r->curl == NULL ||
        curl_easy_header(r->curl, name, 0, CURLH_HEADER, -1, &h) !=
        CURLHE_OK || !ua_text_ok(h->value))
        return NULL;
    return h->value;
}

/* The seconds to wait that the answer's Retry-After gives, as a number
 * or as a date; 0 when it gives none. */
static long long
ua_retry_after(const struct ua_response *r)
{
    const char *v = ua_header(r, "Retry-After");
    char       *end;
    long long   s;
    time_t      t;

    if (v == NULL)
        return 0;
    if (isdigit((unsigned char)v[0])) {
        errno = 0;
        s = strtoll(v, &end, 10);
        return *end == '\0' && errno == 0 ? s : 0;
    }
    if ((t = curl_getdate(v, NULL)) == -1 || (s = t - time(NULL)) < 0)
        return 0;
    return s;
}

/* The exit status for an answer's HTTP status that is not a success. */
static int
ua_status_exit(long status)
{
    if (status == 401 || status == 403)
        return UA_EXIT_AUTH;
    if (status >= 400 && status < 500)
        return UA_EXIT_REJECTED;
    if (status >= 500 && status < 600)
        return UA_EXIT_SERVER;
    return UA_EXIT_FAIL;
}

/* Says the error answer r, whose exit status is rc: the server's message
 * (else its status), then the wait it asks for. */
static void
ua_say_refused(const struct ua_response *r, int rc)
{
    struct json_object *o = ua_response_json(r), *m;
    const char         *msg = NULL;
    char                wait[48] = "";
    long long           s;

    if (o != NULL && json_object_object_get_ex(o, "message", &m) &&
        json_object_is_type(m, json_type_string) &&
        json_object_get_string(m)[0] != '\0' &&
        ua_text_ok(json_object_get_string(m)))
        msg = json_object_get_string(m);
    if ((s = ua_retry_after(r)) > 0)
        snprintf(wait, sizeof(wait), " (wait %lld s)", s);
    if (msg != NULL)
        fprintf(stderr, "userapi: %s%s\n", msg, wait);
    else if (rc == UA_EXIT_FAIL)
        fprintf(stderr, "userapi: unexpected answer %ld from the server%s\n",
            r->status, wait);
    else
        fprintf(stderr, "userapi: the server answered %ld%s\n", r->status,
            wait);
    json_object_put(o);
}

/*
 * Whether the server no longer knows the session s: its user's own
 * record, which any live session may read, is refused to it too.  Asked
 * quietly; no answer is no proof.
 */
static int
ua_session_ended(const struct ua *ua, const struct ua_session *s)
{
    struct ua_response r;
    struct buf         path;
    const char        *p;
    int                ended;

    ua_response_init(&r);
    ua_buf_init(&path);
    ended = (p = ua_buf_path(&path, "/users/", s->email)) != NULL &&
        ua_send(ua, "GET", p, s->token, NULL, &r) == 0 && r.status == 403;
    ua_response_free(&r);
    buf_free(&path);
    return ended;
}

/* Says that the session s has ended, and the command that logs in again
 * to the same server. */
static void
ua_say_ended(const struct ua *ua, const struct ua_session *s)
{
    struct buf cmd;

    ua_buf_init(&cmd);
    if (buf_append_str(&cmd, "userapi ") == -1 ||
        (ua->server_opt != NULL &&
        (buf_append_str(&cmd, "--server ") == -1 ||
        ua_shell_word(&cmd, ua->server) == -1 ||
        buf_append_str(&cmd, " ") == -1)) ||
        buf_append_str(&cmd, "login ") == -1 ||
        ua_shell_word(&cmd, s->email) == -1 || buf_str(&cmd) == NULL)
        fprintf(stderr, "userapi: the session for %s has ended; log in "
            "again\n", ua->server);
    else
        fprintf(stderr, "userapi: the session for %s has ended; log in "
            "again with: %s\n", ua->server, buf_str(&cmd));
    buf_free(&cmd);
}

/*
 * The exit status for the answer r to a request that sent the saved
 * session s (NULL: none): 0 for 2xx; else the error is said on stderr.
 */
int
ua_answer(const struct ua *ua, const struct ua_session *s,
    const struct ua_response *r)
{
    int rc;

    if (r->status >= 200 && r->status < 300)
        return 0;
    rc = ua_status_exit(r->status);
    if (r->status == 403 && s != NULL && ua_session_ended(ua, s))
        ua_say_ended(ua, s);
    else
        ua_say_refused(r, rc);
    return rc;
}

/*
 * ua_request with the token of s (NULL: none), then ua_answer: 0 with a
 * 2xx answer in r, else the exit status after saying why.  The caller
 * frees r whatever this returns.
 */
int
ua_exchange(const struct ua *ua, const char *method, const char *path,
    const struct ua_session *s, const struct buf *body, struct ua_response *r)
{
    int rc;

    if ((rc = ua_request(ua, method, path, s != NULL ? s->token : NULL,
        body, r)) != 0)
        return rc;
    return ua_answer(ua, s, r);
}
