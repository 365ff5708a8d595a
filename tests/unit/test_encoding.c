/* SPDX-License-Identifier: MIT */
/*
 * test_encoding.c - base64url as paging cursors use it: RFC 4648's test
 * vectors without padding, round trips of every length, and what decode
 * refuses (padding, characters outside the alphabet, impossible lengths,
 * a short buffer).
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "encoding.h"

START_TEST(test_base64url_rfc4648_vectors_without_padding)
{
    static const struct { const char *in, *out; } v[] = {
        { "", "" }, { "f", "Zg" }, { "fo", "Zm8" }, { "foo", "Zm9v" },
        { "foob", "Zm9vYg" }, { "fooba", "Zm9vYmE" },
        { "foobar", "Zm9vYmFy" }, { "\xfb\xff", "-_8" },
    };
    char   enc[32], dec[32];
    size_t i;

    for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        ck_assert_int_eq(encoding_base64url_encode(v[i].in, strlen(v[i].in),
            enc, sizeof(enc)), 0);
        ck_assert_str_eq(enc, v[i].out);
        ck_assert_int_eq(encoding_base64url_decode(enc, strlen(enc), dec,
            sizeof(dec)), (long)strlen(v[i].in));
        ck_assert_str_eq(dec, v[i].in);
    }
}
END_TEST

START_TEST(test_base64url_round_trips_every_length_and_byte)
{
    char   in[256], enc[400], dec[300];
    size_t n, i;

    for (n = 0; n < sizeof(in); n++) {
        for (i = 0; i < n; i++)
            in[i] = (char)(255 - i);
        ck_assert_int_eq(encoding_base64url_encode(in, n, enc, sizeof(enc)), 0);
        ck_assert_uint_eq(strspn(enc, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijkl"
            "mnopqrstuvwxyz0123456789-_"), strlen(enc));
        ck_assert_int_eq(encoding_base64url_decode(enc, strlen(enc), dec,
            sizeof(dec)), (long)n);
        ck_assert_int_eq(memcmp(dec, in, n), 0);
    }
}
END_TEST

START_TEST(test_base64url_decode_refuses_what_no_encoding_gives)
{
    char out[16];

    ck_assert_int_eq(encoding_base64url_decode("Zg==", 4, out, sizeof(out)), -1);
    ck_assert_int_eq(encoding_base64url_decode("Zm9+", 4, out, sizeof(out)), -1);
    ck_assert_int_eq(encoding_base64url_decode("Zm9/", 4, out, sizeof(out)), -1);
    ck_assert_int_eq(encoding_base64url_decode("Zm9vY", 5, out, sizeof(out)), -1);
    ck_assert_int_eq(encoding_base64url_decode("Zm\0v", 4, out, sizeof(out)), -1);
    /* "foo" and its NUL need 4 bytes. */
    ck_assert_int_eq(encoding_base64url_decode("Zm9v", 4, out, 3), -1);
    ck_assert_int_eq(encoding_base64url_decode("Zm9v", 4, out, 4), 3);
    ck_assert_int_eq(encoding_base64url_encode("foo", 3, out, 4), -1);
    ck_assert_int_eq(encoding_base64url_encode("foo", 3, out, 5), 0);
}
END_TEST

int
main(void)
{
    Suite   *s = suite_create("encoding");
    TCase   *tc = tcase_create("base64url");
    SRunner *sr;
    int      failed;

    tcase_add_test(tc, test_base64url_rfc4648_vectors_without_padding);
    tcase_add_test(tc, test_base64url_round_trips_every_length_and_byte);
    tcase_add_test(tc, test_base64url_decode_refuses_what_no_encoding_gives);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
