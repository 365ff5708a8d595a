/* SPDX-License-Identifier: MIT */
/*
 * auth.c - yescrypt password hashes; see auth.h.
 *
 * Invariant: every struct crypt_data (32 KiB: too big for the stacks of
 * deep call chains) comes from auth_crypt_new and goes back through
 * auth_crypt_free, which wipes it: it holds the password and the hash.
 */
#include <crypt.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "crypto.h"

/* The alphabet of crypt(3)'s hash parts. */
#define AUTH_CRYPT64 \
    "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

_Static_assert(AUTH_PASSWORD_MAX < CRYPT_MAX_PASSPHRASE_SIZE,
    "AUTH_PASSWORD_MAX must fit libxcrypt's passphrase limit");
_Static_assert(AUTH_PHRASE_SIZE >= sizeof("userapid-sha256:") +
    CRYPTO_BASE64URL_LEN(CRYPTO_SHA256_LEN), "a long password's phrase fits");

/* A crypt method auth_hash_valid accepts, and the shape of its hashes. */
struct auth_method {
    const char *prefix;
    size_t      tail;       /* characters after the last '$' */
    int         min_dollars;
};

static const struct auth_method auth_methods[] = {
    { "$y$",  43, 4 },      /* $y$PARAMS$SALT$HASH */
    { "$gy$", 43, 4 },
    { "$7$",  43, 3 },      /* $7$PARAMSSALT$HASH */
    { "$6$",  86, 3 },      /* $6$[rounds=N$]SALT$HASH */
};

static struct crypt_data *auth_crypt_new(void);
static void auth_crypt_free(struct crypt_data *);
static int  auth_hash_bcrypt_valid(const char *, size_t);
static int  auth_hash_method_valid(const struct auth_method *, const char *,
                size_t);

static const char   *auth_phrase(const char *pw, char *buf);

static char          auth_dummy[AUTH_HASH_SIZE];
static unsigned long auth_dummy_cost;
static int           auth_dummy_ready;

/*
 * libxcrypt takes passphrases of at most 511 bytes; the API allows 1024.
 * A longer password is replaced by "userapid-sha256:" and its SHA-256 in
 * base64url (59 bytes), for hashing and verifying alike.  Shorter ones are
 * used as they are, so hashes stay plain crypt(3) hashes of the password.
 */
static const char *
auth_phrase(const char *pw, char *buf)
{
    static const char prefix[] = "userapid-sha256:";
    uint8_t           d[CRYPTO_SHA256_LEN];

    if (strnlen(pw, AUTH_PASSWORD_MAX + 1) <= AUTH_PASSWORD_MAX)
        return pw;
    crypto_sha256(pw, strlen(pw), d);
    memcpy(buf, prefix, sizeof(prefix) - 1);
    crypto_base64url(d, sizeof(d), buf + sizeof(prefix) - 1);
    explicit_bzero(d, sizeof(d));
    return buf;
}

int
auth_hash_password(const char *pw, unsigned long cost, char *out,
    size_t outlen)
{
    char                phrase[AUTH_PHRASE_SIZE];
    struct crypt_data  *cd;
    char                setting[CRYPT_GENSALT_OUTPUT_SIZE];
    const char         *h;
    size_t              n;
    int                 rc = -1, saved;

    if (cost > AUTH_COST_MAX || strlen(pw) > AUTH_PASSPHRASE_MAX) {
        errno = EINVAL;
        return -1;
    }
    pw = auth_phrase(pw, phrase);
    /* NULL random bytes: libxcrypt draws the salt from the kernel. */
    if (crypt_gensalt_rn("$y$", cost, NULL, 0, setting,
        sizeof(setting)) == NULL)
        return -1;
    if ((cd = auth_crypt_new()) == NULL)
        return -1;
    if ((h = crypt_rn(pw, setting, cd, sizeof(*cd))) == NULL)
        goto done;
    n = strlen(h);
    if (n > AUTH_HASH_MAX || n >= outlen) {
        errno = ERANGE;
        goto done;
    }
    memcpy(out, h, n + 1);
    rc = 0;
done:
    saved = errno;
    auth_crypt_free(cd);
    explicit_bzero(setting, sizeof(setting));
    explicit_bzero(phrase, sizeof(phrase));
    errno = saved;
    return rc;
}

int
auth_verify_password(const char *pw, const char *hash)
{
    char                phrase[AUTH_PHRASE_SIZE];
    struct crypt_data  *cd;
    const char         *h;
    size_t              hlen, olen;
    int                 rc = -1, saved;

    if (hash == NULL || !auth_hash_valid(hash)) {
        errno = EINVAL;
        return -1;
    }
    if (strlen(pw) > AUTH_PASSPHRASE_MAX)
        return 0;
    pw = auth_phrase(pw, phrase);
    if ((cd = auth_crypt_new()) == NULL) {
        explicit_bzero(phrase, sizeof(phrase));
        return -1;
    }
    if ((h = crypt_rn(pw, hash, cd, sizeof(*cd))) == NULL)
        goto done;
    /* The lengths are fixed by the method, not secret; the bytes are
     * compared whole whatever they hold. */
    hlen = strlen(hash);
    olen = strlen(h);
    rc = crypto_equal_ct(h, hash, olen < hlen ? olen : hlen) & (olen == hlen);
done:
    saved = errno;
    auth_crypt_free(cd);
    explicit_bzero(phrase, sizeof(phrase));
    errno = saved;
    return rc;
}

const char *
auth_dummy_hash(unsigned long cost)
{
    char    pw[CRYPTO_TOKEN_LEN + 1];
    int     rc;

    if (auth_dummy_ready && auth_dummy_cost == cost)
        return auth_dummy;
    auth_dummy_ready = 0;
    if (crypto_token_new(pw) == -1)
        return NULL;
    rc = auth_hash_password(pw, cost, auth_dummy, sizeof(auth_dummy));
    explicit_bzero(pw, sizeof(pw));
    if (rc == -1)
        return NULL;
    auth_dummy_cost = cost;
    auth_dummy_ready = 1;
    return auth_dummy;
}

int
auth_hash_valid(const char *h)
{
    size_t  len, i;

    len = strnlen(h, AUTH_HASH_MAX + 1);
    if (len == 0 || len > AUTH_HASH_MAX)
        return 0;
    /* libxcrypt knows the method and the setting's alphabet; the hash
     * part after it is ours to check. */
    if (crypt_checksalt(h) != CRYPT_SALT_OK)
        return 0;
    if (strncmp(h, "$2", 2) == 0)
        return auth_hash_bcrypt_valid(h, len);
    for (i = 0; i < sizeof(auth_methods) / sizeof(auth_methods[0]); i++)
        if (strncmp(h, auth_methods[i].prefix,
            strlen(auth_methods[i].prefix)) == 0)
            return auth_hash_method_valid(&auth_methods[i], h, len);
    return 0;
}

/* Zeroed, as crypt_rn wants on first use. */
static struct crypt_data *
auth_crypt_new(void)
{
    return calloc(1, sizeof(struct crypt_data));
}

static void
auth_crypt_free(struct crypt_data *cd)
{
    if (cd == NULL)
        return;
    explicit_bzero(cd, sizeof(*cd));
    free(cd);
}

/* "$2b$NN$" then 53 characters: 22 of salt, 31 of hash. */
static int
auth_hash_bcrypt_valid(const char *h, size_t len)
{
    size_t  i;
    int     cost;

    if (len != 60 || h[0] != '$' || h[1] != '2' ||
        (h[2] != 'a' && h[2] != 'b' && h[2] != 'y') || h[3] != '$' ||
        h[4] < '0' || h[4] > '9' || h[5] < '0' || h[5] > '9' || h[6] != '$')
        return 0;
    cost = (h[4] - '0') * 10 + (h[5] - '0');
    if (cost < 4 || cost > 31)
        return 0;
    for (i = 7; i < len; i++)
        if (strchr(AUTH_CRYPT64, h[i]) == NULL)
            return 0;
    return 1;
}

/* The setting must hold its fields ($-separated, none empty) and the hash
 * part after the last '$' must be m->tail crypt64 characters. */
static int
auth_hash_method_valid(const struct auth_method *m, const char *h, size_t len)
{
    const char *last;
    size_t      i;
    int         dollars = 0;

    for (i = 0; i < len; i++) {
        if (h[i] != '$')
            continue;
        if (i + 1 < len && h[i + 1] == '$')
            return 0;
        dollars++;
    }
    if (dollars < m->min_dollars)
        return 0;
    last = strrchr(h, '$');
    if ((size_t)(h + len - last - 1) != m->tail)
        return 0;
    for (last++; *last != '\0'; last++)
        if (strchr(AUTH_CRYPT64, *last) == NULL)
            return 0;
    return 1;
}
