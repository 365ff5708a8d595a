/* SPDX-License-Identifier: MIT */
/*
 * test_api.c - unit tests for what api.c exports without a daemon around
 * it: the email syntax check that PUT / and userapictl share, and the
 * hashing jobs.
 *
 * The routes themselves are tested end to end in
 * tests/integration/test_api.c; the body decoders are fuzzed by
 * tests/fuzz/fuzz_body.c, whose findings land here as regression tests.
 */
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"

static Suite   *api_suite(void);

START_TEST(test_email_valid_accepts_atext_local_parts)
{
    static const char *const good[] = {
        "a@b.c", "first.last@example.org", "o'brien+tag@sub.example.co",
        "x!#$%&'*+/=?^_`{|}~-y@a-b.example",
    };
    size_t i;

    for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        ck_assert_msg(userdb_email_valid(good[i], strlen(good[i])), "%s", good[i]);
}
END_TEST

/*
 * Found by fuzz_body (tests/fuzz/regress/body/email-nul-in-local-part):
 * strchr() finds the set's own terminator, so a NUL passed as atext.  A
 * JSON "\u0000" or a form "%00" then made PUT / store the part before the
 * NUL, "a", as an account's email.
 */
START_TEST(test_email_valid_rejects_nul_anywhere)
{
    static const struct {
        const char *s;
        size_t      len;
    } bad[] = {
        { "a\0b@example.com", 15 },
        { "\0a@example.com", 14 },
        { "ab\0@example.com", 15 },
        { "a@exa\0mple.com", 14 },
        { "a@example.com\0", 14 },
    };
    size_t i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        ck_assert_msg(!userdb_email_valid(bad[i].s, bad[i].len), "case %zu", i);
}
END_TEST

static void *
run_job_thread(void *arg)
{
    api_job_run(arg);
    return NULL;
}

/*
 * A failed hash reports its errno in the job: errno is per thread, and the
 * loop thread that reads the result did not make the call.
 */
START_TEST(test_job_keeps_the_errno_of_its_thread)
{
    struct api_job job;
    pthread_t      th;

    memset(&job, 0, sizeof(job));
    job.kind = API_JOB_VERIFY;
    snprintf(job.password, sizeof(job.password), "secret");
    snprintf(job.hash, sizeof(job.hash), "not a crypt hash");
    ck_assert_int_eq(pthread_create(&th, NULL, run_job_thread, &job), 0);
    ck_assert_int_eq(pthread_join(th, NULL), 0);
    errno = 0;
    ck_assert_int_eq(job.result, -1);
    ck_assert_int_eq(job.error, EINVAL);
    /* The password is wiped once used. */
    ck_assert_str_eq(job.password, "");

    memset(&job, 0, sizeof(job));
    job.kind = API_JOB_HASH;
    job.cost = 99;          /* out of yescrypt's range */
    snprintf(job.password, sizeof(job.password), "secret");
    ck_assert_int_eq(pthread_create(&th, NULL, run_job_thread, &job), 0);
    ck_assert_int_eq(pthread_join(th, NULL), 0);
    ck_assert_int_eq(job.result, -1);
    ck_assert_int_eq(job.error, EINVAL);

    memset(&job, 0, sizeof(job));
    job.kind = API_JOB_HASH;
    job.cost = 1;
    snprintf(job.password, sizeof(job.password), "secret");
    ck_assert_int_eq(pthread_create(&th, NULL, run_job_thread, &job), 0);
    ck_assert_int_eq(pthread_join(th, NULL), 0);
    ck_assert_int_eq(job.result, 0);
    ck_assert_int_eq(job.error, 0);
}
END_TEST

static Suite *
api_suite(void)
{
    Suite *s = suite_create("api");
    TCase *tc = tcase_create("email");

    tcase_add_test(tc, test_email_valid_accepts_atext_local_parts);
    tcase_add_test(tc, test_email_valid_rejects_nul_anywhere);
    suite_add_tcase(s, tc);
    tc = tcase_create("jobs");
    tcase_add_test(tc, test_job_keeps_the_errno_of_its_thread);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr;
    int      failed;

    sr = srunner_create(api_suite());
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
