/* SPDX-License-Identifier: MIT */
/*
 * coro.c - coroutines on ucontext; see coro.h.
 *
 * Invariant: coro_running is the coroutine whose stack is in use, or NULL
 * while the loop runs on its own; coro_resume and coro_yield are the only
 * switches, and each switch out of a coroutine returns to the loop.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

#include "coro.h"

#if defined(__SANITIZE_ADDRESS__)
#define CORO_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CORO_ASAN 1
#endif
#endif

#ifdef CORO_ASAN
void __sanitizer_start_switch_fiber(void **fake_stack_save, const void *bottom,
    size_t size);
void __sanitizer_finish_switch_fiber(void *fake_stack_save,
    const void **bottom_old, size_t *size_old);
#endif

struct coro {
    ucontext_t   ctx;
    ucontext_t   caller;
    void       (*fn)(void *);
    void        *arg;
    void        *map;           /* guard page, then the stack */
    size_t       maplen;
    int          started;
    int          done;
#ifdef CORO_ASAN
    const void  *caller_bottom;
    size_t       caller_size;
#endif
};

static struct coro *coro_running;

static void coro_main(unsigned int lo, unsigned int hi);

/* Maps c's stack with a guard page below it (the stack grows down, so
 * an overflow faults).  -1 with errno. */
static int
coro_stack_map(struct coro *c)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);

    c->maplen = CORO_STACK_SIZE + page;
    c->map = mmap(NULL, c->maplen, PROT_READ | PROT_WRITE,
        MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    if (c->map == MAP_FAILED)
        return -1;
    if (mprotect(c->map, page, PROT_NONE) == -1) {
        munmap(c->map, c->maplen);
        return -1;
    }
    c->ctx.uc_stack.ss_sp = (char *)c->map + page;
    c->ctx.uc_stack.ss_size = CORO_STACK_SIZE;
    return 0;
}

/* Sets c up to start in coro_main on its stack (mapped when it has none
 * yet).  getcontext returns only once here (nothing ever switches back to
 * this context as saved), but the compiler cannot know that: c goes
 * through a volatile copy.  -1 with errno. */
static int
coro_context(struct coro *c0)
{
    struct coro *volatile c = c0;
    void                 *sp = c->ctx.uc_stack.ss_sp;

    if (getcontext(&c->ctx) == -1)
        return -1;
    if (c->map == NULL && coro_stack_map(c) == -1)
        return -1;
    if (sp != NULL) {
        c->ctx.uc_stack.ss_sp = sp;
        c->ctx.uc_stack.ss_size = CORO_STACK_SIZE;
    }
    c->ctx.uc_link = &c->caller;
    /* makecontext passes ints: the pointer goes in two halves. */
    makecontext(&c->ctx, (void (*)(void))coro_main, 2,
        (unsigned int)(uintptr_t)c, (unsigned int)((uintptr_t)c >> 32));
    return 0;
}

struct coro *
coro_new(void (*fn)(void *), void *arg)
{
    struct coro *c;

    if ((c = calloc(1, sizeof(*c))) == NULL)
        return NULL;
    c->fn = fn;
    c->arg = arg;
    if (coro_context(c) == -1) {
        free(c);
        return NULL;
    }
    return c;
}

int
coro_restart(struct coro *c, void (*fn)(void *), void *arg)
{
    if (c->started && !c->done) {
        errno = EBUSY;
        return -1;
    }
    c->fn = fn;
    c->arg = arg;
    c->started = c->done = 0;
    return coro_context(c);
}

void *
coro_arg(const struct coro *c)
{
    return c->arg;
}

static void
coro_main(unsigned int lo, unsigned int hi)
{
    struct coro *c = (struct coro *)(((uintptr_t)hi << 32) | lo);

#ifdef CORO_ASAN
    __sanitizer_finish_switch_fiber(NULL, &c->caller_bottom, &c->caller_size);
#endif
    c->fn(c->arg);
    c->done = 1;
    coro_running = NULL;
#ifdef CORO_ASAN
    /* Leaving for good: NULL lets ASan free this stack's fake frames. */
    __sanitizer_start_switch_fiber(NULL, c->caller_bottom, c->caller_size);
#endif
    /* Returning switches to uc_link, the caller. */
}

int
coro_resume(struct coro *c)
{
#ifdef CORO_ASAN
    void *fake = NULL;
#endif

    if (c->done)
        return 1;
    c->started = 1;
    coro_running = c;
#ifdef CORO_ASAN
    __sanitizer_start_switch_fiber(&fake, c->ctx.uc_stack.ss_sp,
        c->ctx.uc_stack.ss_size);
#endif
    swapcontext(&c->caller, &c->ctx);
#ifdef CORO_ASAN
    __sanitizer_finish_switch_fiber(fake, NULL, NULL);
#endif
    coro_running = NULL;
    return c->done;
}

void
coro_yield(void)
{
    struct coro *c = coro_running;
#ifdef CORO_ASAN
    void        *fake = NULL;
#endif

    if (c == NULL)
        return;
    coro_running = NULL;
#ifdef CORO_ASAN
    __sanitizer_start_switch_fiber(&fake, c->caller_bottom, c->caller_size);
#endif
    swapcontext(&c->ctx, &c->caller);
#ifdef CORO_ASAN
    __sanitizer_finish_switch_fiber(fake, &c->caller_bottom, &c->caller_size);
#endif
    coro_running = c;
}

struct coro *
coro_current(void)
{
    return coro_running;
}

void
coro_free(struct coro *c)
{
    if (c == NULL)
        return;
    munmap(c->map, c->maplen);
    free(c);
}
