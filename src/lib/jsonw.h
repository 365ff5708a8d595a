/* SPDX-License-Identifier: MIT */
/*
 * jsonw.h - writing JSON text into a struct buf by hand: the daemon's hot
 * paths (the admin listing holds thousands of records) and the client's
 * request bodies, which hold passwords that must stay in memory the caller
 * can wipe, so json-c's own allocations are no place for them.
 *
 * One rule for every string: '"' and '\' are backslash-escaped, bytes
 * below 0x20 and DEL are written \u00XX, and every other byte is copied as
 * it is (UTF-8 passes through; the caller decides what bytes it accepts).
 */
#ifndef USERAPID_JSONW_H
#define USERAPID_JSONW_H

#include <stddef.h>

#include "buf.h"

/* Appends s[0..len) as a JSON string, quotes included.  0, or -1 (see
 * buf.h) with b as it was before the call. */
int jsonw_string(struct buf *b, const char *s, size_t len);

#endif
