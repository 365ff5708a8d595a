/* SPDX-License-Identifier: MIT */
/*
 * buf.h - a growable byte buffer.
 *
 * Invariant: data[0..len) holds the bytes, cap >= len; data is NULL only
 * while cap is 0.  Functions that can grow the buffer return -1 and leave
 * the contents unchanged: errno ENOMEM, or EFBIG past the buffer's max.
 * A buffer made with BUF_WIPE holds secrets (a request body with a
 * password): whenever its bytes move or it is freed, the old copy is wiped
 * first, so no password is left behind in freed memory.
 */
#ifndef USERAPID_BUF_H
#define USERAPID_BUF_H

#include <stddef.h>
#include <stdint.h>

#define BUF_WIPE    0x1     /* wipe old copies and the buffer when freed */

struct buf {
    char   *data;
    size_t  len;
    size_t  cap;
    size_t  max;            /* most bytes it may hold; 0: no limit */
    int     flags;          /* BUF_* */
};

/* An empty buffer, no limit, no wiping. */
void buf_init(struct buf *b);
/* An empty buffer with flags and a limit (0: none). */
void buf_init_with(struct buf *b, int flags, size_t max);
void buf_free(struct buf *b);
void buf_reset(struct buf *b);
int  buf_reserve(struct buf *b, size_t extra);
int  buf_append(struct buf *b, const void *p, size_t n);
int  buf_append_str(struct buf *b, const char *s);
int  buf_appendf(struct buf *b, const char *fmt, ...)
         __attribute__((format(printf, 2, 3)));
void buf_consume(struct buf *b, size_t n);
/* Appends v in decimal: the hot paths' alternative to buf_appendf. */
int  buf_append_u64(struct buf *b, uint64_t v);
/* The bytes as a C string (a NUL kept after them), or NULL when there is
 * no room for the NUL. */
const char *buf_str(struct buf *b);

#endif
