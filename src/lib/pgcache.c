/* SPDX-License-Identifier: MIT */
/*
 * pgcache.c - sessions and users cached by a worker; see pgcache.h.
 *
 * Invariants:
 *   - A slot is in use when its until_ms is not 0; an entry is returned
 *     only while now < until_ms, and until_ms is never later than the
 *     session's expiry.
 *   - A user's slot holds its hash: wiped whenever the slot is emptied or
 *     replaced, and when the cache is freed.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pgcache.h"

struct pgcache_session {
    uint64_t            until_ms;
    char                key[PGCACHE_KEY_LEN + 1];
    struct session_info s;
};

struct pgcache_user {
    uint64_t            until_ms;
    struct userdb_user  u;
};

struct pgcache {
    long                    ttl_ms;
    struct pgcache_session *sessions;
    struct pgcache_user    *users;
};

static uint64_t
pgcache_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static uint64_t
pgcache_wall_s(void)
{
    return (uint64_t)time(NULL);
}

/* FNV-1a: the keys are a SHA-256 or an email, nobody chooses collisions
 * that matter (a collision only costs a round trip). */
static size_t
pgcache_slot(const char *key)
{
    uint64_t h = 14695981039346656037ULL;

    for (; *key != '\0'; key++)
        h = (h ^ (unsigned char)*key) * 1099511628211ULL;
    return (size_t)(h & (PGCACHE_SLOTS - 1));
}

struct pgcache *
pgcache_new(long ttl_ms)
{
    struct pgcache *c;

    if ((c = calloc(1, sizeof(*c))) == NULL)
        return NULL;
    c->ttl_ms = ttl_ms;
    c->sessions = calloc(PGCACHE_SLOTS, sizeof(*c->sessions));
    c->users = calloc(PGCACHE_SLOTS, sizeof(*c->users));
    if (c->sessions == NULL || c->users == NULL) {
        pgcache_free(c);
        return NULL;
    }
    return c;
}

void
pgcache_free(struct pgcache *c)
{
    if (c == NULL)
        return;
    if (c->users != NULL)
        explicit_bzero(c->users, PGCACHE_SLOTS * sizeof(*c->users));
    free(c->users);
    free(c->sessions);
    free(c);
}

int
pgcache_session_get(struct pgcache *c, const char *key, struct session_info *out)
{
    struct pgcache_session *e = &c->sessions[pgcache_slot(key)];

    if (e->until_ms == 0 || strcmp(e->key, key) != 0)
        return 0;
    if (pgcache_now_ms() >= e->until_ms) {
        e->until_ms = 0;
        return 0;
    }
    if (out != NULL)
        *out = e->s;
    return 1;
}

void
pgcache_session_put(struct pgcache *c, const char *key,
    const struct session_info *s)
{
    struct pgcache_session *e = &c->sessions[pgcache_slot(key)];
    uint64_t                now = pgcache_now_ms(), wall = pgcache_wall_s();
    uint64_t                until = now + (uint64_t)c->ttl_ms;

    /* Never past the session's own end. */
    if (s->expires_at <= (int64_t)wall)
        return;
    if ((uint64_t)(s->expires_at - (int64_t)wall) * 1000 < (uint64_t)c->ttl_ms)
        until = now + (uint64_t)(s->expires_at - (int64_t)wall) * 1000;
    snprintf(e->key, sizeof(e->key), "%s", key);
    e->s = *s;
    e->until_ms = until;
}

int
pgcache_user_get(struct pgcache *c, const char *email, struct userdb_user *out)
{
    struct pgcache_user *e = &c->users[pgcache_slot(email)];

    if (e->until_ms == 0 || strcmp(e->u.email, email) != 0)
        return 0;
    if (pgcache_now_ms() >= e->until_ms) {
        explicit_bzero(e, sizeof(*e));
        return 0;
    }
    if (out != NULL)
        *out = e->u;
    return 1;
}

void
pgcache_user_put(struct pgcache *c, const struct userdb_user *u)
{
    struct pgcache_user *e = &c->users[pgcache_slot(u->email)];

    explicit_bzero(e, sizeof(*e));
    e->u = *u;
    e->until_ms = pgcache_now_ms() + (uint64_t)c->ttl_ms;
}

void
pgcache_forget_user(struct pgcache *c, const char *email)
{
    struct pgcache_user *e = &c->users[pgcache_slot(email)];
    size_t               i;

    if (e->until_ms != 0 && strcmp(e->u.email, email) == 0)
        explicit_bzero(e, sizeof(*e));
    for (i = 0; i < PGCACHE_SLOTS; i++)
        if (c->sessions[i].until_ms != 0 &&
            strcmp(c->sessions[i].s.email, email) == 0)
            c->sessions[i].until_ms = 0;
}

void
pgcache_forget_session(struct pgcache *c, const char *key)
{
    struct pgcache_session *e = &c->sessions[pgcache_slot(key)];

    if (strcmp(e->key, key) == 0)
        e->until_ms = 0;
}

void
pgcache_clear(struct pgcache *c)
{
    explicit_bzero(c->users, PGCACHE_SLOTS * sizeof(*c->users));
    memset(c->sessions, 0, PGCACHE_SLOTS * sizeof(*c->sessions));
}

void
pgcache_notify(void *arg, const char *channel, const char *payload)
{
    struct pgcache *c = arg;

    if (channel == NULL) {
        pgcache_clear(c);
        return;
    }
    if (strcmp(channel, "userapid") != 0 || payload == NULL ||
        payload[0] == '\0' || payload[1] != ':')
        return;
    if (payload[0] == 'u')
        pgcache_forget_user(c, payload + 2);
    else if (payload[0] == 's')
        pgcache_forget_session(c, payload + 2);
}
