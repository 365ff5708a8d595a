/* SPDX-License-Identifier: MIT */
/*
 * crypto.c - SHA-256, randomness, base64url, tokens; see crypto.h.
 */
#include <errno.h>
#include <string.h>
#include <sys/random.h>

#include <openssl/sha.h>

#include "crypto.h"

#define CRYPTO_B64URL \
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
#define CRYPTO_ALNUM \
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
#define CRYPTO_ALNUM_LEN    62
/* The largest multiple of 62 that fits a byte: bytes at or above it are
 * dropped so that every character is equally likely. */
#define CRYPTO_ALNUM_LIMIT  (256 / CRYPTO_ALNUM_LEN * CRYPTO_ALNUM_LEN)

_Static_assert(CRYPTO_TOKEN_LEN == CRYPTO_BASE64URL_LEN(CRYPTO_TOKEN_BYTES),
    "CRYPTO_TOKEN_LEN is unpadded base64url of CRYPTO_TOKEN_BYTES");

void
crypto_sha256(const void *data, size_t len, uint8_t out[CRYPTO_SHA256_LEN])
{
    SHA256(data, len, out);
}

int
crypto_equal_ct(const void *a, const void *b, size_t len)
{
    const volatile unsigned char   *pa = a, *pb = b;
    unsigned int                    diff = 0;
    size_t                          i;

    for (i = 0; i < len; i++)
        diff |= pa[i] ^ pb[i];
    /* 1 when diff is 0, else 0, without a branch on diff. */
    return (int)(1 & ((diff - 1) >> 8));
}

int
crypto_random_bytes(void *buf, size_t len)
{
    unsigned char  *p = buf;
    ssize_t         n;

    while (len > 0) {
        /* Without GRND_NONBLOCK this waits for the pool at early boot,
         * which is what a token needs. */
        if ((n = getrandom(p, len, 0)) == -1) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

void
crypto_base64url(const uint8_t *in, size_t len, char *out)
{
    static const char b64[] = CRYPTO_B64URL;
    uint32_t          v;
    size_t            i, o = 0;

    for (i = 0; i + 3 <= len; i += 3) {
        v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        out[o++] = b64[v >> 18 & 63];
        out[o++] = b64[v >> 12 & 63];
        out[o++] = b64[v >> 6 & 63];
        out[o++] = b64[v & 63];
    }
    if (len - i > 0) {
        v = (uint32_t)in[i] << 16 | (len - i > 1 ? (uint32_t)in[i + 1] << 8 : 0);
        out[o++] = b64[v >> 18 & 63];
        out[o++] = b64[v >> 12 & 63];
        if (len - i > 1)
            out[o++] = b64[v >> 6 & 63];
    }
    out[o] = '\0';
    /* v held secret bits (a token, a password's digest). */
    explicit_bzero(&v, sizeof(v));
}

int
crypto_token_new(char out[CRYPTO_TOKEN_LEN + 1])
{
    uint8_t raw[CRYPTO_TOKEN_BYTES];

    if (crypto_random_bytes(raw, sizeof(raw)) == -1)
        return -1;
    crypto_base64url(raw, sizeof(raw), out);
    explicit_bzero(raw, sizeof(raw));
    return 0;
}

int
crypto_token_valid_syntax(const char *s, size_t len)
{
    const char *p;
    size_t      i;

    if (s == NULL || len != CRYPTO_TOKEN_LEN)
        return 0;
    for (i = 0; i < len; i++)
        if (s[i] == '\0' || strchr(CRYPTO_B64URL, s[i]) == NULL)
            return 0;
    /* 32 bytes leave 4 bits for the last character: its 2 low bits are 0. */
    p = strchr(CRYPTO_B64URL, s[len - 1]);
    return ((p - CRYPTO_B64URL) & 3) == 0;
}

int
crypto_random_password(char *out, size_t size)
{
    uint8_t rnd[64];
    size_t  o = 0, i;

    if (size < CRYPTO_RANDOM_PASSWORD_MIN + 1) {
        errno = EINVAL;
        return -1;
    }
    while (o < size - 1) {
        if (crypto_random_bytes(rnd, sizeof(rnd)) == -1) {
            explicit_bzero(rnd, sizeof(rnd));
            explicit_bzero(out, size);
            return -1;
        }
        for (i = 0; i < sizeof(rnd) && o < size - 1; i++)
            if (rnd[i] < CRYPTO_ALNUM_LIMIT)
                out[o++] = CRYPTO_ALNUM[rnd[i] % CRYPTO_ALNUM_LEN];
    }
    out[o] = '\0';
    explicit_bzero(rnd, sizeof(rnd));
    return 0;
}
