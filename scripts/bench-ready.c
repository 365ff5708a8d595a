/* SPDX-License-Identifier: MIT */
/*
 * bench-ready - start a Type=notify daemon and time it to READY=1, for
 * scripts/bench.
 *
 *   bench-ready SOCKET TIMEOUT COMMAND [ARG]...
 *
 * Binds the datagram socket SOCKET, runs COMMAND with NOTIFY_SOCKET
 * naming it (its standard output goes to standard error), and as soon as
 * the command sends READY=1 prints "<pid> <milliseconds from exec to
 * READY=1>" on standard output.  It then keeps reading the socket, as the
 * service manager would, until the command exits, and exits with the
 * command's status (128+N for signal N).  Exit status 1 when READY=1 does
 * not come within TIMEOUT seconds or the command exits before it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double
now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int
exit_status(int st)
{
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

int
main(int argc, char **argv)
{
    struct sockaddr_un  sa = { .sun_family = AF_UNIX };
    struct pollfd       pfd;
    char                buf[4096];
    double              t0, timeout;
    ssize_t             r;
    pid_t               pid;
    int                 fd, st, ready = 0;

    if (argc < 4 || (timeout = atof(argv[2])) <= 0 ||
        strlen(argv[1]) >= sizeof(sa.sun_path)) {
        fprintf(stderr, "usage: bench-ready SOCKET TIMEOUT COMMAND [ARG]...\n");
        return 2;
    }
    strcpy(sa.sun_path, argv[1]);
    unlink(argv[1]);
    if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1 ||
        bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == -1) {
        fprintf(stderr, "bench-ready: %s: %s\n", argv[1], strerror(errno));
        return 1;
    }
    setenv("NOTIFY_SOCKET", argv[1], 1);
    t0 = now_ms();
    if ((pid = fork()) == -1) {
        perror("bench-ready: fork");
        return 1;
    }
    if (pid == 0) {
        dup2(STDERR_FILENO, STDOUT_FILENO);
        execvp(argv[3], argv + 3);
        perror("bench-ready: exec");
        _exit(127);
    }
    pfd.fd = fd;
    pfd.events = POLLIN;
    for (;;) {
        if (waitpid(pid, &st, WNOHANG) == pid) {
            if (!ready)
                fprintf(stderr, "bench-ready: %s exited before READY=1 "
                    "(status %d)\n", argv[3], exit_status(st));
            return ready ? exit_status(st) : 1;
        }
        if (!ready && now_ms() - t0 > timeout * 1e3) {
            fprintf(stderr, "bench-ready: no READY=1 from %s within %s s\n",
                argv[3], argv[2]);
            kill(pid, SIGTERM);
            return 1;
        }
        if (poll(&pfd, 1, 50) < 1)
            continue;
        if ((r = recv(fd, buf, sizeof(buf) - 1, 0)) <= 0)
            continue;
        buf[r] = '\0';
        if (!ready && (strncmp(buf, "READY=1", 7) == 0 ||
            strstr(buf, "\nREADY=1") != NULL)) {
            ready = 1;
            printf("%ld %.1f\n", (long)pid, now_ms() - t0);
            fflush(stdout);
        }
    }
}
