/* SPDX-License-Identifier: MIT */
/*
 * test_log.c - logging never lets a caller's text forge a line: control
 * bytes, DEL and backslashes are escaped in stderr lines and in every
 * journal field.
 *
 * The journal case sends to a datagram socket the test binds at
 * /run/systemd/journal/socket inside a private mount namespace (a tmpfs
 * over /run), so it needs root; without root it is skipped with a note.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"

START_TEST(test_escape_control_bytes_del_and_backslash)
{
    char out[128];

    ck_assert_uint_eq(log_escape("plain text", out, sizeof(out)), 10);
    ck_assert_str_eq(out, "plain text");
    log_escape("a\nb\rc\td\x1b[31me\x7f" "f\\g", out, sizeof(out));
    ck_assert_str_eq(out, "a\\x0ab\\x0dc\\x09d\\x1b[31me\\x7ff\\\\g");
    /* Bytes from 0x80 up are left to the reader's encoding. */
    log_escape("caf\xc3\xa9", out, sizeof(out));
    ck_assert_str_eq(out, "caf\xc3\xa9");
}
END_TEST

START_TEST(test_escape_cuts_between_escapes)
{
    char out[8];

    /* Seven bytes and the NUL: "ab", "\x0a" and "c" fit, "d" does not. */
    ck_assert_uint_eq(log_escape("ab\ncd", out, sizeof(out)), 7);
    ck_assert_str_eq(out, "ab\\x0ac");
    ck_assert_uint_eq(log_escape("abcde\n", out, sizeof(out)), 5);
    ck_assert_str_eq(out, "abcde");
    ck_assert_uint_eq(log_escape("x", out, 1), 0);
    ck_assert_str_eq(out, "");
}
END_TEST

/* Runs fn in a child whose stderr is a pipe; returns what it wrote. */
static char *
capture_stderr(void (*fn)(void))
{
    static char buf[8192];
    int         p[2], st;
    ssize_t     n;
    size_t      len = 0;
    pid_t       pid;

    ck_assert_int_eq(pipe(p), 0);
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        dup2(p[1], STDERR_FILENO);
        close(p[0]);
        unsetenv("JOURNAL_STREAM");
        fn();
        _exit(0);
    }
    close(p[1]);
    while ((n = read(p[0], buf + len, sizeof(buf) - 1 - len)) > 0)
        len += (size_t)n;
    close(p[0]);
    buf[len] = '\0';
    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
    ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    return buf;
}

static void
forge_on_stderr(void)
{
    const char *extra[] = { "USERAPID_USER=x\ny", NULL };

    log_init("test", LOG_DEBUG);
    log_event(LOG_NOTICE, MSGID_LOGIN_FAILED, extra, "login failed for %s",
        "evil\n2026-01-01T00:00:00.000Z userapid[1]: notice: user root created");
    log_msg(LOG_INFO, "path %s", "/\x1b]0;owned\x07");
}

START_TEST(test_stderr_lines_cannot_be_forged)
{
    char *out = capture_stderr(forge_on_stderr), *nl;

    /* Exactly two lines, each ending where log_write ended it. */
    nl = strchr(out, '\n');
    ck_assert_ptr_nonnull(nl);
    ck_assert_ptr_nonnull(strchr(nl + 1, '\n'));
    ck_assert_ptr_null(strchr(strchr(nl + 1, '\n') + 1, '\n'));
    ck_assert_msg(strstr(out, ": notice: login failed for evil\\x0a2026-01-01T00:00:00.000Z "
        "userapid[1]: notice: user root created\n") != NULL, "%s", out);
    ck_assert_msg(strstr(out, ": info: path /\\x1b]0;owned\\x07\n") != NULL, "%s", out);
    ck_assert_ptr_null(strchr(out, '\x1b'));
    ck_assert_ptr_null(strchr(out, '\x07'));
}
END_TEST

/*
 * In a private mount namespace with a tmpfs on /run, binds the journal's
 * socket, points JOURNAL_STREAM at stderr, logs, and checks the datagram:
 * every field is "NAME=value\n" with no byte below 0x20 inside a value,
 * which also means no field needed the binary (length-prefixed) form.
 */
static void
journal_child(void)
{
    struct sockaddr_un sun;
    struct stat        st;
    char               env[64], dgram[16384], *p, *end, *eol;
    const char        *extra[] = { "USERAPID_USER=a\nMESSAGE_ID=forged", "REMOTE_ADDR=1.2.3.4", NULL };
    ssize_t            n;
    int                fd, found_msg = 0, found_user = 0;

    if (unshare(CLONE_NEWNS) == -1 ||
        mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == -1 ||
        mount("tmpfs", "/run", "tmpfs", 0, "mode=0755") == -1)
        _exit(77);
    if (mkdir("/run/systemd", 0755) == -1 || mkdir("/run/systemd/journal", 0755) == -1)
        _exit(10);
    fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    memset(&sun, 0, sizeof(sun));
    sun.sun_family = AF_UNIX;
    strcpy(sun.sun_path, "/run/systemd/journal/socket");
    if (fd == -1 || bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1)
        _exit(11);
    if (fstat(STDERR_FILENO, &st) == -1)
        _exit(12);
    snprintf(env, sizeof(env), "%llu:%llu", (unsigned long long)st.st_dev,
        (unsigned long long)st.st_ino);
    setenv("JOURNAL_STREAM", env, 1);
    log_init("test", LOG_DEBUG);
    if (!log_to_journal())
        _exit(13);
    log_event(LOG_NOTICE, MSGID_LOGIN_FAILED, extra, "login failed for %s",
        "x\nMESSAGE=forged\x1b");
    n = recv(fd, dgram, sizeof(dgram) - 1, MSG_DONTWAIT);
    if (n <= 0)
        _exit(14);
    dgram[n] = '\0';
    for (p = dgram, end = dgram + n; p < end; p = eol + 1) {
        char *q;

        if ((eol = memchr(p, '\n', (size_t)(end - p))) == NULL)
            _exit(15);          /* a field without its newline */
        if (memchr(p, '=', (size_t)(eol - p)) == NULL)
            _exit(16);          /* the binary form, or a forged line */
        for (q = p; q < eol; q++)
            if ((unsigned char)*q < 0x20 || *q == 0x7f)
                _exit(17);
        if ((size_t)(eol - p) == strlen("MESSAGE=login failed for x\\x0aMESSAGE=forged\\x1b") &&
            memcmp(p, "MESSAGE=login failed for x\\x0aMESSAGE=forged\\x1b", (size_t)(eol - p)) == 0)
            found_msg = 1;
        if ((size_t)(eol - p) == strlen("USERAPID_USER=a\\x0aMESSAGE_ID=forged") &&
            memcmp(p, "USERAPID_USER=a\\x0aMESSAGE_ID=forged", (size_t)(eol - p)) == 0)
            found_user = 1;
        if (strncmp(p, "MESSAGE_ID=forged", 17) == 0 || strncmp(p, "MESSAGE=forged", 14) == 0)
            _exit(18);
    }
    _exit(found_msg && found_user ? 0 : 19);
}

START_TEST(test_journal_fields_are_escaped)
{
    pid_t pid;
    int   st;

    if (geteuid() != 0) {
        fprintf(stderr, "test_journal_fields_are_escaped: skipped, needs root\n");
        return;
    }
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0)
        journal_child();
    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
    ck_assert(WIFEXITED(st));
    ck_assert_msg(WEXITSTATUS(st) == 0, "journal child exited %d", WEXITSTATUS(st));
}
END_TEST

int
main(void)
{
    Suite   *s = suite_create("log");
    TCase   *tc = tcase_create("escape");
    SRunner *sr;
    int      failed;

    tcase_add_test(tc, test_escape_control_bytes_del_and_backslash);
    tcase_add_test(tc, test_escape_cuts_between_escapes);
    tcase_add_test(tc, test_stderr_lines_cannot_be_forged);
    tcase_add_test(tc, test_journal_fields_are_escaped);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
