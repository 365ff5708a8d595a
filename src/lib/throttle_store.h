/* SPDX-License-Identifier: MIT */
/*
 * throttle_store.h - where throttle.c keeps its tables: the layout of
 * STATE_DIR/throttle and of the master's anonymous connection mapping,
 * and how they are made, checked and mapped (throttle_store.c).  Only
 * throttle.c and throttle_store.c include this.
 *
 * The file (native byte order: it never leaves this machine), 7,999,488
 * bytes, its blocks allocated when it is made:
 *   header            4096 bytes: magic "USERAPIDTHROTTL", version, the
 *                     sizes below, the boot id, the hash seed, the last
 *                     account window id, each table's used count and last
 *                     sweep, and the robust process-shared mutex
 *   accounts          16384 x 296 bytes: count, window, wait, window id,
 *                     and the email (lower case, up to 254 bytes)
 *   addresses         16384 x 96 bytes: count, window, lockout, and the
 *                     address as text (up to 63 bytes)
 *   pairs             32768 x 32 bytes: how many times an address counted
 *                     in an account's window
 *   registrations     16384 x 32 bytes: count and window per address
 * The connection table (32768 x 16 bytes, 512 KiB) and its own mutex and
 * seed are in the anonymous mapping.
 *
 * Invariants:
 *   - A file at the path is always whole: it is made as THROTTLE_FILE
 *     ".new", its blocks allocated (a store through the mapping never
 *     meets a full disk), its header and mutex set up, and then renamed
 *     into place.  Its layout never changes once in place, so the header's
 *     fixed fields are read without the lock.
 *   - Only the master makes the file, at start, before any worker or
 *     userapictl could use a mutex that a process of another boot held:
 *     a file whose boot id is not this boot's is never locked; the master
 *     replaces it and userapictl takes it as empty.
 *   - All times in the tables are CLOCK_MONOTONIC milliseconds.
 */
#ifndef USERAPID_THROTTLE_STORE_H
#define USERAPID_THROTTLE_STORE_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "throttle.h"

#define THR_MAGIC           "USERAPIDTHROTTL"   /* 16 bytes with the NUL */
#define THR_VERSION         1
#define THR_HEADER_SIZE     4096
#define THR_ACCT_SLOTS      16384   /* powers of two */
#define THR_ADDR_SLOTS      16384
#define THR_PAIR_SLOTS      32768
#define THR_REG_SLOTS       16384
#define THR_CONN_SLOTS      32768
#define THR_ACCT_TEXT       256     /* THROTTLE_KEY_MAX, a NUL, a spare */
#define THR_ADDR_TEXT       64
#define THR_BOOT_ID_LEN     40      /* "xxxxxxxx-xxxx-...": 36 and a NUL */
#define THR_SEED_LEN        32

/* What every entry starts with. */
struct thr_head {
    uint64_t key;               /* keyed hash; 0: empty slot */
    int32_t  count;             /* attempts, registrations or connections */
    int16_t  slot;              /* connections: worker slot or a total */
    uint16_t flags;
};

/* Registrations; the start of addresses and accounts. */
struct thr_limit {
    struct thr_head h;
    int64_t         window_end; /* the count starts again from here */
    int64_t         locked_until;   /* 0, or the end of a lockout or wait */
};

struct thr_addr {
    struct thr_limit l;
    char             text[THR_ADDR_TEXT];
};

struct thr_acct {
    struct thr_limit l;
    uint64_t         window;    /* the id of its current window */
    char             text[THR_ACCT_TEXT];
};

/* (account, address): how often the address counted in the window. */
struct thr_pair {
    struct thr_head h;
    int64_t         window_end; /* the account window's: dead from then */
    uint64_t        window;     /* the account window it counts in */
};

struct thr_conn {
    struct thr_head h;
};

struct thr_meta {
    uint32_t used;              /* entries in the table */
    uint32_t pad;
    int64_t  swept;             /* when stale entries were last swept */
};

struct thr_header {
    char            magic[16];
    uint32_t        version;
    uint32_t        header_size;
    uint32_t        entry_sizes[4]; /* accounts, addresses, pairs, regs */
    uint32_t        slots[4];
    uint32_t        mutex_size;
    uint32_t        pad;
    uint64_t        file_size;
    char            boot_id[THR_BOOT_ID_LEN];   /* "" when unknown */
    uint8_t         seed[THR_SEED_LEN];
    uint64_t        last_window;    /* account window ids given so far */
    struct thr_meta acct_meta;
    struct thr_meta addr_meta;
    struct thr_meta pair_meta;
    struct thr_meta reg_meta;
    pthread_mutex_t lock;
};

struct thr_file {
    union {
        struct thr_header h;
        unsigned char     pad[THR_HEADER_SIZE];
    } u;
    struct thr_acct     acct[THR_ACCT_SLOTS];
    struct thr_addr     addr[THR_ADDR_SLOTS];
    struct thr_pair     pair[THR_PAIR_SLOTS];
    struct thr_limit    reg[THR_REG_SLOTS];
};

struct thr_conns {
    pthread_mutex_t     lock;
    uint8_t             seed[THR_SEED_LEN];
    struct thr_meta     meta;
    struct thr_conn     conn[THR_CONN_SLOTS];
};

/* A process's handle; its copy in a forked child maps the same pages. */
struct throttle {
    struct thr_file    *f;      /* NULL: no file (userapictl) */
    struct thr_conns   *c;      /* THROTTLE_DAEMON only */
    char                path[4096];
};

/* Maps t->f (and t->c with THROTTLE_DAEMON) as throttle_open says.  0,
 * or -1 with err set and nothing mapped. */
int     thr_store_open(struct throttle *t, const char *state_dir, int flags,
            char *err, size_t errlen);
void    thr_store_close(struct throttle *t);
/* Makes t->f afresh (the master, when the one in place is unusable). */
int     thr_store_remake(struct throttle *t, char *err, size_t errlen);
/* The boot id of this boot, "" when unknown. */
const char *thr_boot_id(void);

#endif
