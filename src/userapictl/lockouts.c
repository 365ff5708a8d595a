/* SPDX-License-Identifier: MIT */
/*
 * lockouts.c - the commands on the login throttle's lockouts: lockouts
 * lists the accounts slowed down and the addresses locked out, unlock
 * lifts one.  See throttle.h for the rules.
 *
 * They go through the store (store_lockouts, store_unlock), under the
 * lock or in the transaction the daemon's workers use, whether the daemon
 * runs or not.  With the file store, without STATE_DIR/throttle or with
 * one from before the last boot, nothing is locked.  A key is an email or an
 * address as the daemon saw it, which may hold any byte but NUL: in the
 * table, control characters and backslashes are escaped as the log does
 * (\xNN, \\).
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "log.h"

#define CTL_KEY_SHOWN   (THROTTLE_KEY_MAX * 4 + 1)

static void ctl_lockouts_table(const struct throttle_lockout *, size_t);
static int  ctl_lockouts_json(const struct throttle_lockout *, size_t);

/* A header and a line per lockout, the keys padded to the longest. */
static void
ctl_lockouts_table(const struct throttle_lockout *v, size_t n)
{
    char   key[CTL_KEY_SHOWN];
    size_t i, w = sizeof("KEY") - 1;

    for (i = 0; i < n; i++)
        if (log_escape(v[i].key, key, sizeof(key)) > w)
            w = strlen(key);
    printf("%-7s  %-*s  %-8s  %s\n", "KIND", (int)w, "KEY", "FAILURES",
        "RETRY_AFTER");
    for (i = 0; i < n; i++) {
        log_escape(v[i].key, key, sizeof(key));
        printf("%-7s  %-*s  %-8ld  %ld\n", v[i].kind == THROTTLE_ACCOUNT ?
            "account" : "address", (int)w, key, v[i].failures,
            v[i].retry_after);
    }
}

/* A JSON object per lockout and line, as GET /lockouts writes them. */
static int
ctl_lockouts_json(const struct throttle_lockout *v, size_t n)
{
    struct json_object *o;
    size_t              i;
    int                 rc = 0;

    for (i = 0; i < n && rc == 0; i++) {
        if ((o = json_object_new_object()) != NULL) {
            json_object_object_add(o, "kind", json_object_new_string(
                v[i].kind == THROTTLE_ACCOUNT ? "account" : "address"));
            json_object_object_add(o, "key", json_object_new_string(v[i].key));
            json_object_object_add(o, "failures",
                json_object_new_int64(v[i].failures));
            json_object_object_add(o, "retry_after",
                json_object_new_int64(v[i].retry_after));
        }
        rc = ctl_json_print(o);
    }
    return rc;
}

int
ctl_lockouts(struct ctl *c, const struct ctl_args *a)
{
    struct throttle_lockout *v;
    size_t                   n;
    int                      rc = 0;

    if (store_lockouts(c->store, &v, &n) == -1)
        return ctl_store_err(c);
    if (a->json)
        rc = ctl_lockouts_json(v, n);
    else
        ctl_lockouts_table(v, n);
    free(v);
    return rc;
}

/* Says KEY as it is matched, in lower case, escaped for the terminal. */
int
ctl_unlock(struct ctl *c, const struct ctl_args *a)
{
    char   low[THROTTLE_KEY_MAX + 1], key[CTL_KEY_SHOWN];
    size_t i;
    int    rc;

    for (i = 0; i < sizeof(low) - 1 && a->argv[0][i] != '\0'; i++)
        low[i] = (char)tolower((unsigned char)a->argv[0][i]);
    low[i] = '\0';
    log_escape(low, key, sizeof(key));
    if ((rc = store_unlock(c->store, a->argv[0])) == -1)
        return ctl_store_err(c);
    if (rc == 0) {
        ctl_err("nothing is locked out for %s", key);
        return CTL_EXIT_NOT_FOUND;
    }
    printf("unlocked %s\n", key);
    return 0;
}
