/* SPDX-License-Identifier: MIT */
/*
 * test_store.c - unit tests for store.h, run alike against both stores:
 * each "both" case runs twice (Check's loop index: 0 the file store in a
 * fresh state directory, 1 PostgreSQL in a fresh database).  Users (add,
 * find, count, order, import all or none), changes and their effect on
 * sessions, the last admin, the first admin, sessions (login against the
 * verified hash, per-user cap, a full store, lookup, revocations,
 * expiry), and the login throttle's exact counts and waits.
 *
 * PostgreSQL only: several handles (as several hosts) racing on one
 * email, on the last two admins and on the first admin; a stopped and a
 * restarted server; a wrong password (EACCES, never in the message); a
 * missing schema; store_pg_init run twice and at once; the session's
 * settings and the statement timeout; notifications; sweeps of at most
 * max rows, stale login counts included.
 *
 * One server (tests/pg/pgtest) is started by main for the whole binary;
 * when it cannot be, every PostgreSQL case fails saying why.
 */
#include <check.h>
#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "pgx.h"
#include "store.h"
#include "store_pg.h"

#define FILE_STORE  0
#define PG_STORE    1
#define PASSWORD    "Sekr1t-pw-9f3a"
#define NRACE       16
#define NFIRST      8

static char          pg_dir[64];        /* the server's directory */
static char          pg_base[256];      /* "host=DIR port=N user=U" */
static int           pg_port;
static char          pg_why[1024];      /* why there is no server */
static char          pgtest[4096];      /* the script */
static char          state_dir[64];
static char          dbname[64];
static struct config cfg;
static struct store *st;

static int      sh(const char *, ...) __attribute__((format(printf, 1, 2)));
static void     need_pg(void);
static void     set_defaults(void);
static void     new_database(void);
static void     open_store(int);
static void     start(int);
static void     teardown(void);
static void     add_user(const char *, int, const char *);
static void     login(const char *, const char *, char *);
static int      lookup(const char *);
static Suite   *store_suite(void);

/* Runs a shell command: its exit status, or -1. */
static int
sh(const char *fmt, ...)
{
    char    cmd[8192];
    va_list ap;
    int     rc;

    va_start(ap, fmt);
    vsnprintf(cmd, sizeof(cmd), fmt, ap);
    va_end(ap);
    rc = system(cmd);
    return rc == -1 || !WIFEXITED(rc) ? -1 : WEXITSTATUS(rc);
}

static void
need_pg(void)
{
    if (pg_why[0] != '\0')
        ck_abort_msg("PostgreSQL test server could not be started: %s",
            pg_why);
}

/* Starts the server once, for the whole binary. */
static void
pg_start_server(void)
{
    const char *src = getenv("USERAPID_SRCDIR");
    char        line[8192], user[64];
    FILE       *f;

    snprintf(pgtest, sizeof(pgtest), "%s/tests/pg/pgtest",
        src != NULL ? src : ".");
    snprintf(pg_dir, sizeof(pg_dir), "/tmp/userapid-pg.XXXXXX");
    if (mkdtemp(pg_dir) == NULL) {
        snprintf(pg_why, sizeof(pg_why), "mkdtemp: %s", strerror(errno));
        return;
    }
    snprintf(line, sizeof(line), "%s start %s 2>&1", pgtest, pg_dir);
    if ((f = popen(line, "r")) == NULL) {
        snprintf(pg_why, sizeof(pg_why), "popen: %s", strerror(errno));
        return;
    }
    line[0] = '\0';
    if (fgets(line, sizeof(line), f) == NULL)
        line[0] = '\0';
    if (pclose(f) != 0 || sscanf(line, "host=%*s port=%d dbname=postgres "
        "user=%63s", &pg_port, user) != 2) {
        line[strcspn(line, "\n")] = '\0';
        snprintf(pg_why, sizeof(pg_why), "pgtest start: %.900s", line);
        return;
    }
    snprintf(pg_base, sizeof(pg_base), "host=%s port=%d user=%s", pg_dir,
        pg_port, user);
}

static void
pg_stop_server(void)
{
    if (pg_dir[0] == '\0')
        return;
    if (pg_why[0] == '\0')
        sh("%s stop %s >/dev/null 2>&1", pgtest, pg_dir);
    sh("rm -rf %s", pg_dir);
}

static void
set_defaults(void)
{
    config_defaults(&cfg);
    cfg.session_ttl = 3600;
    cfg.session_max_age = 86400;
    cfg.max_sessions = 100;
    cfg.max_sessions_per_user = 10;
    cfg.login_max_failures = 3;
    cfg.login_account_max_failures = 5;
    cfg.login_window = 60;
    cfg.login_lockout = 300;
    cfg.registration_max_per_ip = 2;
    cfg.registration_window = 3600;
    cfg.database_timeout = 10;
}

/* A fresh database, dbname, and cfg pointing at it. */
static void
new_database(void)
{
    static int n;

    need_pg();
    snprintf(dbname, sizeof(dbname), "t_%ld_%d", (long)getpid(), n++);
    ck_assert_int_eq(sh("%s createdb %s %s", pgtest, pg_dir, dbname), 0);
    cfg.storage = CONFIG_STORAGE_POSTGRESQL;
    snprintf(cfg.database_url, sizeof(cfg.database_url), "%s dbname=%s",
        pg_base, dbname);
}

/* st on the store kind asks for, with cfg as it is. */
static void
open_store(int kind)
{
    char err[STORE_ERR_LEN] = "";

    if (kind == FILE_STORE) {
        snprintf(state_dir, sizeof(state_dir), "/tmp/userapid-st.XXXXXX");
        ck_assert_ptr_nonnull(mkdtemp(state_dir));
        snprintf(cfg.state_dir, sizeof(cfg.state_dir), "%s", state_dir);
        cfg.storage = CONFIG_STORAGE_FILE;
        st = store_open(&cfg, STORE_DAEMON | STORE_CREATE, err, sizeof(err));
    } else {
        new_database();
        ck_assert_msg(store_pg_init(&cfg, err, sizeof(err)) == 0, "%s", err);
        st = store_open(&cfg, 0, err, sizeof(err));
    }
    ck_assert_msg(st != NULL, "store_open: %s", err);
    ck_assert_int_eq(store_kind(st), kind == FILE_STORE ?
        CONFIG_STORAGE_FILE : CONFIG_STORAGE_POSTGRESQL);
}

static void
start(int kind)
{
    set_defaults();
    open_store(kind);
}

static void
teardown(void)
{
    store_close(st);
    st = NULL;
    if (state_dir[0] != '\0')
        sh("rm -rf %s", state_dir);
    if (dbname[0] != '\0' && pg_why[0] == '\0')
        sh("%s sql %s postgres 'DROP DATABASE IF EXISTS %s WITH (FORCE)' "
            ">/dev/null 2>&1", pgtest, pg_dir, dbname);
}

static void
add_user(const char *email, int role, const char *hash)
{
    struct userdb_user u;

    memset(&u, 0, sizeof(u));
    snprintf(u.email, sizeof(u.email), "%s", email);
    snprintf(u.hash, sizeof(u.hash), "%s", hash);
    u.role = role;
    u.created_at = 1700000000;
    ck_assert_int_eq(store_user_add(st, &u), 0);
}

/* A session of email verified against hash: its token into token. */
static void
login(const char *email, const char *hash, char *token)
{
    struct store_login lg;

    ck_assert_int_eq(store_session_login(st, email, hash, "192.0.2.7", &lg),
        0);
    ck_assert_str_eq(lg.user.email, email);
    ck_assert_uint_eq(strlen(lg.token), CRYPTO_TOKEN_LEN);
    memcpy(token, lg.token, CRYPTO_TOKEN_LEN + 1);
}

static int
lookup(const char *token)
{
    return store_session_lookup(st, token, strlen(token), NULL);
}

/* ---- users (both stores) ---------------------------------------------- */

static int
collect_user(const struct userdb_user *u, void *arg)
{
    char *out = arg;

    strcat(out, u->email);
    strcat(out, u->role == USERDB_ROLE_ADMIN ? "(a) " : " ");
    return 0;
}

static int
stop_at_second(const struct userdb_user *u, void *arg)
{
    (void)u;
    return ++*(int *)arg == 2 ? 7 : 0;
}

START_TEST(test_add_find_count_and_foreach_in_creation_order)
{
    struct userdb_user u, bad;
    char               seen[256] = "";
    size_t             n;
    int                calls = 0;

    start(_i);
    add_user("bob@example.com", USERDB_ROLE_USER, "$h$bob");
    add_user("alice@example.com", USERDB_ROLE_ADMIN, "$h$alice");
    add_user("carol@example.com", USERDB_ROLE_USER, "$h$carol");
    ck_assert_int_eq(store_user_find(st, "alice@example.com", &u), 0);
    ck_assert_str_eq(u.email, "alice@example.com");
    ck_assert_int_eq(u.role, USERDB_ROLE_ADMIN);
    ck_assert_int_eq(u.created_at, 1700000000);
    ck_assert_str_eq(u.hash, "$h$alice");
    ck_assert_int_eq(store_user_find(st, "nobody@example.com", &u),
        STORE_NOT_FOUND);
    ck_assert_int_eq(store_user_find(st, "bob@example.com", NULL), 0);
    ck_assert_int_eq(store_user_count(st, 0, &n), 0);
    ck_assert_uint_eq(n, 3);
    ck_assert_int_eq(store_user_count(st, USERDB_ROLE_ADMIN, &n), 0);
    ck_assert_uint_eq(n, 1);
    ck_assert_int_eq(store_user_count(st, USERDB_ROLE_USER, &n), 0);
    ck_assert_uint_eq(n, 2);
    ck_assert_int_eq(store_user_foreach(st, collect_user, seen), 0);
    ck_assert_str_eq(seen, "bob@example.com alice@example.com(a) "
        "carol@example.com ");
    ck_assert_int_eq(store_user_foreach(st, stop_at_second, &calls), 7);
    ck_assert_int_eq(calls, 2);
    memset(&bad, 0, sizeof(bad));
    snprintf(bad.email, sizeof(bad.email), "no-at-sign");
    snprintf(bad.hash, sizeof(bad.hash), "$h$x");
    bad.role = USERDB_ROLE_USER;
    errno = 0;
    ck_assert_int_eq(store_user_add(st, &bad), -1);
    ck_assert_int_eq(errno, EINVAL);
}
END_TEST

/* One page into seen ("a b c "); its next cursor into next. */
static int
page(const char *after, const char *prefix, size_t limit, char *seen,
    char next[STORE_CURSOR_LEN])
{
    seen[0] = '\0';
    return store_user_page(st, after, prefix, limit, collect_user, seen, next,
        STORE_CURSOR_LEN);
}

START_TEST(test_user_page_walks_creation_order_with_next_until_the_end)
{
    char seen[512], next[STORE_CURSOR_LEN], cur[STORE_CURSOR_LEN];

    start(_i);
    add_user("u3@example.com", USERDB_ROLE_USER, "$h$3");
    add_user("u1@example.com", USERDB_ROLE_ADMIN, "$h$1");
    add_user("u5@example.com", USERDB_ROLE_USER, "$h$5");
    add_user("u2@example.com", USERDB_ROLE_USER, "$h$2");
    add_user("u4@example.com", USERDB_ROLE_USER, "$h$4");
    ck_assert_int_eq(page(NULL, "", 2, seen, next), 0);
    ck_assert_str_eq(seen, "u3@example.com u1@example.com(a) ");
    ck_assert_str_ne(next, "");
    ck_assert_ptr_null(strchr(next, ' '));
    snprintf(cur, sizeof(cur), "%s", next);
    ck_assert_int_eq(page(cur, "", 2, seen, next), 0);
    ck_assert_str_eq(seen, "u5@example.com u2@example.com ");
    snprintf(cur, sizeof(cur), "%s", next);
    ck_assert_int_eq(page(cur, "", 2, seen, next), 0);
    ck_assert_str_eq(seen, "u4@example.com ");
    ck_assert_str_eq(next, "");
    /* Exactly limit left: no next page. */
    ck_assert_int_eq(page(NULL, "", 5, seen, next), 0);
    ck_assert_str_eq(next, "");
    ck_assert_int_eq(page(NULL, "", 4, seen, next), 0);
    ck_assert_str_ne(next, "");
}
END_TEST

START_TEST(test_user_page_filters_by_prefix_escaping_wildcards)
{
    char seen[512], next[STORE_CURSOR_LEN], cur[STORE_CURSOR_LEN];

    start(_i);
    add_user("ann@example.com", USERDB_ROLE_USER, "$h$1");
    add_user("bob@example.com", USERDB_ROLE_USER, "$h$2");
    add_user("anna@example.com", USERDB_ROLE_USER, "$h$3");
    add_user("a_b@example.com", USERDB_ROLE_USER, "$h$4");
    add_user("axb@example.com", USERDB_ROLE_USER, "$h$5");
    add_user("a%b@example.com", USERDB_ROLE_USER, "$h$6");
    add_user("annie@example.com", USERDB_ROLE_USER, "$h$7");
    ck_assert_int_eq(page(NULL, "ann", 2, seen, next), 0);
    ck_assert_str_eq(seen, "ann@example.com anna@example.com ");
    snprintf(cur, sizeof(cur), "%s", next);
    ck_assert_int_eq(page(cur, "ann", 2, seen, next), 0);
    ck_assert_str_eq(seen, "annie@example.com ");
    ck_assert_str_eq(next, "");
    ck_assert_int_eq(page(NULL, "a_", 10, seen, next), 0);
    ck_assert_str_eq(seen, "a_b@example.com ");
    ck_assert_int_eq(page(NULL, "a%", 10, seen, next), 0);
    ck_assert_str_eq(seen, "a%b@example.com ");
    ck_assert_int_eq(page(NULL, "zed", 10, seen, next), 0);
    ck_assert_str_eq(seen, "");
    ck_assert_str_eq(next, "");
}
END_TEST

START_TEST(test_user_page_cursor_survives_adds_and_deletes)
{
    char seen[512], next[STORE_CURSOR_LEN], cur[STORE_CURSOR_LEN];

    start(_i);
    add_user("a@example.com", USERDB_ROLE_ADMIN, "$h$a");
    add_user("b@example.com", USERDB_ROLE_USER, "$h$b");
    add_user("c@example.com", USERDB_ROLE_USER, "$h$c");
    add_user("d@example.com", USERDB_ROLE_USER, "$h$d");
    add_user("e@example.com", USERDB_ROLE_USER, "$h$e");
    add_user("g@example.com", USERDB_ROLE_USER, "$h$g");
    ck_assert_int_eq(page(NULL, "", 2, seen, next), 0);
    ck_assert_str_eq(seen, "a@example.com(a) b@example.com ");
    snprintf(cur, sizeof(cur), "%s", next);
    /* The page's last user and one before it go; one comes. */
    ck_assert_int_eq(store_user_delete(st, "b@example.com", 0), 0);
    add_user("f@example.com", USERDB_ROLE_USER, "$h$f");
    ck_assert_int_eq(page(cur, "", 2, seen, next), 0);
    ck_assert_str_eq(seen, "c@example.com d@example.com ");
    snprintf(cur, sizeof(cur), "%s", next);
    /* The user that was next goes, and one before the page. */
    ck_assert_int_eq(store_user_delete(st, "e@example.com", 0), 0);
    ck_assert_int_eq(store_user_delete(st, "c@example.com", 0), 0);
    ck_assert_int_eq(page(cur, "", 2, seen, next), 0);
    ck_assert_str_eq(seen, "g@example.com f@example.com ");
    ck_assert_str_eq(next, "");
}
END_TEST

START_TEST(test_user_page_after_the_last_and_next_users_deleted)
{
    char seen[512], next[STORE_CURSOR_LEN], cur[STORE_CURSOR_LEN];

    start(_i);
    add_user("a@example.com", USERDB_ROLE_ADMIN, "$h$a");
    add_user("b@example.com", USERDB_ROLE_USER, "$h$b");
    add_user("c@example.com", USERDB_ROLE_USER, "$h$c");
    add_user("d@example.com", USERDB_ROLE_USER, "$h$d");
    ck_assert_int_eq(page(NULL, "", 2, seen, next), 0);
    snprintf(cur, sizeof(cur), "%s", next);
    ck_assert_int_eq(store_user_delete(st, "b@example.com", 0), 0);
    ck_assert_int_eq(store_user_delete(st, "c@example.com", 0), 0);
    /* Files keep no trace of where both were: the cursor is refused
     * rather than a user skipped.  PostgreSQL's seq still tells. */
    if (_i == FILE_STORE) {
        ck_assert_int_eq(page(cur, "", 2, seen, next), STORE_BAD_CURSOR);
    } else {
        ck_assert_int_eq(page(cur, "", 2, seen, next), 0);
        ck_assert_str_eq(seen, "d@example.com ");
    }
}
END_TEST

START_TEST(test_user_page_rejects_a_malformed_cursor_and_limit)
{
    char seen[512], next[STORE_CURSOR_LEN];

    start(_i);
    add_user("a@example.com", USERDB_ROLE_ADMIN, "$h$a");
    ck_assert_int_eq(page("garbage", "", 2, seen, next), STORE_BAD_CURSOR);
    ck_assert_int_eq(page("", "", 2, seen, next), STORE_BAD_CURSOR);
    errno = 0;
    ck_assert_int_eq(page(NULL, "", 0, seen, next), -1);
    ck_assert_int_eq(errno, EINVAL);
    ck_assert_int_eq(page(NULL, "", STORE_PAGE_MAX + 1, seen, next), -1);
    ck_assert_int_eq(page(NULL, "", STORE_PAGE_MAX, seen, next), 0);
    ck_assert_str_eq(seen, "a@example.com(a) ");
}
END_TEST

START_TEST(test_user_page_stops_when_fn_says_so)
{
    char next[STORE_CURSOR_LEN];
    int  calls = 0;

    start(_i);
    add_user("a@example.com", USERDB_ROLE_ADMIN, "$h$a");
    add_user("b@example.com", USERDB_ROLE_USER, "$h$b");
    add_user("c@example.com", USERDB_ROLE_USER, "$h$c");
    ck_assert_int_eq(store_user_page(st, NULL, "", 3, stop_at_second, &calls,
        next, sizeof(next)), 7);
    ck_assert_int_eq(calls, 2);
}
END_TEST

START_TEST(test_add_of_a_taken_email_is_exists)
{
    struct userdb_user u;

    start(_i);
    add_user("bob@example.com", USERDB_ROLE_USER, "$h$one");
    memset(&u, 0, sizeof(u));
    snprintf(u.email, sizeof(u.email), "bob@example.com");
    snprintf(u.hash, sizeof(u.hash), "$h$two");
    u.role = USERDB_ROLE_ADMIN;
    ck_assert_int_eq(store_user_add(st, &u), STORE_EXISTS);
    ck_assert_int_eq(store_user_find(st, "bob@example.com", &u), 0);
    ck_assert_str_eq(u.hash, "$h$one");
    ck_assert_int_eq(u.role, USERDB_ROLE_USER);
}
END_TEST

static void
fill(struct userdb_user *u, const char *email, int role)
{
    memset(u, 0, sizeof(*u));
    snprintf(u->email, sizeof(u->email), "%s", email);
    snprintf(u->hash, sizeof(u->hash), "$h$%s", email);
    u->role = role;
    u->created_at = 1600000000;
}

START_TEST(test_import_is_all_or_none)
{
    struct userdb_user v[3];
    char               err[256], seen[256] = "";
    size_t             n;

    start(_i);
    fill(&v[0], "x@example.com", USERDB_ROLE_USER);
    fill(&v[1], "y@example.com", USERDB_ROLE_ADMIN);
    ck_assert_int_eq(store_user_import(st, v, 2, err, sizeof(err)), 0);
    /* One taken: none is added. */
    fill(&v[0], "z@example.com", USERDB_ROLE_USER);
    fill(&v[1], "x@example.com", USERDB_ROLE_USER);
    ck_assert_int_eq(store_user_import(st, v, 2, err, sizeof(err)),
        STORE_EXISTS);
    ck_assert_int_eq(store_user_find(st, "z@example.com", NULL),
        STORE_NOT_FOUND);
    /* One given twice: none is added. */
    fill(&v[0], "w@example.com", USERDB_ROLE_USER);
    fill(&v[1], "v@example.com", USERDB_ROLE_USER);
    fill(&v[2], "w@example.com", USERDB_ROLE_USER);
    ck_assert_int_eq(store_user_import(st, v, 3, err, sizeof(err)),
        STORE_EXISTS);
    /* One invalid: none is added. */
    fill(&v[0], "u@example.com", USERDB_ROLE_USER);
    v[1].role = 9;
    errno = 0;
    ck_assert_int_eq(store_user_import(st, v, 2, err, sizeof(err)), -1);
    ck_assert_int_eq(errno, EINVAL);
    ck_assert_int_eq(store_user_count(st, 0, &n), 0);
    ck_assert_uint_eq(n, 2);
    ck_assert_int_eq(store_user_foreach(st, collect_user, seen), 0);
    ck_assert_str_eq(seen, "x@example.com y@example.com(a) ");
}
END_TEST

START_TEST(test_password_change_ends_other_sessions_but_keep_token)
{
    struct store_change  c = { 0 };
    struct store_changed out;
    char                 t1[64], t2[64], t3[64];
    size_t               n;

    start(_i);
    add_user("bob@example.com", USERDB_ROLE_USER, "$h$old");
    login("bob@example.com", "$h$old", t1);
    login("bob@example.com", "$h$old", t2);
    login("bob@example.com", "$h$old", t3);
    c.email = "bob@example.com";
    c.hash = "$h$new";
    c.keep_token = t2;
    ck_assert_int_eq(store_user_change(st, &c, &out), 0);
    ck_assert_int_eq(out.ended, 2);
    ck_assert_str_eq(out.user.email, "bob@example.com");
    ck_assert_str_eq(out.user.hash, "$h$new");
    ck_assert_int_eq(out.user.role, USERDB_ROLE_USER);
    ck_assert_int_eq(out.user.created_at, 1700000000);
    ck_assert_int_eq(lookup(t1), STORE_NOT_FOUND);
    ck_assert_int_eq(lookup(t2), 0);
    ck_assert_int_eq(lookup(t3), STORE_NOT_FOUND);
    ck_assert_int_eq(store_session_count(st, &n), 0);
    ck_assert_uint_eq(n, 1);
    /* Without a session to keep, all end. */
    c.hash = "$h$newer";
    c.keep_token = NULL;
    ck_assert_int_eq(store_user_change(st, &c, NULL), 0);
    ck_assert_int_eq(lookup(t2), STORE_NOT_FOUND);
}
END_TEST

START_TEST(test_change_with_another_expected_hash_is_changed)
{
    struct store_change c = { 0 };
    struct userdb_user  u;

    start(_i);
    add_user("bob@example.com", USERDB_ROLE_USER, "$h$now");
    c.email = "bob@example.com";
    c.hash = "$h$next";
    c.expect = "$h$before";
    ck_assert_int_eq(store_user_change(st, &c, NULL), STORE_CHANGED);
    ck_assert_int_eq(store_user_find(st, "bob@example.com", &u), 0);
    ck_assert_str_eq(u.hash, "$h$now");
    c.expect = "$h$now";
    ck_assert_int_eq(store_user_change(st, &c, NULL), 0);
    ck_assert_int_eq(store_user_find(st, "bob@example.com", &u), 0);
    ck_assert_str_eq(u.hash, "$h$next");
    c.email = "nobody@example.com";
    c.expect = NULL;
    ck_assert_int_eq(store_user_change(st, &c, NULL), STORE_NOT_FOUND);
}
END_TEST

static int
roles_of(const struct session_info *s, void *arg)
{
    char *out = arg;

    snprintf(out + strlen(out), 64, "%d", s->role);
    return 0;
}

START_TEST(test_role_change_gives_sessions_the_new_role)
{
    struct store_change  c = { 0 };
    struct store_changed out;
    struct session_info  s;
    char                 t1[64], t2[64], roles[64] = "";

    start(_i);
    add_user("bob@example.com", USERDB_ROLE_USER, "$h$b");
    login("bob@example.com", "$h$b", t1);
    login("bob@example.com", "$h$b", t2);
    c.email = "bob@example.com";
    c.role = USERDB_ROLE_ADMIN;
    ck_assert_int_eq(store_user_change(st, &c, &out), 0);
    ck_assert_int_eq(out.ended, 0);
    ck_assert_int_eq(out.user.role, USERDB_ROLE_ADMIN);
    ck_assert_str_eq(out.user.hash, "$h$b");
    ck_assert_int_eq(store_session_lookup(st, t1, strlen(t1), &s), 0);
    ck_assert_int_eq(s.role, USERDB_ROLE_ADMIN);
    ck_assert_int_eq(store_session_foreach(st, "bob@example.com", roles_of,
        roles), 0);
    ck_assert_str_eq(roles, "11");
}
END_TEST

START_TEST(test_last_admin_cannot_be_deleted_or_demoted)
{
    struct store_change c = { 0 };
    size_t              n;

    start(_i);
    add_user("root@example.com", USERDB_ROLE_ADMIN, "$h$r");
    add_user("bob@example.com", USERDB_ROLE_USER, "$h$b");
    ck_assert_int_eq(store_user_delete(st, "root@example.com",
        STORE_KEEP_ADMIN), STORE_LAST_ADMIN);
    c.email = "root@example.com";
    c.role = USERDB_ROLE_USER;
    c.flags = STORE_KEEP_ADMIN;
    ck_assert_int_eq(store_user_change(st, &c, NULL), STORE_LAST_ADMIN);
    ck_assert_int_eq(store_user_count(st, USERDB_ROLE_ADMIN, &n), 0);
    ck_assert_uint_eq(n, 1);
    /* With a second admin, the first may go. */
    c.email = "bob@example.com";
    c.role = USERDB_ROLE_ADMIN;
    ck_assert_int_eq(store_user_change(st, &c, NULL), 0);
    c.email = "root@example.com";
    c.role = USERDB_ROLE_USER;
    ck_assert_int_eq(store_user_change(st, &c, NULL), 0);
    ck_assert_int_eq(store_user_delete(st, "bob@example.com",
        STORE_KEEP_ADMIN), STORE_LAST_ADMIN);
    ck_assert_int_eq(store_user_delete(st, "root@example.com",
        STORE_KEEP_ADMIN), 0);
    ck_assert_int_eq(store_user_count(st, 0, &n), 0);
    ck_assert_uint_eq(n, 1);
}
END_TEST

START_TEST(test_delete_ends_the_users_sessions)
{
    char   t1[64], t2[64], t3[64];
    size_t n;

    start(_i);
    add_user("bob@example.com", USERDB_ROLE_USER, "$h$b");
    add_user("eve@example.com", USERDB_ROLE_USER, "$h$e");
    login("bob@example.com", "$h$b", t1);
    login("bob@example.com", "$h$b", t2);
    login("eve@example.com", "$h$e", t3);
    ck_assert_int_eq(store_user_delete(st, "bob@example.com", 0), 0);
    ck_assert_int_eq(lookup(t1), STORE_NOT_FOUND);
    ck_assert_int_eq(lookup(t2), STORE_NOT_FOUND);
    ck_assert_int_eq(lookup(t3), 0);
    ck_assert_int_eq(store_session_count(st, &n), 0);
    ck_assert_uint_eq(n, 1);
    ck_assert_int_eq(store_user_find(st, "bob@example.com", NULL),
        STORE_NOT_FOUND);
    ck_assert_int_eq(store_user_delete(st, "bob@example.com", 0),
        STORE_NOT_FOUND);
}
END_TEST

START_TEST(test_first_admin_is_made_once)
{
    struct userdb_user u;
    size_t             n;

    start(_i);
    ck_assert_int_eq(store_first_admin(st, "$h$first", 1234567890), 1);
    ck_assert_int_eq(store_first_admin(st, "$h$second", 1234567891), 0);
    ck_assert_int_eq(store_user_find(st, "admin@localhost", &u), 0);
    ck_assert_int_eq(u.role, USERDB_ROLE_ADMIN);
    ck_assert_int_eq(u.created_at, 1234567890);
    ck_assert_str_eq(u.hash, "$h$first");
    ck_assert_int_eq(store_user_count(st, 0, &n), 0);
    ck_assert_uint_eq(n, 1);
}
END_TEST

/* ---- sessions (both stores) ------------------------------------------- */

START_TEST(test_login_against_a_replaced_hash_is_changed)
{
    struct store_change c = { 0 };
    struct store_login  lg;
    size_t              n;

    start(_i);
    add_user("bob@example.com", USERDB_ROLE_USER, "$h$old");
    c.email = "bob@example.com";
    c.hash = "$h$new";
    ck_assert_int_eq(store_user_change(st, &c, NULL), 0);
    ck_assert_int_eq(store_session_login(st, "bob@example.com", "$h$old",
        "192.0.2.1", &lg), STORE_CHANGED);
    ck_assert_int_eq(store_session_login(st, "nobody@example.com", "$h$old",
        "192.0.2.1", &lg), STORE_CHANGED);
    ck_assert_int_eq(store_session_count(st, &n), 0);
    ck_assert_uint_eq(n, 0);
}
END_TEST

START_TEST(test_login_makes_a_session_for_the_record_as_it_is)
{
    struct store_login  lg;
    struct session_info s;
    time_t              before, after;

    start(_i);
    add_user("bob@example.com", USERDB_ROLE_ADMIN, "$h$b");
    before = time(NULL);
    ck_assert_int_eq(store_session_login(st, "bob@example.com", "$h$b",
        "2001:db8::1", &lg), 0);
    after = time(NULL);
    ck_assert_str_eq(lg.user.email, "bob@example.com");
    ck_assert_int_eq(lg.user.role, USERDB_ROLE_ADMIN);
    ck_assert_int_eq(lg.user.created_at, 1700000000);
    ck_assert_str_eq(lg.user.hash, "");
    ck_assert_int_ge(lg.expires_at, before + 3600);
    ck_assert_int_le(lg.expires_at, after + 3600);
    ck_assert_int_eq(store_session_lookup(st, lg.token, strlen(lg.token), &s),
        0);
    ck_assert_str_eq(s.email, "bob@example.com");
    ck_assert_str_eq(s.addr, "2001:db8::1");
    ck_assert_str_eq(s.id, "");
    ck_assert_int_eq(s.role, USERDB_ROLE_ADMIN);
    ck_assert_int_ge(s.created_at, before);
    ck_assert_int_le(s.created_at, after);
    ck_assert_int_eq(s.expires_at, s.last_used + 3600);
    ck_assert_int_eq(store_session_lookup(st, "not-a-token", 11, &s),
        STORE_NOT_FOUND);
}
END_TEST

START_TEST(test_per_user_cap_ends_that_users_oldest_session)
{
    char   t1[64], t2[64], t3[64];
    size_t n;

    set_defaults();
    cfg.max_sessions_per_user = 2;
    open_store(_i);
    add_user("bob@example.com", USERDB_ROLE_USER, "$h$b");
    login("bob@example.com", "$h$b", t1);
    login("bob@example.com", "$h$b", t2);
    login("bob@example.com", "$h$b", t3);
    ck_assert_int_eq(lookup(t1), STORE_NOT_FOUND);
    ck_assert_int_eq(lookup(t2), 0);
    ck_assert_int_eq(lookup(t3), 0);
    ck_assert_int_eq(store_session_count(st, &n), 0);
    ck_assert_uint_eq(n, 2);
}
END_TEST

START_TEST(test_full_store_refuses_a_login_but_not_a_users_own_replacement)
{
    struct store_login lg;
    char               ta[64], tb[64], ta2[64];
    size_t             n;

    set_defaults();
    cfg.max_sessions = 2;
    cfg.max_sessions_per_user = 1;
    open_store(_i);
    add_user("a@example.com", USERDB_ROLE_USER, "$h$a");
    add_user("b@example.com", USERDB_ROLE_USER, "$h$b");
    add_user("c@example.com", USERDB_ROLE_USER, "$h$c");
    login("a@example.com", "$h$a", ta);
    login("b@example.com", "$h$b", tb);
    ck_assert_int_eq(store_session_login(st, "c@example.com", "$h$c",
        "192.0.2.1", &lg), STORE_FULL);
    /* a's new session replaces a's old one. */
    login("a@example.com", "$h$a", ta2);
    ck_assert_int_eq(lookup(ta), STORE_NOT_FOUND);
    ck_assert_int_eq(lookup(ta2), 0);
    ck_assert_int_eq(lookup(tb), 0);
    ck_assert_int_eq(store_session_count(st, &n), 0);
    ck_assert_uint_eq(n, 2);
}
END_TEST

static int
ids_of(const struct session_info *s, void *arg)
{
    char *out = arg;

    snprintf(out + strlen(out), 128, "%.60s/%.32s ", s->email, s->id);
    return 0;
}

START_TEST(test_sessions_are_listed_and_revoked_by_token_id_and_user)
{
    char   ta[64], tb1[64], tb2[64], tb3[64], id[SESSION_ID_LEN + 1];
    char   seen[512] = "", want[512], upper[SESSION_ID_LEN + 1];
    size_t n, i;

    start(_i);
    add_user("a@example.com", USERDB_ROLE_USER, "$h$a");
    add_user("b@example.com", USERDB_ROLE_USER, "$h$b");
    login("b@example.com", "$h$b", tb1);
    login("a@example.com", "$h$a", ta);
    login("b@example.com", "$h$b", tb2);
    login("b@example.com", "$h$b", tb3);
    ck_assert_int_eq(store_session_foreach(st, "b@example.com", ids_of, seen),
        0);
    want[0] = '\0';
    session_token_id(tb1, strlen(tb1), id);
    snprintf(want + strlen(want), 128, "b@example.com/%s ", id);
    session_token_id(tb2, strlen(tb2), id);
    snprintf(want + strlen(want), 128, "b@example.com/%s ", id);
    session_token_id(tb3, strlen(tb3), id);
    snprintf(want + strlen(want), 128, "b@example.com/%s ", id);
    ck_assert_str_eq(seen, want);
    ck_assert_int_eq(store_session_count(st, &n), 0);
    ck_assert_uint_eq(n, 4);
    /* By id, in either case; another user's id is not found. */
    session_token_id(tb2, strlen(tb2), id);
    for (i = 0; i <= SESSION_ID_LEN; i++)
        upper[i] = (char)toupper((unsigned char)id[i]);
    ck_assert_int_eq(store_session_revoke_id(st, "a@example.com", id),
        STORE_NOT_FOUND);
    ck_assert_int_eq(store_session_revoke_id(st, "b@example.com", upper), 0);
    ck_assert_int_eq(store_session_revoke_id(st, "b@example.com", id),
        STORE_NOT_FOUND);
    ck_assert_int_eq(lookup(tb2), STORE_NOT_FOUND);
    /* By token (logout). */
    ck_assert_int_eq(store_session_revoke(st, ta, strlen(ta)), 0);
    ck_assert_int_eq(store_session_revoke(st, ta, strlen(ta)),
        STORE_NOT_FOUND);
    /* All of a user's but one. */
    ck_assert_int_eq(store_session_revoke_user(st, "b@example.com", tb3), 1);
    ck_assert_int_eq(lookup(tb1), STORE_NOT_FOUND);
    ck_assert_int_eq(lookup(tb3), 0);
    ck_assert_int_eq(store_session_revoke_user(st, "b@example.com", NULL), 1);
    ck_assert_int_eq(store_session_count(st, &n), 0);
    ck_assert_uint_eq(n, 0);
}
END_TEST

START_TEST(test_expired_sessions_are_gone_and_swept)
{
    char   t1[64];
    size_t n;

    set_defaults();
    cfg.session_ttl = 1;
    open_store(_i);
    add_user("a@example.com", USERDB_ROLE_USER, "$h$a");
    login("a@example.com", "$h$a", t1);
    ck_assert_int_eq(store_session_count(st, &n), 0);
    ck_assert_uint_eq(n, 1);
    usleep(2100 * 1000);
    ck_assert_int_eq(lookup(t1), STORE_NOT_FOUND);
    ck_assert_int_eq(store_session_count(st, &n), 0);
    ck_assert_uint_eq(n, 0);
    /* The file store ends them as it meets them; PostgreSQL sweeps. */
    ck_assert_int_eq(store_sweep(st, 100), _i == PG_STORE ? 1 : 0);
    ck_assert_int_eq(store_sweep(st, 100), 0);
}
END_TEST

START_TEST(test_pg_sweep_takes_at_most_max_and_stale_login_counts)
{
    char   t[64];
    size_t n;
    int    i;

    set_defaults();
    cfg.session_ttl = 1;
    cfg.max_sessions_per_user = 10;
    cfg.login_window = 1;
    cfg.registration_window = 1;
    open_store(PG_STORE);
    add_user("a@example.com", USERDB_ROLE_USER, "$h$a");
    for (i = 0; i < 3; i++)
        login("a@example.com", "$h$a", t);
    /* An account, an address, their pair and a registration. */
    ck_assert_int_eq(store_login_begin(st, "a@example.com", "10.0.3.1"), 0);
    ck_assert_int_eq(store_register(st, "10.0.3.2"), 0);
    usleep(2100 * 1000);
    ck_assert_int_eq(store_session_count(st, &n), 0);
    ck_assert_uint_eq(n, 0);
    /* At most max of each kind. */
    ck_assert_int_eq(store_sweep(st, 2), 2 + 4);
    ck_assert_int_eq(store_sweep(st, 2), 1);
    ck_assert_int_eq(store_sweep(st, 2), 0);
}
END_TEST

/* ---- login throttle (both stores) --------------------------------------- */

START_TEST(test_address_is_locked_out_after_max_failures)
{
    struct throttle_lockout *v;
    size_t                   n;

    start(_i);
    ck_assert_int_eq(store_login_begin(st, "a@example.com", "10.0.0.1"), 0);
    ck_assert_int_eq(store_login_end(st, "a@example.com", "10.0.0.1", 0), 0);
    ck_assert_int_eq(store_login_begin(st, "a@example.com", "10.0.0.1"), 0);
    ck_assert_int_eq(store_login_end(st, "a@example.com", "10.0.0.1", 0), 0);
    ck_assert_int_eq(store_login_begin(st, "a@example.com", "10.0.0.1"), 0);
    ck_assert_int_eq(store_login_end(st, "a@example.com", "10.0.0.1", 0),
        THROTTLE_LOCKED_ADDRESS);
    ck_assert_int_eq(store_login_end(st, "a@example.com", "10.0.0.1", 0), 0);
    errno = 0;
    ck_assert_int_eq(store_login_begin(st, "b@example.com", "10.0.0.1"), 300);
    ck_assert_int_eq(errno, EAGAIN);
    ck_assert_int_eq(store_login_begin(st, "b@example.com", "10.0.0.2"), 0);
    ck_assert_int_eq(store_lockouts(st, &v, &n), 0);
    ck_assert_uint_eq(n, 1);
    ck_assert_int_eq(v[0].kind, THROTTLE_ADDRESS);
    ck_assert_str_eq(v[0].key, "10.0.0.1");
    ck_assert_int_eq(v[0].failures, 3);
    ck_assert_int_eq(v[0].retry_after, 300);
    free(v);
    ck_assert_int_eq(store_unlock(st, "10.0.0.1"), 1);
    ck_assert_int_eq(store_unlock(st, "10.0.0.1"), 0);
    ck_assert_int_eq(store_login_begin(st, "a@example.com", "10.0.0.1"), 0);
    ck_assert_int_eq(store_lockouts(st, &v, &n), 0);
    ck_assert_uint_eq(n, 0);
    free(v);
}
END_TEST

START_TEST(test_right_password_gives_the_addresses_charge_back)
{
    start(_i);
    ck_assert_int_eq(store_login_begin(st, "a@example.com", "10.0.0.1"), 0);
    ck_assert_int_eq(store_login_end(st, "a@example.com", "10.0.0.1", 0), 0);
    ck_assert_int_eq(store_login_begin(st, "a@example.com", "10.0.0.1"), 0);
    ck_assert_int_eq(store_login_end(st, "a@example.com", "10.0.0.1", 1), 0);
    /* One failure counted: two more before the lockout. */
    ck_assert_int_eq(store_login_begin(st, "a@example.com", "10.0.0.1"), 0);
    ck_assert_int_eq(store_login_end(st, "a@example.com", "10.0.0.1", 0), 0);
    ck_assert_int_eq(store_login_begin(st, "a@example.com", "10.0.0.1"), 0);
    ck_assert_int_eq(store_login_end(st, "a@example.com", "10.0.0.1", 0),
        THROTTLE_LOCKED_ADDRESS);
    ck_assert_int_eq(store_login_begin(st, "a@example.com", "10.0.0.1"), 300);
}
END_TEST

/* n failed attempts on email from addr, each admitted. */
static void
fail_n(const char *email, const char *addr, int n)
{
    while (n-- > 0) {
        ck_assert_int_eq(store_login_begin(st, email, addr), 0);
        store_login_end(st, email, addr, 0);
    }
}

START_TEST(test_account_is_slowed_down_from_all_addresses)
{
    struct throttle_lockout *v;
    size_t                   n;

    start(_i);
    fail_n("a@example.com", "10.0.1.1", 3);   /* the address's 3 count */
    ck_assert_int_eq(store_login_begin(st, "a@example.com", "10.0.1.2"), 0);
    ck_assert_int_eq(store_login_end(st, "a@example.com", "10.0.1.2", 0), 0);
    /* The 5th reaches the account's limit: the next waits 2^0 s. */
    ck_assert_int_eq(store_login_begin(st, "a@example.com", "10.0.1.2"), 0);
    ck_assert_int_eq(store_login_end(st, "a@example.com", "10.0.1.2", 0),
        THROTTLE_SLOWED_ACCOUNT);
    errno = 0;
    ck_assert_int_eq(store_login_begin(st, "a@example.com", "10.0.1.3"), 1);
    ck_assert_int_eq(errno, EAGAIN);
    ck_assert_int_eq(store_lockouts(st, &v, &n), 0);
    ck_assert_uint_eq(n, 2);
    ck_assert_int_eq(v[0].kind, THROTTLE_ACCOUNT);
    ck_assert_str_eq(v[0].key, "a@example.com");
    ck_assert_int_eq(v[0].failures, 5);
    ck_assert_int_eq(v[0].retry_after, 1);
    ck_assert_int_eq(v[1].kind, THROTTLE_ADDRESS);
    ck_assert_str_eq(v[1].key, "10.0.1.1");
    ck_assert_int_eq(v[1].failures, 3);
    ck_assert_int_eq(v[1].retry_after, 300);
    free(v);
    /* Lifted by its key in any case. */
    ck_assert_int_eq(store_unlock(st, "A@Example.COM"), 1);
    ck_assert_int_eq(store_login_begin(st, "a@example.com", "10.0.1.3"), 0);
    ck_assert_int_eq(store_login_end(st, "a@example.com", "10.0.1.3", 1), 0);
    ck_assert_int_eq(store_lockouts(st, &v, &n), 0);
    ck_assert_uint_eq(n, 1);
    ck_assert_str_eq(v[0].key, "10.0.1.1");
    free(v);
}
END_TEST

START_TEST(test_registrations_are_limited_per_address)
{
    start(_i);
    ck_assert_int_eq(store_register(st, "10.0.2.1"), 0);
    ck_assert_int_eq(store_register(st, "10.0.2.1"), 0);
    errno = 0;
    ck_assert_int_eq(store_register(st, "10.0.2.1"), 3600);
    ck_assert_int_eq(errno, EAGAIN);
    ck_assert_int_eq(store_register(st, "10.0.2.2"), 0);
}
END_TEST

/* ---- PostgreSQL: hosts at once ---------------------------------------- */

struct racer {
    struct store      *st;
    pthread_barrier_t *go;
    int                what;
    int                rc;
};

static struct store *
pg_handle(void)
{
    char          err[STORE_ERR_LEN];
    struct store *h = store_open(&cfg, 0, err, sizeof(err));

    ck_assert_msg(h != NULL, "store_open: %s", err);
    return h;
}

static void *
race_add(void *arg)
{
    struct racer      *r = arg;
    struct userdb_user u;

    fill(&u, "same@example.com", USERDB_ROLE_USER);
    pthread_barrier_wait(r->go);
    r->rc = store_user_add(r->st, &u);
    return NULL;
}

static void *
race_demote(void *arg)
{
    struct racer       *r = arg;
    struct store_change c = { 0 };

    c.email = r->what == 0 ? "a1@example.com" : "a2@example.com";
    c.role = USERDB_ROLE_USER;
    c.flags = STORE_KEEP_ADMIN;
    pthread_barrier_wait(r->go);
    if (r->what == 2)
        r->rc = store_user_delete(r->st, "a2@example.com", STORE_KEEP_ADMIN);
    else
        r->rc = store_user_change(r->st, &c, NULL);
    return NULL;
}

static void *
race_first(void *arg)
{
    struct racer *r = arg;

    pthread_barrier_wait(r->go);
    r->rc = store_first_admin(r->st, "$h$first", 1700000000);
    return NULL;
}

/* n handles run fn at once; counts[rc + 1] how many answered rc. */
static void
race(int n, void *(*fn)(void *), int whats, int counts[8])
{
    struct racer      r[NRACE];
    pthread_t         th[NRACE];
    pthread_barrier_t go;
    int               i;

    pthread_barrier_init(&go, NULL, (unsigned)n);
    for (i = 0; i < n; i++) {
        r[i].st = pg_handle();
        r[i].go = &go;
        r[i].what = whats != 0 ? i % whats : 0;
        r[i].rc = -9;
    }
    for (i = 0; i < n; i++)
        ck_assert_int_eq(pthread_create(&th[i], NULL, fn, &r[i]), 0);
    memset(counts, 0, 8 * sizeof(int));
    for (i = 0; i < n; i++) {
        pthread_join(th[i], NULL);
        ck_assert_msg(r[i].rc >= -1 && r[i].rc <= 6, "rc %d", r[i].rc);
        if (r[i].rc == -1)
            ck_abort_msg("racer %d: %s", i, store_errmsg(r[i].st));
        counts[r[i].rc + 1]++;
        store_close(r[i].st);
    }
    pthread_barrier_destroy(&go);
}

START_TEST(test_pg_16_hosts_adding_one_email_exactly_one_wins)
{
    int    counts[8];
    size_t n;

    start(PG_STORE);
    race(NRACE, race_add, 0, counts);
    ck_assert_int_eq(counts[0 + 1], 1);
    ck_assert_int_eq(counts[STORE_EXISTS + 1], NRACE - 1);
    ck_assert_int_eq(store_user_count(st, 0, &n), 0);
    ck_assert_uint_eq(n, 1);
}
END_TEST

START_TEST(test_pg_two_hosts_taking_the_last_two_admins_one_wins)
{
    struct store_change c = { 0 };
    int                 counts[8], round;
    size_t              n;

    start(PG_STORE);
    add_user("a1@example.com", USERDB_ROLE_ADMIN, "$h$1");
    add_user("a2@example.com", USERDB_ROLE_ADMIN, "$h$2");
    add_user("u@example.com", USERDB_ROLE_USER, "$h$u");
    for (round = 0; round < 10; round++) {
        race(2, race_demote, 2, counts);    /* one demotes a1, one a2 */
        ck_assert_int_eq(counts[0 + 1], 1);
        ck_assert_int_eq(counts[STORE_LAST_ADMIN + 1], 1);
        ck_assert_int_eq(store_user_count(st, USERDB_ROLE_ADMIN, &n), 0);
        ck_assert_uint_eq(n, 1);
        c.role = USERDB_ROLE_ADMIN;
        c.email = "a1@example.com";
        ck_assert_int_eq(store_user_change(st, &c, NULL), 0);
        c.email = "a2@example.com";
        ck_assert_int_eq(store_user_change(st, &c, NULL), 0);
    }
}
END_TEST

START_TEST(test_pg_host_deleting_and_host_demoting_the_last_two_admins)
{
    struct racer        r[2];
    pthread_t           th[2];
    pthread_barrier_t   go;
    struct userdb_user  u;
    int                 round, i, ok, last;
    size_t              n;

    start(PG_STORE);
    for (round = 0; round < 10; round++) {
        if (store_user_find(st, "a1@example.com", NULL) == STORE_NOT_FOUND)
            add_user("a1@example.com", USERDB_ROLE_ADMIN, "$h$1");
        if (store_user_find(st, "a2@example.com", NULL) == STORE_NOT_FOUND)
            add_user("a2@example.com", USERDB_ROLE_ADMIN, "$h$2");
        pthread_barrier_init(&go, NULL, 2);
        for (i = 0; i < 2; i++) {
            r[i].st = pg_handle();
            r[i].go = &go;
            r[i].what = i == 0 ? 0 : 2;   /* demote a1, delete a2 */
            ck_assert_int_eq(pthread_create(&th[i], NULL, race_demote,
                &r[i]), 0);
        }
        for (ok = last = i = 0; i < 2; i++) {
            pthread_join(th[i], NULL);
            ok += r[i].rc == 0;
            last += r[i].rc == STORE_LAST_ADMIN;
            store_close(r[i].st);
        }
        pthread_barrier_destroy(&go);
        ck_assert_int_eq(ok, 1);
        ck_assert_int_eq(last, 1);
        ck_assert_int_eq(store_user_count(st, USERDB_ROLE_ADMIN, &n), 0);
        ck_assert_uint_eq(n, 1);
        /* Back to two admins. */
        if (store_user_find(st, "a1@example.com", &u) == 0 &&
            u.role == USERDB_ROLE_USER) {
            struct store_change c = { .email = "a1@example.com",
                .role = USERDB_ROLE_ADMIN };
            ck_assert_int_eq(store_user_change(st, &c, NULL), 0);
        }
    }
}
END_TEST

START_TEST(test_pg_8_hosts_starting_at_once_make_one_first_admin)
{
    int    counts[8];
    size_t n;

    start(PG_STORE);
    race(NFIRST, race_first, 0, counts);
    ck_assert_int_eq(counts[1 + 1], 1);
    ck_assert_int_eq(counts[0 + 1], NFIRST - 1);
    ck_assert_int_eq(store_user_count(st, 0, &n), 0);
    ck_assert_uint_eq(n, 1);
}
END_TEST

/* ---- PostgreSQL: connections ------------------------------------------- */

/* cfg on dbname over TCP as a role with a password, in a file. */
static void
password_role(const char *password_in_file)
{
    char  path[128];
    FILE *f;

    ck_assert_int_eq(sh("%s sql %s postgres \"DO \\$\\$ BEGIN "
        "IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'pwuser') THEN "
        "CREATE ROLE pwuser LOGIN PASSWORD '%s'; END IF; END \\$\\$\" "
        ">/dev/null", pgtest, pg_dir, PASSWORD), 0);
    ck_assert_int_eq(sh("%s sql %s postgres 'ALTER DATABASE %s OWNER TO "
        "pwuser' >/dev/null", pgtest, pg_dir, dbname), 0);
    snprintf(path, sizeof(path), "%s/pw.%ld", pg_dir, (long)getpid());
    ck_assert_ptr_nonnull(f = fopen(path, "w"));
    fprintf(f, "%s\n", password_in_file);
    fclose(f);
    snprintf(cfg.database_password_file, sizeof(cfg.database_password_file),
        "%s", path);
    snprintf(cfg.database_url, sizeof(cfg.database_url),
        "postgresql://pwuser@127.0.0.1:%d/%s", pg_port, dbname);
}

START_TEST(test_pg_wrong_password_is_eacces_and_never_shown)
{
    char          err[STORE_ERR_LEN] = "";
    struct store *h;

    set_defaults();
    new_database();
    password_role("Wrong-" PASSWORD);
    errno = 0;
    h = store_open(&cfg, 0, err, sizeof(err));
    ck_assert_ptr_null(h);
    ck_assert_int_eq(errno, EACCES);
    ck_assert_msg(strstr(err, "password authentication failed") != NULL,
        "%s", err);
    ck_assert_msg(strstr(err, PASSWORD) == NULL, "%s", err);
    ck_assert_msg(strstr(err, "Wrong-") == NULL, "%s", err);
    /* The right one, with its newline, opens it. */
    password_role(PASSWORD);
    ck_assert_msg(store_pg_init(&cfg, err, sizeof(err)) == 0, "%s", err);
    ck_assert_ptr_nonnull(st = store_open(&cfg, 0, err, sizeof(err)));
}
END_TEST

START_TEST(test_pg_stopped_server_fails_and_the_next_call_after_start_works)
{
    char   err[STORE_ERR_LEN] = "", want[256];
    size_t n;
    int    e;

    set_defaults();
    new_database();
    password_role(PASSWORD);
    ck_assert_msg(store_pg_init(&cfg, err, sizeof(err)) == 0, "%s", err);
    ck_assert_ptr_nonnull(st = store_open(&cfg, 0, err, sizeof(err)));
    add_user("a@example.com", USERDB_ROLE_USER, "$h$a");
    ck_assert_int_eq(sh("%s stop %s", pgtest, pg_dir), 0);
    errno = 0;
    ck_assert_int_eq(store_user_count(st, 0, &n), -1);
    e = errno;
    ck_assert_msg(e == ECONNREFUSED || e == ENOTCONN, "errno %d", e);
    ck_assert_msg(store_errmsg(st)[0] != '\0', "no message");
    ck_assert_msg(strstr(store_errmsg(st), PASSWORD) == NULL, "%s",
        store_errmsg(st));
    errno = 0;
    ck_assert_int_eq(store_user_find(st, "a@example.com", NULL), -1);
    ck_assert_int_eq(errno, ECONNREFUSED);
    snprintf(want, sizeof(want), "database: find: connection to server at "
        "\"127.0.0.1\", port %d failed: Connection refused", pg_port);
    ck_assert_str_eq(store_errmsg(st), want);
    ck_assert_msg(strstr(store_errmsg(st), PASSWORD) == NULL, "%s",
        store_errmsg(st));
    ck_assert_int_eq(sh("%s start %s >/dev/null", pgtest, pg_dir), 0);
    ck_assert_int_eq(store_user_count(st, 0, &n), 0);
    ck_assert_uint_eq(n, 1);
}
END_TEST

START_TEST(test_pg_next_call_after_a_restart_works)
{
    size_t n;

    start(PG_STORE);
    add_user("a@example.com", USERDB_ROLE_USER, "$h$a");
    ck_assert_int_eq(sh("%s restart %s", pgtest, pg_dir), 0);
    ck_assert_msg(store_user_count(st, 0, &n) == 0, "%s", store_errmsg(st));
    ck_assert_uint_eq(n, 1);
}
END_TEST

START_TEST(test_pg_missing_or_old_schema_is_eproto_saying_what_to_run)
{
    char          err[STORE_ERR_LEN] = "";
    struct store *h;

    set_defaults();
    new_database();
    errno = 0;
    h = store_open(&cfg, 0, err, sizeof(err));
    ck_assert_ptr_null(h);
    ck_assert_int_eq(errno, EPROTO);
    ck_assert_str_eq(err, "database schema missing or old: run userapictl "
        "db init");
    ck_assert_int_eq(store_pg_init(&cfg, err, sizeof(err)), 0);
    ck_assert_int_eq(sh("%s sql %s %s 'UPDATE userapid.schema_version SET "
        "version = 0' >/dev/null", pgtest, pg_dir, dbname), 0);
    err[0] = '\0';
    errno = 0;
    ck_assert_ptr_null(store_open(&cfg, 0, err, sizeof(err)));
    ck_assert_int_eq(errno, EPROTO);
    ck_assert_str_eq(err, "database schema missing or old: run userapictl "
        "db init");
    /* init brings it up to date. */
    ck_assert_int_eq(store_pg_init(&cfg, err, sizeof(err)), 0);
    ck_assert_ptr_nonnull(st = store_open(&cfg, 0, err, sizeof(err)));
}
END_TEST

static void *
init_thread(void *arg)
{
    char err[STORE_ERR_LEN];

    *(int *)arg = store_pg_init(&cfg, err, sizeof(err));
    return NULL;
}

START_TEST(test_pg_init_twice_and_from_two_hosts_at_once_is_fine)
{
    char      err[STORE_ERR_LEN] = "";
    pthread_t th[2];
    int       rc[2] = { -9, -9 };
    size_t    n;

    set_defaults();
    new_database();
    ck_assert_int_eq(pthread_create(&th[0], NULL, init_thread, &rc[0]), 0);
    ck_assert_int_eq(pthread_create(&th[1], NULL, init_thread, &rc[1]), 0);
    pthread_join(th[0], NULL);
    pthread_join(th[1], NULL);
    ck_assert_int_eq(rc[0], 0);
    ck_assert_int_eq(rc[1], 0);
    ck_assert_ptr_nonnull(st = store_open(&cfg, 0, err, sizeof(err)));
    add_user("a@example.com", USERDB_ROLE_USER, "$h$a");
    ck_assert_msg(store_pg_init(&cfg, err, sizeof(err)) == 0, "%s", err);
    ck_assert_int_eq(store_user_count(st, 0, &n), 0);
    ck_assert_uint_eq(n, 1);
}
END_TEST

START_TEST(test_pg_sync_session_settings_and_statement_timeout_is_etimedout)
{
    char        err[256] = "";
    struct pgx *x;
    PGresult   *r;

    set_defaults();
    new_database();
    x = pgx_sync_open(cfg.database_url, NULL, 1, err, sizeof(err));
    ck_assert_msg(x != NULL, "%s", err);
    ck_assert_ptr_nonnull(r = x->exec(x, "SELECT current_setting("
        "'statement_timeout'), current_setting('application_name'), "
        "current_setting('default_transaction_isolation')", 0, NULL));
    ck_assert_str_eq(PQgetvalue(r, 0, 0), "1s");
    ck_assert_str_eq(PQgetvalue(r, 0, 1), "userapid");
    ck_assert_str_eq(PQgetvalue(r, 0, 2), "read committed");
    PQclear(r);
    errno = 0;
    r = x->exec(x, "SELECT pg_sleep(3)", 0, NULL);
    ck_assert_ptr_null(r);
    ck_assert_int_eq(errno, ETIMEDOUT);
    ck_assert_str_eq(x->sqlstate, "57014");
    /* The connection goes on. */
    ck_assert_ptr_nonnull(r = x->exec(x, "SELECT 1", 0, NULL));
    ck_assert_str_eq(PQgetvalue(r, 0, 0), "1");
    PQclear(r);
    x->close(x);
}
END_TEST

static void
note(void *arg, const char *channel, const char *payload)
{
    char *out = arg;

    snprintf(out + strlen(out), 256, "%s %s;", channel, payload);
}

START_TEST(test_pg_changes_and_revocations_are_notified)
{
    char        err[256] = "", seen[1024] = "", want[1024], t1[64];
    char        hash[2 * CRYPTO_SHA256_LEN + 1];
    uint8_t     d[CRYPTO_SHA256_LEN];
    struct pgx *x;
    PGresult   *r;
    size_t      i;
    struct store_change c = { .email = "a@example.com", .role = 1 };

    start(PG_STORE);
    add_user("a@example.com", USERDB_ROLE_USER, "$h$a");
    login("a@example.com", "$h$a", t1);
    x = pgx_sync_open(cfg.database_url, NULL, 5, err, sizeof(err));
    ck_assert_msg(x != NULL, "%s", err);
    x->on_notify = note;
    x->notify_arg = seen;
    ck_assert_ptr_nonnull(r = x->exec(x, "LISTEN userapid", 0, NULL));
    PQclear(r);
    ck_assert_int_eq(store_user_change(st, &c, NULL), 0);
    ck_assert_int_eq(store_session_revoke(st, t1, strlen(t1)), 0);
    usleep(200 * 1000);
    pgx_sync_poll(x);
    crypto_sha256(t1, strlen(t1), d);
    for (i = 0; i < sizeof(d); i++)
        snprintf(hash + 2 * i, 3, "%02x", d[i]);
    snprintf(want, sizeof(want), "userapid u:a@example.com;userapid s:%s;",
        hash);
    ck_assert_str_eq(seen, want);
    x->close(x);
}
END_TEST

static Suite *
store_suite(void)
{
    Suite *s = suite_create("store");
    TCase *tc;

    tc = tcase_create("both");
    tcase_set_timeout(tc, 60);
    tcase_add_checked_fixture(tc, NULL, teardown);
    tcase_add_loop_test(tc, test_add_find_count_and_foreach_in_creation_order,
        0, 2);
    tcase_add_loop_test(tc, test_add_of_a_taken_email_is_exists, 0, 2);
    tcase_add_loop_test(tc,
        test_user_page_walks_creation_order_with_next_until_the_end, 0, 2);
    tcase_add_loop_test(tc,
        test_user_page_filters_by_prefix_escaping_wildcards, 0, 2);
    tcase_add_loop_test(tc, test_user_page_cursor_survives_adds_and_deletes,
        0, 2);
    tcase_add_loop_test(tc,
        test_user_page_after_the_last_and_next_users_deleted, 0, 2);
    tcase_add_loop_test(tc,
        test_user_page_rejects_a_malformed_cursor_and_limit, 0, 2);
    tcase_add_loop_test(tc, test_user_page_stops_when_fn_says_so, 0, 2);
    tcase_add_loop_test(tc, test_import_is_all_or_none, 0, 2);
    tcase_add_loop_test(tc,
        test_password_change_ends_other_sessions_but_keep_token, 0, 2);
    tcase_add_loop_test(tc, test_change_with_another_expected_hash_is_changed,
        0, 2);
    tcase_add_loop_test(tc, test_role_change_gives_sessions_the_new_role, 0,
        2);
    tcase_add_loop_test(tc, test_last_admin_cannot_be_deleted_or_demoted, 0,
        2);
    tcase_add_loop_test(tc, test_delete_ends_the_users_sessions, 0, 2);
    tcase_add_loop_test(tc, test_first_admin_is_made_once, 0, 2);
    tcase_add_loop_test(tc, test_login_against_a_replaced_hash_is_changed, 0,
        2);
    tcase_add_loop_test(tc,
        test_login_makes_a_session_for_the_record_as_it_is, 0, 2);
    tcase_add_loop_test(tc, test_per_user_cap_ends_that_users_oldest_session,
        0, 2);
    tcase_add_loop_test(tc,
        test_full_store_refuses_a_login_but_not_a_users_own_replacement, 0, 2);
    tcase_add_loop_test(tc,
        test_sessions_are_listed_and_revoked_by_token_id_and_user, 0, 2);
    tcase_add_loop_test(tc, test_expired_sessions_are_gone_and_swept, 0, 2);
    tcase_add_loop_test(tc, test_address_is_locked_out_after_max_failures, 0,
        2);
    tcase_add_loop_test(tc, test_right_password_gives_the_addresses_charge_back,
        0, 2);
    tcase_add_loop_test(tc, test_account_is_slowed_down_from_all_addresses, 0,
        2);
    tcase_add_loop_test(tc, test_registrations_are_limited_per_address, 0, 2);
    suite_add_tcase(s, tc);

    tc = tcase_create("postgresql");
    tcase_set_timeout(tc, 120);
    tcase_add_checked_fixture(tc, NULL, teardown);
    tcase_add_test(tc, test_pg_16_hosts_adding_one_email_exactly_one_wins);
    tcase_add_test(tc, test_pg_two_hosts_taking_the_last_two_admins_one_wins);
    tcase_add_test(tc,
        test_pg_host_deleting_and_host_demoting_the_last_two_admins);
    tcase_add_test(tc, test_pg_8_hosts_starting_at_once_make_one_first_admin);
    tcase_add_test(tc, test_pg_wrong_password_is_eacces_and_never_shown);
    tcase_add_test(tc,
        test_pg_stopped_server_fails_and_the_next_call_after_start_works);
    tcase_add_test(tc, test_pg_next_call_after_a_restart_works);
    tcase_add_test(tc,
        test_pg_missing_or_old_schema_is_eproto_saying_what_to_run);
    tcase_add_test(tc, test_pg_init_twice_and_from_two_hosts_at_once_is_fine);
    tcase_add_test(tc, test_pg_sync_session_settings_and_statement_timeout_is_etimedout);
    tcase_add_test(tc, test_pg_changes_and_revocations_are_notified);
    tcase_add_test(tc, test_pg_sweep_takes_at_most_max_and_stale_login_counts);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr;
    int      failed;

    log_init("test_store", LOG_ERR);
    pg_start_server();
    if (pg_why[0] != '\0')
        fprintf(stderr, "test_store: PostgreSQL test server could not be "
            "started: %s\n", pg_why);
    sr = srunner_create(store_suite());
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    pg_stop_server();
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
