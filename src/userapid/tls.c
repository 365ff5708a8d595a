/* SPDX-License-Identifier: MIT */
/*
 * tls.c - TLS contexts, shared ticket keys and non-blocking connections on
 * OpenSSL 3; see tls.h.
 *
 * Invariants:
 * - The ticket page holds three keys in a ring; workers seal with the
 *   current one and open with the current or the previous one, while the
 *   master writes only the next slot before making it current, so no
 *   reader ever sees a key half written (a reader would have to stall for
 *   a whole rotation period).
 * - OpenSSL's per-thread error queue is emptied after every failed call,
 *   so one connection's error never shows as another's.
 * - Only the worker's loop thread touches a struct tls_conn.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>

#include "crypto.h"
#include "tls.h"

/* Mozilla's "intermediate" configuration (TLS 1.2 suites; TLS 1.3 keeps
 * OpenSSL's defaults, which are the same three). */
#define TLS_CIPHERS \
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:" \
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:" \
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:" \
    "DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384:" \
    "DHE-RSA-CHACHA20-POLY1305"
#define TLS_GROUPS      "X25519:prime256v1:secp384r1"
#define TLS_TICKET_KEYS 3

struct tls_ticket_key {
    uint8_t     name[16];
    uint8_t     aes[32];
    uint8_t     hmac[32];
    int64_t     made;               /* CLOCK_MONOTONIC seconds */
};

struct tls_tickets {
    uint32_t              current;  /* index into keys, atomic */
    struct tls_ticket_key keys[TLS_TICKET_KEYS];
};

struct tls_ctx {
    SSL_CTX            *ssl;
    struct tls_tickets *tickets;
};

struct tls_conn {
    SSL    *ssl;
};

static int     tls_ex_index = -1;

static int64_t tls_now(void);
static int     tls_key_make(struct tls_ticket_key *k, int64_t now);
static int     tls_ctx_policy(SSL_CTX *ssl, char *err, size_t errlen);
static int     tls_ctx_load(SSL_CTX *ssl, const char *cert, const char *key,
                   char *err, size_t errlen);
static void    tls_openssl_err(char *err, size_t errlen, const char *what);
static int     tls_ticket_cb(SSL *s, unsigned char *name, unsigned char *iv,
                   EVP_CIPHER_CTX *cctx, EVP_MAC_CTX *hctx, int enc);
static int     tls_ticket_mac(EVP_MAC_CTX *hctx, const uint8_t *key);
static int     tls_alpn_cb(SSL *s, const unsigned char **out,
                   unsigned char *outlen, const unsigned char *in,
                   unsigned int inlen, void *arg);
static int     tls_result(struct tls_conn *c, int rc);

static int64_t
tls_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec;
}

/* ---- ticket keys ------------------------------------------------------ */

static int
tls_key_make(struct tls_ticket_key *k, int64_t now)
{
    if (crypto_random_bytes(k->name, sizeof(k->name)) == -1 ||
        crypto_random_bytes(k->aes, sizeof(k->aes)) == -1 ||
        crypto_random_bytes(k->hmac, sizeof(k->hmac)) == -1)
        return -1;
    k->made = now;
    return 0;
}

struct tls_tickets *
tls_tickets_create(void)
{
    struct tls_tickets *t;

    t = mmap(NULL, sizeof(*t), PROT_READ | PROT_WRITE,
        MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (t == MAP_FAILED)
        return NULL;
    memset(t, 0, sizeof(*t));
    if (tls_key_make(&t->keys[0], tls_now()) == -1) {
        munmap(t, sizeof(*t));
        return NULL;
    }
    return t;
}

void
tls_tickets_destroy(struct tls_tickets *t)
{
    if (t == NULL)
        return;
    explicit_bzero(t, sizeof(*t));
    munmap(t, sizeof(*t));
}

int
tls_tickets_rotate(struct tls_tickets *t, int64_t now)
{
    uint32_t cur = __atomic_load_n(&t->current, __ATOMIC_ACQUIRE);
    uint32_t next = (cur + 1) % TLS_TICKET_KEYS;

    if (now - t->keys[cur].made < TLS_TICKET_ROTATE_S)
        return 0;
    if (tls_key_make(&t->keys[next], now) == -1)
        return -1;
    __atomic_store_n(&t->current, next, __ATOMIC_RELEASE);
    return 0;
}

/* The HMAC half of a ticket key into OpenSSL's MAC context. */
static int
tls_ticket_mac(EVP_MAC_CTX *hctx, const uint8_t *key)
{
    OSSL_PARAM params[3];

    params[0] = OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_KEY,
        (void *)key, 32);
    params[1] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
        (char *)"SHA256", 0);
    params[2] = OSSL_PARAM_construct_end();
    return EVP_MAC_CTX_set_params(hctx, params);
}

/*
 * Seals a new ticket with the current key (enc), or finds the key that
 * sealed one: 1 to resume, 2 to resume and issue a fresh ticket, 0 to fall
 * back to a full handshake, -1 on error.  A fresh ticket follows every
 * TLS 1.3 resumption (clients use a TLS 1.3 ticket once, RFC 8446 C.4)
 * and every TLS 1.2 one sealed with an older key.
 */
static int
tls_ticket_cb(SSL *s, unsigned char *name, unsigned char *iv,
    EVP_CIPHER_CTX *cctx, EVP_MAC_CTX *hctx, int enc)
{
    struct tls_tickets    *t = SSL_CTX_get_ex_data(SSL_get_SSL_CTX(s), tls_ex_index);
    const struct tls_ticket_key *k;
    uint32_t               cur, i;

    if (t == NULL)
        return -1;
    cur = __atomic_load_n(&t->current, __ATOMIC_ACQUIRE);
    if (enc) {
        k = &t->keys[cur];
        memcpy(name, k->name, sizeof(k->name));
        if (RAND_bytes(iv, 16) != 1 ||
            EVP_EncryptInit_ex(cctx, EVP_aes_256_cbc(), NULL, k->aes, iv) != 1 ||
            tls_ticket_mac(hctx, k->hmac) != 1)
            return -1;
        return 1;
    }
    for (i = 0; i < 2; i++) {
        k = &t->keys[(cur + TLS_TICKET_KEYS - i) % TLS_TICKET_KEYS];
        if (k->made == 0 || memcmp(name, k->name, sizeof(k->name)) != 0)
            continue;
        if (EVP_DecryptInit_ex(cctx, EVP_aes_256_cbc(), NULL, k->aes, iv) != 1 ||
            tls_ticket_mac(hctx, k->hmac) != 1)
            return -1;
        return i == 0 && SSL_version(s) < TLS1_3_VERSION ? 1 : 2;
    }
    return 0;
}

/* ---- contexts --------------------------------------------------------- */

/* http/1.1 when the client offers it; otherwise no ALPN at all, which
 * every HTTP/1.1 client accepts. */
static int
tls_alpn_cb(SSL *s, const unsigned char **out, unsigned char *outlen,
    const unsigned char *in, unsigned int inlen, void *arg)
{
    static const unsigned char h11[] = "\x08http/1.1";

    (void)s;
    (void)arg;
    if (SSL_select_next_proto((unsigned char **)out, outlen, h11,
        sizeof(h11) - 1, in, inlen) == OPENSSL_NPN_NEGOTIATED)
        return SSL_TLSEXT_ERR_OK;
    return SSL_TLSEXT_ERR_NOACK;
}

static void
tls_openssl_err(char *err, size_t errlen, const char *what)
{
    unsigned long e = ERR_get_error();
    char          reason[256];

    if (e != 0)
        ERR_error_string_n(e, reason, sizeof(reason));
    else
        snprintf(reason, sizeof(reason), "%s", strerror(errno));
    snprintf(err, errlen, "%s: %s", what, reason);
    ERR_clear_error();
}

/* The protocol policy of tls.h, the same for every listener. */
static int
tls_ctx_policy(SSL_CTX *ssl, char *err, size_t errlen)
{
    if (SSL_CTX_set_min_proto_version(ssl, TLS1_2_VERSION) != 1 ||
        SSL_CTX_set_cipher_list(ssl, TLS_CIPHERS) != 1 ||
        SSL_CTX_set1_groups_list(ssl, TLS_GROUPS) != 1 ||
        SSL_CTX_set_dh_auto(ssl, 1) != 1 ||
        SSL_CTX_set_tlsext_ticket_key_evp_cb(ssl, tls_ticket_cb) != 1 ||
        SSL_CTX_set_num_tickets(ssl, 1) != 1) {
        tls_openssl_err(err, errlen, "TLS policy");
        return -1;
    }
    /* The server's order of the list above, strongest first, not the
     * client's: a client cannot talk it down to a weaker suite. */
    SSL_CTX_set_options(ssl, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
        SSL_OP_IGNORE_UNEXPECTED_EOF | SSL_OP_CIPHER_SERVER_PREFERENCE);
    SSL_CTX_set_mode(ssl, SSL_MODE_ENABLE_PARTIAL_WRITE |
        SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_RELEASE_BUFFERS);
    /* Whole flights in one read(2), not a header and a body per record;
     * the loop reads on until TLS_WANT_READ, so nothing waits in the
     * buffer for an edge that will not come. */
    SSL_CTX_set_read_ahead(ssl, 1);
    /* Stateless tickets only: any worker resumes any session. */
    SSL_CTX_set_session_cache_mode(ssl, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_timeout(ssl, 2 * TLS_TICKET_ROTATE_S);
    SSL_CTX_set_alpn_select_cb(ssl, tls_alpn_cb, NULL);
    return 0;
}

/* The certificate chain and its key; a pair that does not match fails. */
static int
tls_ctx_load(SSL_CTX *ssl, const char *cert, const char *key, char *err,
    size_t errlen)
{
    if (SSL_CTX_use_certificate_chain_file(ssl, cert) != 1) {
        tls_openssl_err(err, errlen, cert);
        return -1;
    }
    if (SSL_CTX_use_PrivateKey_file(ssl, key, SSL_FILETYPE_PEM) != 1) {
        tls_openssl_err(err, errlen, key);
        return -1;
    }
    if (SSL_CTX_check_private_key(ssl) != 1) {
        tls_openssl_err(err, errlen, key);
        return -1;
    }
    return 0;
}

struct tls_ctx *
tls_ctx_new(const char *cert, const char *key, struct tls_tickets *t,
    char *err, size_t errlen)
{
    struct tls_ctx *ctx;

    if (tls_ex_index == -1 &&
        (tls_ex_index = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL, NULL)) == -1) {
        tls_openssl_err(err, errlen, "TLS");
        return NULL;
    }
    if ((ctx = calloc(1, sizeof(*ctx))) == NULL) {
        snprintf(err, errlen, "TLS: %s", strerror(errno));
        return NULL;
    }
    ctx->tickets = t;
    if ((ctx->ssl = SSL_CTX_new(TLS_server_method())) == NULL) {
        tls_openssl_err(err, errlen, "TLS");
        free(ctx);
        return NULL;
    }
    if (SSL_CTX_set_ex_data(ctx->ssl, tls_ex_index, t) != 1 ||
        tls_ctx_policy(ctx->ssl, err, errlen) == -1 ||
        tls_ctx_load(ctx->ssl, cert, key, err, errlen) == -1) {
        tls_ctx_free(ctx);
        return NULL;
    }
    return ctx;
}

void
tls_ctx_free(struct tls_ctx *ctx)
{
    if (ctx == NULL)
        return;
    SSL_CTX_free(ctx->ssl);
    free(ctx);
}

/* ---- connections ------------------------------------------------------ */

struct tls_conn *
tls_conn_new(struct tls_ctx *ctx, int fd)
{
    struct tls_conn *c;

    if ((c = malloc(sizeof(*c))) == NULL)
        return NULL;
    if ((c->ssl = SSL_new(ctx->ssl)) == NULL || SSL_set_fd(c->ssl, fd) != 1) {
        ERR_clear_error();
        SSL_free(c->ssl);
        free(c);
        return NULL;
    }
    SSL_set_accept_state(c->ssl);
    return c;
}

void
tls_conn_free(struct tls_conn *c)
{
    if (c == NULL)
        return;
    SSL_free(c->ssl);
    free(c);
}

/* What an OpenSSL call's rc <= 0 means for the loop. */
static int
tls_result(struct tls_conn *c, int rc)
{
    switch (SSL_get_error(c->ssl, rc)) {
    case SSL_ERROR_WANT_READ:
        return TLS_WANT_READ;
    case SSL_ERROR_WANT_WRITE:
        return TLS_WANT_WRITE;
    case SSL_ERROR_ZERO_RETURN:
        return 0;
    default:
        ERR_clear_error();
        return TLS_FAILED;
    }
}

int
tls_conn_handshake(struct tls_conn *c)
{
    int rc = SSL_do_handshake(c->ssl);

    if (rc == 1)
        return 0;
    rc = tls_result(c, rc);
    return rc == 0 ? TLS_FAILED : rc;
}

ssize_t
tls_conn_read(struct tls_conn *c, void *buf, size_t len)
{
    size_t n;
    int    rc;

    if ((rc = SSL_read_ex(c->ssl, buf, len, &n)) == 1)
        return (ssize_t)n;
    return tls_result(c, rc);
}

ssize_t
tls_conn_write(struct tls_conn *c, const void *buf, size_t len)
{
    size_t n;
    int    rc;

    if ((rc = SSL_write_ex(c->ssl, buf, len, &n)) == 1)
        return (ssize_t)n;
    rc = tls_result(c, rc);
    return rc == 0 ? TLS_FAILED : rc;
}

int
tls_conn_resumed(const struct tls_conn *c)
{
    return SSL_session_reused(c->ssl);
}

void
tls_conn_shutdown(struct tls_conn *c)
{
    if (SSL_is_init_finished(c->ssl) && SSL_shutdown(c->ssl) < 0)
        ERR_clear_error();
}
