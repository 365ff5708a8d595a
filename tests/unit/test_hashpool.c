/* SPDX-License-Identifier: MIT */
/*
 * test_hashpool.c - the hashing threads: every job comes back once, in
 * the order its thread finished it, and a job cancelled before it starts
 * is passed over.
 */
#include <check.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hashpool.h"

struct test_job {
    struct hashpool_job pool;
    int                 ran;
    int                 id;
};

static pthread_mutex_t gate = PTHREAD_MUTEX_INITIALIZER;

static void
run_gated(struct hashpool_job *j)
{
    /* Blocks while the test holds the gate: keeps the one thread busy. */
    pthread_mutex_lock(&gate);
    pthread_mutex_unlock(&gate);
    ((struct test_job *)j)->ran = 1;
}

static int
collect_all(struct hashpool *p, int want, int *order)
{
    int n = 0;

    while (n < want) {
        struct pollfd        pfd = { hashpool_fd(p), POLLIN, 0 };
        struct hashpool_job *j;

        if (poll(&pfd, 1, 5000) <= 0)
            break;
        for (j = hashpool_collect(p); j != NULL; j = j->next)
            order[n++] = ((struct test_job *)j)->id;
    }
    return n;
}

START_TEST(test_every_job_comes_back_once)
{
    struct hashpool *p = hashpool_new(3);
    struct test_job  jobs[50];
    int              order[50], seen[50] = { 0 }, i, n;

    ck_assert_ptr_nonnull(p);
    for (i = 0; i < 50; i++) {
        memset(&jobs[i], 0, sizeof(jobs[i]));
        jobs[i].pool.run = run_gated;
        jobs[i].id = i;
        hashpool_submit(p, &jobs[i].pool);
    }
    ck_assert_int_eq(hashpool_pending(p), 50);
    n = collect_all(p, 50, order);
    ck_assert_int_eq(n, 50);
    for (i = 0; i < 50; i++) {
        ck_assert_int_eq(jobs[i].ran, 1);
        seen[order[i]]++;
    }
    for (i = 0; i < 50; i++)
        ck_assert_int_eq(seen[i], 1);
    ck_assert_int_eq(hashpool_pending(p), 0);
    hashpool_free(p);
}
END_TEST

START_TEST(test_cancelled_job_is_not_run_but_returned)
{
    struct hashpool *p = hashpool_new(1);
    struct test_job  first, second, third;
    int              order[3];

    ck_assert_ptr_nonnull(p);
    memset(&first, 0, sizeof(first));
    memset(&second, 0, sizeof(second));
    memset(&third, 0, sizeof(third));
    first.pool.run = second.pool.run = third.pool.run = run_gated;
    first.id = 0;
    second.id = 1;
    third.id = 2;
    pthread_mutex_lock(&gate);
    hashpool_submit(p, &first.pool);
    hashpool_submit(p, &second.pool);
    hashpool_submit(p, &third.pool);
    /* The only thread is stuck in the first: the second waits, and its
     * client goes away. */
    usleep(50000);
    hashpool_cancel(&second.pool);
    pthread_mutex_unlock(&gate);
    ck_assert_int_eq(collect_all(p, 3, order), 3);
    ck_assert_int_eq(first.ran, 1);
    ck_assert_int_eq(second.ran, 0);
    ck_assert_int_eq(third.ran, 1);
    ck_assert_int_eq(order[0], 0);
    ck_assert_int_eq(order[1], 1);
    ck_assert_int_eq(order[2], 2);
    hashpool_free(p);
}
END_TEST

int
main(void)
{
    Suite   *s = suite_create("hashpool");
    TCase   *tc = tcase_create("jobs");
    SRunner *sr;
    int      failed;

    tcase_add_test(tc, test_every_job_comes_back_once);
    tcase_add_test(tc, test_cancelled_job_is_not_run_but_returned);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
