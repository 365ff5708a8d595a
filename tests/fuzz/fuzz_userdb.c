/* SPDX-License-Identifier: MIT */
/*
 * fuzz_userdb.c - libFuzzer target for the user database file: its
 * header, its line parser, the index over it, and the writes that must
 * keep a file valid.
 *
 * The input is users.db itself, written into a scratch directory made once
 * per process.  Then, as the daemon and userapictl would:
 *   - userdb_check (strict: a torn last line is an error);
 *   - userdb_open without flags, a walk of every record with userdb_get,
 *     and a lookup of each by email, which must find that very record;
 *   - userdb_open with USERDB_REPAIR, which must succeed exactly when the
 *     plain open did, and leave a file userdb_check accepts;
 *   - an add, an update and a delete through that handle, each followed by
 *     userdb_check: whatever was read, what userdb writes is valid.
 * A userdb_check that passes implies an open that passes, with as many
 * users.  Each created_at must format back to a valid time.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "userdb.h"

#define FUZZ_EMAIL  "fuzz-added@example.org"
#define FUZZ_HASH   "$y$j9T$fuzzsalt$fuzzhashfuzzhashfuzzhashfuzzhashfuzzhash123"
#define FUZZ_HASH2  "$6$fuzzsalt$another.hash/for.the.update"

static char fuzz_db[300];

static void     fuzz_check_user(const struct userdb_user *u);
static size_t   fuzz_walk(struct userdb *db);
static void     fuzz_check_valid(size_t expect);
static void     fuzz_writes(struct userdb *db, size_t count);
static void     fuzz_time(const uint8_t *data, size_t size);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    const char *dir;

    (void)argc;
    (void)argv;
    fuzz_quiet_logs();
    dir = fuzz_dir_make();
    FUZZ_SETUP(snprintf(fuzz_db, sizeof(fuzz_db), "%s/users.db", dir) <
        (int)sizeof(fuzz_db));
    return 0;
}

/* A record as userdb.h describes it. */
static void
fuzz_check_user(const struct userdb_user *u)
{
    char    t[USERDB_TIME_LEN + 1];
    int64_t back;
    size_t  i, elen = strlen(u->email), hlen = strlen(u->hash);

    FUZZ_CHECK(elen >= 1 && elen <= USERDB_EMAIL_MAX);
    for (i = 0; i < elen; i++) {
        unsigned char c = (unsigned char)u->email[i];

        FUZZ_CHECK(c >= 0x20 && c != 0x7f && !(c >= 'A' && c <= 'Z'));
    }
    FUZZ_CHECK(u->role == USERDB_ROLE_ADMIN || u->role == USERDB_ROLE_USER);
    FUZZ_CHECK(userdb_role_name(u->role) != NULL);
    FUZZ_CHECK(u->created_at >= 0 && u->created_at <= USERDB_TIME_MAX);
    FUZZ_CHECK(userdb_format_time(u->created_at, t) == 0);
    FUZZ_CHECK(userdb_parse_time(t, &back) == 0 && back == u->created_at);
    FUZZ_CHECK(hlen >= 1 && hlen <= USERDB_HASH_MAX && u->hash[0] == '$');
    for (i = 0; i < hlen; i++) {
        unsigned char c = (unsigned char)u->hash[i];

        FUZZ_CHECK(c > 0x20 && c < 0x7f && c != ':');
    }
}

/* Every record, and each found again by its email.  Returns the count. */
static size_t
fuzz_walk(struct userdb *db)
{
    struct userdb_user  u, v;
    size_t              i, n = userdb_count(db), admins = 0;

    for (i = 0; i < n; i++) {
        FUZZ_CHECK(userdb_get(db, i, &u) == 0);
        fuzz_check_user(&u);
        if (u.role == USERDB_ROLE_ADMIN)
            admins++;
        FUZZ_CHECK(userdb_find(db, u.email, &v) == 0);
        FUZZ_CHECK(strcmp(u.email, v.email) == 0 && u.role == v.role &&
            u.created_at == v.created_at && strcmp(u.hash, v.hash) == 0);
    }
    FUZZ_CHECK(userdb_get(db, n, &u) == USERDB_NOT_FOUND);
    FUZZ_CHECK(userdb_count_role(db, USERDB_ROLE_ADMIN) == admins);
    FUZZ_CHECK(userdb_count_role(db, USERDB_ROLE_USER) == n - admins);
    return n;
}

/* users.db as userdb left it passes userdb_check with expect users. */
static void
fuzz_check_valid(size_t expect)
{
    char    err[USERDB_ERR_LEN];
    size_t  n = 0;

    if (userdb_check(fuzz_dir, &n, err, sizeof(err)) != 0) {
        fprintf(stderr, "userdb_check after a write: %s\n", err);
        FUZZ_CHECK(!"userdb_check passes after a write");
    }
    FUZZ_CHECK(n == expect);
}

/* Add, update, delete on a file that opened: each leaves it valid. */
static void
fuzz_writes(struct userdb *db, size_t count)
{
    struct userdb_user u, first;
    int                rc;

    memset(&u, 0, sizeof(u));
    snprintf(u.email, sizeof(u.email), "%s", FUZZ_EMAIL);
    u.role = USERDB_ROLE_USER;
    u.created_at = INT64_C(1700000000);
    snprintf(u.hash, sizeof(u.hash), "%s", FUZZ_HASH);
    rc = userdb_add(db, &u);
    FUZZ_CHECK(rc == 0 || rc == USERDB_EXISTS);
    if (rc == 0)
        count++;
    fuzz_check_valid(count);
    FUZZ_CHECK(userdb_count(db) == count);

    /* Rewrites copy every other line as it was. */
    FUZZ_CHECK(userdb_get(db, 0, &first) == 0);
    snprintf(first.hash, sizeof(first.hash), "%s", FUZZ_HASH2);
    FUZZ_CHECK(userdb_update(db, &first, 0) == 0);
    fuzz_check_valid(count);
    FUZZ_CHECK(userdb_find(db, first.email, &u) == 0 &&
        strcmp(u.hash, FUZZ_HASH2) == 0);

    rc = userdb_delete(db, FUZZ_EMAIL, USERDB_KEEP_ADMIN);
    FUZZ_CHECK(rc == 0 || rc == USERDB_LAST_ADMIN);
    if (rc == 0)
        count--;
    fuzz_check_valid(count);
    FUZZ_CHECK(userdb_find(db, FUZZ_EMAIL, NULL) == (rc == 0 ?
        USERDB_NOT_FOUND : 0));
    fuzz_walk(db);
}

/* The time format both ways: what parses formats back to the same text. */
static void
fuzz_time(const uint8_t *data, size_t size)
{
    char    s[USERDB_TIME_LEN + 1], back[USERDB_TIME_LEN + 1];
    int64_t t;

    if (size < USERDB_TIME_LEN)
        return;
    memcpy(s, data, USERDB_TIME_LEN);
    s[USERDB_TIME_LEN] = '\0';
    if (userdb_parse_time(s, &t) == 0) {
        FUZZ_CHECK(t >= 0 && t <= USERDB_TIME_MAX);
        FUZZ_CHECK(userdb_format_time(t, back) == 0);
        FUZZ_CHECK(strcmp(s, back) == 0);
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct userdb  *db;
    char            err[USERDB_ERR_LEN];
    size_t          checked = 0, count = 0;
    int             check_rc, opened;

    fuzz_time(data, size);
    FUZZ_SETUP(fuzz_write_file(fuzz_db, data, size) == 0);

    check_rc = userdb_check(fuzz_dir, &checked, err, sizeof(err));
    FUZZ_CHECK(check_rc == 0 || check_rc == -1);
    if (check_rc == -1)
        FUZZ_CHECK(memchr(err, '\0', sizeof(err)) != NULL &&
            strncmp(err, fuzz_db, strlen(fuzz_db)) == 0);

    db = userdb_open(fuzz_dir, 0, err, sizeof(err));
    opened = db != NULL;
    if (check_rc == 0)
        FUZZ_CHECK(opened);
    if (db != NULL) {
        count = fuzz_walk(db);
        if (check_rc == 0)
            FUZZ_CHECK(count == checked);
        FUZZ_CHECK(userdb_refresh(db, err, sizeof(err)) == 0);
        FUZZ_CHECK(userdb_count(db) == count);
        userdb_close(db);
    }

    /* The master opens with USERDB_REPAIR: a torn line goes, nothing else. */
    db = userdb_open(fuzz_dir, USERDB_REPAIR, err, sizeof(err));
    FUZZ_CHECK((db != NULL) == opened);
    if (db == NULL)
        return 0;
    FUZZ_CHECK(fuzz_walk(db) == count);
    fuzz_check_valid(count);
    if (count > 0)
        fuzz_writes(db, count);
    userdb_close(db);
    return 0;
}
