/* SPDX-License-Identifier: MIT */
/*
 * test_userapictl.c - the built userapictl on a temporary state directory:
 * the exact output and exit status of every command, --json output checked
 * field by field, the command line (global options after the command,
 * help, two-line usage errors), its changes seen by a running daemon
 * without a restart, all-or-nothing imports (100,000 pre-hashed users
 * among them), export round trips, terminal prompts, the login throttle's
 * lockouts listed and lifted, and the ownership of what it writes when
 * run as root.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "auth.h"
#include "harness.h"
#include "session.h"
#include "userdb.h"

#define CONF        "password_cost = 1\n"
/* The line after a usage error: where the help is. */
#define TRY         "Try 'userapictl --help' for more information.\n"
#define TRY_CMD(c)  "Try 'userapictl " c " --help' for more information.\n"
#define NOBODY      65534
#define BIG         100000

static struct daemon d;
static char          ctl_stderr[8192];  /* what the last ctl() printed there */
static char          hash1[AUTH_HASH_SIZE];     /* of "password1" */

static const char *
ctl_bin(void)
{
    const char *b = getenv("USERAPICTL_BIN");

    return b != NULL ? b : "build/userapictl";
}

static int
starts_with(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

static void
write_file(const char *path, const char *data, size_t len)
{
    FILE *fp = fopen(path, "w");

    ck_assert_ptr_nonnull(fp);
    ck_assert_uint_eq(fwrite(data, 1, len, fp), len);
    ck_assert_int_eq(fclose(fp), 0);
}

/* The whole file, NUL-terminated; *len its size.  Caller frees. */
static char *
read_file(const char *path, size_t *len)
{
    struct stat st;
    char       *buf;
    FILE       *fp = fopen(path, "r");

    ck_assert_msg(fp != NULL, "%s: %s", path, strerror(errno));
    ck_assert_int_eq(fstat(fileno(fp), &st), 0);
    buf = malloc((size_t)st.st_size + 1);
    ck_assert_ptr_nonnull(buf);
    ck_assert_uint_eq(fread(buf, 1, (size_t)st.st_size, fp), (size_t)st.st_size);
    buf[st.st_size] = '\0';
    fclose(fp);
    if (len != NULL)
        *len = (size_t)st.st_size;
    return buf;
}

/*
 * Runs "userapictl --config CONF ARGS" with input (NULL: none) on stdin.
 * Returns stdout (caller frees); stderr is left in ctl_stderr and the exit
 * status in *code.
 */
static char *
ctl_in(int *code, const char *input, const char *fmt, ...)
{
    char     args[2048], in[400], errpath[400], *out, *err;
    va_list  ap;
    int      st;

    va_start(ap, fmt);
    vsnprintf(args, sizeof(args), fmt, ap);
    va_end(ap);
    snprintf(in, sizeof(in), "%s/ctl.in", d.dir);
    snprintf(errpath, sizeof(errpath), "%s/ctl.err", d.dir);
    write_file(in, input != NULL ? input : "", input != NULL ? strlen(input) : 0);
    out = run_cmd(&st, "%s --config %s %s <%s 2>%s", ctl_bin(), d.conf, args,
        in, errpath);
    *code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    err = read_file(errpath, NULL);
    snprintf(ctl_stderr, sizeof(ctl_stderr), "%s", err);
    free(err);
    return out;
}

#define ctl(code, ...) ctl_in(code, NULL, __VA_ARGS__)

/* Runs a command that must print exactly want and exit with status. */
static void
expect(int status, const char *want, const char *input, const char *args)
{
    char *out;
    int   code;

    out = ctl_in(&code, input, "%s", args);
    ck_assert_msg(code == status, "userapictl %s: exit %d, want %d; stderr: %s",
        args, code, status, ctl_stderr);
    ck_assert_str_eq(out, want);
    free(out);
}

/* As expect, for a command that fails: nothing on stdout, err on stderr. */
static void
expect_err(int status, const char *err, const char *input, const char *args)
{
    expect(status, "", input, args);
    ck_assert_str_eq(ctl_stderr, err);
}

static void
setup(void)
{
    struct daemon_opts o = { .conf_extra = CONF };

    daemon_prepare(&d, &o);
    if (hash1[0] == '\0')
        ck_assert_int_eq(auth_hash_password("password1", 1, hash1,
            sizeof(hash1)), 0);
}

static void
teardown(void)
{
    daemon_cleanup(&d);
}

static void
start(void)
{
    struct daemon_opts o = { .conf_extra = CONF };

    daemon_start(&d, &o);
}

/* One request with a JSON body and an optional Bearer token. */
static char *
call(const char *method, const char *path, const char *token, const char *body)
{
    char req[4096], auth[128] = "", *r;

    if (token != NULL)
        snprintf(auth, sizeof(auth), "Authorization: Bearer %s\r\n", token);
    snprintf(req, sizeof(req), "%s %s HTTP/1.1\r\nHost: t\r\n%s"
        "Connection: close\r\nContent-Type: application/json\r\n"
        "Content-Length: %zu\r\n\r\n%s", method, path, auth,
        body ? strlen(body) : 0, body ? body : "");
    r = http_exchange(d.port, req, 5000);
    ck_assert_ptr_nonnull(r);
    return r;
}

/* POST / as email; the status, and the token in token (when 200). */
static int
login(const char *email, const char *pw, char token[CRYPTO_TOKEN_LEN + 1])
{
    struct json_object *o, *t;
    char                body[512], *r;
    int                 st;

    snprintf(body, sizeof(body), "{\"email\":\"%s\",\"password\":\"%s\"}",
        email, pw);
    r = call("POST", "/", NULL, body);
    st = http_status(r);
    if (st == 200 && token != NULL) {
        o = json_tokener_parse(http_body(r));
        ck_assert_ptr_nonnull(o);
        ck_assert(json_object_object_get_ex(o, "token", &t));
        snprintf(token, CRYPTO_TOKEN_LEN + 1, "%s", json_object_get_string(t));
        json_object_put(o);
    }
    free(r);
    return st;
}

/* GET / with token: the status, and how many users it listed. */
static int
list_users(const char *token, int *n)
{
    struct json_object *o, *users;
    char               *r = call("GET", "/", token, NULL);
    int                 st = http_status(r);

    *n = -1;
    if (st == 200) {
        o = json_tokener_parse(http_body(r));
        ck_assert_ptr_nonnull(o);
        ck_assert(json_object_object_get_ex(o, "users", &users));
        *n = (int)json_object_array_length(users);
        json_object_put(o);
    }
    free(r);
    return st;
}

/* Imports the given JSON lines; must succeed. */
static void
import_lines(const char *lines)
{
    char path[400], args[500], *out;
    int  code;

    snprintf(path, sizeof(path), "%s/fixture.jsonl", d.dir);
    write_file(path, lines, strlen(lines));
    snprintf(args, sizeof(args), "import %s", path);
    out = ctl(&code, "%s", args);
    ck_assert_msg(code == 0, "import: %s", ctl_stderr);
    free(out);
}

/* alice (admin) and bob, with fixed creation times and password1. */
static void
two_users(void)
{
    char lines[1024];

    snprintf(lines, sizeof(lines),
        "{\"email\":\"alice@example.com\",\"role\":\"admin\","
        "\"created_at\":\"2024-01-02T03:04:05Z\",\"password_hash\":\"%s\"}\n"
        "{\"email\":\"bob@example.org\",\"created_at\":\"2024-02-03T04:05:06Z\","
        "\"password_hash\":\"%s\"}\n", hash1, hash1);
    import_lines(lines);
}

static char *
state_path(const char *name)
{
    static char p[400];

    snprintf(p, sizeof(p), "%s/%s", d.state_dir, name);
    return p;
}

/* session_foreach's callback for table_sessions: up to 16 sessions. */
static int keep_count;

static int
keep_info(const struct session_info *s, void *arg)
{
    struct session_info *all = arg;

    if (keep_count < 16)
        all[keep_count++] = *s;
    return 0;
}

/* ---- general ------------------------------------------------------------ */

START_TEST(test_version_and_help)
{
    char *out;
    int   code;

    expect(0, "userapictl 0.1.0\n"
        "Copyright (c) 2026 The userapid developers.\n"
        "Licensed under the MIT License (SPDX-License-Identifier: MIT).\n", NULL, "--version");
    out = ctl(&code, "--help");
    ck_assert_int_eq(code, 0);
    ck_assert(starts_with(out, "usage: userapictl [--config FILE] "
        "[--state-dir DIR] COMMAND [ARGS]\n"));
    ck_assert_ptr_nonnull(strstr(out, "  useradd [--role admin|user] "
        "[--password-stdin] EMAIL\n"));
    ck_assert_ptr_nonnull(strstr(out, "5 user exists"));
    free(out);
    expect(0, "usage: userapictl revoke EMAIL\n  end every session of a user\n",
        NULL, "revoke --help");
}
END_TEST

START_TEST(test_usage_errors_exit_2)
{
    char *out;
    int   code;

    /* One line saying what is wrong and one saying where the help is. */
    out = run_cmd(&code, "%s 2>&1", ctl_bin());
    ck_assert_int_eq(WEXITSTATUS(code), 2);
    ck_assert_str_eq(out, "userapictl: no command given\n" TRY);
    free(out);
    expect_err(2, "userapictl: unknown command 'frobnicate'\n" TRY, NULL,
        "frobnicate");
    expect_err(2, "userapictl: useradd: expected one EMAIL\n"
        TRY_CMD("useradd"), NULL, "useradd");
    expect_err(2, "userapictl: useradd: 'not-an-email' is not a valid email "
        "address\n" TRY_CMD("useradd"), NULL, "useradd not-an-email");
    expect_err(2, "userapictl: useradd: --role must be admin or user, not "
        "'root'\n" TRY_CMD("useradd"), NULL,
        "useradd --role root x@example.com");
    expect_err(2, "userapictl: useradd: unknown option '--force'\n"
        TRY_CMD("useradd"), NULL, "useradd --force x@example.com");
    expect_err(2, "userapictl: useradd: --role needs a value\n"
        TRY_CMD("useradd"), NULL, "useradd x@example.com --role");
    expect_err(2, "userapictl: role: the role must be admin or user, not "
        "'boss'\n" TRY_CMD("role"), NULL, "role x@example.com boss");
    expect_err(2, "userapictl: list: unexpected argument 'all'\n"
        TRY_CMD("list"), NULL, "list all");
    expect_err(2, "userapictl: import: expected one FILE (- for standard "
        "input)\n" TRY_CMD("import"), NULL, "import");
    expect_err(2, "userapictl: sessions: expected at most one EMAIL\n"
        TRY_CMD("sessions"), NULL, "sessions a@b.c d@e.f");
    /* An option of another command is unknown to this one. */
    expect_err(2, "userapictl: list: unknown option '--password-stdin'\n"
        TRY_CMD("list"), NULL, "list --password-stdin");
    expect_err(2, "userapictl: revoke: unknown option '--json'\n"
        TRY_CMD("revoke"), NULL, "revoke --json x@example.com");
    expect_err(2, "userapictl: --state-dir: empty path\n" TRY, NULL,
        "--state-dir '' list");
    /* A usage error wins over a configuration error. */
    out = run_cmd(&code, "%s --config /nonexistent/x.conf useradd 2>/dev/null",
        ctl_bin());
    ck_assert_int_eq(WEXITSTATUS(code), 2);
    free(out);
}
END_TEST

START_TEST(test_bad_option_prints_two_lines_not_the_help)
{
    /* Before the command: userapictl's help; after it: the command's. */
    expect_err(2, "userapictl: unknown option '--bogus'\n" TRY, NULL,
        "--bogus list");
    expect_err(2, "userapictl: unknown option '-x'\n" TRY, NULL, "-x list");
    expect_err(2, "userapictl: list: unknown option '--bogus'\n"
        TRY_CMD("list"), NULL, "list --bogus");
    expect_err(2, "userapictl: list: unknown option '-x'\n" TRY_CMD("list"),
        NULL, "list -x");
    expect_err(2, "userapictl: list: --json takes no value\n"
        TRY_CMD("list"), NULL, "list --json=yes");
    /* A global option's mistake points at the global help, wherever it
     * stands. */
    expect_err(2, "userapictl: --state-dir needs a value\n" TRY, NULL,
        "list --state-dir");
    expect_err(2, "userapictl: --state-dir: empty path\n" TRY, NULL,
        "list --state-dir ''");
    expect_err(2, "userapictl: --version takes no value\n" TRY, NULL,
        "list --version=1");
}
END_TEST

START_TEST(test_help_command_is_help)
{
    char *help, *out;
    int   code;

    help = ctl(&code, "--help");
    ck_assert_int_eq(code, 0);
    ck_assert_ptr_nonnull(strstr(help, "\n  help [COMMAND]\n      print this "
        "help, or the help of one command\n"));
    ck_assert_ptr_nonnull(strstr(help, "\nOptions, before or after the "
        "command:\n"));
    out = ctl(&code, "help");
    ck_assert_int_eq(code, 0);
    ck_assert_str_eq(out, help);
    ck_assert_str_eq(ctl_stderr, "");
    free(out);
    free(help);
    expect(0, "usage: userapictl revoke EMAIL\n  end every session of a user\n",
        NULL, "help revoke");
    expect(0, "usage: userapictl show [--json] EMAIL\n  show one user and how "
        "many live sessions it has\n", NULL, "help show");
    expect(0, "usage: userapictl sessions [--json] [EMAIL]\n  list live "
        "sessions (never their tokens)\n", NULL, "sessions --help");
    expect(0, "usage: userapictl help [COMMAND]\n  print this help, or the "
        "help of one command\n", NULL, "help help");
    /* --help after the operands too, and before anything is opened. */
    expect(0, "usage: userapictl show [--json] EMAIL\n  show one user and how "
        "many live sessions it has\n", NULL, "show nobody@example.com --help");
    expect_err(2, "userapictl: unknown command 'frobnicate'\n" TRY, NULL,
        "help frobnicate");
    expect_err(2, "userapictl: help: expected at most one COMMAND\n"
        TRY_CMD("help"), NULL, "help list show");
}
END_TEST

START_TEST(test_global_options_after_the_command)
{
    char other[400], args[1024], want[700], *before, *after;
    int  code;

    two_users();
    snprintf(other, sizeof(other), "%s/other", d.dir);
    ck_assert_int_eq(mkdir(other, 0700), 0);
    snprintf(args, sizeof(args), "import - --state-dir %s", other);
    expect(0, "imported 1 user\n", "{\"email\":\"zoe@example.com\","
        "\"created_at\":\"2025-01-01T00:00:00Z\",\"password\":\"password1\"}\n",
        args);
    /* The same list, whichever side of the command --state-dir is on. */
    snprintf(args, sizeof(args), "--state-dir %s list", other);
    before = ctl(&code, "%s", args);
    ck_assert_int_eq(code, 0);
    ck_assert_str_eq(before, "EMAIL            ROLE   CREATED\n"
        "zoe@example.com  user   2025-01-01T00:00:00Z\n");
    snprintf(args, sizeof(args), "list --state-dir %s", other);
    after = ctl(&code, "%s", args);
    ck_assert_int_eq(code, 0);
    ck_assert_str_eq(after, before);
    free(before);
    free(after);
    snprintf(args, sizeof(args), "show -s %s zoe@example.com --json", other);
    expect(0, "{\"email\":\"zoe@example.com\",\"role\":\"user\",\"role_id\":2,"
        "\"created_at\":\"2025-01-01T00:00:00Z\",\"sessions\":0}\n", NULL, args);
    /* The last one given wins, as before the command. */
    snprintf(args, sizeof(args), "--state-dir %s list --state-dir %s", other,
        d.state_dir);
    expect(0, "EMAIL              ROLE   CREATED\n"
        "alice@example.com  admin  2024-01-02T03:04:05Z\n"
        "bob@example.org    user   2024-02-03T04:05:06Z\n", NULL, args);
    /* --config after the command is read, and must exist. */
    snprintf(args, sizeof(args), "list --config %s/missing.conf", d.dir);
    before = ctl(&code, "%s", args);
    ck_assert_int_eq(code, 3);
    ck_assert_str_eq(before, "");
    snprintf(want, sizeof(want), "userapictl: %s/missing.conf: ", d.dir);
    ck_assert_msg(starts_with(ctl_stderr, want), "got %s", ctl_stderr);
    free(before);
    expect(0, "userapictl 0.1.0\n"
        "Copyright (c) 2026 The userapid developers.\n"
        "Licensed under the MIT License (SPDX-License-Identifier: MIT).\n",
        NULL, "list --version");
}
END_TEST

START_TEST(test_config_errors_exit_3)
{
    char path[400], want[600], *out;
    int  code;

    out = run_cmd(&code, "%s --config %s/missing.conf list 2>&1", ctl_bin(), d.dir);
    ck_assert_int_eq(WEXITSTATUS(code), 3);
    snprintf(want, sizeof(want), "userapictl: %s/missing.conf: ", d.dir);
    ck_assert_msg(starts_with(out, want), "got %s", out);
    free(out);
    snprintf(path, sizeof(path), "%s/bad.conf", d.dir);
    write_file(path, "password_cost = 1\nfrobs = 3\n", 27);
    out = run_cmd(&code, "%s --config %s list 2>&1", ctl_bin(), path);
    ck_assert_int_eq(WEXITSTATUS(code), 3);
    snprintf(want, sizeof(want), "userapictl: %s:2: ", path);
    ck_assert_msg(starts_with(out, want), "got %s", out);
    free(out);
    write_file(path, "min_password_length = 1\n", 24);
    out = run_cmd(&code, "%s --config %s list 2>/dev/null", ctl_bin(), path);
    ck_assert_int_eq(WEXITSTATUS(code), 3);
    free(out);
}
END_TEST

START_TEST(test_missing_database_is_an_error_and_creates_nothing)
{
    char  want[600], *out;
    int   code;

    snprintf(want, sizeof(want), "userapictl: no database in %s (userapid makes "
        "one when it starts; useradd and import do too)\n", d.state_dir);
    expect_err(1, want, NULL, "list");
    expect_err(1, want, NULL, "export");
    expect_err(1, want, NULL, "show a@example.com");
    expect_err(1, want, NULL, "userdel a@example.com");
    expect_err(1, want, "password1\n", "passwd --password-stdin a@example.com");
    expect_err(1, want, NULL, "role a@example.com admin");
    snprintf(want, sizeof(want), "userapictl: no database in %s\n", d.state_dir);
    out = ctl(&code, "check");
    ck_assert_int_eq(code, 1);
    ck_assert_str_eq(out, "sessions: ok\n");
    ck_assert_str_eq(ctl_stderr, want);
    free(out);
    /* Not even the lock file. */
    out = run_cmd(&code, "ls -A %s", d.state_dir);
    ck_assert_str_eq(out, "");
    free(out);
    /* A state directory that is not there. */
    out = run_cmd(&code, "%s --config %s --state-dir %s/nowhere list 2>&1",
        ctl_bin(), d.conf, d.dir);
    ck_assert_int_eq(WEXITSTATUS(code), 1);
    snprintf(want, sizeof(want), "userapictl: state directory %s/nowhere: No such "
        "file or directory\n", d.dir);
    ck_assert_str_eq(out, want);
    free(out);
}
END_TEST

/* ---- useradd, list, show ------------------------------------------------ */

START_TEST(test_useradd_then_list_show_and_exists)
{
    char *out, line[256];
    int   code;

    expect(0, "created carol@example.com (admin)\n", "password1\n",
        "useradd --role admin --password-stdin Carol@Example.COM");
    expect(0, "created dave@example.com (user)\n", "password2\n",
        "useradd --password-stdin dave@example.com");
    expect_err(5, "userapictl: a user carol@example.com exists already\n",
        "password1\n", "useradd --password-stdin carol@example.com");
    out = ctl(&code, "list");
    ck_assert_int_eq(code, 0);
    /* EMAIL padded to the longest email, then ROLE padded to 5. */
    ck_assert(starts_with(out, "EMAIL              ROLE   CREATED\n"
        "carol@example.com  admin  20"));
    ck_assert_ptr_nonnull(strstr(out, "\ndave@example.com   user   20"));
    ck_assert_int_eq((int)strlen(out), 34 + 2 * 47);
    free(out);
    out = ctl(&code, "show dave@example.com");
    ck_assert_int_eq(code, 0);
    ck_assert(sscanf(out, "email       dave@example.com\nrole        user\n"
        "created_at  %20s\n", line) == 1);
    ck_assert_ptr_nonnull(strstr(out, "\nsessions    0\n"));
    free(out);
    expect_err(4, "userapictl: no user eve@example.com\n", NULL,
        "show eve@example.com");
    /* The stored record carries a yescrypt hash, never the password. */
    out = read_file(state_path("users.db"), NULL);
    ck_assert_ptr_null(strstr(out, "password1"));
    ck_assert_ptr_nonnull(strstr(out, "carol@example.com\tadmin\t"));
    ck_assert_ptr_nonnull(strstr(out, "\t$y$"));
    free(out);
}
END_TEST

START_TEST(test_useradd_password_rules)
{
    char *pw = malloc(1100);

    expect_err(1, "userapictl: the password is too short (5 bytes; at least 8)\n",
        "short\n", "useradd --password-stdin x@example.com");
    expect_err(1, "userapictl: the password is too short (0 bytes; at least 8)\n",
        "\n", "useradd --password-stdin x@example.com");
    expect_err(1, "userapictl: no password on standard input\n", "",
        "useradd --password-stdin x@example.com");
    memset(pw, 'p', 1025);
    pw[1025] = '\n';
    pw[1026] = '\0';
    expect_err(1, "userapictl: the password is longer than 1024 bytes\n", pw,
        "useradd --password-stdin x@example.com");
    /* 1024 bytes is the limit, and only the first line counts. */
    strcpy(pw + 1024, "\nsecond line\n");
    expect(0, "created x@example.com (user)\n", pw,
        "useradd --password-stdin x@example.com");
    /* With min_password_length = 2, a 1-byte password is still refused. */
    daemon_write_conf(&d, 2, CONF "min_password_length = 2\n");
    expect_err(1, "userapictl: the password is too short (1 bytes; at least 2)\n",
        "a\n", "useradd --password-stdin y@example.com");
    expect(0, "created y@example.com (user)\n", "ab\n",
        "useradd --password-stdin y@example.com");
    free(pw);
}
END_TEST

/* Runs "userapictl useradd EMAIL" on a pseudo-terminal and types first
 * and second at its prompts.  Returns what the terminal showed; the exit
 * status in *code. */
static char *
useradd_on_tty(const char *email, const char *first, const char *second,
    int *code)
{
    static char screen[4096];
    size_t      len = 0;
    int         fd, st, typed = 0;
    pid_t       pid;

    pid = forkpty(&fd, NULL, NULL, NULL);
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        execl(ctl_bin(), ctl_bin(), "--config", d.conf, "useradd", email,
            (char *)NULL);
        _exit(127);
    }
    for (;;) {
        struct pollfd pfd = { fd, POLLIN, 0 };
        ssize_t       n;

        if (poll(&pfd, 1, 5000) <= 0)
            break;
        n = read(fd, screen + len, sizeof(screen) - 1 - len);
        if (n <= 0)
            break;          /* EIO once the child is gone */
        len += (size_t)n;
        screen[len] = '\0';
        if (typed == 0 && strstr(screen, "New password for ") != NULL &&
            strstr(screen, ": ") != NULL) {
            ck_assert_int_gt(write(fd, first, strlen(first)), 0);
            typed = 1;
        }
        if (typed == 1 && strstr(screen, "Retype it: ") != NULL) {
            ck_assert_int_gt(write(fd, second, strlen(second)), 0);
            typed = 2;
        }
    }
    close(fd);
    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
    *code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    return screen;
}

START_TEST(test_useradd_asks_twice_on_the_terminal_without_echo)
{
    char *screen;
    int   code;

    screen = useradd_on_tty("tty@example.com", "tty-secret-1\n", "tty-secret-1\n",
        &code);
    ck_assert_msg(code == 0, "exit %d: %s", code, screen);
    ck_assert_ptr_nonnull(strstr(screen, "New password for tty@example.com: "));
    ck_assert_ptr_nonnull(strstr(screen, "Retype it: "));
    ck_assert_ptr_nonnull(strstr(screen, "created tty@example.com (user)"));
    ck_assert_ptr_null(strstr(screen, "tty-secret"));
    screen = useradd_on_tty("tty2@example.com", "tty-secret-1\n",
        "tty-secret-2\n", &code);
    ck_assert_int_eq(code, 1);
    ck_assert_ptr_nonnull(strstr(screen,
        "userapictl: the passwords do not match"));
    ck_assert_ptr_null(strstr(screen, "tty-secret"));
    expect_err(4, "userapictl: no user tty2@example.com\n", NULL,
        "show tty2@example.com");
}
END_TEST

START_TEST(test_interrupted_prompt_turns_the_echo_back_on)
{
    struct termios tio;
    char           screen[4096];
    size_t         len = 0;
    int            fd, st;
    pid_t          pid;

    pid = forkpty(&fd, NULL, NULL, NULL);
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        execl(ctl_bin(), ctl_bin(), "--config", d.conf, "useradd",
            "int@example.com", (char *)NULL);
        _exit(127);
    }
    while (strstr(len ? screen : "", "New password for int@example.com: ") == NULL) {
        struct pollfd pfd = { fd, POLLIN, 0 };
        ssize_t       n;

        ck_assert_int_gt(poll(&pfd, 1, 5000), 0);
        n = read(fd, screen + len, sizeof(screen) - 1 - len);
        ck_assert_int_gt(n, 0);
        len += (size_t)n;
        screen[len] = '\0';
    }
    ck_assert_int_eq(tcgetattr(fd, &tio), 0);
    ck_assert_uint_eq(tio.c_lflag & ECHO, 0);
    ck_assert_int_eq(write(fd, "\003", 1), 1);        /* ^C */
    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
    ck_assert(WIFSIGNALED(st));
    ck_assert_int_eq(WTERMSIG(st), SIGINT);
    ck_assert_int_eq(tcgetattr(fd, &tio), 0);
    ck_assert_uint_ne(tio.c_lflag & ECHO, 0);
    close(fd);
}
END_TEST

START_TEST(test_list_exact_output_and_json)
{
    two_users();
    expect(0,
        "EMAIL              ROLE   CREATED\n"
        "alice@example.com  admin  2024-01-02T03:04:05Z\n"
        "bob@example.org    user   2024-02-03T04:05:06Z\n", NULL, "list");
    expect(0,
        "{\"email\":\"alice@example.com\",\"role\":\"admin\",\"role_id\":1,"
        "\"created_at\":\"2024-01-02T03:04:05Z\"}\n"
        "{\"email\":\"bob@example.org\",\"role\":\"user\",\"role_id\":2,"
        "\"created_at\":\"2024-02-03T04:05:06Z\"}\n", NULL, "list --json");
    expect(0,
        "email       bob@example.org\n"
        "role        user\n"
        "created_at  2024-02-03T04:05:06Z\n"
        "sessions    0\n", NULL, "show BOB@example.org");
    expect(0,
        "{\"email\":\"bob@example.org\",\"role\":\"user\",\"role_id\":2,"
        "\"created_at\":\"2024-02-03T04:05:06Z\",\"sessions\":0}\n", NULL,
        "show --json BOB@example.org");
    expect(0,
        "{\"email\":\"alice@example.com\",\"role\":\"admin\",\"role_id\":1,"
        "\"created_at\":\"2024-01-02T03:04:05Z\",\"sessions\":0}\n", NULL,
        "show alice@example.com --json");
}
END_TEST

START_TEST(test_list_of_an_empty_database_is_the_header)
{
    import_lines("");
    expect(0, "EMAIL  ROLE   CREATED\n", NULL, "list");
    expect(0, "", NULL, "list --json");
    expect(0, "", NULL, "export");
}
END_TEST

/* ---- check -------------------------------------------------------------- */

START_TEST(test_check_good_database)
{
    two_users();
    expect(0, "users.db: ok (2 users)\nsessions: ok\n", NULL, "check");
    ck_assert_str_eq(ctl_stderr, "");
}
END_TEST

START_TEST(test_check_names_a_malformed_line)
{
    char db[1024], want[600];
    int  n;

    n = snprintf(db, sizeof(db), "userapid-users 1\n"
        "alice@example.com\tadmin\t2024-01-02T03:04:05Z\t%s\n"
        "bob@example.org\tboss\t2024-02-03T04:05:06Z\t%s\n", hash1, hash1);
    write_file(state_path("users.db"), db, (size_t)n);
    snprintf(want, sizeof(want), "userapictl: %s/users.db:3: bad role \"boss\" "
        "(expected admin or user)\n", d.state_dir);
    expect(1, "sessions: ok\n", NULL, "check");
    ck_assert_str_eq(ctl_stderr, want);
    /* Other commands refuse it too, with the same words. */
    expect_err(1, want, NULL, "list");
}
END_TEST

START_TEST(test_check_reports_a_torn_last_line)
{
    char   db[1024], want[600], *out;
    size_t len;
    int    n, code;

    n = snprintf(db, sizeof(db), "userapid-users 1\n"
        "alice@example.com\tadmin\t2024-01-02T03:04:05Z\t%s\n"
        "bob@example.org\tuser\t2024-02", hash1);
    write_file(state_path("users.db"), db, (size_t)n);
    snprintf(want, sizeof(want), "userapictl: %s/users.db:3: torn last line "
        "(28 bytes without a line end)\n", d.state_dir);
    expect(1, "sessions: ok\n", NULL, "check");
    ck_assert_str_eq(ctl_stderr, want);
    /* The daemon repairs it; userapictl leaves it, and reads past it. */
    out = ctl(&code, "list");
    ck_assert_int_eq(code, 0);
    ck_assert_str_eq(out, "EMAIL              ROLE   CREATED\n"
        "alice@example.com  admin  2024-01-02T03:04:05Z\n");
    ck_assert_ptr_nonnull(strstr(ctl_stderr, "torn last line"));
    free(out);
    free(read_file(state_path("users.db"), &len));
    ck_assert_uint_eq(len, strlen(db));
}
END_TEST

START_TEST(test_check_reports_a_damaged_session_table)
{
    char want[600];

    two_users();
    write_file(state_path("sessions"), "not a session table", 19);
    snprintf(want, sizeof(want), "userapictl: %s/sessions: 19 bytes, too short "
        "for a session table header\n", d.state_dir);
    expect(1, "users.db: ok (2 users)\n", NULL, "check");
    ck_assert_str_eq(ctl_stderr, want);
}
END_TEST

/* ---- import and export -------------------------------------------------- */

START_TEST(test_import_is_all_or_nothing)
{
    char   path[400], lines[2048], args[500], want[800], *before, *after;
    size_t blen, alen;

    two_users();
    before = read_file(state_path("users.db"), &blen);
    snprintf(path, sizeof(path), "%s/bad.jsonl", d.dir);
    snprintf(args, sizeof(args), "import %s", path);

    /* Line 3 is bad: lines 1 and 2 are not written either. */
    snprintf(lines, sizeof(lines),
        "{\"email\":\"c1@example.com\",\"password_hash\":\"%s\"}\n"
        "\n"
        "{\"email\":\"c2@example.com\",\"role\":\"owner\",\"password_hash\":\"%s\"}\n"
        "{\"email\":\"c3@example.com\",\"password\":\"password3\"}\n", hash1, hash1);
    write_file(path, lines, strlen(lines));
    snprintf(want, sizeof(want), "userapictl: %s:3: the role must be "
        "\"admin\" or \"user\"\n", path);
    expect_err(1, want, NULL, args);

    /* The same email twice in the file. */
    snprintf(lines, sizeof(lines),
        "{\"email\":\"c1@example.com\",\"password\":\"password3\"}\n"
        "{\"email\":\"c2@example.com\",\"password\":\"password3\"}\n"
        "{\"email\":\"C1@example.com\",\"password\":\"password3\"}\n");
    write_file(path, lines, strlen(lines));
    snprintf(want, sizeof(want), "userapictl: %s:3: c1@example.com is on line 1 "
        "already\n", path);
    expect_err(1, want, NULL, args);

    /* An email in the database already: exit 5. */
    snprintf(lines, sizeof(lines),
        "{\"email\":\"c1@example.com\",\"password\":\"password3\"}\n"
        "{\"email\":\"c2@example.com\",\"password\":\"password3\"}\n"
        "{\"email\":\"bob@example.org\",\"password\":\"password3\"}\n");
    write_file(path, lines, strlen(lines));
    snprintf(want, sizeof(want), "userapictl: %s:3: a user bob@example.org "
        "exists already\n", path);
    expect_err(5, want, NULL, args);

    /* Each kind of bad line names its line. */
    {
        static const char *const bad[][2] = {
            { "{\"email\":\"x@example.com\",\"password\":\"password3\"",
              "bad JSON: unexpected end of data" },
            { "{\"email\":\"x@example.com\",\"password\":\"password3\"} x",
              "bad JSON: unexpected character" },
            { "[\"x@example.com\"]", "not a JSON object" },
            { "{\"password\":\"password3\"}", "the email is missing" },
            { "{\"email\":\"x\",\"password\":\"password3\"}",
              "the email is not a valid address" },
            { "{\"email\":7,\"password\":\"password3\"}",
              "the email must be a string" },
            { "{\"email\":\"x@example.com\",\"password_hash\":null}",
              "the password hash must be a string" },
            { "{\"email\":\"x@example.com\",\"created_at\":1}",
              "the creation time must be a string" },
            { "{\"email\":\"x@example.com\"}",
              "a password or a password hash is needed" },
            { "{\"email\":\"x@example.com\",\"password\":\"password3\","
              "\"password_hash\":\"$y$x\"}",
              "give a password or a password hash, not both" },
            { "{\"email\":\"x@example.com\",\"password\":\"short\"}",
              "the password is too short (5 bytes; at least 8)" },
            { "{\"email\":\"x@example.com\",\"password_hash\":\"$1$salt$abc\"}",
              "the password hash is not a complete crypt hash of a supported "
              "method (yescrypt, gost-yescrypt, scrypt, bcrypt, sha512crypt)" },
            { "{\"email\":\"x@example.com\",\"password\":\"password3\","
              "\"created_at\":\"2024-02-30T00:00:00Z\"}",
              "the creation time must be YYYY-MM-DDTHH:MM:SSZ (UTC, 1970 to "
              "9999)" },
            { "{\"email\":\"x@example.com\",\"pasword\":\"password3\"}",
              "unknown key \"pasword\"" },
        };
        size_t i;

        for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
            snprintf(lines, sizeof(lines),
                "{\"email\":\"ok@example.com\",\"password\":\"password3\"}\n"
                "%s\n", bad[i][0]);
            write_file(path, lines, strlen(lines));
            snprintf(want, sizeof(want), "userapictl: %s:2: %s\n", path, bad[i][1]);
            expect_err(1, want, NULL, args);
        }
    }
    after = read_file(state_path("users.db"), &alen);
    ck_assert_uint_eq(alen, blen);
    ck_assert(memcmp(before, after, blen) == 0);
    free(before);
    free(after);
    expect_err(1, "userapictl: /nonexistent.jsonl: No such file or directory\n",
        NULL, "import /nonexistent.jsonl");
}
END_TEST

START_TEST(test_import_from_stdin_with_defaults)
{
    char     *out;
    int       code;
    time_t    now = time(NULL);
    struct tm tm;
    char      year[8];

    expect(0, "imported 2 users\n",
        "{\"email\":\"In1@Example.com\",\"password\":\"password3\"}\n"
        "   \n"
        "{\"email\":\"in2@example.com\",\"role\":\"admin\",\"password\":\"password4\"}\n",
        "import -");
    expect_err(1, "userapictl: stdin:1: not a JSON object\n", "17\n", "import -");
    expect_err(1, "userapictl: stdin:2: not a JSON object\n", "\n\"x\"\n",
        "import -");
    out = ctl(&code, "list");
    gmtime_r(&now, &tm);
    strftime(year, sizeof(year), "%Y", &tm);
    ck_assert_int_eq(code, 0);
    ck_assert(starts_with(out, "EMAIL            ROLE   CREATED\n"
        "in1@example.com  user   "));
    ck_assert(strncmp(out + 56, year, 4) == 0);      /* created now */
    free(out);
}
END_TEST

START_TEST(test_import_100k_prehashed_users)
{
    struct timespec t0, t1;
    char            path[400], *out, v[32];
    double          secs;
    FILE           *fp;
    int             i, code, st;

    snprintf(path, sizeof(path), "%s/big.jsonl", d.dir);
    fp = fopen(path, "w");
    ck_assert_ptr_nonnull(fp);
    for (i = 0; i < BIG; i++)
        fprintf(fp, "{\"email\":\"user%d@example.com\",\"role\":\"%s\","
            "\"password_hash\":\"%s\"}\n", i, i == 0 ? "admin" : "user", hash1);
    ck_assert_int_eq(fclose(fp), 0);

    clock_gettime(CLOCK_MONOTONIC, &t0);
    out = ctl(&code, "import %s", path);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    fprintf(stderr, "test_userapictl: import of %d pre-hashed users took %.2f s\n",
        BIG, secs);
    ck_assert_msg(code == 0, "%s", ctl_stderr);
    ck_assert_str_eq(out, "imported 100000 users\n");
    free(out);
    ck_assert_msg(secs < 20.0, "import took %.2f s", secs);

    out = run_cmd(&st, "%s --config %s list | wc -l", ctl_bin(), d.conf);
    ck_assert_str_eq(out, "100001\n");
    free(out);
    expect(0, "users.db: ok (100000 users)\nsessions: ok\n", NULL, "check");

    /* The daemon serves them, and the hash logs the last one in. */
    start();
    out = http_exchange(d.port, "HEAD / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
        5000);
    ck_assert(http_header(out, "X-Userapid-Users", v, sizeof(v)));
    ck_assert_str_eq(v, "100000");
    free(out);
    ck_assert_int_eq(login("user99999@example.com", "password1", NULL), 200);
}
END_TEST

START_TEST(test_export_import_round_trip)
{
    struct daemon_opts o = { .conf_extra = CONF };
    struct daemon      first;
    char               path[400], args[500], *exported, *again;
    int                code;

    two_users();
    expect(0, "created carol@example.com (user)\n", "password5\n",
        "useradd --password-stdin carol@example.com");
    exported = ctl(&code, "export");
    ck_assert_int_eq(code, 0);
    ck_assert(starts_with(exported, "{\"email\":\"alice@example.com\","
        "\"role\":\"admin\",\"created_at\":\"2024-01-02T03:04:05Z\","
        "\"password_hash\":\"$y$"));
    ck_assert_ptr_nonnull(strstr(exported, hash1));      /* no "\/" escapes */

    /* Into an empty state directory of its own. */
    first = d;
    daemon_prepare(&d, &o);
    snprintf(path, sizeof(path), "%s/backup.jsonl", d.dir);
    write_file(path, exported, strlen(exported));
    snprintf(args, sizeof(args), "import %s", path);
    expect(0, "imported 3 users\n", NULL, args);
    again = ctl(&code, "export");
    ck_assert_str_eq(again, exported);
    free(again);
    start();
    ck_assert_int_eq(login("carol@example.com", "password5", NULL), 200);
    ck_assert_int_eq(login("alice@example.com", "password1", NULL), 200);
    daemon_cleanup(&d);
    d = first;
    free(exported);
}
END_TEST

/* ---- with the daemon running -------------------------------------------- */

START_TEST(test_useradd_while_running_lets_the_user_log_in)
{
    start();
    ck_assert_int_eq(login("frank@example.com", "password6", NULL), 401);
    expect(0, "created frank@example.com (user)\n", "password6\n",
        "useradd --password-stdin frank@example.com");
    /* Every worker sees it: several fresh connections. */
    ck_assert_int_eq(login("frank@example.com", "password6", NULL), 200);
    ck_assert_int_eq(login("frank@example.com", "password6", NULL), 200);
    ck_assert_int_eq(login("frank@example.com", "password6", NULL), 200);
    ck_assert_int_eq(login("frank@example.com", "wrong-password", NULL), 401);
}
END_TEST

START_TEST(test_userdel_while_running_ends_login_and_sessions)
{
    char tok[CRYPTO_TOKEN_LEN + 1];
    int  n;

    start();
    expect(0, "created gina@example.com (user)\n", "password7\n",
        "useradd --password-stdin gina@example.com");
    ck_assert_int_eq(login("gina@example.com", "password7", tok), 200);
    ck_assert_int_eq(list_users(tok, &n), 200);
    ck_assert_int_eq(n, 1);
    expect(0, "deleted gina@example.com; ended 1 session\n", NULL,
        "userdel gina@example.com");
    ck_assert_int_eq(login("gina@example.com", "password7", NULL), 401);
    ck_assert_int_eq(list_users(tok, &n), 403);
    expect_err(4, "userapictl: no user gina@example.com\n", NULL,
        "userdel gina@example.com");
}
END_TEST

START_TEST(test_userdel_and_role_keep_the_last_admin)
{
    char want[512];

    start();
    expect_err(1, "userapictl: admin@localhost is the last administrator: make "
        "another user admin first\n", NULL, "userdel admin@localhost");
    expect_err(1, "userapictl: admin@localhost is the last administrator: make "
        "another user admin first\n", NULL, "role admin@localhost user");
    expect(0, "created hal@example.com (admin)\n", "password8\n",
        "useradd --role admin --password-stdin hal@example.com");
    /* Deleting the first admin removes its password file too. */
    snprintf(want, sizeof(want), "removed %s/initial-admin-password: it held "
        "that account's password\ndeleted admin@localhost; ended 0 sessions\n",
        d.state_dir);
    expect(0, want, NULL, "userdel admin@localhost");
    snprintf(want, sizeof(want), "%s/initial-admin-password", d.state_dir);
    ck_assert_int_eq(access(want, F_OK), -1);
}
END_TEST

START_TEST(test_passwd_changes_the_password_and_ends_sessions)
{
    char tok1[CRYPTO_TOKEN_LEN + 1], tok2[CRYPTO_TOKEN_LEN + 1];
    int  n;

    start();
    expect(0, "created ian@example.com (user)\n", "password9\n",
        "useradd --password-stdin ian@example.com");
    ck_assert_int_eq(login("ian@example.com", "password9", tok1), 200);
    ck_assert_int_eq(login("ian@example.com", "password9", tok2), 200);
    expect(0, "changed the password of ian@example.com; ended 2 sessions\n",
        "new-password\n", "passwd --password-stdin IAN@example.com");
    ck_assert_int_eq(list_users(tok1, &n), 403);
    ck_assert_int_eq(list_users(tok2, &n), 403);
    ck_assert_int_eq(login("ian@example.com", "password9", NULL), 401);
    ck_assert_int_eq(login("ian@example.com", "new-password", NULL), 200);
    /* The role is kept. */
    expect(0, "ian@example.com is user already\n", NULL, "role ian@example.com user");
    expect_err(4, "userapictl: no user nobody@example.com\n", "new-password\n",
        "passwd --password-stdin nobody@example.com");
    expect_err(1, "userapictl: the password is too short (3 bytes; at least 8)\n",
        "abc\n", "passwd --password-stdin ian@example.com");
}
END_TEST

/* The first password file goes once that account's password does. */
START_TEST(test_passwd_of_the_first_admin_removes_its_password_file)
{
    char path[400], want[512];

    start();
    snprintf(path, sizeof(path), "%s/initial-admin-password", d.state_dir);
    ck_assert_int_eq(access(path, F_OK), 0);
    expect(0, "created ian@example.com (user)\n", "password9\n",
        "useradd --password-stdin ian@example.com");
    expect(0, "changed the password of ian@example.com; ended 0 sessions\n",
        "new-password\n", "passwd --password-stdin ian@example.com");
    ck_assert_int_eq(access(path, F_OK), 0);
    snprintf(want, sizeof(want), "removed %s: it held the old password\n"
        "changed the password of admin@localhost; ended 0 sessions\n", path);
    expect(0, want, "new-admin-password\n",
        "passwd --password-stdin admin@localhost");
    ck_assert_int_eq(access(path, F_OK), -1);
    ck_assert_int_eq(login("admin@localhost", "new-admin-password", NULL), 200);
    /* Nothing left to remove the next time. */
    expect(0, "changed the password of admin@localhost; ended 1 session\n",
        "newer-admin-password\n", "passwd --password-stdin admin@localhost");
}
END_TEST

START_TEST(test_role_change_applies_to_live_sessions)
{
    char tok[CRYPTO_TOKEN_LEN + 1];
    int  n;

    start();
    expect(0, "created jane@example.com (user)\n", "password10\n",
        "useradd --password-stdin jane@example.com");
    ck_assert_int_eq(login("jane@example.com", "password10", tok), 200);
    ck_assert_int_eq(list_users(tok, &n), 200);
    ck_assert_int_eq(n, 1);                     /* a user sees itself */
    expect(0, "jane@example.com is now admin; updated 1 session\n", NULL,
        "role jane@example.com admin");
    ck_assert_int_eq(list_users(tok, &n), 200);
    ck_assert_int_eq(n, 2);                     /* an admin sees everyone */
    expect(0, "jane@example.com is admin already\n", NULL,
        "role jane@example.com admin");
    expect(0, "jane@example.com is now user; updated 1 session\n", NULL,
        "role jane@example.com user");
    ck_assert_int_eq(list_users(tok, &n), 200);
    ck_assert_int_eq(n, 1);
    ck_assert_int_eq(login("jane@example.com", "password10", tok), 200);
    expect(0, "jane@example.com is now admin; updated 2 sessions\n", NULL,
        "role jane@example.com admin");
    expect_err(4, "userapictl: no user kim@example.com\n", NULL,
        "role kim@example.com admin");
}
END_TEST

START_TEST(test_sessions_lists_live_sessions_without_tokens)
{
    char tok1[CRYPTO_TOKEN_LEN + 1], tok2[CRYPTO_TOKEN_LEN + 1], email[64], role[16];
    char c[32], u[32], e[32], *out, *line;
    int  code, n = 0;

    start();
    expect(0, "created liz@example.com (user)\n", "password11\n",
        "useradd --password-stdin liz@example.com");
    expect(0, "EMAIL  ROLE   CREATED               LAST_USED             EXPIRES\n",
        NULL, "sessions");
    ck_assert_int_eq(login("liz@example.com", "password11", tok1), 200);
    ck_assert_int_eq(login("liz@example.com", "password11", tok2), 200);
    out = ctl(&code, "sessions");
    ck_assert_int_eq(code, 0);
    ck_assert_ptr_null(strstr(out, tok1));
    ck_assert_ptr_null(strstr(out, tok2));
    ck_assert(starts_with(out, "EMAIL            ROLE   CREATED               "
        "LAST_USED             EXPIRES\n"));
    for (line = strchr(out, '\n') + 1; *line != '\0'; line = strchr(line, '\n') + 1) {
        ck_assert_int_eq(sscanf(line, "%63s %15s %31s %31s %31s", email, role,
            c, u, e), 5);
        ck_assert_str_eq(email, "liz@example.com");
        ck_assert_str_eq(role, "user");
        ck_assert_int_eq((int)strlen(c), 20);
        ck_assert_str_le(c, e);
        n++;
    }
    ck_assert_int_eq(n, 2);
    free(out);
    out = ctl(&code, "sessions LIZ@example.com");
    ck_assert_int_eq(code, 0);
    ck_assert_ptr_nonnull(strstr(out, "\nliz@example.com  user   "));
    free(out);
    expect(0, "EMAIL  ROLE   CREATED               LAST_USED             EXPIRES\n",
        NULL, "sessions admin@localhost");
    out = ctl(&code, "show liz@example.com");
    ck_assert_ptr_nonnull(strstr(out, "\nsessions    2\n"));
    free(out);
}
END_TEST

START_TEST(test_revoke_ends_every_session_of_the_user)
{
    char tok1[CRYPTO_TOKEN_LEN + 1], tok2[CRYPTO_TOKEN_LEN + 1];
    int  n;

    start();
    expect(0, "created max@example.com (user)\n", "password12\n",
        "useradd --password-stdin max@example.com");
    ck_assert_int_eq(login("max@example.com", "password12", tok1), 200);
    ck_assert_int_eq(login("max@example.com", "password12", tok2), 200);
    expect(0, "ended 2 sessions of max@example.com\n", NULL,
        "revoke max@example.com");
    ck_assert_int_eq(list_users(tok1, &n), 403);
    ck_assert_int_eq(list_users(tok2, &n), 403);
    expect(0, "ended 0 sessions of max@example.com\n", NULL,
        "revoke max@example.com");
    /* Logging in again works: revoke is not a lock-out. */
    ck_assert_int_eq(login("max@example.com", "password12", tok1), 200);
    expect(0, "ended 1 session of max@example.com\n", NULL,
        "revoke Max@Example.com");
}
END_TEST

/* The live sessions of email as the table holds them, in creation order,
 * up to max; how many. */
static int
table_sessions(const char *email, struct session_info *out, int max)
{
    struct session_cfg    scfg = { 3600, 86400, 10000, 10 };
    struct session_table *t;
    struct session_info   all[16];
    char                  err[SESSION_ERR_LEN];
    int                   n = 0;

    t = session_open(d.state_dir, &scfg, SESSION_AS_IS, err, sizeof(err));
    ck_assert_msg(t != NULL, "%s", err);
    ck_assert_int_eq(session_foreach(t, email, keep_info, all), 0);
    session_close(t);
    for (n = 0; n < max && n < keep_count; n++)
        out[n] = all[n];
    keep_count = 0;
    return n;
}

/* A JSON line's string member, or NULL for JSON null. */
static const char *
jstr(struct json_object *o, const char *key)
{
    struct json_object *v;

    ck_assert_msg(json_object_object_get_ex(o, key, &v), "no %s", key);
    if (v == NULL)
        return NULL;
    ck_assert_msg(json_object_is_type(v, json_type_string), "%s", key);
    return json_object_get_string(v);
}

START_TEST(test_sessions_and_show_json)
{
    struct session_info  info[2];
    struct json_object  *o, *v;
    char                 tok[2][CRYPTO_TOKEN_LEN + 1], id[SESSION_ID_LEN + 1];
    char                 t1[USERDB_TIME_LEN + 1], t2[USERDB_TIME_LEN + 1];
    char                 t3[USERDB_TIME_LEN + 1], want[1024], *out, *line;
    char                *next;
    int                  code, i, n;

    start();
    expect(0, "created liz@example.com (user)\n", "password11\n",
        "useradd --password-stdin liz@example.com");
    expect(0, "", NULL, "sessions --json liz@example.com");
    ck_assert_int_eq(login("liz@example.com", "password11", tok[0]), 200);
    ck_assert_int_eq(login("liz@example.com", "password11", tok[1]), 200);
    out = ctl(&code, "sessions LIZ@example.com --json");
    ck_assert_msg(code == 0, "%s", ctl_stderr);
    ck_assert_str_eq(ctl_stderr, "");
    ck_assert_ptr_null(strstr(out, tok[0]));
    ck_assert_ptr_null(strstr(out, tok[1]));
    ck_assert_int_eq(table_sessions("liz@example.com", info, 2), 2);
    for (i = 0, line = out; i < 2; i++, line = next + 1) {
        ck_assert_ptr_nonnull(next = strchr(line, '\n'));
        *next = '\0';
        /* Field by field... */
        ck_assert_ptr_nonnull(o = json_tokener_parse(line));
        ck_assert_int_eq(json_object_object_length(o), 8);
        session_token_id(tok[i], strlen(tok[i]), id);
        ck_assert_int_eq((int)strlen(id), SESSION_ID_LEN);
        ck_assert_str_eq(jstr(o, "id"), id);
        ck_assert_str_eq(jstr(o, "email"), "liz@example.com");
        ck_assert_str_eq(jstr(o, "role"), "user");
        ck_assert(json_object_object_get_ex(o, "role_id", &v));
        ck_assert_int_eq(json_object_get_int(v), 2);
        ck_assert_str_eq(jstr(o, "address"), "127.0.0.1");
        ck_assert_int_eq(userdb_format_time(info[i].created_at, t1), 0);
        ck_assert_int_eq(userdb_format_time(info[i].last_used, t2), 0);
        ck_assert_int_eq(userdb_format_time(info[i].expires_at, t3), 0);
        ck_assert_str_eq(jstr(o, "created_at"), t1);
        ck_assert_str_eq(jstr(o, "last_used"), t2);
        ck_assert_str_eq(jstr(o, "expires_at"), t3);
        json_object_put(o);
        /* ...and the line as a whole. */
        snprintf(want, sizeof(want), "{\"id\":\"%s\",\"email\":"
            "\"liz@example.com\",\"role\":\"user\",\"role_id\":2,\"address\":"
            "\"127.0.0.1\",\"created_at\":\"%s\",\"last_used\":\"%s\","
            "\"expires_at\":\"%s\"}", id, t1, t2, t3);
        ck_assert_str_eq(line, want);
    }
    ck_assert_str_eq(line, "");
    free(out);
    /* Every user's, one line each. */
    /* --json is a command's option, not a global one. */
    expect_err(2, "userapictl: unknown option '--json'\n" TRY, NULL,
        "--json sessions");
    out = ctl(&code, "sessions --json");
    ck_assert_int_eq(code, 0);
    for (n = 0, line = out; (line = strchr(line, '\n')) != NULL; line++)
        n++;
    ck_assert_int_eq(n, 2);
    free(out);

    out = ctl(&code, "show liz@example.com --json");
    ck_assert_int_eq(code, 0);
    ck_assert_ptr_nonnull(o = json_tokener_parse(out));
    ck_assert_int_eq(json_object_object_length(o), 5);
    ck_assert_str_eq(jstr(o, "email"), "liz@example.com");
    ck_assert_str_eq(jstr(o, "role"), "user");
    ck_assert(json_object_object_get_ex(o, "role_id", &v));
    ck_assert_int_eq(json_object_get_int(v), 2);
    ck_assert_int_eq((int)strlen(jstr(o, "created_at")), USERDB_TIME_LEN);
    ck_assert(json_object_object_get_ex(o, "sessions", &v));
    ck_assert(json_object_is_type(v, json_type_int));
    ck_assert_int_eq(json_object_get_int(v), 2);
    snprintf(want, sizeof(want), "{\"email\":\"liz@example.com\",\"role\":"
        "\"user\",\"role_id\":2,\"created_at\":\"%s\",\"sessions\":2}\n",
        jstr(o, "created_at"));
    ck_assert_str_eq(out, want);
    json_object_put(o);
    free(out);
}
END_TEST

START_TEST(test_revoke_and_sessions_of_an_unknown_user_exit_4)
{
    struct session_cfg    scfg = { 3600, 86400, 10000, 10 };
    struct session_table *t;
    char                  err[SESSION_ERR_LEN], tok[CRYPTO_TOKEN_LEN + 1];
    char                 *out;
    int                   code;

    /* Without a session table yet, and with one. */
    import_lines("");
    expect_err(4, "userapictl: no user nobody@example.com\n", NULL,
        "revoke nobody@example.com");
    expect_err(4, "userapictl: no user nobody@example.com\n", NULL,
        "sessions nobody@example.com");
    start();
    expect_err(4, "userapictl: no user nobody@example.com\n", NULL,
        "revoke Nobody@example.com");
    expect_err(4, "userapictl: no user nobody@example.com\n", NULL,
        "sessions --json nobody@example.com");
    expect_err(4, "userapictl: no user nobody@example.com\n", NULL,
        "show --json nobody@example.com");
    /* A known user without sessions is no error. */
    expect(0, "ended 0 sessions of admin@localhost\n", NULL,
        "revoke admin@localhost");
    expect(0, "", NULL, "sessions --json admin@localhost");

    /* Sessions left by a deletion that could not end them are still
     * listed and ended: revoke is how to finish that deletion. */
    t = session_open(d.state_dir, &scfg, SESSION_AS_IS, err, sizeof(err));
    ck_assert_msg(t != NULL, "%s", err);
    ck_assert_int_eq(session_create(t, "ghost@example.com", 2, "192.0.2.7",
        tok, NULL), 0);
    session_close(t);
    out = ctl(&code, "sessions ghost@example.com");
    ck_assert_int_eq(code, 0);
    ck_assert(starts_with(out, "EMAIL              ROLE   CREATED"));
    ck_assert_ptr_nonnull(strstr(out, "\nghost@example.com  user   "));
    free(out);
    expect(0, "ended 1 session of ghost@example.com\n", NULL,
        "revoke ghost@example.com");
    expect_err(4, "userapictl: no user ghost@example.com\n", NULL,
        "revoke ghost@example.com");
    expect_err(4, "userapictl: no user ghost@example.com\n", NULL,
        "sessions ghost@example.com");
}
END_TEST

/*
 * userapictl opens the session table as it is: run with a configuration
 * saying max_sessions = 2, it neither resizes the daemon's table (100)
 * nor ends the sessions that would not fit.
 */
START_TEST(test_ctl_leaves_the_session_table_as_the_daemon_sized_it)
{
    struct daemon_opts  o = { .conf_extra = CONF "max_sessions = 100\n" };
    struct stat         before, after;
    char                tok[5][CRYPTO_TOKEN_LEN + 1], email[64], want[128];
    char                args[128], *out, *line;
    uint64_t            max;
    FILE               *fp;
    int                 i, n, code, lines = 0;

    daemon_write_conf(&d, 0, o.conf_extra);    /* setup wrote the default */
    daemon_start(&d, &o);
    for (i = 0; i < 4; i++) {
        snprintf(email, sizeof(email), "user%d@example.com", i);
        snprintf(want, sizeof(want), "created %s (user)\n", email);
        snprintf(args, sizeof(args), "useradd --password-stdin %s", email);
        expect(0, want, "password1\n", args);
        ck_assert_int_eq(login(email, "password1", tok[i]), 200);
    }
    ck_assert_int_eq(login("user0@example.com", "password1", tok[4]), 200);
    ck_assert_int_eq(stat(state_path("sessions"), &before), 0);

    daemon_write_conf(&d, 0, CONF "max_sessions = 2\n");
    out = ctl(&code, "sessions");
    ck_assert_msg(code == 0, "sessions: %s", ctl_stderr);
    for (line = strchr(out, '\n') + 1; *line != '\0';
        line = strchr(line, '\n') + 1)
        lines++;
    ck_assert_int_eq(lines, 5);
    free(out);
    out = ctl(&code, "list");
    ck_assert_msg(code == 0, "list: %s", ctl_stderr);
    free(out);
    expect(0, "ended 1 session of user3@example.com\n", NULL,
        "revoke user3@example.com");

    ck_assert_int_eq(stat(state_path("sessions"), &after), 0);
    ck_assert_int_eq(after.st_size, before.st_size);
    ck_assert_uint_eq(after.st_ino, before.st_ino);    /* not replaced */
    fp = fopen(state_path("sessions"), "r");
    ck_assert_ptr_nonnull(fp);
    ck_assert_int_eq(fseek(fp, 32, SEEK_SET), 0);       /* max_sessions */
    ck_assert_uint_eq(fread(&max, sizeof(max), 1, fp), 1);
    fclose(fp);
    ck_assert_uint_eq(max, 100);
    for (i = 0; i < 5; i++)
        ck_assert_int_eq(list_users(tok[i], &n), i == 3 ? 403 : 200);
}
END_TEST

/* ---- lockouts ------------------------------------------------------------ */

/* Without the daemon's throttle file nothing is locked, and nothing is
 * made; a damaged one is an error (exit 1) that says so. */
START_TEST(test_lockouts_without_a_throttle_file_and_with_a_damaged_one)
{
    char *out, want[600];
    int   code;

    expect(0, "KIND     KEY  FAILURES  RETRY_AFTER\n", NULL, "lockouts");
    expect(0, "", NULL, "lockouts --json");
    expect_err(4, "userapictl: nothing is locked out for x@example.com\n",
        NULL, "unlock X@Example.com");
    out = run_cmd(&code, "ls -A %s", d.state_dir);
    ck_assert_str_eq(out, "");
    free(out);
    write_file(state_path("throttle"), "garbage\n", 8);
    snprintf(want, sizeof(want), "userapictl: %s/throttle: a file of the "
        "wrong size (userapid makes it afresh when it starts)\n", d.state_dir);
    expect_err(1, want, NULL, "lockouts");
    expect_err(1, want, NULL, "unlock 127.0.0.1");
    expect(0, "usage: userapictl unlock EMAIL|ADDRESS\n  lift the lockout of "
        "an account or an address and clear its count\n", NULL,
        "help unlock");
    expect_err(2, "userapictl: unlock: expected one EMAIL or ADDRESS\n"
        TRY_CMD("unlock"), NULL, "unlock");
    expect_err(2, "userapictl: lockouts: unexpected argument 'all'\n"
        TRY_CMD("lockouts"), NULL, "lockouts all");
}
END_TEST

/* A login for email from src that fails with 401. */
static void
fail_from(const char *src, const char *email)
{
    char body[256], req[512], *r;

    snprintf(body, sizeof(body), "{\"email\":\"%s\",\"password\":"
        "\"wrong-password\"}", email);
    snprintf(req, sizeof(req), "POST / HTTP/1.1\r\nHost: t\r\nConnection: "
        "close\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n"
        "\r\n%s", strlen(body), body);
    r = http_exchange_from(d.port, src, req, 5000);
    ck_assert_ptr_nonnull(r);
    ck_assert_int_eq(http_status(r), 401);
    free(r);
}

/*
 * An address locked out and an account slowed down, listed while the
 * daemon runs (a key's control characters escaped in the table), then
 * lifted: each once, the second time exit 4.
 */
START_TEST(test_lockouts_lists_and_unlock_lifts_while_running)
{
    struct daemon_opts o = { .conf_extra = CONF "login_max_failures = 2\n"
                                           "login_account_max_failures = 3\n" };
    char               want_a[600], want_b[600], *out;
    int                code;

    daemon_write_conf(&d, 2, o.conf_extra);
    daemon_start(&d, &o);
    fail_from("127.0.0.5", "bob@example.org");
    fail_from("127.0.0.5", "bob@example.org");
    fail_from("127.0.0.6", "evil\\u001b[2j@example.com");
    fail_from("127.0.0.7", "evil\\u001b[2j@example.com");
    fail_from("127.0.0.8", "evil\\u001b[2j@example.com");
    sleep_ms(1100);     /* the account's first wait is over: 0 */
    out = ctl(&code, "lockouts");
    ck_assert_int_eq(code, 0);
    snprintf(want_a, sizeof(want_a), "KIND     KEY                      "
        "FAILURES  RETRY_AFTER\n"
        "account  evil\\x1b[2j@example.com  3         0\n"
        "address  127.0.0.5                2         %d\n", 899);
    snprintf(want_b, sizeof(want_b), "%.*s898\n", (int)strlen(want_a) - 4,
        want_a);
    ck_assert_msg(strcmp(out, want_a) == 0 || strcmp(out, want_b) == 0,
        "%s", out);
    free(out);
    out = ctl(&code, "lockouts --json");
    ck_assert_int_eq(code, 0);
    ck_assert_msg(starts_with(out, "{\"kind\":\"account\",\"key\":"
        "\"evil\\u001b[2j@example.com\",\"failures\":3,\"retry_after\":0}\n"
        "{\"kind\":\"address\",\"key\":\"127.0.0.5\",\"failures\":2,"
        "\"retry_after\":89"), "%s", out);
    free(out);
    expect(0, "unlocked 127.0.0.5\n", NULL, "unlock 127.0.0.5");
    expect_err(4, "userapictl: nothing is locked out for 127.0.0.5\n", NULL,
        "unlock 127.0.0.5");
    expect_err(4, "userapictl: nothing is locked out for bob@example.org\n",
        NULL, "unlock bob@example.org");
    expect(0, "{\"kind\":\"account\",\"key\":\"evil\\u001b[2j@example.com\","
        "\"failures\":3,\"retry_after\":0}\n", NULL, "lockouts --json");
    /* The address counts from zero again. */
    fail_from("127.0.0.5", "bob@example.org");
    expect(0, "{\"kind\":\"account\",\"key\":\"evil\\u001b[2j@example.com\","
        "\"failures\":3,\"retry_after\":0}\n", NULL, "lockouts --json");
}
END_TEST

/* ---- ownership ---------------------------------------------------------- */

static void
assert_owned_by_nobody(const char *name)
{
    struct stat st;

    ck_assert_msg(stat(state_path(name), &st) == 0, "%s: %s", name,
        strerror(errno));
    ck_assert_msg(st.st_uid == NOBODY && st.st_gid == NOBODY,
        "%s is %u:%u", name, (unsigned)st.st_uid, (unsigned)st.st_gid);
    ck_assert_uint_eq(st.st_mode & 07777, 0600);
}

START_TEST(test_root_keeps_the_owner_of_the_state_files)
{
    struct session_cfg    scfg = { 3600, 86400, 10000, 10 };
    struct session_table *t;
    char                  err[SESSION_ERR_LEN], tok[CRYPTO_TOKEN_LEN + 1];
    char                  other[400];
    struct stat           st;

    if (geteuid() != 0) {
        fprintf(stderr, "test_userapictl: not root, ownership not tested\n");
        return;
    }
    ck_assert_int_eq(chown(d.state_dir, NOBODY, NOBODY), 0);
    expect(0, "created ned@example.com (admin)\n", "password13\n",
        "useradd --role admin --password-stdin ned@example.com");
    assert_owned_by_nobody("users.db");
    assert_owned_by_nobody("users.db.lock");

    /* The daemon's session table, owned by the daemon's user.  Root
     * becomes that user (the directory's owner) before touching it. */
    t = session_open(d.state_dir, &scfg, 0, err, sizeof(err));
    ck_assert_msg(t != NULL, "%s", err);
    ck_assert_int_eq(session_create(t, "ned@example.com", 1, NULL, tok, NULL), 0);
    session_close(t);
    ck_assert_int_eq(chown(state_path("sessions"), NOBODY, NOBODY), 0);
    expect(0, "changed the password of ned@example.com; ended 1 session\n",
        "password14\n", "passwd --password-stdin ned@example.com");
    assert_owned_by_nobody("users.db");     /* replaced by a rename */
    assert_owned_by_nobody("users.db.lock");
    assert_owned_by_nobody("sessions");
    expect(0, "imported 1 user\n",
        "{\"email\":\"oz@example.com\",\"password\":\"password15\"}\n", "import -");
    assert_owned_by_nobody("users.db");
    ck_assert_int_eq(stat(state_path("users.db.tmp"), &st), -1);

    /* The owner of users.db wins over the directory's (root:group 0770
     * layouts). */
    ck_assert_int_eq(chown(d.state_dir, 0, 0), 0);
    expect(0, "changed the password of oz@example.com; ended 0 sessions\n",
        "password16\n", "passwd --password-stdin oz@example.com");
    assert_owned_by_nobody("users.db");

    /* A file with a second link is left alone: it may not be ours. */
    ck_assert_int_eq(lchown(state_path("users.db.lock"), 0, 0), 0);
    snprintf(other, sizeof(other), "%s/other", d.state_dir);
    ck_assert_int_eq(link(state_path("users.db.lock"), other), 0);
    expect(0, "oz@example.com is user already\n", NULL, "role oz@example.com user");
    ck_assert_int_eq(stat(state_path("users.db.lock"), &st), 0);
    ck_assert_uint_eq(st.st_uid, 0);
}
END_TEST

static Suite *
userapictl_suite(void)
{
    Suite *s = suite_create("userapictl");
    TCase *tc = tcase_create("offline");
    TCase *tr = tcase_create("running");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_version_and_help);
    tcase_add_test(tc, test_usage_errors_exit_2);
    tcase_add_test(tc, test_bad_option_prints_two_lines_not_the_help);
    tcase_add_test(tc, test_help_command_is_help);
    tcase_add_test(tc, test_global_options_after_the_command);
    tcase_add_test(tc, test_config_errors_exit_3);
    tcase_add_test(tc, test_missing_database_is_an_error_and_creates_nothing);
    tcase_add_test(tc, test_useradd_then_list_show_and_exists);
    tcase_add_test(tc, test_useradd_password_rules);
    tcase_add_test(tc, test_useradd_asks_twice_on_the_terminal_without_echo);
    tcase_add_test(tc, test_interrupted_prompt_turns_the_echo_back_on);
    tcase_add_test(tc, test_list_exact_output_and_json);
    tcase_add_test(tc, test_list_of_an_empty_database_is_the_header);
    tcase_add_test(tc, test_check_good_database);
    tcase_add_test(tc, test_check_names_a_malformed_line);
    tcase_add_test(tc, test_check_reports_a_torn_last_line);
    tcase_add_test(tc, test_check_reports_a_damaged_session_table);
    tcase_add_test(tc, test_import_is_all_or_nothing);
    tcase_add_test(tc, test_import_from_stdin_with_defaults);
    tcase_add_test(tc, test_import_100k_prehashed_users);
    tcase_add_test(tc, test_export_import_round_trip);
    tcase_add_test(tc, test_root_keeps_the_owner_of_the_state_files);
    tcase_add_test(tc, test_lockouts_without_a_throttle_file_and_with_a_damaged_one);
    suite_add_tcase(s, tc);

    tcase_add_checked_fixture(tr, setup, teardown);
    tcase_set_timeout(tr, 60);
    tcase_add_test(tr, test_useradd_while_running_lets_the_user_log_in);
    tcase_add_test(tr, test_userdel_while_running_ends_login_and_sessions);
    tcase_add_test(tr, test_userdel_and_role_keep_the_last_admin);
    tcase_add_test(tr, test_passwd_changes_the_password_and_ends_sessions);
    tcase_add_test(tr, test_passwd_of_the_first_admin_removes_its_password_file);
    tcase_add_test(tr, test_role_change_applies_to_live_sessions);
    tcase_add_test(tr, test_sessions_lists_live_sessions_without_tokens);
    tcase_add_test(tr, test_revoke_ends_every_session_of_the_user);
    tcase_add_test(tr, test_sessions_and_show_json);
    tcase_add_test(tr, test_revoke_and_sessions_of_an_unknown_user_exit_4);
    tcase_add_test(tr, test_ctl_leaves_the_session_table_as_the_daemon_sized_it);
    tcase_add_test(tr, test_lockouts_lists_and_unlock_lifts_while_running);
    suite_add_tcase(s, tr);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(userapictl_suite());
    int      failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
