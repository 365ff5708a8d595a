/* SPDX-License-Identifier: MIT */
/*
 * encoding.c - hexadecimal and percent-encoding; see encoding.h.
 */
#include <stdint.h>
#include <string.h>

#include "encoding.h"

int
encoding_hex_digit(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

long
encoding_percent_decode(char *s, size_t len, int plus_is_space)
{
    size_t i, o = 0;
    int    hi, lo;

    for (i = 0; i < len; i++) {
        if (s[i] == '+' && plus_is_space) {
            s[o++] = ' ';
        } else if (s[i] == '%') {
            if (i + 2 >= len)
                return -1;
            hi = encoding_hex_digit((unsigned char)s[i + 1]);
            lo = encoding_hex_digit((unsigned char)s[i + 2]);
            if (hi < 0 || lo < 0)
                return -1;
            s[o++] = (char)(hi << 4 | lo);
            i += 2;
        } else {
            s[o++] = s[i];
        }
    }
    s[o] = '\0';
    return (long)o;
}

/* Whether c stands for itself in a path segment. */
static int
encoding_path_plain(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
        (c >= '0' && c <= '9') || (c != '\0' && strchr("-._~!$&'*+=@", c) != NULL);
}

int
encoding_percent_encode(struct buf *b, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    const char       *p;
    char              esc[3];

    for (p = s; *p != '\0'; p++) {
        unsigned char c = (unsigned char)*p;

        if (encoding_path_plain(c)) {
            if (buf_append(b, p, 1) == -1)
                return -1;
            continue;
        }
        esc[0] = '%';
        esc[1] = hex[c >> 4];
        esc[2] = hex[c & 15];
        if (buf_append(b, esc, 3) == -1)
            return -1;
    }
    return 0;
}

static const char encoding_b64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

int
encoding_base64url_encode(const char *s, size_t len, char *out, size_t outlen)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t               i, o = 0, need;
    uint32_t             v;

    need = len / 3 * 4 + (len % 3 != 0 ? len % 3 + 1 : 0);

    if (need >= outlen)
        return -1;
    for (i = 0; i < len; i += 3) {
        v = (uint32_t)p[i] << 16;
        if (i + 1 < len)
            v |= (uint32_t)p[i + 1] << 8;
        if (i + 2 < len)
            v |= p[i + 2];
        out[o++] = encoding_b64[(v >> 18) & 63];
        out[o++] = encoding_b64[(v >> 12) & 63];
        if (i + 1 < len)
            out[o++] = encoding_b64[(v >> 6) & 63];
        if (i + 2 < len)
            out[o++] = encoding_b64[v & 63];
    }
    out[o] = '\0';
    return 0;
}

/* The value of a base64url character, or -1. */
static int
encoding_b64_value(int c)
{
    const char *at = c != '\0' ? strchr(encoding_b64, c) : NULL;

    return at != NULL ? (int)(at - encoding_b64) : -1;
}

long
encoding_base64url_decode(const char *s, size_t len, char *out, size_t outlen)
{
    size_t   i, o = 0, need;
    uint32_t v = 0;
    int      d;

    need = len / 4 * 3 + (len % 4 != 0 ? len % 4 - 1 : 0);
    if (len % 4 == 1 || need >= outlen)
        return -1;
    for (i = 0; i < len; i++) {
        if ((d = encoding_b64_value((unsigned char)s[i])) == -1)
            return -1;
        v = v << 6 | (uint32_t)d;
        if (i % 4 == 3) {
            out[o++] = (char)(v >> 16);
            out[o++] = (char)(v >> 8);
            out[o++] = (char)v;
            v = 0;
        }
    }
    if (len % 4 == 2) {
        out[o++] = (char)(v >> 4);
    } else if (len % 4 == 3) {
        out[o++] = (char)(v >> 10);
        out[o++] = (char)(v >> 2);
    }
    out[o] = '\0';
    return (long)o;
}
