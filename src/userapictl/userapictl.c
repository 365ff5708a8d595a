/* SPDX-License-Identifier: MIT */
/*
 * userapictl.c - the local administration tool: users and sessions in the
 * state directory, changed through userdb and session under the same locks
 * as a running userapid, whose workers see each change on their next
 * request.  See userapictl(8).
 *
 * It reads the daemon's configuration (the same file and defaults) for the
 * state directory, the password rules and cost, and the session limits:
 * opening the session table with another max_sessions would resize it.
 *
 * Only useradd and import may create users.db; the other commands refuse
 * a state directory without one, and create nothing there, so a mistyped
 * --state-dir is an error rather than a new database.  No command creates
 * the session table: without one there is no session to touch.
 *
 * Run as root on a state directory that belongs to another user (the
 * packaged daemon runs as a DynamicUser), the files it created or replaced
 * would be root's, and the daemon could not open them: they are given to
 * the owner of users.db as it was (or of the directory) once done.
 *
 * Nothing here prints a password or a token, nor a hash but in export.
 * Password buffers are wiped once hashed.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>
#include <systemd/sd-journal.h>

#include "auth.h"
#include "cli.h"
#include "config.h"
#include "firstadmin.h"
#include "log.h"
#include "prompt.h"
#include "session.h"
#include "userdb.h"

/* Exit statuses beyond master.h's 0..3, documented in userapictl(8). */
#define CTL_EXIT_NOT_FOUND  4       /* no such user */
#define CTL_EXIT_EXISTS     5       /* the email is taken */

/* The daemon's limit, which auth_hash_password must be able to hash. */
#define CTL_PASSWORD_MAX    CONFIG_MAX_PASSWORD
_Static_assert(CTL_PASSWORD_MAX <= AUTH_PASSPHRASE_MAX,
    "auth_hash_password takes every password the daemon accepts");
#define CTL_LINE_MAX        65536   /* bytes per import line */
#define CTL_WHY_LEN         256
#define CTL_JSON_FLAGS      (JSON_C_TO_STRING_PLAIN | \
                                JSON_C_TO_STRING_NOSLASHESCAPE)

struct ctl {
    const char     *config_path;
    int             config_explicit;    /* --config: a missing file is an error */
    const char     *state_dir_opt;      /* --state-dir, or NULL */
    struct config   cfg;
    const char     *dir;                /* cfg.state_dir once loaded */
    int             touched;            /* files in dir may be new or replaced */
    uid_t           owner_uid;          /* whom they belong to, as root */
    gid_t           owner_gid;
};

struct ctl_command {
    const char  *name;
    int        (*run)(struct ctl *, const struct ctl_command *, int,
                    char **);
    const char  *args;
    const char  *help;
};

/* One record of an import and the line it came from. */
struct ctl_import {
    struct userdb_user  *users;
    size_t              *lines;
    size_t               n;
    size_t               cap;
};

/* Live sessions gathered for printing. */
struct ctl_sessions {
    struct session_info *list;
    size_t               n;
    size_t               cap;
};

static void ctl_usage(FILE *);
static int  ctl_err(const char *, ...) __attribute__((format(printf, 1, 2)));
static int  ctl_usage_err(const struct ctl_command *, const char *, ...)
                __attribute__((format(printf, 2, 3)));
static int  ctl_getopt(const struct ctl_command *, int, char **, const char *,
                const struct option *, int *);
static int  ctl_email(const char *, char *);
static int  ctl_role(const char *);
static const char *ctl_plural(long, const char *);
static const char *ctl_time(int64_t, char *);
static int  ctl_load(struct ctl *);
static int  ctl_db_open(struct ctl *, int, struct userdb **);
static int  ctl_sessions_open(struct ctl *, struct session_table **);
static void ctl_owner(struct ctl *, const struct stat *);
static int  ctl_fix_owner(const struct ctl *);
static void ctl_audit(const char *, const char *, const char *, ...)
                __attribute__((format(printf, 3, 4)));
static int  ctl_password_ok(const struct ctl *, const char *, size_t, char *,
                size_t);
static int  ctl_password_hash(const struct ctl *, int, const char *, char *,
                size_t);
static int  ctl_count_session(const struct session_info *, void *);
static int  ctl_keep_session(const struct session_info *, void *);
static int  ctl_import_line(const struct ctl *, struct json_tokener *,
                char *, size_t, int64_t, struct userdb_user *, char *,
                size_t);
static int  ctl_import_read(const struct ctl *, FILE *, const char *,
                struct ctl_import *);
static int  ctl_import_cmp(const void *, const void *, void *);
static int  ctl_import_check(struct userdb *, const char *,
                const struct ctl_import *);
static void ctl_import_free(struct ctl_import *);

static int  ctl_useradd(struct ctl *, const struct ctl_command *, int,
                char **);
static int  ctl_userdel(struct ctl *, const struct ctl_command *, int,
                char **);
static int  ctl_passwd(struct ctl *, const struct ctl_command *, int,
                char **);
static int  ctl_setrole(struct ctl *, const struct ctl_command *, int,
                char **);
static int  ctl_list(struct ctl *, const struct ctl_command *, int,
                char **);
static int  ctl_show(struct ctl *, const struct ctl_command *, int,
                char **);
static int  ctl_check(struct ctl *, const struct ctl_command *, int,
                char **);
static int  ctl_importcmd(struct ctl *, const struct ctl_command *, int,
                char **);
static int  ctl_export(struct ctl *, const struct ctl_command *, int,
                char **);
static int  ctl_sessions(struct ctl *, const struct ctl_command *, int,
                char **);
static int  ctl_revoke(struct ctl *, const struct ctl_command *, int,
                char **);

static const struct ctl_command ctl_commands[] = {
    { "useradd",  ctl_useradd,  "[--role admin|user] [--password-stdin] EMAIL",
      "create a user; the password is asked on the terminal" },
    { "userdel",  ctl_userdel,  "EMAIL",
      "delete a user and end its sessions" },
    { "passwd",   ctl_passwd,   "[--password-stdin] EMAIL",
      "set a new password and end the user's sessions" },
    { "role",     ctl_setrole,  "EMAIL admin|user",
      "change a user's role, for its sessions too" },
    { "list",     ctl_list,     "[--json]",
      "list the users (never their password hashes)" },
    { "show",     ctl_show,     "EMAIL",
      "show one user and how many live sessions it has" },
    { "check",    ctl_check,    "",
      "validate users.db and the session table" },
    { "import",   ctl_importcmd, "FILE|-",
      "add users from JSON lines, all or none" },
    { "export",   ctl_export,   "",
      "write every user as JSON lines, password hashes included" },
    { "sessions", ctl_sessions, "[EMAIL]",
      "list live sessions (never their tokens)" },
    { "revoke",   ctl_revoke,   "EMAIL",
      "end every session of a user" },
};

#define CTL_NCOMMANDS (sizeof(ctl_commands) / sizeof(ctl_commands[0]))

/* The terminal whose echo a password prompt turned off, for the signal
 * handler to restore. */

/* ---- messages ----------------------------------------------------------- */

static void
ctl_usage(FILE *fp)
{
    size_t i;

    fprintf(fp,
        "usage: userapictl [--config FILE] [--state-dir DIR] COMMAND [ARGS]\n"
        "\n"
        "Commands:\n");
    for (i = 0; i < CTL_NCOMMANDS; i++)
        fprintf(fp, "  %s%s%s\n      %s\n", ctl_commands[i].name,
            *ctl_commands[i].args ? " " : "", ctl_commands[i].args,
            ctl_commands[i].help);
    fprintf(fp,
        "\n"
        "Options:\n"
        "  -c, --config FILE     configuration file (default %s)\n"
        "  -s, --state-dir DIR   state directory, over the configuration's\n"
        "  -V, --version         print the version and exit\n"
        "  -h, --help            print this help and exit\n"
        "\n"
        "Exit status: 0 ok, 1 failure or problem found, 2 usage error,\n"
        "3 configuration error, 4 no such user, 5 user exists.\n"
        "See userapictl(8).\n", CONFIG_DEFAULT_PATH);
}

/* "userapictl: message" on stderr; returns EXIT_RUNTIME. */
static int
ctl_err(const char *fmt, ...)
{
    va_list ap;

    fputs("userapictl: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return EXIT_RUNTIME;
}

/* The problem and the command's usage on stderr; returns EXIT_USAGE. */
static int
ctl_usage_err(const struct ctl_command *cmd, const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "userapictl: %s: ", cmd->name);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nusage: userapictl %s%s%s\n", cmd->name,
        *cmd->args ? " " : "", cmd->args);
    return EXIT_USAGE;
}

/*
 * One getopt_long step over a command's arguments (argv[0] is its name):
 * the option in *ch, and -1 when done, 'h' after printing the command's
 * help, '?' after reporting a usage error, else *ch.
 */
static int
ctl_getopt(const struct ctl_command *cmd, int argc, char **argv,
    const char *optstring, const struct option *longopts, int *ch)
{
    *ch = getopt_long(argc, argv, optstring, longopts, NULL);
    switch (*ch) {
    case 'h':
        printf("usage: userapictl %s%s%s\n  %s\n", cmd->name,
            *cmd->args ? " " : "", cmd->args, cmd->help);
        return 'h';
    case ':':
        ctl_usage_err(cmd, "%s needs a value", argv[optind - 1]);
        return '?';
    case '?':
        if (optopt != 0)
            ctl_usage_err(cmd, "unknown option '-%c'", optopt);
        else
            ctl_usage_err(cmd, "unknown option '%s'", argv[optind - 1]);
        return '?';
    default:
        return *ch;
    }
}

/* ---- small helpers ------------------------------------------------------ */

/* EMAIL as typed: validated as the API does and lower-cased into out
 * (USERDB_EMAIL_MAX + 1 bytes).  0, or -1 when it is not an address. */
static int
ctl_email(const char *s, char *out)
{
    size_t len = strlen(s), i;

    if (!userdb_email_valid(s, len))
        return -1;
    for (i = 0; i < len; i++)
        out[i] = (char)tolower((unsigned char)s[i]);
    out[len] = '\0';
    return 0;
}

/* USERDB_ROLE_* of a role name, or 0. */
static int
ctl_role(const char *s)
{
    if (strcmp(s, "admin") == 0)
        return USERDB_ROLE_ADMIN;
    if (strcmp(s, "user") == 0)
        return USERDB_ROLE_USER;
    return 0;
}

/* "1 session", "2 sessions": the word with its count, in a static buffer
 * (one call per printf). */
static const char *
ctl_plural(long n, const char *word)
{
    static char buf[64];

    snprintf(buf, sizeof(buf), "%ld %s%s", n, word, n == 1 ? "" : "s");
    return buf;
}

/* t as "YYYY-MM-DDTHH:MM:SSZ" in out, or "-" when out of range. */
static const char *
ctl_time(int64_t t, char *out)
{
    if (userdb_format_time(t, out) == -1)
        snprintf(out, USERDB_TIME_LEN + 1, "-");
    return out;
}

/* ---- configuration, database and sessions ------------------------------- */

/* The configuration, as the daemon reads it, and the state directory. */
static int
ctl_load(struct ctl *c)
{
    struct config_source src;
    struct stat          st;
    char                 err[CONFIG_ERR_LEN];

    memset(&src, 0, sizeof(src));
    src.config_path = c->config_path;
    src.config_explicit = c->config_explicit;
    src.state_dir = c->state_dir_opt;
    if (config_read(&src, &c->cfg, err, sizeof(err)) == -1) {
        ctl_err("%s", err);
        return EXIT_CONFIG;
    }
    c->dir = c->cfg.state_dir;
    if (stat(c->dir, &st) == -1)
        return ctl_err("state directory %s: %s", c->dir, strerror(errno));
    if (!S_ISDIR(st.st_mode))
        return ctl_err("state directory %s: not a directory", c->dir);
    ctl_owner(c, &st);
    /*
     * Root on a directory that belongs to the daemon's user (DynamicUser
     * or a system user) becomes that user, so every file it makes or
     * replaces is the daemon's from the first moment.  The directory is
     * entered first: under DynamicUser its path runs through
     * /var/lib/private, which only root may cross.
     */
    if (geteuid() == 0 && st.st_uid != 0) {
        if (chdir(c->dir) == -1)
            return ctl_err("state directory %s: %s", c->dir, strerror(errno));
        if (setgroups(0, NULL) == -1 || setgid(st.st_gid) == -1 ||
            setuid(st.st_uid) == -1)
            return ctl_err("cannot become the owner of %s (%lu:%lu): %s", c->dir,
                (unsigned long)st.st_uid, (unsigned long)st.st_gid, strerror(errno));
        c->dir = ".";
    }
    return 0;
}

/* Opens users.db, creating it only with USERDB_CREATE.  0 or an exit
 * status. */
static int
ctl_db_open(struct ctl *c, int flags, struct userdb **dbp)
{
    struct stat st;
    char        path[PATH_MAX], err[USERDB_ERR_LEN];
    int         n;

    *dbp = NULL;
    if (!(flags & USERDB_CREATE)) {
        n = snprintf(path, sizeof(path), "%s/users.db", c->dir);
        if (n < 0 || (size_t)n >= sizeof(path))
            return ctl_err("%s: path too long", c->dir);
        /* Before userdb_open, which would make the lock file. */
        if (lstat(path, &st) == -1 && errno == ENOENT)
            return ctl_err("no database in %s (userapid makes one when it "
                "starts; useradd and import do too)", c->dir);
    }
    c->touched = 1;
    if ((*dbp = userdb_open(c->dir, flags, err, sizeof(err))) == NULL)
        return ctl_err("%s", err);
    return 0;
}

/* Opens the session table; *tp is NULL when there is none yet. */
static int
ctl_sessions_open(struct ctl *c, struct session_table **tp)
{
    struct session_cfg  scfg;
    struct stat         st;
    char                path[PATH_MAX], err[SESSION_ERR_LEN];
    int                 n;

    *tp = NULL;
    n = snprintf(path, sizeof(path), "%s/%s", c->dir, SESSION_FILE);
    if (n < 0 || (size_t)n >= sizeof(path))
        return ctl_err("%s: path too long", c->dir);
    if (lstat(path, &st) == -1) {
        if (errno == ENOENT)
            return 0;
        return ctl_err("%s: %s", path, strerror(errno));
    }
    scfg.ttl = c->cfg.session_ttl;
    scfg.max_age = c->cfg.session_max_age;
    scfg.max_sessions = c->cfg.max_sessions;
    scfg.max_per_user = c->cfg.max_sessions_per_user;
    c->touched = 1;
    /* As it is: only the daemon sizes the table. */
    if ((*tp = session_open(c->dir, &scfg, SESSION_AS_IS, err,
        sizeof(err))) == NULL)
        return ctl_err("%s", err);
    return 0;
}

/*
 * Who the state files belong to, before we change any: the owner of
 * users.db, else of the session table, else of the directory (dirst).
 */
static void
ctl_owner(struct ctl *c, const struct stat *dirst)
{
    static const char *const files[] = { "users.db", SESSION_FILE };
    struct stat st;
    char        path[PATH_MAX];
    size_t      i;
    int         n;

    c->owner_uid = dirst->st_uid;
    c->owner_gid = dirst->st_gid;
    for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        n = snprintf(path, sizeof(path), "%s/%s", c->dir, files[i]);
        if (n > 0 && (size_t)n < sizeof(path) && lstat(path, &st) == 0 &&
            S_ISREG(st.st_mode)) {
            c->owner_uid = st.st_uid;
            c->owner_gid = st.st_gid;
            return;
        }
    }
}

/*
 * As root, gives the files userdb and session may have made or replaced,
 * now root's, to whom they belonged (ctl_owner), who runs the daemon.
 * Files of other owners are left alone.  Each is opened O_PATH|O_NOFOLLOW
 * and changed through that descriptor, and only when it is a regular file
 * with one link: the directory's owner could put a link to some other
 * file in its place.
 */
static int
ctl_fix_owner(const struct ctl *c)
{
    static const char *const files[] = {
        "users.db", "users.db.lock", "users.db.tmp", SESSION_FILE
    };
    struct stat st;
    size_t      i;
    int         dfd, fd, rc = 0;

    if (geteuid() != 0 || c->owner_uid == 0)
        return 0;
    if ((dfd = open(c->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
        return ctl_err("state directory %s: %s", c->dir, strerror(errno));
    for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        fd = openat(dfd, files[i], O_PATH | O_NOFOLLOW | O_CLOEXEC);
        if (fd == -1) {
            if (errno != ENOENT)
                rc = ctl_err("%s/%s: %s", c->dir, files[i], strerror(errno));
            continue;
        }
        if (fstat(fd, &st) == -1) {
            rc = ctl_err("%s/%s: %s", c->dir, files[i], strerror(errno));
        } else if (S_ISREG(st.st_mode) && st.st_nlink == 1 &&
            st.st_uid == 0 && fchownat(fd, "", c->owner_uid, c->owner_gid,
            AT_EMPTY_PATH) == -1) {
            rc = ctl_err("%s/%s: cannot give it back to %lu:%lu: %s",
                c->dir, files[i], (unsigned long)c->owner_uid,
                (unsigned long)c->owner_gid, strerror(errno));
        }
        close(fd);
    }
    close(dfd);
    return rc;
}

/*
 * Account changes go to the journal like the daemon's own, whatever
 * stderr is: the catalog explains them the same way.  Without a journal
 * the entry is simply dropped; the command's output already said it.
 */
static void
ctl_audit(const char *msgid, const char *email, const char *fmt, ...)
{
    char    msg[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    sd_journal_send("MESSAGE=%s", msg, "MESSAGE_ID=%s", msgid,
        "PRIORITY=%d", LOG_NOTICE, "SYSLOG_IDENTIFIER=userapictl",
        "USERAPID_USER=%s", email, NULL);
}

/* ---- passwords ---------------------------------------------------------- */


/* Whether pw[0..len) is a password the daemon would take; why when not. */
static int
ctl_password_ok(const struct ctl *c, const char *pw, size_t len, char *why,
    size_t whylen)
{
    long min = c->cfg.min_password_length > 2 ?
        c->cfg.min_password_length : 2;

    if (memchr(pw, '\0', len) != NULL) {
        snprintf(why, whylen, "the password contains a NUL byte");
        return -1;
    }
    if ((long)len < min) {
        snprintf(why, whylen, "the password is too short (%zu bytes; at "
            "least %ld)", len, min);
        return -1;
    }
    if (len > CTL_PASSWORD_MAX) {
        snprintf(why, whylen, "the password is longer than %d bytes",
            CTL_PASSWORD_MAX);
        return -1;
    }
    return 0;
}



/*
 * A new password for email, from one line of stdin or typed twice on the
 * terminal, checked and hashed into hash.  0 or an exit status.
 */
static int
ctl_password_hash(const struct ctl *c, int from_stdin, const char *email,
    char *hash, size_t hashlen)
{
    char    pw[CTL_PASSWORD_MAX + 1], again[CTL_PASSWORD_MAX + 1];
    char    prompt[USERDB_EMAIL_MAX + 32], why[CTL_WHY_LEN];
    size_t  len = 0, len2 = 0;
    int     fd = -1, r, rc = EXIT_RUNTIME;

    if (from_stdin) {
        r = prompt_read_line(STDIN_FILENO, pw, sizeof(pw), &len);
        if (r == -1) {
            ctl_err("standard input: %s", strerror(errno));
            goto out;
        }
        if (r == 2) {
            ctl_err("no password on standard input");
            goto out;
        }
    } else {
        if ((fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC)) == -1) {
            ctl_err("cannot ask for the password: /dev/tty: %s (use "
                "--password-stdin)", strerror(errno));
            goto out;
        }
        snprintf(prompt, sizeof(prompt), "New password for %s: ", email);
        r = prompt_password(fd, prompt, pw, sizeof(pw), &len);
        if (r == -1 || r == 2) {
            ctl_err("cannot read the password from the terminal%s%s",
                r == -1 ? ": " : "", r == -1 ? strerror(errno) : "");
            goto out;
        }
    }
    if (r == 1) {
        ctl_err("the password is longer than %d bytes", CTL_PASSWORD_MAX);
        goto out;
    }
    if (ctl_password_ok(c, pw, len, why, sizeof(why)) == -1) {
        ctl_err("%s", why);
        goto out;
    }
    if (fd != -1) {
        r = prompt_password(fd, "Retype it: ", again, sizeof(again), &len2);
        if (r == -1 || r == 2) {
            ctl_err("cannot read the password from the terminal%s%s",
                r == -1 ? ": " : "", r == -1 ? strerror(errno) : "");
            goto out;
        }
        if (r == 1 || len2 != len || !crypto_equal_ct(pw, again, len)) {
            ctl_err("the passwords do not match");
            goto out;
        }
    }
    if (auth_hash_password(pw, (unsigned long)c->cfg.password_cost, hash,
        hashlen) == -1) {
        ctl_err("cannot hash the password: %s", strerror(errno));
        goto out;
    }
    rc = 0;
out:
    explicit_bzero(pw, sizeof(pw));
    explicit_bzero(again, sizeof(again));
    if (fd != -1)
        close(fd);
    return rc;
}

/* ---- useradd, userdel, passwd, role -------------------------------------- */

static int
ctl_useradd(struct ctl *c, const struct ctl_command *cmd, int argc,
    char **argv)
{
    static const struct option opts[] = {
        { "role",           required_argument, NULL, 'r' },
        { "password-stdin", no_argument,       NULL, 'p' },
        { "help",           no_argument,       NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    struct userdb_user        u;
    struct userdb            *db = NULL;
    int                       ch, from_stdin = 0, rc;

    memset(&u, 0, sizeof(u));
    u.role = USERDB_ROLE_USER;
    while ((rc = ctl_getopt(cmd, argc, argv, ":r:ph", opts, &ch)) != -1) {
        if (rc == 'h')
            return 0;
        if (rc == '?')
            return EXIT_USAGE;
        if (ch == 'r' && (u.role = ctl_role(optarg)) == 0)
            return ctl_usage_err(cmd, "--role must be admin or user, not "
                "'%s'", optarg);
        if (ch == 'p')
            from_stdin = 1;
    }
    if (argc - optind != 1)
        return ctl_usage_err(cmd, "expected one EMAIL");
    if (ctl_email(argv[optind], u.email) == -1)
        return ctl_usage_err(cmd, "'%s' is not a valid email address",
            argv[optind]);
    if ((rc = ctl_load(c)) != 0 ||
        (rc = ctl_db_open(c, USERDB_CREATE, &db)) != 0)
        goto out;
    /* Before asking for a password that could not be used. */
    if (userdb_find(db, u.email, NULL) == 0) {
        ctl_err("a user %s exists already", u.email);
        rc = CTL_EXIT_EXISTS;
        goto out;
    }
    if ((rc = ctl_password_hash(c, from_stdin, u.email, u.hash,
        sizeof(u.hash))) != 0)
        goto out;
    u.created_at = (int64_t)time(NULL);
    switch (userdb_add(db, &u)) {
    case 0:
        printf("created %s (%s)\n", u.email, userdb_role_name(u.role));
        ctl_audit(MSGID_USER_CREATED, u.email, "user %s created (%s) by userapictl",
            u.email, userdb_role_name(u.role));
        break;
    case USERDB_EXISTS:
        ctl_err("a user %s exists already", u.email);
        rc = CTL_EXIT_EXISTS;
        break;
    default:
        rc = ctl_err("%s", userdb_errmsg(db));
        break;
    }
out:
    explicit_bzero(u.hash, sizeof(u.hash));
    userdb_close(db);
    return rc;
}

static int
ctl_userdel(struct ctl *c, const struct ctl_command *cmd, int argc,
    char **argv)
{
    static const struct option opts[] = {
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    struct userdb            *db = NULL;
    struct session_table     *t = NULL;
    char                      email[USERDB_EMAIL_MAX + 1];
    int                       ch, rc, n = 0;

    while ((rc = ctl_getopt(cmd, argc, argv, ":h", opts, &ch)) != -1)
        if (rc == 'h' || rc == '?')
            return rc == 'h' ? 0 : EXIT_USAGE;
    if (argc - optind != 1)
        return ctl_usage_err(cmd, "expected one EMAIL");
    if (ctl_email(argv[optind], email) == -1)
        return ctl_usage_err(cmd, "'%s' is not a valid email address",
            argv[optind]);
    /* The session table first: if it cannot be opened, nothing changes. */
    if ((rc = ctl_load(c)) != 0 || (rc = ctl_db_open(c, 0, &db)) != 0 ||
        (rc = ctl_sessions_open(c, &t)) != 0)
        goto out;
    switch (userdb_delete(db, email, USERDB_KEEP_ADMIN)) {
    case 0:
        if (firstadmin_forget(c->dir, email, "account deleted") == 1)
            printf("removed %s/%s: it held that account's password\n",
                c->dir, FIRSTADMIN_FILE);
        break;
    case USERDB_NOT_FOUND:
        ctl_err("no user %s", email);
        rc = CTL_EXIT_NOT_FOUND;
        goto out;
    case USERDB_LAST_ADMIN:
        rc = ctl_err("%s is the last administrator: make another user "
            "admin first", email);
        goto out;
    default:
        rc = ctl_err("%s", userdb_errmsg(db));
        goto out;
    }
    if (t != NULL && (n = session_revoke_user(t, email, NULL)) == -1) {
        rc = ctl_err("deleted %s, but cannot end its sessions: %s (run "
            "userapictl revoke %s)", email, strerror(errno), email);
        goto out;
    }
    printf("deleted %s; ended %s\n", email, ctl_plural(n, "session"));
    ctl_audit(MSGID_USER_DELETED, email, "user %s deleted by userapictl", email);
out:
    session_close(t);
    userdb_close(db);
    return rc;
}

static int
ctl_passwd(struct ctl *c, const struct ctl_command *cmd, int argc,
    char **argv)
{
    static const struct option opts[] = {
        { "password-stdin", no_argument, NULL, 'p' },
        { "help",           no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    struct userdb_user        u;
    struct userdb            *db = NULL;
    struct session_table     *t = NULL;
    char                      email[USERDB_EMAIL_MAX + 1];
    char                      hash[AUTH_HASH_SIZE];
    char                      err[USERDB_ERR_LEN];
    int                       ch, rc, from_stdin = 0, n = 0;

    memset(&u, 0, sizeof(u));
    while ((rc = ctl_getopt(cmd, argc, argv, ":ph", opts, &ch)) != -1) {
        if (rc == 'h' || rc == '?')
            return rc == 'h' ? 0 : EXIT_USAGE;
        if (ch == 'p')
            from_stdin = 1;
    }
    if (argc - optind != 1)
        return ctl_usage_err(cmd, "expected one EMAIL");
    if (ctl_email(argv[optind], email) == -1)
        return ctl_usage_err(cmd, "'%s' is not a valid email address",
            argv[optind]);
    if ((rc = ctl_load(c)) != 0 || (rc = ctl_db_open(c, 0, &db)) != 0 ||
        (rc = ctl_sessions_open(c, &t)) != 0)
        goto out;
    if (userdb_find(db, email, NULL) != 0) {
        ctl_err("no user %s", email);
        rc = CTL_EXIT_NOT_FOUND;
        goto out;
    }
    if ((rc = ctl_password_hash(c, from_stdin, email, hash,
        sizeof(hash))) != 0)
        goto out;
    /* The role as it is now, after the prompt, not as it was before. */
    if (userdb_refresh(db, err, sizeof(err)) == -1) {
        rc = ctl_err("%s", err);
        goto out;
    }
    if (userdb_find(db, email, &u) != 0) {
        ctl_err("no user %s (deleted meanwhile)", email);
        rc = CTL_EXIT_NOT_FOUND;
        goto out;
    }
    memcpy(u.hash, hash, sizeof(u.hash));
    switch (userdb_update(db, &u, 0)) {
    case 0:
        if (firstadmin_forget(c->dir, email, "password changed") == 1)
            printf("removed %s/%s: it held the old password\n", c->dir,
                FIRSTADMIN_FILE);
        break;
    case USERDB_NOT_FOUND:
        ctl_err("no user %s (deleted meanwhile)", email);
        rc = CTL_EXIT_NOT_FOUND;
        goto out;
    default:
        rc = ctl_err("%s", userdb_errmsg(db));
        goto out;
    }
    if (t != NULL && (n = session_revoke_user(t, email, NULL)) == -1) {
        rc = ctl_err("changed the password of %s, but cannot end its "
            "sessions: %s (run userapictl revoke %s)", email,
            strerror(errno), email);
        goto out;
    }
    printf("changed the password of %s; ended %s\n", email,
        ctl_plural(n, "session"));
out:
    explicit_bzero(hash, sizeof(hash));
    explicit_bzero(u.hash, sizeof(u.hash));
    session_close(t);
    userdb_close(db);
    return rc;
}

static int
ctl_setrole(struct ctl *c, const struct ctl_command *cmd, int argc,
    char **argv)
{
    static const struct option opts[] = {
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    struct userdb_user        u;
    struct userdb            *db = NULL;
    struct session_table     *t = NULL;
    char                      email[USERDB_EMAIL_MAX + 1];
    int                       ch, rc, role, n = 0, same;

    memset(&u, 0, sizeof(u));
    while ((rc = ctl_getopt(cmd, argc, argv, ":h", opts, &ch)) != -1)
        if (rc == 'h' || rc == '?')
            return rc == 'h' ? 0 : EXIT_USAGE;
    if (argc - optind != 2)
        return ctl_usage_err(cmd, "expected EMAIL and a role");
    if (ctl_email(argv[optind], email) == -1)
        return ctl_usage_err(cmd, "'%s' is not a valid email address",
            argv[optind]);
    if ((role = ctl_role(argv[optind + 1])) == 0)
        return ctl_usage_err(cmd, "the role must be admin or user, not '%s'",
            argv[optind + 1]);
    if ((rc = ctl_load(c)) != 0 || (rc = ctl_db_open(c, 0, &db)) != 0 ||
        (rc = ctl_sessions_open(c, &t)) != 0)
        goto out;
    if (userdb_find(db, email, &u) != 0) {
        ctl_err("no user %s", email);
        rc = CTL_EXIT_NOT_FOUND;
        goto out;
    }
    same = u.role == role;
    u.role = role;
    switch (same ? 0 : userdb_update(db, &u, USERDB_KEEP_ADMIN)) {
    case 0:
        break;
    case USERDB_NOT_FOUND:
        ctl_err("no user %s (deleted meanwhile)", email);
        rc = CTL_EXIT_NOT_FOUND;
        goto out;
    case USERDB_LAST_ADMIN:
        rc = ctl_err("%s is the last administrator: make another user "
            "admin first", email);
        goto out;
    default:
        rc = ctl_err("%s", userdb_errmsg(db));
        goto out;
    }
    /* Also when the role was right: sessions may lag after a failure. */
    if (t != NULL && (n = session_set_role(t, email, role)) == -1) {
        rc = ctl_err("%s is %s now, but its sessions are not: %s", email,
            userdb_role_name(role), strerror(errno));
        goto out;
    }
    if (same)
        printf("%s is %s already\n", email, userdb_role_name(role));
    else
        printf("%s is now %s; updated %s\n", email, userdb_role_name(role),
            ctl_plural(n, "session"));
out:
    explicit_bzero(u.hash, sizeof(u.hash));
    session_close(t);
    userdb_close(db);
    return rc;
}

/* ---- list, show, check -------------------------------------------------- */

static int
ctl_list(struct ctl *c, const struct ctl_command *cmd, int argc,
    char **argv)
{
    static const struct option opts[] = {
        { "json", no_argument, NULL, 'j' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    struct userdb_user        u;
    struct userdb            *db = NULL;
    struct json_object       *o;
    char                      t[USERDB_TIME_LEN + 1];
    size_t                    i, n, w = sizeof("EMAIL") - 1, len;
    int                       ch, rc, json = 0;

    while ((rc = ctl_getopt(cmd, argc, argv, ":jh", opts, &ch)) != -1) {
        if (rc == 'h' || rc == '?')
            return rc == 'h' ? 0 : EXIT_USAGE;
        if (ch == 'j')
            json = 1;
    }
    if (argc != optind)
        return ctl_usage_err(cmd, "unexpected argument '%s'", argv[optind]);
    if ((rc = ctl_load(c)) != 0 || (rc = ctl_db_open(c, 0, &db)) != 0)
        return rc;
    n = userdb_count(db);
    for (i = 0; !json && i < n; i++) {
        if (userdb_get(db, i, &u) != 0) {
            rc = ctl_err("%s", userdb_errmsg(db));
            goto out;
        }
        if ((len = strlen(u.email)) > w)
            w = len;
    }
    if (!json)
        printf("%-*s  %-5s  %s\n", (int)w, "EMAIL", "ROLE", "CREATED");
    for (i = 0; i < n; i++) {
        if (userdb_get(db, i, &u) != 0) {
            rc = ctl_err("%s", userdb_errmsg(db));
            goto out;
        }
        ctl_time(u.created_at, t);
        if (!json) {
            printf("%-*s  %-5s  %s\n", (int)w, u.email,
                userdb_role_name(u.role), t);
            continue;
        }
        if ((o = json_object_new_object()) == NULL) {
            rc = ctl_err("out of memory");
            goto out;
        }
        json_object_object_add(o, "email", json_object_new_string(u.email));
        json_object_object_add(o, "role",
            json_object_new_string(userdb_role_name(u.role)));
        json_object_object_add(o, "role_id", json_object_new_int(u.role));
        json_object_object_add(o, "created_at", json_object_new_string(t));
        puts(json_object_to_json_string_ext(o, CTL_JSON_FLAGS));
        json_object_put(o);
    }
out:
    explicit_bzero(&u, sizeof(u));
    userdb_close(db);
    return rc;
}

static int
ctl_count_session(const struct session_info *s, void *arg)
{
    (void)s;
    (*(long *)arg)++;
    return 0;
}

static int
ctl_show(struct ctl *c, const struct ctl_command *cmd, int argc,
    char **argv)
{
    static const struct option opts[] = {
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    struct userdb_user        u;
    struct userdb            *db = NULL;
    struct session_table     *t = NULL;
    char                      email[USERDB_EMAIL_MAX + 1];
    char                      ts[USERDB_TIME_LEN + 1];
    long                      n = 0;
    int                       ch, rc;

    memset(&u, 0, sizeof(u));
    while ((rc = ctl_getopt(cmd, argc, argv, ":h", opts, &ch)) != -1)
        if (rc == 'h' || rc == '?')
            return rc == 'h' ? 0 : EXIT_USAGE;
    if (argc - optind != 1)
        return ctl_usage_err(cmd, "expected one EMAIL");
    if (ctl_email(argv[optind], email) == -1)
        return ctl_usage_err(cmd, "'%s' is not a valid email address",
            argv[optind]);
    if ((rc = ctl_load(c)) != 0 || (rc = ctl_db_open(c, 0, &db)) != 0)
        goto out;
    if (userdb_find(db, email, &u) != 0) {
        ctl_err("no user %s", email);
        rc = CTL_EXIT_NOT_FOUND;
        goto out;
    }
    if ((rc = ctl_sessions_open(c, &t)) != 0)
        goto out;
    if (t != NULL && session_foreach(t, email, ctl_count_session, &n) == -1) {
        rc = ctl_err("%s/%s: %s", c->dir, SESSION_FILE, strerror(errno));
        goto out;
    }
    printf("email       %s\n"
        "role        %s\n"
        "created_at  %s\n"
        "sessions    %ld\n", u.email, userdb_role_name(u.role),
        ctl_time(u.created_at, ts), n);
out:
    explicit_bzero(u.hash, sizeof(u.hash));
    session_close(t);
    userdb_close(db);
    return rc;
}

static int
ctl_check(struct ctl *c, const struct ctl_command *cmd, int argc,
    char **argv)
{
    static const struct option opts[] = {
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    struct stat               st;
    char                      path[PATH_MAX], err[USERDB_ERR_LEN];
    size_t                    n;
    int                       ch, rc;

    while ((rc = ctl_getopt(cmd, argc, argv, ":h", opts, &ch)) != -1)
        if (rc == 'h' || rc == '?')
            return rc == 'h' ? 0 : EXIT_USAGE;
    if (argc != optind)
        return ctl_usage_err(cmd, "unexpected argument '%s'", argv[optind]);
    if ((rc = ctl_load(c)) != 0)
        return rc;
    /* Both files are checked, whatever the first one gave. */
    snprintf(path, sizeof(path), "%s/users.db", c->dir);
    if (lstat(path, &st) == -1 && errno == ENOENT)
        rc = ctl_err("no database in %s", c->dir);
    else if (userdb_check(c->dir, &n, err, sizeof(err)) == -1)
        rc = ctl_err("%s", err);
    else
        printf("users.db: ok (%s)\n", ctl_plural((long)n, "user"));
    if (session_check(c->dir, err, sizeof(err)) == -1)
        rc = ctl_err("%s", err);
    else
        printf("sessions: ok\n");
    return rc;
}

/* ---- import and export -------------------------------------------------- */

/*
 * One import line (len bytes, NUL-terminated) into u.  0; 1 for a blank
 * line; -1 with why.  A plaintext password is hashed here, and wiped from
 * the parsed object before it is freed.
 */
static int
ctl_import_line(const struct ctl *c, struct json_tokener *tok, char *line,
    size_t len, int64_t now, struct userdb_user *u, char *why, size_t whylen)
{
    struct json_object *o;
    enum json_tokener_error je;
    const char         *email = NULL, *role = NULL, *pw = NULL, *hash = NULL;
    const char         *created = NULL, *s;
    size_t              i, pwlen = 0, elen = 0;
    int                 rc = -1;

    for (i = 0; i < len && strchr(" \t\r", line[i]) != NULL; i++)
        ;
    if (i == len)
        return 1;
    json_tokener_reset(tok);
    /* With its NUL, which tells json-c the input ends (a number would
     * otherwise wait for more digits). */
    o = json_tokener_parse_ex(tok, line, (int)len + 1);
    if (o == NULL) {
        je = json_tokener_get_error(tok);
        snprintf(why, whylen, "bad JSON: %s", je == json_tokener_continue ?
            "the object is not complete" : json_tokener_error_desc(je));
        return -1;
    }
    for (i = json_tokener_get_parse_end(tok); i < len; i++) {
        if (strchr(" \t\r", line[i]) == NULL) {
            snprintf(why, whylen, "text after the JSON object");
            goto out;
        }
    }
    if (!json_object_is_type(o, json_type_object)) {
        snprintf(why, whylen, "not a JSON object");
        goto out;
    }
    json_object_object_foreach(o, key, val) {
        const char **slot = strcmp(key, "email") == 0 ? &email :
            strcmp(key, "role") == 0 ? &role :
            strcmp(key, "password") == 0 ? &pw :
            strcmp(key, "password_hash") == 0 ? &hash :
            strcmp(key, "created_at") == 0 ? &created : NULL;

        if (slot == NULL) {
            for (s = key; *s != '\0' && isprint((unsigned char)*s) &&
                *s != '"'; s++)
                ;
            if (*s == '\0' && s - key <= 40)
                snprintf(why, whylen, "unknown key \"%s\"", key);
            else
                snprintf(why, whylen, "unknown key");
            goto out;
        }
        if (!json_object_is_type(val, json_type_string)) {
            snprintf(why, whylen, "%s must be a string", key);
            goto out;
        }
        *slot = json_object_get_string(val);
        if (slot == &pw)
            pwlen = (size_t)json_object_get_string_len(val);
        if (slot == &email)
            elen = (size_t)json_object_get_string_len(val);
    }
    if (email == NULL) {
        snprintf(why, whylen, "email is missing");
        goto out;
    }
    /* strlen stops at a NUL written as \u0000. */
    if (strlen(email) != elen || ctl_email(email, u->email) == -1) {
        snprintf(why, whylen, "email is not a valid address");
        goto out;
    }
    u->role = USERDB_ROLE_USER;
    if (role != NULL && (u->role = ctl_role(role)) == 0) {
        snprintf(why, whylen, "role must be \"admin\" or \"user\"");
        goto out;
    }
    u->created_at = now;
    if (created != NULL && userdb_parse_time(created, &u->created_at) == -1) {
        snprintf(why, whylen, "created_at must be YYYY-MM-DDTHH:MM:SSZ "
            "(UTC, 1970 to 9999)");
        goto out;
    }
    if ((pw == NULL) == (hash == NULL)) {
        snprintf(why, whylen, pw == NULL ? "password or password_hash is "
            "missing" : "give password or password_hash, not both");
        goto out;
    }
    if (hash != NULL) {
        if (!auth_hash_valid(hash)) {
            snprintf(why, whylen, "password_hash is not a complete crypt "
                "hash of a supported method (yescrypt, gost-yescrypt, "
                "scrypt, bcrypt, sha512crypt)");
            goto out;
        }
        snprintf(u->hash, sizeof(u->hash), "%s", hash);
    } else {
        if (ctl_password_ok(c, pw, pwlen, why, whylen) == -1)
            goto out;
        if (auth_hash_password(pw, (unsigned long)c->cfg.password_cost,
            u->hash, sizeof(u->hash)) == -1) {
            snprintf(why, whylen, "cannot hash the password: %s",
                strerror(errno));
            goto out;
        }
    }
    rc = 0;
out:
    /* json-c's copy is plain heap memory of ours to wipe. */
    if (pw != NULL)
        explicit_bzero((char *)pw, pwlen);
    json_object_put(o);
    return rc;
}

/* Reads every line of fp into imp; stops at the first bad one with
 * "NAME:LINE: reason".  0 or an exit status. */
static int
ctl_import_read(const struct ctl *c, FILE *fp, const char *name,
    struct ctl_import *imp)
{
    struct json_tokener *tok;
    char                *line = NULL, why[CTL_WHY_LEN];
    size_t               cap = 0, lineno = 0, ncap;
    ssize_t              len;
    int64_t              now = (int64_t)time(NULL);
    int                  r, rc = 0;
    void                *p;

    if ((tok = json_tokener_new()) == NULL)
        return ctl_err("out of memory");
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
    while ((len = getline(&line, &cap, fp)) != -1) {
        lineno++;
        if (len > 0 && line[len - 1] == '\n')
            line[--len] = '\0';
        if ((size_t)len > CTL_LINE_MAX) {
            rc = ctl_err("%s:%zu: line longer than %d bytes", name, lineno,
                CTL_LINE_MAX);
            break;
        }
        if (imp->n == imp->cap) {
            ncap = imp->cap ? imp->cap * 2 : 1024;
            if ((p = reallocarray(imp->users, ncap, sizeof(*imp->users))) ==
                NULL) {
                rc = ctl_err("out of memory");
                break;
            }
            imp->users = p;
            if ((p = reallocarray(imp->lines, ncap, sizeof(*imp->lines))) ==
                NULL) {
                rc = ctl_err("out of memory");
                break;
            }
            imp->lines = p;
            imp->cap = ncap;
        }
        memset(&imp->users[imp->n], 0, sizeof(imp->users[imp->n]));
        r = ctl_import_line(c, tok, line, (size_t)len, now,
            &imp->users[imp->n], why, sizeof(why));
        explicit_bzero(line, (size_t)len);
        if (r == -1) {
            rc = ctl_err("%s:%zu: %s", name, lineno, why);
            break;
        }
        if (r == 0)
            imp->lines[imp->n++] = lineno;
    }
    if (rc == 0 && ferror(fp))
        rc = ctl_err("%s: %s", name, strerror(errno));
    if (line != NULL)
        explicit_bzero(line, cap);
    free(line);
    json_tokener_free(tok);
    return rc;
}

/* Orders record numbers by email, then by number. */
static int
ctl_import_cmp(const void *a, const void *b, void *arg)
{
    const struct userdb_user *u = arg;
    size_t                    i = *(const size_t *)a, j = *(const size_t *)b;
    int                       d = strcmp(u[i].email, u[j].email);

    if (d != 0)
        return d;
    return i < j ? -1 : i > j;
}

/*
 * Names the first line whose email comes twice in the file or is in the
 * database already, so the error is "NAME:LINE" rather than the record
 * number userdb_import would give.  0 or an exit status.
 */
static int
ctl_import_check(struct userdb *db, const char *name,
    const struct ctl_import *imp)
{
    size_t  *order, *first, i;
    int      rc = 0;

    if (imp->n == 0)
        return 0;
    order = calloc(imp->n, sizeof(*order));
    first = calloc(imp->n, sizeof(*first));
    if (order == NULL || first == NULL) {
        free(order);
        free(first);
        return ctl_err("out of memory");
    }
    for (i = 0; i < imp->n; i++)
        order[i] = i;
    qsort_r(order, imp->n, sizeof(*order), ctl_import_cmp, imp->users);
    /* first[r] is the earlier record with r's email, or r itself. */
    for (i = 0; i < imp->n; i++)
        first[order[i]] = i > 0 && strcmp(imp->users[order[i]].email,
            imp->users[order[i - 1]].email) == 0 ?
            first[order[i - 1]] : order[i];
    for (i = 0; i < imp->n; i++) {
        if (first[i] != i) {
            rc = ctl_err("%s:%zu: %s is on line %zu already", name,
                imp->lines[i], imp->users[i].email, imp->lines[first[i]]);
            break;
        }
        if (userdb_find(db, imp->users[i].email, NULL) == 0) {
            ctl_err("%s:%zu: a user %s exists already", name, imp->lines[i],
                imp->users[i].email);
            rc = CTL_EXIT_EXISTS;
            break;
        }
    }
    free(order);
    free(first);
    return rc;
}

static void
ctl_import_free(struct ctl_import *imp)
{
    if (imp->users != NULL)
        explicit_bzero(imp->users, imp->cap * sizeof(*imp->users));
    free(imp->users);
    free(imp->lines);
    memset(imp, 0, sizeof(*imp));
}

static int
ctl_importcmd(struct ctl *c, const struct ctl_command *cmd, int argc,
    char **argv)
{
    static const struct option opts[] = {
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    struct ctl_import         imp;
    struct userdb            *db = NULL;
    const char               *file, *name;
    char                      err[USERDB_ERR_LEN];
    FILE                     *fp = NULL;
    int                       ch, rc;

    memset(&imp, 0, sizeof(imp));
    while ((rc = ctl_getopt(cmd, argc, argv, ":h", opts, &ch)) != -1)
        if (rc == 'h' || rc == '?')
            return rc == 'h' ? 0 : EXIT_USAGE;
    if (argc - optind != 1)
        return ctl_usage_err(cmd, "expected one FILE (- for standard input)");
    file = argv[optind];
    name = strcmp(file, "-") == 0 ? "stdin" : file;
    if ((rc = ctl_load(c)) != 0)
        return rc;
    /* Read and hashed before the database is opened: nothing is written
     * unless every line is good. */
    if (strcmp(file, "-") == 0)
        fp = stdin;
    else if ((fp = fopen(file, "re")) == NULL)
        return ctl_err("%s: %s", file, strerror(errno));
    rc = ctl_import_read(c, fp, name, &imp);
    if (fp != stdin)
        fclose(fp);
    if (rc != 0 || (rc = ctl_db_open(c, USERDB_CREATE, &db)) != 0 ||
        (rc = ctl_import_check(db, name, &imp)) != 0)
        goto out;
    switch (userdb_import(db, imp.users, imp.n, err, sizeof(err))) {
    case 0:
        printf("imported %s\n", ctl_plural((long)imp.n, "user"));
        break;
    case USERDB_EXISTS:
        /* Added by someone else since the check. */
        ctl_err("%s: %s", name, err);
        rc = CTL_EXIT_EXISTS;
        break;
    default:
        rc = ctl_err("%s: %s", name, err);
        break;
    }
out:
    ctl_import_free(&imp);
    userdb_close(db);
    return rc;
}

static int
ctl_export(struct ctl *c, const struct ctl_command *cmd, int argc,
    char **argv)
{
    static const struct option opts[] = {
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    struct userdb_user        u;
    struct userdb            *db = NULL;
    struct json_object       *o;
    char                      t[USERDB_TIME_LEN + 1];
    size_t                    i, n;
    int                       ch, rc;

    memset(&u, 0, sizeof(u));
    while ((rc = ctl_getopt(cmd, argc, argv, ":h", opts, &ch)) != -1)
        if (rc == 'h' || rc == '?')
            return rc == 'h' ? 0 : EXIT_USAGE;
    if (argc != optind)
        return ctl_usage_err(cmd, "unexpected argument '%s'", argv[optind]);
    if ((rc = ctl_load(c)) != 0 || (rc = ctl_db_open(c, 0, &db)) != 0)
        return rc;
    /* The view is one snapshot: it is not refreshed while we walk it. */
    n = userdb_count(db);
    for (i = 0; i < n; i++) {
        if (userdb_get(db, i, &u) != 0) {
            rc = ctl_err("%s", userdb_errmsg(db));
            break;
        }
        if ((o = json_object_new_object()) == NULL) {
            rc = ctl_err("out of memory");
            break;
        }
        json_object_object_add(o, "email", json_object_new_string(u.email));
        json_object_object_add(o, "role",
            json_object_new_string(userdb_role_name(u.role)));
        json_object_object_add(o, "created_at",
            json_object_new_string(ctl_time(u.created_at, t)));
        json_object_object_add(o, "password_hash",
            json_object_new_string(u.hash));
        puts(json_object_to_json_string_ext(o, CTL_JSON_FLAGS));
        json_object_put(o);
    }
    explicit_bzero(&u, sizeof(u));
    userdb_close(db);
    return rc;
}

/* ---- sessions and revoke ------------------------------------------------ */

static int
ctl_keep_session(const struct session_info *s, void *arg)
{
    struct ctl_sessions *all = arg;
    void                *p;
    size_t               ncap;

    if (all->n == all->cap) {
        ncap = all->cap ? all->cap * 2 : 64;
        if ((p = reallocarray(all->list, ncap, sizeof(*all->list))) == NULL)
            return -1;
        all->list = p;
        all->cap = ncap;
    }
    all->list[all->n++] = *s;
    return 0;
}

static int
ctl_sessions(struct ctl *c, const struct ctl_command *cmd, int argc,
    char **argv)
{
    static const struct option opts[] = {
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    struct ctl_sessions       all;
    struct session_table     *t = NULL;
    const struct session_info *s;
    const char               *role;
    char                      email[USERDB_EMAIL_MAX + 1], rbuf[16];
    char                      t1[USERDB_TIME_LEN + 1], t2[USERDB_TIME_LEN + 1];
    char                      t3[USERDB_TIME_LEN + 1];
    size_t                    i, w = sizeof("EMAIL") - 1, len;
    int                       ch, rc;

    memset(&all, 0, sizeof(all));
    while ((rc = ctl_getopt(cmd, argc, argv, ":h", opts, &ch)) != -1)
        if (rc == 'h' || rc == '?')
            return rc == 'h' ? 0 : EXIT_USAGE;
    if (argc - optind > 1)
        return ctl_usage_err(cmd, "expected at most one EMAIL");
    if (argc - optind == 1 && ctl_email(argv[optind], email) == -1)
        return ctl_usage_err(cmd, "'%s' is not a valid email address",
            argv[optind]);
    if ((rc = ctl_load(c)) != 0 || (rc = ctl_sessions_open(c, &t)) != 0)
        return rc;
    if (t != NULL && session_foreach(t, argc - optind == 1 ? email : NULL,
        ctl_keep_session, &all) != 0) {
        rc = ctl_err("%s/%s: %s", c->dir, SESSION_FILE, strerror(errno));
        goto out;
    }
    for (i = 0; i < all.n; i++)
        if ((len = strlen(all.list[i].email)) > w)
            w = len;
    printf("%-*s  %-5s  %-20s  %-20s  %s\n", (int)w, "EMAIL", "ROLE",
        "CREATED", "LAST_USED", "EXPIRES");
    for (i = 0; i < all.n; i++) {
        s = &all.list[i];
        if ((role = userdb_role_name(s->role)) == NULL) {
            snprintf(rbuf, sizeof(rbuf), "%d", s->role);
            role = rbuf;
        }
        printf("%-*s  %-5s  %-20s  %-20s  %s\n", (int)w, s->email, role,
            ctl_time(s->created_at, t1), ctl_time(s->last_used, t2),
            ctl_time(s->expires_at, t3));
    }
out:
    free(all.list);
    session_close(t);
    return rc;
}

static int
ctl_revoke(struct ctl *c, const struct ctl_command *cmd, int argc,
    char **argv)
{
    static const struct option opts[] = {
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    struct session_table     *t = NULL;
    char                      email[USERDB_EMAIL_MAX + 1];
    int                       ch, rc, n = 0;

    while ((rc = ctl_getopt(cmd, argc, argv, ":h", opts, &ch)) != -1)
        if (rc == 'h' || rc == '?')
            return rc == 'h' ? 0 : EXIT_USAGE;
    if (argc - optind != 1)
        return ctl_usage_err(cmd, "expected one EMAIL");
    if (ctl_email(argv[optind], email) == -1)
        return ctl_usage_err(cmd, "'%s' is not a valid email address",
            argv[optind]);
    /* No user needed: sessions may outlive a user whose deletion could
     * not end them. */
    if ((rc = ctl_load(c)) != 0 || (rc = ctl_sessions_open(c, &t)) != 0)
        return rc;
    if (t != NULL && (n = session_revoke_user(t, email, NULL)) == -1)
        rc = ctl_err("%s/%s: %s", c->dir, SESSION_FILE, strerror(errno));
    else
        printf("ended %s of %s\n", ctl_plural(n, "session"), email);
    session_close(t);
    return rc;
}

/* ---- main --------------------------------------------------------------- */

int
main(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "config",    required_argument, NULL, 'c' },
        { "state-dir", required_argument, NULL, 's' },
        { "version",   no_argument,       NULL, 'V' },
        { "help",      no_argument,       NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    const struct ctl_command *cmd = NULL;
    struct ctl                c;
    struct config             scratch;
    char                      err[CONFIG_ERR_LEN];
    size_t                    i;
    int                       ch, rc, rc2;

    memset(&c, 0, sizeof(c));
    c.config_path = CONFIG_DEFAULT_PATH;
    config_defaults(&scratch);
    /* What we create is the daemon's: 0600 like its own files. */
    umask(077);
    /* userdb and session warn through log.c: only warnings, on stderr. */
    log_init("userapictl", LOG_WARNING);
    opterr = 0;
    while ((ch = getopt_long(argc, argv, "+:c:s:Vh", longopts, NULL)) != -1) {
        switch (ch) {
        case 'c':
            c.config_path = optarg;
            c.config_explicit = 1;
            break;
        case 's':
            if (optarg[0] == '\0' || config_set(&scratch, "state_dir", optarg,
                0, err, sizeof(err)) == -1) {
                fprintf(stderr, "userapictl: --state-dir: %s\n",
                    optarg[0] == '\0' ? "empty path" : err);
                return EXIT_USAGE;
            }
            c.state_dir_opt = optarg;
            break;
        case 'V':
            fputs(CLI_VERSION_TEXT("userapictl"), stdout);
            return 0;
        case 'h':
            ctl_usage(stdout);
            return 0;
        case ':':
            fprintf(stderr, "userapictl: %s needs a value\n", argv[optind - 1]);
            ctl_usage(stderr);
            return EXIT_USAGE;
        default:
            if (optopt != 0)
                fprintf(stderr, "userapictl: unknown option '-%c'\n", optopt);
            else
                fprintf(stderr, "userapictl: unknown option '%s'\n",
                    argv[optind - 1]);
            ctl_usage(stderr);
            return EXIT_USAGE;
        }
    }
    if (optind == argc) {
        fprintf(stderr, "userapictl: no command given\n");
        ctl_usage(stderr);
        return EXIT_USAGE;
    }
    for (i = 0; i < CTL_NCOMMANDS && cmd == NULL; i++)
        if (strcmp(argv[optind], ctl_commands[i].name) == 0)
            cmd = &ctl_commands[i];
    if (cmd == NULL) {
        fprintf(stderr, "userapictl: unknown command '%s' (userapictl "
            "--help lists them)\n", argv[optind]);
        return EXIT_USAGE;
    }
    argc -= optind;
    argv += optind;
    optind = 0;         /* a fresh getopt over the command's arguments */
    rc = cmd->run(&c, cmd, argc, argv);

    if (c.touched && (rc2 = ctl_fix_owner(&c)) != 0 && rc == 0)
        rc = rc2;
    if ((fflush(stdout) == EOF || ferror(stdout)) && rc == 0)
        rc = ctl_err("standard output: %s", strerror(errno));
    return rc;
}
