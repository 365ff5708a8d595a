/*
 * throttle.h - limits shared by every worker: failed logins per account
 * and per client address, and open connections per client address.
 *
 * One anonymous MAP_SHARED mapping made by the master before the first
 * fork, so all workers count together; it lasts as long as the master
 * (a restart forgets failures, which errs on the side of letting users
 * in).  Keys are a keyed hash of the account or address, so nobody can
 * aim collisions at another account.  Every call takes one process-shared
 * robust mutex: a worker that dies holding it does not wedge the others.
 */
#ifndef USERAPID_THROTTLE_H
#define USERAPID_THROTTLE_H

#include <stdint.h>

struct throttle;

struct throttle_limits {
    long    max_failures;   /* failures within window that start a lockout */
    long    window;         /* seconds */
    long    lockout;        /* seconds */
};

/* NULL with errno on failure.  Call before forking the workers. */
struct throttle *throttle_create(void);
void    throttle_destroy(struct throttle *t);

/*
 * Seconds until a login for email from addr may be tried again: 0 when it
 * may now, else the longer of the account's and the address's lockout.
 */
long    throttle_login_wait(struct throttle *t, const char *email,
            const char *addr, int64_t now);

/*
 * Counts a failed login against email and addr.  Returns a bit set:
 * 1 when the account's lockout started now, 2 when the address's did.
 */
int     throttle_login_failed(struct throttle *t, const char *email,
            const char *addr, int64_t now, const struct throttle_limits *l);

/* A successful login clears the account's failures. */
void    throttle_login_ok(struct throttle *t, const char *email);

/*
 * One more connection from addr, held by worker slot; refused (-1) when
 * addr has limit open already.  0 on success.
 */
int     throttle_conn_acquire(struct throttle *t, const char *addr, int slot,
            long limit);
void    throttle_conn_release(struct throttle *t, const char *addr, int slot);
/* A worker died: give back every connection its slot held. */
void    throttle_conn_clear_slot(struct throttle *t, int slot);

#endif
