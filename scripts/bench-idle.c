/* SPDX-License-Identifier: MIT */
/*
 * bench-idle - hold many idle keep-alive connections, for scripts/bench.
 *
 *   bench-idle HOST PORT N [COMMAND [ARG]...]
 *
 * Opens N connections to HOST:PORT (IPv4), sends "HEAD /" on each and
 * reads its answer, so that every connection is an idle keep-alive one.
 * Then runs COMMAND (if any) while holding them, with BENCH_IDLE_OPEN in
 * its environment, and afterwards sends one more "HEAD /" on every
 * connection to check that the idle ones are still served.  Only a 200
 * answer counts.  Prints:
 *
 *     opened N answered A in MS ms
 *     still-served S of A
 *
 * Exit status 0 when every connection was answered both times, 1 when
 * some were not, 2 on a usage error.  Needs a file limit above N.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define INFLIGHT    256         /* connections opening or awaiting an answer */
#define TIMEOUT_MS  30000

enum { C_NONE, C_CONNECTING, C_WAITING, C_IDLE, C_DEAD };

struct conn {
    int     fd;
    int     state;
    int     match;              /* bytes of "\r\n\r\n" matched so far */
    int     hlen;               /* bytes of the status line in head */
    char    head[12];           /* "HTTP/1.1 200" */
};

static const char   req[] = "HEAD / HTTP/1.1\r\nHost: bench\r\n\r\n";
static struct conn *conns;
static int          epfd, n;
static struct sockaddr_in addr;

static long
now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
die(const char *what)
{
    fprintf(stderr, "bench-idle: %s: %s\n", what, strerror(errno));
    exit(1);
}

static void
kill_conn(struct conn *c)
{
    if (c->fd != -1)
        close(c->fd);
    c->fd = -1;
    c->state = C_DEAD;
}

static int
send_req(struct conn *c)
{
    struct epoll_event ev = { .events = EPOLLIN, .data.ptr = c };

    if (write(c->fd, req, sizeof(req) - 1) != (ssize_t)(sizeof(req) - 1) ||
        epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev) == -1) {
        kill_conn(c);
        return -1;
    }
    c->state = C_WAITING;
    c->match = 0;
    c->hlen = 0;
    return 0;
}

static int
open_conn(struct conn *c)
{
    struct epoll_event ev = { .events = EPOLLOUT, .data.ptr = c };

    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd == -1)
        die("socket");
    if (connect(c->fd, (struct sockaddr *)&addr, sizeof(addr)) == -1 &&
        errno != EINPROGRESS) {
        kill_conn(c);
        return -1;
    }
    if (epoll_ctl(epfd, EPOLL_CTL_ADD, c->fd, &ev) == -1)
        die("epoll_ctl");
    c->state = C_CONNECTING;
    return 0;
}

/*
 * Reads what there is; 1 when the head of a 200 answer is complete, 0 when
 * it is not complete yet, -1 (and the connection closed) on anything else.
 */
static int
read_answer(struct conn *c)
{
    static const char end[] = "\r\n\r\n";
    char              buf[4096];
    ssize_t           r, i;

    for (;;) {
        r = read(c->fd, buf, sizeof(buf));
        if (r == 0 || (r == -1 && errno != EAGAIN && errno != EINTR)) {
            kill_conn(c);
            return -1;
        }
        if (r == -1) {
            if (errno == EAGAIN)
                return 0;
            continue;
        }
        for (i = 0; i < r; i++) {
            if (c->hlen < (int)sizeof(c->head))
                c->head[c->hlen++] = buf[i];
            if (buf[i] == end[c->match])
                c->match++;
            else
                c->match = buf[i] == '\r' ? 1 : 0;
            if (c->match == 4) {
                if (c->hlen < (int)sizeof(c->head) ||
                    memcmp(c->head, "HTTP/1.", 7) != 0 ||
                    memcmp(c->head + 8, " 200", 4) != 0) {
                    kill_conn(c);
                    return -1;
                }
                c->state = C_IDLE;
                return 1;
            }
        }
    }
}

/*
 * One round: with open_new, opens every connection; otherwise sends a
 * request on every idle one.  Returns how many got an answer.
 */
static int
round_trip(int open_new)
{
    struct epoll_event evs[256];
    int                next = 0, inflight = 0, answered = 0, k, i, err;
    long               deadline = now_ms() + TIMEOUT_MS;
    socklen_t          len;
    struct conn       *c;

    for (;;) {
        while (inflight < INFLIGHT && next < n) {
            c = &conns[next++];
            if (open_new ? open_conn(c) : c->state == C_IDLE ?
                send_req(c) : -1)
                continue;
            inflight++;
        }
        if (inflight == 0)
            break;
        if (now_ms() > deadline)
            break;
        k = epoll_wait(epfd, evs, 256, 1000);
        if (k == -1 && errno != EINTR)
            die("epoll_wait");
        for (i = 0; i < k; i++) {
            c = evs[i].data.ptr;
            if (c->state == C_CONNECTING) {
                err = 0;
                len = sizeof(err);
                getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
                if (err != 0 || send_req(c) == -1) {
                    kill_conn(c);
                    inflight--;
                }
            } else if (c->state == C_IDLE) {
                /* Closed (or talked) while idle: it is lost. */
                kill_conn(c);
            } else if (c->state == C_WAITING) {
                switch (read_answer(c)) {
                case 1:
                    answered++;
                    /* FALLTHROUGH */
                case -1:
                    inflight--;
                    break;
                }
            }
        }
    }
    /* Those still waiting at the deadline count as failures. */
    for (i = 0; i < n; i++)
        if (conns[i].state == C_CONNECTING || conns[i].state == C_WAITING)
            kill_conn(&conns[i]);
    return answered;
}

int
main(int argc, char **argv)
{
    int     opened, again, status = 0, i;
    long    t0;
    pid_t   pid;
    char    num[32];

    if (argc < 4 || (n = atoi(argv[3])) < 1) {
        fprintf(stderr, "usage: bench-idle HOST PORT N [COMMAND [ARG]...]\n");
        return 2;
    }
    addr.sin_family = AF_INET;
    addr.sin_port = htons((unsigned short)atoi(argv[2]));
    if (inet_pton(AF_INET, argv[1], &addr.sin_addr) != 1) {
        fprintf(stderr, "bench-idle: %s: not an IPv4 address\n", argv[1]);
        return 2;
    }
    if ((conns = calloc((size_t)n, sizeof(*conns))) == NULL)
        die("calloc");
    for (i = 0; i < n; i++)
        conns[i].fd = -1;
    if ((epfd = epoll_create1(EPOLL_CLOEXEC)) == -1)
        die("epoll_create1");

    t0 = now_ms();
    opened = round_trip(1);
    printf("opened %d answered %d in %ld ms\n", n, opened, now_ms() - t0);
    fflush(stdout);

    if (argc > 4) {
        snprintf(num, sizeof(num), "%d", opened);
        setenv("BENCH_IDLE_OPEN", num, 1);
        if ((pid = fork()) == -1)
            die("fork");
        if (pid == 0) {
            execvp(argv[4], argv + 4);
            perror("bench-idle: exec");
            _exit(127);
        }
        while (waitpid(pid, &status, 0) == -1 && errno == EINTR)
            ;
    }

    again = round_trip(0);
    printf("still-served %d of %d\n", again, opened);
    for (i = 0; i < n; i++)
        if (conns[i].fd != -1)
            close(conns[i].fd);
    if (argc > 4 && !(WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
        fprintf(stderr, "bench-idle: %s failed\n", argv[4]);
        return 1;
    }
    return opened == n && again == n ? 0 : 1;
}
