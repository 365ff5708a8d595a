/* SPDX-License-Identifier: MIT */
/*
 * listing.c - the commands of userapi that list: users a page at a time
 * (GET /?limit&after&q), or every page with --all, and sessions (GET
 * /sessions).
 *
 * A page prints as the users table, then "next: CURSOR" when the server
 * said more remain; --json prints the body as it came.  --all follows the
 * cursors until no page is left and prints one table, or with --json one
 * {"users":[...]} of every page.  A cursor is passed back as the server
 * gave it, checked to be base64url first, so that nothing but letters,
 * digits, '-' and '_' go into a URL or onto a terminal.
 */
#include <stdio.h>
#include <string.h>

#include "userapi.h"

#define UA_CURSOR_MAX   1024
#define UA_PAGE_ALL     1000        /* users a page with --all */
#define UA_JSON_FLAGS   (JSON_C_TO_STRING_PLAIN | \
                            JSON_C_TO_STRING_NOSLASHESCAPE)

static const char ua_b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopq"
    "rstuvwxyz0123456789-_";

/* s percent-encoded as a query value into b: unreserved characters and
 * '@' as they are.  0, or -1 when memory ran out. */
static int
ua_query_value(struct buf *b, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    char              esc[3] = { '%', 0, 0 };

    for (; *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;

        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
            (c >= '0' && c <= '9') || strchr("-._~@", c) != NULL) {
            if (buf_append(b, s, 1) == -1)
                return -1;
            continue;
        }
        esc[1] = hex[c >> 4];
        esc[2] = hex[c & 15];
        if (buf_append(b, esc, 3) == -1)
            return -1;
    }
    return 0;
}

/* "/?limit=N[&q=PREFIX][&after=CURSOR]" into path.  The path, or NULL
 * when memory ran out. */
static const char *
ua_page_path(struct buf *path, const struct ua *ua, long limit,
    const char *after)
{
    buf_reset(path);
    if (buf_appendf(path, "/?limit=%ld", limit) == -1 ||
        (ua->search != NULL && (buf_append_str(path, "&q=") == -1 ||
        ua_query_value(path, ua->search) == -1)) ||
        (after != NULL && after[0] != '\0' &&
        (buf_append_str(path, "&after=") == -1 ||
        ua_query_value(path, after) == -1)))
        return NULL;
    return buf_str(path);
}

/* The users and the next cursor of a page's answer r: *users (the
 * caller puts *o) and next ("" when none).  0, or UA_EXIT_FAIL (said). */
static int
ua_page_parse(const struct ua_response *r, struct json_object **o,
    struct json_object **users, char *next, size_t nextlen)
{
    struct json_object *n;
    const char         *v;

    next[0] = '\0';
    if ((*o = ua_response_json(r)) == NULL ||
        !json_object_object_get_ex(*o, "users", users) ||
        !json_object_is_type(*users, json_type_array))
        return ua_err("unexpected answer from the server: no user list");
    if (!json_object_object_get_ex(*o, "next", &n))
        return 0;
    v = json_object_get_string(n);
    if (!json_object_is_type(n, json_type_string) || v[0] == '\0' ||
        strlen(v) >= nextlen || strspn(v, ua_b64url) != strlen(v))
        return ua_err("unexpected answer from the server: a malformed "
            "cursor");
    snprintf(next, nextlen, "%s", v);
    return 0;
}

/* One page, as --limit, --after and --search say. */
static int
ua_users_one_page(const struct ua *ua, const struct ua_session *s,
    struct buf *path)
{
    struct ua_response  r;
    struct json_object *o = NULL, *users;
    char                next[UA_CURSOR_MAX + 1];
    const char         *p;
    int                 rc;

    ua_response_init(&r);
    if ((p = ua_page_path(path, ua, ua->limit != 0 ? ua->limit : 100,
        ua->after)) == NULL)
        rc = ua_err("out of memory");
    else
        rc = ua_exchange(ua, "GET", p, s, NULL, &r);
    if (rc == 0 && ua->json)
        ua_print_body(&r);
    else if (rc == 0 && (rc = ua_page_parse(&r, &o, &users, next,
        sizeof(next))) == 0 && (rc = ua_print_user_table(users)) == 0 &&
        next[0] != '\0')
        printf("next: %s\n", next);
    json_object_put(o);
    ua_response_free(&r);
    return rc;
}

/* Every page from --after on, gathered into all. */
static int
ua_users_all_pages(const struct ua *ua, const struct ua_session *s,
    struct buf *path, struct json_object *all)
{
    struct ua_response  r;
    struct json_object *o, *users;
    char                next[UA_CURSOR_MAX + 1] = "";
    const char         *p;
    size_t              i;
    int                 rc;

    if (ua->after != NULL)
        snprintf(next, sizeof(next), "%s", ua->after);
    do {
        o = NULL;
        ua_response_init(&r);
        if ((p = ua_page_path(path, ua, ua->limit != 0 ? ua->limit :
            UA_PAGE_ALL, next)) == NULL)
            rc = ua_err("out of memory");
        else if ((rc = ua_exchange(ua, "GET", p, s, NULL, &r)) == 0 &&
            (rc = ua_page_parse(&r, &o, &users, next, sizeof(next))) == 0)
            for (i = 0; i < json_object_array_length(users); i++)
                json_object_array_add(all, json_object_get(
                    json_object_array_get_idx(users, i)));
        json_object_put(o);
        ua_response_free(&r);
    } while (rc == 0 && next[0] != '\0');
    return rc;
}

int
ua_users_paged(struct ua *ua)
{
    struct ua_session   s;
    struct json_object *o = NULL, *all = NULL;
    struct buf          path;
    int                 rc;

    ua_buf_init(&path);
    if ((rc = ua_session_load(ua, &s, 0)) == 0 && !ua->all)
        rc = ua_users_one_page(ua, &s, &path);
    else if (rc == 0 && ((o = json_object_new_object()) == NULL ||
        (all = json_object_new_array()) == NULL ||
        json_object_object_add(o, "users", all) != 0)) {
        json_object_put(all);
        rc = ua_err("out of memory");
    } else if (rc == 0 && (rc = ua_users_all_pages(ua, &s, &path, all)) == 0) {
        if (ua->json)
            puts(json_object_to_json_string_ext(o, UA_JSON_FLAGS));
        else
            rc = ua_print_user_table(all);
    }
    json_object_put(o);
    explicit_bzero(&s, sizeof(s));
    buf_free(&path);
    return rc;
}

int
ua_sessions(struct ua *ua)
{
    return ua_get_print(ua, "/sessions", ua_print_sessions);
}
