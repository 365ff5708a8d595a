/*
 * auth.c - yescrypt password hashes, constant-time comparison, random
 * tokens and passwords, SHA-256; see auth.h.
 *
 * Invariants:
 * - Every struct crypt_data (32 KiB: too big for the stacks of deep call
 *   chains) comes from auth_crypt_new and goes back through
 *   auth_crypt_free, which wipes it: it holds the password and the hash.
 * - Raw random bytes behind a token or a password are wiped once encoded;
 *   a SHA-256 context is wiped when the digest is out.
 * - Randomness comes only from getrandom(2), never from a PRNG we seed.
 */
#include <crypt.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "auth.h"

#define AUTH_B64URL \
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
#define AUTH_ALNUM \
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
#define AUTH_ALNUM_LEN      62
/* The largest multiple of 62 that fits a byte: bytes at or above it are
 * dropped so that every character is equally likely. */
#define AUTH_ALNUM_LIMIT    (256 / AUTH_ALNUM_LEN * AUTH_ALNUM_LEN)
/* The alphabet of crypt(3)'s hash parts. */
#define AUTH_CRYPT64 \
    "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

_Static_assert(AUTH_PASSWORD_MAX < CRYPT_MAX_PASSPHRASE_SIZE,
    "AUTH_PASSWORD_MAX must fit libxcrypt's passphrase limit");
_Static_assert(AUTH_TOKEN_LEN == (AUTH_TOKEN_BYTES * 8 + 5) / 6,
    "AUTH_TOKEN_LEN is unpadded base64 of AUTH_TOKEN_BYTES");

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

struct auth_sha256_ctx {
    uint32_t    h[8];
    uint64_t    total;      /* bytes hashed so far */
    uint8_t     block[64];
    size_t      used;       /* bytes waiting in block */
};

static struct crypt_data *auth_crypt_new(void);
static void auth_crypt_free(struct crypt_data *);
static int  auth_hash_bcrypt_valid(const char *, size_t);
static int  auth_hash_method_valid(const struct auth_method *, const char *,
                size_t);
static void auth_sha256_init(struct auth_sha256_ctx *);
static void auth_sha256_block(struct auth_sha256_ctx *, const uint8_t *);
static void auth_sha256_update(struct auth_sha256_ctx *, const void *, size_t);
static void auth_sha256_final(struct auth_sha256_ctx *, uint8_t *);

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
    static const char b64[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    uint8_t           d[AUTH_SHA256_LEN];
    size_t            i, o = sizeof(prefix) - 1;
    uint32_t          v;

    if (strnlen(pw, AUTH_PASSWORD_MAX + 1) <= AUTH_PASSWORD_MAX)
        return pw;
    auth_sha256(pw, strlen(pw), d);
    memcpy(buf, prefix, o);
    for (i = 0; i + 3 <= sizeof(d); i += 3) {
        v = (uint32_t)d[i] << 16 | (uint32_t)d[i + 1] << 8 | d[i + 2];
        buf[o++] = b64[v >> 18 & 63];
        buf[o++] = b64[v >> 12 & 63];
        buf[o++] = b64[v >> 6 & 63];
        buf[o++] = b64[v & 63];
    }
    v = (uint32_t)d[30] << 16 | (uint32_t)d[31] << 8;
    buf[o++] = b64[v >> 18 & 63];
    buf[o++] = b64[v >> 12 & 63];
    buf[o++] = b64[v >> 6 & 63];
    buf[o] = '\0';
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
    rc = auth_equal_ct(h, hash, olen < hlen ? olen : hlen) & (olen == hlen);
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
    char    pw[AUTH_TOKEN_LEN + 1];
    int     rc;

    if (auth_dummy_ready && auth_dummy_cost == cost)
        return auth_dummy;
    auth_dummy_ready = 0;
    if (auth_token_new(pw) == -1)
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

int
auth_equal_ct(const void *a, const void *b, size_t len)
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
auth_random_bytes(void *buf, size_t len)
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

int
auth_token_new(char out[AUTH_TOKEN_LEN + 1])
{
    static const char   b64[] = AUTH_B64URL;
    uint8_t             raw[AUTH_TOKEN_BYTES + 1];
    uint32_t            v;
    size_t              i, o = 0;

    if (auth_random_bytes(raw, AUTH_TOKEN_BYTES) == -1)
        return -1;
    /* A zero pad byte makes the last group whole; the last character then
     * carries the final 4 bits with its 2 low bits zero. */
    raw[AUTH_TOKEN_BYTES] = 0;
    for (i = 0; i + 3 <= sizeof(raw); i += 3) {
        v = (uint32_t)raw[i] << 16 | (uint32_t)raw[i + 1] << 8 | raw[i + 2];
        out[o++] = b64[(v >> 18) & 63];
        out[o++] = b64[(v >> 12) & 63];
        out[o++] = b64[(v >> 6) & 63];
        if (o < AUTH_TOKEN_LEN)
            out[o++] = b64[v & 63];
    }
    out[AUTH_TOKEN_LEN] = '\0';
    explicit_bzero(raw, sizeof(raw));
    explicit_bzero(&v, sizeof(v));
    return 0;
}

int
auth_token_valid_syntax(const char *s, size_t len)
{
    const char *p;
    size_t      i;

    if (s == NULL || len != AUTH_TOKEN_LEN)
        return 0;
    for (i = 0; i < len; i++)
        if (s[i] == '\0' || strchr(AUTH_B64URL, s[i]) == NULL)
            return 0;
    p = strchr(AUTH_B64URL, s[len - 1]);
    return ((p - AUTH_B64URL) & 3) == 0;
}

int
auth_random_password(char *out, size_t size)
{
    uint8_t rnd[64];
    size_t  o = 0, i;

    if (size < AUTH_RANDOM_PASSWORD_MIN + 1) {
        errno = EINVAL;
        return -1;
    }
    while (o < size - 1) {
        if (auth_random_bytes(rnd, sizeof(rnd)) == -1) {
            explicit_bzero(rnd, sizeof(rnd));
            explicit_bzero(out, size);
            return -1;
        }
        for (i = 0; i < sizeof(rnd) && o < size - 1; i++)
            if (rnd[i] < AUTH_ALNUM_LIMIT)
                out[o++] = AUTH_ALNUM[rnd[i] % AUTH_ALNUM_LEN];
    }
    out[o] = '\0';
    explicit_bzero(rnd, sizeof(rnd));
    return 0;
}

void
auth_sha256(const void *data, size_t len, uint8_t out[AUTH_SHA256_LEN])
{
    struct auth_sha256_ctx  ctx;

    auth_sha256_init(&ctx);
    auth_sha256_update(&ctx, data, len);
    auth_sha256_final(&ctx, out);
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

/* FIPS 180-4, 6.2: initial hash value and round constants. */
static const uint32_t auth_sha256_k[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1,
    0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3,
    0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
    0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147,
    0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
    0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
    0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
    0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208,
    0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

#define AUTH_ROR(x, n)  (((x) >> (n)) | ((x) << (32 - (n))))

static void
auth_sha256_init(struct auth_sha256_ctx *c)
{
    static const uint32_t h0[8] = {
        0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
        0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
    };

    memcpy(c->h, h0, sizeof(h0));
    c->total = 0;
    c->used = 0;
}

static void
auth_sha256_block(struct auth_sha256_ctx *c, const uint8_t *p)
{
    uint32_t    w[64], a, b, cc, d, e, f, g, h, t1, t2, s0, s1;
    int         i;

    for (i = 0; i < 16; i++)
        w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
            (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
    for (i = 16; i < 64; i++) {
        s0 = AUTH_ROR(w[i - 15], 7) ^ AUTH_ROR(w[i - 15], 18) ^
            (w[i - 15] >> 3);
        s1 = AUTH_ROR(w[i - 2], 17) ^ AUTH_ROR(w[i - 2], 19) ^
            (w[i - 2] >> 10);
        w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    a = c->h[0]; b = c->h[1]; cc = c->h[2]; d = c->h[3];
    e = c->h[4]; f = c->h[5]; g = c->h[6]; h = c->h[7];
    for (i = 0; i < 64; i++) {
        s1 = AUTH_ROR(e, 6) ^ AUTH_ROR(e, 11) ^ AUTH_ROR(e, 25);
        t1 = h + s1 + ((e & f) ^ (~e & g)) + auth_sha256_k[i] + w[i];
        s0 = AUTH_ROR(a, 2) ^ AUTH_ROR(a, 13) ^ AUTH_ROR(a, 22);
        t2 = s0 + ((a & b) ^ (a & cc) ^ (b & cc));
        h = g; g = f; f = e; e = d + t1;
        d = cc; cc = b; b = a; a = t1 + t2;
    }
    c->h[0] += a; c->h[1] += b; c->h[2] += cc; c->h[3] += d;
    c->h[4] += e; c->h[5] += f; c->h[6] += g; c->h[7] += h;
    explicit_bzero(w, sizeof(w));
}

static void
auth_sha256_update(struct auth_sha256_ctx *c, const void *data, size_t len)
{
    const uint8_t  *p = data;
    size_t          n;

    c->total += len;
    if (c->used > 0) {
        n = 64 - c->used < len ? 64 - c->used : len;
        memcpy(c->block + c->used, p, n);
        c->used += n;
        p += n;
        len -= n;
        if (c->used < 64)
            return;
        auth_sha256_block(c, c->block);
        c->used = 0;
    }
    for (; len >= 64; p += 64, len -= 64)
        auth_sha256_block(c, p);
    if (len > 0) {
        memcpy(c->block, p, len);
        c->used = len;
    }
}

static void
auth_sha256_final(struct auth_sha256_ctx *c, uint8_t *out)
{
    uint64_t    bits = c->total * 8;
    int         i;

    c->block[c->used++] = 0x80;
    if (c->used > 56) {
        memset(c->block + c->used, 0, 64 - c->used);
        auth_sha256_block(c, c->block);
        c->used = 0;
    }
    memset(c->block + c->used, 0, 56 - c->used);
    for (i = 0; i < 8; i++)
        c->block[56 + i] = (uint8_t)(bits >> (56 - 8 * i));
    auth_sha256_block(c, c->block);
    for (i = 0; i < 8; i++) {
        out[4 * i] = (uint8_t)(c->h[i] >> 24);
        out[4 * i + 1] = (uint8_t)(c->h[i] >> 16);
        out[4 * i + 2] = (uint8_t)(c->h[i] >> 8);
        out[4 * i + 3] = (uint8_t)c->h[i];
    }
    explicit_bzero(c, sizeof(*c));
}
