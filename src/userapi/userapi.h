/* SPDX-License-Identifier: MIT */
/*
 * userapi.h - what the files of the userapi client share: the exit
 * statuses, the limits, the state of one run, and each file's functions.
 * See userapi(1).
 *
 *   main.c         main, the command table, the command line and help
 *   sessionfile.c  the saved session: one file per server
 *   request.c      requests through libcurl and what their answers mean
 *   password.c     passwords and the request bodies that carry them
 *   commands.c     the commands
 *   listing.c      the commands that list: users (a page at a time, or
 *                  all pages) and sessions
 *   output.c       what is printed: errors, tables, the JSON body
 *
 * Every buffer of the client is a BUF_WIPE struct buf (ua_buf_init), and
 * every struct that held a password or a token is wiped before it goes
 * out of scope: either may hold a secret at some point.
 */
#ifndef USERAPI_USERAPI_H
#define USERAPI_USERAPI_H

#include <stdarg.h>
#include <stddef.h>

#include <curl/curl.h>
#include <json-c/json.h>

#include "buf.h"

/* Exit statuses, documented in userapi(1). */
#define UA_EXIT_FAIL        1   /* local failure: terminal, files, answer */
#define UA_EXIT_USAGE       2
#define UA_EXIT_AUTH        3   /* 401, 403, or no saved session */
#define UA_EXIT_REJECTED    4   /* any other 4xx */
#define UA_EXIT_SERVER      5   /* 5xx */
#define UA_EXIT_CONNECT     6   /* no connection, or no complete answer */

#define UA_DEFAULT_SERVER   "http://127.0.0.1:8080"
#define UA_URL_MAX          1024    /* bytes of a server URL */
#define UA_EMAIL_MAX        1024    /* more than any address the API takes */
#define UA_PASSWORD_MAX     1024    /* the daemon's limit */
#define UA_TOKEN_MAX        256
#define UA_BODY_MAX         (64L * 1024 * 1024)

/* What one run was asked: the command line, and the server it names. */
struct ua {
    const char *server_opt;     /* --server, or NULL */
    char        server[UA_URL_MAX + 1];     /* resolved, without a final / */
    int         json;           /* --json */
    int         password_stdin; /* --password-stdin */
    const char *role;           /* --role, or NULL */
    const char *arg;            /* the command's EMAIL or COMMAND, or NULL */
    long        limit;          /* --limit, or 0 */
    const char *after;          /* --after, or NULL */
    const char *search;         /* --search, or NULL */
    int         all;            /* --all */
};

/* What a saved session holds. */
struct ua_session {
    char    token[UA_TOKEN_MAX + 1];
    char    email[UA_EMAIL_MAX + 1];
};

/* One request's answer, or why there is none. */
struct ua_response {
    long        status;
    struct buf  body;           /* NUL-terminated once complete */
    int         over;           /* the body went past UA_BODY_MAX */
    CURL       *curl;           /* kept until freed, for its headers */
    CURLcode    cc;             /* why no answer came, when none did */
    char        errbuf[CURL_ERROR_SIZE];    /* libcurl's word on it */
};

/* sessionfile.c */
int  ua_session_load(const struct ua *, struct ua_session *, int);
int  ua_session_save(const struct ua *, const struct ua_session *);
int  ua_session_remove(const struct ua *);
int  ua_token_ok(const char *, size_t);

/* request.c */
void ua_buf_init(struct buf *);
const char *ua_buf_path(struct buf *, const char *, const char *);
void ua_response_init(struct ua_response *);
void ua_response_free(struct ua_response *);
int  ua_request(const struct ua *, const char *, const char *, const char *,
         const struct buf *, struct ua_response *);
int  ua_answer(const struct ua *, const struct ua_session *,
         const struct ua_response *);
int  ua_exchange(const struct ua *, const char *, const char *,
         const struct ua_session *, const struct buf *, struct ua_response *);
struct json_object *ua_response_json(const struct ua_response *);
const char *ua_header(const struct ua_response *, const char *);

/* password.c */
int  ua_account_body(const struct ua *, int, struct buf *);
int  ua_passwd_body(const struct ua *, struct buf *);
int  ua_reset_body(const struct ua *, struct buf *);

/* commands.c */
int  ua_status(struct ua *);
int  ua_register(struct ua *);
int  ua_login(struct ua *);
int  ua_whoami(struct ua *);
int  ua_users(struct ua *);
int  ua_passwd(struct ua *);
int  ua_delete(struct ua *);
int  ua_logout(struct ua *);
int  ua_lockouts(struct ua *);
int  ua_unlock(struct ua *);
int  ua_show(struct ua *);
int  ua_role(struct ua *);
int  ua_show_users(struct ua *, int);

/* listing.c */
int  ua_users_paged(struct ua *);
int  ua_sessions(struct ua *);

/* output.c */
void ua_vsay(const char *, const char *, va_list)
         __attribute__((format(printf, 2, 0)));
int  ua_err(const char *, ...) __attribute__((format(printf, 1, 2)));
int  ua_text_ok(const char *);
int  ua_shell_word(struct buf *, const char *);
void ua_print_body(const struct ua_response *);
int  ua_print_users(const struct ua_response *, int);
void ua_print_status(const struct ua_response *);
void ua_print_lower(const char *, const char *);
int  ua_print_lockouts(const struct ua_response *);
int  ua_print_user_table(struct json_object *);
int  ua_print_session(const struct ua_response *);
int  ua_print_sessions(const struct ua_response *);
int  ua_get_print(struct ua *, const char *,
         int (*)(const struct ua_response *));

#endif
