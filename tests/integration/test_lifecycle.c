/* SPDX-License-Identifier: MIT */
/*
 * test_lifecycle.c - the master's life: command line and exit codes,
 * sd_notify, socket activation, reload, worker crashes, graceful stop.
 */
#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

#define HOST "Host: t\r\n"

static char *
head_workers(int port)
{
    static char v[64];
    char       *r = http_exchange(port, "HEAD / HTTP/1.1\r\n" HOST
        "Connection: close\r\n\r\n", 3000);

    v[0] = '\0';
    if (r != NULL && !http_header(r, "X-Userapid-Workers", v, sizeof(v)))
        v[0] = '\0';
    free(r);
    return v;
}

/* Polls HEAD / until X-Userapid-Workers equals want. */
static int
wait_workers(int port, const char *want, int timeout_ms)
{
    int waited;

    for (waited = 0; waited < timeout_ms; waited += 50) {
        if (strcmp(head_workers(port), want) == 0)
            return 1;
        sleep_ms(50);
    }
    return 0;
}

static int
pid_alive(pid_t pid)
{
    return kill(pid, 0) == 0 || errno != ESRCH;
}

START_TEST(test_version_and_help_exit_0)
{
    char *out;
    int   st;

    out = run_cmd(&st, "%s --version", harness_bin());
    ck_assert_int_eq(WEXITSTATUS(st), 0);
    ck_assert_str_eq(out, "userapid 0.1.0\n"
        "Copyright (c) 2026 The userapid developers.\n"
        "Licensed under the MIT License (SPDX-License-Identifier: MIT).\n");
    free(out);
    out = run_cmd(&st, "%s --help", harness_bin());
    ck_assert_int_eq(WEXITSTATUS(st), 0);
    ck_assert(strncmp(out, "usage: userapid [--config FILE]", 31) == 0);
    free(out);
}
END_TEST

/* Out of memory while keeping the command line: said, exit 1, no crash
 * and no start with a half-kept command line. */
START_TEST(test_failed_copy_of_the_command_line_exits_1)
{
    struct daemon      d;
    struct daemon_opts o = { 0 };
    char              *out;
    int                st;

    daemon_prepare(&d, &o);
    out = run_cmd(&st, "env LD_PRELOAD=%s USERAPID_TEST_FAIL_STRDUP=%s "
        "ASAN_OPTIONS=verify_asan_link_order=0 %s --config %s --state-dir %s 2>&1",
        getenv("USERAPID_PRELOAD"), d.state_dir, harness_bin(), d.conf, d.state_dir);
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 1, "status %d: %s", st, out);
    ck_assert_str_eq(out, "userapid: out of memory\n");
    free(out);
    /* Nothing was started: the state directory is as it was. */
    out = run_cmd(&st, "ls -A %s", d.state_dir);
    ck_assert_str_eq(out, "");
    free(out);
    daemon_cleanup(&d);
}
END_TEST

START_TEST(test_usage_errors_exit_2)
{
    char *out;
    int   st;

    out = run_cmd(&st, "%s --bogus 2>&1", harness_bin());
    ck_assert_int_eq(WEXITSTATUS(st), 2);
    free(out);
    out = run_cmd(&st, "%s --workers 0 2>&1", harness_bin());
    ck_assert_int_eq(WEXITSTATUS(st), 2);
    /* The option names the error once, not "--workers: workers:". */
    ck_assert_str_eq(out, "userapid: --workers: \"0\" is out of range (1..256, or auto)\n");
    free(out);
    out = run_cmd(&st, "%s --listen nowhere 2>&1 | head -1", harness_bin());
    ck_assert(strncmp(out, "userapid: --listen: ", 20) == 0);
    free(out);
    out = run_cmd(&st, "%s --listen nowhere >/dev/null 2>&1", harness_bin());
    ck_assert_int_eq(WEXITSTATUS(st), 2);
    free(out);
    out = run_cmd(&st, "%s extra-arg >/dev/null 2>&1", harness_bin());
    ck_assert_int_eq(WEXITSTATUS(st), 2);
    free(out);
}
END_TEST

START_TEST(test_config_errors_exit_3_with_file_and_line)
{
    struct daemon      d;
    struct daemon_opts o = { .conf_extra = "wrokers = 3" };
    char              *out, want[512];
    int                st;

    daemon_prepare(&d, &o);
    out = run_cmd(&st, "%s --config %s --check-config 2>&1", harness_bin(), d.conf);
    ck_assert_int_eq(WEXITSTATUS(st), 3);
    snprintf(want, sizeof(want), "userapid: %s:8: unknown key \"wrokers\"\n", d.conf);
    ck_assert_str_eq(out, want);
    free(out);
    /* The same error stops a real start. */
    out = run_cmd(&st, "%s --config %s 2>&1", harness_bin(), d.conf);
    ck_assert_int_eq(WEXITSTATUS(st), 3);
    free(out);
    out = run_cmd(&st, "%s --config %s/missing.conf 2>&1", harness_bin(), d.dir);
    ck_assert_int_eq(WEXITSTATUS(st), 3);
    free(out);
    daemon_cleanup(&d);
}
END_TEST

START_TEST(test_check_config_accepts_good_file)
{
    struct daemon      d;
    struct daemon_opts o = { 0 };
    char              *out, want[512];
    int                st;

    daemon_prepare(&d, &o);
    out = run_cmd(&st, "%s --config %s --check-config", harness_bin(), d.conf);
    ck_assert_int_eq(WEXITSTATUS(st), 0);
    snprintf(want, sizeof(want), "userapid: configuration %s is valid\n", d.conf);
    ck_assert_str_eq(out, want);
    free(out);
    daemon_cleanup(&d);
}
END_TEST

START_TEST(test_missing_state_dir_exits_1)
{
    struct daemon      d;
    struct daemon_opts o = { 0 };
    char              *out;
    int                st;

    daemon_prepare(&d, &o);
    out = run_cmd(&st, "%s --config %s --state-dir %s/nope 2>&1", harness_bin(),
        d.conf, d.dir);
    ck_assert_int_eq(WEXITSTATUS(st), 1);
    ck_assert(strstr(out, "No such file or directory") != NULL);
    free(out);
    daemon_cleanup(&d);
}
END_TEST

START_TEST(test_port_in_use_exits_1)
{
    struct daemon      d, d2;
    struct daemon_opts o = { 0 };
    char              *out;
    int                st;

    daemon_start(&d, &o);
    daemon_prepare(&d2, &o);
    out = run_cmd(&st, "%s --config %s --listen 127.0.0.1:%d 2>&1", harness_bin(),
        d2.conf, d.port);
    ck_assert_int_eq(WEXITSTATUS(st), 1);
    ck_assert(strstr(out, "Address already in use") != NULL);
    free(out);
    daemon_cleanup(&d2);
    daemon_cleanup(&d);
}
END_TEST

START_TEST(test_options_override_the_file)
{
    struct daemon      d;
    struct daemon_opts o = { .no_wait = 1 };
    char              *out;
    int                st, port;

    daemon_prepare(&d, &o);
    port = harness_free_port();
    d.pid = fork();
    if (d.pid == 0) {
        char lst[64];

        prctl(PR_SET_PDEATHSIG, SIGKILL);
        snprintf(lst, sizeof(lst), "127.0.0.1:%d", port);
        execl(harness_bin(), harness_bin(), "--config", d.conf, "--listen", lst,
            "--workers", "3", (char *)NULL);
        _exit(127);
    }
    ck_assert(wait_workers(port, "3/3", 5000));
    out = run_cmd(&st, "curl -s -o /dev/null -w '%%{http_code}' http://127.0.0.1:%d/", d.port);
    ck_assert_str_ne(out, "200");       /* the file's port is not used */
    free(out);
    daemon_cleanup(&d);
}
END_TEST

START_TEST(test_notify_ready_status_and_stopping)
{
    struct daemon      d;
    struct daemon_opts o = { .notify = 1, .no_wait = 1, .workers = 4 };
    int                st;

    daemon_start(&d, &o);
    ck_assert(daemon_notify_wait(&d, "READY=1", 5000));
    /* READY=1 comes only once every worker is in its loop: the very first
     * request after it already sees all of them. */
    ck_assert_str_eq(head_workers(d.port), "4/4");
    ck_assert(daemon_notify_wait(&d, "STATUS=Serving on 127.0.0.1:", 3000));
    ck_assert(strstr(d.notify_buf, "with 4/4 workers") != NULL);
    st = daemon_stop(&d, 10000);
    ck_assert(daemon_notify_wait(&d, "STOPPING=1", 3000));
    ck_assert(WIFEXITED(st));
    ck_assert_int_eq(WEXITSTATUS(st), 0);
    daemon_cleanup(&d);
}
END_TEST

START_TEST(test_watchdog_pings)
{
    struct daemon      d;
    struct daemon_opts o = { .notify = 1, .watchdog_usec = "400000" };

    daemon_start(&d, &o);
    ck_assert(daemon_notify_wait(&d, "WATCHDOG=1", 3000));
    daemon_cleanup(&d);
}
END_TEST

START_TEST(test_socket_activation)
{
    struct daemon      d;
    struct daemon_opts o = { .notify = 1, .socket_activate = 1 };
    char              *log;

    /* The config's listen line names the same port: it must not be bound
     * again, or the start would fail with "Address already in use". */
    daemon_start(&d, &o);
    ck_assert_str_eq(head_workers(d.port), "2/2");
    ck_assert(daemon_notify_wait(&d, "STATUS=Serving on 1 socket from systemd", 3000));
    log = daemon_log(&d);
    ck_assert_msg(strstr(log, "1 listen sockets from systemd") != NULL, "%s", log);
    free(log);
    ck_assert_int_eq(WEXITSTATUS(daemon_stop(&d, 10000)), 0);
    daemon_cleanup(&d);
}
END_TEST

START_TEST(test_sighup_changes_worker_count)
{
    struct daemon      d;
    struct daemon_opts o = { .notify = 1 };
    pid_t              before[8], after[8];
    int                nb, na, i, j;

    daemon_start(&d, &o);
    ck_assert(daemon_notify_wait(&d, "READY=1", 3000));
    nb = daemon_workers(&d, before, 8);
    ck_assert_int_eq(nb, 2);
    daemon_write_conf(&d, 3, NULL);
    d.notify_len = 0;
    kill(d.pid, SIGHUP);
    ck_assert(daemon_notify_wait(&d, "RELOADING=1", 3000));
    ck_assert(wait_workers(d.port, "3/3", 5000));
    ck_assert(daemon_notify_wait(&d, "READY=1", 3000));
    /* The old workers retire; three new ones remain. */
    for (i = 0; i < 100; i++) {
        na = daemon_workers(&d, after, 8);
        if (na == 3)
            break;
        sleep_ms(50);
    }
    ck_assert_int_eq(na, 3);
    for (i = 0; i < na; i++)
        for (j = 0; j < nb; j++)
            ck_assert_int_ne(after[i], before[j]);
    daemon_cleanup(&d);
}
END_TEST

/*
 * The inode of the socket listening on 127.0.0.1:port, from
 * /proc/net/tcp (what ss -ltn shows), or 0 when nothing listens there.
 */
static unsigned long
listen_inode(int port)
{
    FILE          *fp = fopen("/proc/net/tcp", "r");
    char           line[512], want[32];
    unsigned long  inode = 0, ino;
    unsigned int   st;
    char           local[64];

    ck_assert_ptr_nonnull(fp);
    snprintf(want, sizeof(want), "0100007F:%04X", port);
    while (fgets(line, sizeof(line), fp) != NULL) {
        /* sl local rem st tx:rx tr:when retrnsmt uid timeout inode */
        if (sscanf(line, " %*s %63s %*s %x %*s %*s %*s %*s %*s %lu", local, &st,
            &ino) == 3 && st == 0x0A && strcmp(local, want) == 0)
            inode = ino;
    }
    fclose(fp);
    return inode;
}

/* Waits until nothing listens on port; 1 when that happened in time. */
static int
wait_not_listening(int port, int timeout_ms)
{
    int waited;

    for (waited = 0; waited < timeout_ms; waited += 20) {
        if (listen_inode(port) == 0)
            return 1;
        sleep_ms(20);
    }
    return 0;
}

/* A connect to port is refused at once (nothing listens, no hang). */
static int
connect_refused(int port)
{
    struct sockaddr_in sin;
    int                fd, rc;

    fd = socket(AF_INET, SOCK_STREAM, 0);
    ck_assert_int_ge(fd, 0);
    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_port = htons((uint16_t)port);
    sin.sin_addr.s_addr = htonl(0x7f000001);
    rc = connect(fd, (struct sockaddr *)&sin, sizeof(sin));
    close(fd);
    return rc == -1 && errno == ECONNREFUSED;
}

/* Rewrites the listen lines, reloads, and waits for READY=1. */
static void
reload_listen(struct daemon *d, int a, int b)
{
    char lines[128] = "";

    if (a != 0)
        snprintf(lines, sizeof(lines), "listen = 127.0.0.1:%d\n", a);
    if (b != 0)
        snprintf(lines + strlen(lines), sizeof(lines) - strlen(lines),
            "listen = 127.0.0.1:%d\n", b);
    daemon_write_conf_listen(d, 2, lines, NULL);
    d->notify_len = 0;
    kill(d->pid, SIGHUP);
    ck_assert(daemon_notify_wait(d, "RELOADING=1", 3000));
    ck_assert(daemon_notify_wait(d, "READY=1", 5000));
}

START_TEST(test_sighup_moves_listen_sockets_per_generation)
{
    struct daemon      d;
    struct daemon_opts o = { .notify = 1 };
    unsigned long      ia, ib;
    int                a, b;

    daemon_start(&d, &o);
    ck_assert(daemon_notify_wait(&d, "READY=1", 3000));
    a = d.port;
    b = harness_free_port();
    ck_assert_int_ne(listen_inode(a), 0);

    /* A -> B: B serves; A stops listening once the old workers drain. */
    reload_listen(&d, b, 0);
    d.port = b;
    ck_assert_str_eq(head_workers(b), "2/2");
    ck_assert_msg(wait_not_listening(a, 3000), "port A still listening after A -> B");
    ck_assert(connect_refused(a));
    ib = listen_inode(b);
    ck_assert_int_ne(ib, 0);

    /* B -> A+B: A is bound again, B keeps its very socket. */
    reload_listen(&d, a, b);
    ck_assert_str_eq(head_workers(a), "2/2");
    ck_assert_str_eq(head_workers(b), "2/2");
    ck_assert_int_eq(listen_inode(b), ib);
    ia = listen_inode(a);
    ck_assert_int_ne(ia, 0);

    /* A+B -> B: A goes, B still the same socket. */
    reload_listen(&d, b, 0);
    ck_assert_msg(wait_not_listening(a, 3000), "port A still listening after A+B -> B");
    ck_assert(connect_refused(a));
    ck_assert_int_eq(listen_inode(b), ib);
    ck_assert_str_eq(head_workers(b), "2/2");

    /* B -> A: back where it started, B gone. */
    reload_listen(&d, a, 0);
    d.port = a;
    ck_assert_str_eq(head_workers(a), "2/2");
    ck_assert_msg(wait_not_listening(b, 3000), "port B still listening after B -> A");
    ck_assert(connect_refused(b));
    ck_assert_int_ne(listen_inode(a), 0);
    daemon_cleanup(&d);
}
END_TEST

/* ":PORT" is every address, IPv6 and IPv4 on one socket; an IPv4 client
 * is logged (and limited) as a.b.c.d, not ::ffff:a.b.c.d. */
/* A port nothing holds on any address, IPv4 or IPv6 (the harness's is
 * only free on 127.0.0.1). */
static int
free_port_everywhere(void)
{
    struct sockaddr_in6 sin6;
    socklen_t           len = sizeof(sin6);
    int                 fd, off = 0, port;

    fd = socket(AF_INET6, SOCK_STREAM, 0);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off,
        sizeof(off)), 0);
    memset(&sin6, 0, sizeof(sin6));
    sin6.sin6_family = AF_INET6;
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&sin6, sizeof(sin6)), 0);
    ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sin6, &len), 0);
    port = ntohs(sin6.sin6_port);
    close(fd);
    return port;
}

START_TEST(test_bare_port_listens_on_every_address)
{
    struct daemon      d;
    struct daemon_opts o = { 0 };
    char               lines[64], *r, *log;
    int                st;

    daemon_prepare(&d, &o);
    d.port = free_port_everywhere();
    snprintf(lines, sizeof(lines), "listen = :%d\n", d.port);
    daemon_write_conf_listen(&d, 2, lines, NULL);
    daemon_start(&d, &o);
    r = http_exchange(d.port, "GET /status HTTP/1.1\r\n" HOST "Connection: close\r\n\r\n", 3000);
    ck_assert_int_eq(http_status(r), 200);
    free(r);
    r = run_cmd(&st, "curl -s -o /dev/null -w '%%{http_code}' 'http://[::1]:%d/status'", d.port);
    ck_assert_str_eq(r, "200");
    free(r);
    sleep_ms(200);
    log = daemon_log(&d);
    ck_assert_msg(strstr(log, "info: 127.0.0.1 \"GET /status\" 200") != NULL, "%s", log);
    ck_assert_msg(strstr(log, "info: ::1 \"GET /status\" 200") != NULL, "%s", log);
    ck_assert(strstr(log, "::ffff:") == NULL);
    free(log);
    daemon_cleanup(&d);
}
END_TEST

START_TEST(test_sighup_with_bad_config_keeps_old)
{
    struct daemon      d;
    struct daemon_opts o = { .notify = 1 };
    char              *log;
    int                i;

    daemon_start(&d, &o);
    ck_assert(daemon_notify_wait(&d, "READY=1", 3000));
    daemon_write_conf(&d, 2, "workers_typo = 4");
    d.notify_len = 0;
    kill(d.pid, SIGHUP);
    ck_assert(daemon_notify_wait(&d, "READY=1", 3000));
    for (i = 0; i < 50; i++) {
        log = daemon_log(&d);
        if (strstr(log, "new configuration rejected") != NULL)
            break;
        free(log);
        log = NULL;
        sleep_ms(20);
    }
    ck_assert_ptr_nonnull(log);
    ck_assert(strstr(log, "unknown key \"workers_typo\"") != NULL);
    free(log);
    ck_assert_str_eq(head_workers(d.port), "2/2");
    daemon_cleanup(&d);
}
END_TEST

START_TEST(test_killed_worker_is_replaced)
{
    struct daemon      d;
    struct daemon_opts o = { 0 };
    pid_t              w[8], w2[8];
    int                n, i, ok = 0;
    char              *r, *log;

    daemon_start(&d, &o);
    n = daemon_workers(&d, w, 8);
    ck_assert_int_eq(n, 2);
    kill(w[0], SIGKILL);
    /* Service continues while the worker is replaced. */
    for (i = 0; i < 20; i++) {
        r = http_exchange(d.port, "GET /status HTTP/1.1\r\n" HOST
            "Connection: close\r\n\r\n", 3000);
        ck_assert_int_eq(http_status(r), 200);
        free(r);
    }
    /* The killed pid leaves the master's children; a new one joins. */
    for (i = 0; i < 100; i++) {
        int j;

        n = daemon_workers(&d, w2, 8);
        for (ok = 0, j = 0; j < n; j++)
            ok += w2[j] == w[0];
        if (n == 2 && ok == 0)
            break;
        sleep_ms(50);
    }
    ck_assert_int_eq(n, 2);
    ck_assert_int_eq(ok, 0);
    ck_assert(wait_workers(d.port, "2/2", 5000));
    log = daemon_log(&d);
    ck_assert(strstr(log, "killed by signal 9") != NULL);
    ck_assert(strstr(log, "worker respawned") != NULL);
    free(log);
    daemon_cleanup(&d);
}
END_TEST

START_TEST(test_crash_loop_ends_master_nonzero)
{
    struct daemon      d;
    struct daemon_opts o = { .workers = 1 };
    pid_t              w[8];
    int                st = -1, i, n;

    daemon_start(&d, &o);
    for (i = 0; i < 400 && st == -1; i++) {
        n = daemon_workers(&d, w, 8);
        if (n > 0)
            kill(w[0], SIGKILL);
        st = daemon_wait(&d, 25);
    }
    ck_assert_int_ne(st, -1);
    ck_assert(WIFEXITED(st));
    ck_assert_int_eq(WEXITSTATUS(st), 1);
    daemon_cleanup(&d);
}
END_TEST

START_TEST(test_sigterm_lets_slow_request_complete)
{
    struct daemon      d;
    struct daemon_opts o = { 0 };
    int                slow, idle, st;
    char              *r, v[32];

    daemon_start(&d, &o);
    idle = http_connect(d.port);
    http_send_str(idle, "GET /status HTTP/1.1\r\n" HOST "\r\n");
    free(http_recv_response(idle, 3000));
    slow = http_connect(d.port);
    http_send_str(slow, "GET /status HTTP/1.1\r\n");
    sleep_ms(200);
    kill(d.pid, SIGTERM);
    /* The idle keep-alive connection is closed at once... */
    ck_assert(http_closed(idle, 2000));
    sleep_ms(300);
    /* ...while the request in flight still completes. */
    http_send_str(slow, HOST "\r\n");
    r = http_recv_response(slow, 3000);
    ck_assert_int_eq(http_status(r), 200);
    ck_assert(http_header(r, "Connection", v, sizeof(v)));
    ck_assert_str_eq(v, "close");
    free(r);
    st = daemon_wait(&d, 5000);
    ck_assert(WIFEXITED(st));
    ck_assert_int_eq(WEXITSTATUS(st), 0);
    close(slow);
    close(idle);
    daemon_cleanup(&d);
}
END_TEST

START_TEST(test_sigterm_drain_is_bounded)
{
    struct daemon      d;
    struct daemon_opts o = { .conf_extra = "drain_timeout = 1\nheader_timeout = 30" };
    int                slow, st;

    daemon_start(&d, &o);
    slow = http_connect(d.port);
    http_send_str(slow, "GET /status HTTP/1.1\r\n");
    sleep_ms(200);
    st = daemon_stop(&d, 4000);
    ck_assert_int_ne(st, -1);
    ck_assert_int_eq(WEXITSTATUS(st), 0);
    close(slow);
    daemon_cleanup(&d);
}
END_TEST

START_TEST(test_process_titles)
{
    struct daemon      d;
    struct daemon_opts o = { 0 };
    pid_t              w[8];
    char              *out;
    int                st;

    daemon_start(&d, &o);
    ck_assert_int_eq(daemon_workers(&d, w, 8), 2);
    out = run_cmd(&st, "ps -o args= -p %d", (int)d.pid);
    ck_assert(strncmp(out, "userapid: master process --config ", 34) == 0);
    free(out);
    /* Each worker of the generation has its own number. */
    out = run_cmd(&st, "ps -o comm=,args= -p %d,%d | sort", (int)w[0], (int)w[1]);
    ck_assert_str_eq(out, "userapid-worker userapid: worker process #1 (generation 1)\n"
        "userapid-worker userapid: worker process #2 (generation 1)\n");
    free(out);
    daemon_cleanup(&d);
}
END_TEST

START_TEST(test_workers_die_with_master)
{
    struct daemon      d;
    struct daemon_opts o = { 0 };
    pid_t              w[8];
    int                n, i, alive = 1;

    daemon_start(&d, &o);
    n = daemon_workers(&d, w, 8);
    ck_assert_int_eq(n, 2);
    kill(d.pid, SIGKILL);
    daemon_wait(&d, 2000);
    for (i = 0; i < 100 && alive; i++) {
        while (waitpid(-1, NULL, WNOHANG) > 0)
            ;       /* the harness made us their subreaper */
        alive = pid_alive(w[0]) || pid_alive(w[1]);
        sleep_ms(50);
    }
    ck_assert_int_eq(alive, 0);
    daemon_cleanup(&d);
}
END_TEST

/*
 * The journal's socket path is fixed, so the test takes a private mount
 * namespace, puts a tmpfs on /run/systemd and listens there itself as
 * journald would.  Needs root (CI runs as root).
 */
START_TEST(test_journal_entries_are_structured)
{
    struct daemon      d;
    struct daemon_opts o = { .journal = 1 };
    struct sockaddr_un sun;
    char               buf[8192], id[64], want[128], *r, *all;
    size_t             len = 0;
    int                fd, i, found_access = 0;

    if (geteuid() != 0) {
        fprintf(stderr, "test_journal_entries_are_structured: needs root, skipped\n");
        return;
    }
    ck_assert_int_eq(unshare(CLONE_NEWNS), 0);
    ck_assert_int_eq(mount("none", "/", NULL, MS_REC | MS_PRIVATE, NULL), 0);
    mkdir("/run/systemd", 0755);
    ck_assert_int_eq(mount("tmpfs", "/run/systemd", "tmpfs", 0, "mode=0755"), 0);
    ck_assert_int_eq(mkdir("/run/systemd/journal", 0755), 0);
    fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    memset(&sun, 0, sizeof(sun));
    sun.sun_family = AF_UNIX;
    memcpy(sun.sun_path, "/run/systemd/journal/socket", 28);
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);

    daemon_start(&d, &o);
    r = http_exchange(d.port, "GET /status HTTP/1.1\r\n" HOST
        "Connection: close\r\n\r\n", 3000);
    ck_assert(http_header(r, "X-Request-Id", id, sizeof(id)));
    free(r);
    all = malloc(1 << 20);
    for (i = 0; i < 200 && !found_access; i++) {
        struct pollfd pfd = { fd, POLLIN, 0 };
        ssize_t       n;

        if (poll(&pfd, 1, 50) <= 0)
            continue;
        n = recv(fd, buf, sizeof(buf) - 1, 0);
        if (n <= 0)
            continue;
        buf[n] = '\0';
        if (len + (size_t)n + 2 < (1 << 20)) {
            memcpy(all + len, buf, (size_t)n);
            len += (size_t)n;
            all[len++] = '\n';
            all[len] = '\0';
        }
        snprintf(want, sizeof(want), "REQUEST_ID=%s\n", id);
        if (strstr(buf, want) != NULL) {
            found_access = 1;
            ck_assert_msg(strstr(buf, "MESSAGE_ID=77d958cdc4c94d83bc6a399696dd0609\n"), "%s", buf);
            ck_assert(strstr(buf, "PRIORITY=6\n") != NULL);
            ck_assert(strstr(buf, "REMOTE_ADDR=127.0.0.1\n") != NULL);
            ck_assert(strstr(buf, "HTTP_METHOD=GET\n") != NULL);
            ck_assert(strstr(buf, "HTTP_PATH=/status\n") != NULL);
            ck_assert(strstr(buf, "HTTP_STATUS=200\n") != NULL);
            ck_assert(strstr(buf, "DURATION_US=") != NULL);
            ck_assert(strstr(buf, "SYSLOG_IDENTIFIER=userapid\n") != NULL);
        }
    }
    ck_assert_int_eq(found_access, 1);
    /* Lifecycle events: started and ready, with their MESSAGE_IDs. */
    ck_assert(strstr(all, "MESSAGE_ID=29852498d8c34c0fad7120f50073e972\n") != NULL);
    ck_assert(strstr(all, "MESSAGE_ID=123873eb8ead445fba1530737b0ef0f8\n") != NULL);
    free(all);
    close(fd);
    daemon_cleanup(&d);
}
END_TEST

START_TEST(test_access_log_off_logs_no_requests)
{
    struct daemon      d;
    struct daemon_opts o = { .conf_extra = "access_log = no" };
    char              *r, *log;

    daemon_start(&d, &o);
    r = http_exchange(d.port, "GET /status HTTP/1.1\r\n" HOST
        "Connection: close\r\n\r\n", 3000);
    ck_assert_int_eq(http_status(r), 200);
    free(r);
    sleep_ms(200);
    log = daemon_log(&d);
    ck_assert_msg(strstr(log, "\"GET /status\"") == NULL, "%s", log);
    ck_assert(strstr(log, "\"HEAD /\"") == NULL);
    ck_assert(strstr(log, "ready: 2 workers serving") != NULL);
    free(log);
    daemon_cleanup(&d);
}
END_TEST

START_TEST(test_sighup_to_a_new_state_dir_prepares_it)
{
    struct daemon      d;
    struct daemon_opts o = { .notify = 1 };
    char               extra[512], path[290], file[400];
    struct stat        st;

    daemon_start(&d, &o);
    ck_assert(daemon_notify_wait(&d, "READY=1", 3000));
    snprintf(path, sizeof(path), "%s/state2", d.dir);
    ck_assert_int_eq(mkdir(path, 0700), 0);
    /* The harness writes state_dir itself; a later line would repeat it,
     * so point the whole file at the new directory instead. */
    snprintf(d.state_dir, sizeof(d.state_dir), "%s", path);
    snprintf(extra, sizeof(extra), "password_cost = 1");
    daemon_write_conf(&d, 2, extra);
    d.notify_len = 0;
    kill(d.pid, SIGHUP);
    ck_assert(daemon_notify_wait(&d, "RELOADING=1", 5000));
    ck_assert(daemon_notify_wait(&d, "READY=1", 5000));
    ck_assert(wait_workers(d.port, "2/2", 5000));
    snprintf(file, sizeof(file), "%s/users.db", d.state_dir);
    ck_assert_int_eq(stat(file, &st), 0);
    snprintf(file, sizeof(file), "%s/initial-admin-password", d.state_dir);
    ck_assert_int_eq(stat(file, &st), 0);
    /* The new generation works on the new directory, login throttle
     * included: the first admin logs in, a wrong password is a 401. */
    {
        char  pw[128], req[512], *resp;
        FILE *fp = fopen(file, "r");

        ck_assert_ptr_nonnull(fp);
        ck_assert_ptr_nonnull(fgets(pw, sizeof(pw), fp));
        fclose(fp);
        pw[strcspn(pw, "\n")] = '\0';
        snprintf(req, sizeof(req), "POST / HTTP/1.1\r\nHost: x\r\n"
            "Content-Type: application/json\r\nContent-Length: %zu\r\n"
            "Connection: close\r\n\r\n{\"email\":\"admin@localhost\","
            "\"password\":\"%s\"}", strlen(pw) + 41, pw);
        resp = http_exchange(d.port, req, 5000);
        ck_assert_int_eq(http_status(resp), 200);
        free(resp);
        resp = http_exchange(d.port, "POST / HTTP/1.1\r\nHost: x\r\n"
            "Content-Type: application/json\r\nContent-Length: 41\r\n"
            "Connection: close\r\n\r\n{\"email\":\"admin@localhost\","
            "\"password\":\"\"}", 5000);
        ck_assert_int_eq(http_status(resp), 401);
        free(resp);
    }
    snprintf(file, sizeof(file), "%s/throttle", d.state_dir);
    ck_assert_int_eq(stat(file, &st), 0);
    ck_assert_int_eq(st.st_mode & 07777, 0600);
    daemon_cleanup(&d);
}
END_TEST

static Suite *
lifecycle_suite(void)
{
    Suite *s = suite_create("lifecycle");
    TCase *cli = tcase_create("command line");
    TCase *tc = tcase_create("lifecycle");

    tcase_set_timeout(cli, 30);
    tcase_add_test(cli, test_version_and_help_exit_0);
    tcase_add_test(cli, test_usage_errors_exit_2);
    tcase_add_test(cli, test_failed_copy_of_the_command_line_exits_1);
    tcase_add_test(cli, test_config_errors_exit_3_with_file_and_line);
    tcase_add_test(cli, test_check_config_accepts_good_file);
    tcase_add_test(cli, test_missing_state_dir_exits_1);
    tcase_add_test(cli, test_port_in_use_exits_1);
    tcase_add_test(cli, test_options_override_the_file);
    suite_add_tcase(s, cli);

    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_notify_ready_status_and_stopping);
    tcase_add_test(tc, test_watchdog_pings);
    tcase_add_test(tc, test_socket_activation);
    tcase_add_test(tc, test_sighup_changes_worker_count);
    tcase_add_test(tc, test_sighup_with_bad_config_keeps_old);
    tcase_add_test(tc, test_sighup_moves_listen_sockets_per_generation);
    tcase_add_test(tc, test_bare_port_listens_on_every_address);
    tcase_add_test(tc, test_killed_worker_is_replaced);
    tcase_add_test(tc, test_crash_loop_ends_master_nonzero);
    tcase_add_test(tc, test_sigterm_lets_slow_request_complete);
    tcase_add_test(tc, test_sigterm_drain_is_bounded);
    tcase_add_test(tc, test_process_titles);
    tcase_add_test(tc, test_workers_die_with_master);
    tcase_add_test(tc, test_journal_entries_are_structured);
    tcase_add_test(tc, test_access_log_off_logs_no_requests);
    tcase_add_test(tc, test_sighup_to_a_new_state_dir_prepares_it);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(lifecycle_suite());
    int      failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
