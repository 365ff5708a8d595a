/*
 * auth.h - passwords, tokens and digests; no HTTP, no files.
 *
 * Passwords are hashed with libxcrypt's yescrypt ("$y$") and compared in
 * constant time.  Session tokens are 256 bits from getrandom(2), written as
 * 43 characters of unpadded base64url; only their SHA-256 is ever stored.
 * Every buffer that held a password or a token's raw bytes is wiped with
 * explicit_bzero before it is released.  Functions that can fail return -1
 * with errno set.  Nothing here logs.  Everything but auth_dummy_hash is
 * thread-safe (no static buffers), so hashing may run on helper threads.
 */
#ifndef USERAPID_AUTH_H
#define USERAPID_AUTH_H

#include <stddef.h>
#include <stdint.h>

#define AUTH_TOKEN_BYTES          32    /* 256 random bits */
#define AUTH_TOKEN_LEN            43    /* base64url, no padding */
#define AUTH_SHA256_LEN           32
#define AUTH_HASH_MAX             255   /* longest hash string, without NUL */
#define AUTH_HASH_SIZE            (AUTH_HASH_MAX + 1)
#define AUTH_PASSWORD_MAX         511   /* libxcrypt's limit, without NUL */
#define AUTH_PASSPHRASE_MAX       1024  /* longer ones go through SHA-256 */
#define AUTH_PHRASE_SIZE          64    /* "userapid-sha256:" + 43 + NUL */
#define AUTH_COST_MAX             11    /* yescrypt's cost range is 1..11 */
#define AUTH_RANDOM_PASSWORD_LEN  20    /* what the first admin gets */
#define AUTH_RANDOM_PASSWORD_MIN  16    /* shortest auth_random_password makes */

/*
 * Hashes pw with yescrypt at cost (1..AUTH_COST_MAX; 0 for libxcrypt's
 * default, 5) and a fresh random salt into out ("$y$j9T$salt$hash").
 * AUTH_HASH_SIZE bytes are always enough.  Returns 0, or -1 with errno
 * EINVAL (cost out of range, pw longer than AUTH_PASSPHRASE_MAX), ERANGE (out
 * too small) or what libxcrypt set.
 */
int  auth_hash_password(const char *pw, unsigned long cost, char *out,
         size_t outlen);

/*
 * Checks pw against a stored hash, comparing the whole crypt output in
 * constant time.  Returns 1 on a match, 0 on none, -1 (errno EINVAL) when
 * hash is not one auth_hash_valid accepts or libxcrypt fails.  A pw longer
 * than AUTH_PASSPHRASE_MAX could never have been hashed, so it is 0.
 * Passwords over AUTH_PASSWORD_MAX bytes are hashed and verified through
 * a SHA-256 pre-hash, as libxcrypt takes no more.
 */
int  auth_verify_password(const char *pw, const char *hash);

/*
 * A hash of a random 256-bit password at cost, made on the first call and
 * kept for the life of the process (made again only when cost changes).
 * Verifying any password against it takes as long as against a real hash
 * and never matches, so a login for an unknown email costs the same time as
 * one with a wrong password.  Call it once at start-up so the first unknown
 * login does not pay for making it.  NULL on failure.  Not thread-safe.
 */
const char *auth_dummy_hash(unsigned long cost);

/*
 * Whether h is a complete crypt hash fit for import: at most AUTH_HASH_MAX
 * bytes, a method libxcrypt calls CRYPT_SALT_OK (yescrypt "$y$",
 * gost-yescrypt "$gy$", scrypt "$7$", bcrypt "$2b$"/"$2a$"/"$2y$",
 * sha512crypt "$6$"; not the legacy DES, MD5 or SHA-256 ones) and a hash
 * part of that method's length and alphabet.  A bare setting ("$y$j9T$salt")
 * or a locked marker ("!", "*") is not a hash.  Returns 1 or 0.
 */
int  auth_hash_valid(const char *h);

/* Compares len bytes without stopping at the first difference.  Returns 1
 * when equal, 0 otherwise; the time depends on len only. */
int  auth_equal_ct(const void *a, const void *b, size_t len);

/* Fills buf with len bytes from getrandom(2), riding out EINTR and short
 * reads.  Returns 0 or -1. */
int  auth_random_bytes(void *buf, size_t len);

/* A new session token: AUTH_TOKEN_LEN characters of [A-Za-z0-9_-] and a
 * NUL.  Returns 0 or -1. */
int  auth_token_new(char out[AUTH_TOKEN_LEN + 1]);

/*
 * Whether s[0..len) could be a token auth_token_new made: exactly
 * AUTH_TOKEN_LEN base64url characters, the last one canonical (its two
 * unused low bits zero).  Cheap; lets callers refuse junk before any
 * lookup.  Returns 1 or 0.
 */
int  auth_token_valid_syntax(const char *s, size_t len);

/*
 * A random password of size - 1 characters from [A-Za-z0-9] (no symbols,
 * so it survives shells and double-click selection), each character
 * uniform by rejection sampling, NUL-terminated.  size - 1 must be at least
 * AUTH_RANDOM_PASSWORD_MIN (else -1, EINVAL); AUTH_RANDOM_PASSWORD_LEN + 1
 * gives about 119 bits.  Returns 0 or -1.
 */
int  auth_random_password(char *out, size_t size);

/* SHA-256 (FIPS 180-4) of data[0..len). */
void auth_sha256(const void *data, size_t len, uint8_t out[AUTH_SHA256_LEN]);

#endif
