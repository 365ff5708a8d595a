/* SPDX-License-Identifier: MIT */
/*
 * fuzz_body.c - libFuzzer target for request bodies: the JSON and form
 * decoding in api.c and the handlers that use what it decodes.
 *
 * api_decode_body is static, so it is reached the honest way: through
 * api_handle, with a real api_ctx made once per process on a scratch
 * state directory (userdb, session table, dummy hash, password_cost 1,
 * registration open), and with the request head parsed by http.c from a
 * fixed text.  The input is one control byte, then the body:
 *   - bits 0-1, the Content-Type: application/json, the same with a
 *     parameter in other case, application/x-www-form-urlencoded, and that
 *     with a charset;
 *   - bits 2-4, the route: POST / (log in) for 0-5, PUT / (create a user)
 *     for 6, PATCH /users/target@fuzz.test as an administrator for 7.
 * A request that wants a hash runs its job on this thread and resumes, as
 * the worker does with its hashing thread (worker.c, conn_handle and
 * worker_jobs_done).  Created users pile up; past FUZZ_MAX_USERS the state
 * directory is made again.
 *
 * Every answer must be a known status with a JSON object body (naming the
 * error code for 4xx and 5xx), header lines without stray CR or LF, and no
 * stored hash anywhere in it.
 */
#include <json-c/json.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "api.h"
#include "auth.h"
#include "config.h"
#include "fuzz.h"
#include "http.h"
#include "session.h"
#include "status.h"
#include "store.h"
#include "userdb.h"

#define FUZZ_ADMIN      "admin@fuzz.test"
#define FUZZ_TARGET     "target@fuzz.test"
#define FUZZ_PASSWORD   "fuzz-password"     /* of both: seeds log in with it */
#define FUZZ_MAX_USERS  256
#define FUZZ_NCT        4
#define FUZZ_NROUTES    3

static const char *const fuzz_ct[FUZZ_NCT] = {
    "application/json",
    "Application/JSON; charset=utf-8",
    "application/x-www-form-urlencoded",
    "application/x-www-form-urlencoded;charset=UTF-8",
};

static struct config        fuzz_cfg;
static struct api_ctx       fuzz_ctx;
static struct api_response  fuzz_res;
static char                 fuzz_token[CRYPTO_TOKEN_LEN + 1];
static char                 fuzz_hashes[2][AUTH_HASH_SIZE];
static char                 fuzz_heads[FUZZ_NROUTES][FUZZ_NCT][512];
static struct http_request  fuzz_reqs[FUZZ_NROUTES][FUZZ_NCT];

static void fuzz_state_open(void);
static void fuzz_state_close(void);
static void fuzz_login_admin(void);
static void fuzz_heads_parse(void);
static void fuzz_check_response(const struct api_response *r);
static void fuzz_check_headers(const struct buf *h);
static void fuzz_check_email(const char *s, size_t len);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_quiet_logs();
    config_defaults(&fuzz_cfg);
    snprintf(fuzz_cfg.state_dir, sizeof(fuzz_cfg.state_dir), "%s",
        fuzz_dir_make());
    fuzz_cfg.password_cost = 1;
    fuzz_cfg.registration = CONFIG_REGISTRATION_OPEN;
    fuzz_cfg.max_sessions = 64;
    fuzz_ctx.cfg = &fuzz_cfg;
    FUZZ_SETUP((fuzz_ctx.status = status_create()) != NULL);
    FUZZ_SETUP((fuzz_ctx.dummy_hash = auth_dummy_hash(1)) != NULL);
    FUZZ_SETUP(auth_hash_password(FUZZ_PASSWORD, 1, fuzz_hashes[0],
        sizeof(fuzz_hashes[0])) == 0);
    FUZZ_SETUP(auth_hash_password(FUZZ_PASSWORD, 1, fuzz_hashes[1],
        sizeof(fuzz_hashes[1])) == 0);
    api_response_init(&fuzz_res);
    fuzz_state_open();
    return 0;
}

/* A state directory holding an administrator, a user and a session, in
 * the file store (no login throttle: every input is verified). */
static void
fuzz_state_open(void)
{
    struct userdb_user u;
    char               err[STORE_ERR_LEN];
    int                i;

    fuzz_ctx.store = store_open(&fuzz_cfg, STORE_CREATE | STORE_NO_THROTTLE,
        err, sizeof(err));
    if (fuzz_ctx.store == NULL)
        fprintf(stderr, "%s\n", err);
    FUZZ_SETUP(fuzz_ctx.store != NULL);
    for (i = 0; i < 2; i++) {
        memset(&u, 0, sizeof(u));
        snprintf(u.email, sizeof(u.email), "%s", i == 0 ? FUZZ_ADMIN : FUZZ_TARGET);
        u.role = i == 0 ? USERDB_ROLE_ADMIN : USERDB_ROLE_USER;
        u.created_at = INT64_C(1700000000);
        snprintf(u.hash, sizeof(u.hash), "%s", fuzz_hashes[i]);
        FUZZ_SETUP(store_user_add(fuzz_ctx.store, &u) == 0);
    }
    fuzz_login_admin();
}

static void
fuzz_state_close(void)
{
    store_close(fuzz_ctx.store);
    fuzz_ctx.store = NULL;
    fuzz_dir_remove();
    FUZZ_SETUP(mkdir(fuzz_cfg.state_dir, 0700) == 0);
}

/* A fresh administrator session, and the heads that carry its token. */
static void
fuzz_login_admin(void)
{
    struct store_login out;

    FUZZ_SETUP(store_session_login(fuzz_ctx.store, FUZZ_ADMIN, fuzz_hashes[0],
        "127.0.0.1", &out) == 0);
    memcpy(fuzz_token, out.token, sizeof(fuzz_token));
    fuzz_heads_parse();
}

static void
fuzz_heads_parse(void)
{
    static const char *const lines[FUZZ_NROUTES] = {
        "POST / HTTP/1.1",
        "PUT / HTTP/1.1",
        "PATCH /users/target%40fuzz.test HTTP/1.1",
    };
    struct http_parser p;
    int                r, c, n;

    for (r = 0; r < FUZZ_NROUTES; r++) {
        for (c = 0; c < FUZZ_NCT; c++) {
            n = snprintf(fuzz_heads[r][c], sizeof(fuzz_heads[r][c]),
                "%s\r\nHost: fuzz.test\r\nContent-Type: %s\r\n"
                "Authorization: Bearer %s\r\n\r\n", lines[r], fuzz_ct[c],
                r == 2 ? fuzz_token : "none");
            FUZZ_SETUP(n > 0 && n < (int)sizeof(fuzz_heads[r][c]));
            http_parser_init(&p, 65536);
            FUZZ_SETUP(http_parse_head(&p, fuzz_heads[r][c], (size_t)n,
                &fuzz_reqs[r][c]) == HTTP_PARSE_OK);
        }
    }
}

/* Extra header lines: "Name: value\r\n" each, nothing else. */
static void
fuzz_check_headers(const struct buf *h)
{
    const char *p, *end, *eol;

    if (h->len == 0)
        return;
    for (p = h->data, end = h->data + h->len; p < end; p = eol + 2) {
        eol = memchr(p, '\r', (size_t)(end - p));
        FUZZ_CHECK(eol != NULL && eol + 1 < end && eol[1] == '\n');
        FUZZ_CHECK(memchr(p, '\n', (size_t)(eol - p)) == NULL);
        FUZZ_CHECK(memchr(p, '\0', (size_t)(eol - p)) == NULL);
        FUZZ_CHECK(eol - p > 2 && memchr(p, ':', (size_t)(eol - p)) != NULL);
    }
}

static void
fuzz_check_response(const struct api_response *r)
{
    struct json_tokener *tok;
    struct json_object  *obj, *err;
    int                  i;

    FUZZ_CHECK(r->status >= 200 && r->status <= 599);
    FUZZ_CHECK(strcmp(http_status_reason(r->status), "Unknown") != 0);
    FUZZ_CHECK(memchr(r->user, '\0', sizeof(r->user)) != NULL);
    fuzz_check_headers(&r->headers);
    if (r->status == 201)
        FUZZ_CHECK(r->headers.len > 0 &&
            memmem(r->headers.data, r->headers.len, "Location: /users/", 17) != NULL);
    /* No stored hash ever leaves: compare the hash part after the salt. */
    for (i = 0; i < 2 && r->body.len > 0; i++)
        FUZZ_CHECK(memmem(r->body.data, r->body.len, strrchr(fuzz_hashes[i], '$'),
            strlen(strrchr(fuzz_hashes[i], '$'))) == NULL);
    if (r->status == 204) {
        FUZZ_CHECK(r->body.len == 0);
        return;
    }
    FUZZ_CHECK(r->body.len > 0 && r->body.len < INT32_MAX);
    FUZZ_CHECK(memchr(r->body.data, '\0', r->body.len) == NULL);
    FUZZ_CHECK((tok = json_tokener_new()) != NULL);
    obj = json_tokener_parse_ex(tok, r->body.data, (int)r->body.len);
    FUZZ_CHECK(obj != NULL && json_tokener_get_error(tok) == json_tokener_success);
    FUZZ_CHECK(json_tokener_get_parse_end(tok) == r->body.len);
    FUZZ_CHECK(json_object_is_type(obj, json_type_object));
    /* A created account has an address PUT itself would accept. */
    if (r->status == 201) {
        struct json_object *email;

        FUZZ_CHECK(json_object_object_get_ex(obj, "email", &email) &&
            json_object_is_type(email, json_type_string));
        FUZZ_CHECK(userdb_email_valid(json_object_get_string(email),
            (size_t)json_object_get_string_len(email)));
        FUZZ_CHECK(store_user_find(fuzz_ctx.store,
            json_object_get_string(email), NULL) == 0);
    }
    if (r->status >= 400) {
        FUZZ_CHECK(json_object_object_get_ex(obj, "error", &err) &&
            json_object_is_type(err, json_type_string));
        FUZZ_CHECK(strcmp(json_object_get_string(err),
            api_error_code(r->status)) == 0);
        FUZZ_CHECK(json_object_object_get_ex(obj, "message", NULL));
    }
    json_object_put(obj);
    json_tokener_free(tok);
}

/* What userdb_email_valid accepts can be stored once lower-cased. */
static void
fuzz_check_email(const char *s, size_t len)
{
    size_t i;

    if (!userdb_email_valid(s, len))
        return;
    FUZZ_CHECK(len >= 3 && len <= USERDB_EMAIL_MAX);
    for (i = 0; i < len; i++)
        FUZZ_CHECK((unsigned char)s[i] > 0x20 && (unsigned char)s[i] < 0x7f);
    FUZZ_CHECK(memchr(s, '@', len) != NULL);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct api_request  ar;
    struct api_job     *job;
    struct session_info who;
    char               *body;
    size_t              users;
    int                 route, ct, rc;

    if (size == 0)
        return 0;
    ct = data[0] & 3;
    route = (data[0] >> 2) & 7;
    route = route <= 5 ? 0 : route - 5;
    data++;
    size--;

    if (store_user_count(fuzz_ctx.store, 0, &users) == 0 &&
        users > FUZZ_MAX_USERS) {
        fuzz_state_close();
        fuzz_state_open();
    }
    /* Logins may have pushed the administrator's session out. */
    if (route == 2 && store_session_lookup(fuzz_ctx.store, fuzz_token,
        CRYPTO_TOKEN_LEN, &who) != 0)
        fuzz_login_admin();

    /* Exactly size bytes, no terminating NUL: as the worker hands it over. */
    if ((body = malloc(size > 0 ? size : 1)) == NULL)
        return 0;
    if (size > 0)
        memcpy(body, data, size);
    fuzz_check_email(body, size);

    memset(&ar, 0, sizeof(ar));
    ar.http = &fuzz_reqs[route][ct];
    ar.body = size > 0 ? body : NULL;
    ar.body_len = size;
    ar.remote_addr = "192.0.2.1";

    api_response_reset(&fuzz_res);
    rc = api_handle(&fuzz_ctx, &ar, &fuzz_res);
    if (rc == API_PENDING) {
        /* conn_handle: the job leaves the response for a thread... */
        if ((job = malloc(sizeof(*job))) == NULL)
            abort();
        memcpy(job, &fuzz_res.job, sizeof(*job));
        explicit_bzero(&fuzz_res.job, sizeof(fuzz_res.job));
        explicit_bzero(body, size);
        job->pool.run = api_job_run;
        /* ...and worker_jobs_done resumes it until it is answered. */
        while (rc == API_PENDING) {
            job->pool.run(&job->pool);
            api_response_reset(&fuzz_res);
            rc = api_resume(&fuzz_ctx, job, &fuzz_res);
        }
        explicit_bzero(job, sizeof(*job));
        free(job);
    }
    FUZZ_CHECK(rc == API_DONE);
    fuzz_check_response(&fuzz_res);

    explicit_bzero(body, size);
    free(body);
    return 0;
}
