/* SPDX-License-Identifier: MIT */
/*
 * store_pg.c - the PostgreSQL store: store.h's calls as SQL statements,
 * run by an executor (pgx.h), over the tables and functions of schema.sql.
 *
 * Invariants:
 *   - Every call is one statement: a change is a call of one function of
 *     schema.sql, so it is atomic and needs no transaction held open
 *     across round trips.
 *   - Nothing of a call is kept in the handle across an exec: another call
 *     on the same store may run while one waits.  The executor's why and
 *     sqlstate are read right after the exec that set them.
 *   - Tokens and passwords never reach a message; a session is sent and
 *     kept as hex SHA-256(token), its id (session_token_id) computed here.
 *   - Limits (session_cfg, throttle_limits) are the configuration's as of
 *     store_open or the last store_configure, as in store_file.c.
 *   - With STORE_PG_CACHE (the workers), sessions and users read are kept
 *     in a pgcache for at most session_cache_ttl; whatever this store
 *     changes or ends is forgotten there before the call returns, and the
 *     database's notifications make the other hosts forget it.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pgcache.h"
#include "store_impl.h"
#include "store_pg.h"

#define PG_HASH_HEX         (2 * CRYPTO_SHA256_LEN)
#define PG_NUM              24          /* a 64-bit number in text */
#define PG_SCHEMA_MSG       "database schema missing or old: run " \
                            "userapictl db init"

struct store_pg {
    struct store            st;     /* first: store.c's view */
    struct pgx             *x;
    struct pgcache         *cache;  /* NULL: every read asks */
    struct session_cfg      scfg;
    struct throttle_limits  limits;
    long                    reg_max;
    long                    reg_window;
};

/* An array literal being built ({"a","b"}). */
struct pg_array {
    char   *s;
    size_t  len;
    size_t  cap;
};

static const struct store_ops pg_ops;

static struct store_pg *
pg_of(struct store *st)
{
    return (struct store_pg *)st;
}

/* ---- statements ----------------------------------------------------------- */

/* Runs sql; NULL with errno and st's message ("database: what: why"). */
static PGresult *
pg_exec(struct store_pg *p, const char *what, const char *sql, int n,
    const char *const *v)
{
    PGresult *r = p->x->exec(p->x, sql, n, v);

    if (r != NULL)
        return r;
    /* The server's disk is full: no room to store a change. */
    if (strcmp(p->x->sqlstate, "53100") == 0)
        errno = ENOSPC;
    store_why(&p->st, "database: %s: %s", what,
        p->x->why[0] != '\0' ? p->x->why : strerror(errno));
    return NULL;
}

/* An answer not of the shape asked for: -1, EPROTO. */
static int
pg_bad(struct store_pg *p, PGresult *r, const char *what)
{
    PQclear(r);
    errno = EPROTO;
    store_why(&p->st, "database: %s: unexpected answer", what);
    return -1;
}

static long long
pg_ll(const PGresult *r, int row, int col)
{
    return strtoll(PQgetvalue(r, row, col), NULL, 10);
}

/* One number from a statement answering one row of one column: 0 or -1. */
static int
pg_number(struct store_pg *p, const char *what, const char *sql, int n,
    const char *const *v, long long *out)
{
    PGresult *r;

    if ((r = pg_exec(p, what, sql, n, v)) == NULL)
        return -1;
    if (PQntuples(r) != 1 || PQnfields(r) < 1 || PQgetisnull(r, 0, 0))
        return pg_bad(p, r, what);
    *out = pg_ll(r, 0, 0);
    PQclear(r);
    return 0;
}

/* How many rows a statement answered: >= 0 or -1. */
static int
pg_rows(struct store_pg *p, const char *what, const char *sql, int n,
    const char *const *v)
{
    PGresult *r;
    int       rows;

    if ((r = pg_exec(p, what, sql, n, v)) == NULL)
        return -1;
    rows = PQntuples(r);
    PQclear(r);
    return rows;
}

/* The hex SHA-256 of token[0..len), the key sessions are kept by. */
static void
pg_token_hash(const char *token, size_t len, char out[PG_HASH_HEX + 1])
{
    static const char hex[] = "0123456789abcdef";
    uint8_t           d[CRYPTO_SHA256_LEN];
    size_t            i;

    crypto_sha256(token, len, d);
    for (i = 0; i < sizeof(d); i++) {
        out[2 * i] = hex[d[i] >> 4];
        out[2 * i + 1] = hex[d[i] & 0xf];
    }
    out[PG_HASH_HEX] = '\0';
}

/* ---- opening ---------------------------------------------------------------- */

int
store_pg_password(const struct config *cfg, char *out, size_t outlen,
    char *err, size_t errlen)
{
    const char *path = cfg->database_password_file;
    ssize_t     n;
    size_t      len = 0;
    int         fd;

    out[0] = '\0';
    if (path[0] == '\0')
        return 0;
    if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    while (len < outlen - 1 &&
        (n = read(fd, out + len, outlen - 1 - len)) != 0) {
        if (n == -1 && errno == EINTR)
            continue;
        if (n == -1) {
            snprintf(err, errlen, "%s: %s", path, strerror(errno));
            close(fd);
            explicit_bzero(out, outlen);
            return -1;
        }
        len += (size_t)n;
    }
    close(fd);
    if (len == outlen - 1) {
        explicit_bzero(out, outlen);
        snprintf(err, errlen, "%s: longer than %zu bytes", path, outlen - 2);
        errno = EFBIG;
        return -1;
    }
    out[len] = '\0';
    if (len > 0 && out[len - 1] == '\n')
        out[len - 1] = '\0';
    return 0;
}

/* A blocking executor on cfg's database: NULL with errno and err set. */
static struct pgx *
pg_connect(const struct config *cfg, char *err, size_t errlen)
{
    char        pw[1024];
    struct pgx *x;
    int         e;

    if (store_pg_password(cfg, pw, sizeof(pw), err, errlen) == -1)
        return NULL;
    x = pgx_sync_open(cfg->database_url, pw[0] != '\0' ? pw : NULL,
        cfg->database_timeout, err, errlen);
    e = errno;
    explicit_bzero(pw, sizeof(pw));
    errno = e;
    return x;
}

struct store *
store_pg_open_sync(const struct config *cfg, int flags, char *err,
    size_t errlen)
{
    struct pgx *x;

    if ((x = pg_connect(cfg, err, errlen)) == NULL)
        return NULL;
    return store_pg_attach(cfg, x, flags, err, errlen);
}

/* The schema is there and not older than this code: 0, or -1 with err. */
static int
pg_check_schema(struct store_pg *p, char *err, size_t errlen)
{
    PGresult *r;
    int       ok;

    r = p->x->exec(p->x, "SELECT max(version) FROM userapid.schema_version",
        0, NULL);
    if (r == NULL && (strcmp(p->x->sqlstate, "42P01") == 0 ||
        strcmp(p->x->sqlstate, "3F000") == 0)) {
        snprintf(err, errlen, "%s", PG_SCHEMA_MSG);
        errno = EPROTO;
        return -1;
    }
    if (r == NULL) {
        snprintf(err, errlen, "database: schema version: %s", p->x->why);
        return -1;
    }
    ok = PQntuples(r) == 1 && !PQgetisnull(r, 0, 0) &&
        pg_ll(r, 0, 0) >= STORE_PG_SCHEMA_VERSION;
    PQclear(r);
    if (!ok) {
        snprintf(err, errlen, "%s", PG_SCHEMA_MSG);
        errno = EPROTO;
        return -1;
    }
    return 0;
}

struct store *
store_pg_attach(const struct config *cfg, struct pgx *x, int flags,
    char *err, size_t errlen)
{
    struct store_pg *p;
    int              e;

    if ((p = calloc(1, sizeof(*p))) == NULL ||
        ((flags & STORE_PG_CACHE) && cfg->session_cache_ttl > 0 &&
        (p->cache = pgcache_new(cfg->session_cache_ttl * 1000)) == NULL)) {
        free(p);
        x->close(x);
        snprintf(err, errlen, "out of memory");
        errno = ENOMEM;
        return NULL;
    }
    p->st.ops = &pg_ops;
    p->st.kind = CONFIG_STORAGE_POSTGRESQL;
    p->x = x;
    if (p->cache != NULL) {
        x->on_notify = pgcache_notify;
        x->notify_arg = p->cache;
    }
    pg_ops.configure(&p->st, cfg);
    if (!(flags & STORE_PG_LAZY) && pg_check_schema(p, err, errlen) == -1) {
        e = errno;
        pg_ops.close(&p->st);
        errno = e;
        return NULL;
    }
    return &p->st;
}

int
store_pg_init(const struct config *cfg, char *err, size_t errlen)
{
    struct pgx *x;
    PGresult   *r;
    int         e;

    if ((x = pg_connect(cfg, err, errlen)) == NULL)
        return -1;
    /* One simple query: the whole file is one transaction. */
    if ((r = x->exec(x, store_pg_schema_sql, 0, NULL)) == NULL) {
        e = errno;
        snprintf(err, errlen, "database: schema: %s", x->why);
        x->close(x);
        errno = e;
        return -1;
    }
    PQclear(r);
    x->close(x);
    return 0;
}

static void
pg_close(struct store *st)
{
    struct store_pg *p = pg_of(st);

    if (p->x != NULL)
        p->x->close(p->x);
    pgcache_free(p->cache);
    free(p);
}

static void
pg_configure(struct store *st, const struct config *cfg)
{
    struct store_pg *p = pg_of(st);

    config_session(cfg, &p->scfg);
    p->limits.max_failures = cfg->login_max_failures;
    p->limits.window = cfg->login_window;
    p->limits.lockout = cfg->login_lockout;
    p->limits.account_max_failures = cfg->login_account_max_failures;
    p->reg_max = cfg->registration_max_per_ip;
    p->reg_window = cfg->registration_window;
}

/* ---- users ------------------------------------------------------------ */

/* Row i of (email, role, created_at, hash) into u. */
static void
pg_row_user(const PGresult *r, int i, struct userdb_user *u)
{
    snprintf(u->email, sizeof(u->email), "%s", PQgetvalue(r, i, 0));
    u->role = (int)pg_ll(r, i, 1);
    u->created_at = pg_ll(r, i, 2);
    snprintf(u->hash, sizeof(u->hash), "%s", PQgetvalue(r, i, 3));
}

static int
pg_user_find(struct store *st, const char *email, struct userdb_user *out)
{
    struct store_pg   *p = pg_of(st);
    const char        *v[1] = { email };
    struct userdb_user u;
    PGresult          *r;

    if (p->cache != NULL && pgcache_user_get(p->cache, email, out))
        return 0;
    if ((r = pg_exec(p, "find", "SELECT email, role, created_at, hash "
        "FROM userapid.users WHERE email = $1", 1, v)) == NULL)
        return -1;
    if (PQntuples(r) == 0) {
        PQclear(r);
        return STORE_NOT_FOUND;
    }
    if (PQnfields(r) != 4)
        return pg_bad(p, r, "find");
    pg_row_user(r, 0, &u);
    PQclear(r);
    if (p->cache != NULL)
        pgcache_user_put(p->cache, &u);
    if (out != NULL)
        *out = u;
    explicit_bzero(u.hash, sizeof(u.hash));
    return 0;
}

static int
pg_user_count(struct store *st, int role, size_t *n)
{
    struct store_pg *p = pg_of(st);
    char             rs[PG_NUM];
    const char      *v[1] = { rs };
    long long        c;

    snprintf(rs, sizeof(rs), "%d", role);
    if (pg_number(p, "count", "SELECT count(*) FROM userapid.users "
        "WHERE $1::integer = 0 OR role = $1::integer", 1, v, &c) == -1)
        return -1;
    *n = (size_t)c;
    return 0;
}

static int
pg_user_foreach(struct store *st,
    int (*fn)(const struct userdb_user *, void *), void *arg)
{
    struct store_pg   *p = pg_of(st);
    struct userdb_user u;
    PGresult          *r;
    int                i, rc = 0;

    if ((r = pg_exec(p, "list", "SELECT email, role, created_at, hash "
        "FROM userapid.users ORDER BY seq", 0, NULL)) == NULL)
        return -1;
    if (PQnfields(r) != 4)
        return pg_bad(p, r, "list");
    for (i = 0; i < PQntuples(r) && rc == 0; i++) {
        pg_row_user(r, i, &u);
        rc = fn(&u, arg);
    }
    explicit_bzero(&u, sizeof(u));
    PQclear(r);
    return rc;
}

/* A cursor is the decimal seq of the page's last user: 0 with *seq, or
 * -1 when it is not one. */
static int
pg_cursor_parse(const char *s, long long *seq)
{
    size_t i, n = strlen(s);

    if (n == 0 || n > 18)
        return -1;
    for (i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return -1;
    *seq = strtoll(s, NULL, 10);
    return 0;
}

/* prefix as a LIKE pattern: its wildcards and the escape character
 * (backslash, LIKE's default) escaped, then '%'.  0, or -1 when it does
 * not fit. */
static int
pg_like_prefix(const char *prefix, char *out, size_t outlen)
{
    size_t i, o = 0;

    for (i = 0; prefix[i] != '\0'; i++) {
        if (o + 3 >= outlen)
            return -1;
        if (prefix[i] == '%' || prefix[i] == '_' || prefix[i] == '\\')
            out[o++] = '\\';
        out[o++] = prefix[i];
    }
    out[o++] = '%';
    out[o] = '\0';
    return 0;
}

/* One page is one indexed statement (seq is unique): limit + 1 rows, the
 * last only saying that more remain. */
static int
pg_user_page(struct store *st, const char *after, const char *prefix,
    size_t limit, int (*fn)(const struct userdb_user *, void *), void *arg,
    char *next, size_t nextlen)
{
    struct store_pg   *p = pg_of(st);
    struct userdb_user u;
    char               from[PG_NUM], lim[PG_NUM], pat[2 * USERDB_EMAIL_MAX + 2];
    const char        *v[3] = { from, pat, lim };
    long long          seq = 0;
    PGresult          *r;
    int                i, rc = 0;

    if (after != NULL && pg_cursor_parse(after, &seq) == -1)
        return STORE_BAD_CURSOR;
    if (pg_like_prefix(prefix, pat, sizeof(pat)) == -1) {
        errno = EINVAL;
        store_why(st, "page: prefix too long");
        return -1;
    }
    snprintf(from, sizeof(from), "%lld", seq);
    snprintf(lim, sizeof(lim), "%zu", limit + 1);
    if ((r = pg_exec(p, "page", "SELECT email, role, created_at, hash, seq "
        "FROM userapid.users WHERE seq > $1 AND email LIKE $2 ORDER BY seq "
        "LIMIT $3", 3, v)) == NULL)
        return -1;
    if (PQnfields(r) != 5)
        return pg_bad(p, r, "page");
    for (i = 0; i < PQntuples(r) && (size_t)i < limit && rc == 0; i++) {
        pg_row_user(r, i, &u);
        rc = fn(&u, arg);
    }
    if (rc == 0 && (size_t)PQntuples(r) > limit)
        snprintf(next, nextlen, "%s", PQgetvalue(r, (int)limit - 1, 4));
    explicit_bzero(&u, sizeof(u));
    PQclear(r);
    return rc;
}

/* Users change from any host: no listing can be cached. */
static uint64_t
pg_user_version(struct store *st)
{
    (void)st;
    return 0;
}

/* Why u could not be stored, or NULL when it can: users.db's rules. */
static const char *
pg_user_problem(const struct userdb_user *u)
{
    size_t n = strnlen(u->email, sizeof(u->email)), i;

    if (n == 0 || n > USERDB_EMAIL_MAX || !userdb_email_valid(u->email, n))
        return "invalid email";
    for (i = 0; i < n; i++)
        if (isupper((unsigned char)u->email[i]))
            return "email not in lower case";
    if (u->role != USERDB_ROLE_ADMIN && u->role != USERDB_ROLE_USER)
        return "invalid role";
    if (u->created_at < 0 || u->created_at > USERDB_TIME_MAX)
        return "invalid creation time";
    n = strnlen(u->hash, sizeof(u->hash));
    if (n == 0 || n > USERDB_HASH_MAX || u->hash[0] != '$')
        return "invalid hash";
    for (i = 0; i < n; i++)
        if (u->hash[i] <= ' ' || u->hash[i] > '~' || u->hash[i] == ':')
            return "invalid hash";
    return NULL;
}

static int
pg_user_add(struct store *st, const struct userdb_user *u)
{
    struct store_pg *p = pg_of(st);
    char             role[PG_NUM], at[PG_NUM];
    const char      *v[4] = { u->email, u->hash, role, at }, *why;
    PGresult        *r;

    if ((why = pg_user_problem(u)) != NULL) {
        store_why(st, "%s", why);
        errno = EINVAL;
        return -1;
    }
    snprintf(role, sizeof(role), "%d", u->role);
    snprintf(at, sizeof(at), "%lld", (long long)u->created_at);
    r = pg_exec(p, "add", "INSERT INTO userapid.users (email, hash, role, "
        "created_at) VALUES ($1, $2, $3, $4)", 4, v);
    if (r == NULL)
        return strcmp(p->x->sqlstate, "23505") == 0 ? STORE_EXISTS : -1;
    PQclear(r);
    return 0;
}

/* Appends s to a as one quoted element: 0 or -1 (ENOMEM). */
static int
pg_array_add(struct pg_array *a, const char *s)
{
    size_t need = a->len + 2 * strlen(s) + 4;
    char  *ns, sep = a->len == 0 ? '{' : ',';

    if (need > a->cap) {
        if ((ns = realloc(a->s, need * 2)) == NULL)
            return -1;
        a->s = ns;
        a->cap = need * 2;
    }
    a->s[a->len++] = sep;
    a->s[a->len++] = '"';
    for (; *s != '\0'; s++) {
        if (*s == '"' || *s == '\\')
            a->s[a->len++] = '\\';
        a->s[a->len++] = *s;
    }
    a->s[a->len++] = '"';
    a->s[a->len] = '\0';
    return 0;
}

/* The four arrays of u[0..n) (emails, hashes, roles, times); 0 or -1. */
static int
pg_import_arrays(const struct userdb_user *u, size_t n, struct pg_array a[4])
{
    char   num[PG_NUM];
    size_t i;
    int    k;

    for (i = 0; i < n; i++) {
        if (pg_array_add(&a[0], u[i].email) == -1 ||
            pg_array_add(&a[1], u[i].hash) == -1)
            return -1;
        snprintf(num, sizeof(num), "%d", u[i].role);
        if (pg_array_add(&a[2], num) == -1)
            return -1;
        snprintf(num, sizeof(num), "%lld", (long long)u[i].created_at);
        if (pg_array_add(&a[3], num) == -1)
            return -1;
    }
    for (k = 0; k < 4; k++) {
        a[k].s[a[k].len++] = '}';
        a[k].s[a[k].len] = '\0';
    }
    return 0;
}

static int
pg_user_import(struct store *st, const struct userdb_user *u, size_t n,
    char *err, size_t errlen)
{
    struct store_pg *p = pg_of(st);
    struct pg_array  a[4];
    const char      *v[4], *why;
    PGresult        *r = NULL;
    size_t           i;
    int              k, rc = 0;

    for (i = 0; i < n; i++)
        if ((why = pg_user_problem(&u[i])) != NULL) {
            snprintf(err, errlen, "record %zu: %s", i + 1, why);
            store_why(st, "%s", err);
            errno = EINVAL;
            return -1;
        }
    if (n == 0)
        return 0;
    memset(a, 0, sizeof(a));
    if (pg_import_arrays(u, n, a) == -1) {
        snprintf(err, errlen, "out of memory");
        store_why(st, "%s", err);
        rc = -1;
        errno = ENOMEM;
    }
    for (k = 0; k < 4; k++)
        v[k] = a[k].s;
    if (rc == 0 && (r = pg_exec(p, "import", "INSERT INTO userapid.users "
        "(email, hash, role, created_at) SELECT e, h, r, c FROM "
        "unnest($1::text[], $2::text[], $3::smallint[], $4::bigint[]) "
        "WITH ORDINALITY AS t(e, h, r, c, o) ORDER BY o", 4, v)) == NULL) {
        rc = strcmp(p->x->sqlstate, "23505") == 0 ? STORE_EXISTS : -1;
        snprintf(err, errlen, "%s", rc == STORE_EXISTS ?
            "an email is taken or given twice" : p->st.err);
    }
    PQclear(r);
    for (k = 0; k < 4; k++) {
        if (a[k].s != NULL)
            explicit_bzero(a[k].s, a[k].cap);
        free(a[k].s);
    }
    return rc;
}

/* c->keep_token's key, or NULL when it names no session. */
static const char *
pg_keep_hash(const char *token, char out[PG_HASH_HEX + 1])
{
    if (token == NULL || !crypto_token_valid_syntax(token, strlen(token)))
        return NULL;
    pg_token_hash(token, strlen(token), out);
    return out;
}

static int
pg_user_change(struct store *st, const struct store_change *c,
    struct store_changed *out)
{
    struct store_pg *p = pg_of(st);
    char             role[PG_NUM], keep[PG_HASH_HEX + 1];
    const char      *v[6];
    PGresult        *r;
    int              rc;

    snprintf(role, sizeof(role), "%d", c->role);
    v[0] = c->email;
    v[1] = c->hash;
    v[2] = role;
    v[3] = c->expect;
    v[4] = pg_keep_hash(c->keep_token, keep);
    v[5] = c->flags & STORE_KEEP_ADMIN ? "t" : "f";
    if (out != NULL)
        memset(out, 0, sizeof(*out));
    if (p->cache != NULL)
        pgcache_forget_user(p->cache, c->email);
    if ((r = pg_exec(p, "change", "SELECT rc, role, created_at, hash, ended "
        "FROM userapid.user_change($1, $2, $3, $4, $5, $6)", 6, v)) == NULL)
        return -1;
    if (PQntuples(r) != 1 || PQnfields(r) != 5)
        return pg_bad(p, r, "change");
    if ((rc = (int)pg_ll(r, 0, 0)) == 0 && out != NULL) {
        snprintf(out->user.email, sizeof(out->user.email), "%s", c->email);
        out->user.role = (int)pg_ll(r, 0, 1);
        out->user.created_at = pg_ll(r, 0, 2);
        snprintf(out->user.hash, sizeof(out->user.hash), "%s",
            PQgetvalue(r, 0, 3));
        out->ended = (int)pg_ll(r, 0, 4);
    }
    PQclear(r);
    return rc;
}

static int
pg_user_delete(struct store *st, const char *email, int flags)
{
    struct store_pg *p = pg_of(st);
    const char      *v[2] = { email, flags & STORE_KEEP_ADMIN ? "t" : "f" };
    long long        rc;

    if (p->cache != NULL)
        pgcache_forget_user(p->cache, email);
    if (pg_number(p, "delete", "SELECT userapid.user_delete($1, $2)", 2, v,
        &rc) == -1)
        return -1;
    return (int)rc;
}

static int
pg_first_admin(struct store *st, const char *hash, int64_t created_at)
{
    struct store_pg *p = pg_of(st);
    char             at[PG_NUM];
    const char      *v[2] = { hash, at };
    long long        rc;

    snprintf(at, sizeof(at), "%lld", (long long)created_at);
    if (pg_number(p, "first admin", "SELECT userapid.first_admin($1, $2)", 2,
        v, &rc) == -1)
        return -1;
    return (int)rc;
}

/* ---- sessions --------------------------------------------------------- */

static int
pg_session_login(struct store *st, const char *email, const char *verified,
    const char *addr, struct store_login *out)
{
    struct store_pg *p = pg_of(st);
    char             key[PG_HASH_HEX + 1], id[SESSION_ID_LEN + 1];
    char             n[4][PG_NUM];
    const char      *v[9] = { email, verified, key, id, addr != NULL ? addr :
                        "", n[0], n[1], n[2], n[3] };
    PGresult        *r;
    int              rc;

    memset(out, 0, sizeof(*out));
    if (strnlen(v[4], SESSION_ADDR_MAX + 1) > SESSION_ADDR_MAX) {
        store_why(st, "login: address too long");
        errno = EINVAL;
        return -1;
    }
    if (crypto_token_new(out->token) == -1) {
        store_why(st, "token: %s", strerror(errno));
        return -1;
    }
    pg_token_hash(out->token, CRYPTO_TOKEN_LEN, key);
    session_token_id(out->token, CRYPTO_TOKEN_LEN, id);
    snprintf(n[0], sizeof(n[0]), "%ld", p->scfg.ttl);
    snprintf(n[1], sizeof(n[1]), "%ld", p->scfg.max_age);
    snprintf(n[2], sizeof(n[2]), "%ld", p->scfg.max_sessions);
    snprintf(n[3], sizeof(n[3]), "%ld", p->scfg.max_per_user);
    r = pg_exec(p, "login", "SELECT rc, role, created_at, expires_at FROM "
        "userapid.login_session($1, $2, $3, $4, $5, $6, $7, $8, $9)", 9, v);
    if (r == NULL || PQntuples(r) != 1 || PQnfields(r) != 4) {
        explicit_bzero(out->token, sizeof(out->token));
        return r == NULL ? -1 : pg_bad(p, r, "login");
    }
    if ((rc = (int)pg_ll(r, 0, 0)) == 0) {
        snprintf(out->user.email, sizeof(out->user.email), "%s", email);
        out->user.role = (int)pg_ll(r, 0, 1);
        out->user.created_at = pg_ll(r, 0, 2);
        out->expires_at = pg_ll(r, 0, 3);
    } else {
        explicit_bzero(out->token, sizeof(out->token));
    }
    PQclear(r);
    return rc;
}

/* Row i of (email, id, addr, role, created_at, last_used, expires_at). */
static void
pg_row_session(const PGresult *r, int i, struct session_info *s)
{
    snprintf(s->email, sizeof(s->email), "%s", PQgetvalue(r, i, 0));
    snprintf(s->id, sizeof(s->id), "%s", PQgetvalue(r, i, 1));
    snprintf(s->addr, sizeof(s->addr), "%s", PQgetvalue(r, i, 2));
    s->role = (int)pg_ll(r, i, 3);
    s->created_at = pg_ll(r, i, 4);
    s->last_used = pg_ll(r, i, 5);
    s->expires_at = pg_ll(r, i, 6);
}

static int
pg_session_lookup(struct store *st, const char *token, size_t len,
    struct session_info *out)
{
    struct store_pg *p = pg_of(st);
    char                key[PG_HASH_HEX + 1], ttl[PG_NUM], age[PG_NUM];
    const char         *v[3] = { key, ttl, age };
    struct session_info s;
    PGresult           *r;

    if (!crypto_token_valid_syntax(token, len))
        return STORE_NOT_FOUND;
    pg_token_hash(token, len, key);
    if (p->cache != NULL && pgcache_session_get(p->cache, key, out))
        return 0;
    snprintf(ttl, sizeof(ttl), "%ld", p->scfg.ttl);
    snprintf(age, sizeof(age), "%ld", p->scfg.max_age);
    if ((r = pg_exec(p, "lookup", "SELECT email, id, addr, role, created_at, "
        "last_used, expires_at FROM userapid.session_lookup($1, $2, $3)", 3,
        v)) == NULL)
        return -1;
    if (PQntuples(r) == 0) {
        PQclear(r);
        return STORE_NOT_FOUND;
    }
    if (PQnfields(r) != 7)
        return pg_bad(p, r, "lookup");
    pg_row_session(r, 0, &s);
    s.id[0] = '\0';
    PQclear(r);
    if (p->cache != NULL)
        pgcache_session_put(p->cache, key, &s);
    if (out != NULL)
        *out = s;
    return 0;
}

static int
pg_session_revoke(struct store *st, const char *token, size_t len)
{
    struct store_pg *p = pg_of(st);
    char             key[PG_HASH_HEX + 1];
    const char      *v[1] = { key };
    int              n;

    if (!crypto_token_valid_syntax(token, len))
        return STORE_NOT_FOUND;
    pg_token_hash(token, len, key);
    if (p->cache != NULL)
        pgcache_forget_session(p->cache, key);
    n = pg_rows(p, "revoke", "DELETE FROM userapid.sessions WHERE "
        "token_hash = $1 AND expires_at > userapid.now() RETURNING 1", 1, v);
    return n == -1 ? -1 : n == 0 ? STORE_NOT_FOUND : 0;
}

static int
pg_session_revoke_id(struct store *st, const char *email, const char *id)
{
    struct store_pg *p = pg_of(st);
    char             low[SESSION_ID_LEN + 1];
    const char      *v[2] = { email, low };
    size_t           i;
    int              n;

    if (strnlen(id, SESSION_ID_LEN + 1) != SESSION_ID_LEN)
        return STORE_NOT_FOUND;
    for (i = 0; i <= SESSION_ID_LEN; i++) {
        if (i < SESSION_ID_LEN && !isxdigit((unsigned char)id[i]))
            return STORE_NOT_FOUND;
        low[i] = (char)tolower((unsigned char)id[i]);
    }
    if (p->cache != NULL)
        pgcache_forget_user(p->cache, email);
    n = pg_rows(p, "revoke", "DELETE FROM userapid.sessions WHERE "
        "email = $1 AND id = $2 AND expires_at > userapid.now() RETURNING 1",
        2, v);
    return n == -1 ? -1 : n == 0 ? STORE_NOT_FOUND : 0;
}

static int
pg_session_revoke_user(struct store *st, const char *email,
    const char *except_token)
{
    struct store_pg *p = pg_of(st);
    char             keep[PG_HASH_HEX + 1];
    const char      *v[2] = { email, pg_keep_hash(except_token, keep) };
    long long        n;

    if (p->cache != NULL)
        pgcache_forget_user(p->cache, email);

    if (pg_number(p, "revoke", "WITH d AS (DELETE FROM userapid.sessions "
        "WHERE email = $1 AND token_hash IS DISTINCT FROM $2 RETURNING "
        "expires_at) SELECT count(*) FILTER (WHERE expires_at > "
        "userapid.now()) FROM d", 2, v, &n) == -1)
        return -1;
    return (int)n;
}

static int
pg_session_foreach(struct store *st, const char *email,
    int (*fn)(const struct session_info *, void *), void *arg)
{
    struct store_pg    *p = pg_of(st);
    struct session_info s;
    const char         *v[1] = { email };
    PGresult           *r;
    int                 i, rc = 0;

    if ((r = pg_exec(p, "sessions", "SELECT email, id, addr, role, "
        "created_at, last_used, expires_at FROM userapid.sessions WHERE "
        "expires_at > userapid.now() AND ($1::text IS NULL OR email = $1) "
        "ORDER BY seq", 1, v)) == NULL)
        return -1;
    if (PQnfields(r) != 7)
        return pg_bad(p, r, "sessions");
    for (i = 0; i < PQntuples(r) && rc == 0; i++) {
        pg_row_session(r, i, &s);
        rc = fn(&s, arg);
    }
    PQclear(r);
    return rc;
}

static int
pg_session_count(struct store *st, size_t *n)
{
    long long c;

    if (pg_number(pg_of(st), "sessions", "SELECT count(*) FROM "
        "userapid.sessions WHERE expires_at > userapid.now()", 0, NULL,
        &c) == -1)
        return -1;
    *n = (size_t)c;
    return 0;
}

static int
pg_sweep(struct store *st, int max)
{
    char        m[PG_NUM];
    const char *v[1] = { m };
    long long   n;

    snprintf(m, sizeof(m), "%d", max);
    if (pg_number(pg_of(st), "sweep", "SELECT userapid.sweep($1)", 1, v,
        &n) == -1)
        return -1;
    return (int)n;
}

/* ---- login throttle ----------------------------------------------------- */

static long
pg_login_begin(struct store *st, const char *email, const char *addr)
{
    struct store_pg *p = pg_of(st);
    const struct throttle_limits *l = &p->limits;
    char             n[4][PG_NUM];
    const char      *v[6] = { email, addr, n[0], n[1], n[2], n[3] };
    long long        wait;

    snprintf(n[0], sizeof(n[0]), "%ld", l->max_failures);
    snprintf(n[1], sizeof(n[1]), "%ld", l->window);
    snprintf(n[2], sizeof(n[2]), "%ld", l->lockout);
    /* The account's limit is above the address's whatever cfg says. */
    snprintf(n[3], sizeof(n[3]), "%ld",
        l->account_max_failures > l->max_failures ?
        l->account_max_failures : l->max_failures + 1);
    if (pg_number(p, "login throttle", "SELECT userapid.login_begin($1, $2, "
        "$3, $4, $5, $6)", 6, v, &wait) == -1)
        return -1;
    if (wait > 0)
        errno = EAGAIN;
    return (long)wait;
}

static int
pg_login_end(struct store *st, const char *email, const char *addr, int ok)
{
    struct store_pg *p = pg_of(st);
    char             max[PG_NUM];
    const char      *v[4] = { email, addr, ok ? "t" : "f", max };
    long long        rc;

    snprintf(max, sizeof(max), "%ld", p->limits.max_failures);
    if (pg_number(p, "login throttle", "SELECT userapid.login_end($1, $2, "
        "$3, $4)", 4, v, &rc) == -1)
        return -1;
    return (int)rc;
}

static long
pg_register(struct store *st, const char *addr)
{
    struct store_pg *p = pg_of(st);
    char             max[PG_NUM], win[PG_NUM];
    const char      *v[3] = { addr, max, win };
    long long        wait;

    snprintf(max, sizeof(max), "%ld", p->reg_max > 0 ? p->reg_max : 1);
    snprintf(win, sizeof(win), "%ld", p->reg_window);
    if (pg_number(p, "registration throttle", "SELECT userapid.register($1, "
        "$2, $3)", 3, v, &wait) == -1)
        return -1;
    if (wait > 0)
        errno = EAGAIN;
    return (long)wait;
}

static int
pg_lockouts(struct store *st, struct throttle_lockout **out, size_t *n)
{
    struct store_pg         *p = pg_of(st);
    struct throttle_lockout *v = NULL;
    PGresult                *r;
    int                      i, rows;

    *out = NULL;
    *n = 0;
    if ((r = pg_exec(p, "lockouts", "SELECT kind, key, failures, retry_after "
        "FROM userapid.lockouts()", 0, NULL)) == NULL)
        return -1;
    if (PQnfields(r) != 4)
        return pg_bad(p, r, "lockouts");
    rows = PQntuples(r);
    if (rows > 0 && (v = calloc((size_t)rows, sizeof(*v))) == NULL) {
        PQclear(r);
        store_why(st, "lockouts: out of memory");
        errno = ENOMEM;
        return -1;
    }
    for (i = 0; i < rows; i++) {
        v[i].kind = (int)pg_ll(r, i, 0);
        snprintf(v[i].key, sizeof(v[i].key), "%s", PQgetvalue(r, i, 1));
        v[i].failures = (long)pg_ll(r, i, 2);
        v[i].retry_after = (long)pg_ll(r, i, 3);
    }
    PQclear(r);
    *out = v;
    *n = (size_t)rows;
    return 0;
}

static int
pg_unlock(struct store *st, const char *key)
{
    char        low[THROTTLE_KEY_MAX + 1];
    const char *v[1] = { low };
    size_t      len = strlen(key), i;
    long long   n;

    if (len > THROTTLE_KEY_MAX)
        return 0;
    for (i = 0; i <= len; i++)
        low[i] = (char)tolower((unsigned char)key[i]);
    if (pg_number(pg_of(st), "unlock", "SELECT userapid.unlock($1)", 1, v,
        &n) == -1)
        return -1;
    return (int)n;
}

static void
pg_forget(struct store *st)
{
    struct store_pg *p = pg_of(st);

    if (p->cache != NULL)
        pgcache_clear(p->cache);
}

static const struct store_ops pg_ops = {
    .close = pg_close,
    .configure = pg_configure,
    .user_find = pg_user_find,
    .user_count = pg_user_count,
    .user_foreach = pg_user_foreach,
    .user_page = pg_user_page,
    .user_version = pg_user_version,
    .user_add = pg_user_add,
    .user_import = pg_user_import,
    .user_change = pg_user_change,
    .user_delete = pg_user_delete,
    .first_admin = pg_first_admin,
    .session_login = pg_session_login,
    .session_lookup = pg_session_lookup,
    .session_revoke = pg_session_revoke,
    .session_revoke_id = pg_session_revoke_id,
    .session_revoke_user = pg_session_revoke_user,
    .session_foreach = pg_session_foreach,
    .session_count = pg_session_count,
    .sweep = pg_sweep,
    .login_begin = pg_login_begin,
    .login_end = pg_login_end,
    .reg = pg_register,
    .lockouts = pg_lockouts,
    .unlock = pg_unlock,
    .forget = pg_forget,
};
