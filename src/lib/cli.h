/* SPDX-License-Identifier: MIT */
/*
 * cli.h - what the command-line programs share: exit statuses and the
 * --version text.
 *
 * userapid and userapictl agree on the first three exit statuses
 * (userapid(8), userapictl(8)); each program documents any it adds.
 */
#ifndef USERAPID_CLI_H
#define USERAPID_CLI_H

#define EXIT_RUNTIME  1         /* a failure at run time */
#define EXIT_USAGE    2         /* bad command line */
#define EXIT_CONFIG   3         /* invalid configuration */

/* What --version prints for prog: its version and its licence. */
#define CLI_VERSION_TEXT(prog) \
    prog " " USERAPID_VERSION "\n" \
    "Copyright (c) 2026 The userapid developers.\n" \
    "Licensed under the MIT License (SPDX-License-Identifier: MIT).\n"

#endif
