/* SPDX-License-Identifier: MIT */
/*
 * coro.h - coroutines for requests that wait on the network: a request
 * runs on a stack of its own, and where it would block (a database round
 * trip) it yields back to the worker's event loop, which resumes it when
 * the answer is there.  The handler code stays a plain sequence of calls.
 *
 * Only the loop thread runs coroutines; one runs at a time, and a
 * coroutine may only yield to the loop (no nesting).  Each stack is mapped
 * with a guard page below it, so an overflow faults instead of corrupting
 * memory.  Under AddressSanitizer the switches are announced to it.
 */
#ifndef USERAPID_CORO_H
#define USERAPID_CORO_H

#include <stddef.h>

#define CORO_STACK_SIZE (128 * 1024)

struct coro;

/* A coroutine that will run fn(arg), not started yet.  NULL with errno. */
struct coro *coro_new(void (*fn)(void *), void *arg);

/* Makes c, which has returned or never run, run fn(arg) next, on the
 * same stack (no new mapping: a pool of coroutines costs no system call
 * per request).  -1 with errno EBUSY while c is suspended. */
int          coro_restart(struct coro *c, void (*fn)(void *), void *arg);

/* The arg c runs with. */
void        *coro_arg(const struct coro *c);

/* Runs c until it yields or returns.  1 when fn has returned (then only
 * coro_free may follow), 0 when it yielded. */
int          coro_resume(struct coro *c);

/* From inside a coroutine: back to whoever resumed it. */
void         coro_yield(void);

/* The running coroutine, or NULL on the loop's own stack. */
struct coro *coro_current(void);

/* Frees a coroutine that has returned, or one never started. */
void         coro_free(struct coro *c);

#endif
