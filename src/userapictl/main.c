/* SPDX-License-Identifier: MIT */
/*
 * main.c - userapictl's command line: the command table, the one option
 * parser every command goes through, the help, the usage errors, and the
 * run of a command from parsing to the flush of its output.
 *
 * Global options (--config, --state-dir, --version, --help) may come
 * before or after the command, as systemctl takes them; a command's own
 * options and operands may come in any order.  Everything on the command
 * line is checked before the configuration is read, so a usage error
 * (exit 2, one line and a hint, never the whole help) wins over any other.
 *
 * What a command needs opened and how many operands it takes is its row
 * of the table: the commands themselves parse nothing.
 */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "ctl.h"
#include "log.h"

static int  ctl_help(struct ctl *, const struct ctl_args *);

static const struct ctl_command ctl_commands[] = {
    { "useradd", ctl_useradd, "[--role admin|user] [--password-stdin] EMAIL",
      "create a user; the password is asked on the terminal",
      CTL_OPT_ROLE | CTL_OPT_STDIN, CTL_ARG_EMAIL, CTL_NEED_DB_CREATE,
      1, 1, "expected one EMAIL" },
    { "userdel", ctl_userdel, "EMAIL",
      "delete a user and end its sessions",
      0, CTL_ARG_EMAIL, CTL_NEED_DB | CTL_NEED_SESSIONS,
      1, 1, "expected one EMAIL" },
    { "passwd", ctl_passwd, "[--password-stdin] EMAIL",
      "set a new password and end the user's sessions",
      CTL_OPT_STDIN, CTL_ARG_EMAIL, CTL_NEED_DB | CTL_NEED_SESSIONS,
      1, 1, "expected one EMAIL" },
    { "role", ctl_setrole, "EMAIL admin|user",
      "change a user's role, for its sessions too",
      0, CTL_ARG_EMAIL | CTL_ARG_ROLE, CTL_NEED_DB | CTL_NEED_SESSIONS,
      2, 2, "expected EMAIL and a role" },
    { "list", ctl_list, "[--json]",
      "list the users (never their password hashes)",
      CTL_OPT_JSON, 0, CTL_NEED_DB, 0, 0, NULL },
    { "show", ctl_show, "[--json] EMAIL",
      "show one user and how many live sessions it has",
      CTL_OPT_JSON, CTL_ARG_EMAIL, CTL_NEED_DB | CTL_NEED_SESSIONS,
      1, 1, "expected one EMAIL" },
    { "check", ctl_check, "",
      "validate users.db and the session table",
      0, 0, CTL_NEED_CONFIG, 0, 0, NULL },
    /* The database is opened once the file is read: ctl_import. */
    { "import", ctl_import, "FILE|-",
      "add users from JSON lines, all or none",
      0, 0, CTL_NEED_CONFIG, 1, 1, "expected one FILE (- for standard input)" },
    { "export", ctl_export, "",
      "write every user as JSON lines, password hashes included",
      0, 0, CTL_NEED_DB, 0, 0, NULL },
    { "sessions", ctl_sessions, "[--json] [EMAIL]",
      "list live sessions (never their tokens)",
      CTL_OPT_JSON, CTL_ARG_EMAIL, CTL_NEED_DB | CTL_NEED_SESSIONS,
      0, 1, "expected at most one EMAIL" },
    { "revoke", ctl_revoke, "EMAIL",
      "end every session of a user",
      0, CTL_ARG_EMAIL, CTL_NEED_DB | CTL_NEED_SESSIONS,
      1, 1, "expected one EMAIL" },
    { "lockouts", ctl_lockouts, "[--json]",
      "list the accounts slowed down and the addresses locked out",
      CTL_OPT_JSON, 0, CTL_NEED_THROTTLE, 0, 0, NULL },
    { "unlock", ctl_unlock, "EMAIL|ADDRESS",
      "lift the lockout of an account or an address and clear its count",
      0, 0, CTL_NEED_THROTTLE, 1, 1, "expected one EMAIL or ADDRESS" },
    { "db", ctl_db, "init",
      "make or upgrade the PostgreSQL schema (storage = postgresql)",
      0, 0, CTL_NEED_CONFIG, 1, 1, "expected init" },
    { "help", ctl_help, "[COMMAND]",
      "print this help, or the help of one command",
      0, 0, 0, 0, 1, "expected at most one COMMAND" },
};

#define CTL_NCOMMANDS (sizeof(ctl_commands) / sizeof(ctl_commands[0]))

/* Every option; flag 0 marks the global ones, which every command takes
 * too.  The short forms of the commands' options are not documented. */
static const struct ctl_option {
    const char  *name;
    int          has_arg;
    int          val;
    int          flag;          /* CTL_OPT_*, or 0 */
} ctl_options[] = {
    { "config",         required_argument, 'c', 0 },
    { "state-dir",      required_argument, 's', 0 },
    { "version",        no_argument,       'V', 0 },
    { "help",           no_argument,       'h', 0 },
    { "role",           required_argument, 'r', CTL_OPT_ROLE },
    { "password-stdin", no_argument,       'p', CTL_OPT_STDIN },
    { "json",           no_argument,       'j', CTL_OPT_JSON },
};

#define CTL_NOPTIONS (sizeof(ctl_options) / sizeof(ctl_options[0]))

static void ctl_usage(void);
static void ctl_vmsg(const char *, const char *, va_list)
                __attribute__((format(printf, 2, 0)));
static void ctl_command_help(const struct ctl_command *);

static void ctl_getopt_table(const struct ctl_command *, struct option *,
                char *);
static int  ctl_option_is_global(int);
static int  ctl_global_option(struct ctl *, int, const char *);
static int  ctl_option(struct ctl *, const struct ctl_command *, int,
                const char *, struct ctl_args *);
static int  ctl_parse(struct ctl *, const struct ctl_command *, int,
                char **, struct ctl_args *);
static int  ctl_operands(const struct ctl_command *, int, char **,
                struct ctl_args *);
static int  ctl_run(struct ctl *, int, char **);

/* ---- messages ----------------------------------------------------------- */

static void
ctl_usage(void)
{
    size_t i;

    printf(
        "usage: userapictl [--config FILE] [--state-dir DIR] COMMAND [ARGS]\n"
        "\n"
        "Commands:\n");
    for (i = 0; i < CTL_NCOMMANDS; i++)
        printf("  %s%s%s\n      %s\n", ctl_commands[i].name,
            *ctl_commands[i].synopsis ? " " : "", ctl_commands[i].synopsis,
            ctl_commands[i].help);
    printf(
        "\n"
        "Options, before or after the command:\n"
        "  -c, --config FILE     configuration file (default %s)\n"
        "  -s, --state-dir DIR   state directory, over the configuration's\n"
        "  -V, --version         print the version and exit\n"
        "  -h, --help            print this help, or after a command its "
        "own, and exit\n"
        "\n"
        "Exit status: 0 ok, 1 failure or problem found, 2 usage error,\n"
        "3 configuration error, 4 no such user (or lockout), 5 user exists.\n"
        "See userapictl(8).\n", CONFIG_DEFAULT_PATH);
}

static void
ctl_command_help(const struct ctl_command *cmd)
{
    printf("usage: userapictl %s%s%s\n  %s\n", cmd->name,
        *cmd->synopsis ? " " : "", cmd->synopsis, cmd->help);
}

/* "userapictl: [NAME: ]message" on stderr. */
static void
ctl_vmsg(const char *name, const char *fmt, va_list ap)
{
    cli_vsay("userapictl", name, fmt, ap);
}

/* "userapictl: message" on stderr; returns EXIT_RUNTIME. */
int
ctl_err(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    ctl_vmsg(NULL, fmt, ap);
    va_end(ap);
    return EXIT_RUNTIME;
}

/*
 * The problem, of cmd's command line or (cmd NULL) of userapictl's, and
 * where the help is, on stderr; returns EXIT_USAGE.
 */
int
ctl_usage_err(const struct ctl_command *cmd, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    ctl_vmsg(cmd != NULL ? cmd->name : NULL, fmt, ap);
    va_end(ap);
    cli_try_help("userapictl", cmd != NULL ? cmd->name : NULL);
    return EXIT_USAGE;
}

/* "no user EMAIL", and whether it was there a moment ago; returns
 * CTL_EXIT_NOT_FOUND. */
int
ctl_no_user(const char *email, int meanwhile)
{
    ctl_err("no user %s%s", email, meanwhile ? " (deleted meanwhile)" : "");
    return CTL_EXIT_NOT_FOUND;
}

/* ---- command-line words ------------------------------------------------- */

/* EMAIL as typed: validated as the API does and lower-cased into out
 * (USERDB_EMAIL_MAX + 1 bytes).  0, or -1 when it is not an address. */
int
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
int
ctl_role(const char *s)
{
    if (strcmp(s, "admin") == 0)
        return USERDB_ROLE_ADMIN;
    if (strcmp(s, "user") == 0)
        return USERDB_ROLE_USER;
    return 0;
}

const struct ctl_command *
ctl_find(const char *name)
{
    size_t i;

    for (i = 0; i < CTL_NCOMMANDS; i++)
        if (strcmp(name, ctl_commands[i].name) == 0)
            return &ctl_commands[i];
    return NULL;
}

/* ---- options ------------------------------------------------------------ */

/*
 * getopt_long's tables for the global options and those of cmd: longopts
 * (CTL_NOPTIONS + 1 entries) and optstring (3 * CTL_NOPTIONS + 3 bytes).
 * Before the command (cmd NULL) parsing stops at the first operand, the
 * command; after it, operands and options mix.
 */
static void
ctl_getopt_table(const struct ctl_command *cmd, struct option *longopts,
    char *optstring)
{
    size_t i, n = 0;
    int    opts = cmd != NULL ? cmd->opts : 0;
    char  *p = optstring;

    if (cmd == NULL)
        *p++ = '+';
    *p++ = ':';                 /* a missing value is ':', not '?' */
    for (i = 0; i < CTL_NOPTIONS; i++) {
        if (ctl_options[i].flag != 0 && !(ctl_options[i].flag & opts))
            continue;
        longopts[n].name = ctl_options[i].name;
        longopts[n].has_arg = ctl_options[i].has_arg;
        longopts[n].flag = NULL;
        longopts[n].val = ctl_options[i].val;
        n++;
        *p++ = (char)ctl_options[i].val;
        if (ctl_options[i].has_arg == required_argument)
            *p++ = ':';
    }
    memset(&longopts[n], 0, sizeof(longopts[n]));
    *p = '\0';
}

static int
ctl_option_is_global(int val)
{
    size_t i;

    for (i = 0; i < CTL_NOPTIONS; i++)
        if (ctl_options[i].val == val)
            return ctl_options[i].flag == 0;
    return 0;
}

/* --config, --state-dir or --version, wherever it stands.  0, CTL_DONE or
 * EXIT_USAGE. */
static int
ctl_global_option(struct ctl *c, int ch, const char *arg)
{
    struct config scratch;
    char          err[CONFIG_ERR_LEN];

    switch (ch) {
    case 'c':
        c->config_path = arg;
        c->config_explicit = 1;
        return 0;
    case 's':
        /* Checked now: a bad path is a usage error, not a config one. */
        config_defaults(&scratch);
        if (arg[0] == '\0')
            return ctl_usage_err(NULL, "--state-dir: empty path");
        if (config_set(&scratch, "state_dir", arg, 0, err, sizeof(err)) == -1)
            return ctl_usage_err(NULL, "--state-dir: %s", err);
        c->state_dir_opt = arg;
        return 0;
    default:                    /* 'V' */
        fputs(CLI_VERSION_TEXT("userapictl"), stdout);
        return CTL_DONE;
    }
}

/*
 * One option ch that getopt_long returned for cmd's command line (cmd
 * NULL: before the command) into c or a; word is the argument it came
 * from.  0, CTL_DONE or EXIT_USAGE.
 */
static int
ctl_option(struct ctl *c, const struct ctl_command *cmd, int ch,
    const char *word, struct ctl_args *a)
{
    switch (ch) {
    case 'h':
        if (cmd != NULL)
            ctl_command_help(cmd);
        else
            ctl_usage();
        return CTL_DONE;
    case 'r':
        if ((a->role = ctl_role(optarg)) == 0)
            return ctl_usage_err(cmd, "--role must be admin or user, not "
                "'%s'", optarg);
        return 0;
    case 'p':
        a->password_stdin = 1;
        return 0;
    case 'j':
        a->json = 1;
        return 0;
    case ':':
        /* A global option's mistake is told with the global help. */
        return ctl_usage_err(ctl_option_is_global(optopt) ? NULL : cmd,
            "%s needs a value", word);
    case '?':
        /* optopt is the option's when a value came where none goes. */
        if (strncmp(word, "--", 2) == 0 && strchr(word, '=') != NULL &&
            optopt != 0)
            return ctl_usage_err(ctl_option_is_global(optopt) ? NULL : cmd,
                "%.*s takes no value", (int)strcspn(word, "="), word);
        if (optopt != 0)
            return ctl_usage_err(cmd, "unknown option '-%c'", optopt);
        return ctl_usage_err(cmd, "unknown option '%s'", word);
    default:
        return ctl_global_option(c, ch, optarg);
    }
}

/* The options of cmd's command line (cmd NULL: those before the command),
 * leaving optind at the first operand.  0, CTL_DONE or EXIT_USAGE. */
static int
ctl_parse(struct ctl *c, const struct ctl_command *cmd, int argc,
    char **argv, struct ctl_args *a)
{
    struct option longopts[CTL_NOPTIONS + 1];
    char          optstring[3 * CTL_NOPTIONS + 3];
    int           ch, rc;

    ctl_getopt_table(cmd, longopts, optstring);
    optind = 0;                 /* a fresh start: the tables differ */
    while ((ch = getopt_long(argc, argv, optstring, longopts, NULL)) != -1)
        if ((rc = ctl_option(c, cmd, ch, argv[optind - 1], a)) != 0)
            return rc;
    return 0;
}

/* cmd's operands, argv[0..argc), counted and checked into a.  0 or
 * EXIT_USAGE. */
static int
ctl_operands(const struct ctl_command *cmd, int argc, char **argv,
    struct ctl_args *a)
{
    a->argc = argc;
    a->argv = argv;
    if (argc < cmd->min_args || argc > cmd->max_args) {
        if (cmd->count_err == NULL)
            return ctl_usage_err(cmd, "unexpected argument '%s'", argv[0]);
        return ctl_usage_err(cmd, "%s", cmd->count_err);
    }
    if ((cmd->operands & CTL_ARG_EMAIL) && argc > 0 &&
        ctl_email(argv[0], a->email) == -1)
        return ctl_usage_err(cmd, "'%s' is not a valid email address",
            argv[0]);
    if ((cmd->operands & CTL_ARG_ROLE) && argc > 1 &&
        (a->role = ctl_role(argv[1])) == 0)
        return ctl_usage_err(cmd, "the role must be admin or user, not '%s'",
            argv[1]);
    return 0;
}

/* ---- running a command -------------------------------------------------- */

/* help [COMMAND]: as --help, or as COMMAND --help. */
static int
ctl_help(struct ctl *c, const struct ctl_args *a)
{
    const struct ctl_command *cmd;

    (void)c;
    if (a->argc == 0) {
        ctl_usage();
        return 0;
    }
    if ((cmd = ctl_find(a->argv[0])) == NULL)
        return ctl_usage_err(NULL, "unknown command '%s'", a->argv[0]);
    ctl_command_help(cmd);
    return 0;
}

/*
 * Parses the command line, opens what the command needs, runs it, closes
 * and, as root, gives the state files back to their owner.  An exit
 * status, or CTL_DONE.
 */
static int
ctl_run(struct ctl *c, int argc, char **argv)
{
    const struct ctl_command *cmd;
    struct ctl_args           a;
    int                       rc, rc2;

    memset(&a, 0, sizeof(a));
    if ((rc = ctl_parse(c, NULL, argc, argv, &a)) != 0)
        return rc;
    if (optind == argc)
        return ctl_usage_err(NULL, "no command given");
    if ((cmd = ctl_find(argv[optind])) == NULL)
        return ctl_usage_err(NULL, "unknown command '%s'", argv[optind]);
    /* The command's name is argv[0] to getopt_long from here. */
    argc -= optind;
    argv += optind;
    if ((rc = ctl_parse(c, cmd, argc, argv, &a)) != 0 ||
        (rc = ctl_operands(cmd, argc - optind, argv + optind, &a)) != 0)
        return rc;
    if ((rc = ctl_open(c, cmd->needs)) == 0)
        rc = cmd->run(c, &a);
    ctl_close(c);
    if (c->touched && (rc2 = ctl_fix_owner(c)) != 0 && rc == 0)
        rc = rc2;
    return rc;
}

int
main(int argc, char **argv)
{
    struct ctl c;
    int        rc;

    memset(&c, 0, sizeof(c));
    c.config_path = CONFIG_DEFAULT_PATH;
    /* What we create is the daemon's: 0600 like its own files. */
    umask(077);
    /* userdb and session warn through log.c: only warnings, on stderr. */
    log_init("userapictl", LOG_WARNING);
    opterr = 0;
    if ((rc = ctl_run(&c, argc, argv)) == CTL_DONE)
        rc = 0;
    if ((fflush(stdout) == EOF || ferror(stdout)) && rc == 0)
        rc = ctl_err("standard output: %s", strerror(errno));
    return rc;
}
