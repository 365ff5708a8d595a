/* SPDX-License-Identifier: MIT */
/*
 * cli.h - what the command-line programs share: exit statuses and the
 * --version text.
 * Also how their messages look (cli_vsay) and the hint that follows a
 * usage error (cli_try_help).
 *
 * userapid and userapictl agree on the first three exit statuses
 * (userapid(8), userapictl(8)); each program documents any it adds.
 */
#ifndef USERAPID_CLI_H
#define USERAPID_CLI_H

#include <stdarg.h>
#include <stdio.h>

#define EXIT_RUNTIME  1         /* a failure at run time */
#define EXIT_USAGE    2         /* bad command line */
#define EXIT_CONFIG   3         /* invalid configuration */

/* What --version prints for prog: its version and its licence. */
#define CLI_VERSION_TEXT(prog) \
    prog " " USERAPID_VERSION "\n" \
    "Copyright (c) 2026 The userapid developers.\n" \
    "Licensed under the MIT License (SPDX-License-Identifier: MIT).\n"

/* "PROG: [NAME: ]message" and a newline on stderr (name NULL for none). */
static inline void
cli_vsay(const char *prog, const char *name, const char *fmt, va_list ap)
{
    fprintf(stderr, "%s: ", prog);
    if (name != NULL)
        fprintf(stderr, "%s: ", name);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
}

/*
 * The line after a usage error, as GNU tools and systemctl print it: where
 * the help is, of prog or of one of its commands (cmd NULL for prog's),
 * rather than the whole help text.
 */
static inline void
cli_try_help(const char *prog, const char *cmd)
{
    fprintf(stderr, "Try '%s%s%s --help' for more information.\n", prog,
        cmd != NULL ? " " : "", cmd != NULL ? cmd : "");
}

#endif
