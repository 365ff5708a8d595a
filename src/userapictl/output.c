/* SPDX-License-Identifier: MIT */
/*
 * output.c - how userapictl writes its results on standard output: counts
 * in words, times in UTC ISO 8601, and JSON lines.
 *
 * Invariant: no JSON this writes holds a password or a token, and only
 * export asks for a password hash (CTL_JSON_HASH).  JSON lines are
 * written plain, one object a line, without "\/" escapes.
 */
#include <stdio.h>
#include <string.h>

#include "ctl.h"

static int  ctl_json_one(const struct userdb_user *, void *);

/* "1 session", "2 sessions": the word with its count, in a static buffer
 * (one call per printf). */
const char *
ctl_plural(long n, const char *word)
{
    static char buf[64];

    snprintf(buf, sizeof(buf), "%ld %s%s", n, word, n == 1 ? "" : "s");
    return buf;
}

/* t as "YYYY-MM-DDTHH:MM:SSZ" in out (USERDB_TIME_LEN + 1 bytes), or "-"
 * when out of range. */
const char *
ctl_time(int64_t t, char *out)
{
    if (userdb_format_time(t, out) == -1)
        snprintf(out, USERDB_TIME_LEN + 1, "-");
    return out;
}

/* t as a JSON string, as ctl_time writes it, or JSON null when out of
 * range. */
struct json_object *
ctl_json_time(int64_t t)
{
    char buf[USERDB_TIME_LEN + 1];

    if (userdb_format_time(t, buf) == -1)
        return NULL;
    return json_object_new_string(buf);
}

/*
 * u as a JSON object: email, role, then with CTL_JSON_ROLE_ID role_id,
 * created_at, then with CTL_JSON_HASH password_hash.  NULL when out of
 * memory.
 */
struct json_object *
ctl_json_user(const struct userdb_user *u, int flags)
{
    struct json_object *o;

    if ((o = json_object_new_object()) == NULL)
        return NULL;
    json_object_object_add(o, "email", json_object_new_string(u->email));
    json_object_object_add(o, "role",
        json_object_new_string(userdb_role_name(u->role)));
    if (flags & CTL_JSON_ROLE_ID)
        json_object_object_add(o, "role_id", json_object_new_int(u->role));
    json_object_object_add(o, "created_at", ctl_json_time(u->created_at));
    if (flags & CTL_JSON_HASH)
        json_object_object_add(o, "password_hash",
            json_object_new_string(u->hash));
    return o;
}

/* Writes o as one line and frees it; o NULL is running out of memory.
 * 0 or an exit status. */
int
ctl_json_print(struct json_object *o)
{
    if (o == NULL)
        return ctl_err("out of memory");
    puts(json_object_to_json_string_ext(o, CTL_JSON_FLAGS));
    json_object_put(o);
    return 0;
}

/* store_user_foreach's callback: one user as a JSON line, with the
 * flags (int *) of ctl_json_users.  0 or an exit status. */
static int
ctl_json_one(const struct userdb_user *u, void *arg)
{
    return ctl_json_print(ctl_json_user(u, *(const int *)arg));
}

/* Every user, in creation order, as ctl_json_user writes it with flags,
 * one a line.  0 or an exit status. */
int
ctl_json_users(struct ctl *c, int flags)
{
    int rc = store_user_foreach(c->store, ctl_json_one, &flags);

    return rc == -1 ? ctl_store_err(c) : rc;
}
