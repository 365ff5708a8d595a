/* SPDX-License-Identifier: MIT */
/*
 * prompt.h - reading passwords for the command-line tools: a line from
 * standard input, or from the terminal with echo off.
 */
#ifndef USERAPID_PROMPT_H
#define USERAPID_PROMPT_H

#include <stddef.h>

/*
 * Reads one line from fd, a byte at a time so nothing after it is taken,
 * into buf without its LF.  0 with *len set; 1 when it does not fit in
 * size - 1 bytes (the rest of the line is read and dropped); 2 at the end
 * of input before any byte; -1 on a read error.
 */
int prompt_read_line(int fd, char *buf, size_t size, size_t *len);

/*
 * Writes prompt to the terminal fd and reads a line with echo off into pw.
 * A signal that kills the process meanwhile restores the echo first;
 * stopping (^Z) waits until the line is read.  Returns as prompt_read_line.
 */
int prompt_password(int fd, const char *prompt, char *pw, size_t size,
        size_t *len);

#endif
