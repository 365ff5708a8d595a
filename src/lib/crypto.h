/* SPDX-License-Identifier: MIT */
/*
 * crypto.h - the primitives under tokens and keys: SHA-256 (OpenSSL's
 * libcrypto), randomness from getrandom(2), base64url, constant-time
 * comparison, session tokens and random passwords.  No files, no HTTP, no
 * logging; everything is thread-safe.  Functions that can fail return -1
 * with errno set.
 *
 * Invariants: raw random bytes behind a token or a password are wiped once
 * encoded; randomness comes only from the kernel, never from a PRNG seeded
 * here.
 */
#ifndef USERAPID_CRYPTO_H
#define USERAPID_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#define CRYPTO_SHA256_LEN           32
#define CRYPTO_TOKEN_BYTES          32  /* 256 random bits */
#define CRYPTO_TOKEN_LEN            43  /* base64url, no padding */
#define CRYPTO_RANDOM_PASSWORD_LEN  20  /* what the first admin gets */
#define CRYPTO_RANDOM_PASSWORD_MIN  16  /* shortest crypto_random_password makes */

/* The base64url length of n bytes, without padding. */
#define CRYPTO_BASE64URL_LEN(n)     (((n) * 8 + 5) / 6)

/* SHA-256 (FIPS 180-4) of data[0..len). */
void crypto_sha256(const void *data, size_t len, uint8_t out[CRYPTO_SHA256_LEN]);

/* Compares len bytes without stopping at the first difference.  Returns 1
 * when equal, 0 otherwise; the time depends on len only. */
int  crypto_equal_ct(const void *a, const void *b, size_t len);

/* Fills buf with len bytes from getrandom(2), riding out EINTR and short
 * reads.  Returns 0 or -1. */
int  crypto_random_bytes(void *buf, size_t len);

/*
 * Writes in[0..len) as unpadded base64url (RFC 4648, 5) into out, which
 * takes CRYPTO_BASE64URL_LEN(len) characters and a NUL.  The last
 * character's unused low bits are zero (the canonical form).
 */
void crypto_base64url(const uint8_t *in, size_t len, char *out);

/* A new session token: CRYPTO_TOKEN_LEN characters of [A-Za-z0-9_-] and a
 * NUL, from CRYPTO_TOKEN_BYTES random bytes.  Returns 0 or -1. */
int  crypto_token_new(char out[CRYPTO_TOKEN_LEN + 1]);

/*
 * Whether s[0..len) could be a token crypto_token_new made: exactly
 * CRYPTO_TOKEN_LEN base64url characters, the last one canonical.  Cheap;
 * lets callers refuse junk before any lookup.  Returns 1 or 0.
 */
int  crypto_token_valid_syntax(const char *s, size_t len);

/*
 * A random password of size - 1 characters from [A-Za-z0-9] (no symbols,
 * so it survives shells and double-click selection), each character
 * uniform by rejection sampling, NUL-terminated.  size - 1 must be at least
 * CRYPTO_RANDOM_PASSWORD_MIN (else -1, EINVAL).  Returns 0 or -1.
 */
int  crypto_random_password(char *out, size_t size);

#endif
