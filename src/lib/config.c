/* SPDX-License-Identifier: MIT */
/*
 * config.c - userapid's configuration: defaults, the "key = value" file
 * parser and command-line overrides; see config.h.
 *
 * Every key is one row of config_keys[] naming its setter, Kore style:
 * adding a key is adding a row and a setter.  A setter parses its value
 * into locals and only then stores it, so a rejected value never leaves a
 * field half written.  Setters explain a rejection as a reason without the
 * key ("\"0\" is out of range (...)"); config_load prefixes "PATH:LINE: KEY: "
 * and config_set prefixes "KEY: ".  Every number goes through
 * config_number, a strtonum(3)-style bounded parser.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <unistd.h>

#include "config.h"
#include "session.h"

#ifndef LOCALSTATEDIR
#define LOCALSTATEDIR "/var"
#endif
#define CONFIG_DEFAULT_STATE_DIR  LOCALSTATEDIR "/lib/userapid"
#define CONFIG_DEFAULT_LISTEN     "127.0.0.1:8080"

#define CONFIG_MAX_CONNECTIONS    1000000L
#define CONFIG_MAX_BODY_SIZE      (64L * 1024 * 1024)
#define CONFIG_MAX_TIMEOUT        3600L

#define CONFIG_STR_(x)            #x
#define CONFIG_STR(x)             CONFIG_STR_(x)

/* What a setter sees: the config, where the value came from, and where to
 * put its reason when it refuses the value. */
struct config_ctx {
    struct config *c;
    int            line;            /* line in the file, 0 for config_set */
    int            listen_replace;  /* the next listen empties the list first */
    int           *listen_lines;    /* file line of each listen, or NULL */
    char           why[CONFIG_ERR_LEN];
};

struct config_key {
    const char  *name;
    int        (*set)(struct config_ctx *, const char *);
    int          repeatable;
};

enum config_read {
    CONFIG_READ_LINE,
    CONFIG_READ_EOF,
    CONFIG_READ_IOERR,      /* errno says why */
    CONFIG_READ_BAD         /* *why says why */
};

static void config_file_err(char *, size_t, const char *, int, const char *,
                ...) __attribute__((format(printf, 5, 6)));
static int  config_why(struct config_ctx *, const char *, ...)
                __attribute__((format(printf, 2, 3)));
static int  config_number(const char *, long, long, long *, const char **);
static int  config_range(struct config_ctx *, const char *, long, long,
                const char *, long *);
static int  config_listen_named(const char *, struct config_listen *, char *,
                size_t);
static int  config_listen_address(const char *, const char *, int, uint16_t,
                struct config_listen *, char *, size_t);
static int  config_listen_parse(const char *, struct config_listen *, char *,
                size_t);
static const struct config_key *config_key_find(const char *);
static enum config_read config_read_line(FILE *, char *, size_t, const char **);
static int  config_split_line(char *, char **, char **);

static int  config_set_listen(struct config_ctx *, const char *);
static int  config_set_workers(struct config_ctx *, const char *);
static int  config_set_state_dir(struct config_ctx *, const char *);
static int  config_set_max_connections(struct config_ctx *, const char *);
static int  config_set_max_body_size(struct config_ctx *, const char *);
static int  config_set_header_timeout(struct config_ctx *, const char *);
static int  config_set_keepalive_timeout(struct config_ctx *, const char *);
static int  config_set_drain_timeout(struct config_ctx *, const char *);
static int  config_set_log_level(struct config_ctx *, const char *);
static int  config_set_access_log(struct config_ctx *, const char *);
static int  config_set_metrics_listen(struct config_ctx *, const char *);
static int  config_set_registration(struct config_ctx *, const char *);
static int  config_set_min_password_length(struct config_ctx *, const char *);
static int  config_set_password_cost(struct config_ctx *, const char *);
static int  config_set_session_ttl(struct config_ctx *, const char *);
static int  config_set_session_max_age(struct config_ctx *, const char *);
static int  config_set_max_sessions(struct config_ctx *, const char *);
static int  config_set_max_sessions_per_user(struct config_ctx *,
                const char *);
static int  config_set_cookie_secure(struct config_ctx *, const char *);
static int  config_set_cookie_samesite(struct config_ctx *, const char *);
static int  config_set_ui(struct config_ctx *, const char *);
static int  config_set_tls_certificate(struct config_ctx *, const char *);
static int  config_set_tls_key(struct config_ctx *, const char *);
static int  config_secret_path(struct config_ctx *, const char *, char *,
                size_t);
static int  config_set_hsts_max_age(struct config_ctx *, const char *);
static int  config_set_storage(struct config_ctx *, const char *);
static int  config_set_database_url(struct config_ctx *, const char *);
static int  config_set_database_password_file(struct config_ctx *,
                const char *);
static int  config_set_database_timeout(struct config_ctx *, const char *);
static int  config_set_session_cache_ttl(struct config_ctx *, const char *);
static int  config_set_trusted_proxies(struct config_ctx *, const char *);
static int  config_set_cors_origins(struct config_ctx *, const char *);
static int  config_origin_ok(const char *, size_t);
static int  config_set_login_account_max_failures(struct config_ctx *,
                const char *);
static int  config_listen_flags(struct config_ctx *, const char *, int *);
static int  config_check(const struct config *, char *, size_t);
static int  config_check_metrics(const struct config *, char *, size_t);
static int  config_bool(struct config_ctx *, const char *, int *);
static int  config_set_login_max_failures(struct config_ctx *, const char *);
static int  config_set_login_window(struct config_ctx *, const char *);
static int  config_set_login_lockout(struct config_ctx *, const char *);
static int  config_set_registration_max_per_ip(struct config_ctx *, const char *);
static int  config_set_registration_window(struct config_ctx *, const char *);
static int  config_set_max_connections_per_ip(struct config_ctx *, const char *);

static const struct config_key config_keys[] = {
    { "listen",             config_set_listen,              1 },
    { "workers",            config_set_workers,             0 },
    { "state_dir",          config_set_state_dir,           0 },
    { "max_connections",    config_set_max_connections,     0 },
    { "max_body_size",      config_set_max_body_size,       0 },
    { "header_timeout",     config_set_header_timeout,      0 },
    { "keepalive_timeout",  config_set_keepalive_timeout,   0 },
    { "drain_timeout",      config_set_drain_timeout,       0 },
    { "log_level",          config_set_log_level,           0 },
    { "access_log",         config_set_access_log,          0 },
    { "metrics_listen",     config_set_metrics_listen,      0 },
    { "registration",       config_set_registration,        0 },
    { "min_password_length", config_set_min_password_length, 0 },
    { "password_cost",      config_set_password_cost,       0 },
    { "session_ttl",        config_set_session_ttl,         0 },
    { "session_max_age",    config_set_session_max_age,     0 },
    { "max_sessions",       config_set_max_sessions,        0 },
    { "max_sessions_per_user", config_set_max_sessions_per_user, 0 },
    { "cookie_secure",      config_set_cookie_secure,       0 },
    { "cookie_samesite",    config_set_cookie_samesite,     0 },
    { "ui",                 config_set_ui,                  0 },
    { "tls_certificate",    config_set_tls_certificate,     0 },
    { "tls_key",            config_set_tls_key,             0 },
    { "hsts_max_age",       config_set_hsts_max_age,        0 },
    { "trusted_proxies",    config_set_trusted_proxies,     0 },
    { "cors_origins",       config_set_cors_origins,        0 },
    { "storage",            config_set_storage,             0 },
    { "database_url",       config_set_database_url,        0 },
    { "database_password_file", config_set_database_password_file, 0 },
    { "database_timeout",   config_set_database_timeout,    0 },
    { "session_cache_ttl",  config_set_session_cache_ttl,   0 },
    { "login_account_max_failures", config_set_login_account_max_failures, 0 },
    { "login_max_failures", config_set_login_max_failures,  0 },
    { "login_window",       config_set_login_window,        0 },
    { "login_lockout",      config_set_login_lockout,       0 },
    { "registration_max_per_ip", config_set_registration_max_per_ip, 0 },
    { "registration_window", config_set_registration_window, 0 },
    { "max_connections_per_ip", config_set_max_connections_per_ip, 0 },
};
#define CONFIG_NKEYS (sizeof(config_keys) / sizeof(config_keys[0]))

/* Indexed by syslog priority.  emerg..crit are named for messages only:
 * log_level cannot go below err. */
static const char *const config_level_names[] = {
    "emerg", "alert", "crit",
    "err", "warning", "notice", "info", "debug",
};

void
config_defaults(struct config *c)
{
    /* Zeroed first so two default configs compare equal with memcmp. */
    memset(c, 0, sizeof(*c));
    if (config_listen_parse(CONFIG_DEFAULT_LISTEN, &c->listen[0], NULL, 0) == 0)
        c->nlisten = 1;
    c->workers = 0;
    snprintf(c->state_dir, sizeof(c->state_dir), "%s",
        CONFIG_DEFAULT_STATE_DIR);
    c->max_connections = 4096;
    c->max_body_size = 64 * 1024;
    c->header_timeout = 10;
    c->keepalive_timeout = 60;
    c->drain_timeout = 15;
    c->log_level = LOG_INFO;
    c->access_log = 1;
    c->registration = CONFIG_REGISTRATION_OPEN;
    c->min_password_length = 8;
    c->password_cost = 0;
    c->session_ttl = 3600;
    c->session_max_age = 86400;
    c->max_sessions = 10000;
    c->max_sessions_per_user = 10;
    c->cookie_secure = 0;
    c->ui = 1;
    c->storage = CONFIG_STORAGE_FILE;
    c->database_timeout = 5;
    c->session_cache_ttl = 1;
    c->login_max_failures = 10;
    c->login_account_max_failures = 0;     /* 10 x login_max_failures */
    c->login_window = 900;
    c->login_lockout = 900;
    c->registration_max_per_ip = 10;
    c->registration_window = 3600;
    c->max_connections_per_ip = 256;
}

int
config_load(struct config *c, const char *path, char *err, size_t errlen)
{
    struct config_ctx        ctx;
    const struct config_key *k;
    FILE                    *fp;
    char                     line[CONFIG_LINE_MAX + 2];
    char                    *key, *value;
    const char              *why;
    int                      seen[CONFIG_NKEYS] = { 0 };
    int                      listen_lines[CONFIG_MAX_LISTEN] = { 0 };
    int                      lineno = 0, rc = -1;
    enum config_read         r;

    if ((fp = fopen(path, "re")) == NULL) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    memset(&ctx, 0, sizeof(ctx));
    ctx.c = c;
    ctx.listen_replace = 1;
    ctx.listen_lines = listen_lines;
    snprintf(c->file, sizeof(c->file), "%s", path);

    for (;;) {
        lineno++;
        r = config_read_line(fp, line, sizeof(line), &why);
        if (r == CONFIG_READ_EOF)
            break;
        if (r == CONFIG_READ_IOERR) {
            snprintf(err, errlen, "%s: %s", path, strerror(errno));
            goto done;
        }
        if (r == CONFIG_READ_BAD) {
            config_file_err(err, errlen, path, lineno, "%s", why);
            goto done;
        }
        /* A UTF-8 byte order mark from a Windows editor is not part of
         * the first key. */
        key = line;
        if (lineno == 1 && strncmp(key, "\xef\xbb\xbf", 3) == 0)
            key += 3;
        switch (config_split_line(key, &key, &value)) {
        case 0:
            continue;
        case -1:
            config_file_err(err, errlen, path, lineno,
                "missing \"=\" (expected \"key = value\")");
            goto done;
        case -2:
            config_file_err(err, errlen, path, lineno,
                "missing key before \"=\"");
            goto done;
        }
        if ((k = config_key_find(key)) == NULL) {
            config_file_err(err, errlen, path, lineno, "unknown key \"%s\"",
                key);
            goto done;
        }
        if (*value == '\0') {
            config_file_err(err, errlen, path, lineno,
                "empty value for \"%s\"", key);
            goto done;
        }
        if (!k->repeatable && seen[k - config_keys] != 0) {
            config_file_err(err, errlen, path, lineno,
                "\"%s\" is already set on line %d", key, seen[k - config_keys]);
            goto done;
        }
        ctx.line = lineno;
        if (k->set(&ctx, value) == -1) {
            config_file_err(err, errlen, path, lineno, "%s: %s", key, ctx.why);
            goto done;
        }
        seen[k - config_keys] = lineno;
    }
    rc = 0;
done:
    fclose(fp);
    return rc;
}

int
config_set(struct config *c, const char *key, const char *value, int append,
    char *err, size_t errlen)
{
    return config_set_option(c, key, key, value, append, err, errlen);
}

int
config_set_option(struct config *c, const char *name, const char *key,
    const char *value, int append, char *err, size_t errlen)
{
    struct config_ctx        ctx;
    const struct config_key *k;

    if ((k = config_key_find(key)) == NULL) {
        snprintf(err, errlen, "%s: unknown key", name);
        return -1;
    }
    if (value == NULL || *value == '\0') {
        snprintf(err, errlen, "%s: empty value", name);
        return -1;
    }
    memset(&ctx, 0, sizeof(ctx));
    ctx.c = c;
    ctx.listen_replace = !append;
    if (k->set(&ctx, value) == -1) {
        snprintf(err, errlen, "%s: %s", name, ctx.why);
        return -1;
    }
    return 0;
}

int
config_read(const struct config_source *src, struct config *c, char *err,
    size_t errlen)
{
    int i;

    config_defaults(c);
    if (src->config_path != NULL &&
        (src->config_explicit || access(src->config_path, F_OK) == 0) &&
        config_load(c, src->config_path, err, errlen) == -1)
        return -1;
    for (i = 0; i < src->nlisten; i++)
        if (config_set_option(c, "--listen", "listen", src->listen[i], i > 0,
            err, errlen) == -1)
            return -1;
    if (src->workers != NULL && config_set_option(c, "--workers", "workers",
        src->workers, 0, err, errlen) == -1)
        return -1;
    if (src->state_dir != NULL && config_set_option(c, "--state-dir",
        "state_dir", src->state_dir, 0, err, errlen) == -1)
        return -1;
    /* Unset, the account's limit is ten times the address's. */
    if (c->login_account_max_failures == 0)
        c->login_account_max_failures = 10 * c->login_max_failures;
    return config_check(c, err, errlen);
}

/*
 * What only the whole configuration can tell: a TLS listener needs a
 * certificate and a key; a SameSite=None cookie needs Secure; the limit
 * per account must be above the one per address, or one address could
 * slow an account down for everybody.  0, or -1 with err naming where.
 */
static int
config_check(const struct config *c, char *err, size_t errlen)
{
    int i, tls = 0;

    for (i = 0; i < c->nlisten; i++) {
        const struct config_listen *l = &c->listen[i];

        if (!(l->flags & CONFIG_LISTEN_TLS))
            continue;
        tls = 1;
        if (c->tls_certificate[0] != '\0' && c->tls_key[0] != '\0')
            continue;
        if (l->line > 0)
            snprintf(err, errlen, "%s:%d: listen: \"%s tls\" needs "
                "tls_certificate and tls_key", c->file, l->line, l->text);
        else
            snprintf(err, errlen, "--listen: \"%s tls\" needs tls_certificate "
                "and tls_key", l->text);
        return -1;
    }
    if (config_check_metrics(c, err, errlen) == -1)
        return -1;
    if (c->cookie_samesite == CONFIG_SAMESITE_NONE && !tls && !c->cookie_secure) {
        snprintf(err, errlen, "%s: cookie_samesite = none needs a TLS listener "
            "or cookie_secure = yes (browsers drop SameSite=None cookies "
            "without Secure)", c->file[0] ? c->file : "configuration");
        return -1;
    }
    if (c->storage == CONFIG_STORAGE_POSTGRESQL && c->database_url[0] == '\0') {
        snprintf(err, errlen, "%s: storage = postgresql needs database_url",
            c->file[0] ? c->file : "configuration");
        return -1;
    }
    if (c->login_account_max_failures <= c->login_max_failures) {
        snprintf(err, errlen, "%s: login_account_max_failures (%ld) must be "
            "above login_max_failures (%ld), or one address could slow an "
            "account down for everyone", c->file[0] ? c->file : "configuration",
            c->login_account_max_failures, c->login_max_failures);
        return -1;
    }
    return 0;
}

/* metrics_listen may not be one of the API's addresses. */
static int
config_check_metrics(const struct config *c, char *err, size_t errlen)
{
    const struct config_listen *m = &c->metrics_listen;
    int                         i;

    if (m->addrlen == 0)
        return 0;
    for (i = 0; i < c->nlisten; i++) {
        if (!config_listen_same(&c->listen[i], m))
            continue;
        if (m->line > 0)
            snprintf(err, errlen, "%s:%d: metrics_listen: \"%s\" is also a "
                "listen address", c->file, m->line, m->text);
        else
            snprintf(err, errlen, "metrics_listen: \"%s\" is also a listen "
                "address", m->text);
        return -1;
    }
    return 0;
}

/* " tls proxy" after a listen address into CONFIG_LISTEN_* flags. */
static int
config_listen_flags(struct config_ctx *ctx, const char *s, int *flags)
{
    size_t n;

    *flags = 0;
    for (;;) {
        s += strspn(s, " \t");
        if (*s == '\0')
            return 0;
        n = strcspn(s, " \t");
        if (n == 3 && strncmp(s, "tls", 3) == 0)
            *flags |= CONFIG_LISTEN_TLS;
        else if (n == 5 && strncmp(s, "proxy", 5) == 0)
            *flags |= CONFIG_LISTEN_PROXY;
        else
            return config_why(ctx, "unknown flag \"%.*s\" (tls, proxy)",
                (int)n, s);
        s += n;
    }
}

int
config_parse_listen(const char *text, struct config_listen *l)
{
    return config_listen_parse(text, l, NULL, 0);
}

int
config_worker_count(const struct config *c)
{
    cpu_set_t   set;
    long        n;

    if (c->workers > 0)
        return c->workers;
    /* The affinity mask, not the machine: under taskset or a cgroup cpuset
     * we only get the CPUs we may run on. */
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof(set), &set) == 0)
        n = CPU_COUNT(&set);
    else
        n = sysconf(_SC_NPROCESSORS_ONLN);
    if (n < 1)
        n = 1;
    if (n > CONFIG_MAX_WORKERS)
        n = CONFIG_MAX_WORKERS;
    return (int)n;
}

const char *
config_log_level_name(int level)
{
    if (level < 0 || (size_t)level >= sizeof(config_level_names) /
        sizeof(config_level_names[0]))
        return "unknown";
    return config_level_names[level];
}

/* "PATH:LINE: reason" into err. */
static void
config_file_err(char *err, size_t errlen, const char *path, int line,
    const char *fmt, ...)
{
    va_list ap;
    int     n;

    n = snprintf(err, errlen, "%s:%d: ", path, line);
    if (n < 0 || (size_t)n >= errlen)
        return;
    va_start(ap, fmt);
    vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
    va_end(ap);
}

/* Formats the reason a value is refused into ctx->why; returns -1. */
static int
config_why(struct config_ctx *ctx, const char *fmt, ...)
{
    va_list ap;

    /* A reason cut short at CONFIG_ERR_LEN is still a reason: the result
     * of vsnprintf needs no other check here. */
    va_start(ap, fmt);
    vsnprintf(ctx->why, sizeof(ctx->why), fmt, ap);
    va_end(ap);
    return -1;
}

/*
 * strtonum(3) without the sign: s must be one or more decimal digits and
 * nothing else, with a value in min..max.  Returns 0, or -1 with *errstr
 * "not a number" or "out of range".  min must be >= 0.
 */
static int
config_number(const char *s, long min, long max, long *out, const char **errstr)
{
    const char *p;
    long        v = 0;
    int         over = 0;

    if (*s == '\0') {
        *errstr = "not a number";
        return -1;
    }
    for (p = s; *p != '\0'; p++) {
        if (*p < '0' || *p > '9') {
            *errstr = "not a number";
            return -1;
        }
        /* Stop accumulating past max but keep checking the digits, so
         * "99999999999999999999x" is "not a number", not "out of range". */
        if (!over) {
            if (v > (max - (*p - '0')) / 10)
                over = 1;
            else
                v = v * 10 + (*p - '0');
        }
    }
    if (over || v < min || v > max) {
        *errstr = "out of range";
        return -1;
    }
    *out = v;
    return 0;
}

/* A plain number in min..max; unit ("seconds") is only for the message. */
static int
config_range(struct config_ctx *ctx, const char *value, long min, long max,
    const char *unit, long *dst)
{
    const char *errstr;
    long        v;

    if (config_number(value, min, max, &v, &errstr) == -1)
        return config_why(ctx, "\"%s\" is %s (%ld..%ld%s%s)", value, errstr,
            min, max, *unit ? " " : "", unit);
    *dst = v;
    return 0;
}

/*
 * ":PORT" and "localhost:PORT": the two names everyone types, without a
 * resolver ("localhost" is 127.0.0.1 here, as in /etc/hosts).
 */
static int
config_listen_named(const char *text, struct config_listen *l, char *why,
    size_t whylen)
{
    struct config_listen n;
    const char          *port = strchr(text, ':') + 1, *errstr;
    long                 portnum;

    if (strlen(text) >= sizeof(n.text)) {
        snprintf(why, whylen, "\"%s\" is longer than %zu bytes", text,
            sizeof(n.text) - 1);
        return -1;
    }
    if (config_number(port, 1, 65535, &portnum, &errstr) == -1) {
        snprintf(why, whylen, "\"%s\": port \"%s\" is %s (1..65535)", text,
            port, errstr);
        return -1;
    }
    memset(&n, 0, sizeof(n));
    if (text[0] == ':') {
        struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&n.addr;

        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons((uint16_t)portnum);
        sin6->sin6_addr = in6addr_any;
        n.addrlen = sizeof(*sin6);
        n.dual = 1;
    } else {
        struct sockaddr_in *sin = (struct sockaddr_in *)&n.addr;

        sin->sin_family = AF_INET;
        sin->sin_port = htons((uint16_t)portnum);
        sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        n.addrlen = sizeof(*sin);
    }
    memcpy(n.text, text, strlen(text) + 1);
    *l = n;
    return 0;
}

/*
 * "A.B.C.D:PORT", "[IPv6]:PORT", "localhost:PORT" or ":PORT".  No other
 * host names: a daemon that resolves names at start-up depends on DNS
 * being up before it.  why may be NULL.
 */
static int
config_listen_parse(const char *text, struct config_listen *l, char *why,
    size_t whylen)
{
    struct config_listen     n;
    char                     host[64], scratch[CONFIG_ERR_LEN];
    const char              *port, *end, *errstr;
    size_t                   hlen;
    long                     portnum;
    int                      v6;

    if (why == NULL || whylen == 0) {
        why = scratch;      /* the caller does not want the reason */
        whylen = sizeof(scratch);
    }
    if (strlen(text) >= sizeof(n.text)) {
        snprintf(why, whylen, "\"%s\" is longer than %zu bytes", text,
            sizeof(n.text) - 1);
        return -1;
    }
    if ((text[0] == ':' && strchr(text + 1, ':') == NULL) ||
        strncmp(text, "localhost:", 10) == 0)
        return config_listen_named(text, l, why, whylen);
    if (text[0] == '[') {
        v6 = 1;
        if ((end = strchr(text, ']')) == NULL) {
            snprintf(why, whylen, "\"%s\": missing \"]\"", text);
            return -1;
        }
        hlen = (size_t)(end - text - 1);
        memcpy(host, text + 1, hlen);
        if (end[1] == '\0') {
            snprintf(why, whylen, "\"%s\": missing \":PORT\" (e.g. [::1]:8080)",
                text);
            return -1;
        }
        if (end[1] != ':') {
            snprintf(why, whylen, "\"%s\": expected \":\" after \"]\"", text);
            return -1;
        }
        port = end + 2;
    } else {
        v6 = 0;
        if ((end = strrchr(text, ':')) == NULL) {
            snprintf(why, whylen,
                "\"%s\": missing \":PORT\" (e.g. 127.0.0.1:8080)", text);
            return -1;
        }
        if (memchr(text, ':', (size_t)(end - text)) != NULL) {
            snprintf(why, whylen, "\"%s\": an IPv6 address goes in brackets "
                "(e.g. [::1]:8080)", text);
            return -1;
        }
        hlen = (size_t)(end - text);
        memcpy(host, text, hlen);
        port = end + 1;
    }
    host[hlen] = '\0';      /* hlen < strlen(text) < sizeof(host) */
    if (hlen == 0) {
        snprintf(why, whylen, "\"%s\": missing address", text);
        return -1;
    }
    if (config_number(port, 1, 65535, &portnum, &errstr) == -1) {
        snprintf(why, whylen, "\"%s\": port \"%s\" is %s (1..65535)", text,
            port, errstr);
        return -1;
    }

    if (config_listen_address(text, host, v6, (uint16_t)portnum, &n, why,
        whylen) == -1)
        return -1;
    memcpy(n.text, text, strlen(text) + 1);
    *l = n;
    return 0;
}

/* host (IPv6 when v6) and port into n's address; -1 with why when host is
 * not an address of that family. */
static int
config_listen_address(const char *text, const char *host, int v6,
    uint16_t port, struct config_listen *n, char *why, size_t whylen)
{
    struct sockaddr_in  *sin;
    struct sockaddr_in6 *sin6;

    memset(n, 0, sizeof(*n));
    if (v6) {
        sin6 = (struct sockaddr_in6 *)&n->addr;
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons(port);
        if (inet_pton(AF_INET6, host, &sin6->sin6_addr) != 1) {
            snprintf(why, whylen, "\"%s\": \"%s\" is not an IPv6 address",
                text, host);
            return -1;
        }
        n->addrlen = sizeof(*sin6);
    } else {
        sin = (struct sockaddr_in *)&n->addr;
        sin->sin_family = AF_INET;
        sin->sin_port = htons(port);
        if (inet_pton(AF_INET, host, &sin->sin_addr) != 1) {
            snprintf(why, whylen, "\"%s\": \"%s\" is not an IPv4 address",
                text, host);
            return -1;
        }
        n->addrlen = sizeof(*sin);
    }
    return 0;
}


int
config_listen_same(const struct config_listen *a, const struct config_listen *b)
{
    const struct sockaddr_in  *a4, *b4;
    const struct sockaddr_in6 *a6, *b6;

    if (a->addr.ss_family != b->addr.ss_family || a->dual != b->dual)
        return 0;
    if (a->addr.ss_family == AF_INET) {
        a4 = (const struct sockaddr_in *)&a->addr;
        b4 = (const struct sockaddr_in *)&b->addr;
        return a4->sin_port == b4->sin_port &&
            a4->sin_addr.s_addr == b4->sin_addr.s_addr;
    }
    a6 = (const struct sockaddr_in6 *)&a->addr;
    b6 = (const struct sockaddr_in6 *)&b->addr;
    return a6->sin6_port == b6->sin6_port &&
        memcmp(&a6->sin6_addr, &b6->sin6_addr, sizeof(a6->sin6_addr)) == 0;
}

static const struct config_key *
config_key_find(const char *name)
{
    size_t i;

    for (i = 0; i < CONFIG_NKEYS; i++)
        if (strcmp(config_keys[i].name, name) == 0)
            return &config_keys[i];
    return NULL;
}

/*
 * Reads one line without its "\n" or "\r\n" into line (size must be
 * CONFIG_LINE_MAX + 2).  Refuses, with *why, a line longer than
 * CONFIG_LINE_MAX and bytes that have no place in a text file: NUL and
 * control characters other than tab.  The last line needs no "\n".
 */
static enum config_read
config_read_line(FILE *fp, char *line, size_t size, const char **why)
{
    size_t  i, len = 0;
    int     ch;

    for (;;) {
        ch = getc(fp);
        if (ch == EOF) {
            if (ferror(fp))
                return CONFIG_READ_IOERR;
            if (len == 0)
                return CONFIG_READ_EOF;
            break;
        }
        if (ch == '\n')
            break;
        if (ch == '\0') {
            *why = "NUL byte in line (not a text file?)";
            return CONFIG_READ_BAD;
        }
        /* Room for CONFIG_LINE_MAX bytes, a possible '\r', and the NUL. */
        if (len + 1 >= size) {
            *why = "line is longer than " CONFIG_STR(CONFIG_LINE_MAX) " bytes";
            return CONFIG_READ_BAD;
        }
        line[len++] = (char)ch;
    }
    if (len > 0 && line[len - 1] == '\r')
        len--;
    line[len] = '\0';
    if (len > CONFIG_LINE_MAX) {
        *why = "line is longer than " CONFIG_STR(CONFIG_LINE_MAX) " bytes";
        return CONFIG_READ_BAD;
    }
    for (i = 0; i < len; i++) {
        if (((unsigned char)line[i] < 0x20 && line[i] != '\t') ||
            line[i] == 0x7f) {
            *why = "control character in line (not a text file?)";
            return CONFIG_READ_BAD;
        }
    }
    return CONFIG_READ_LINE;
}

/*
 * Splits "key = value  # comment" in place.  Returns 1 with *key and
 * *value trimmed (value may be empty), 0 for a blank or comment line,
 * -1 when there is no '=', -2 when there is no key.
 */
static int
config_split_line(char *s, char **key, char **value)
{
    char   *eq, *p, *end;

    while (*s == ' ' || *s == '\t')
        s++;
    if (*s == '\0' || *s == '#')
        return 0;
    /* '#' starts a comment only after a blank, so "a#b" stays a value. */
    for (p = s + 1; *p != '\0'; p++) {
        if (*p == '#' && (p[-1] == ' ' || p[-1] == '\t')) {
            *p = '\0';
            break;
        }
    }
    end = s + strlen(s);
    while (end > s && (end[-1] == ' ' || end[-1] == '\t'))
        *--end = '\0';
    if ((eq = strchr(s, '=')) == NULL)
        return -1;
    *eq = '\0';
    for (p = eq; p > s && (p[-1] == ' ' || p[-1] == '\t'); p--)
        p[-1] = '\0';
    if (*s == '\0')
        return -2;
    for (p = eq + 1; *p == ' ' || *p == '\t'; p++)
        ;
    *key = s;
    *value = p;
    return 1;
}

/*
 * The first listen of a file (or config_set with append = 0) replaces the
 * list, so the default 127.0.0.1:8080 never lingers next to what the
 * administrator wrote; later ones add to it.
 */
static int
config_set_listen(struct config_ctx *ctx, const char *value)
{
    struct config          *c = ctx->c;
    struct config_listen    l;
    char                    as[sizeof(l.text) + 8] = "", where[32] = "";
    int                     i;

    char                    addr[sizeof(l.text) + 1];
    size_t                  alen = strcspn(value, " \t");
    int                     flags;

    if (alen >= sizeof(addr))
        return config_why(ctx, "\"%.*s\" is longer than %zu bytes", (int)alen,
            value, sizeof(l.text) - 1);
    memcpy(addr, value, alen);
    addr[alen] = '\0';
    if (config_listen_flags(ctx, value + alen, &flags) == -1 ||
        config_listen_parse(addr, &l, ctx->why, sizeof(ctx->why)) == -1)
        return -1;
    l.flags = flags;
    l.line = ctx->line;
    value = addr;
    if (ctx->listen_replace) {
        c->nlisten = 0;
        ctx->listen_replace = 0;
    }
    for (i = 0; i < c->nlisten; i++) {
        if (config_listen_same(&c->listen[i], &l))
            break;
    }
    if (i < c->nlisten) {
        /* Say which entry it repeats when it was written differently
         * ("[0::1]:80" and "[::1]:80") or came from another line. */
        if (strcmp(value, c->listen[i].text) != 0)
            snprintf(as, sizeof(as), " as \"%s\"", c->listen[i].text);
        if (ctx->listen_lines != NULL && ctx->listen_lines[i] != 0)
            snprintf(where, sizeof(where), " on line %d", ctx->listen_lines[i]);
        return config_why(ctx, "\"%s\" is already listed%s%s", value, as,
            where);
    }
    if (c->nlisten >= CONFIG_MAX_LISTEN)
        return config_why(ctx, "more than %d addresses", CONFIG_MAX_LISTEN);
    c->listen[c->nlisten] = l;
    if (ctx->listen_lines != NULL)
        ctx->listen_lines[c->nlisten] = ctx->line;
    c->nlisten++;
    return 0;
}

static int
config_set_workers(struct config_ctx *ctx, const char *value)
{
    const char *errstr;
    long        n;

    if (strcasecmp(value, "auto") == 0) {
        ctx->c->workers = 0;
        return 0;
    }
    if (config_number(value, 1, CONFIG_MAX_WORKERS, &n, &errstr) == -1)
        return config_why(ctx, "\"%s\" is %s (1..%d, or auto)", value, errstr,
            CONFIG_MAX_WORKERS);
    ctx->c->workers = (int)n;
    return 0;
}

static int
config_set_state_dir(struct config_ctx *ctx, const char *value)
{
    size_t len = strlen(value);

    if (len >= sizeof(ctx->c->state_dir))
        return config_why(ctx, "path is longer than %zu bytes",
            sizeof(ctx->c->state_dir) - 1);
    memcpy(ctx->c->state_dir, value, len + 1);
    return 0;
}

static int
config_set_max_connections(struct config_ctx *ctx, const char *value)
{
    return config_range(ctx, value, 1, CONFIG_MAX_CONNECTIONS, "",
        &ctx->c->max_connections);
}

/* Bytes, or KiB / MiB with a k or m suffix in either case. */
static int
config_set_max_body_size(struct config_ctx *ctx, const char *value)
{
    char        digits[32];
    const char *errstr;
    size_t      len = strlen(value);
    long        mult = 1, n;

    if (len > 0 && (value[len - 1] == 'k' || value[len - 1] == 'K'))
        mult = 1024;
    else if (len > 0 && (value[len - 1] == 'm' || value[len - 1] == 'M'))
        mult = 1024 * 1024;
    if (mult != 1)
        len--;
    if (len >= sizeof(digits)) {
        errstr = "not a number";
        goto bad;
    }
    memcpy(digits, value, len);
    digits[len] = '\0';
    /* Bounding the digits by max / mult keeps n * mult in range. */
    if (config_number(digits, 1, CONFIG_MAX_BODY_SIZE / mult, &n,
        &errstr) == -1)
        goto bad;
    ctx->c->max_body_size = n * mult;
    return 0;
bad:
    return config_why(ctx, "\"%s\" is %s (1..%ld bytes, or with a k or m "
        "suffix up to 64m)", value, errstr, CONFIG_MAX_BODY_SIZE);
}

static int
config_set_header_timeout(struct config_ctx *ctx, const char *value)
{
    return config_range(ctx, value, 1, CONFIG_MAX_TIMEOUT, "seconds",
        &ctx->c->header_timeout);
}

static int
config_set_keepalive_timeout(struct config_ctx *ctx, const char *value)
{
    return config_range(ctx, value, 0, CONFIG_MAX_TIMEOUT, "seconds",
        &ctx->c->keepalive_timeout);
}

static int
config_set_drain_timeout(struct config_ctx *ctx, const char *value)
{
    return config_range(ctx, value, 0, CONFIG_MAX_TIMEOUT, "seconds",
        &ctx->c->drain_timeout);
}

static int
config_set_log_level(struct config_ctx *ctx, const char *value)
{
    int level;

    /* Below err there is nothing useful to turn off. */
    for (level = LOG_ERR; level <= LOG_DEBUG; level++) {
        if (strcasecmp(value, config_level_names[level]) == 0) {
            ctx->c->log_level = level;
            return 0;
        }
    }
    return config_why(ctx, "\"%s\" is not one of err, warning, notice, info, "
        "debug", value);
}

static int
config_set_access_log(struct config_ctx *ctx, const char *value)
{
    return config_bool(ctx, value, &ctx->c->access_log);
}

/* An address as for listen, without flags; "off" (the default) for none. */
static int
config_set_metrics_listen(struct config_ctx *ctx, const char *value)
{
    struct config_listen l;

    if (strcasecmp(value, "off") == 0) {
        memset(&ctx->c->metrics_listen, 0, sizeof(ctx->c->metrics_listen));
        return 0;
    }
    if (config_listen_parse(value, &l, ctx->why, sizeof(ctx->why)) == -1)
        return -1;
    l.flags = CONFIG_LISTEN_METRICS;
    l.line = ctx->line;
    ctx->c->metrics_listen = l;
    return 0;
}

static int
config_set_cookie_secure(struct config_ctx *ctx, const char *value)
{
    return config_bool(ctx, value, &ctx->c->cookie_secure);
}

static int
config_set_ui(struct config_ctx *ctx, const char *value)
{
    return config_bool(ctx, value, &ctx->c->ui);
}

static int
config_bool(struct config_ctx *ctx, const char *value, int *out)
{
    static const char *const yes[] = { "yes", "on", "true", "1" };
    static const char *const no[] = { "no", "off", "false", "0" };
    size_t i;

    for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
        if (strcasecmp(value, yes[i]) == 0) {
            *out = 1;
            return 0;
        }
        if (strcasecmp(value, no[i]) == 0) {
            *out = 0;
            return 0;
        }
    }
    return config_why(ctx, "\"%s\" is not yes or no (or on/off, true/false, "
        "1/0)", value);
}

static int
config_set_registration(struct config_ctx *ctx, const char *value)
{
    static const char *const names[] = { "open", "admin", "closed" };
    int i;

    for (i = 0; i < 3; i++) {
        if (strcasecmp(value, names[i]) == 0) {
            ctx->c->registration = i;
            return 0;
        }
    }
    return config_why(ctx, "\"%s\" is not one of open, admin, closed", value);
}

static int
config_set_min_password_length(struct config_ctx *ctx, const char *value)
{
    return config_range(ctx, value, 2, CONFIG_MAX_PASSWORD, "bytes",
        &ctx->c->min_password_length);
}

/* "default" leaves the cost to libxcrypt. */
static int
config_set_password_cost(struct config_ctx *ctx, const char *value)
{
    if (strcasecmp(value, "default") == 0) {
        ctx->c->password_cost = 0;
        return 0;
    }
    return config_range(ctx, value, 1, 11, "or default",
        &ctx->c->password_cost);
}

static int
config_set_session_ttl(struct config_ctx *ctx, const char *value)
{
    return config_range(ctx, value, 1, 2592000, "seconds",
        &ctx->c->session_ttl);
}

static int
config_set_session_max_age(struct config_ctx *ctx, const char *value)
{
    return config_range(ctx, value, 1, 31536000, "seconds",
        &ctx->c->session_max_age);
}

static int
config_set_max_sessions(struct config_ctx *ctx, const char *value)
{
    return config_range(ctx, value, 1, 1000000, "",
        &ctx->c->max_sessions);
}

static int
config_set_max_sessions_per_user(struct config_ctx *ctx, const char *value)
{
    return config_range(ctx, value, 1, 1000000, "",
        &ctx->c->max_sessions_per_user);
}

static int
config_set_login_max_failures(struct config_ctx *ctx, const char *value)
{
    return config_range(ctx, value, 1, 1000000, "",
        &ctx->c->login_max_failures);
}

static int
config_set_login_window(struct config_ctx *ctx, const char *value)
{
    return config_range(ctx, value, 1, 86400, "seconds",
        &ctx->c->login_window);
}

static int
config_set_login_lockout(struct config_ctx *ctx, const char *value)
{
    return config_range(ctx, value, 1, 86400, "seconds",
        &ctx->c->login_lockout);
}

static int
config_set_registration_max_per_ip(struct config_ctx *ctx, const char *value)
{
    return config_range(ctx, value, 1, 1000000, "",
        &ctx->c->registration_max_per_ip);
}

static int
config_set_registration_window(struct config_ctx *ctx, const char *value)
{
    return config_range(ctx, value, 1, 86400, "seconds",
        &ctx->c->registration_window);
}

static int
config_set_max_connections_per_ip(struct config_ctx *ctx, const char *value)
{
    return config_range(ctx, value, 1, CONFIG_MAX_CONNECTIONS, "",
        &ctx->c->max_connections_per_ip);
}

void
config_session(const struct config *c, struct session_cfg *out)
{
    out->ttl = c->session_ttl;
    out->max_age = c->session_max_age;
    out->max_sessions = c->max_sessions;
    out->max_per_user = c->max_sessions_per_user;
}

static int
config_set_cookie_samesite(struct config_ctx *ctx, const char *value)
{
    static const char *const names[] = { "strict", "lax", "none" };
    int i;

    for (i = 0; i < 3; i++) {
        if (strcasecmp(value, names[i]) == 0) {
            ctx->c->cookie_samesite = i;
            return 0;
        }
    }
    return config_why(ctx, "\"%s\" is not one of strict, lax, none", value);
}

const char *
config_samesite_name(int samesite)
{
    return samesite == CONFIG_SAMESITE_NONE ? "None" :
        samesite == CONFIG_SAMESITE_LAX ? "Lax" : "Strict";
}

static int
config_set_tls_certificate(struct config_ctx *ctx, const char *value)
{
    if (config_secret_path(ctx, value, ctx->c->tls_certificate,
        sizeof(ctx->c->tls_certificate)) == -1)
        return -1;
    if (ctx->c->tls_line == 0)
        ctx->c->tls_line = ctx->line;
    return 0;
}

static int
config_set_tls_key(struct config_ctx *ctx, const char *value)
{
    if (config_secret_path(ctx, value, ctx->c->tls_key,
        sizeof(ctx->c->tls_key)) == -1)
        return -1;
    if (ctx->c->tls_line == 0)
        ctx->c->tls_line = ctx->line;
    return 0;
}

/*
 * A secret file's path (a TLS key, the database password): absolute, or
 * "credential:NAME" for a file systemd passed with LoadCredential=
 * ($CREDENTIALS_DIRECTORY/NAME), so that the sandboxed service never
 * reads /etc/ssl/private itself.
 */
static int
config_secret_path(struct config_ctx *ctx, const char *value, char *out,
    size_t outlen)
{
    const char *dir, *name;
    int         n;

    if (strncmp(value, "credential:", 11) == 0) {
        name = value + 11;
        if (*name == '\0' || strchr(name, '/') != NULL || strcmp(name, "..") == 0 ||
            strcmp(name, ".") == 0)
            return config_why(ctx, "\"%s\": a credential is a plain file name",
                value);
        if ((dir = getenv("CREDENTIALS_DIRECTORY")) == NULL || *dir == '\0')
            return config_why(ctx, "\"%s\": CREDENTIALS_DIRECTORY is not set "
                "(LoadCredential= in the unit sets it)", value);
        n = snprintf(out, outlen, "%s/%s", dir, name);
    } else if (value[0] != '/') {
        return config_why(ctx, "\"%s\" is not an absolute path or "
            "credential:NAME", value);
    } else {
        n = snprintf(out, outlen, "%s", value);
    }
    if (n < 0 || (size_t)n >= outlen)
        return config_why(ctx, "\"%s\": path too long", value);
    return 0;
}

static int
config_set_storage(struct config_ctx *ctx, const char *value)
{
    if (strcasecmp(value, "file") == 0)
        ctx->c->storage = CONFIG_STORAGE_FILE;
    else if (strcasecmp(value, "postgresql") == 0)
        ctx->c->storage = CONFIG_STORAGE_POSTGRESQL;
    else
        return config_why(ctx, "\"%s\" is not one of file, postgresql", value);
    return 0;
}

/* A libpq connection string or URI.  Its syntax is libpq's to judge when
 * it connects; the value may hold a password, so no error repeats it. */
static int
config_set_database_url(struct config_ctx *ctx, const char *value)
{
    if (strlen(value) >= sizeof(ctx->c->database_url))
        return config_why(ctx, "too long (at most %zu bytes)",
            sizeof(ctx->c->database_url) - 1);
    snprintf(ctx->c->database_url, sizeof(ctx->c->database_url), "%s", value);
    return 0;
}

static int
config_set_database_password_file(struct config_ctx *ctx, const char *value)
{
    return config_secret_path(ctx, value, ctx->c->database_password_file,
        sizeof(ctx->c->database_password_file));
}

static int
config_set_database_timeout(struct config_ctx *ctx, const char *value)
{
    return config_range(ctx, value, 1, 300, "seconds",
        &ctx->c->database_timeout);
}

static int
config_set_session_cache_ttl(struct config_ctx *ctx, const char *value)
{
    return config_range(ctx, value, 0, 60, "seconds",
        &ctx->c->session_cache_ttl);
}

static int
config_set_hsts_max_age(struct config_ctx *ctx, const char *value)
{
    return config_range(ctx, value, 0, 63072000, "seconds",
        &ctx->c->hsts_max_age);
}

static int
config_set_trusted_proxies(struct config_ctx *ctx, const char *value)
{
    if (netaddr_cidr_list_parse(value, strlen(value), ctx->c->trusted_proxies,
        &ctx->c->ntrusted_proxies, ctx->why, sizeof(ctx->why)) == -1)
        return -1;
    return 0;
}

/*
 * "https://app.example.com, http://localhost:3000": a list of origins as
 * browsers send them in Origin (scheme, host, optional port; no path).
 */
static int
config_set_cors_origins(struct config_ctx *ctx, const char *value)
{
    struct config *c = ctx->c;
    const char    *p = value;
    size_t         n;

    c->ncors_origins = 0;
    for (;;) {
        p += strspn(p, " \t,");
        if (*p == '\0')
            return 0;
        n = strcspn(p, " \t,");
        if (!config_origin_ok(p, n))
            return config_why(ctx, "\"%.*s\" is not an origin (scheme://host"
                "[:port], as a browser sends it)", (int)(n > 80 ? 80 : n), p);
        if (c->ncors_origins == CONFIG_MAX_ORIGINS)
            return config_why(ctx, "more than %d origins", CONFIG_MAX_ORIGINS);
        memcpy(c->cors_origins[c->ncors_origins], p, n);
        c->cors_origins[c->ncors_origins++][n] = '\0';
        p += n;
    }
}

/* http:// or https://, then a host of [a-z0-9.-] (or [IPv6]) and an
 * optional :port; lower case, as browsers serialise origins. */
static int
config_origin_ok(const char *s, size_t len)
{
    size_t i, host;

    if (len > CONFIG_ORIGIN_MAX)
        return 0;
    if (len > 7 && strncmp(s, "http://", 7) == 0)
        host = 7;
    else if (len > 8 && strncmp(s, "https://", 8) == 0)
        host = 8;
    else
        return 0;
    for (i = host; i < len; i++) {
        char ch = s[i];

        if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
            ch == '.' || ch == '-' || ch == ':' || ch == '[' || ch == ']'))
            return 0;
    }
    return len > host && s[len - 1] != ':';
}

int
config_cors_allowed(const struct config *c, const char *origin, size_t len)
{
    int i;

    for (i = 0; i < c->ncors_origins; i++)
        if (strlen(c->cors_origins[i]) == len &&
            memcmp(c->cors_origins[i], origin, len) == 0)
            return 1;
    return 0;
}

static int
config_set_login_account_max_failures(struct config_ctx *ctx, const char *value)
{
    /* Up to ten times login_max_failures' top, so that its default is
     * always above it. */
    return config_range(ctx, value, 1, 10000000, "",
        &ctx->c->login_account_max_failures);
}
