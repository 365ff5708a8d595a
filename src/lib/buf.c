/* SPDX-License-Identifier: MIT */
/*
 * buf.c - a growable byte buffer; see buf.h.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

void
buf_init(struct buf *b)
{
    buf_init_with(b, 0, 0);
}

void
buf_init_with(struct buf *b, int flags, size_t max)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->max = max;
    b->flags = flags;
}

void
buf_free(struct buf *b)
{
    if (b->data != NULL && (b->flags & BUF_WIPE))
        explicit_bzero(b->data, b->cap);
    free(b->data);
    buf_init_with(b, b->flags, b->max);
}

void
buf_reset(struct buf *b)
{
    b->len = 0;
}

int
buf_reserve(struct buf *b, size_t extra)
{
    size_t  need, cap;
    char   *p;

    if (extra > (size_t)-1 - b->len) {
        errno = ENOMEM;
        return -1;
    }
    need = b->len + extra;
    if (need <= b->cap)
        return 0;
    if (b->max != 0 && need > b->max) {
        errno = EFBIG;
        return -1;
    }
    cap = b->cap ? b->cap : 256;
    while (cap < need) {
        if (cap > (size_t)-1 / 2) {
            errno = ENOMEM;
            return -1;
        }
        cap *= 2;
    }
    if (b->flags & BUF_WIPE) {
        /* Not realloc: it could leave a copy behind unwiped. */
        if ((p = malloc(cap)) == NULL)
            return -1;
        if (b->data != NULL) {
            memcpy(p, b->data, b->len);
            explicit_bzero(b->data, b->cap);
            free(b->data);
        }
    } else if ((p = realloc(b->data, cap)) == NULL) {
        return -1;
    }
    b->data = p;
    b->cap = cap;
    return 0;
}

int
buf_append(struct buf *b, const void *p, size_t n)
{
    if (n == 0)
        return 0;
    if (buf_reserve(b, n) == -1)
        return -1;
    memcpy(b->data + b->len, p, n);
    b->len += n;
    return 0;
}

int
buf_append_str(struct buf *b, const char *s)
{
    return buf_append(b, s, strlen(s));
}

int
buf_appendf(struct buf *b, const char *fmt, ...)
{
    va_list ap;
    int     n;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || buf_reserve(b, (size_t)n + 1) == -1)
        return -1;
    va_start(ap, fmt);
    n = vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
    va_end(ap);
    if (n < 0)
        return -1;
    b->len += (size_t)n;
    return 0;
}

/* Drops the first n bytes, keeping the rest at the front. */
void
buf_consume(struct buf *b, size_t n)
{
    if (n >= b->len) {
        b->len = 0;
        return;
    }
    memmove(b->data, b->data + n, b->len - n);
    b->len -= n;
}

int
buf_append_u64(struct buf *b, uint64_t v)
{
    char  tmp[20];
    char *p = tmp + sizeof(tmp);

    do {
        *--p = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    return buf_append(b, p, (size_t)(tmp + sizeof(tmp) - p));
}

const char *
buf_str(struct buf *b)
{
    if (buf_reserve(b, 1) == -1)
        return NULL;
    b->data[b->len] = '\0';
    return b->data;
}
