/* SPDX-License-Identifier: MIT */
/*
 * jsonw.c - JSON strings written by hand; see jsonw.h.
 */
#include <string.h>

#include "jsonw.h"

/* Whether c goes out as it is. */
static int
jsonw_plain(unsigned char c)
{
    return c >= 0x20 && c != 0x7f && c != '"' && c != '\\';
}

int
jsonw_string(struct buf *b, const char *s, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    size_t            start = b->len, i, run;
    char              esc[6];
    int               rc;

    rc = buf_append(b, "\"", 1);
    for (i = 0; rc == 0 && i < len; i += run) {
        unsigned char c = (unsigned char)s[i];

        /* Runs of plain bytes in one append: emails are nearly all plain. */
        for (run = 0; i + run < len && jsonw_plain((unsigned char)s[i + run]); run++)
            ;
        if (run > 0) {
            rc = buf_append(b, s + i, run);
            continue;
        }
        run = 1;
        if (c == '"' || c == '\\') {
            esc[0] = '\\';
            esc[1] = (char)c;
            rc = buf_append(b, esc, 2);
        } else {
            memcpy(esc, "\\u00", 4);
            esc[4] = hex[c >> 4];
            esc[5] = hex[c & 0xf];
            rc = buf_append(b, esc, 6);
        }
    }
    if (rc == 0)
        rc = buf_append(b, "\"", 1);
    /* The escape may have come from a password. */
    explicit_bzero(esc, sizeof(esc));
    if (rc == -1) {
        if (b->flags & BUF_WIPE)
            explicit_bzero(b->data + start, b->len - start);
        b->len = start;
    }
    return rc;
}
