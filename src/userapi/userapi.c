/* SPDX-License-Identifier: MIT */
/*
 * userapi.c - the command-line client of the userapid HTTP API, for people
 * and scripts: one command, one request through libcurl.  See userapi(1).
 *
 * The server is --server, else $USERAPI_SERVER, else the daemon's default
 * address.  login keeps the session token and the email it belongs to in
 * one file per server, under $XDG_RUNTIME_DIR/userapi/ (or
 * ~/.cache/userapi/): a directory of mode 0700 and files of mode 0600,
 * written aside and renamed so a reader never sees half of one.  The
 * token is sent from there and never appears on a command line or in the
 * output.
 *
 * The exit status says how the request ended (0 done, 3 refused, 4
 * rejected, 5 server error, 6 no answer; 2 usage, 1 local failure), and an
 * error is one line on stderr, the server's JSON "message" when it gave
 * one.
 *
 * Passwords are read from the terminal with echo off or from stdin, go
 * into the request body only, and every buffer that held one, or a token,
 * is wiped before it is released.  libcurl keeps its own copies of the
 * request while sending it; those are beyond our reach.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <curl/curl.h>
#include <json-c/json.h>

#include "crypto.h"
#include "buf.h"
#include "cli.h"
#include "jsonw.h"
#include "prompt.h"

/* Exit statuses, documented in userapi(1). */
#define UA_EXIT_FAIL        1   /* local failure: terminal, files, answer */
#define UA_EXIT_USAGE       2
#define UA_EXIT_AUTH        3   /* 401, 403, or no saved session */
#define UA_EXIT_REJECTED    4   /* any other 4xx */
#define UA_EXIT_SERVER      5   /* 5xx */
#define UA_EXIT_CONNECT     6   /* no connection, or no complete answer */

#define UA_DEFAULT_SERVER   "http://127.0.0.1:8080"
#define UA_URL_MAX          1024    /* bytes of a server URL */
#define UA_EMAIL_MAX        1024    /* more than any address the API takes */
#define UA_PASSWORD_MAX     1024    /* the daemon's limit */
#define UA_TOKEN_MAX        256
#define UA_NAME_MAX         200     /* a session file's name, encoded */
#define UA_BODY_MAX         (64L * 1024 * 1024)
#define UA_CONNECT_TIMEOUT  5L      /* seconds */
#define UA_TIMEOUT          30L     /* seconds, for the whole request */
#define UA_JSON_FLAGS       (JSON_C_TO_STRING_PLAIN | \
                                JSON_C_TO_STRING_NOSLASHESCAPE)

struct ua {
    const char *server_opt;     /* --server, or NULL */
    char        server[UA_URL_MAX + 1];     /* resolved, without a final / */
    int         json;
};

/* What a saved session holds. */
struct ua_session {
    char    token[UA_TOKEN_MAX + 1];
    char    email[UA_EMAIL_MAX + 1];
};

struct ua_response {
    long            status;
    struct buf      body;       /* NUL-terminated once complete */
    int             over;       /* the body went past UA_BODY_MAX */
    CURL           *curl;       /* kept until freed, for its headers */
};

struct ua_command {
    const char  *name;
    int        (*run)(struct ua *, const struct ua_command *, int, char **);
    const char  *args;
    const char  *help;
};

static void ua_usage(FILE *);
static int  ua_err(const char *, ...) __attribute__((format(printf, 1, 2)));
static int  ua_usage_err(const struct ua_command *, const char *, ...)
                __attribute__((format(printf, 2, 3)));
static int  ua_getopt(struct ua *, const struct ua_command *, int, char **,
                const char *, const struct option *);
static int  ua_server_set(struct ua *, const char *, const char *);
static int  ua_server_resolve(struct ua *);

static void ua_buf_init(struct buf *);
static int  ua_buf_path(struct buf *, const char *, const char *);

static int  ua_session_name(const char *, char *, size_t);
static int  ua_session_dir(int, int *);
static int  ua_session_load(const struct ua *, struct ua_session *, int);
static int  ua_session_save(const struct ua *, const struct ua_session *);
static int  ua_session_remove(const struct ua *);

static int  ua_password(int, int, const char *, const char *, char *, size_t);

static size_t ua_body_cb(char *, size_t, size_t, void *);
static int  ua_request(const struct ua *, const char *, const char *,
                const char *, const struct buf *, struct ua_response *);
static void ua_response_free(struct ua_response *);
static struct json_object *ua_response_json(const struct ua_response *);
static int  ua_answer(const struct ua_response *);
static int  ua_text_ok(const char *);
static int  ua_token_ok(const char *, size_t);
static void ua_print_body(const struct ua_response *);
static int  ua_print_users(struct json_object *);
static const char *ua_header(const struct ua_response *, const char *);
static const char *ua_duration(const char *, char *, size_t);

static int  ua_no_args(struct ua *, const struct ua_command *, int, char **);
static int  ua_status(struct ua *, const struct ua_command *, int, char **);
static int  ua_register(struct ua *, const struct ua_command *, int, char **);
static int  ua_login(struct ua *, const struct ua_command *, int, char **);
static int  ua_whoami(struct ua *, const struct ua_command *, int, char **);
static int  ua_users(struct ua *, const struct ua_command *, int, char **);
static int  ua_passwd(struct ua *, const struct ua_command *, int, char **);
static int  ua_delete(struct ua *, const struct ua_command *, int, char **);
static int  ua_logout(struct ua *, const struct ua_command *, int, char **);

static const struct ua_command ua_commands[] = {
    { "status",   ua_status,   "",
      "show the server's status, workers, users, uptime and version" },
    { "register", ua_register, "[--role admin|user] [--password-stdin] EMAIL",
      "create a user (an administrator's saved session may create admins)" },
    { "login",    ua_login,    "[--password-stdin] EMAIL",
      "log in and save the session for this server" },
    { "whoami",   ua_whoami,   "",
      "show the logged-in user" },
    { "users",    ua_users,    "",
      "list the users (an administrator sees all, a user only themself)" },
    { "passwd",   ua_passwd,   "[--password-stdin]",
      "change your password" },
    { "delete",   ua_delete,   "EMAIL",
      "delete a user (administrators only)" },
    { "logout",   ua_logout,   "",
      "end the session and forget it" },
};

#define UA_NCOMMANDS (sizeof(ua_commands) / sizeof(ua_commands[0]))

/* Options every command takes, so they may also follow it. */
#define UA_COMMON_OPTS \
    { "json",   no_argument,       NULL, 'j' }, \
    { "server", required_argument, NULL, 's' }, \
    { "help",   no_argument,       NULL, 'h' }
#define UA_COMMON_OPTSTRING ":hjs:"

/* The terminal whose echo a password prompt turned off, for the signal
 * handler to restore. */

/* ---- messages and options ----------------------------------------------- */

static void
ua_usage(FILE *fp)
{
    size_t i;

    fprintf(fp,
        "usage: userapi [--server URL] [--json] COMMAND [ARGS]\n"
        "\n"
        "Commands:\n");
    for (i = 0; i < UA_NCOMMANDS; i++)
        fprintf(fp, "  %s%s%s\n      %s\n", ua_commands[i].name,
            *ua_commands[i].args ? " " : "", ua_commands[i].args,
            ua_commands[i].help);
    fprintf(fp,
        "\n"
        "Options:\n"
        "  -s, --server URL   the server (default $USERAPI_SERVER, else %s)\n"
        "  -j, --json         print the server's JSON answer as it came\n"
        "  -V, --version      print the version and exit\n"
        "  -h, --help         print this help and exit\n"
        "\n"
        "Exit status: 0 ok, 1 local failure, 2 usage error, 3 authentication\n"
        "or authorisation refused, 4 request rejected, 5 server error,\n"
        "6 cannot connect.  See userapi(1).\n", UA_DEFAULT_SERVER);
}

/* "userapi: message" on stderr; returns UA_EXIT_FAIL. */
static int
ua_err(const char *fmt, ...)
{
    va_list ap;

    fputs("userapi: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return UA_EXIT_FAIL;
}

/* The problem and the command's usage on stderr; returns UA_EXIT_USAGE. */
static int
ua_usage_err(const struct ua_command *cmd, const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "userapi: %s: ", cmd->name);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nusage: userapi %s%s%s\n", cmd->name,
        *cmd->args ? " " : "", cmd->args);
    return UA_EXIT_USAGE;
}

/*
 * One getopt_long step over a command's arguments (argv[0] is its name),
 * taking --json and --server itself.  Returns the command's next option,
 * -1 when done, 'h' after printing the command's help, '?' after
 * reporting a usage error.
 */
static int
ua_getopt(struct ua *ua, const struct ua_command *cmd, int argc, char **argv,
    const char *optstring, const struct option *longopts)
{
    int ch;

    for (;;) {
        ch = getopt_long(argc, argv, optstring, longopts, NULL);
        switch (ch) {
        case 'j':
            ua->json = 1;
            continue;
        case 's':
            ua->server_opt = optarg;
            continue;
        case 'h':
            printf("usage: userapi %s%s%s\n  %s\n", cmd->name,
                *cmd->args ? " " : "", cmd->args, cmd->help);
            return 'h';
        case ':':
            ua_usage_err(cmd, "%s needs a value", argv[optind - 1]);
            return '?';
        case '?':
            if (optopt != 0)
                ua_usage_err(cmd, "unknown option '-%c'", optopt);
            else
                ua_usage_err(cmd, "unknown option '%s'", argv[optind - 1]);
            return '?';
        default:
            return ch;
        }
    }
}

/*
 * Sets the server from url (from says where it came from, for the
 * message): http:// or https://, no spaces or control characters, the
 * scheme in lower case and final slashes dropped, so that one server has
 * one session file.  0, or -1 after saying why.
 */
static int
ua_server_set(struct ua *ua, const char *url, const char *from)
{
    size_t len = strlen(url), skip, i;

    if (strncasecmp(url, "http://", 7) == 0)
        skip = 7;
    else if (strncasecmp(url, "https://", 8) == 0)
        skip = 8;
    else {
        fprintf(stderr, "userapi: %s: '%s' is not an http:// or https:// "
            "URL\n", from, url);
        return -1;
    }
    while (len > skip && url[len - 1] == '/')
        len--;
    if (len == skip || len > UA_URL_MAX) {
        fprintf(stderr, "userapi: %s: the URL %s\n", from,
            len == skip ? "names no host" : "is too long");
        return -1;
    }
    for (i = 0; i < len; i++) {
        if ((unsigned char)url[i] <= ' ' || url[i] == 0x7f) {
            fprintf(stderr, "userapi: %s: the URL contains a space or a "
                "control character\n", from);
            return -1;
        }
        ua->server[i] = i < skip ? (char)tolower((unsigned char)url[i]) :
            url[i];
    }
    ua->server[len] = '\0';
    return 0;
}

/* --server, else $USERAPI_SERVER (when not empty), else the default.
 * 0 or UA_EXIT_USAGE. */
static int
ua_server_resolve(struct ua *ua)
{
    const char *env = getenv("USERAPI_SERVER");

    if (ua->server_opt != NULL)
        return ua_server_set(ua, ua->server_opt, "--server") == 0 ? 0 :
            UA_EXIT_USAGE;
    if (env != NULL && env[0] != '\0')
        return ua_server_set(ua, env, "USERAPI_SERVER") == 0 ? 0 :
            UA_EXIT_USAGE;
    return ua_server_set(ua, UA_DEFAULT_SERVER, "default") == 0 ? 0 :
        UA_EXIT_USAGE;
}

/* ---- buffers -------------------------------------------------------------- */

/* Every buffer of the client may hold a password or a token: wiped when
 * it moves or is freed, and never larger than UA_BODY_MAX. */
static void
ua_buf_init(struct buf *b)
{
    buf_init_with(b, BUF_WIPE, UA_BODY_MAX);
}

/* prefix then email percent-encoded, as the server writes Location. */
static int
ua_buf_path(struct buf *b, const char *prefix, const char *email)
{
    static const char hex[] = "0123456789ABCDEF";
    const char       *p;
    char              esc[3];

    if (buf_append_str(b, prefix) == -1)
        return -1;
    for (p = email; *p != '\0'; p++) {
        unsigned char c = (unsigned char)*p;

        if (isalnum(c) || strchr("-._~!$&'*+=@", c) != NULL) {
            if (buf_append(b, p, 1) == -1)
                return -1;
            continue;
        }
        esc[0] = '%';
        esc[1] = hex[c >> 4];
        esc[2] = hex[c & 0xf];
        if (buf_append(b, esc, 3) == -1)
            return -1;
    }
    return 0;
}

/* ---- the saved session ---------------------------------------------------- */

/*
 * The session file's name for server: the URL with every byte but
 * [A-Za-z0-9.-] written as _XX, which no two URLs share and which holds
 * no slash; "sha256-HEX" of the URL when that would be too long.
 */
static int
ua_session_name(const char *server, char *out, size_t outlen)
{
    static const char hex[] = "0123456789abcdef";
    uint8_t           sum[CRYPTO_SHA256_LEN];
    const char       *p;
    size_t            n = 0, i;

    for (p = server; *p != '\0' && n + 4 <= UA_NAME_MAX; p++) {
        unsigned char c = (unsigned char)*p;

        if (isalnum(c) || c == '.' || c == '-') {
            out[n++] = (char)c;
        } else {
            out[n++] = '_';
            out[n++] = hex[c >> 4];
            out[n++] = hex[c & 0xf];
        }
    }
    if (*p == '\0' && n < outlen) {
        out[n] = '\0';
        return 0;
    }
    if (outlen < sizeof("sha256-") + 2 * sizeof(sum))
        return -1;
    crypto_sha256(server, strlen(server), sum);
    n = (size_t)snprintf(out, outlen, "sha256-");
    for (i = 0; i < sizeof(sum); i++) {
        out[n++] = hex[sum[i] >> 4];
        out[n++] = hex[sum[i] & 0xf];
    }
    out[n] = '\0';
    return 0;
}

/*
 * Opens the directory of saved sessions into *fdp: $XDG_RUNTIME_DIR/userapi
 * when that is an absolute path, else ~/.cache/userapi.  With create it is
 * made (and ~/.cache too); a directory that is not ours is refused, and
 * one that others may enter is made 0700.  0; 1 when there is none and
 * create is 0; -1 after saying why.
 */
static int
ua_session_dir(int create, int *fdp)
{
    const char    *base = getenv("XDG_RUNTIME_DIR");
    struct passwd *pw;
    struct stat    st;
    char           path[PATH_MAX], parent[PATH_MAX];
    int            n, fd;

    *fdp = -1;
    if (base == NULL || base[0] != '/') {
        base = getenv("HOME");
        if ((base == NULL || base[0] != '/') &&
            (pw = getpwuid(geteuid())) != NULL)
            base = pw->pw_dir;
        if (base == NULL || base[0] != '/') {
            ua_err("neither XDG_RUNTIME_DIR nor HOME names a directory "
                "for the saved session");
            return -1;
        }
        n = snprintf(parent, sizeof(parent), "%s/.cache", base);
        if (n < 0 || (size_t)n >= sizeof(parent)) {
            ua_err("%s: path too long", base);
            return -1;
        }
        if (create && mkdir(parent, 0700) == -1 && errno != EEXIST) {
            ua_err("%s: %s", parent, strerror(errno));
            return -1;
        }
        base = parent;
    }
    n = snprintf(path, sizeof(path), "%s/userapi", base);
    if (n < 0 || (size_t)n >= sizeof(path)) {
        ua_err("%s: path too long", base);
        return -1;
    }
    if (create && mkdir(path, 0700) == -1 && errno != EEXIST) {
        ua_err("%s: %s", path, strerror(errno));
        return -1;
    }
    fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd == -1) {
        if (errno == ENOENT && !create)
            return 1;
        ua_err("%s: %s", path, strerror(errno));
        return -1;
    }
    if (fstat(fd, &st) == -1) {
        ua_err("%s: %s", path, strerror(errno));
        close(fd);
        return -1;
    }
    if (st.st_uid != geteuid()) {
        ua_err("%s: belongs to someone else; not using it", path);
        close(fd);
        return -1;
    }
    if ((st.st_mode & 077) != 0 && fchmod(fd, 0700) == -1) {
        ua_err("%s: %s", path, strerror(errno));
        close(fd);
        return -1;
    }
    *fdp = fd;
    return 0;
}

/*
 * Reads the session saved for the server into s.  0; UA_EXIT_AUTH when
 * there is none (said unless quiet); UA_EXIT_FAIL after saying why it
 * cannot be used.
 */
static int
ua_session_load(const struct ua *ua, struct ua_session *s, int quiet)
{
    struct stat st;
    char        name[UA_NAME_MAX + 8], data[UA_TOKEN_MAX + UA_EMAIL_MAX + 4];
    char       *nl, *email, *end;
    ssize_t     n;
    size_t      len = 0;
    int         dfd, fd = -1, rc = UA_EXIT_FAIL;

    memset(s, 0, sizeof(*s));
    if (ua_session_name(ua->server, name, sizeof(name)) == -1)
        return ua_err("%s: cannot name its session file", ua->server);
    switch (ua_session_dir(0, &dfd)) {
    case 0:
        break;
    case 1:
        goto absent;
    default:
        return UA_EXIT_FAIL;
    }
    fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    close(dfd);
    if (fd == -1) {
        if (errno == ENOENT)
            goto absent;
        return ua_err("saved session for %s: %s", ua->server, strerror(errno));
    }
    if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) ||
        st.st_uid != geteuid()) {
        ua_err("saved session for %s: not a file of ours", ua->server);
        goto out;
    }
    if (st.st_size >= (off_t)sizeof(data))
        goto bad;
    while (len < sizeof(data) - 1) {
        n = read(fd, data + len, sizeof(data) - 1 - len);
        if (n == -1 && errno == EINTR)
            continue;
        if (n == -1) {
            ua_err("saved session for %s: %s", ua->server, strerror(errno));
            goto out;
        }
        if (n == 0)
            break;
        len += (size_t)n;
    }
    data[len] = '\0';
    /* "TOKEN\nEMAIL\n": a token of base64url characters, an email of
     * printable ones. */
    if ((nl = strchr(data, '\n')) == NULL)
        goto bad;
    *nl = '\0';
    email = nl + 1;
    if ((end = strchr(email, '\n')) == NULL || end[1] != '\0')
        goto bad;
    *end = '\0';
    if (!ua_token_ok(data, (size_t)(nl - data)) || *email == '\0' ||
        strlen(email) > UA_EMAIL_MAX || !ua_text_ok(email))
        goto bad;
    memcpy(s->token, data, (size_t)(nl - data) + 1);
    memcpy(s->email, email, strlen(email) + 1);
    rc = 0;
    goto out;
bad:
    ua_err("saved session for %s is damaged; log in again", ua->server);
out:
    explicit_bzero(data, sizeof(data));
    if (fd != -1)
        close(fd);
    return rc;
absent:
    if (!quiet)
        fprintf(stderr, "userapi: not logged in to %s (userapi login "
            "EMAIL)\n", ua->server);
    return UA_EXIT_AUTH;
}

/* Saves s for the server: written aside with mode 0600, synced, then
 * renamed over the old one.  0 or UA_EXIT_FAIL. */
static int
ua_session_save(const struct ua *ua, const struct ua_session *s)
{
    struct buf data;
    char          name[UA_NAME_MAX + 8], tmp[UA_NAME_MAX + 16];
    int           dfd, fd = -1, rc = UA_EXIT_FAIL;
    size_t        off;
    ssize_t       n;

    ua_buf_init(&data);
    if (ua_session_name(ua->server, name, sizeof(name)) == -1)
        return ua_err("%s: cannot name its session file", ua->server);
    snprintf(tmp, sizeof(tmp), "%s.tmp", name);
    if (ua_session_dir(1, &dfd) != 0)
        return UA_EXIT_FAIL;
    if (buf_append_str(&data, s->token) == -1 || buf_append_str(&data, "\n") == -1 ||
        buf_append_str(&data, s->email) == -1 || buf_append_str(&data, "\n") == -1) {
        ua_err("out of memory");
        goto out;
    }
    /* A file left by an interrupted save would make O_EXCL fail. */
    if (unlinkat(dfd, tmp, 0) == -1 && errno != ENOENT) {
        ua_err("cannot save the session: %s: %s", tmp, strerror(errno));
        goto out;
    }
    fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
        0600);
    if (fd == -1 || fchmod(fd, 0600) == -1) {
        ua_err("cannot save the session: %s: %s", tmp, strerror(errno));
        goto out;
    }
    for (off = 0; off < data.len; off += (size_t)n) {
        n = write(fd, data.data + off, data.len - off);
        if (n == -1 && errno == EINTR) {
            n = 0;
            continue;
        }
        if (n == -1) {
            ua_err("cannot save the session: %s: %s", tmp, strerror(errno));
            goto out;
        }
    }
    /* On disk before it replaces the old file, and the rename with it:
     * a crash leaves the old session or the new one, never an empty file. */
    if (fsync(fd) == -1) {
        ua_err("cannot save the session: %s: %s", tmp, strerror(errno));
        goto out;
    }
    if (close(fd) == -1) {
        fd = -1;
        ua_err("cannot save the session: %s: %s", tmp, strerror(errno));
        goto out;
    }
    fd = -1;
    if (renameat(dfd, tmp, dfd, name) == -1) {
        ua_err("cannot save the session: %s: %s", name, strerror(errno));
        goto out;
    }
    if (fsync(dfd) == -1) {
        ua_err("cannot save the session: its directory: %s", strerror(errno));
        goto out;
    }
    rc = 0;
out:
    if (fd != -1)
        close(fd);
    if (rc != 0)
        unlinkat(dfd, tmp, 0);
    close(dfd);
    buf_free(&data);
    return rc;
}

/* Forgets the session saved for the server.  0 or UA_EXIT_FAIL. */
static int
ua_session_remove(const struct ua *ua)
{
    char name[UA_NAME_MAX + 8];
    int  dfd, rc = 0;

    if (ua_session_name(ua->server, name, sizeof(name)) == -1)
        return ua_err("%s: cannot name its session file", ua->server);
    if ((rc = ua_session_dir(0, &dfd)) != 0)
        return rc == 1 ? 0 : UA_EXIT_FAIL;
    if (unlinkat(dfd, name, 0) == -1 && errno != ENOENT)
        rc = ua_err("cannot remove the saved session: %s", strerror(errno));
    close(dfd);
    return rc;
}

/* ---- passwords ------------------------------------------------------------ */




/*
 * A password into pw (UA_PASSWORD_MAX + 1 bytes): the next line of stdin
 * when from_stdin (what names it in the message when there is none), else
 * typed at prompt on the terminal, and typed again when confirm.
 * 0 or UA_EXIT_FAIL.
 */
static int
ua_password(int from_stdin, int confirm, const char *what, const char *prompt,
    char *pw, size_t size)
{
    char    again[UA_PASSWORD_MAX + 1];
    size_t  len = 0, len2 = 0;
    int     fd = -1, r, rc = UA_EXIT_FAIL;

    if (from_stdin) {
        r = prompt_read_line(STDIN_FILENO, pw, size, &len);
        if (r == -1) {
            ua_err("standard input: %s", strerror(errno));
            goto out;
        }
        if (r == 2) {
            ua_err("no %s on standard input", what);
            goto out;
        }
    } else {
        if ((fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC)) == -1) {
            ua_err("cannot ask for the %s: /dev/tty: %s (use "
                "--password-stdin)", what, strerror(errno));
            goto out;
        }
        r = prompt_password(fd, prompt, pw, size, &len);
        if (r == -1 || r == 2) {
            ua_err("cannot read the %s from the terminal%s%s", what,
                r == -1 ? ": " : "", r == -1 ? strerror(errno) : "");
            goto out;
        }
    }
    if (r == 1) {
        ua_err("the %s is longer than %zu bytes", what, size - 1);
        goto out;
    }
    if (fd != -1 && confirm) {
        r = prompt_password(fd, "Retype it: ", again, sizeof(again), &len2);
        if (r == -1 || r == 2) {
            ua_err("cannot read the %s from the terminal%s%s", what,
                r == -1 ? ": " : "", r == -1 ? strerror(errno) : "");
            goto out;
        }
        if (r == 1 || len2 != len || !crypto_equal_ct(pw, again, len)) {
            ua_err("the passwords do not match");
            goto out;
        }
    }
    rc = 0;
out:
    if (rc != 0)
        explicit_bzero(pw, size);
    explicit_bzero(again, sizeof(again));
    if (fd != -1)
        close(fd);
    return rc;
}

/* ---- requests ------------------------------------------------------------- */

static size_t
ua_body_cb(char *data, size_t size, size_t n, void *arg)
{
    struct ua_response *r = arg;

    /* A short count makes libcurl stop with CURLE_WRITE_ERROR. */
    if (buf_append(&r->body, data, size * n) == -1) {
        r->over = errno == EFBIG;
        return 0;
    }
    return size * n;
}

/*
 * Sends method path (below the server URL) with token as a Bearer
 * credential (NULL: none) and body as JSON (NULL: none) and reads the
 * answer into r, which the caller frees with ua_response_free.  0 with
 * r->status set, UA_EXIT_CONNECT when no complete answer came, or
 * UA_EXIT_FAIL, after saying why.
 */
static int
ua_request(const struct ua *ua, const char *method, const char *path,
    const char *token, const struct buf *body, struct ua_response *r)
{
    struct curl_slist *hdrs = NULL, *h;
    struct buf      url, auth;
    char               errbuf[CURL_ERROR_SIZE];
    CURLcode           cc = CURLE_OK;
    CURL              *c;
    int                rc = UA_EXIT_FAIL;

    memset(r, 0, sizeof(*r));
    ua_buf_init(&r->body);
    ua_buf_init(&url);
    ua_buf_init(&auth);
    errbuf[0] = '\0';
    if ((c = curl_easy_init()) == NULL)
        return ua_err("cannot start libcurl");
    r->curl = c;
    if (buf_append_str(&url, ua->server) == -1 || buf_append_str(&url, path) == -1)
        goto nomem;
    /* "Expect:" keeps libcurl from waiting for a 100 Continue. */
    if ((h = curl_slist_append(hdrs, "Expect:")) == NULL)
        goto nomem;
    hdrs = h;
    if ((h = curl_slist_append(hdrs, "Accept: application/json")) == NULL)
        goto nomem;
    hdrs = h;
    if (body != NULL) {
        if ((h = curl_slist_append(hdrs, "Content-Type: application/json")) ==
            NULL)
            goto nomem;
        hdrs = h;
    }
    if (token != NULL) {
        if (buf_append_str(&auth, "Authorization: Bearer ") == -1 ||
            buf_append_str(&auth, token) == -1 ||
            (h = curl_slist_append(hdrs, buf_str(&auth))) == NULL)
            goto nomem;
        hdrs = h;
    }
    cc |= curl_easy_setopt(c, CURLOPT_URL, buf_str(&url));
    cc |= curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    cc |= curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    cc |= curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, UA_CONNECT_TIMEOUT);
    cc |= curl_easy_setopt(c, CURLOPT_TIMEOUT, UA_TIMEOUT);
    cc |= curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    cc |= curl_easy_setopt(c, CURLOPT_USERAGENT, "userapi/" USERAPID_VERSION);
    cc |= curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
    cc |= curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, ua_body_cb);
    cc |= curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
    if (strcmp(method, "HEAD") == 0)
        cc |= curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    else if (strcmp(method, "GET") != 0)
        cc |= curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    if (body != NULL) {
        /* Not copied by libcurl: body stays ours to wipe. */
        cc |= curl_easy_setopt(c, CURLOPT_POSTFIELDS, body->data);
        cc |= curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
            (curl_off_t)body->len);
    }
    if (cc != CURLE_OK) {
        ua_err("libcurl refused an option (version %s)", curl_version());
        goto out;
    }
    cc = curl_easy_perform(c);
    if (cc != CURLE_OK) {
        if (r->over)
            ua_err("the answer from %s is larger than %ld bytes", ua->server,
                UA_BODY_MAX);
        else if (cc == CURLE_WRITE_ERROR || cc == CURLE_OUT_OF_MEMORY)
            ua_err("out of memory");
        else {
            ua_err("cannot connect to %s: %s", ua->server,
                errbuf[0] != '\0' ? errbuf : curl_easy_strerror(cc));
            rc = UA_EXIT_CONNECT;
        }
        goto out;
    }
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
    if (buf_str(&r->body) == NULL)
        goto nomem;
    rc = 0;
    goto out;
nomem:
    ua_err("out of memory");
out:
    curl_slist_free_all(hdrs);
    buf_free(&auth);
    buf_free(&url);
    return rc;
}

static void
ua_response_free(struct ua_response *r)
{
    buf_free(&r->body);
    if (r->curl != NULL)
        curl_easy_cleanup(r->curl);
    r->curl = NULL;
}

/* The body as a JSON object, or NULL when it is not one.  The caller
 * puts it. */
static struct json_object *
ua_response_json(const struct ua_response *r)
{
    struct json_tokener *tok;
    struct json_object  *o;

    if (r->body.len == 0 || (tok = json_tokener_new()) == NULL)
        return NULL;
    o = json_tokener_parse_ex(tok, r->body.data, (int)r->body.len);
    if (o != NULL && (json_tokener_get_error(tok) != json_tokener_success ||
        json_tokener_get_parse_end(tok) != r->body.len ||
        !json_object_is_type(o, json_type_object))) {
        json_object_put(o);
        o = NULL;
    }
    json_tokener_free(tok);
    return o;
}

/*
 * The exit status for the answer in r: 0 for 2xx; else the error, with
 * the server's "message" when it sent one, is said on stderr.
 */
static int
ua_answer(const struct ua_response *r)
{
    struct json_object *o, *m;
    const char         *msg = NULL;
    int                 rc;

    if (r->status >= 200 && r->status < 300)
        return 0;
    if (r->status == 401 || r->status == 403)
        rc = UA_EXIT_AUTH;
    else if (r->status >= 400 && r->status < 500)
        rc = UA_EXIT_REJECTED;
    else if (r->status >= 500 && r->status < 600)
        rc = UA_EXIT_SERVER;
    else
        rc = UA_EXIT_FAIL;
    o = ua_response_json(r);
    if (o != NULL && json_object_object_get_ex(o, "message", &m) &&
        json_object_is_type(m, json_type_string) &&
        ua_text_ok(json_object_get_string(m)) &&
        json_object_get_string(m)[0] != '\0')
        msg = json_object_get_string(m);
    if (msg != NULL)
        fprintf(stderr, "userapi: %s\n", msg);
    else if (rc == UA_EXIT_FAIL)
        fprintf(stderr, "userapi: unexpected answer %ld from the server\n",
            r->status);
    else
        fprintf(stderr, "userapi: the server answered %ld\n", r->status);
    json_object_put(o);
    return rc;
}

/* Whether s may go to a terminal: no control characters. */
static int
ua_text_ok(const char *s)
{
    for (; *s != '\0'; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return 0;
    return 1;
}

/* Whether t[0..len) may be a token: 1..UA_TOKEN_MAX base64url
 * characters, which a header or the session file can carry as they are. */
static int
ua_token_ok(const char *t, size_t len)
{
    size_t i;

    if (len == 0 || len > UA_TOKEN_MAX)
        return 0;
    for (i = 0; i < len; i++)
        if (!isalnum((unsigned char)t[i]) && t[i] != '-' && t[i] != '_')
            return 0;
    return 1;
}

/* The body as it came, and a newline (the server sends none). */
static void
ua_print_body(const struct ua_response *r)
{
    if (r->body.len == 0)
        return;
    fwrite(r->body.data, 1, r->body.len, stdout);
    if (r->body.data[r->body.len - 1] != '\n')
        putchar('\n');
}

/*
 * users, an array of user records, as a table with aligned columns.
 * 0, or UA_EXIT_FAIL (said) when a record is not one.
 */
static int
ua_print_users(struct json_object *users)
{
    static const char *const keys[] = { "email", "role", "created_at" };
    struct json_object *u, *v;
    const char         *s;
    size_t              n, i, k, w[2] = { sizeof("EMAIL") - 1,
                            sizeof("ROLE") - 1 }, len;

    if (users == NULL || !json_object_is_type(users, json_type_array))
        return ua_err("unexpected answer from the server: no user list");
    n = json_object_array_length(users);
    for (i = 0; i < n; i++) {
        u = json_object_array_get_idx(users, i);
        for (k = 0; k < 3; k++) {
            if (!json_object_object_get_ex(u, keys[k], &v) ||
                !json_object_is_type(v, json_type_string) ||
                !ua_text_ok(s = json_object_get_string(v)))
                return ua_err("unexpected answer from the server: a user "
                    "record without %s", keys[k]);
            if (k < 2 && (len = strlen(s)) > w[k])
                w[k] = len;
        }
    }
    printf("%-*s  %-*s  %s\n", (int)w[0], "EMAIL", (int)w[1], "ROLE",
        "CREATED");
    for (i = 0; i < n; i++) {
        const char *f[3];

        u = json_object_array_get_idx(users, i);
        for (k = 0; k < 3; k++) {
            json_object_object_get_ex(u, keys[k], &v);
            f[k] = json_object_get_string(v);
        }
        printf("%-*s  %-*s  %s\n", (int)w[0], f[0], (int)w[1], f[1], f[2]);
    }
    return 0;
}

/* The value of a header of the answer, or "-" when it has none. */
static const char *
ua_header(const struct ua_response *r, const char *name)
{
    struct curl_header *h;

    if (curl_easy_header(r->curl, name, 0, CURLH_HEADER, -1, &h) !=
        CURLHE_OK || !ua_text_ok(h->value))
        return "-";
    return h->value;
}

/* Seconds as "3d 4h 5m 6s" from the largest unit that is not zero; the
 * text itself when it is not a number. */
static const char *
ua_duration(const char *text, char *out, size_t outlen)
{
    unsigned long long s, d, h, m;
    char              *end;

    errno = 0;
    s = strtoull(text, &end, 10);
    if (!isdigit((unsigned char)text[0]) || *end != '\0' || errno != 0)
        return text;
    d = s / 86400;
    h = s / 3600 % 24;
    m = s / 60 % 60;
    s %= 60;
    if (d > 0)
        snprintf(out, outlen, "%llud %lluh %llum %llus", d, h, m, s);
    else if (h > 0)
        snprintf(out, outlen, "%lluh %llum %llus", h, m, s);
    else if (m > 0)
        snprintf(out, outlen, "%llum %llus", m, s);
    else
        snprintf(out, outlen, "%llus", s);
    return out;
}

/* ---- commands ------------------------------------------------------------- */

/* Commands that take no argument of their own.  0, or an exit status
 * (-1 for a --help that was answered). */
static int
ua_no_args(struct ua *ua, const struct ua_command *cmd, int argc, char **argv)
{
    static const struct option opts[] = { UA_COMMON_OPTS, { NULL, 0, NULL, 0 } };
    int                        ch;

    while ((ch = ua_getopt(ua, cmd, argc, argv, UA_COMMON_OPTSTRING, opts)) !=
        -1)
        if (ch == 'h' || ch == '?')
            return ch == 'h' ? -1 : UA_EXIT_USAGE;
    if (argc != optind)
        return ua_usage_err(cmd, "unexpected argument '%s'", argv[optind]);
    return ua_server_resolve(ua);
}

static int
ua_status(struct ua *ua, const struct ua_command *cmd, int argc, char **argv)
{
    struct ua_response r;
    char               up[64];
    int                rc;

    if ((rc = ua_no_args(ua, cmd, argc, argv)) != 0)
        return rc == -1 ? 0 : rc;
    /* The headers of HEAD / say it all; as JSON, GET /status does. */
    if ((rc = ua_request(ua, ua->json ? "GET" : "HEAD",
        ua->json ? "/status" : "/", NULL, NULL, &r)) != 0 ||
        (rc = ua_answer(&r)) != 0)
        goto out;
    if (ua->json) {
        ua_print_body(&r);
        goto out;
    }
    printf("status   %s\n", ua_header(&r, "X-Userapid-Status"));
    printf("workers  %s\n", ua_header(&r, "X-Userapid-Workers"));
    printf("users    %s\n", ua_header(&r, "X-Userapid-Users"));
    printf("uptime   %s\n", ua_duration(ua_header(&r, "X-Userapid-Uptime"),
        up, sizeof(up)));
    printf("version  %s\n", ua_header(&r, "X-Userapid-Version"));
out:
    ua_response_free(&r);
    return rc;
}

static int
ua_register(struct ua *ua, const struct ua_command *cmd, int argc, char **argv)
{
    static const struct option opts[] = {
        UA_COMMON_OPTS,
        { "role",           required_argument, NULL, 'r' },
        { "password-stdin", no_argument,       NULL, 'p' },
        { NULL, 0, NULL, 0 },
    };
    struct ua_response  r;
    struct ua_session   s;
    struct buf       body;
    struct json_object *o = NULL, *e, *ro;
    const char         *role = NULL, *email;
    char                pw[UA_PASSWORD_MAX + 1], prompt[UA_EMAIL_MAX + 32];
    int                 ch, from_stdin = 0, authed, rc;

    memset(&r, 0, sizeof(r));
    ua_buf_init(&body);
    while ((ch = ua_getopt(ua, cmd, argc, argv, UA_COMMON_OPTSTRING "r:p",
        opts)) != -1) {
        switch (ch) {
        case 'h':
            return 0;
        case 'r':
            if (strcmp(optarg, "admin") != 0 && strcmp(optarg, "user") != 0)
                return ua_usage_err(cmd, "the role is admin or user, not "
                    "'%s'", optarg);
            role = optarg;
            break;
        case 'p':
            from_stdin = 1;
            break;
        default:
            return UA_EXIT_USAGE;
        }
    }
    if (argc - optind != 1 || argv[optind][0] == '\0')
        return ua_usage_err(cmd, "expected one EMAIL");
    email = argv[optind];
    if (strlen(email) > UA_EMAIL_MAX)
        return ua_usage_err(cmd, "the email is longer than %d bytes",
            UA_EMAIL_MAX);
    if ((rc = ua_server_resolve(ua)) != 0)
        return rc;
    /* A saved session lets an administrator create administrators. */
    rc = ua_session_load(ua, &s, 1);
    if (rc == UA_EXIT_FAIL)
        return rc;
    authed = rc == 0;
    snprintf(prompt, sizeof(prompt), "Password for %s: ", email);
    if ((rc = ua_password(from_stdin, 1, "password", prompt, pw,
        sizeof(pw))) != 0)
        goto out;
    if (buf_append_str(&body, "{\"email\":") == -1 ||
        jsonw_string(&body, email, strlen(email)) == -1 ||
        buf_append_str(&body, ",\"password\":") == -1 ||
        jsonw_string(&body, pw, strlen(pw)) == -1 ||
        (role != NULL && (buf_append_str(&body, ",\"role\":") == -1 ||
        jsonw_string(&body, role, strlen(role)) == -1)) ||
        buf_append_str(&body, "}") == -1) {
        rc = ua_err("out of memory");
        goto out;
    }
    explicit_bzero(pw, sizeof(pw));
    if ((rc = ua_request(ua, "PUT", "/", authed ? s.token : NULL, &body,
        &r)) != 0 || (rc = ua_answer(&r)) != 0)
        goto out;
    if (ua->json) {
        ua_print_body(&r);
        goto out;
    }
    if ((o = ua_response_json(&r)) == NULL ||
        !json_object_object_get_ex(o, "email", &e) ||
        !json_object_object_get_ex(o, "role", &ro) ||
        !ua_text_ok(json_object_get_string(e)) ||
        !ua_text_ok(json_object_get_string(ro))) {
        rc = ua_err("unexpected answer from the server: no user record");
        goto out;
    }
    printf("created %s (%s)\n", json_object_get_string(e),
        json_object_get_string(ro));
out:
    json_object_put(o);
    explicit_bzero(pw, sizeof(pw));
    explicit_bzero(&s, sizeof(s));
    buf_free(&body);
    ua_response_free(&r);
    return rc;
}

static int
ua_login(struct ua *ua, const struct ua_command *cmd, int argc, char **argv)
{
    static const struct option opts[] = {
        UA_COMMON_OPTS,
        { "password-stdin", no_argument, NULL, 'p' },
        { NULL, 0, NULL, 0 },
    };
    struct ua_response  r;
    struct ua_session   s;
    struct buf       body;
    struct json_object *o = NULL, *t, *e, *ro;
    const char         *email, *tok;
    char                pw[UA_PASSWORD_MAX + 1], prompt[UA_EMAIL_MAX + 32];
    size_t              tlen;
    int                 ch, from_stdin = 0, rc;

    memset(&r, 0, sizeof(r));
    memset(&s, 0, sizeof(s));
    ua_buf_init(&body);
    while ((ch = ua_getopt(ua, cmd, argc, argv, UA_COMMON_OPTSTRING "p",
        opts)) != -1) {
        switch (ch) {
        case 'h':
            return 0;
        case 'p':
            from_stdin = 1;
            break;
        default:
            return UA_EXIT_USAGE;
        }
    }
    if (argc - optind != 1 || argv[optind][0] == '\0')
        return ua_usage_err(cmd, "expected one EMAIL");
    email = argv[optind];
    if (strlen(email) > UA_EMAIL_MAX)
        return ua_usage_err(cmd, "the email is longer than %d bytes",
            UA_EMAIL_MAX);
    if ((rc = ua_server_resolve(ua)) != 0)
        return rc;
    snprintf(prompt, sizeof(prompt), "Password for %s: ", email);
    if ((rc = ua_password(from_stdin, 0, "password", prompt, pw,
        sizeof(pw))) != 0)
        goto out;
    if (buf_append_str(&body, "{\"email\":") == -1 ||
        jsonw_string(&body, email, strlen(email)) == -1 ||
        buf_append_str(&body, ",\"password\":") == -1 ||
        jsonw_string(&body, pw, strlen(pw)) == -1 ||
        buf_append_str(&body, "}") == -1) {
        rc = ua_err("out of memory");
        goto out;
    }
    explicit_bzero(pw, sizeof(pw));
    if ((rc = ua_request(ua, "POST", "/", NULL, &body, &r)) != 0 ||
        (rc = ua_answer(&r)) != 0)
        goto out;
    if ((o = ua_response_json(&r)) == NULL ||
        !json_object_object_get_ex(o, "token", &t) ||
        !json_object_is_type(t, json_type_string) ||
        !json_object_object_get_ex(o, "email", &e) ||
        !json_object_is_type(e, json_type_string) ||
        !json_object_object_get_ex(o, "role", &ro) ||
        !ua_text_ok(json_object_get_string(ro))) {
        rc = ua_err("unexpected answer from the server: no session token");
        goto out;
    }
    tok = json_object_get_string(t);
    tlen = (size_t)json_object_get_string_len(t);
    if (!ua_token_ok(tok, tlen) || json_object_get_string(e)[0] == '\0' ||
        strlen(json_object_get_string(e)) > UA_EMAIL_MAX ||
        !ua_text_ok(json_object_get_string(e))) {
        rc = ua_err("unexpected answer from the server: a malformed token "
            "or email");
        goto out;
    }
    memcpy(s.token, tok, tlen + 1);
    snprintf(s.email, sizeof(s.email), "%s", json_object_get_string(e));
    /* json-c's copy of the token goes too (the object is ours), and so
     * it is not printed. */
    explicit_bzero((char *)tok, tlen);
    json_object_object_del(o, "token");
    if ((rc = ua_session_save(ua, &s)) != 0)
        goto out;
    if (ua->json)
        puts(json_object_to_json_string_ext(o, UA_JSON_FLAGS));
    else
        printf("logged in as %s (%s)\n", s.email, json_object_get_string(ro));
out:
    json_object_put(o);
    explicit_bzero(pw, sizeof(pw));
    explicit_bzero(&s, sizeof(s));
    buf_free(&body);
    ua_response_free(&r);
    return rc;
}

static int
ua_whoami(struct ua *ua, const struct ua_command *cmd, int argc, char **argv)
{
    struct ua_response  r;
    struct ua_session   s;
    struct buf       path;
    struct json_object *o = NULL, *one = NULL;
    int                 rc;

    memset(&r, 0, sizeof(r));
    ua_buf_init(&path);
    if ((rc = ua_no_args(ua, cmd, argc, argv)) != 0)
        return rc == -1 ? 0 : rc;
    if ((rc = ua_session_load(ua, &s, 0)) != 0)
        return rc;
    /* The own record, whatever the role: GET / lists all for an admin. */
    if (ua_buf_path(&path, "/users/", s.email) == -1) {
        rc = ua_err("out of memory");
        goto out;
    }
    if ((rc = ua_request(ua, "GET", buf_str(&path), s.token, NULL, &r)) != 0 ||
        (rc = ua_answer(&r)) != 0)
        goto out;
    if (ua->json) {
        ua_print_body(&r);
        goto out;
    }
    if ((o = ua_response_json(&r)) == NULL ||
        (one = json_object_new_array()) == NULL) {
        rc = ua_err("unexpected answer from the server: no user record");
        goto out;
    }
    json_object_array_add(one, json_object_get(o));
    rc = ua_print_users(one);
out:
    json_object_put(one);
    json_object_put(o);
    explicit_bzero(&s, sizeof(s));
    buf_free(&path);
    ua_response_free(&r);
    return rc;
}

static int
ua_users(struct ua *ua, const struct ua_command *cmd, int argc, char **argv)
{
    struct ua_response  r;
    struct ua_session   s;
    struct json_object *o = NULL, *users = NULL;
    int                 rc;

    memset(&r, 0, sizeof(r));
    if ((rc = ua_no_args(ua, cmd, argc, argv)) != 0)
        return rc == -1 ? 0 : rc;
    if ((rc = ua_session_load(ua, &s, 0)) != 0)
        return rc;
    if ((rc = ua_request(ua, "GET", "/", s.token, NULL, &r)) != 0 ||
        (rc = ua_answer(&r)) != 0)
        goto out;
    if (ua->json) {
        ua_print_body(&r);
        goto out;
    }
    if ((o = ua_response_json(&r)) != NULL)
        json_object_object_get_ex(o, "users", &users);
    rc = ua_print_users(users);
out:
    json_object_put(o);
    explicit_bzero(&s, sizeof(s));
    ua_response_free(&r);
    return rc;
}

static int
ua_passwd(struct ua *ua, const struct ua_command *cmd, int argc, char **argv)
{
    static const struct option opts[] = {
        UA_COMMON_OPTS,
        { "password-stdin", no_argument, NULL, 'p' },
        { NULL, 0, NULL, 0 },
    };
    struct ua_response r;
    struct ua_session  s;
    struct buf      body, path;
    char               cur[UA_PASSWORD_MAX + 1], pw[UA_PASSWORD_MAX + 1];
    int                ch, from_stdin = 0, rc;

    memset(&r, 0, sizeof(r));
    memset(&s, 0, sizeof(s));
    ua_buf_init(&body);
    ua_buf_init(&path);
    while ((ch = ua_getopt(ua, cmd, argc, argv, UA_COMMON_OPTSTRING "p",
        opts)) != -1) {
        switch (ch) {
        case 'h':
            return 0;
        case 'p':
            from_stdin = 1;
            break;
        default:
            return UA_EXIT_USAGE;
        }
    }
    if (argc != optind)
        return ua_usage_err(cmd, "unexpected argument '%s'", argv[optind]);
    if ((rc = ua_server_resolve(ua)) != 0 ||
        (rc = ua_session_load(ua, &s, 0)) != 0)
        return rc;
    /* With --password-stdin: the current password, then the new one. */
    if ((rc = ua_password(from_stdin, 0, "current password",
        "Current password: ", cur, sizeof(cur))) != 0 ||
        (rc = ua_password(from_stdin, 1, "new password", "New password: ",
        pw, sizeof(pw))) != 0)
        goto out;
    if (ua_buf_path(&path, "/users/", s.email) == -1 ||
        buf_append_str(&body, "{\"password\":") == -1 ||
        jsonw_string(&body, pw, strlen(pw)) == -1 ||
        buf_append_str(&body, ",\"current_password\":") == -1 ||
        jsonw_string(&body, cur, strlen(cur)) == -1 ||
        buf_append_str(&body, "}") == -1) {
        rc = ua_err("out of memory");
        goto out;
    }
    explicit_bzero(cur, sizeof(cur));
    explicit_bzero(pw, sizeof(pw));
    if ((rc = ua_request(ua, "PATCH", buf_str(&path), s.token, &body, &r)) != 0 ||
        (rc = ua_answer(&r)) != 0)
        goto out;
    if (ua->json)
        ua_print_body(&r);
    else
        printf("password changed for %s\n", s.email);
out:
    explicit_bzero(cur, sizeof(cur));
    explicit_bzero(pw, sizeof(pw));
    explicit_bzero(&s, sizeof(s));
    buf_free(&body);
    buf_free(&path);
    ua_response_free(&r);
    return rc;
}

static int
ua_delete(struct ua *ua, const struct ua_command *cmd, int argc, char **argv)
{
    static const struct option opts[] = { UA_COMMON_OPTS, { NULL, 0, NULL, 0 } };
    struct ua_response         r;
    struct ua_session          s;
    struct buf              path;
    const char                *email, *p;
    int                        ch, rc;

    memset(&r, 0, sizeof(r));
    ua_buf_init(&path);
    while ((ch = ua_getopt(ua, cmd, argc, argv, UA_COMMON_OPTSTRING, opts)) !=
        -1)
        if (ch == 'h' || ch == '?')
            return ch == 'h' ? 0 : UA_EXIT_USAGE;
    if (argc - optind != 1 || argv[optind][0] == '\0')
        return ua_usage_err(cmd, "expected one EMAIL");
    email = argv[optind];
    if (strlen(email) > UA_EMAIL_MAX)
        return ua_usage_err(cmd, "the email is longer than %d bytes",
            UA_EMAIL_MAX);
    if ((rc = ua_server_resolve(ua)) != 0 ||
        (rc = ua_session_load(ua, &s, 0)) != 0)
        return rc;
    if (ua_buf_path(&path, "/users/", email) == -1) {
        rc = ua_err("out of memory");
        goto out;
    }
    if ((rc = ua_request(ua, "DELETE", buf_str(&path), s.token, NULL, &r)) != 0 ||
        (rc = ua_answer(&r)) != 0)
        goto out;
    if (ua->json) {
        ua_print_body(&r);
    } else if (ua_text_ok(email)) {
        /* As the server stores it. */
        fputs("deleted ", stdout);
        for (p = email; *p != '\0'; p++)
            putchar(tolower((unsigned char)*p));
        putchar('\n');
    } else {
        printf("deleted\n");
    }
out:
    explicit_bzero(&s, sizeof(s));
    buf_free(&path);
    ua_response_free(&r);
    return rc;
}

static int
ua_logout(struct ua *ua, const struct ua_command *cmd, int argc, char **argv)
{
    struct ua_response r;
    struct ua_session  s;
    int                rc, rc2;

    memset(&r, 0, sizeof(r));
    if ((rc = ua_no_args(ua, cmd, argc, argv)) != 0)
        return rc == -1 ? 0 : rc;
    if ((rc = ua_session_load(ua, &s, 0)) != 0)
        return rc;
    if ((rc = ua_request(ua, "DELETE", "/session", s.token, NULL, &r)) != 0)
        goto out;
    rc = ua_answer(&r);
    /* A session the server no longer knows is as good as ended. */
    if (rc == 0 || rc == UA_EXIT_AUTH) {
        if ((rc2 = ua_session_remove(ua)) != 0 && rc == 0)
            rc = rc2;
    }
    if (rc == 0 && ua->json)
        ua_print_body(&r);
    else if (rc == 0)
        printf("logged out of %s\n", ua->server);
out:
    explicit_bzero(&s, sizeof(s));
    ua_response_free(&r);
    return rc;
}

/* ---- main ----------------------------------------------------------------- */

int
main(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "server",  required_argument, NULL, 's' },
        { "json",    no_argument,       NULL, 'j' },
        { "version", no_argument,       NULL, 'V' },
        { "help",    no_argument,       NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    const struct ua_command *cmd = NULL;
    struct ua                ua;
    size_t                   i;
    int                      ch, rc;

    memset(&ua, 0, sizeof(ua));
    /* The session directory and files are ours alone. */
    umask(077);
    opterr = 0;
    while ((ch = getopt_long(argc, argv, "+:s:jVh", longopts, NULL)) != -1) {
        switch (ch) {
        case 's':
            ua.server_opt = optarg;
            break;
        case 'j':
            ua.json = 1;
            break;
        case 'V':
            fputs(CLI_VERSION_TEXT("userapi"), stdout);
            return 0;
        case 'h':
            ua_usage(stdout);
            return 0;
        case ':':
            fprintf(stderr, "userapi: %s needs a value\n", argv[optind - 1]);
            ua_usage(stderr);
            return UA_EXIT_USAGE;
        default:
            if (optopt != 0)
                fprintf(stderr, "userapi: unknown option '-%c'\n", optopt);
            else
                fprintf(stderr, "userapi: unknown option '%s'\n",
                    argv[optind - 1]);
            ua_usage(stderr);
            return UA_EXIT_USAGE;
        }
    }
    if (optind == argc) {
        fprintf(stderr, "userapi: no command given\n");
        ua_usage(stderr);
        return UA_EXIT_USAGE;
    }
    for (i = 0; i < UA_NCOMMANDS && cmd == NULL; i++)
        if (strcmp(argv[optind], ua_commands[i].name) == 0)
            cmd = &ua_commands[i];
    if (cmd == NULL) {
        fprintf(stderr, "userapi: unknown command '%s' (userapi --help "
            "lists them)\n", argv[optind]);
        return UA_EXIT_USAGE;
    }
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return ua_err("cannot start libcurl");
    argc -= optind;
    argv += optind;
    optind = 0;         /* a fresh getopt over the command's arguments */
    rc = cmd->run(&ua, cmd, argc, argv);
    curl_global_cleanup();
    if ((fflush(stdout) == EOF || ferror(stdout)) && rc == 0)
        rc = ua_err("standard output: %s", strerror(errno));
    return rc;
}
