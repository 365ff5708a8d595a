/* SPDX-License-Identifier: MIT */
/*
 * proctitle.c - rewrite argv in place, as nginx and PostgreSQL do.
 *
 * Linux shows /proc/PID/cmdline from the memory that held argv and,
 * right after it, environ.  proctitle_init() copies the environment
 * elsewhere so that whole contiguous area can hold the new title.
 * If the copy fails the title is simply limited to the argv area.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proctitle.h"

extern char **environ;

static char   *proctitle_start;
static size_t  proctitle_len;
static char  **proctitle_env;

void
proctitle_init(int argc, char **argv)
{
    char   *end, *p;
    size_t  size = 0;
    int     i, n;

    if (argc < 1 || argv[0] == NULL)
        return;
    proctitle_start = argv[0];
    end = argv[0] + strlen(argv[0]) + 1;
    for (i = 1; i < argc; i++)
        if (argv[i] == end)
            end = argv[i] + strlen(argv[i]) + 1;
    for (n = 0; environ[n] != NULL; n++)
        size += strlen(environ[n]) + 1;
    /* One block, kept for the life of the process (and so never a leak). */
    proctitle_env = malloc(sizeof(char *) * ((size_t)n + 1) + size);
    if (proctitle_env != NULL) {
        p = (char *)(proctitle_env + n + 1);
        for (i = 0; i < n; i++) {
            size_t len = strlen(environ[i]) + 1;

            if (environ[i] == end)
                end = environ[i] + len;
            memcpy(p, environ[i], len);
            proctitle_env[i] = p;
            p += len;
        }
        proctitle_env[n] = NULL;
        environ = proctitle_env;
    } else {
        /* Keep the old environment; the title gets only argv's room. */
        end = argv[argc - 1] + strlen(argv[argc - 1]) + 1;
    }
    proctitle_len = (size_t)(end - proctitle_start);
}

void
proctitle_set(const char *fmt, ...)
{
    va_list ap;

    if (proctitle_start == NULL || proctitle_len < 2)
        return;
    memset(proctitle_start, 0, proctitle_len);
    va_start(ap, fmt);
    vsnprintf(proctitle_start, proctitle_len - 1, fmt, ap);
    va_end(ap);
}
