/* SPDX-License-Identifier: MIT */
/*
 * test_userapi.c - the built userapi client against a running daemon: the
 * exact output, stderr and exit status of every command, the saved
 * session file and its modes, the order in which the server is chosen,
 * terminal prompts without echo, and the exit statuses for a server that
 * is not running (6) and one that fails (5), the latter a small fake
 * server forked here.
 */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "harness.h"

#define CONF        "password_cost = 1\n"
#define ADMIN       "admin@localhost"
#define TOKEN_LEN   43
/* The line after a usage error in a command: where its help is. */
#define TRY_CMD(c)  "Try 'userapi " c " --help' for more information.\n"

static struct daemon d;
static char          xdg[400];          /* XDG_RUNTIME_DIR of the client */
static char          admin_pw[128];
static char          ua_stderr[8192];   /* what the last run printed there */
static pid_t         fake_pid;          /* the fake server, or 0 */

static char *ua_env(int *, const char *, const char *, const char *, ...)
                __attribute__((format(printf, 4, 5)));

static const char *
ua_bin(void)
{
    const char *b = getenv("USERAPI_BIN");

    return b != NULL ? b : "build/userapi";
}

static void
write_file(const char *path, const char *data)
{
    FILE *fp = fopen(path, "w");

    ck_assert_ptr_nonnull(fp);
    ck_assert_int_eq(fputs(data, fp) >= 0, 1);
    ck_assert_int_eq(fclose(fp), 0);
}

/* The whole file, NUL-terminated, or NULL when it does not exist.  Caller
 * frees. */
static char *
read_file(const char *path)
{
    struct stat st;
    char       *buf;
    FILE       *fp = fopen(path, "r");

    if (fp == NULL && errno == ENOENT)
        return NULL;
    ck_assert_msg(fp != NULL, "%s: %s", path, strerror(errno));
    ck_assert_int_eq(fstat(fileno(fp), &st), 0);
    buf = malloc((size_t)st.st_size + 1);
    ck_assert_ptr_nonnull(buf);
    ck_assert_uint_eq(fread(buf, 1, (size_t)st.st_size, fp), (size_t)st.st_size);
    buf[st.st_size] = '\0';
    fclose(fp);
    return buf;
}

/*
 * Runs "userapi ARGS" with input (NULL: none) on stdin, no proxy and no
 * USERAPI_SERVER in its environment, XDG_RUNTIME_DIR set to xdg, then env
 * (NULL: nothing) as arguments of env(1) to change that.  Returns stdout
 * (caller frees); stderr is left in ua_stderr and the exit status in
 * *code.
 */
static char *
ua_env(int *code, const char *input, const char *env, const char *fmt, ...)
{
    char     args[2048], in[400], errpath[400], *out, *err;
    va_list  ap;
    int      st;

    va_start(ap, fmt);
    vsnprintf(args, sizeof(args), fmt, ap);
    va_end(ap);
    snprintf(in, sizeof(in), "%s/ua.in", d.dir);
    snprintf(errpath, sizeof(errpath), "%s/ua.err", d.dir);
    write_file(in, input != NULL ? input : "");
    out = run_cmd(&st, "env -u USERAPI_SERVER -u http_proxy -u https_proxy "
        "-u HTTP_PROXY -u HTTPS_PROXY -u ALL_PROXY -u all_proxy "
        "XDG_RUNTIME_DIR=%s env %s %s %s <%s 2>%s", xdg, env != NULL ? env : "",
        ua_bin(), args, in, errpath);
    *code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    err = read_file(errpath);
    ck_assert_ptr_nonnull(err);
    snprintf(ua_stderr, sizeof(ua_stderr), "%s", err);
    free(err);
    return out;
}

/* "userapi --server http://127.0.0.1:PORT ARGS" with input on stdin. */
static char *
ua_in(int *code, const char *input, const char *args)
{
    return ua_env(code, input, NULL, "--server http://127.0.0.1:%d %s", d.port,
        args);
}

/* Runs a command that must print exactly want, nothing on stderr, and
 * exit with status. */
static void
expect(int status, const char *want, const char *input, const char *args)
{
    char *out;
    int   code;

    out = ua_in(&code, input, args);
    ck_assert_msg(code == status, "userapi %s: exit %d, want %d; stderr: %s",
        args, code, status, ua_stderr);
    ck_assert_str_eq(out, want);
    if (status == 0)
        ck_assert_str_eq(ua_stderr, "");
    free(out);
}

/* As expect, for a command that fails: nothing on stdout, err on stderr. */
static void
expect_err(int status, const char *err, const char *input, const char *args)
{
    expect(status, "", input, args);
    ck_assert_str_eq(ua_stderr, err);
}

/* The saved session's path for the daemon's server. */
static const char *
token_path(void)
{
    static char path[600];

    snprintf(path, sizeof(path), "%s/userapi/http_3a_2f_2f127.0.0.1_3a%d", xdg,
        d.port);
    return path;
}

/* The token saved for the daemon, into token (TOKEN_LEN + 1 bytes). */
static void
saved_token(char *token)
{
    char *s = read_file(token_path());

    ck_assert_ptr_nonnull(s);
    ck_assert_ptr_nonnull(strchr(s, '\n'));
    ck_assert_int_eq((int)(strchr(s, '\n') - s), TOKEN_LEN);
    memcpy(token, s, TOKEN_LEN);
    token[TOKEN_LEN] = '\0';
    free(s);
}

/* One request with a JSON body and an optional Bearer token.  Caller
 * frees. */
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

static void
login_as(const char *email, const char *pw)
{
    char in[256], args[256], want[256];

    snprintf(in, sizeof(in), "%s\n", pw);
    snprintf(args, sizeof(args), "login --password-stdin %s", email);
    snprintf(want, sizeof(want), "logged in as %s (%s)\n", email,
        strcmp(email, ADMIN) == 0 ? "admin" : "user");
    expect(0, want, in, args);
}

/* Creates a user as the admin, with the admin's session saved after. */
static void
add_user(const char *email, const char *role)
{
    char args[256], want[256];

    login_as(ADMIN, admin_pw);
    snprintf(args, sizeof(args), "register --role %s --password-stdin %s",
        role, email);
    snprintf(want, sizeof(want), "created %s (%s)\n", email, role);
    expect(0, want, "password1\n", args);
}

/* created_at of email, as the API gives it, into out (21 bytes). */
static void
created_at(const char *email, char *out)
{
    struct json_object *o, *v;
    char                token[TOKEN_LEN + 1], path[300], *r;

    login_as(ADMIN, admin_pw);
    saved_token(token);
    snprintf(path, sizeof(path), "/users/%s", email);
    r = call("GET", path, token, NULL);
    ck_assert_int_eq(http_status(r), 200);
    o = json_tokener_parse(http_body(r));
    ck_assert_ptr_nonnull(o);
    ck_assert(json_object_object_get_ex(o, "created_at", &v));
    snprintf(out, 21, "%s", json_object_get_string(v));
    json_object_put(o);
    free(r);
}

/* Starts the daemon with conf and reads the first administrator's
 * password. */
static void
setup_with(const char *conf)
{
    struct daemon_opts o = { .conf_extra = conf };
    char               path[400], *pw;

    daemon_start(&d, &o);
    snprintf(xdg, sizeof(xdg), "%s/xdg", d.dir);
    ck_assert_int_eq(mkdir(xdg, 0700), 0);
    snprintf(path, sizeof(path), "%s/initial-admin-password", d.state_dir);
    pw = read_file(path);
    ck_assert_ptr_nonnull(pw);
    pw[strcspn(pw, "\n")] = '\0';
    snprintf(admin_pw, sizeof(admin_pw), "%s", pw);
    free(pw);
}

static void
setup(void)
{
    setup_with(CONF);
}

/* Sessions whose expiry does not move with use: the session's age ends
 * them first. */
static void
setup_fixed_expiry(void)
{
    setup_with(CONF "session_ttl = 86400\nsession_max_age = 3600\n");
}

static void
setup_lockout(void)
{
    setup_with(CONF "login_max_failures = 2\nlogin_account_max_failures = 3\n");
}

/* For the tests that need no daemon: its directory, port and xdg only. */
static void
setup_offline(void)
{
    struct daemon_opts o = { .conf_extra = CONF };

    daemon_prepare(&d, &o);
    snprintf(xdg, sizeof(xdg), "%s/xdg", d.dir);
    ck_assert_int_eq(mkdir(xdg, 0700), 0);
}

static void
fake_stop(void)
{
    int st;

    if (fake_pid > 0) {
        kill(fake_pid, SIGKILL);
        waitpid(fake_pid, &st, 0);
        fake_pid = 0;
    }
}

static void
teardown(void)
{
    fake_stop();
    daemon_cleanup(&d);
}

/*
 * Forks a server on a free loopback port that answers every request with
 * "HTTP/1.1 STATUS" and body (JSON when not empty), then closes.  Returns
 * the port.  It listens before this returns, so there is no race.
 */
static int
fake_server(const char *status, const char *body)
{
    struct sockaddr_in sin;
    socklen_t          len = sizeof(sin);
    int                lfd, fd, one = 1;

    lfd = socket(AF_INET, SOCK_STREAM, 0);
    ck_assert_int_ge(lfd, 0);
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_int_eq(bind(lfd, (struct sockaddr *)&sin, sizeof(sin)), 0);
    ck_assert_int_eq(getsockname(lfd, (struct sockaddr *)&sin, &len), 0);
    ck_assert_int_eq(listen(lfd, 16), 0);
    fake_pid = fork();
    ck_assert_int_ge(fake_pid, 0);
    if (fake_pid > 0) {
        close(lfd);
        return ntohs(sin.sin_port);
    }
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    for (;;) {
        char   req[65536], resp[4096], *end, *cl;
        size_t got = 0, need = 0;

        if ((fd = accept(lfd, NULL, NULL)) == -1)
            continue;
        /* The whole request, so closing sends no reset over the answer. */
        for (;;) {
            ssize_t n = recv(fd, req + got, sizeof(req) - 1 - got, 0);

            if (n <= 0)
                break;
            got += (size_t)n;
            req[got] = '\0';
            if (need == 0 && (end = strstr(req, "\r\n\r\n")) != NULL) {
                need = (size_t)(end + 4 - req);
                if ((cl = strcasestr(req, "\r\nContent-Length:")) != NULL &&
                    cl < end)
                    need += strtoul(cl + 17, NULL, 10);
            }
            if (need > 0 && got >= need)
                break;
        }
        snprintf(resp, sizeof(resp), "HTTP/1.1 %s\r\n%s"
            "Content-Length: %zu\r\nConnection: close\r\n\r\n%s", status,
            body[0] != '\0' ? "Content-Type: application/json\r\n" : "",
            strlen(body), body);
        if (send(fd, resp, strlen(resp), MSG_NOSIGNAL) < 0)
            _exit(1);
        shutdown(fd, SHUT_WR);
        close(fd);
    }
}

/*
 * Runs "userapi --server ... ARGS..." on a pseudo-terminal, answering the
 * prompts in order: prompts[i] is awaited, then answers[i] typed.  Returns
 * what the terminal showed; the exit status in *code.
 */
static char *
ua_on_tty(const char *const *prompts, const char *const *answers, int *code,
    const char *cmd, const char *arg)
{
    static char screen[8192];
    char        server[64];
    size_t      len = 0, at = 0;
    int         fd, st, i = 0;
    pid_t       pid;

    snprintf(server, sizeof(server), "http://127.0.0.1:%d", d.port);
    screen[0] = '\0';
    pid = forkpty(&fd, NULL, NULL, NULL);
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        setenv("XDG_RUNTIME_DIR", xdg, 1);
        unsetenv("USERAPI_SERVER");
        unsetenv("http_proxy");
        execl(ua_bin(), ua_bin(), "--server", server, cmd, arg, (char *)NULL);
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
        if (prompts[i] != NULL && strstr(screen + at, prompts[i]) != NULL) {
            at = len;
            ck_assert_int_gt(write(fd, answers[i], strlen(answers[i])), 0);
            i++;
        }
    }
    close(fd);
    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
    *code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    return screen;
}

/* ---- status ------------------------------------------------------------- */

START_TEST(test_status_prints_the_servers_headers)
{
    struct json_object *o, *v;
    char               *out, *up, *nl, want[256];
    int                 code;

    out = ua_in(&code, NULL, "status");
    ck_assert_msg(code == 0, "exit %d: %s", code, ua_stderr);
    ck_assert_str_eq(ua_stderr, "");
    /* Uptime changes; the rest is exact. */
    up = strstr(out, "uptime   ");
    ck_assert_ptr_nonnull(up);
    nl = strchr(up, '\n');
    ck_assert_ptr_nonnull(nl);
    ck_assert_int_eq(nl[-1], 's');
    memmove(up + 9, nl, strlen(nl) + 1);
    snprintf(want, sizeof(want), "status   ok\nworkers  2/2\nusers    1\n"
        "uptime   \nversion  %s\n", USERAPID_VERSION);
    ck_assert_str_eq(out, want);
    free(out);
    /* As JSON it is GET /status, as the server wrote it. */
    out = ua_in(&code, NULL, "--json status");
    ck_assert_int_eq(code, 0);
    ck_assert_ptr_eq(strchr(out, '\n'), out + strlen(out) - 1);
    o = json_tokener_parse(out);
    ck_assert_ptr_nonnull(o);
    ck_assert(json_object_object_get_ex(o, "status", &v));
    ck_assert_str_eq(json_object_get_string(v), "ok");
    ck_assert(json_object_object_get_ex(o, "users", &v));
    ck_assert_int_eq(json_object_get_int(v), 1);
    ck_assert(json_object_object_get_ex(o, "version", &v));
    ck_assert_str_eq(json_object_get_string(v), USERAPID_VERSION);
    json_object_put(o);
    free(out);
}
END_TEST

/* ---- register ----------------------------------------------------------- */

START_TEST(test_register_creates_then_a_duplicate_exits_4_with_the_message)
{
    char *out, t[32], want[256];
    int   code;

    expect(0, "created bob@example.com (user)\n", "password1\n",
        "register --password-stdin bob@example.com");
    expect_err(4, "userapi: a user with this email exists\n", "password1\n",
        "register --password-stdin BOB@example.com");
    expect_err(4, "userapi: password must be at least 8 bytes\n", "short\n",
        "register --password-stdin eve@example.com");
    expect_err(4, "userapi: email is not a valid address\n", "password1\n",
        "register --password-stdin not-an-address");
    /* --json: the record as the server sent it. */
    out = ua_in(&code, "password1\n", "register --json --password-stdin "
        "carol@example.com");
    ck_assert_int_eq(code, 0);
    ck_assert_int_eq(sscanf(out, "{\"email\":\"carol@example.com\",\"role\":"
        "\"user\",\"role_id\":2,\"created_at\":\"%20[^\"]", t), 1);
    snprintf(want, sizeof(want), "{\"email\":\"carol@example.com\",\"role\":"
        "\"user\",\"role_id\":2,\"created_at\":\"%s\"}\n", t);
    ck_assert_str_eq(out, want);
    free(out);
    /* Without a saved session, only the user role. */
    expect_err(3, "userapi: only administrators may create administrators\n",
        "password1\n", "register --role admin --password-stdin root@example.com");
}
END_TEST

START_TEST(test_register_sends_the_saved_session_so_admins_create_admins)
{
    login_as(ADMIN, admin_pw);
    expect(0, "created root@example.com (admin)\n", "password1\n",
        "register --role admin --password-stdin root@example.com");
    expect(0, "created bob@example.com (user)\n", "password1\n",
        "register --password-stdin bob@example.com");
    login_as("bob@example.com", "password1");
    expect_err(3, "userapi: only administrators may create administrators\n",
        "password1\n", "register --role admin --password-stdin eve@example.com");
}
END_TEST

/* ---- login -------------------------------------------------------------- */

START_TEST(test_login_saves_the_token_0600_in_a_0700_directory)
{
    struct stat st;
    char        dir[500], token[TOKEN_LEN + 1], want[128], *s, *r;

    login_as(ADMIN, admin_pw);
    snprintf(dir, sizeof(dir), "%s/userapi", xdg);
    ck_assert_int_eq(lstat(dir, &st), 0);
    ck_assert(S_ISDIR(st.st_mode));
    ck_assert_uint_eq(st.st_mode & 07777, 0700);
    ck_assert_int_eq(lstat(token_path(), &st), 0);
    ck_assert(S_ISREG(st.st_mode));
    ck_assert_uint_eq(st.st_mode & 07777, 0600);
    /* The token, then the email it belongs to. */
    saved_token(token);
    s = read_file(token_path());
    snprintf(want, sizeof(want), "%s\n" ADMIN "\n", token);
    ck_assert_str_eq(s, want);
    free(s);
    r = call("GET", "/", token, NULL);
    ck_assert_int_eq(http_status(r), 200);
    free(r);
    /* A directory others may enter is closed first. */
    ck_assert_int_eq(unlink(token_path()), 0);
    ck_assert_int_eq(chmod(dir, 0755), 0);
    login_as(ADMIN, admin_pw);
    ck_assert_int_eq(lstat(dir, &st), 0);
    ck_assert_uint_eq(st.st_mode & 07777, 0700);
    ck_assert_int_eq(lstat(token_path(), &st), 0);
    ck_assert_uint_eq(st.st_mode & 07777, 0600);
}
END_TEST

/*
 * The token file is synced before it replaces the old one, and the rename
 * after it: a crash leaves the old file or the new one, not an empty one.
 */
START_TEST(test_login_syncs_the_token_file_before_and_after_the_rename)
{
    char log[500], env[1200], in[256], *out, *calls, want[2400];
    int  code;

    snprintf(log, sizeof(log), "%s/calls.log", d.dir);
    snprintf(env, sizeof(env), "LD_PRELOAD=%s USERAPID_TEST_CALL_LOG=%s "
        "ASAN_OPTIONS=verify_asan_link_order=0:detect_leaks=0",
        getenv("USERAPID_PRELOAD"), log);
    snprintf(in, sizeof(in), "%s\n", admin_pw);
    out = ua_env(&code, in, env, "--server http://127.0.0.1:%d login "
        "--password-stdin " ADMIN, d.port);
    ck_assert_msg(code == 0, "exit %d: %s", code, ua_stderr);
    free(out);
    calls = read_file(log);
    ck_assert_ptr_nonnull(calls);
    /* Exactly: the temporary file synced, renamed, the directory synced. */
    snprintf(want, sizeof(want), "fsync %s.tmp\nrename %s.tmp %s\nfsync %s/userapi\n",
        token_path(), strrchr(token_path(), '/') + 1, strrchr(token_path(), '/') + 1,
        xdg);
    ck_assert_str_eq(calls, want);
    free(calls);
}
END_TEST

START_TEST(test_login_json_prints_the_answer_without_the_token)
{
    char  token[TOKEN_LEN + 1], t[32], want[256], *out;
    int   code;

    add_user("bob@example.com", "user");
    out = ua_in(&code, "password1\n", "--json login --password-stdin "
        "Bob@Example.com");
    ck_assert_msg(code == 0, "exit %d: %s", code, ua_stderr);
    saved_token(token);
    ck_assert_ptr_null(strstr(out, token));
    ck_assert_int_eq(sscanf(out, "{\"email\":\"bob@example.com\",\"role\":"
        "\"user\",\"role_id\":2,\"expires_at\":\"%20[^\"]", t), 1);
    snprintf(want, sizeof(want), "{\"email\":\"bob@example.com\",\"role\":"
        "\"user\",\"role_id\":2,\"expires_at\":\"%s\"}\n", t);
    ck_assert_str_eq(out, want);
    free(out);
}
END_TEST

START_TEST(test_login_with_a_wrong_password_exits_3_and_saves_nothing)
{
    struct stat st;

    expect_err(3, "userapi: wrong email or password\n", "wrong-password\n",
        "login --password-stdin " ADMIN);
    expect_err(3, "userapi: wrong email or password\n", "password1\n",
        "login --password-stdin nobody@example.com");
    ck_assert_int_eq(lstat(token_path(), &st), -1);
    expect_err(1, "userapi: no password on standard input\n", "",
        "login --password-stdin " ADMIN);
}
END_TEST

START_TEST(test_login_prompts_on_the_terminal_without_echo)
{
    const char *prompts[] = { "Password for " ADMIN ": ", NULL };
    const char *answers[2] = { NULL, NULL };
    char        typed[160], *screen;
    int         code;

    snprintf(typed, sizeof(typed), "%s\n", admin_pw);
    answers[0] = typed;
    screen = ua_on_tty(prompts, answers, &code, "login", ADMIN);
    ck_assert_msg(code == 0, "exit %d: %s", code, screen);
    ck_assert_ptr_nonnull(strstr(screen, "logged in as " ADMIN " (admin)"));
    ck_assert_ptr_null(strstr(screen, admin_pw));
    expect(0, "", NULL, "whoami >/dev/null");
}
END_TEST

START_TEST(test_register_on_the_terminal_asks_twice)
{
    const char *prompts[] = { "Password for tty@example.com: ", "Retype it: ",
                              NULL };
    const char *same[] = { "tty-secret-1\n", "tty-secret-1\n" };
    const char *other[] = { "tty-secret-1\n", "tty-secret-2\n" };
    char       *screen;
    int         code;

    screen = ua_on_tty(prompts, other, &code, "register", "tty@example.com");
    ck_assert_int_eq(code, 1);
    ck_assert_ptr_nonnull(strstr(screen, "userapi: the passwords do not match"));
    ck_assert_ptr_null(strstr(screen, "tty-secret"));
    screen = ua_on_tty(prompts, same, &code, "register", "tty@example.com");
    ck_assert_msg(code == 0, "exit %d: %s", code, screen);
    ck_assert_ptr_nonnull(strstr(screen, "created tty@example.com (user)"));
    ck_assert_ptr_null(strstr(screen, "tty-secret"));
    login_as("tty@example.com", "tty-secret-1");
}
END_TEST

START_TEST(test_without_xdg_runtime_dir_the_session_goes_to_the_cache)
{
    struct stat st;
    char        home[500], path[700], env[600], in[160], *out;
    int         code;

    snprintf(home, sizeof(home), "%s/home", d.dir);
    ck_assert_int_eq(mkdir(home, 0755), 0);
    snprintf(env, sizeof(env), "-u XDG_RUNTIME_DIR HOME=%s", home);
    snprintf(in, sizeof(in), "%s\n", admin_pw);
    out = ua_env(&code, in, env, "--server http://127.0.0.1:%d login "
        "--password-stdin " ADMIN, d.port);
    ck_assert_msg(code == 0, "exit %d: %s", code, ua_stderr);
    ck_assert_str_eq(out, "logged in as " ADMIN " (admin)\n");
    free(out);
    out = ua_env(&code, NULL, env, "--server http://127.0.0.1:%d whoami",
        d.port);
    ck_assert_int_eq(code, 0);
    free(out);
    snprintf(path, sizeof(path), "%s/.cache/userapi", home);
    ck_assert_int_eq(lstat(path, &st), 0);
    ck_assert_uint_eq(st.st_mode & 07777, 0700);
    snprintf(path, sizeof(path), "%s/.cache/userapi/http_3a_2f_2f127.0.0.1_3a%d",
        home, d.port);
    ck_assert_int_eq(lstat(path, &st), 0);
    ck_assert_uint_eq(st.st_mode & 07777, 0600);
}
END_TEST

/* ---- whoami and users --------------------------------------------------- */

START_TEST(test_show_and_users_print_exact_tables_and_json_unchanged)
{
    char  ta[32], tb[32], tc[32], want[1024], token[TOKEN_LEN + 1], *out, *r;
    int   code;

    add_user("bob@example.com", "user");
    add_user("carol.long@example.com", "admin");
    created_at(ADMIN, ta);
    created_at("bob@example.com", tb);
    created_at("carol.long@example.com", tc);
    snprintf(want, sizeof(want),
        "EMAIL                   ROLE   CREATED\n"
        ADMIN "         admin  %s\n"
        "bob@example.com         user   %s\n"
        "carol.long@example.com  admin  %s\n", ta, tb, tc);
    expect(0, want, NULL, "users");
    snprintf(want, sizeof(want),
        "EMAIL            ROLE   CREATED\n"
        ADMIN "  admin  %s\n", ta);
    expect(0, want, NULL, "show " ADMIN);
    /* --json, before or after the command: the body as it came, and a
     * newline. */
    saved_token(token);
    r = call("GET", "/", token, NULL);
    snprintf(want, sizeof(want), "%s\n", http_body(r));
    free(r);
    expect(0, want, NULL, "users --json");
    r = call("GET", "/users/" ADMIN, token, NULL);
    snprintf(want, sizeof(want), "%s\n", http_body(r));
    free(r);
    expect(0, want, NULL, "--json show " ADMIN);
    /* A user sees only themself, in both. */
    login_as("bob@example.com", "password1");
    snprintf(want, sizeof(want),
        "EMAIL            ROLE  CREATED\n"
        "bob@example.com  user  %s\n", tb);
    expect(0, want, NULL, "users");
    expect(0, want, NULL, "show BOB@example.com");
    expect_err(3, "userapi: you may only see your own record\n", NULL,
        "show " ADMIN);
    out = ua_in(&code, NULL, "users extra");
    ck_assert_int_eq(code, 2);
    free(out);
}
END_TEST

START_TEST(test_commands_that_need_a_session_exit_3_without_one)
{
    char want[256];

    snprintf(want, sizeof(want), "userapi: not logged in to "
        "http://127.0.0.1:%d (userapi login EMAIL)\n", d.port);
    expect_err(3, want, NULL, "whoami");
    expect_err(3, want, NULL, "users");
    expect_err(3, want, "a\nb\n", "passwd --password-stdin");
    expect_err(3, want, NULL, "delete bob@example.com");
    expect_err(3, want, NULL, "logout");
}
END_TEST

START_TEST(test_a_damaged_session_file_is_refused_and_login_replaces_it)
{
    char want[256];

    login_as(ADMIN, admin_pw);
    write_file(token_path(), "not a token\r\nX-Injected: 1\n");
    snprintf(want, sizeof(want), "userapi: saved session for "
        "http://127.0.0.1:%d is damaged; log in again\n", d.port);
    expect_err(1, want, NULL, "whoami");
    expect_err(1, want, "password1\n",
        "register --password-stdin bob@example.com");
    login_as(ADMIN, admin_pw);
    expect(0, "", NULL, "whoami >/dev/null");
}
END_TEST


/* ---- show, role, passwd EMAIL, users pages ------------------------------ */

START_TEST(test_role_and_passwd_email_by_an_admin_refused_to_a_user)
{
    add_user("bob@example.com", "user");
    expect(0, "role of bob@example.com set to admin\n", NULL,
        "role BOB@example.com admin");
    expect(0, "role of bob@example.com set to user\n", NULL,
        "role bob@example.com user");
    expect_err(4, "userapi: no such user\n", NULL, "role nobody@example.com user");
    expect_err(4, "userapi: no such user\n", NULL, "show nobody@example.com");
    expect_err(4, "userapi: the last administrator cannot be demoted\n", NULL,
        "role " ADMIN " user");
    expect(0, "password changed for bob@example.com\n", "new-password-9\n",
        "passwd --password-stdin Bob@example.com");
    expect_err(4, "userapi: password must be at least 8 bytes\n", "short\n",
        "passwd --password-stdin bob@example.com");
    expect_err(3, "userapi: wrong email or password\n", "password1\n",
        "login --password-stdin bob@example.com");
    login_as("bob@example.com", "new-password-9");
    expect_err(3, "userapi: only administrators may change roles\n", NULL,
        "role bob@example.com admin");
    expect_err(3, "userapi: you may only change your own record\n",
        "another-pass-1\n", "passwd --password-stdin " ADMIN);
}
END_TEST

/* The value of the "next: " line of out, into next. */
static void
next_line(const char *out, char *next, size_t len)
{
    const char *p = strstr(out, "next: ");

    ck_assert_msg(p != NULL, "no next line: %s", out);
    snprintf(next, len, "%.*s", (int)strcspn(p + 6, "\n"), p + 6);
    ck_assert_int_gt((int)strlen(next), 0);
}

START_TEST(test_users_pages_with_limit_after_search_and_all)
{
    char  t[5][32], want[2048], next[1024], args[1200], tok[TOKEN_LEN + 1];
    char *out, *r;
    int   code, i;

    add_user("u1@example.com", "user");
    add_user("u2@example.com", "user");
    add_user("x1@example.com", "user");
    add_user("u3@example.com", "user");
    created_at(ADMIN, t[0]);
    created_at("u1@example.com", t[1]);
    created_at("u2@example.com", t[2]);
    created_at("x1@example.com", t[3]);
    created_at("u3@example.com", t[4]);
    out = ua_in(&code, NULL, "users --limit 2");
    ck_assert_msg(code == 0, "%s", ua_stderr);
    snprintf(want, sizeof(want), "EMAIL            ROLE   CREATED\n"
        ADMIN "  admin  %s\nu1@example.com   user   %s\nnext: ", t[0], t[1]);
    ck_assert_msg(strncmp(out, want, strlen(want)) == 0, "%s", out);
    next_line(out, next, sizeof(next));
    free(out);
    snprintf(args, sizeof(args), "users --limit 2 --after %s", next);
    out = ua_in(&code, NULL, args);
    ck_assert_int_eq(code, 0);
    snprintf(want, sizeof(want), "EMAIL           ROLE  CREATED\n"
        "u2@example.com  user  %s\nx1@example.com  user  %s\nnext: ", t[2],
        t[3]);
    ck_assert_msg(strncmp(out, want, strlen(want)) == 0, "%s", out);
    next_line(out, next, sizeof(next));
    free(out);
    snprintf(args, sizeof(args), "users --after %s", next);
    snprintf(want, sizeof(want), "EMAIL           ROLE  CREATED\n"
        "u3@example.com  user  %s\n", t[4]);
    expect(0, want, NULL, args);
    /* --all follows every next, into one table. */
    snprintf(want, sizeof(want), "EMAIL            ROLE   CREATED\n"
        ADMIN "  admin  %s\n", t[0]);
    for (i = 1; i < 5; i++)
        snprintf(want + strlen(want), sizeof(want) - strlen(want),
            "%s@example.com   user   %s\n", i == 3 ? "x1" : i == 4 ? "u3" :
            i == 1 ? "u1" : "u2", t[i]);
    expect(0, want, NULL, "users --all --limit 1");
    snprintf(want, sizeof(want), "EMAIL           ROLE  CREATED\n"
        "u1@example.com  user  %s\nu2@example.com  user  %s\n"
        "u3@example.com  user  %s\n", t[1], t[2], t[4]);
    expect(0, want, NULL, "users --search U --all --limit 2");
    /* --json --all: one object of every page, as GET / gives it. */
    saved_token(tok);
    r = call("GET", "/", tok, NULL);
    snprintf(want, sizeof(want), "%s\n", http_body(r));
    free(r);
    expect(0, want, NULL, "--json users --all --limit 2");
    expect_err(4, "userapi: after is not a cursor of this server\n", NULL,
        "users --after !!!");
    expect(0, "EMAIL  ROLE  CREATED\n", NULL, "users --search nobody");
}
END_TEST

/* ---- whoami, sessions, logout --all (fixed expiry) ---------------------- */

START_TEST(test_whoami_prints_the_session_and_json_is_get_session)
{
    char  tok[TOKEN_LEN + 1], want[512], exp[32], *r;

    add_user("bob@example.com", "user");
    login_as("bob@example.com", "password1");
    saved_token(tok);
    r = call("GET", "/session", tok, NULL);
    ck_assert_int_eq(http_status(r), 200);
    snprintf(want, sizeof(want), "%s\n", http_body(r));
    {
        struct json_object *o = json_tokener_parse(http_body(r)), *v;

        ck_assert(json_object_object_get_ex(o, "expires_at", &v));
        snprintf(exp, sizeof(exp), "%s", json_object_get_string(v));
        json_object_put(o);
    }
    free(r);
    expect(0, want, NULL, "--json whoami");
    snprintf(want, sizeof(want), "EMAIL            ROLE  EXPIRES\n"
        "bob@example.com  user  %s\n", exp);
    expect(0, want, NULL, "whoami");
}
END_TEST

START_TEST(test_sessions_marks_the_current_and_logout_all_ends_all)
{
    struct json_object *o, *a, *e;
    char  t1[TOKEN_LEN + 1], t2[TOKEN_LEN + 1], want[2048], line[512], *out;
    char *r, *p;
    int   code, i;

    add_user("bob@example.com", "user");
    login_as("bob@example.com", "password1");
    saved_token(t1);
    login_as("bob@example.com", "password1");
    saved_token(t2);
    out = ua_in(&code, NULL, "sessions");
    ck_assert_msg(code == 0, "%s", ua_stderr);
    r = call("GET", "/sessions", t2, NULL);
    o = json_tokener_parse(http_body(r));
    ck_assert(json_object_object_get_ex(o, "sessions", &a));
    ck_assert_int_eq((int)json_object_array_length(a), 2);
    snprintf(want, sizeof(want), "  %-32s  %-20s  %-20s  %-20s  %s\n", "ID",
        "CREATED", "LAST USED", "EXPIRES", "ADDRESS");
    ck_assert_msg(strncmp(out, want, strlen(want)) == 0, "%s", out);
    p = out + strlen(want);
    for (i = 0; i < 2; i++) {
        e = json_object_array_get_idx(a, i);
        /* LAST USED moves with every request: the rest must match. */
        snprintf(line, sizeof(line), "%c %s  %s  ", i == 1 ? '*' : ' ',
            json_object_get_string(json_object_object_get(e, "id")),
            json_object_get_string(json_object_object_get(e, "created_at")));
        ck_assert_msg(strncmp(p, line, strlen(line)) == 0, "%s", out);
        p += strlen(line) + 22;
        snprintf(line, sizeof(line), "%s  127.0.0.1\n",
            json_object_get_string(json_object_object_get(e, "expires_at")));
        ck_assert_msg(strncmp(p, line, strlen(line)) == 0, "%s", out);
        p += strlen(line);
    }
    ck_assert_str_eq(p, "");
    json_object_put(o);
    free(r);
    free(out);
    snprintf(want, sizeof(want), "logged out of every session on "
        "http://127.0.0.1:%d\n", d.port);
    expect(0, want, NULL, "logout --all");
    ck_assert_ptr_null(read_file(token_path()));
    r = call("GET", "/session", t1, NULL);
    ck_assert_int_eq(http_status(r), 403);
    free(r);
    r = call("GET", "/session", t2, NULL);
    ck_assert_int_eq(http_status(r), 403);
    free(r);
}
END_TEST

/* ---- passwd ------------------------------------------------------------- */

START_TEST(test_passwd_changes_the_password_and_keeps_the_session)
{
    add_user("bob@example.com", "user");
    login_as("bob@example.com", "password1");
    expect_err(3, "userapi: the current password is wrong\n",
        "not-the-password\nnew-password-2\n", "passwd --password-stdin");
    expect_err(4, "userapi: password must be at least 8 bytes\n",
        "password1\nshort\n", "passwd --password-stdin");
    expect_err(1, "userapi: no new password on standard input\n",
        "password1\n", "passwd --password-stdin");
    expect(0, "password changed for bob@example.com\n",
        "password1\nnew-password-2\n", "passwd --password-stdin");
    /* The session that changed it lives on. */
    expect(0, "", NULL, "whoami >/dev/null");
    expect_err(3, "userapi: wrong email or password\n", "password1\n",
        "login --password-stdin bob@example.com");
    login_as("bob@example.com", "new-password-2");
}
END_TEST

START_TEST(test_passwd_on_the_terminal_asks_current_new_and_again)
{
    const char *prompts[] = { "Current password: ", "New password: ",
                              "Retype it: ", NULL };
    const char *answers[] = { "password1\n", "tty-new-pass\n",
                              "tty-new-pass\n" };
    char       *screen;
    int         code;

    add_user("bob@example.com", "user");
    login_as("bob@example.com", "password1");
    screen = ua_on_tty(prompts, answers, &code, "passwd", NULL);
    ck_assert_msg(code == 0, "exit %d: %s", code, screen);
    ck_assert_ptr_nonnull(strstr(screen, "password changed for bob@example.com"));
    ck_assert_ptr_null(strstr(screen, "password1"));
    ck_assert_ptr_null(strstr(screen, "tty-new-pass"));
    login_as("bob@example.com", "tty-new-pass");
}
END_TEST

/* ---- delete ------------------------------------------------------------- */

START_TEST(test_delete_by_an_admin_and_refused_to_a_user)
{
    add_user("bob@example.com", "user");
    add_user("dave@example.com", "user");
    expect(0, "deleted dave@example.com\n", NULL, "delete DAVE@example.com");
    expect_err(4, "userapi: no such user\n", NULL, "delete dave@example.com");
    expect_err(4, "userapi: the last administrator cannot be deleted\n", NULL,
        "delete " ADMIN);
    login_as("bob@example.com", "password1");
    expect_err(3, "userapi: only administrators may delete users\n", NULL,
        "delete " ADMIN);
    expect_err(3, "userapi: only administrators may delete users\n", NULL,
        "--json delete bob@example.com");
}
END_TEST

/* ---- logout ------------------------------------------------------------- */

START_TEST(test_logout_ends_the_session_and_removes_the_token)
{
    struct stat st;
    char        token[TOKEN_LEN + 1], want[256], *r;

    login_as(ADMIN, admin_pw);
    saved_token(token);
    snprintf(want, sizeof(want), "logged out of http://127.0.0.1:%d\n", d.port);
    expect(0, want, NULL, "logout");
    ck_assert_int_eq(lstat(token_path(), &st), -1);
    ck_assert_int_eq(errno, ENOENT);
    r = call("GET", "/", token, NULL);
    ck_assert_int_eq(http_status(r), 403);
    free(r);
    snprintf(want, sizeof(want), "userapi: not logged in to "
        "http://127.0.0.1:%d (userapi login EMAIL)\n", d.port);
    expect_err(3, want, NULL, "whoami");
    expect_err(3, want, NULL, "logout");
}
END_TEST

START_TEST(test_logout_of_a_session_the_server_ended_still_forgets_it)
{
    struct stat st;
    char        token[TOKEN_LEN + 1], want[512], *r;

    login_as(ADMIN, admin_pw);
    saved_token(token);
    r = call("DELETE", "/session", token, NULL);
    ck_assert_int_eq(http_status(r), 204);
    free(r);
    snprintf(want, sizeof(want), "userapi: the session for "
        "http://127.0.0.1:%d has ended; log in again with: userapi --server "
        "http://127.0.0.1:%d login " ADMIN "\n", d.port, d.port);
    expect_err(3, want, NULL, "whoami");
    ck_assert_int_eq(lstat(token_path(), &st), 0);
    snprintf(want, sizeof(want), "userapi: the session for "
        "http://127.0.0.1:%d had already ended\n", d.port);
    expect_err(3, want, NULL, "logout");
    ck_assert_int_eq(lstat(token_path(), &st), -1);
}
END_TEST

/* "userapictl revoke EMAIL" on the daemon's state. */
static void
ctl_revoke(const char *email, const char *want)
{
    char *out;
    int   st;

    out = run_cmd(&st, "%s --config %s revoke \"%s\" 2>&1",
        getenv("USERAPICTL_BIN"), d.conf, email);
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "%s", out);
    ck_assert_str_eq(out, want);
    free(out);
}

/*
 * A saved session the server has ended (revoked by the administrator)
 * says so, with the command that logs in again to the same server, on
 * every command that sends it; a refusal to a live session stays the
 * server's message.
 */
START_TEST(test_a_revoked_session_tells_how_to_log_in_again)
{
    char want[512], env[128], *out;
    int  code;

    add_user("bob@example.com", "user");
    login_as("bob@example.com", "password1");
    expect_err(3, "userapi: only administrators may delete users\n", NULL,
        "delete " ADMIN);
    expect_err(3, "userapi: the current password is wrong\n",
        "not-the-password\nnew-password-2\n", "passwd --password-stdin");
    expect_err(3, "userapi: only administrators may create administrators\n",
        "password1\n", "register --role admin --password-stdin x@example.com");
    ctl_revoke("bob@example.com", "ended 1 session of bob@example.com\n");
    snprintf(want, sizeof(want), "userapi: the session for "
        "http://127.0.0.1:%d has ended; log in again with: userapi --server "
        "http://127.0.0.1:%d login bob@example.com\n", d.port, d.port);
    expect_err(3, want, NULL, "whoami");
    expect_err(3, want, NULL, "users");
    expect_err(3, want, NULL, "--json whoami");
    expect_err(3, want, NULL, "delete " ADMIN);
    expect_err(3, want, "password1\nnew-password-2\n",
        "passwd --password-stdin");
    expect_err(3, want, "password1\n",
        "register --role admin --password-stdin x@example.com");
    /* Without --server the command needs none either. */
    snprintf(env, sizeof(env), "USERAPI_SERVER=http://127.0.0.1:%d", d.port);
    out = ua_env(&code, NULL, env, "whoami");
    ck_assert_int_eq(code, 3);
    ck_assert_str_eq(out, "");
    snprintf(want, sizeof(want), "userapi: the session for "
        "http://127.0.0.1:%d has ended; log in again with: userapi login "
        "bob@example.com\n", d.port);
    ck_assert_str_eq(ua_stderr, want);
    free(out);
    login_as("bob@example.com", "password1");
    expect(0, "", NULL, "whoami >/dev/null");
}
END_TEST

/* The command to log in again quotes an email the shell would not read
 * back as it is. */
START_TEST(test_the_log_in_again_command_quotes_the_email)
{
    char token[TOKEN_LEN + 1], want[512], *r;

    expect(0, "created o'neil&co@example.com (user)\n", "password1\n",
        "register --password-stdin \"o'neil&co@example.com\"");
    expect(0, "logged in as o'neil&co@example.com (user)\n", "password1\n",
        "login --password-stdin \"o'neil&co@example.com\"");
    saved_token(token);
    r = call("DELETE", "/session", token, NULL);
    ck_assert_int_eq(http_status(r), 204);
    free(r);
    snprintf(want, sizeof(want), "userapi: the session for "
        "http://127.0.0.1:%d has ended; log in again with: userapi --server "
        "http://127.0.0.1:%d login 'o'\\''neil&co@example.com'\n", d.port,
        d.port);
    expect_err(3, want, NULL, "whoami");
}
END_TEST

/* ---- waiting ------------------------------------------------------------ */

/* The N of "PREFIX(wait N s)\n" in ua_stderr, which must be exactly
 * that. */
static long
waited(const char *prefix)
{
    char want[512];
    long n;

    ck_assert_msg(strncmp(ua_stderr, prefix, strlen(prefix)) == 0, "%s",
        ua_stderr);
    ck_assert_int_eq(sscanf(ua_stderr + strlen(prefix), "(wait %ld s)", &n),
        1);
    snprintf(want, sizeof(want), "%s(wait %ld s)\n", prefix, n);
    ck_assert_str_eq(ua_stderr, want);
    return n;
}

/*
 * Locked out after login_max_failures: the server's message and the wait
 * its Retry-After gives, which counts down from the same end.
 */
START_TEST(test_too_many_failed_logins_say_how_long_to_wait)
{
    char in[160], ra[32], *r;
    long header, wait;

    expect_err(3, "userapi: wrong email or password\n", "wrong-password\n",
        "login --password-stdin " ADMIN);
    expect_err(3, "userapi: wrong email or password\n", "wrong-password\n",
        "login --password-stdin " ADMIN);
    r = call("POST", "/", NULL, "{\"email\":\"" ADMIN "\",\"password\":"
        "\"wrong-password\"}");
    ck_assert_int_eq(http_status(r), 429);
    ck_assert_int_eq(http_header(r, "Retry-After", ra, sizeof(ra)), 1);
    header = strtol(ra, NULL, 10);
    ck_assert_int_gt(header, 1);
    free(r);
    /* Even with the right password. */
    snprintf(in, sizeof(in), "%s\n", admin_pw);
    expect(4, "", in, "login --password-stdin " ADMIN);
    wait = waited("userapi: too many failed logins; try again later ");
    ck_assert_msg(wait <= header && wait >= header - 1,
        "waited %ld s, Retry-After %ld", wait, header);
}
END_TEST

/* Retry-After as seconds or as a date, on any error answer. */
START_TEST(test_retry_after_as_seconds_or_a_date)
{
    char       status[128], date[64], *out;
    time_t     t = time(NULL) + 120;
    struct tm  tm;
    long       wait;
    int        code, port;

    port = fake_server("503 Service Unavailable\r\nRetry-After: 5",
        "{\"error\":\"service_unavailable\",\"message\":\"too many "
        "sessions; try again later\"}");
    out = ua_env(&code, "pw\n", NULL, "--server http://127.0.0.1:%d "
        "login --password-stdin x@example.com", port);
    ck_assert_int_eq(code, 5);
    ck_assert_str_eq(out, "");
    ck_assert_str_eq(ua_stderr, "userapi: too many sessions; try again later "
        "(wait 5 s)\n");
    free(out);
    fake_stop();
    gmtime_r(&t, &tm);
    strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", &tm);
    snprintf(status, sizeof(status), "429 Too Many Requests\r\n"
        "Retry-After: %s", date);
    port = fake_server(status, "");
    out = ua_env(&code, NULL, NULL, "--server http://127.0.0.1:%d status",
        port);
    ck_assert_int_eq(code, 4);
    ck_assert_str_eq(out, "");
    wait = waited("userapi: the server answered 429 ");
    ck_assert_msg(wait >= 118 && wait <= 120, "waited %ld s", wait);
    free(out);
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

/* out is want with %ld the address's retry_after, a or b. */
static void
assert_one_of(const char *out, const char *fmt, long a, long b)
{
    char want_a[1024], want_b[1024];

    snprintf(want_a, sizeof(want_a), fmt, a);
    snprintf(want_b, sizeof(want_b), fmt, b);
    ck_assert_msg(strcmp(out, want_a) == 0 || strcmp(out, want_b) == 0,
        "got:\n%s\nwant:\n%s", out, want_a);
}

/*
 * lockouts and unlock as an administrator: the table, the JSON as it
 * came, each lifted once (4 the second time); refused to a user (3);
 * unlock's usage.
 */
START_TEST(test_lockouts_and_unlock_for_administrators)
{
    char *out;
    int   code;

    add_user("u@example.com", "user");
    fail_from("127.0.0.5", "bob@example.com");
    fail_from("127.0.0.5", "bob@example.com");
    fail_from("127.0.0.6", "carol@example.com");
    fail_from("127.0.0.7", "carol@example.com");
    fail_from("127.0.0.8", "carol@example.com");
    sleep_ms(1100);     /* carol's first wait is over: retry_after 0 */
    out = ua_in(&code, NULL, "lockouts");
    ck_assert_int_eq(code, 0);
    assert_one_of(out, "KIND     KEY                FAILURES  RETRY_AFTER\n"
        "account  carol@example.com  3         0\n"
        "address  127.0.0.5          2         %ld\n", 899, 898);
    free(out);
    out = ua_in(&code, NULL, "--json lockouts");
    ck_assert_int_eq(code, 0);
    assert_one_of(out, "{\"lockouts\":[{\"kind\":\"account\",\"key\":"
        "\"carol@example.com\",\"failures\":3,\"retry_after\":0},{\"kind\":"
        "\"address\",\"key\":\"127.0.0.5\",\"failures\":2,\"retry_after\":"
        "%ld}]}\n", 899, 898);
    free(out);
    expect(0, "unlocked carol@example.com\n", NULL, "unlock CAROL@example.com");
    expect_err(4, "userapi: nothing is locked out for that account or "
        "address\n", NULL, "unlock carol@example.com");
    expect(0, "", NULL, "--json unlock 127.0.0.5");
    expect(0, "KIND     KEY  FAILURES  RETRY_AFTER\n", NULL, "lockouts");
    expect(0, "{\"lockouts\":[]}\n", NULL, "lockouts --json");
    login_as("u@example.com", "password1");
    expect_err(3, "userapi: only administrators may see lockouts\n", NULL,
        "lockouts");
    expect_err(3, "userapi: only administrators may lift lockouts\n", NULL,
        "unlock 127.0.0.5");
    expect_err(2, "userapi: unlock: expected one EMAIL or ADDRESS\n"
        TRY_CMD("unlock"), NULL, "unlock");
    expect_err(2, "userapi: lockouts: unexpected argument 'all'\n"
        TRY_CMD("lockouts"), NULL, "lockouts all");
}
END_TEST

/* ---- servers, usage ----------------------------------------------------- */

START_TEST(test_server_comes_from_the_option_then_the_environment)
{
    char  env[128], want[256], *out;
    int   code, dead = harness_free_port();

    snprintf(env, sizeof(env), "USERAPI_SERVER=http://127.0.0.1:%d/", d.port);
    out = ua_env(&code, NULL, env, "status");
    ck_assert_msg(code == 0, "exit %d: %s", code, ua_stderr);
    ck_assert_ptr_nonnull(strstr(out, "status   ok\n"));
    free(out);
    /* --server wins over the environment. */
    snprintf(env, sizeof(env), "USERAPI_SERVER=http://127.0.0.1:%d", dead);
    out = ua_env(&code, NULL, env, "--server http://127.0.0.1:%d status",
        d.port);
    ck_assert_int_eq(code, 0);
    free(out);
    out = ua_env(&code, NULL, env, "status");
    ck_assert_int_eq(code, 6);
    ck_assert_str_eq(out, "");
    free(out);
    /* Both the same server, whatever final slash: one session. */
    login_as(ADMIN, admin_pw);
    snprintf(env, sizeof(env), "USERAPI_SERVER=HTTP://127.0.0.1:%d//", d.port);
    out = ua_env(&code, NULL, env, "whoami");
    ck_assert_msg(code == 0, "exit %d: %s", code, ua_stderr);
    free(out);
    /* Neither: the default, named without connecting. */
    out = ua_env(&code, NULL, NULL, "whoami");
    ck_assert_int_eq(code, 3);
    snprintf(want, sizeof(want), "userapi: not logged in to "
        "http://127.0.0.1:8080 (userapi login EMAIL)\n");
    ck_assert_str_eq(ua_stderr, want);
    free(out);
    out = ua_env(&code, NULL, "USERAPI_SERVER=127.0.0.1:8080", "status");
    ck_assert_int_eq(code, 2);
    ck_assert_str_eq(ua_stderr, "userapi: USERAPI_SERVER: '127.0.0.1:8080' is "
        "not an http:// or https:// URL\n");
    free(out);
}
END_TEST

/* "userapi ARGS" (no --server) must print nothing on stdout, exactly err
 * on stderr, and exit 2. */
static void
expect_usage(const char *err, const char *args)
{
    char *out;
    int   code;

    out = ua_env(&code, NULL, NULL, "%s", args);
    ck_assert_msg(code == 2, "userapi %s: exit %d; stderr: %s", args, code,
        ua_stderr);
    ck_assert_str_eq(out, "");
    ck_assert_str_eq(ua_stderr, err);
    free(out);
}

#define TRY         "Try 'userapi --help' for more information.\n"

START_TEST(test_usage_errors_exit_2)
{
    /* Of userapi itself: one line, and where to read more. */
    expect_usage("userapi: no command given\n" TRY, "");
    expect_usage("userapi: unknown command 'frobnicate'\n" TRY, "frobnicate");
    expect_usage("userapi: unknown option '--bogus'\n" TRY, "--bogus status");
    expect_usage("userapi: unknown option '-x'\n" TRY, "-x status");
    expect_usage("userapi: --server needs a value\n" TRY, "--server");
    expect_usage("userapi: --server: 'ftp://127.0.0.1' is not an http:// or "
        "https:// URL\n" TRY, "--server ftp://127.0.0.1 status");
    expect_usage("userapi: --server: the URL names no host\n" TRY,
        "--server http:// status");
    /* Of a command: the same, pointing to the command's help. */
    expect_err(2, "userapi: login: expected one EMAIL\n" TRY_CMD("login"),
        NULL, "login");
    expect_err(2, "userapi: register: the role is admin or user, not 'boss'\n"
        TRY_CMD("register"), NULL, "register --role boss x@example.com");
    expect_err(2, "userapi: register: --role needs a value\n"
        TRY_CMD("register"), NULL, "register x@example.com --role");
    expect_err(2, "userapi: delete: expected one EMAIL\n" TRY_CMD("delete"),
        NULL, "delete a@example.com b@example.com");
    expect_err(2, "userapi: role: the role is admin or user, not 'boss'\n"
        TRY_CMD("role"), NULL, "role x@example.com boss");
    expect_err(2, "userapi: role: expected EMAIL and admin or user\n"
        TRY_CMD("role"), NULL, "role x@example.com");
    expect_err(2, "userapi: passwd: unexpected argument 'b@example.com'\n"
        TRY_CMD("passwd"), NULL, "passwd a@example.com b@example.com");
    expect_err(2, "userapi: users: the limit is a number from 1 to 1000, "
        "not '0'\n" TRY_CMD("users"), NULL, "users --limit 0");
    expect_err(2, "userapi: users: the limit is a number from 1 to 1000, "
        "not '1001'\n" TRY_CMD("users"), NULL, "users --limit 1001");
    expect_err(2, "userapi: users: the limit is a number from 1 to 1000, "
        "not 'x'\n" TRY_CMD("users"), NULL, "users --limit x");
    expect_err(2, "userapi: whoami: unknown option '--all'\n"
        TRY_CMD("whoami"), NULL, "whoami --all");
    expect_err(2, "userapi: whoami: unexpected argument 'me'\n"
        TRY_CMD("whoami"), NULL, "whoami me");
    expect_err(2, "userapi: status: unknown option '--verbose'\n"
        TRY_CMD("status"), NULL, "status --verbose");
    expect_err(2, "userapi: status: unknown option '-x'\n" TRY_CMD("status"),
        NULL, "status -x");
    /* Another command's option is as unknown as any. */
    expect_err(2, "userapi: login: unknown option '--role'\n"
        TRY_CMD("login"), NULL, "login --role admin x@example.com");
    expect_err(2, "userapi: status: unknown option '--password-stdin'\n"
        TRY_CMD("status"), NULL, "status --password-stdin");
    expect_err(2, "userapi: help: unknown command 'frobnicate'\n" TRY, NULL,
        "help frobnicate");
    expect_err(2, "userapi: help: unexpected argument 'status'\n"
        TRY_CMD("help"), NULL, "help login status");
    expect_err(2, "userapi: help: unknown option '--bogus'\n"
        TRY_CMD("help"), NULL, "help --bogus");
}
END_TEST

/* What --help prints, and help without a command. */
#define USAGE \
    "usage: userapi [--server URL] [--json] COMMAND [ARGS]\n" \
    "\n" \
    "Commands:\n" \
    "  status\n" \
    "      show the server's status, workers, users, uptime and version\n" \
    "  register [--role admin|user] [--password-stdin] EMAIL\n" \
    "      create a user (an administrator's saved session may create admins)\n" \
    "  login [--password-stdin] EMAIL\n" \
    "      log in and save the session for this server\n" \
    "  whoami\n" \
    "      show the logged-in user and when the session expires\n" \
    "  users [--limit N] [--after CURSOR] [--search PREFIX] [--all]\n" \
    "      list the users (an administrator sees all, a user only themself)\n" \
    "  show EMAIL\n" \
    "      show one user (administrators, or the user themself)\n" \
    "  role EMAIL admin|user\n" \
    "      give a user a role (administrators only)\n" \
    "  passwd [--password-stdin] [EMAIL]\n" \
    "      change your password, or set a user's (administrators only)\n" \
    "  delete EMAIL\n" \
    "      delete a user (administrators only)\n" \
    "  sessions\n" \
    "      list your live sessions, the current one marked *\n" \
    "  logout [--all]\n" \
    "      end the session (with --all, every session of yours) and forget it\n" \
    "  lockouts\n" \
    "      list accounts slowed down and addresses locked out (administrators only)\n" \
    "  unlock EMAIL|ADDRESS\n" \
    "      lift the lockout of an account or an address (administrators only)\n" \
    "  help [COMMAND]\n" \
    "      show this help, or the help of one command\n" \
    "\n" \
    "Options:\n" \
    "  -s, --server URL   the server (default $USERAPI_SERVER, else " \
    "http://127.0.0.1:8080)\n" \
    "  -j, --json         print the server's JSON answer as it came\n" \
    "  -V, --version      print the version and exit\n" \
    "  -h, --help         print this help and exit\n" \
    "\n" \
    "Exit status: 0 ok, 1 local failure, 2 usage error, 3 authentication\n" \
    "or authorisation refused, 4 request rejected, 5 server error,\n" \
    "6 cannot connect.  See userapi(1).\n"

/* "userapi ARGS" must print exactly want, nothing on stderr, and exit 0,
 * without a server. */
static void
expect_local(const char *want, const char *args)
{
    char *out;
    int   code;

    out = ua_env(&code, NULL, NULL, "%s", args);
    ck_assert_msg(code == 0, "userapi %s: exit %d; stderr: %s", args, code,
        ua_stderr);
    ck_assert_str_eq(out, want);
    ck_assert_str_eq(ua_stderr, "");
    free(out);
}

START_TEST(test_help_and_help_command_are_the_help_options)
{
    expect_local(USAGE, "--help");
    expect_local(USAGE, "-h");
    expect_local(USAGE, "help");
    /* --help anywhere before the command wins; --json changes nothing. */
    expect_local(USAGE, "--json --help status");
    expect_local(USAGE, "--json help");
    expect_local("usage: userapi login [--password-stdin] EMAIL\n"
        "  log in and save the session for this server\n", "login --help");
    expect_local("usage: userapi login [--password-stdin] EMAIL\n"
        "  log in and save the session for this server\n", "help login");
    expect_local("usage: userapi register [--role admin|user] "
        "[--password-stdin] EMAIL\n"
        "  create a user (an administrator's saved session may create "
        "admins)\n", "help register");
    expect_local("usage: userapi register [--role admin|user] "
        "[--password-stdin] EMAIL\n"
        "  create a user (an administrator's saved session may create "
        "admins)\n", "register --password-stdin --help");
    expect_local("usage: userapi status\n"
        "  show the server's status, workers, users, uptime and version\n",
        "help status");
    expect_local("usage: userapi help [COMMAND]\n"
        "  show this help, or the help of one command\n", "help help");
    expect_local("usage: userapi help [COMMAND]\n"
        "  show this help, or the help of one command\n", "help --help");
    /* No server is needed, even a bad one. */
    expect_local(USAGE, "--server ftp://x help");
    expect_local("userapi " USERAPID_VERSION "\n"
        "Copyright (c) 2026 The userapid developers.\n"
        "Licensed under the MIT License (SPDX-License-Identifier: MIT).\n",
        "--version");
}
END_TEST

START_TEST(test_a_server_that_is_not_running_exits_6)
{
    struct stat st;
    char        prefix[128], *out;
    int         code, port = harness_free_port();

    snprintf(prefix, sizeof(prefix), "userapi: cannot connect to "
        "http://127.0.0.1:%d: ", port);
    out = ua_env(&code, NULL, NULL, "--server http://127.0.0.1:%d status", port);
    ck_assert_int_eq(code, 6);
    ck_assert_str_eq(out, "");
    ck_assert_msg(strncmp(ua_stderr, prefix, strlen(prefix)) == 0, "%s",
        ua_stderr);
    free(out);
    out = ua_env(&code, "password1\n", NULL, "--server http://127.0.0.1:%d "
        "login --password-stdin a@example.com", port);
    ck_assert_int_eq(code, 6);
    ck_assert_msg(strncmp(ua_stderr, prefix, strlen(prefix)) == 0, "%s",
        ua_stderr);
    free(out);
    ck_assert_int_eq(lstat(xdg, &st), 0);
    out = run_cmd(&code, "ls -A %s", xdg);
    ck_assert_str_eq(out, "");
    free(out);
}
END_TEST

START_TEST(test_a_server_error_exits_5_with_its_message)
{
    char *out;
    int   code, port;

    port = fake_server("500 Internal Server Error", "{\"error\":"
        "\"internal_error\",\"message\":\"the user database cannot be "
        "written\"}");
    out = ua_env(&code, "password1\n", NULL, "--server http://127.0.0.1:%d "
        "register --password-stdin x@example.com", port);
    ck_assert_int_eq(code, 5);
    ck_assert_str_eq(out, "");
    ck_assert_str_eq(ua_stderr, "userapi: the user database cannot be written\n");
    free(out);
    /* HEAD has no body, hence no message. */
    out = ua_env(&code, NULL, NULL, "--server http://127.0.0.1:%d status", port);
    ck_assert_int_eq(code, 5);
    ck_assert_str_eq(ua_stderr, "userapi: the server answered 500\n");
    free(out);
}
END_TEST

START_TEST(test_other_answers_exit_5_4_or_1)
{
    char *out;
    int   code, port;

    port = fake_server("503 Service Unavailable", "");
    out = ua_env(&code, "pw\n", NULL, "--server http://127.0.0.1:%d "
        "login --password-stdin x@example.com", port);
    ck_assert_int_eq(code, 5);
    ck_assert_str_eq(ua_stderr, "userapi: the server answered 503\n");
    free(out);
    fake_stop();
    port = fake_server("418 I'm a teapot", "not json");
    out = ua_env(&code, NULL, NULL, "--server http://127.0.0.1:%d status", port);
    ck_assert_int_eq(code, 4);
    ck_assert_str_eq(ua_stderr, "userapi: the server answered 418\n");
    free(out);
    fake_stop();
    /* Redirects are not followed: the token would go elsewhere. */
    port = fake_server("302 Found\r\nLocation: http://127.0.0.1:1/", "");
    out = ua_env(&code, NULL, NULL, "--server http://127.0.0.1:%d status", port);
    ck_assert_int_eq(code, 1);
    ck_assert_str_eq(ua_stderr, "userapi: unexpected answer 302 from the "
        "server\n");
    free(out);
    /* A 200 to login without a token is not a session. */
    fake_stop();
    port = fake_server("200 OK", "{\"email\":\"x@example.com\"}");
    out = ua_env(&code, "pw\n", NULL, "--server http://127.0.0.1:%d "
        "login --password-stdin x@example.com", port);
    ck_assert_int_eq(code, 1);
    ck_assert_str_eq(ua_stderr, "userapi: unexpected answer from the server: "
        "no session token\n");
    free(out);
}
END_TEST

static Suite *
userapi_suite(void)
{
    Suite *s = suite_create("userapi");
    TCase *tc = tcase_create("daemon");
    TCase *to = tcase_create("offline");
    TCase *tl = tcase_create("lockout");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_status_prints_the_servers_headers);
    tcase_add_test(tc, test_register_creates_then_a_duplicate_exits_4_with_the_message);
    tcase_add_test(tc, test_register_sends_the_saved_session_so_admins_create_admins);
    tcase_add_test(tc, test_login_saves_the_token_0600_in_a_0700_directory);
    tcase_add_test(tc, test_login_syncs_the_token_file_before_and_after_the_rename);
    tcase_add_test(tc, test_login_json_prints_the_answer_without_the_token);
    tcase_add_test(tc, test_login_with_a_wrong_password_exits_3_and_saves_nothing);
    tcase_add_test(tc, test_login_prompts_on_the_terminal_without_echo);
    tcase_add_test(tc, test_register_on_the_terminal_asks_twice);
    tcase_add_test(tc, test_without_xdg_runtime_dir_the_session_goes_to_the_cache);
    tcase_add_test(tc, test_show_and_users_print_exact_tables_and_json_unchanged);
    tcase_add_test(tc, test_role_and_passwd_email_by_an_admin_refused_to_a_user);
    tcase_add_test(tc, test_users_pages_with_limit_after_search_and_all);
    tcase_add_test(tc, test_commands_that_need_a_session_exit_3_without_one);
    tcase_add_test(tc, test_a_damaged_session_file_is_refused_and_login_replaces_it);
    tcase_add_test(tc, test_passwd_changes_the_password_and_keeps_the_session);
    tcase_add_test(tc, test_passwd_on_the_terminal_asks_current_new_and_again);
    tcase_add_test(tc, test_delete_by_an_admin_and_refused_to_a_user);
    tcase_add_test(tc, test_logout_ends_the_session_and_removes_the_token);
    tcase_add_test(tc, test_logout_of_a_session_the_server_ended_still_forgets_it);
    tcase_add_test(tc, test_a_revoked_session_tells_how_to_log_in_again);
    tcase_add_test(tc, test_the_log_in_again_command_quotes_the_email);
    tcase_add_test(tc, test_server_comes_from_the_option_then_the_environment);
    suite_add_tcase(s, tc);

    tcase_add_checked_fixture(to, setup_offline, teardown);
    tcase_set_timeout(to, 60);
    tcase_add_test(to, test_usage_errors_exit_2);
    tcase_add_test(to, test_help_and_help_command_are_the_help_options);
    tcase_add_test(to, test_a_server_that_is_not_running_exits_6);
    tcase_add_test(to, test_a_server_error_exits_5_with_its_message);
    tcase_add_test(to, test_other_answers_exit_5_4_or_1);
    tcase_add_test(to, test_retry_after_as_seconds_or_a_date);
    suite_add_tcase(s, to);

    tcase_add_checked_fixture(tl, setup_lockout, teardown);
    tcase_set_timeout(tl, 60);
    tcase_add_test(tl, test_too_many_failed_logins_say_how_long_to_wait);
    tcase_add_test(tl, test_lockouts_and_unlock_for_administrators);
    suite_add_tcase(s, tl);

    tl = tcase_create("fixed expiry");
    tcase_add_checked_fixture(tl, setup_fixed_expiry, teardown);
    tcase_set_timeout(tl, 60);
    tcase_add_test(tl, test_whoami_prints_the_session_and_json_is_get_session);
    tcase_add_test(tl, test_sessions_marks_the_current_and_logout_all_ends_all);
    suite_add_tcase(s, tl);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(userapi_suite());
    int      failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
