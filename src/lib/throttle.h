/* SPDX-License-Identifier: MIT */
/*
 * throttle.h - limits shared by every worker: login attempts per account
 * and per client address, registrations per address, and open connections
 * per client address.
 *
 * One anonymous MAP_SHARED mapping made by the master before the first
 * fork, so all workers count together; it lasts as long as the master
 * (a restart forgets failures, which errs on the side of letting users
 * in).  Keys are a keyed hash of the account or address, so nobody can
 * aim collisions at another account.  Every call takes one process-shared
 * robust mutex: a worker that dies holding it does not wedge the others.
 *
 * Login attempts are charged when they are admitted, before the password
 * is verified, so however many arrive at once, at most max_failures of
 * them per account and per address are ever verified within a window.
 *
 * Nothing tracked is ever dropped to make room for something new: when a
 * table has no room for a key, the call refuses (a wait of 1 second, or
 * -1), with errno ENOSPC.  All times are CLOCK_MONOTONIC seconds, so a
 * step of the wall clock neither lifts nor stretches a lockout.
 */
#ifndef USERAPID_THROTTLE_H
#define USERAPID_THROTTLE_H

#include <stddef.h>
#include <stdint.h>

/* throttle_login_end's bits: a lockout to log. */
#define THROTTLE_LOCKED_ACCOUNT 0x1
#define THROTTLE_LOCKED_ADDRESS 0x2

struct throttle;

struct throttle_limits {
    long    max_failures;   /* attempts within window that start a lockout */
    long    window;         /* seconds */
    long    lockout;        /* seconds */
};

/* NULL with errno on failure.  Call before forking the workers. */
struct throttle *throttle_create(void);
void    throttle_destroy(struct throttle *t);

/*
 * Admission of a login for email from addr, before its password is
 * verified.  When the account or the address is locked out, returns the
 * seconds to wait (>= 1, the longer of the two; errno EAGAIN) and charges
 * nothing.  Otherwise charges one attempt to the account and one to the
 * address and returns 0.  An entry's window of l->window seconds starts
 * at its first charge; the charge that brings its count to
 * l->max_failures starts its lockout of l->lockout seconds (that attempt
 * itself still proceeds).  When either key cannot be tracked for want of
 * room, returns 1 with errno ENOSPC and charges nothing.
 */
long    throttle_login_begin(struct throttle *t, const char *email,
            const char *addr, const struct throttle_limits *l);

/*
 * The outcome of an attempt admitted by throttle_login_begin.  ok:
 * refunds the address's charge (lifting its lockout when its count falls
 * below l->max_failures again) and clears the account's count and
 * lockout.  Not ok: the charges stay.  Returns THROTTLE_LOCKED_ACCOUNT
 * and THROTTLE_LOCKED_ADDRESS for a lockout in force that no failure has
 * reported yet: each lockout is reported once.  An attempt that is never
 * ended keeps its charge, as a failure, until its window or lockout ends.
 */
int     throttle_login_end(struct throttle *t, const char *email,
            const char *addr, int ok, const struct throttle_limits *l);

/*
 * A registration from addr: 0 when admitted (and counted), else the
 * seconds until addr may register again (>= 1; errno EAGAIN): at most
 * max (>= 1) within a window of window seconds from the first one.
 * 1 with errno ENOSPC when addr cannot be tracked for want of room.
 */
long    throttle_register(struct throttle *t, const char *addr, long max,
            long window);

/*
 * One more connection from addr, held by worker slot (>= 0): 0, or -1
 * when addr has limit open already (errno EAGAIN) or cannot be tracked
 * for want of room (ENOSPC).
 */
int     throttle_conn_acquire(struct throttle *t, const char *addr, int slot,
            long limit);
void    throttle_conn_release(struct throttle *t, const char *addr, int slot);
/* A worker died: give back every connection its slot held. */
void    throttle_conn_clear_slot(struct throttle *t, int slot);

/*
 * 0 when every table is sound: each entry within reach of lookups (at
 * most the probe limit from its home slot, no gap before it), the used
 * counts right, no connection entry at 0, and each address's total equal
 * to the sum over its worker slots.  Else -1 with err saying what.
 */
int     throttle_check(struct throttle *t, char *err, size_t errlen);

/* For tests: the clock, in seconds; NULL restores CLOCK_MONOTONIC. */
void    throttle_set_clock(int64_t (*now)(void));

#endif
