/* SPDX-License-Identifier: MIT */
/*
 * api.h - routes and handlers: a parsed request in, a status, extra header
 * lines and a JSON body out.  No sockets: the worker owns them.
 *
 * Handlers that must hash or verify a password do not do it on the event
 * loop: they fill in r->job and return API_PENDING.  The worker runs
 * api_job_run() on a hashing thread and then calls api_resume() on the
 * loop, which may finish the answer or ask for another job.
 */
#ifndef USERAPID_API_H
#define USERAPID_API_H

#include <stddef.h>

#include "auth.h"
#include "buf.h"
#include "config.h"
#include "hashpool.h"
#include "http.h"
#include "metrics.h"
#include "session.h"
#include "status.h"
#include "store.h"
#include "userdb.h"

#define API_DONE     0
#define API_PENDING  1

/* api_authenticate: a cookie sent from another site's page.  Not a
 * STORE_* value. */
#define API_CROSS_SITE 100

struct api_ctx {
    const struct config  *cfg;
    struct status        *status;
    struct store         *store;        /* users, sessions, login counts */
    const char           *dummy_hash;   /* for logins of unknown emails */
    const char           *degraded;     /* NULL, or why the store cannot
                                           be reached now (HEAD, /status) */
    struct metrics_counters *metrics;   /* the worker's, or NULL */
};

struct api_request {
    const struct http_request *http;
    const char                *body;
    size_t                     body_len;
    const char                *remote_addr;    /* the client (client.h) */
    int                        secure;         /* the client used HTTPS */
};

enum api_job_kind {
    API_JOB_VERIFY = 1,                 /* password against hash */
    API_JOB_HASH,                       /* password into hash */
};

/* Work for a hashing thread, and what the request needs after it. */
struct api_job {
    struct hashpool_job pool;           /* first: the pool's view */
    enum api_job_kind   kind;
    int                 step;           /* which continuation runs next */
    unsigned long       cost;
    char                password[CONFIG_MAX_PASSWORD + 1];
    char                hash[AUTH_HASH_SIZE];   /* in for VERIFY, out for HASH */
    char                verified[AUTH_HASH_SIZE]; /* the hash a PATCH's current
                                           password was verified against */
    int                 result;         /* VERIFY: 1/0/-1; HASH: 0/-1 */
    int                 error;          /* errno of a result of -1, set by
                                           the hashing thread */
    /* Saved request state. */
    int                 found;
    int                 role;
    int                 flags;
    char                email[USERDB_EMAIL_MAX + 1];
    char                actor[USERDB_EMAIL_MAX + 1];  /* who asked, if logged in */
    char                remote[64];     /* client address */
    int                 secure;         /* the client used HTTPS */
    int                 actor_role;
    char                token[CRYPTO_TOKEN_LEN + 1];
    char                new_password[CONFIG_MAX_PASSWORD + 1];
    void               *owner;          /* the worker's connection */
};

struct api_response {
    int             status;
    struct buf      body;           /* JSON, empty for none */
    struct buf      headers;        /* extra "Name: value\r\n" lines */
    char            user[USERDB_EMAIL_MAX + 1]; /* who asked, for the access log */
    const char     *content_type;   /* of a body; NULL: JSON */
    struct api_job  job;            /* valid while API_PENDING */
};

void api_response_init(struct api_response *r);
void api_response_reset(struct api_response *r);
void api_response_free(struct api_response *r);

/* The user count of HEAD / and /status: the file store's, re-read when
 * a worker changed it or at most every 100 ms; a database's, from the
 * status page (the background refresh).  Never waits on a database. */
size_t api_users_count(struct api_ctx *ctx);

/* Routes one request.  API_DONE with a complete answer in r, or
 * API_PENDING with r->job to run. */
int  api_handle(struct api_ctx *ctx, const struct api_request *req,
         struct api_response *r);
/* Runs the job's hashing: thread-safe, touches only the job. */
void api_job_run(struct hashpool_job *job);
/* Continues after api_job_run, on the loop thread.  API_DONE with the
 * answer in r, or API_PENDING with job updated for another run. */
int  api_resume(struct api_ctx *ctx, struct api_job *job,
         struct api_response *r);

/*
 * The CORS headers of the answer to req, appended to headers: none unless
 * its Origin is one of cors_origins; then Access-Control-Allow-Origin
 * echoing it, -Allow-Credentials and Vary: Origin, and for a preflight
 * (OPTIONS with Access-Control-Request-Method) -Allow-Methods,
 * -Allow-Headers and -Max-Age.
 */
void api_cors(const struct config *cfg, const struct http_request *req,
         struct buf *headers);

/* The caller's session, from "Authorization: Bearer" or the cookie: 0
 * with who (and token, when not NULL) filled, STORE_NOT_FOUND,
 * API_CROSS_SITE for the cookie of a state-changing request from another
 * site (a foreign Origin, or Sec-Fetch-Site: cross-site; api_no_session
 * answers it 403), or -1 when the store failed (answer api_store_error). */
int  api_authenticate(struct api_ctx *ctx, const struct api_request *req,
         struct session_info *who, char token[CRYPTO_TOKEN_LEN + 1]);

/* A failed store call (errno and store_errmsg set) as r's answer: 507 for
 * a full disk, 503 with Retry-After while the database cannot be reached
 * or does not answer in time, else 500; logged.  Returns API_DONE. */
int  api_store_error(struct api_ctx *ctx, struct api_response *r);

/* The 403 of a request without a live session, or api_store_error's
 * answer when rc says the store failed.  Returns API_DONE. */
int  api_no_session(struct api_ctx *ctx, struct api_response *r, int rc,
         const char *message);

/* Replaces r's answer with status and {"error":"<code>","message":msg}. */
void api_error(struct api_response *r, int status, const char *message);

/* Cache-Control: no-store, for answers that carry tokens or user data. */
void api_no_store(struct api_response *r);

/* The session cookie, Secure when secure or cookie_secure; token "" with
 * max_age 0 clears it. */
void api_cookie(struct api_ctx *ctx, struct api_response *r,
         const char *token, long max_age, int secure);

/* Tells the other workers that users or sessions changed (they forget
 * what they cached), with the change of the user count. */
void api_db_changed(struct api_ctx *ctx, int delta);

/* {"email","role","role_id","created_at"} of u appended to b.  0 or -1. */
int  api_user_record(struct buf *b, const struct userdb_user *u);

/* The machine-readable error code of a status ("not_found"). */
const char *api_error_code(int status);

#endif
