/* SPDX-License-Identifier: MIT */
/*
 * test_coro.c - coroutines: they interleave where they yield, keep their
 * own stacks and locals, see themselves as current, and free cleanly.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "coro.h"

static char trace[64];
static size_t tlen;

struct step_arg {
    char    name;
    int     steps;
    struct coro *self;
    int     saw_self;
};

static void
stepper(void *p)
{
    struct step_arg *a = p;
    char             local[4096];   /* its own stack holds it across yields */
    int              i;

    memset(local, a->name, sizeof(local));
    a->saw_self = coro_current() == a->self;
    for (i = 0; i < a->steps; i++) {
        trace[tlen++] = a->name;
        coro_yield();
        ck_assert_int_eq(local[i * 100], a->name);
    }
}

START_TEST(test_coroutines_interleave_at_their_yields)
{
    struct step_arg a = { 'a', 3, NULL, 0 }, b = { 'b', 2, NULL, 0 };
    struct coro    *ca, *cb;
    int             da = 0, db = 0;

    ca = coro_new(stepper, &a);
    cb = coro_new(stepper, &b);
    ck_assert_ptr_nonnull(ca);
    ck_assert_ptr_nonnull(cb);
    a.self = ca;
    b.self = cb;
    tlen = 0;
    while (!da || !db) {
        if (!da)
            da = coro_resume(ca);
        if (!db)
            db = coro_resume(cb);
    }
    trace[tlen] = '\0';
    ck_assert_str_eq(trace, "ababa");
    ck_assert_int_eq(a.saw_self, 1);
    ck_assert_int_eq(b.saw_self, 1);
    ck_assert_ptr_null(coro_current());
    /* A finished coroutine stays finished. */
    ck_assert_int_eq(coro_resume(ca), 1);
    coro_free(ca);
    coro_free(cb);
    /* Never started: freed all the same. */
    coro_free(coro_new(stepper, &a));
}
END_TEST

static void
deep(void *p)
{
    char buf[64 * 1024];

    memset(buf, 1, sizeof(buf));
    *(int *)p = buf[sizeof(buf) - 1];
}

START_TEST(test_a_coroutine_has_a_large_stack)
{
    struct coro *c;
    int          v = 0;

    ck_assert_ptr_nonnull(c = coro_new(deep, &v));
    ck_assert_int_eq(coro_resume(c), 1);
    ck_assert_int_eq(v, 1);
    coro_free(c);
}
END_TEST

/* A returned coroutine runs again on its own stack, any number of times;
 * a suspended one cannot be restarted. */
START_TEST(test_a_returned_coroutine_restarts)
{
    struct step_arg a = { 'x', 2, NULL, 0 }, b = { 'y', 1, NULL, 0 };
    struct coro    *c;
    int             round;

    tlen = 0;
    c = coro_new(stepper, &a);
    ck_assert_ptr_nonnull(c);
    a.self = c;
    ck_assert_int_eq(coro_resume(c), 0);
    ck_assert_int_eq(coro_restart(c, stepper, &b), -1);
    ck_assert_int_eq(coro_resume(c), 0);
    ck_assert_int_eq(coro_resume(c), 1);
    for (round = 0; round < 3; round++) {
        b.self = c;
        b.saw_self = 0;
        ck_assert_int_eq(coro_restart(c, stepper, &b), 0);
        ck_assert_ptr_eq(coro_arg(c), &b);
        ck_assert_int_eq(coro_resume(c), 0);
        ck_assert_int_eq(coro_resume(c), 1);
        ck_assert_int_eq(b.saw_self, 1);
    }
    trace[tlen] = '\0';
    ck_assert_str_eq(trace, "xxyyy");
    coro_free(c);
}
END_TEST

int
main(void)
{
    Suite   *s = suite_create("coro");
    TCase   *tc = tcase_create("coro");
    SRunner *sr;
    int      failed;

    tcase_add_test(tc, test_coroutines_interleave_at_their_yields);
    tcase_add_test(tc, test_a_coroutine_has_a_large_stack);
    tcase_add_test(tc, test_a_returned_coroutine_restarts);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
