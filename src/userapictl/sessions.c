/* SPDX-License-Identifier: MIT */
/*
 * sessions.c - the commands on live sessions, sessions and revoke, and
 * the session count show prints.
 *
 * The store holds no token, so none can be printed: a session is named
 * by its id, which cannot log in.  An email that has neither a user nor a
 * session is no user (exit 4); one that has only sessions is the trace of
 * a deletion whose sessions could not be ended, and its sessions are
 * still listed and revoked.  Everything goes through the store (store.h):
 * with the file store and no session table yet, there are no sessions.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"

/* Live sessions gathered for printing. */
struct ctl_session_list {
    struct session_info *list;
    size_t               n;
    size_t               cap;
};

static int  ctl_count_session(const struct session_info *, void *);
static int  ctl_keep_session(const struct session_info *, void *);
static void ctl_sessions_table(const struct ctl_session_list *);
static int  ctl_sessions_json(const struct ctl_session_list *);
static int  ctl_known(struct ctl *, const char *);

static int
ctl_count_session(const struct session_info *s, void *arg)
{
    (void)s;
    (*(long *)arg)++;
    return 0;
}

/* How many live sessions email has, into *n.  0 or an exit status. */
int
ctl_session_count(struct ctl *c, const char *email, long *n)
{
    *n = 0;
    if (store_session_foreach(c->store, email, ctl_count_session, n) != 0)
        return ctl_store_err(c);
    return 0;
}

static int
ctl_keep_session(const struct session_info *s, void *arg)
{
    struct ctl_session_list *all = arg;
    void                    *p;
    size_t                   ncap;

    if (all->n == all->cap) {
        ncap = all->cap ? all->cap * 2 : 64;
        if ((p = reallocarray(all->list, ncap, sizeof(*all->list))) == NULL)
            return ctl_err("out of memory");
        all->list = p;
        all->cap = ncap;
    }
    all->list[all->n++] = *s;
    return 0;
}

/* A header and a line per session, the emails padded to the longest. */
static void
ctl_sessions_table(const struct ctl_session_list *all)
{
    const struct session_info *s;
    const char                *role;
    char                       rbuf[16], t1[USERDB_TIME_LEN + 1];
    char                       t2[USERDB_TIME_LEN + 1], t3[USERDB_TIME_LEN + 1];
    size_t                     i, w = sizeof("EMAIL") - 1;

    for (i = 0; i < all->n; i++)
        if (strlen(all->list[i].email) > w)
            w = strlen(all->list[i].email);
    printf("%-*s  %-5s  %-20s  %-20s  %s\n", (int)w, "EMAIL", "ROLE",
        "CREATED", "LAST_USED", "EXPIRES");
    for (i = 0; i < all->n; i++) {
        s = &all->list[i];
        if ((role = userdb_role_name(s->role)) == NULL) {
            snprintf(rbuf, sizeof(rbuf), "%d", s->role);
            role = rbuf;
        }
        printf("%-*s  %-5s  %-20s  %-20s  %s\n", (int)w, s->email, role,
            ctl_time(s->created_at, t1), ctl_time(s->last_used, t2),
            ctl_time(s->expires_at, t3));
    }
}

/* A JSON object per session and line: what session_info holds. */
static int
ctl_sessions_json(const struct ctl_session_list *all)
{
    const struct session_info *s;
    struct json_object        *o;
    const char                *role;
    size_t                     i;
    int                        rc = 0;

    for (i = 0; i < all->n && rc == 0; i++) {
        s = &all->list[i];
        if ((o = json_object_new_object()) != NULL) {
            json_object_object_add(o, "id", json_object_new_string(s->id));
            json_object_object_add(o, "email",
                json_object_new_string(s->email));
            role = userdb_role_name(s->role);
            json_object_object_add(o, "role", role != NULL ?
                json_object_new_string(role) : NULL);
            json_object_object_add(o, "role_id", json_object_new_int(s->role));
            json_object_object_add(o, "address", s->addr[0] != '\0' ?
                json_object_new_string(s->addr) : NULL);
            json_object_object_add(o, "created_at",
                ctl_json_time(s->created_at));
            json_object_object_add(o, "last_used",
                ctl_json_time(s->last_used));
            json_object_object_add(o, "expires_at",
                ctl_json_time(s->expires_at));
        }
        rc = ctl_json_print(o);
    }
    return rc;
}

/* Whether email, which has no session, is a user: 0 or an exit status. */
static int
ctl_known(struct ctl *c, const char *email)
{
    int rc = store_user_find(c->store, email, NULL);

    if (rc == STORE_NOT_FOUND)
        return ctl_no_user(email, 0);
    return rc == 0 ? 0 : ctl_store_err(c);
}

int
ctl_sessions(struct ctl *c, const struct ctl_args *a)
{
    struct ctl_session_list all;
    const char             *email = a->argc == 1 ? a->email : NULL;
    int                     rc;

    memset(&all, 0, sizeof(all));
    /* The callback says why it stopped; -1 is the store's failure. */
    rc = store_session_foreach(c->store, email, ctl_keep_session, &all);
    if (rc == -1)
        rc = ctl_store_err(c);
    else if (rc == 0 && email != NULL && all.n == 0)
        rc = ctl_known(c, email);
    if (rc == 0 && a->json)
        rc = ctl_sessions_json(&all);
    else if (rc == 0)
        ctl_sessions_table(&all);
    free(all.list);
    return rc;
}

int
ctl_revoke(struct ctl *c, const struct ctl_args *a)
{
    int n, rc;

    /* Sessions may outlive a user whose deletion could not end them:
     * they are ended whether or not the user is still there. */
    if ((n = store_session_revoke_user(c->store, a->email, NULL)) == -1)
        return ctl_store_err(c);
    if (n == 0 && (rc = ctl_known(c, a->email)) != 0)
        return rc;
    printf("ended %s of %s\n", ctl_plural(n, "session"), a->email);
    return 0;
}
