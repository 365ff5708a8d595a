/* SPDX-License-Identifier: MIT */
/*
 * encoding.h - the text encodings more than one part of userapid reads or
 * writes: hexadecimal digits, percent-encoding (RFC 3986, 2.1; forms
 * as application/x-www-form-urlencoded) and base64url (paging cursors).  Pure functions over caller
 * buffers.
 */
#ifndef USERAPID_ENCODING_H
#define USERAPID_ENCODING_H

#include <stddef.h>

#include "buf.h"

/* The value of a hexadecimal digit (either case), or -1. */
int  encoding_hex_digit(int c);

/*
 * Decodes s[0..len) in place: %XX to its byte and, when plus_is_space
 * (form bodies, not paths), '+' to a space.  Writes a NUL after the
 * result.  Returns the new length, or -1 for a '%' not followed by two
 * hexadecimal digits.
 */
long encoding_percent_decode(char *s, size_t len, int plus_is_space);

/*
 * Appends s percent-encoded for a path segment: RFC 3986 unreserved
 * characters, sub-delims and '@' as they are, every other byte %XX.
 * 0, or -1 (see buf.h).
 */
int  encoding_percent_encode(struct buf *b, const char *s);

/*
 * base64url (RFC 4648, 5) without padding.  encode writes s[0..len) and a
 * NUL into out: 0, or -1 when outlen is short (4 * ceil(len / 3) + 1 is
 * enough).  decode writes the bytes of s and a NUL into out: their
 * length, or -1 for a character outside the alphabet, padding, a length
 * no encoding has (len % 4 == 1), or an outlen too short.
 */
int  encoding_base64url_encode(const char *s, size_t len, char *out,
         size_t outlen);
long encoding_base64url_decode(const char *s, size_t len, char *out,
         size_t outlen);

#endif
