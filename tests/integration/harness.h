/* SPDX-License-Identifier: MIT */
/*
 * harness.h - helpers for the integration tests: run the built daemon on a
 * free loopback port with a temporary state directory, talk to it over raw
 * sockets or through curl, and listen on a NOTIFY_SOCKET as systemd would.
 *
 * A daemon started here gets PR_SET_PDEATHSIG, so a failing (forked) Check
 * test never leaves one behind.
 */
#ifndef USERAPID_HARNESS_H
#define USERAPID_HARNESS_H

#include <stddef.h>
#include <sys/types.h>

struct daemon {
    pid_t pid;
    int   port;
    char  dir[256];             /* temporary directory holding all below */
    char  state_dir[300];
    char  conf[300];
    char  log[300];             /* the daemon's stderr */
    char  notify_path[300];
    int   notify_fd;            /* -1 unless started with notify */
    char  notify_buf[16384];    /* everything received so far */
    size_t notify_len;
    char  dbname[64];           /* its PostgreSQL database, or "" */
};

/* Options for daemon_start; zero means the default. */
struct daemon_opts {
    const char  *conf_extra;    /* more lines for the config file */
    int          workers;       /* default 2 */
    int          notify;        /* listen on a NOTIFY_SOCKET */
    const char  *watchdog_usec; /* sets WATCHDOG_USEC */
    int          socket_activate; /* run under systemd-socket-activate */
    int          no_wait;       /* do not wait for the daemon to answer */
    int          journal;       /* JOURNAL_STREAM names the daemon's stderr */
    const struct daemon *share_db; /* PostgreSQL: use this one's database */
};

/* The conninfo of the tests' PostgreSQL server (USERAPID_TEST_PG), or
 * NULL when the daemons store in files. */
const char *harness_pg(void);

const char *harness_bin(void);
int   harness_free_port(void);

/* Makes the directory and config file, without starting anything. */
void  daemon_prepare(struct daemon *d, const struct daemon_opts *o);
/* Prepares (unless already), starts, and waits until HEAD / answers. */
void  daemon_start(struct daemon *d, const struct daemon_opts *o);
/* Rewrites the config file (same port and state dir) with new extra lines. */
void  daemon_write_conf(struct daemon *d, int workers, const char *extra);
/* The same with other listen lines ("listen = ...\n" each) than d->port's. */
void  daemon_write_conf_listen(struct daemon *d, int workers, const char *listen,
          const char *extra);
/* SIGTERM and wait; returns the wait status, or -1 after timeout_ms. */
int   daemon_stop(struct daemon *d, int timeout_ms);
/* Waits for exit; returns the wait status or -1 on timeout. */
int   daemon_wait(struct daemon *d, int timeout_ms);
void  daemon_cleanup(struct daemon *d);
/* Worker pids (children of the master); returns how many. */
int   daemon_workers(struct daemon *d, pid_t *pids, int max);
/* Waits until NOTIFY_SOCKET received a line equal to or starting with what. */
int   daemon_notify_wait(struct daemon *d, const char *what, int timeout_ms);
/* Reads the daemon's stderr log. Caller frees. */
char *daemon_log(struct daemon *d);
/* The "connections" of GET /status (asked from 127.0.7.9 on d's plain
 * port), the asking one included. */
long  daemon_connections(struct daemon *d);

int   http_connect(int port);
/* From a given loopback source address, e.g. "127.0.0.2". */
int   http_connect_from(int port, const char *src);
/* As http_exchange, from a given source address. */
char *http_exchange_from(int port, const char *src, const char *req, int timeout_ms);
/* Sends all of data. */
void  http_send(int fd, const char *data, size_t len);
void  http_send_str(int fd, const char *s);
/* Reads until the peer closes or timeout_ms of silence. Caller frees. */
char *http_recv_all(int fd, int timeout_ms, size_t *len);
/* Reads exactly one response (head + Content-Length body). Caller frees. */
char *http_recv_response(int fd, int timeout_ms);
/* Connects, sends req, reads until close or silence. Caller frees.  With
 * USERAPID_CONTRACT_LOG set, the exchange is appended to that file (see
 * harness.c), as is http_exchange_from's. */
char *http_exchange(int port, const char *req, int timeout_ms);
/* Status code of a response text, or -1. */
int   http_status(const char *resp);
/* Value of a header in a response (first match, case-insensitive), copied
 * into out; returns 1 when found. */
int   http_header(const char *resp, const char *name, char *out, size_t outlen);
/* Body of a response (after the empty line). */
const char *http_body(const char *resp);
/* Whether the peer has closed fd (EOF within timeout_ms). */
int   http_closed(int fd, int timeout_ms);

/* Runs a shell command; returns its stdout (caller frees) and exit status. */
char *run_cmd(int *status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void  sleep_ms(int ms);

#endif
