/* SPDX-License-Identifier: MIT */
/*
 * throttle.h - limits shared by every worker: login attempts per client
 * address and per account, registrations per address, and open
 * connections per address.
 *
 * Logins and registrations are counted in STATE_DIR/throttle, a file the
 * master maps MAP_SHARED before the first fork and userapictl maps to
 * list and lift lockouts.  The counts survive a restart of userapid but
 * not a reboot: times are CLOCK_MONOTONIC, which means nothing across
 * boots, so the file remembers the kernel's boot id and the master makes
 * it afresh when the boot id differs (or the file is not one of this
 * version).  Connections are counted in an anonymous mapping of the
 * master's, as no process holds a connection when the master starts.
 * Keys are a keyed hash of the account or address (the seed is in the
 * file, mode 0600), so nobody can aim collisions at another account.
 * Every call takes a process-shared robust mutex: a process that dies
 * holding it does not wedge the others.
 *
 * The rules (limits in struct throttle_limits, times in seconds):
 *   - An address may have max_failures attempts admitted per window; the
 *     one that reaches the limit locks the address out for lockout
 *     seconds, for every account.  Only that address is refused.
 *   - An account's attempts from all addresses together are counted per
 *     window too, each address counting at most max_failures times per
 *     account window.  Up to account_max_failures (> max_failures) go
 *     through at once; the one that reaches that limit, and each one
 *     after it in the window, makes the next attempt on the account wait:
 *     after the attempt bringing the count to account_max_failures + n
 *     (n = 0, 1, 2...), min(2^n, lockout) seconds.  As one address counts
 *     at most max_failures, no address alone can slow an account down.
 *   - Attempts are charged when admitted, before the password is
 *     verified, so however many arrive at once no more are verified.  A
 *     right password gives the address's charge back (lifting its
 *     lockout when the count falls below the limit again) and clears the
 *     account's count and wait.
 *   - A window starts with the first charge after the last one ended.
 *
 * Nothing tracked is ever dropped to make room for something new: when a
 * table has no room for a key, the call refuses (a wait of 1 second, or
 * -1), with errno ENOSPC.  A step of the wall clock neither lifts nor
 * stretches a lockout.
 */
#ifndef USERAPID_THROTTLE_H
#define USERAPID_THROTTLE_H

#include <stddef.h>
#include <stdint.h>

#define THROTTLE_FILE           "throttle"  /* in the state directory */
#define THROTTLE_ERR_LEN        512
#define THROTTLE_KEY_MAX        254         /* bytes of a key kept, as emails */

/* throttle_open's flags. */
#define THROTTLE_DAEMON         0x1 /* the master: make, mend or reset the
                                       file; count connections */

/* throttle_login_end's bits: a lockout or slow-down to log. */
#define THROTTLE_SLOWED_ACCOUNT 0x1
#define THROTTLE_LOCKED_ADDRESS 0x2

/* struct throttle_lockout's kinds. */
#define THROTTLE_ACCOUNT        1
#define THROTTLE_ADDRESS        2

struct throttle;

struct throttle_limits {
    long    max_failures;   /* admitted attempts per address and window */
    long    window;         /* seconds */
    long    lockout;        /* seconds; also the longest slow-down wait */
    long    account_max_failures;   /* per account, all addresses; taken
                                       as max_failures + 1 if not above */
};

/* An account slowed down or an address locked out. */
struct throttle_lockout {
    int     kind;           /* THROTTLE_ACCOUNT or THROTTLE_ADDRESS */
    char    key[THROTTLE_KEY_MAX + 1];  /* the email or the address */
    long    failures;       /* attempts counted in its window */
    long    retry_after;    /* seconds until the next may be admitted; 0
                               for an account whose next attempt may come
                               now, and will make the one after it wait */
};

/*
 * The throttle of state_dir.  With THROTTLE_DAEMON (the master, before
 * forking): the file is made when missing, from another boot, or not a
 * throttle file of this version (with a warning), and its tables are
 * checked (an unsound one is emptied, with a warning); connections are
 * counted.  Without: the file is used as it is, and a missing one or one
 * from another boot counts nothing (nothing is locked).  NULL with err
 * set ("PATH: reason") on failure.
 */
struct throttle *throttle_open(const char *state_dir, int flags, char *err,
            size_t errlen);
void    throttle_close(struct throttle *t);

/*
 * Admission of a login for email from addr, before its password is
 * verified.  When the address is locked out or the account must wait,
 * returns the seconds to wait (>= 1, the longer of the two; errno EAGAIN)
 * and charges nothing.  Otherwise charges the attempt (see the rules
 * above) and returns 0.  When a key cannot be tracked for want of room,
 * returns 1 with errno ENOSPC and charges nothing.
 */
long    throttle_login_begin(struct throttle *t, const char *email,
            const char *addr, const struct throttle_limits *l);

/*
 * The outcome of an attempt admitted by throttle_login_begin.  ok: gives
 * the address's charge back and clears the account.  Not ok: the charges
 * stay.  Returns THROTTLE_SLOWED_ACCOUNT for an account slow-down and
 * THROTTLE_LOCKED_ADDRESS for an address lockout in force that no failure
 * has reported yet: each is reported once (a slow-down once per window).
 * An attempt that is never ended keeps its charge, as a failure.
 */
int     throttle_login_end(struct throttle *t, const char *email,
            const char *addr, int ok, const struct throttle_limits *l);

/*
 * The accounts slowed down and the addresses locked out now, accounts
 * first, each kind in the order of its keys: *out (free(3) it) and *n.
 * 0, or -1 with errno ENOMEM.
 */
int     throttle_lockouts(struct throttle *t, struct throttle_lockout **out,
            size_t *n);

/*
 * Lifts the slow-down of the account key and the lockout of the address
 * key (either case), clearing their counts: how many of the two were
 * listed by throttle_lockouts and are lifted now, 0 when none (nothing
 * is changed then).
 */
int     throttle_unlock(struct throttle *t, const char *key);

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
 * for want of room (ENOSPC).  Only with THROTTLE_DAEMON.
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
/* For tests: the boot id; NULL reads /proc/sys/kernel/random/boot_id. */
void    throttle_set_boot_id(const char *id);

#endif
