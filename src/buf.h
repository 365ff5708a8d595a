/*
 * buf.h - a growable byte buffer.
 *
 * Invariant: data[0..len) holds the bytes, cap >= len; data is NULL only
 * while cap is 0.  Functions that can grow the buffer return -1 on ENOMEM
 * and leave the contents unchanged.
 */
#ifndef USERAPID_BUF_H
#define USERAPID_BUF_H

#include <stddef.h>
#include <stdint.h>

struct buf {
    char   *data;
    size_t  len;
    size_t  cap;
};

void buf_init(struct buf *b);
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

#endif
