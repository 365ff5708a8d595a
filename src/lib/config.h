/* SPDX-License-Identifier: MIT */
/*
 * config.h - userapid's configuration: defaults, the file parser, and
 * command-line overrides.
 *
 * The file is "key = value" lines with '#' comments.  Every key is a row in
 * one table in config.c; every number is range-checked; every error names
 * FILE:LINE.  A struct config is plain data: copying it is fine.
 */
#ifndef USERAPID_CONFIG_H
#define USERAPID_CONFIG_H

#include <stddef.h>
#include <sys/socket.h>

#include "netaddr.h"

#ifndef SYSCONFDIR
#define SYSCONFDIR "/etc"
#endif
#define CONFIG_DEFAULT_PATH  SYSCONFDIR "/userapid/userapid.conf"
#define CONFIG_MAX_LISTEN    16
#define CONFIG_MAX_WORKERS   256
#define CONFIG_ERR_LEN       512
#define CONFIG_LINE_MAX      4096   /* bytes per line, without the line end */
#define CONFIG_MAX_ORIGINS   16
#define CONFIG_ORIGIN_MAX    256    /* bytes of one origin, without the NUL */

/* Flags written after a listen address ("0.0.0.0:443 tls proxy"). */
#define CONFIG_LISTEN_TLS    0x1    /* TLS on this socket */
#define CONFIG_LISTEN_PROXY  0x2    /* a PROXY protocol header first */
#define CONFIG_LISTEN_METRICS 0x4   /* serves GET /metrics only: metrics_listen,
                                       or a socket named "metrics" */

struct config_listen {
    struct sockaddr_storage addr;
    socklen_t               addrlen;
    int                     dual;       /* ":PORT": IPv6 and IPv4 on one socket */
    int                     flags;      /* CONFIG_LISTEN_* */
    int                     line;       /* in the file; 0: command line, default */
    char                    text[64];   /* the address as written: "[::]:80" */
};

struct config {
    char         file[4096];            /* the file loaded, or "" */
    struct config_listen listen[CONFIG_MAX_LISTEN];
    int          nlisten;
    int          workers;               /* 0 means auto: the number of CPUs */
    char         state_dir[4096];
    long         max_connections;
    long         max_body_size;         /* bytes */
    long         header_timeout;        /* seconds */
    long         keepalive_timeout;     /* seconds; 0 disables keep-alive */
    long         drain_timeout;         /* seconds */
    int          log_level;             /* LOG_ERR .. LOG_DEBUG from <syslog.h> */
    int          access_log;            /* 0 or 1 */
    struct config_listen metrics_listen; /* GET /metrics; addrlen 0: off */

    /* Accounts and sessions. */
    int          registration;          /* CONFIG_REGISTRATION_* */
    long         min_password_length;   /* bytes, 2..1024 */
    long         password_cost;         /* yescrypt cost 1..11; 0: libxcrypt's default */
    long         session_ttl;           /* seconds idle */
    long         session_max_age;       /* seconds since login */
    long         max_sessions;
    long         max_sessions_per_user;
    int          cookie_secure;         /* add Secure to the session cookie */
    int          cookie_samesite;       /* CONFIG_SAMESITE_* */
    int          ui;                    /* serve the web app at /ui/ */

    /* TLS and the network in front. */
    char         tls_certificate[4096]; /* PEM, leaf then chain; "" none */
    char         tls_key[4096];         /* PEM */
    int          tls_line;              /* where the first TLS key was set */
    long         hsts_max_age;          /* seconds; 0: no HSTS header */
    struct netaddr_cidr trusted_proxies[NETADDR_MAX_CIDRS];
    size_t       ntrusted_proxies;
    char         cors_origins[CONFIG_MAX_ORIGINS][CONFIG_ORIGIN_MAX + 1];
    int          ncors_origins;

    /* Where users, sessions and login counts live. */
    int          storage;               /* CONFIG_STORAGE_* */
    char         database_url[4096];    /* libpq conninfo or URI; may hold a
                                           password: never logged */
    char         database_password_file[4096]; /* "" none */
    long         database_timeout;      /* seconds a request waits for it */
    long         session_cache_ttl;     /* seconds a worker trusts a session
                                           it has checked; 0: never */

    /* Abuse limits. */
    long         login_max_failures;    /* per address */
    long         login_account_max_failures; /* per account, all addresses;
                                           0 until config_read: 10 x the above */
    long         login_window;          /* seconds the failures are counted over */
    long         login_lockout;         /* seconds logins are refused after */
    long         registration_max_per_ip; /* self-registrations per address */
    long         registration_window;   /* seconds they are counted over */
    long         max_connections_per_ip;
};

#define CONFIG_REGISTRATION_OPEN    0   /* anyone may create an account */
#define CONFIG_REGISTRATION_ADMIN   1   /* only admins may */
#define CONFIG_REGISTRATION_CLOSED  2   /* nobody, over HTTP */
#define CONFIG_MAX_PASSWORD         1024

#define CONFIG_STORAGE_FILE         0   /* users.db, sessions, throttle */
#define CONFIG_STORAGE_POSTGRESQL   1   /* database_url */

#define CONFIG_SAMESITE_STRICT      0
#define CONFIG_SAMESITE_LAX         1
#define CONFIG_SAMESITE_NONE        2

/* "Strict", "Lax" or "None", as the Set-Cookie attribute spells it. */
const char *config_samesite_name(int samesite);

/* Whether origin[0..len) is one of c's cors_origins (exact match). */
int  config_cors_allowed(const struct config *c, const char *origin, size_t len);

/* Fills in every default. */
void config_defaults(struct config *c);

/*
 * Reads path over the current values of c.  Returns 0, or -1 with err set
 * to "PATH:LINE: reason" (or "PATH: reason" when it cannot be read).
 * A "listen" line in the file replaces the default listen list; further
 * "listen" lines add to it.  On error c may be partly changed: load into a
 * copy when the old values must survive.
 */
int  config_load(struct config *c, const char *path, char *err, size_t errlen);

/*
 * Sets one key from a string, as the file would (used for command-line
 * overrides).  Returns 0, or -1 with err set to "KEY: reason".
 * For "listen", append = 0 replaces the list and 1 adds to it.
 */
int  config_set(struct config *c, const char *key, const char *value, int append,
         char *err, size_t errlen);

/* As config_set, the error naming the command-line option name instead
 * of the key: "--listen: reason". */
int  config_set_option(struct config *c, const char *name, const char *key,
         const char *value, int append, char *err, size_t errlen);

/* Where a configuration comes from: the file, then command-line options
 * that override it (NULL or 0 when not given). */
struct config_source {
    const char *config_path;            /* NULL: no file */
    int         config_explicit;        /* given: a missing file is an error */
    const char *listen[CONFIG_MAX_LISTEN];
    int         nlisten;                /* the first replaces the file's list */
    const char *workers;
    const char *state_dir;
};

/*
 * Defaults, then the file (a missing one is fine unless given
 * explicitly), then the options.  The one way userapid and userapictl
 * read their configuration.  0, or -1 with err set ("PATH:LINE: reason",
 * "--listen: reason").
 */
int  config_read(const struct config_source *src, struct config *c, char *err,
         size_t errlen);

/*
 * Parses a listen address into l: "A.B.C.D:PORT", "[IPv6]:PORT",
 * "localhost:PORT" (127.0.0.1) or ":PORT" (every address, IPv6 and IPv4 on
 * one socket).  Returns 0 or -1.
 */
int  config_parse_listen(const char *text, struct config_listen *l);

/* Whether a and b are the same family, address and port, however each
 * was written ("127.0.0.1:80" and "127.0.0.1:080"). */
int  config_listen_same(const struct config_listen *a,
         const struct config_listen *b);

struct session_cfg;

/* The session table's limits that c sets (session.h). */
void config_session(const struct config *c, struct session_cfg *out);

/* The worker count after resolving auto. */
int  config_worker_count(const struct config *c);

/* Name of a log level ("info"), for messages. */
const char *config_log_level_name(int level);

#endif
