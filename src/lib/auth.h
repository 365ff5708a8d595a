/* SPDX-License-Identifier: MIT */
/*
 * auth.h - password hashes; no HTTP, no files.
 *
 * Passwords are hashed with libxcrypt's yescrypt ("$y$") and compared in
 * constant time.  Every buffer that held a password is wiped with
 * explicit_bzero before it is released.  Functions that can fail return -1
 * with errno set.  Nothing here logs.  Everything but auth_dummy_hash is
 * thread-safe (no static buffers), so hashing may run on helper threads.
 * Tokens, digests and randomness are in crypto.h.
 */
#ifndef USERAPID_AUTH_H
#define USERAPID_AUTH_H

#include <stddef.h>
#include <stdint.h>

#include "crypto.h"

#define AUTH_HASH_MAX             255   /* longest hash string, without NUL */
#define AUTH_HASH_SIZE            (AUTH_HASH_MAX + 1)
#define AUTH_PASSWORD_MAX         511   /* libxcrypt's limit, without NUL */
#define AUTH_PASSPHRASE_MAX       1024  /* longer ones go through SHA-256 */
#define AUTH_PHRASE_SIZE          64    /* "userapid-sha256:" + 43 + NUL */
#define AUTH_COST_MAX             11    /* yescrypt's cost range is 1..11 */

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

#endif
