/* SPDX-License-Identifier: MIT */
/*
 * encoding.c - hexadecimal and percent-encoding; see encoding.h.
 */
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
