/* SPDX-License-Identifier: MIT */
/*
 * test_auth.c - unit tests for auth.c: yescrypt hashing and verification,
 * the dummy hash, hash validation for import, constant-time comparison,
 * tokens, random passwords and SHA-256 against the FIPS 180-4 vectors.
 *
 * Most hashing tests use cost 1 so the suite stays quick under the
 * sanitizers; the cost tests use the real default.
 */
#include <check.h>
#include <crypt.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"

#define FAST_COST   1UL

static void     sha256_hex(const void *, size_t, char *);
static void     assert_sha256(const void *, size_t, const char *);
static void     crypt_with(const char *, char *, size_t);
static int      in_alphabet(char, const char *);
static int      token_cmp(const void *, const void *);
static Suite   *auth_suite(void);

/* Lower-case hex of SHA-256(data) into hex[65]. */
static void
sha256_hex(const void *data, size_t len, char *hex)
{
    uint8_t md[CRYPTO_SHA256_LEN];
    int     i;

    crypto_sha256(data, len, md);
    for (i = 0; i < CRYPTO_SHA256_LEN; i++)
        snprintf(hex + 2 * i, 3, "%02x", md[i]);
}

static void
assert_sha256(const void *data, size_t len, const char *want)
{
    char    hex[2 * CRYPTO_SHA256_LEN + 1];

    sha256_hex(data, len, hex);
    ck_assert_str_eq(hex, want);
}

/* A hash of "secret" made by libxcrypt itself with the method of prefix. */
static void
crypt_with(const char *prefix, char *out, size_t outlen)
{
    struct crypt_data  *cd;
    char                setting[CRYPT_GENSALT_OUTPUT_SIZE];
    const char         *h;

    ck_assert_ptr_nonnull(crypt_gensalt_rn(prefix, 0, NULL, 0, setting,
        sizeof(setting)));
    cd = calloc(1, sizeof(*cd));
    ck_assert_ptr_nonnull(cd);
    h = crypt_rn("secret", setting, cd, sizeof(*cd));
    ck_assert_ptr_nonnull(h);
    ck_assert_uint_lt(strlen(h), outlen);
    snprintf(out, outlen, "%s", h);
    free(cd);
}

static int
in_alphabet(char c, const char *alphabet)
{
    return c != '\0' && strchr(alphabet, c) != NULL;
}

static int
token_cmp(const void *a, const void *b)
{
    return strcmp(a, b);
}

START_TEST(test_hash_starts_with_yescrypt_prefix_and_verifies)
{
    char    h[AUTH_HASH_SIZE];

    ck_assert_int_eq(auth_hash_password("correct horse", FAST_COST, h,
        sizeof(h)), 0);
    ck_assert_msg(strncmp(h, "$y$", 3) == 0, "hash %s", h);
    ck_assert_int_eq(auth_hash_valid(h), 1);
    ck_assert_int_eq(auth_verify_password("correct horse", h), 1);
}
END_TEST

START_TEST(test_verify_rejects_wrong_password)
{
    char    h[AUTH_HASH_SIZE];

    ck_assert_int_eq(auth_hash_password("correct horse", FAST_COST, h,
        sizeof(h)), 0);
    ck_assert_int_eq(auth_verify_password("correct horsf", h), 0);
    ck_assert_int_eq(auth_verify_password("correct hors", h), 0);
    ck_assert_int_eq(auth_verify_password("correct horse ", h), 0);
    ck_assert_int_eq(auth_verify_password("", h), 0);
}
END_TEST

START_TEST(test_same_password_gets_a_fresh_salt_each_time)
{
    char    a[AUTH_HASH_SIZE], b[AUTH_HASH_SIZE];

    ck_assert_int_eq(auth_hash_password("pw", FAST_COST, a, sizeof(a)), 0);
    ck_assert_int_eq(auth_hash_password("pw", FAST_COST, b, sizeof(b)), 0);
    ck_assert_str_ne(a, b);
    ck_assert_int_eq(auth_verify_password("pw", a), 1);
    ck_assert_int_eq(auth_verify_password("pw", b), 1);
}
END_TEST

/* libxcrypt 4.4 writes yescrypt's cost as the parameter field after "$y$":
 * 5 (its default, what 0 picks) is "j9T", 3 is "j7T", 1 is "j75". */
START_TEST(test_hash_cost_is_honoured)
{
    char    h[AUTH_HASH_SIZE];

    ck_assert_int_eq(auth_hash_password("pw", 0, h, sizeof(h)), 0);
    ck_assert_msg(strncmp(h, "$y$j9T$", 7) == 0, "cost 0: %s", h);
    ck_assert_int_eq(auth_hash_password("pw", 5, h, sizeof(h)), 0);
    ck_assert_msg(strncmp(h, "$y$j9T$", 7) == 0, "cost 5: %s", h);
    ck_assert_int_eq(auth_verify_password("pw", h), 1);
    ck_assert_int_eq(auth_hash_password("pw", 3, h, sizeof(h)), 0);
    ck_assert_msg(strncmp(h, "$y$j7T$", 7) == 0, "cost 3: %s", h);
    ck_assert_int_eq(auth_verify_password("pw", h), 1);
    ck_assert_int_eq(auth_hash_password("pw", 1, h, sizeof(h)), 0);
    ck_assert_msg(strncmp(h, "$y$j75$", 7) == 0, "cost 1: %s", h);
}
END_TEST

START_TEST(test_hash_rejects_cost_above_11)
{
    char    h[AUTH_HASH_SIZE];

    errno = 0;
    ck_assert_int_eq(auth_hash_password("pw", AUTH_COST_MAX + 1, h,
        sizeof(h)), -1);
    ck_assert_int_eq(errno, EINVAL);
}
END_TEST

START_TEST(test_long_passwords_go_through_a_prehash)
{
    char    h[AUTH_HASH_SIZE], pw[AUTH_PASSPHRASE_MAX + 2], other[600];

    /* 512..1024 bytes: hashed through SHA-256, verified the same way. */
    memset(pw, 'p', 1024);
    pw[1024] = '\0';
    ck_assert_int_eq(auth_hash_password(pw, FAST_COST, h, sizeof(h)), 0);
    ck_assert_int_eq(auth_verify_password(pw, h), 1);
    pw[1023] = 'q';
    ck_assert_int_eq(auth_verify_password(pw, h), 0);
    /* The pre-hash does not collide with the short "p" * 511 password. */
    memset(other, 'p', 511);
    other[511] = '\0';
    ck_assert_int_eq(auth_verify_password(other, h), 0);
    ck_assert_int_eq(auth_hash_password(other, FAST_COST, h, sizeof(h)), 0);
    ck_assert_int_eq(auth_verify_password(other, h), 1);
    memset(other, 'p', 512);
    other[512] = '\0';
    ck_assert_int_eq(auth_verify_password(other, h), 0);

    /* Over 1024 bytes: refused, and never a match. */
    memset(pw, 'p', sizeof(pw) - 1);
    pw[sizeof(pw) - 1] = '\0';
    errno = 0;
    ck_assert_int_eq(auth_hash_password(pw, FAST_COST, h, sizeof(h)), -1);
    ck_assert_int_eq(errno, EINVAL);
    ck_assert_int_eq(auth_verify_password(pw, h), 0);
}
END_TEST

START_TEST(test_hash_reports_small_output_buffer)
{
    char    h[20];

    errno = 0;
    ck_assert_int_eq(auth_hash_password("pw", FAST_COST, h, sizeof(h)), -1);
    ck_assert_int_eq(errno, ERANGE);
}
END_TEST

START_TEST(test_verify_refuses_what_is_not_a_hash)
{
    static const char *const bad[] = {
        "", "!", "*", "*0", "!$y$j75$abc", "$y$j75$", "$y$j75$sAlTsAlTsAlT",
    };
    size_t  i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        errno = 0;
        ck_assert_msg(auth_verify_password("pw", bad[i]) == -1, "%s", bad[i]);
        ck_assert_int_eq(errno, EINVAL);
    }
    ck_assert_int_eq(auth_verify_password("pw", NULL), -1);
}
END_TEST

START_TEST(test_dummy_hash_verifies_no_password)
{
    static const char *const pws[] = {
        "", "password", "admin", "0", "correct horse battery staple",
    };
    const char *d;
    char        pw[CRYPTO_RANDOM_PASSWORD_LEN + 1];
    size_t      i;

    d = auth_dummy_hash(FAST_COST);
    ck_assert_ptr_nonnull(d);
    ck_assert_msg(strncmp(d, "$y$j75$", 7) == 0, "dummy %s", d);
    ck_assert_int_eq(auth_hash_valid(d), 1);
    for (i = 0; i < sizeof(pws) / sizeof(pws[0]); i++)
        ck_assert_int_eq(auth_verify_password(pws[i], d), 0);
    ck_assert_int_eq(crypto_random_password(pw, sizeof(pw)), 0);
    ck_assert_int_eq(auth_verify_password(pw, d), 0);
}
END_TEST

START_TEST(test_dummy_hash_is_made_once_per_cost)
{
    const char *d;
    char        first[AUTH_HASH_SIZE];

    d = auth_dummy_hash(FAST_COST);
    ck_assert_ptr_nonnull(d);
    snprintf(first, sizeof(first), "%s", d);
    ck_assert_str_eq(auth_dummy_hash(FAST_COST), first);
    /* Another cost: a hash that costs what the real ones cost. */
    d = auth_dummy_hash(3);
    ck_assert_ptr_nonnull(d);
    ck_assert_msg(strncmp(d, "$y$j7T$", 7) == 0, "dummy %s", d);
}
END_TEST

START_TEST(test_hash_valid_accepts_current_crypt_methods)
{
    static const char *const prefixes[] = {
        "$y$", "$gy$", "$7$", "$2b$", "$2y$", "$6$",
    };
    char    h[CRYPT_OUTPUT_SIZE];
    size_t  i;

    for (i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
        crypt_with(prefixes[i], h, sizeof(h));
        ck_assert_msg(auth_hash_valid(h) == 1, "%s refused", h);
        ck_assert_msg(auth_verify_password("secret", h) == 1, "%s", h);
        ck_assert_msg(auth_verify_password("Secret", h) == 0, "%s", h);
    }
}
END_TEST

START_TEST(test_hash_valid_refuses_legacy_methods)
{
    static const char *const prefixes[] = { "$1$", "$5$", "_", "ab", "$md5" };
    char    h[CRYPT_OUTPUT_SIZE];
    size_t  i;

    for (i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
        crypt_with(prefixes[i], h, sizeof(h));
        ck_assert_msg(auth_hash_valid(h) == 0, "%s accepted", h);
    }
}
END_TEST

START_TEST(test_hash_valid_refuses_damaged_hashes)
{
    char    good[AUTH_HASH_SIZE], h[AUTH_HASH_SIZE + 300];
    size_t  len;

    ck_assert_int_eq(auth_hash_password("pw", FAST_COST, good, sizeof(good)),
        0);
    len = strlen(good);

    snprintf(h, sizeof(h), "%.*s", (int)(len - 1), good);      /* short */
    ck_assert_int_eq(auth_hash_valid(h), 0);
    snprintf(h, sizeof(h), "%sA", good);                         /* long */
    ck_assert_int_eq(auth_hash_valid(h), 0);
    snprintf(h, sizeof(h), "%s", good);
    h[len - 5] = '!';                                            /* charset */
    ck_assert_int_eq(auth_hash_valid(h), 0);
    snprintf(h, sizeof(h), "%s", good);
    h[len - 5] = '$';                                            /* fields */
    ck_assert_int_eq(auth_hash_valid(h), 0);
    snprintf(h, sizeof(h), " %s", good);
    ck_assert_int_eq(auth_hash_valid(h), 0);
    snprintf(h, sizeof(h), "%s\n", good);
    ck_assert_int_eq(auth_hash_valid(h), 0);
    /* The setting without the hash, and "$$" in place of the salt. */
    snprintf(h, sizeof(h), "%.*s", (int)(strrchr(good, '$') - good), good);
    ck_assert_int_eq(auth_hash_valid(h), 0);
    snprintf(h, sizeof(h), "$y$j75$$%s", strrchr(good, '$') + 1);
    ck_assert_int_eq(auth_hash_valid(h), 0);
    /* Over AUTH_HASH_MAX. */
    memset(h, 'a', AUTH_HASH_MAX + 1);
    memcpy(h, "$6$", 3);
    h[AUTH_HASH_MAX + 1] = '\0';
    ck_assert_int_eq(auth_hash_valid(h), 0);
    ck_assert_int_eq(auth_hash_valid(""), 0);
}
END_TEST

START_TEST(test_equal_ct_finds_a_difference_in_any_byte)
{
    unsigned char   a[64], b[64];
    size_t          i;
    int             bit;

    for (i = 0; i < sizeof(a); i++)
        a[i] = b[i] = (unsigned char)(i * 37 + 11);
    ck_assert_int_eq(crypto_equal_ct(a, b, sizeof(a)), 1);
    ck_assert_int_eq(crypto_equal_ct(a, b, 0), 1);
    for (i = 0; i < sizeof(a); i++) {
        for (bit = 0; bit < 8; bit++) {
            b[i] ^= (unsigned char)(1u << bit);
            ck_assert_msg(crypto_equal_ct(a, b, sizeof(a)) == 0,
                "byte %zu bit %d", i, bit);
            /* Only len bytes count. */
            ck_assert_int_eq(crypto_equal_ct(a, b, i), 1);
            b[i] ^= (unsigned char)(1u << bit);
        }
    }
    memset(a, 0x00, sizeof(a));
    memset(b, 0xff, sizeof(b));
    ck_assert_int_eq(crypto_equal_ct(a, b, sizeof(a)), 0);
}
END_TEST

START_TEST(test_token_has_256_bits_base64url)
{
    static const char b64[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    char        tok[CRYPTO_TOKEN_LEN + 1];
    uint8_t     raw[CRYPTO_TOKEN_BYTES + 1];
    uint32_t    acc = 0;
    size_t      i, o = 0;
    int         bits = 0;

    memset(tok, '#', sizeof(tok));
    ck_assert_int_eq(crypto_token_new(tok), 0);
    ck_assert_uint_eq(strlen(tok), 43);
    for (i = 0; i < CRYPTO_TOKEN_LEN; i++)
        ck_assert_msg(in_alphabet(tok[i], b64), "char %zu: %c", i, tok[i]);
    ck_assert_int_eq(crypto_token_valid_syntax(tok, strlen(tok)), 1);
    /* 43 * 6 = 258 bits: 256 of data and two zero bits at the end. */
    for (i = 0; i < CRYPTO_TOKEN_LEN; i++) {
        acc = acc << 6 | (uint32_t)(strchr(b64, tok[i]) - b64);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            raw[o++] = (uint8_t)(acc >> bits);
        }
    }
    ck_assert_uint_eq(o, CRYPTO_TOKEN_BYTES);
    ck_assert_int_eq(bits, 2);
    ck_assert_uint_eq(acc & 3, 0);
    /* 32 zero bytes would mean getrandom filled nothing (odds 2^-256). */
    for (i = 0; i < CRYPTO_TOKEN_BYTES && raw[i] == 0; i++)
        ;
    ck_assert_uint_lt(i, CRYPTO_TOKEN_BYTES);
}
END_TEST

START_TEST(test_1000_tokens_are_all_distinct)
{
    static char toks[1000][CRYPTO_TOKEN_LEN + 1];
    int         i;

    for (i = 0; i < 1000; i++)
        ck_assert_int_eq(crypto_token_new(toks[i]), 0);
    qsort(toks, 1000, sizeof(toks[0]), token_cmp);
    for (i = 1; i < 1000; i++)
        ck_assert_str_ne(toks[i - 1], toks[i]);
}
END_TEST

START_TEST(test_token_syntax_refuses_wrong_length_alphabet_and_end)
{
    char    tok[CRYPTO_TOKEN_LEN + 1], t[CRYPTO_TOKEN_LEN + 2];

    ck_assert_int_eq(crypto_token_new(tok), 0);
    ck_assert_int_eq(crypto_token_valid_syntax(tok, CRYPTO_TOKEN_LEN - 1), 0);
    snprintf(t, sizeof(t), "%sA", tok);
    ck_assert_int_eq(crypto_token_valid_syntax(t, CRYPTO_TOKEN_LEN + 1), 0);
    ck_assert_int_eq(crypto_token_valid_syntax("", 0), 0);
    ck_assert_int_eq(crypto_token_valid_syntax(NULL, CRYPTO_TOKEN_LEN), 0);

    memcpy(t, tok, sizeof(tok));
    t[5] = '+';                 /* base64, not base64url */
    ck_assert_int_eq(crypto_token_valid_syntax(t, CRYPTO_TOKEN_LEN), 0);
    t[5] = '/';
    ck_assert_int_eq(crypto_token_valid_syntax(t, CRYPTO_TOKEN_LEN), 0);
    t[5] = '=';
    ck_assert_int_eq(crypto_token_valid_syntax(t, CRYPTO_TOKEN_LEN), 0);
    t[5] = '\0';
    ck_assert_int_eq(crypto_token_valid_syntax(t, CRYPTO_TOKEN_LEN), 0);
    t[5] = '-';
    t[6] = '_';
    ck_assert_int_eq(crypto_token_valid_syntax(t, CRYPTO_TOKEN_LEN), 1);

    /* The last character carries 4 bits: "B" (1) sets an unused bit. */
    t[CRYPTO_TOKEN_LEN - 1] = 'B';
    ck_assert_int_eq(crypto_token_valid_syntax(t, CRYPTO_TOKEN_LEN), 0);
    t[CRYPTO_TOKEN_LEN - 1] = 'E';
    ck_assert_int_eq(crypto_token_valid_syntax(t, CRYPTO_TOKEN_LEN), 1);
}
END_TEST

START_TEST(test_random_bytes_fill_a_large_buffer)
{
    static uint8_t  buf[1 << 20];
    size_t          i, zeros = 0;

    ck_assert_int_eq(crypto_random_bytes(buf, sizeof(buf)), 0);
    for (i = 0; i < sizeof(buf); i++)
        zeros += buf[i] == 0;
    /* About 4096 expected; a buffer left unfilled would be all zero. */
    ck_assert_uint_lt(zeros, 8192);
    ck_assert_int_eq(crypto_random_bytes(buf, 0), 0);
}
END_TEST

START_TEST(test_sha256_fips_180_vectors)
{
    static const char m448[] =
        "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    static const char m896[] =
        "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmn"
        "hijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu";
    char   *million;

    assert_sha256("abc", 3,
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    assert_sha256("", 0,
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    assert_sha256(m448, strlen(m448),
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    assert_sha256(m896, strlen(m896),
        "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
    million = malloc(1000000);
    ck_assert_ptr_nonnull(million);
    memset(million, 'a', 1000000);
    assert_sha256(million, 1000000,
        "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
    free(million);
}
END_TEST

/* Padding edges: 55 bytes fit one block with the length, 56 do not. */
START_TEST(test_sha256_lengths_around_block_edges)
{
    static const struct { size_t len; const char *md; } v[] = {
        { 55, "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318" },
        { 56, "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a" },
        { 57, "f13b2d724659eb3bf47f2dd6af1accc87b81f09f59f2b75e5c0bed6589dfe8c6" },
        { 63, "7d3e74a05d7db15bce4ad9ec0658ea98e3f06eeecf16b4c6fff2da457ddc2f34" },
        { 64, "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb" },
        { 65, "635361c48bb9eab14198e76ea8ab7f1a41685d6ad62aa9146d301d4f17eb0ae0" },
        { 119, "31eba51c313a5c08226adf18d4a359cfdfd8d2e816b13f4af952f7ea6584dcfb" },
        { 120, "2f3d335432c70b580af0e8e1b3674a7c020d683aa5f73aaaedfdc55af904c21c" },
        { 128, "6836cf13bac400e9105071cd6af47084dfacad4e5e302c94bfed24e013afb73e" },
    };
    char    a[128];
    size_t  i;

    memset(a, 'a', sizeof(a));
    for (i = 0; i < sizeof(v) / sizeof(v[0]); i++)
        assert_sha256(a, v[i].len, v[i].md);
}
END_TEST

START_TEST(test_random_password_is_alphanumeric_of_requested_length)
{
    static const char alnum[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    char    pw[CRYPTO_RANDOM_PASSWORD_LEN + 1], other[CRYPTO_RANDOM_PASSWORD_LEN + 1];
    char    longer[65];
    size_t  i;

    ck_assert_int_eq(crypto_random_password(pw, sizeof(pw)), 0);
    ck_assert_uint_eq(strlen(pw), CRYPTO_RANDOM_PASSWORD_LEN);
    for (i = 0; i < CRYPTO_RANDOM_PASSWORD_LEN; i++)
        ck_assert_msg(in_alphabet(pw[i], alnum), "char %zu: %c", i, pw[i]);
    ck_assert_int_eq(crypto_random_password(other, sizeof(other)), 0);
    ck_assert_str_ne(pw, other);
    ck_assert_int_eq(crypto_random_password(longer, sizeof(longer)), 0);
    ck_assert_uint_eq(strlen(longer), 64);
}
END_TEST

START_TEST(test_random_password_refuses_under_16_characters)
{
    char    pw[CRYPTO_RANDOM_PASSWORD_MIN + 1];

    errno = 0;
    ck_assert_int_eq(crypto_random_password(pw, CRYPTO_RANDOM_PASSWORD_MIN), -1);
    ck_assert_int_eq(errno, EINVAL);
    ck_assert_int_eq(crypto_random_password(pw, sizeof(pw)), 0);
    ck_assert_uint_eq(strlen(pw), CRYPTO_RANDOM_PASSWORD_MIN);
}
END_TEST

/* 200000 characters over 62 symbols: about 3226 each, standard deviation
 * about 56.  Folding bytes 248..255 back in (byte % 62 without rejection)
 * would give the first 8 symbols about 3906 and the rest 3125; the bounds
 * are 6 standard deviations wide and catch that. */
START_TEST(test_random_password_characters_are_uniform)
{
    static const char alnum[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    char    pw[CRYPTO_RANDOM_PASSWORD_LEN + 1];
    int     seen[62] = { 0 }, i, j;

    for (i = 0; i < 10000; i++) {
        ck_assert_int_eq(crypto_random_password(pw, sizeof(pw)), 0);
        for (j = 0; j < CRYPTO_RANDOM_PASSWORD_LEN; j++)
            seen[strchr(alnum, pw[j]) - alnum]++;
    }
    for (i = 0; i < 62; i++)
        ck_assert_msg(seen[i] > 2890 && seen[i] < 3560, "%c seen %d times",
            alnum[i], seen[i]);
}
END_TEST

static Suite *
auth_suite(void)
{
    Suite   *s;
    TCase   *tc;

    s = suite_create("auth");

    tc = tcase_create("passwords");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_hash_starts_with_yescrypt_prefix_and_verifies);
    tcase_add_test(tc, test_verify_rejects_wrong_password);
    tcase_add_test(tc, test_same_password_gets_a_fresh_salt_each_time);
    tcase_add_test(tc, test_hash_cost_is_honoured);
    tcase_add_test(tc, test_hash_rejects_cost_above_11);
    tcase_add_test(tc, test_long_passwords_go_through_a_prehash);
    tcase_add_test(tc, test_hash_reports_small_output_buffer);
    tcase_add_test(tc, test_verify_refuses_what_is_not_a_hash);
    tcase_add_test(tc, test_dummy_hash_verifies_no_password);
    tcase_add_test(tc, test_dummy_hash_is_made_once_per_cost);
    suite_add_tcase(s, tc);

    tc = tcase_create("hash_valid");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_hash_valid_accepts_current_crypt_methods);
    tcase_add_test(tc, test_hash_valid_refuses_legacy_methods);
    tcase_add_test(tc, test_hash_valid_refuses_damaged_hashes);
    suite_add_tcase(s, tc);

    tc = tcase_create("compare");
    tcase_add_test(tc, test_equal_ct_finds_a_difference_in_any_byte);
    suite_add_tcase(s, tc);

    tc = tcase_create("tokens");
    tcase_add_test(tc, test_token_has_256_bits_base64url);
    tcase_add_test(tc, test_1000_tokens_are_all_distinct);
    tcase_add_test(tc, test_token_syntax_refuses_wrong_length_alphabet_and_end);
    tcase_add_test(tc, test_random_bytes_fill_a_large_buffer);
    suite_add_tcase(s, tc);

    tc = tcase_create("sha256");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_sha256_fips_180_vectors);
    tcase_add_test(tc, test_sha256_lengths_around_block_edges);
    suite_add_tcase(s, tc);

    tc = tcase_create("random_password");
    tcase_add_test(tc, test_random_password_is_alphanumeric_of_requested_length);
    tcase_add_test(tc, test_random_password_refuses_under_16_characters);
    tcase_add_test(tc, test_random_password_characters_are_uniform);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr;
    int      failed;

    sr = srunner_create(auth_suite());
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
