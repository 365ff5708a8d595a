/* SPDX-License-Identifier: MIT */
/*
 * test_pgcache.c - the workers' cache of sessions and users read from
 * PostgreSQL: entries live at most ttl and never past their session's
 * end, and the notifications forget exactly what they name.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pgcache.h"

static const char *const key1 =
    "1111111111111111111111111111111111111111111111111111111111111111";
static const char *const key2 =
    "2222222222222222222222222222222222222222222222222222222222222222";

static void
session(struct session_info *s, const char *email, int64_t expires)
{
    memset(s, 0, sizeof(*s));
    snprintf(s->email, sizeof(s->email), "%s", email);
    s->role = 2;
    s->expires_at = expires;
}

static void
user(struct userdb_user *u, const char *email, const char *hash)
{
    memset(u, 0, sizeof(*u));
    snprintf(u->email, sizeof(u->email), "%s", email);
    snprintf(u->hash, sizeof(u->hash), "%s", hash);
    u->role = 1;
}

static void
sleep_ms(int ms)
{
    struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

    nanosleep(&ts, NULL);
}

START_TEST(test_entries_come_back_until_their_ttl)
{
    struct pgcache     *c = pgcache_new(100);
    struct session_info s, got;
    struct userdb_user  u, ugot;

    ck_assert_ptr_nonnull(c);
    session(&s, "a@example.com", (int64_t)time(NULL) + 3600);
    pgcache_session_put(c, key1, &s);
    user(&u, "a@example.com", "$y$hash");
    pgcache_user_put(c, &u);
    ck_assert_int_eq(pgcache_session_get(c, key1, &got), 1);
    ck_assert_str_eq(got.email, "a@example.com");
    ck_assert_int_eq(got.role, 2);
    ck_assert_int_eq(pgcache_session_get(c, key2, &got), 0);
    ck_assert_int_eq(pgcache_user_get(c, "a@example.com", &ugot), 1);
    ck_assert_str_eq(ugot.hash, "$y$hash");
    ck_assert_int_eq(pgcache_user_get(c, "b@example.com", &ugot), 0);
    sleep_ms(150);
    ck_assert_int_eq(pgcache_session_get(c, key1, &got), 0);
    ck_assert_int_eq(pgcache_user_get(c, "a@example.com", &ugot), 0);
    pgcache_free(c);
}
END_TEST

/* A session ending in 1 s is not trusted for the 60 s ttl; an ended one
 * is not kept at all. */
START_TEST(test_a_session_is_never_kept_past_its_end)
{
    struct pgcache     *c = pgcache_new(60000);
    struct session_info s;

    ck_assert_ptr_nonnull(c);
    session(&s, "a@example.com", (int64_t)time(NULL) - 1);
    pgcache_session_put(c, key1, &s);
    ck_assert_int_eq(pgcache_session_get(c, key1, NULL), 0);
    session(&s, "a@example.com", (int64_t)time(NULL) + 1);
    pgcache_session_put(c, key2, &s);
    ck_assert_int_eq(pgcache_session_get(c, key2, NULL), 1);
    sleep_ms(2100);
    ck_assert_int_eq(pgcache_session_get(c, key2, NULL), 0);
    pgcache_free(c);
}
END_TEST

/* "u:EMAIL" forgets the user and every session of it, "s:KEY" that
 * session, a NULL channel everything; other channels and payloads
 * nothing. */
START_TEST(test_notifications_forget_what_they_name)
{
    struct pgcache     *c = pgcache_new(60000);
    struct session_info s;
    struct userdb_user  u;

    ck_assert_ptr_nonnull(c);
    session(&s, "a@example.com", (int64_t)time(NULL) + 3600);
    pgcache_session_put(c, key1, &s);
    session(&s, "b@example.com", (int64_t)time(NULL) + 3600);
    pgcache_session_put(c, key2, &s);
    user(&u, "a@example.com", "$y$a");
    pgcache_user_put(c, &u);
    pgcache_notify(c, "other", "u:a@example.com");
    pgcache_notify(c, "userapid", "x:a@example.com");
    pgcache_notify(c, "userapid", "u");
    ck_assert_int_eq(pgcache_session_get(c, key1, NULL), 1);
    pgcache_notify(c, "userapid", "u:a@example.com");
    ck_assert_int_eq(pgcache_session_get(c, key1, NULL), 0);
    ck_assert_int_eq(pgcache_user_get(c, "a@example.com", NULL), 0);
    ck_assert_int_eq(pgcache_session_get(c, key2, NULL), 1);
    pgcache_notify(c, "userapid", "s:2222222222222222222222222222222222222222222222222222222222222222");
    ck_assert_int_eq(pgcache_session_get(c, key2, NULL), 0);
    pgcache_session_put(c, key2, &s);
    pgcache_user_put(c, &u);
    pgcache_notify(c, NULL, NULL);
    ck_assert_int_eq(pgcache_session_get(c, key2, NULL), 0);
    ck_assert_int_eq(pgcache_user_get(c, "a@example.com", NULL), 0);
    pgcache_free(c);
}
END_TEST

int
main(void)
{
    Suite   *s = suite_create("pgcache");
    TCase   *tc = tcase_create("pgcache");
    SRunner *sr;
    int      failed;

    tcase_add_test(tc, test_entries_come_back_until_their_ttl);
    tcase_add_test(tc, test_a_session_is_never_kept_past_its_end);
    tcase_add_test(tc, test_notifications_forget_what_they_name);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
