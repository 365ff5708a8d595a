/* SPDX-License-Identifier: MIT */
/*
 * tls.h - TLS for the daemon's listeners, on OpenSSL 3.
 *
 * A struct tls_ctx is one certificate and key with the policy every
 * listener gets: TLS 1.2 and 1.3 only, Mozilla's "intermediate" ciphers,
 * ALPN http/1.1, no compression, no renegotiation.  The master makes one
 * per generation of workers (a reload makes a new one, or keeps the old
 * one when the new pair is bad), before forking, so workers inherit it.
 *
 * Session resumption works whichever worker takes the next connection:
 * tickets are sealed with keys in a page the master shares with every
 * worker (struct tls_tickets) and rotates; a ticket stays usable for two
 * rotation periods.  No session cache is kept per process.
 *
 * A struct tls_conn is one connection's TLS state, driven from the
 * worker's edge-triggered epoll loop: every call is non-blocking and says
 * whether it needs the socket readable or writable to go on.
 */
#ifndef USERAPID_TLS_H
#define USERAPID_TLS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define TLS_TICKET_ROTATE_S     3600    /* a new ticket key this often */
#define TLS_ERR_LEN             512

struct tls_ctx;
struct tls_conn;
struct tls_tickets;

/* What a non-blocking call needs before it can go on. */
#define TLS_WANT_READ   (-1)
#define TLS_WANT_WRITE  (-2)
#define TLS_FAILED      (-3)            /* the connection is unusable */

/* The shared ticket keys: made by the master before the first fork.  NULL
 * with errno. */
struct tls_tickets *tls_tickets_create(void);
void    tls_tickets_destroy(struct tls_tickets *t);
/* The master, on its timer: a new key when the current one is older than
 * TLS_TICKET_ROTATE_S (now: CLOCK_MONOTONIC seconds).  0 or -1. */
int     tls_tickets_rotate(struct tls_tickets *t, int64_t now);

/* A context for the PEM certificate chain and key at those paths, its
 * tickets from t.  NULL with err ("PATH: reason") when a file cannot be
 * read, is not PEM, or the key does not match the certificate. */
struct tls_ctx *tls_ctx_new(const char *cert, const char *key,
    struct tls_tickets *t, char *err, size_t errlen);
void    tls_ctx_free(struct tls_ctx *ctx);

/* The TLS state of an accepted socket.  NULL when out of memory. */
struct tls_conn *tls_conn_new(struct tls_ctx *ctx, int fd);
void    tls_conn_free(struct tls_conn *c);

/* The server side of the handshake: 0 when done, TLS_WANT_* to go on
 * later, TLS_FAILED (a client that speaks no TLS, or TLS 1.1). */
int     tls_conn_handshake(struct tls_conn *c);

/* Decrypted bytes into buf: > 0 bytes, 0 at the end of the stream (a
 * close_notify, or the peer gone), TLS_WANT_* when there is nothing to
 * read now, TLS_FAILED. */
ssize_t tls_conn_read(struct tls_conn *c, void *buf, size_t len);

/* Encrypts and sends from buf: > 0 bytes taken (maybe fewer than len),
 * TLS_WANT_*, TLS_FAILED. */
ssize_t tls_conn_write(struct tls_conn *c, const void *buf, size_t len);

/* Whether the handshake resumed an earlier session (for tests and logs). */
int     tls_conn_resumed(const struct tls_conn *c);

/* Sends close_notify, best effort, without waiting for the peer's. */
void    tls_conn_shutdown(struct tls_conn *c);

#endif
