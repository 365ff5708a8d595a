/* SPDX-License-Identifier: MIT */
/*
 * main.c - the command-line client of the userapid HTTP API, for people
 * and scripts: one command, one request through libcurl.  See userapi(1)
 * and userapi.h for the other files.
 *
 * This file holds the command table and reads the command line into a
 * struct ua before a command runs: the options before the command, then
 * the command's own (with --json, --server and --help, which every
 * command takes too), then its one argument, then the server.  A command
 * therefore starts with everything checked, and a usage error is always
 * one line and a pointer to the help, with status 2.  "help" is answered
 * here, since it is about this table.
 *
 * The server is --server, else $USERAPI_SERVER, else the daemon's default
 * address, normalised so that one server has one session file.
 */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "cli.h"
#include "userapi.h"

/* What a command takes besides the options every command takes, and
 * what it needs. */
#define UA_F_ROLE       0x1     /* --role admin|user */
#define UA_F_STDIN      0x2     /* --password-stdin */
#define UA_F_LOCAL      0x4     /* needs no server */
#define UA_F_TOP        0x8     /* --version: userapi's, before a command */
#define UA_F_PAGE       0x10    /* --limit, --after, --search */
#define UA_F_ALL        0x20    /* --all */

/* Options without a short form: getopt's values above any character. */
#define UA_OPT_LIMIT    0x101
#define UA_OPT_AFTER    0x102
#define UA_OPT_SEARCH   0x103

#define UA_LIMIT_MAX    1000    /* the server's largest page */

enum ua_operand {
    UA_OPERAND_NONE,
    UA_OPERAND_EMAIL,           /* exactly one */
    UA_OPERAND_KEY,             /* exactly one email or client address */
    UA_OPERAND_COMMAND,         /* at most one */
    UA_OPERAND_EMAIL_OPT,       /* at most one email */
    UA_OPERAND_EMAIL_ROLE,      /* an email, then admin or user */
};

struct ua_command {
    const char      *name;
    int            (*run)(struct ua *);
    int              flags;     /* UA_F_* */
    enum ua_operand  operand;
    const char      *args;      /* for the usage line */
    const char      *help;
};

/* A parsing step's "no answer yet, go on". */
#define UA_GO_ON        (-1)

static int  ua_help(struct ua *);
static int  ua_page_opt(struct ua *, const struct ua_command *, int,
                const char *);
static void ua_try(const char *);
static int  ua_usage_err(const char *, const char *, ...)
                __attribute__((format(printf, 2, 3)));

static const struct ua_command ua_commands[] = {
    { "status",   ua_status,   0, UA_OPERAND_NONE, "",
      "show the server's status, workers, users, uptime and version" },
    { "register", ua_register, UA_F_ROLE | UA_F_STDIN, UA_OPERAND_EMAIL,
      "[--role admin|user] [--password-stdin] EMAIL",
      "create a user (an administrator's saved session may create admins)" },
    { "login",    ua_login,    UA_F_STDIN, UA_OPERAND_EMAIL,
      "[--password-stdin] EMAIL",
      "log in and save the session for this server" },
    { "whoami",   ua_whoami,   0, UA_OPERAND_NONE, "",
      "show the logged-in user and when the session expires" },
    { "users",    ua_users,    UA_F_PAGE | UA_F_ALL, UA_OPERAND_NONE,
      "[--limit N] [--after CURSOR] [--search PREFIX] [--all]",
      "list the users (an administrator sees all, a user only themself)" },
    { "show",     ua_show,     0, UA_OPERAND_EMAIL, "EMAIL",
      "show one user (administrators, or the user themself)" },
    { "role",     ua_role,     0, UA_OPERAND_EMAIL_ROLE, "EMAIL admin|user",
      "give a user a role (administrators only)" },
    { "passwd",   ua_passwd,   UA_F_STDIN, UA_OPERAND_EMAIL_OPT,
      "[--password-stdin] [EMAIL]",
      "change your password, or set a user's (administrators only)" },
    { "delete",   ua_delete,   0, UA_OPERAND_EMAIL, "EMAIL",
      "delete a user (administrators only)" },
    { "sessions", ua_sessions, 0, UA_OPERAND_NONE, "",
      "list your live sessions, the current one marked *" },
    { "logout",   ua_logout,   UA_F_ALL, UA_OPERAND_NONE, "[--all]",
      "end the session (with --all, every session of yours) and forget it" },
    { "lockouts", ua_lockouts, 0, UA_OPERAND_NONE, "",
      "list accounts slowed down and addresses locked out (administrators "
      "only)" },
    { "unlock",   ua_unlock,   0, UA_OPERAND_KEY, "EMAIL|ADDRESS",
      "lift the lockout of an account or an address (administrators only)" },
    { "help",     ua_help,     UA_F_LOCAL, UA_OPERAND_COMMAND, "[COMMAND]",
      "show this help, or the help of one command" },
};

#define UA_NCOMMANDS (sizeof(ua_commands) / sizeof(ua_commands[0]))

/* The options: the first three userapi and every command take, so that
 * they may come before or after the command; the others where the flags
 * say, UA_F_TOP for userapi's own. */
static const struct ua_option {
    int             flag;       /* UA_F_*, or 0 for every command */
    const char     *spec;       /* its part of the getopt optstring */
    struct option   lo;
} ua_options[] = {
    { 0,          "j",  { "json",           no_argument,       NULL, 'j' } },
    { 0,          "s:", { "server",         required_argument, NULL, 's' } },
    { 0,          "h",  { "help",           no_argument,       NULL, 'h' } },
    { UA_F_ROLE,  "r:", { "role",           required_argument, NULL, 'r' } },
    { UA_F_STDIN, "p",  { "password-stdin", no_argument,       NULL, 'p' } },
    { UA_F_TOP,   "V",  { "version",        no_argument,       NULL, 'V' } },
    { UA_F_PAGE,  "",   { "limit",  required_argument, NULL, UA_OPT_LIMIT } },
    { UA_F_PAGE,  "",   { "after",  required_argument, NULL, UA_OPT_AFTER } },
    { UA_F_PAGE,  "",   { "search", required_argument, NULL, UA_OPT_SEARCH } },
    { UA_F_ALL,   "a",  { "all",            no_argument,       NULL, 'a' } },
};

#define UA_NOPTIONS (sizeof(ua_options) / sizeof(ua_options[0]))

/* ---- help and usage errors ------------------------------------------------ */

/* Where to read more after a usage error: the help of the command named,
 * or of userapi when name is NULL. */
static void
ua_try(const char *name)
{
    fprintf(stderr, "Try 'userapi%s%s --help' for more information.\n",
        name != NULL ? " " : "", name != NULL ? name : "");
}

/*
 * "userapi: [NAME: ]problem" and where to read more, on stderr: the help
 * of the command named, or of userapi when name is NULL.  Returns
 * UA_EXIT_USAGE.
 */
static int
ua_usage_err(const char *name, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    ua_vsay(name, fmt, ap);
    va_end(ap);
    ua_try(name);
    return UA_EXIT_USAGE;
}

/* The usage error for getopt's answer ch, ':' or '?', to the command
 * named (NULL: userapi itself). */
static int
ua_option_err(const char *name, int ch, char **argv)
{
    if (ch == ':')
        return ua_usage_err(name, "%s needs a value", argv[optind - 1]);
    if (optopt != 0)
        return ua_usage_err(name, "unknown option '-%c'", optopt);
    return ua_usage_err(name, "unknown option '%s'", argv[optind - 1]);
}

static const struct ua_command *
ua_command_find(const char *name)
{
    size_t i;

    for (i = 0; i < UA_NCOMMANDS; i++)
        if (strcmp(name, ua_commands[i].name) == 0)
            return &ua_commands[i];
    return NULL;
}

/* The help of cmd, or of userapi when NULL: what --help prints.
 * Returns 0. */
static int
ua_help_of(const struct ua_command *cmd)
{
    size_t i;

    if (cmd != NULL) {
        printf("usage: userapi %s%s%s\n  %s\n", cmd->name,
            *cmd->args ? " " : "", cmd->args, cmd->help);
        return 0;
    }
    printf("usage: userapi [--server URL] [--json] COMMAND [ARGS]\n"
        "\n"
        "Commands:\n");
    for (i = 0; i < UA_NCOMMANDS; i++)
        printf("  %s%s%s\n      %s\n", ua_commands[i].name,
            *ua_commands[i].args ? " " : "", ua_commands[i].args,
            ua_commands[i].help);
    printf("\n"
        "Options:\n"
        "  -s, --server URL   the server (default $USERAPI_SERVER, else %s)\n"
        "  -j, --json         print the server's JSON answer as it came\n"
        "  -V, --version      print the version and exit\n"
        "  -h, --help         print this help and exit\n"
        "\n"
        "Exit status: 0 ok, 1 local failure, 2 usage error, 3 authentication\n"
        "or authorisation refused, 4 request rejected, 5 server error,\n"
        "6 cannot connect.  See userapi(1).\n", UA_DEFAULT_SERVER);
    return 0;
}

/* userapi help [COMMAND]: what --help and COMMAND --help print. */
static int
ua_help(struct ua *ua)
{
    const struct ua_command *cmd = NULL;

    if (ua->arg != NULL && (cmd = ua_command_find(ua->arg)) == NULL)
        return ua_usage_err(NULL, "help: unknown command '%s'", ua->arg);
    return ua_help_of(cmd);
}

/* ---- the command line ----------------------------------------------------- */

/*
 * The options of the command cmd, in argv[0..argc) with argv[0] its
 * name, or of userapi itself before the command when cmd is NULL: those
 * of ua_options its flags allow, built into a getopt table here so that
 * an option of another command is as unknown as any.  UA_GO_ON with
 * optind at the first argument that is not an option, else the exit
 * status after --help, --version or a usage error.
 */
static int
ua_opts(struct ua *ua, const struct ua_command *cmd, int argc, char **argv)
{
    struct option longopts[UA_NOPTIONS + 1];
    /* "+" for userapi: what follows the command is the command's. */
    char          optstring[2 * UA_NOPTIONS + 3];
    int           flags = cmd != NULL ? cmd->flags : UA_F_TOP, ch;
    size_t        i, n = 0;

    snprintf(optstring, sizeof(optstring), "%s", cmd != NULL ? ":" : "+:");
    for (i = 0; i < UA_NOPTIONS; i++) {
        if (ua_options[i].flag != 0 && !(flags & ua_options[i].flag))
            continue;
        longopts[n++] = ua_options[i].lo;
        strcat(optstring, ua_options[i].spec);
    }
    memset(&longopts[n], 0, sizeof(longopts[n]));
    optind = 0;         /* a fresh getopt over these arguments */
    while ((ch = getopt_long(argc, argv, optstring, longopts, NULL)) != -1) {
        switch (ch) {
        case 'j':
            ua->json = 1;
            break;
        case 's':
            ua->server_opt = optarg;
            break;
        case 'h':
            return ua_help_of(cmd);
        case 'V':
            fputs(CLI_VERSION_TEXT("userapi"), stdout);
            return 0;
        case 'r':
            if (strcmp(optarg, "admin") != 0 && strcmp(optarg, "user") != 0)
                return ua_usage_err(cmd->name, "the role is admin or user, "
                    "not '%s'", optarg);
            ua->role = optarg;
            break;
        case 'p':
            ua->password_stdin = 1;
            break;
        case 'a':
            ua->all = 1;
            break;
        case UA_OPT_LIMIT:
        case UA_OPT_AFTER:
        case UA_OPT_SEARCH:
            if (ua_page_opt(ua, cmd, ch, optarg) != UA_GO_ON)
                return UA_EXIT_USAGE;
            break;
        default:
            return ua_option_err(cmd != NULL ? cmd->name : NULL, ch, argv);
        }
    }
    return UA_GO_ON;
}

/* A paging option's value into ua.  UA_GO_ON, or UA_EXIT_USAGE after
 * saying what is wrong. */
static int
ua_page_opt(struct ua *ua, const struct ua_command *cmd, int ch,
    const char *v)
{
    char *end;

    if (ch == UA_OPT_AFTER) {
        ua->after = v;
    } else if (ch == UA_OPT_SEARCH) {
        ua->search = v;
    } else {
        errno = 0;
        ua->limit = strtol(v, &end, 10);
        if (errno != 0 || end == v || *end != '\0' || v[0] == '+' ||
            v[0] == '-' || ua->limit < 1 || ua->limit > UA_LIMIT_MAX)
            return ua_usage_err(cmd->name, "the limit is a number from 1 "
                "to %d, not '%s'", UA_LIMIT_MAX, v);
    }
    return UA_GO_ON;
}

/* role's two operands, email and role.  UA_GO_ON, or UA_EXIT_USAGE
 * after saying what is wrong. */
static int
ua_email_role_arg(struct ua *ua, const struct ua_command *cmd, int argc,
    char **argv)
{
    if (argc - optind != 2 || argv[optind][0] == '\0')
        return ua_usage_err(cmd->name, "expected EMAIL and admin or user");
    if (strlen(argv[optind]) > UA_EMAIL_MAX)
        return ua_usage_err(cmd->name, "the email is longer than %d bytes",
            UA_EMAIL_MAX);
    if (strcmp(argv[optind + 1], "admin") != 0 &&
        strcmp(argv[optind + 1], "user") != 0)
        return ua_usage_err(cmd->name, "the role is admin or user, not '%s'",
            argv[optind + 1]);
    ua->arg = argv[optind];
    ua->role = argv[optind + 1];
    return UA_GO_ON;
}

/* The command's argument, at argv[optind], into ua->arg.  UA_GO_ON, or
 * UA_EXIT_USAGE after saying what is wrong. */
static int
ua_command_arg(struct ua *ua, const struct ua_command *cmd, int argc,
    char **argv)
{
    int n = argc - optind;

    switch (cmd->operand) {
    case UA_OPERAND_NONE:
        if (n > 0)
            return ua_usage_err(cmd->name, "unexpected argument '%s'",
                argv[optind]);
        break;
    case UA_OPERAND_EMAIL:
        if (n != 1 || argv[optind][0] == '\0')
            return ua_usage_err(cmd->name, "expected one EMAIL");
        if (strlen(argv[optind]) > UA_EMAIL_MAX)
            return ua_usage_err(cmd->name, "the email is longer than %d "
                "bytes", UA_EMAIL_MAX);
        break;
    case UA_OPERAND_KEY:
        if (n != 1 || argv[optind][0] == '\0')
            return ua_usage_err(cmd->name, "expected one EMAIL or ADDRESS");
        if (strlen(argv[optind]) > UA_EMAIL_MAX)
            return ua_usage_err(cmd->name, "the argument is longer than %d "
                "bytes", UA_EMAIL_MAX);
        break;
    case UA_OPERAND_COMMAND:
    case UA_OPERAND_EMAIL_OPT:
        if (n > 1)
            return ua_usage_err(cmd->name, "unexpected argument '%s'",
                argv[optind + 1]);
        if (cmd->operand == UA_OPERAND_EMAIL_OPT && n == 1 &&
            (argv[optind][0] == '\0' || strlen(argv[optind]) > UA_EMAIL_MAX))
            return ua_usage_err(cmd->name, "expected at most one EMAIL");
        break;
    case UA_OPERAND_EMAIL_ROLE:
        return ua_email_role_arg(ua, cmd, argc, argv);
    }
    ua->arg = n == 1 ? argv[optind] : NULL;
    return UA_GO_ON;
}

/* ---- the server ----------------------------------------------------------- */

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
        ua_err("%s: '%s' is not an http:// or https:// URL", from, url);
        return -1;
    }
    while (len > skip && url[len - 1] == '/')
        len--;
    if (len == skip || len > UA_URL_MAX) {
        ua_err("%s: the URL %s", from, len == skip ? "names no host" :
            "is too long");
        return -1;
    }
    for (i = 0; i < len; i++) {
        if ((unsigned char)url[i] <= ' ' || url[i] == 0x7f) {
            ua_err("%s: the URL contains a space or a control character",
                from);
            return -1;
        }
        ua->server[i] = i < skip ? (char)tolower((unsigned char)url[i]) :
            url[i];
    }
    ua->server[len] = '\0';
    return 0;
}

/*
 * --server, else $USERAPI_SERVER (when not empty), else the default.
 * 0, or UA_EXIT_USAGE after saying what is wrong, and pointing to the
 * help when it is the option's value, which the help describes.
 */
static int
ua_server_resolve(struct ua *ua)
{
    const char *env = getenv("USERAPI_SERVER");

    if (ua->server_opt != NULL) {
        if (ua_server_set(ua, ua->server_opt, "--server") == 0)
            return 0;
        ua_try(NULL);
        return UA_EXIT_USAGE;
    }
    if (env != NULL && env[0] != '\0')
        return ua_server_set(ua, env, "USERAPI_SERVER") == 0 ? 0 :
            UA_EXIT_USAGE;
    return ua_server_set(ua, UA_DEFAULT_SERVER, "default") == 0 ? 0 :
        UA_EXIT_USAGE;
}

/* ---- main ----------------------------------------------------------------- */

/* Reads the command line and runs the command.  The exit status. */
static int
ua_main(int argc, char **argv)
{
    const struct ua_command *cmd;
    struct ua                ua;
    int                      rc;

    memset(&ua, 0, sizeof(ua));
    if ((rc = ua_opts(&ua, NULL, argc, argv)) != UA_GO_ON)
        return rc;
    if (optind == argc)
        return ua_usage_err(NULL, "no command given");
    if ((cmd = ua_command_find(argv[optind])) == NULL)
        return ua_usage_err(NULL, "unknown command '%s'", argv[optind]);
    argc -= optind;
    argv += optind;
    if ((rc = ua_opts(&ua, cmd, argc, argv)) != UA_GO_ON ||
        (rc = ua_command_arg(&ua, cmd, argc, argv)) != UA_GO_ON)
        return rc;
    if (!(cmd->flags & UA_F_LOCAL) && (rc = ua_server_resolve(&ua)) != 0)
        return rc;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return ua_err("cannot start libcurl");
    rc = cmd->run(&ua);
    curl_global_cleanup();
    return rc;
}

int
main(int argc, char **argv)
{
    int rc;

    /* The session directory and files are ours alone. */
    umask(077);
    opterr = 0;
    rc = ua_main(argc, argv);
    /* What was printed, the help too, must have been written. */
    if ((fflush(stdout) == EOF || ferror(stdout)) && rc == 0)
        rc = ua_err("standard output: %s", strerror(errno));
    return rc;
}
