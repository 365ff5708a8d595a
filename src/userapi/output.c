/* SPDX-License-Identifier: MIT */
/*
 * output.c - what the client prints: an error as one "userapi: ..." line
 * on stderr, and on stdout the server's JSON body as it came (--json) or
 * the short texts and aligned tables made from it.
 *
 * Nothing from the server reaches a terminal unless ua_text_ok passed it:
 * no control character, so no escape sequence, in a table or a message.
 * Messages use words, never the API's field names.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "userapi.h"

/* "userapi: [NAME: ]message" on stderr, name NULL for none. */
void
ua_vsay(const char *name, const char *fmt, va_list ap)
{
    cli_vsay("userapi", name, fmt, ap);
}

/* "userapi: message" on stderr; returns UA_EXIT_FAIL. */
int
ua_err(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    ua_vsay(NULL, fmt, ap);
    va_end(ap);
    return UA_EXIT_FAIL;
}

/* Whether s may go to a terminal: no control characters. */
int
ua_text_ok(const char *s)
{
    for (; *s != '\0'; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return 0;
    return 1;
}

/* Appends s to b as one word a shell reads back as s: as it is when it
 * holds nothing the shell treats specially, else in single quotes.  0,
 * or -1 when memory ran out. */
int
ua_shell_word(struct buf *b, const char *s)
{
    const char *p;

    if (s[0] != '\0' && strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
        "abcdefghijklmnopqrstuvwxyz0123456789@%+=:,./_-") == strlen(s))
        return buf_append_str(b, s);
    if (buf_append_str(b, "'") == -1)
        return -1;
    for (p = s; *p != '\0'; p++)
        if ((*p == '\'' ? buf_append_str(b, "'\\''") :
            buf_append(b, p, 1)) == -1)
            return -1;
    return buf_append_str(b, "'");
}

/* The body as it came, and a newline (the server sends none). */
void
ua_print_body(const struct ua_response *r)
{
    if (r->body.len == 0)
        return;
    fwrite(r->body.data, 1, r->body.len, stdout);
    if (r->body.data[r->body.len - 1] != '\n')
        putchar('\n');
}

/* "deleted EMAIL" and the like: what, then s in lower case as the server
 * stores an email, or what alone when s may not go to a terminal. */
void
ua_print_lower(const char *what, const char *s)
{
    const char *p;

    fputs(what, stdout);
    if (ua_text_ok(s)) {
        putchar(' ');
        for (p = s; *p != '\0'; p++)
            putchar(tolower((unsigned char)*p));
    }
    putchar('\n');
}

/*
 * users, an array of user records, as a table with aligned columns.
 * 0, or UA_EXIT_FAIL (said) when a record is not one.
 */
static int
ua_print_table(struct json_object *users)
{
    static const char *const keys[] = { "email", "role", "created_at" };
    static const char *const words[] = { "an email", "a role",
                                         "a creation time" };
    struct json_object *u, *v;
    const char         *f[3];
    size_t              n, i, k, w[2] = { sizeof("EMAIL") - 1,
                            sizeof("ROLE") - 1 }, len;

    n = json_object_array_length(users);
    for (i = 0; i < n; i++) {
        u = json_object_array_get_idx(users, i);
        for (k = 0; k < 3; k++) {
            if (!json_object_object_get_ex(u, keys[k], &v) ||
                !json_object_is_type(v, json_type_string) ||
                !ua_text_ok(json_object_get_string(v)))
                return ua_err("unexpected answer from the server: a user "
                    "record without %s", words[k]);
            if (k < 2 && (len = strlen(json_object_get_string(v))) > w[k])
                w[k] = len;
        }
    }
    printf("%-*s  %-*s  %s\n", (int)w[0], "EMAIL", (int)w[1], "ROLE",
        "CREATED");
    for (i = 0; i < n; i++) {
        u = json_object_array_get_idx(users, i);
        for (k = 0; k < 3; k++) {
            json_object_object_get_ex(u, keys[k], &v);
            f[k] = json_object_get_string(v);
        }
        printf("%-*s  %-*s  %s\n", (int)w[0], f[0], (int)w[1], f[1], f[2]);
    }
    return 0;
}

/*
 * The users in the answer r as a table: its {"users":[...]}, or the one
 * record it is when one.  0, or UA_EXIT_FAIL (said) when it holds no
 * such thing.
 */
int
ua_print_users(const struct ua_response *r, int one)
{
    struct json_object *o = ua_response_json(r), *users = NULL;
    int                 rc;

    if (o != NULL && one) {
        if ((users = json_object_new_array()) == NULL) {
            json_object_put(o);
            return ua_err("out of memory");
        }
        json_object_array_add(users, json_object_get(o));
    } else if (o != NULL && json_object_object_get_ex(o, "users", &users)) {
        json_object_get(users);
    }
    if (users != NULL && json_object_is_type(users, json_type_array))
        rc = ua_print_table(users);
    else
        rc = ua_err("unexpected answer from the server: %s", one ?
            "no user record" : "no user list");
    json_object_put(users);
    json_object_put(o);
    return rc;
}

int
ua_print_user_table(struct json_object *users)
{
    return ua_print_table(users);
}

/* The string member key of o into *v when it is printable text. */
static int
ua_text_field(struct json_object *o, const char *key, const char **v)
{
    struct json_object *f;

    if (!json_object_object_get_ex(o, key, &f) ||
        !json_object_is_type(f, json_type_string) ||
        !ua_text_ok(json_object_get_string(f)))
        return 0;
    *v = json_object_get_string(f);
    return 1;
}

/*
 * GET /session's answer r as a table of one: EMAIL, ROLE, EXPIRES.  0,
 * or UA_EXIT_FAIL (said) when it is no session.
 */
int
ua_print_session(const struct ua_response *r)
{
    struct json_object *o = ua_response_json(r);
    const char         *e, *ro, *x;
    int                 rc = 0;
    size_t              w;

    if (o == NULL || !ua_text_field(o, "email", &e) ||
        !ua_text_field(o, "role", &ro) || !ua_text_field(o, "expires_at", &x))
        rc = ua_err("unexpected answer from the server: no session");
    else {
        w = strlen(e) > 5 ? strlen(e) : 5;
        printf("%-*s  %-*s  %s\n", (int)w, "EMAIL",
            (int)(strlen(ro) > 4 ? strlen(ro) : 4), "ROLE", "EXPIRES");
        printf("%-*s  %-4s  %s\n", (int)w, e, ro, x);
    }
    json_object_put(o);
    return rc;
}

/* Whether session record o has the fields of a row; the current flag
 * into *cur. */
static int
ua_session_row(struct json_object *o, const char *f[5], int *cur)
{
    static const char *const keys[] = { "id", "created_at", "last_used",
                                        "expires_at", "address" };
    struct json_object      *c;
    size_t                   k;

    for (k = 0; k < 5; k++)
        if (!ua_text_field(o, keys[k], &f[k]))
            return 0;
    if (!json_object_object_get_ex(o, "current", &c) ||
        !json_object_is_type(c, json_type_boolean))
        return 0;
    *cur = json_object_get_boolean(c);
    return 1;
}

/*
 * GET /sessions' answer r as a table, the current session marked '*':
 * ID, CREATED, LAST USED, EXPIRES, ADDRESS ("-" when unknown).  0, or
 * UA_EXIT_FAIL (said) when it holds no session list.
 */
int
ua_print_sessions(const struct ua_response *r)
{
    struct json_object *o = ua_response_json(r), *a;
    const char         *f[5];
    size_t              i, n;
    int                 cur, rc = 0;

    if (o == NULL || !json_object_object_get_ex(o, "sessions", &a) ||
        !json_object_is_type(a, json_type_array)) {
        json_object_put(o);
        return ua_err("unexpected answer from the server: no session list");
    }
    n = json_object_array_length(a);
    for (i = 0; i < n && rc == 0; i++)
        if (!ua_session_row(json_object_array_get_idx(a, i), f, &cur))
            rc = ua_err("unexpected answer from the server: a malformed "
                "session");
    if (rc == 0)
        printf("  %-32s  %-20s  %-20s  %-20s  %s\n", "ID", "CREATED",
            "LAST USED", "EXPIRES", "ADDRESS");
    for (i = 0; i < n && rc == 0; i++) {
        ua_session_row(json_object_array_get_idx(a, i), f, &cur);
        printf("%c %-32s  %-20s  %-20s  %-20s  %s\n", cur ? '*' : ' ', f[0],
            f[1], f[2], f[3], f[4][0] != '\0' ? f[4] : "-");
    }
    json_object_put(o);
    return rc;
}

/* s as it may go to a terminal, into b: control characters and
 * backslashes written as \xNN and \\, as userapid logs them.  The text,
 * or NULL when memory ran out. */
static const char *
ua_escaped(struct buf *b, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p;
    char                 esc[4] = { '\\', 'x', 0, 0 };
    int                  rc;

    buf_reset(b);
    for (p = (const unsigned char *)s; *p != '\0'; p++) {
        esc[2] = hex[*p >> 4];
        esc[3] = hex[*p & 15];
        if (*p == '\\')
            rc = buf_append(b, "\\\\", 2);
        else if (*p < 0x20 || *p == 0x7f)
            rc = buf_append(b, esc, 4);
        else
            rc = buf_append(b, p, 1);
        if (rc == -1)
            return NULL;
    }
    return buf_str(b);
}

/* Whether the lockout record o has a kind, a key and two counts. */
static int
ua_lockout_ok(struct json_object *o)
{
    static const char *const nums[] = { "failures", "retry_after" };
    struct json_object      *v;
    size_t                   k;

    if (!json_object_object_get_ex(o, "kind", &v) ||
        !json_object_is_type(v, json_type_string) ||
        !ua_text_ok(json_object_get_string(v)) ||
        !json_object_object_get_ex(o, "key", &v) ||
        !json_object_is_type(v, json_type_string))
        return 0;
    for (k = 0; k < 2; k++)
        if (!json_object_object_get_ex(o, nums[k], &v) ||
            !json_object_is_type(v, json_type_int))
            return 0;
    return 1;
}

/* One line of the lockouts table, the key escaped into b and padded to
 * w.  0, or -1 when memory ran out. */
static int
ua_lockout_line(struct json_object *o, struct buf *b, size_t w)
{
    struct json_object *kind, *key, *fail, *retry;
    const char         *k;

    json_object_object_get_ex(o, "kind", &kind);
    json_object_object_get_ex(o, "key", &key);
    json_object_object_get_ex(o, "failures", &fail);
    json_object_object_get_ex(o, "retry_after", &retry);
    if ((k = ua_escaped(b, json_object_get_string(key))) == NULL)
        return -1;
    printf("%-7s  %-*s  %-8lld  %lld\n", json_object_get_string(kind),
        (int)w, k, (long long)json_object_get_int64(fail),
        (long long)json_object_get_int64(retry));
    return 0;
}

/*
 * The lockouts in the answer r, {"lockouts":[...]}, as a table with
 * aligned columns, as userapictl lockouts prints it.  0, or UA_EXIT_FAIL
 * (said) when it holds no such list.
 */
int
ua_print_lockouts(const struct ua_response *r)
{
    struct json_object *o = ua_response_json(r), *list, *v, *key;
    struct buf          b;
    size_t              n = 0, i, w = sizeof("KEY") - 1;
    int                 rc = 0;

    ua_buf_init(&b);
    if (o == NULL || !json_object_object_get_ex(o, "lockouts", &list) ||
        !json_object_is_type(list, json_type_array))
        rc = ua_err("unexpected answer from the server: no lockout list");
    else
        n = json_object_array_length(list);
    for (i = 0; rc == 0 && i < n; i++) {
        v = json_object_array_get_idx(list, i);
        if (!ua_lockout_ok(v))
            rc = ua_err("unexpected answer from the server: a malformed "
                "lockout");
        else if (json_object_object_get_ex(v, "key", &key) &&
            ua_escaped(&b, json_object_get_string(key)) != NULL &&
            b.len > w)
            w = b.len;
    }
    if (rc == 0)
        printf("%-7s  %-*s  %-8s  %s\n", "KIND", (int)w, "KEY", "FAILURES",
            "RETRY_AFTER");
    for (i = 0; rc == 0 && i < n; i++)
        if (ua_lockout_line(json_object_array_get_idx(list, i), &b, w) == -1)
            rc = ua_err("out of memory");
    buf_free(&b);
    json_object_put(o);
    return rc;
}

/* Seconds as "3d 4h 5m 6s" from the largest unit that is not zero; the
 * text itself when it is not a number. */
static const char *
ua_duration(const char *text, char *out, size_t outlen)
{
    unsigned long long s, d, h, m;
    char              *end;

    errno = 0;
    s = strtoull(text, &end, 10);
    if (!isdigit((unsigned char)text[0]) || *end != '\0' || errno != 0)
        return text;
    d = s / 86400;
    h = s / 3600 % 24;
    m = s / 60 % 60;
    s %= 60;
    if (d > 0)
        snprintf(out, outlen, "%llud %lluh %llum %llus", d, h, m, s);
    else if (h > 0)
        snprintf(out, outlen, "%lluh %llum %llus", h, m, s);
    else if (m > 0)
        snprintf(out, outlen, "%llum %llus", m, s);
    else
        snprintf(out, outlen, "%llus", s);
    return out;
}

/* A header of the answer, or "-" when it has none. */
static const char *
ua_header_or_dash(const struct ua_response *r, const char *name)
{
    const char *v = ua_header(r, name);

    return v != NULL ? v : "-";
}

/* The X-Userapid-* headers of status's answer, one "name  value" line
 * each. */
void
ua_print_status(const struct ua_response *r)
{
    char up[64];

    printf("status   %s\n", ua_header_or_dash(r, "X-Userapid-Status"));
    printf("workers  %s\n", ua_header_or_dash(r, "X-Userapid-Workers"));
    printf("users    %s\n", ua_header_or_dash(r, "X-Userapid-Users"));
    printf("uptime   %s\n", ua_duration(ua_header_or_dash(r,
        "X-Userapid-Uptime"), up, sizeof(up)));
    printf("version  %s\n", ua_header_or_dash(r, "X-Userapid-Version"));
}
