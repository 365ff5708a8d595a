/* SPDX-License-Identifier: MIT */
/*
 * master.c - the master process.
 *
 * It owns the listen sockets (inherited from systemd or bound here), the
 * shared status page, every signal and every sd_notify message.  Workers
 * are forked in generations: start-up makes generation 1; SIGHUP makes the
 * next one from the new configuration and, once all of it is ready,
 * retires the old one gracefully.  READY=1 is sent only when every worker of
 * the serving generation has written its pid into the ready pipe, which it
 * does from inside its event loop.
 *
 * A worker that exits without being asked is a crash: it is respawned after
 * a backoff that grows with the crashes of the last CRASH_WINDOW_MS, and
 * CRASH_LIMIT crashes in that window end the master with EXIT_RUNTIME so
 * that systemd's Restart= policy takes over.
 *
 * Listen sockets belong to generations.  Invariants:
 * - a worker holds exactly its generation's sockets (it closes the others
 *   right after fork), so a socket that no generation serves any more is
 *   not kept open, unserved, by a worker;
 * - an address in both the old and the new configuration keeps its socket
 *   (the same descriptor in both sets): it is never rebound and never
 *   without a listener;
 * - the master closes a socket once neither the serving generation nor
 *   the one being started uses it; the old workers close theirs when they
 *   start draining, so a removed address stops listening then.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <time.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>

#include "auth.h"
#include "firstadmin.h"
#include "log.h"
#include "master.h"
#include "proctitle.h"
#include "status.h"
#include "store.h"
#include "tls.h"
#include "worker.h"

#define CRASH_LIMIT      6
#define CRASH_WINDOW_MS  30000
#define BACKOFF_MAX_MS   5000
#define KILL_GRACE_MS    1000           /* after drain_timeout, SIGKILL */
#define LISTEN_BACKLOG   511
#define MASTER_MAX_SOCKETS (CONFIG_MAX_LISTEN + 1)  /* the API's and metrics */

struct master_worker {
    pid_t     pid;                      /* 0: slot free */
    int       generation;
    int       number;                   /* 1..workers within the generation */
    int       ready;
    int       retiring;
    uint64_t  kill_at;                  /* when retiring: SIGKILL deadline */
};

/* Listen sockets of one generation, in the order of its cfg.listen then
 * its metrics_listen (or as systemd passed them), with their
 * CONFIG_LISTEN_* flags, and the TLS context of its TLS ones.  A socket
 * kept over a reload is in two sets. */
struct master_sockets {
    int             fds[MASTER_MAX_SOCKETS];
    int             flags[MASTER_MAX_SOCKETS];
    int             n;
    struct tls_ctx *tls;
};

struct master {
    const struct master_opts *opts;
    struct config        cfg;
    struct status       *status;
    struct throttle     *throttle;
    struct tls_tickets  *tickets;
    struct master_sockets cur;          /* the serving generation's */
    struct master_sockets next;         /* the starting generation's */
    int                  activated;     /* sockets came from systemd */
    int                  sigfd;
    int                  ready_rd, ready_wr;
    struct master_worker workers[STATUS_MAX_SLOTS];
    int                  gen;           /* the serving generation */
    int                  next_gen;      /* being started by a reload, or 0 */
    struct config        next_cfg;
    int                  crash_loop;
    int                  announced;     /* READY=1 sent for gen */
    int                  stopping;
    uint64_t             stop_kill_at;
    int                  respawn_pending;
    uint64_t             respawn_at;
    uint64_t             crashes[CRASH_LIMIT];
    int                  ncrashes;
    uint64_t             watchdog_ms;   /* 0: no watchdog */
    uint64_t             watchdog_next;
    int                  db_down;       /* what STATUS= says of the database */
    uint64_t             now;
    int                  exit_status;
};

static int   master_check_state_dir(const char *dir);
static int   master_prepare_state(const struct config *c);
static int   master_sockets_open(struct master *m);
static int   master_sockets_inherit(struct master *m);
static int   master_socket_flags(const char *name);
static int   master_sockets_tls(struct master *m, const struct config *c,
                 struct master_sockets *s, const struct master_sockets *old);
static int   master_setup(struct master *m);
static int   master_start(struct master *m);
static void  master_loop(struct master *m);
static void  master_signals(struct master *m);
static void  master_shutdown(struct master *m);
static int   master_listen(const struct config *c, const struct config *old,
                 const struct master_sockets *keep, struct master_sockets *out);
static int   master_addresses(const struct config *c,
                 struct config_listen *out);
static int   master_sockets_has(const struct master_sockets *s, int fd);
static void  master_sockets_close(struct master_sockets *s,
                 const struct master_sockets *keep);
static void  master_sockets_keep_only(const struct master *m,
                 const struct master_sockets *mine);
static int   master_spawn(struct master *m, int generation);
static int   master_free_number(const struct master *m, int generation);
static void  master_reap(struct master *m);
static void  master_crashed(struct master *m, struct master_worker *w, int wstatus);
static void  master_read_ready(struct master *m);
static void  master_check_generation(struct master *m);
static void  master_reload(struct master *m);
static void  master_stop(struct master *m);
static void  master_timers(struct master *m);
static int   master_poll_timeout(struct master *m);
static int   master_count(struct master *m, int generation, int ready_only);
static void  master_update_status(struct master *m);
static void  master_notify_status(struct master *m, const char *prefix);
static void  master_db_status(struct master *m);
static int   master_live_workers(struct master *m);
static void  master_raise_nofile(const struct config *c);


static int
master_check_state_dir(const char *dir)
{
    struct stat st;

    if (stat(dir, &st) == -1) {
        log_msg(LOG_ERR, "state directory %s: %s", dir, strerror(errno));
        return -1;
    }
    if (!S_ISDIR(st.st_mode)) {
        log_msg(LOG_ERR, "state directory %s: not a directory", dir);
        return -1;
    }
    if (access(dir, R_OK | W_OK | X_OK) == -1) {
        log_msg(LOG_ERR, "state directory %s: %s", dir, strerror(errno));
        return -1;
    }
    return 0;
}

/*
 * Opens the store once before any worker runs.  Files: a malformed
 * users.db stops start-up with FILE:LINE, a torn last line is repaired,
 * a changed max_sessions is applied, the throttle file is made.
 * PostgreSQL: a missing or older schema stops start-up (EXIT_CONFIG,
 * saying what to run); a database
 * that cannot be reached does not, as the workers connect by themselves
 * when it comes back.  Either way an empty store gets its first
 * administrator.  0, or an exit status after logging why.
 */
static int
master_prepare_state(const struct config *c)
{
    struct store *st;
    char          err[STORE_ERR_LEN];
    int           rc;

    umask(077);
    /* The throttle file too: the workers open the files as they are. */
    st = store_open(c, STORE_DAEMON, err, sizeof(err));
    if (st == NULL && c->storage == CONFIG_STORAGE_POSTGRESQL &&
        errno != EPROTO) {
        log_msg(LOG_WARNING, "database: %s; starting without it", err);
        return 0;
    }
    if (st == NULL) {
        log_msg(LOG_ERR, "%s", err);
        return errno == EPROTO ? EXIT_CONFIG : EXIT_RUNTIME;
    }
    rc = firstadmin_create(c->state_dir, c->min_password_length,
        (unsigned long)c->password_cost, st);
    store_close(st);
    return rc == -1 ? EXIT_RUNTIME : 0;
}

/* Whether the store must be prepared again for configuration b. */
static int
master_store_moved(const struct config *a, const struct config *b)
{
    return strcmp(a->state_dir, b->state_dir) != 0 ||
        a->max_sessions != b->max_sessions || a->storage != b->storage ||
        strcmp(a->database_url, b->database_url) != 0 ||
        strcmp(a->database_password_file, b->database_password_file) != 0;
}

/* What c listens on: its listen list, then metrics_listen when set. */
static int
master_addresses(const struct config *c, struct config_listen *out)
{
    int n = c->nlisten;

    memcpy(out, c->listen, sizeof(c->listen[0]) * (size_t)n);
    if (c->metrics_listen.addrlen > 0)
        out[n++] = c->metrics_listen;
    return n;
}

/*
 * The sockets of configuration c into out, in master_addresses' order: an
 * address that old (may be NULL) lists too reuses keep's socket for it,
 * any other is bound here.  On failure nothing new stays open and out is
 * empty.
 */
static int
master_listen(const struct config *c, const struct config *old,
    const struct master_sockets *keep, struct master_sockets *out)
{
    struct config_listen addrs[MASTER_MAX_SOCKETS], olds[MASTER_MAX_SOCKETS];
    int i, j, fd, one = 1, zero = 0, n, nold = 0;

    n = master_addresses(c, addrs);
    if (old != NULL)
        nold = master_addresses(old, olds);
    out->n = 0;
    for (i = 0; i < n; i++) {
        const struct config_listen *l = &addrs[i];

        for (j = 0; j < nold && j < keep->n; j++)
            if (config_listen_same(&olds[j], l))
                break;
        out->flags[out->n] = l->flags;
        if (j < nold && j < keep->n) {
            out->fds[out->n++] = keep->fds[j];
            continue;
        }
        fd = socket(l->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd == -1) {
            log_msg(LOG_ERR, "listen %s: socket: %s", l->text, strerror(errno));
            goto fail;
        }
        out->fds[out->n++] = fd;
        if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == -1 ||
            (l->addr.ss_family == AF_INET6 &&
            setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, l->dual ? &zero : &one,
                sizeof(one)) == -1)) {
            log_msg(LOG_ERR, "listen %s: setsockopt: %s", l->text, strerror(errno));
            goto fail;
        }
        if (bind(fd, (const struct sockaddr *)&l->addr, l->addrlen) == -1) {
            log_msg(LOG_ERR, "listen %s: bind: %s", l->text, strerror(errno));
            goto fail;
        }
        if (listen(fd, LISTEN_BACKLOG) == -1) {
            log_msg(LOG_ERR, "listen %s: %s", l->text, strerror(errno));
            goto fail;
        }
    }
    return 0;
fail:
    master_sockets_close(out, keep);
    return -1;
}

static int
master_sockets_has(const struct master_sockets *s, int fd)
{
    int i;

    for (i = 0; s != NULL && i < s->n; i++)
        if (s->fds[i] == fd)
            return 1;
    return 0;
}

/* Closes the sockets of s that keep (may be NULL) does not hold; empties s. */
static void
master_sockets_close(struct master_sockets *s, const struct master_sockets *keep)
{
    int i;

    for (i = 0; i < s->n; i++)
        if (!master_sockets_has(keep, s->fds[i]))
            close(s->fds[i]);
    s->n = 0;
    if (s->tls != NULL && (keep == NULL || keep->tls != s->tls))
        tls_ctx_free(s->tls);
    s->tls = NULL;
}

/*
 * The TLS context of s's TLS sockets, from c's certificate and key.  When
 * they cannot be loaded and old has a context (a reload), that one is kept
 * and the failure logged: a bad key never takes TLS down.  0, or -1
 * (logged) when there is nothing to serve TLS with.
 */
static int
master_sockets_tls(struct master *m, const struct config *c,
    struct master_sockets *s, const struct master_sockets *old)
{
    char err[TLS_ERR_LEN];
    int  i, tls = 0;

    s->tls = NULL;
    for (i = 0; i < s->n; i++)
        tls |= s->flags[i] & CONFIG_LISTEN_TLS;
    if (!tls)
        return 0;
    if (c->tls_certificate[0] == '\0' || c->tls_key[0] == '\0') {
        snprintf(err, sizeof(err), "a TLS socket needs tls_certificate and tls_key");
    } else if ((s->tls = tls_ctx_new(c->tls_certificate, c->tls_key,
        m->tickets, err, sizeof(err))) != NULL) {
        return 0;
    }
    if (old != NULL && old->tls != NULL) {
        log_msg(LOG_ERR, "TLS: %s; keeping the certificate and key in use", err);
        s->tls = old->tls;
        return 0;
    }
    log_msg(LOG_ERR, "TLS: %s", err);
    return -1;
}

/* In a new worker: closes every socket of the master that is not its own. */
static void
master_sockets_keep_only(const struct master *m, const struct master_sockets *mine)
{
    int i;

    for (i = 0; i < m->cur.n; i++)
        if (!master_sockets_has(mine, m->cur.fds[i]))
            close(m->cur.fds[i]);
    for (i = 0; m->next_gen != 0 && i < m->next.n; i++)
        if (!master_sockets_has(mine, m->next.fds[i]) &&
            !master_sockets_has(&m->cur, m->next.fds[i]))
            close(m->next.fds[i]);
}

/*
 * The sockets systemd passed, if any: 1 when there were some (they are in
 * m->cur), 0 when there were none, -1 on error.
 */
static int
master_sockets_inherit(struct master *m)
{
    char **names = NULL;
    int    n, i, fd, rc = -1;

    n = sd_listen_fds_with_names(1, &names);
    if (n < 0) {
        log_msg(LOG_ERR, "sd_listen_fds: %s", strerror(-n));
        return -1;
    }
    if (n > MASTER_MAX_SOCKETS) {
        log_msg(LOG_ERR, "systemd passed %d sockets, at most %d are supported",
            n, MASTER_MAX_SOCKETS);
        goto out;
    }
    for (i = 0; i < n; i++) {
        fd = SD_LISTEN_FDS_START + i;
        if (sd_is_socket(fd, AF_UNSPEC, SOCK_STREAM, 1) <= 0) {
            log_msg(LOG_ERR, "passed descriptor %d is not a listening stream socket", fd);
            goto out;
        }
        if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) == -1 ||
            fcntl(fd, F_SETFD, FD_CLOEXEC) == -1) {
            log_msg(LOG_ERR, "passed descriptor %d: %s", fd, strerror(errno));
            goto out;
        }
        m->cur.fds[m->cur.n] = fd;
        m->cur.flags[m->cur.n++] = master_socket_flags(names ? names[i] : NULL);
    }
    rc = n > 0;
out:
    for (i = 0; names != NULL && names[i] != NULL; i++)
        free(names[i]);
    free(names);
    return rc;
}

/*
 * What a socket from systemd is, by its FileDescriptorName=: "https" is
 * TLS, "http+proxy" and "https+proxy" start with a PROXY protocol header,
 * "metrics" serves GET /metrics only; anything else (the unit's name, the
 * default) is plain HTTP.
 */
static int
master_socket_flags(const char *name)
{
    int flags = 0;

    if (name == NULL)
        return 0;
    if (strcmp(name, "metrics") == 0)
        return CONFIG_LISTEN_METRICS;
    if (strncmp(name, "https", 5) == 0)
        flags |= CONFIG_LISTEN_TLS;
    if (strstr(name, "+proxy") != NULL)
        flags |= CONFIG_LISTEN_PROXY;
    return flags;
}

/* Enough descriptors for max_connections, as far as the hard limit allows. */
static void
master_raise_nofile(const struct config *c)
{
    struct rlimit rl;
    rlim_t        want = (rlim_t)c->max_connections + 64;

    if (getrlimit(RLIMIT_NOFILE, &rl) == -1 || rl.rlim_cur >= want)
        return;
    rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > want ?
        want : rl.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
        log_msg(LOG_WARNING, "cannot raise the open file limit: %s",
            strerror(errno));
    else if (rl.rlim_cur < want)
        log_msg(LOG_WARNING, "open file limit %llu is below max_connections %ld",
            (unsigned long long)rl.rlim_cur, c->max_connections);
}

/*
 * Runs the daemon: state and sockets first (a failure there exits before
 * anything is forked), then the shared pages, signals and the first
 * generation, then the loop until the workers are gone after a stop.
 */
int
master_run(const struct master_opts *o, const struct config *c)
{
    struct master m;
    int           rc;

    memset(&m, 0, sizeof(m));
    m.opts = o;
    m.cfg = *c;
    m.sigfd = m.ready_rd = m.ready_wr = -1;
    m.exit_status = EXIT_RUNTIME;
    m.now = status_monotonic_ms();

    if (master_check_state_dir(m.cfg.state_dir) == -1)
        return EXIT_RUNTIME;
    if ((rc = master_prepare_state(&m.cfg)) != 0)
        return rc;
    if (master_sockets_open(&m) == -1)
        return EXIT_RUNTIME;
    if (master_setup(&m) == 0 && master_start(&m) == 0)
        master_loop(&m);
    master_shutdown(&m);
    return m.exit_status;
}

/* The sockets systemd passed, or those of the configuration, bound here. */
static int
master_sockets_open(struct master *m)
{
    if ((m->activated = master_sockets_inherit(m)) == -1)
        return -1;
    if (!m->activated && master_listen(&m->cfg, NULL, NULL, &m->cur) == -1)
        return -1;
    master_raise_nofile(&m->cfg);
    return 0;
}

/* The shared pages, the ready pipe, the signals and the watchdog. */
static int
master_setup(struct master *m)
{
    sigset_t mask;
    uint64_t usec;
    int      pipefd[2];
    char     err[THROTTLE_ERR_LEN];

    if ((m->throttle = throttle_open(m->cfg.state_dir, THROTTLE_DAEMON, err,
        sizeof(err))) == NULL) {
        log_msg(LOG_ERR, "%s", err);
        return -1;
    }
    if ((m->status = status_create()) == NULL ||
        (m->tickets = tls_tickets_create()) == NULL) {
        log_msg(LOG_ERR, "cannot map the shared counters: %s", strerror(errno));
        return -1;
    }
    if (master_sockets_tls(m, &m->cfg, &m->cur, NULL) == -1)
        return -1;
    if (pipe2(pipefd, O_CLOEXEC) == -1) {
        log_msg(LOG_ERR, "pipe: %s", strerror(errno));
        return -1;
    }
    m->ready_rd = pipefd[0];
    m->ready_wr = pipefd[1];
    fcntl(m->ready_rd, F_SETFL, O_NONBLOCK);

    sigemptyset(&mask);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGHUP);
    sigaddset(&mask, SIGCHLD);
    sigaddset(&mask, SIGQUIT);
    signal(SIGPIPE, SIG_IGN);
    if (sigprocmask(SIG_BLOCK, &mask, NULL) == -1 ||
        (m->sigfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC)) == -1) {
        log_msg(LOG_ERR, "signalfd: %s", strerror(errno));
        return -1;
    }
    if (sd_watchdog_enabled(0, &usec) > 0 && usec > 0) {
        m->watchdog_ms = usec / 2000;
        if (m->watchdog_ms == 0)
            m->watchdog_ms = 1;
        m->watchdog_next = m->now + m->watchdog_ms;
    }
    return 0;
}

/* Says it is starting and forks the first generation. */
static int
master_start(struct master *m)
{
    char        nworkers[32];
    const char *extra[2];
    int         i;

    proctitle_set("userapid: master process %s", m->opts->cmdline);
    snprintf(nworkers, sizeof(nworkers), "USERAPID_WORKERS=%d",
        config_worker_count(&m->cfg));
    extra[0] = nworkers;
    extra[1] = NULL;
    log_event(LOG_NOTICE, MSGID_STARTED, extra,
        "userapid %s starting: %d workers, %d listen sockets%s, state in %s",
        USERAPID_VERSION, config_worker_count(&m->cfg), m->cur.n,
        m->activated ? " from systemd" : "", m->cfg.state_dir);
    m->gen = 1;
    m->status->workers_configured = config_worker_count(&m->cfg);
    for (i = 0; i < config_worker_count(&m->cfg); i++)
        if (master_spawn(m, m->gen) == -1)
            return -1;
    return 0;
}

/* Until a stop has seen every worker out: signals, readiness, timers. */
static void
master_loop(struct master *m)
{
    struct pollfd pfd[2];
    int           n;

    pfd[0].fd = m->sigfd;
    pfd[0].events = POLLIN;
    pfd[1].fd = m->ready_rd;
    pfd[1].events = POLLIN;
    for (;;) {
        n = poll(pfd, 2, master_poll_timeout(m));
        if (n == -1 && errno != EINTR) {
            log_msg(LOG_ERR, "poll: %s", strerror(errno));
            return;
        }
        m->now = status_monotonic_ms();
        if (n > 0 && (pfd[1].revents & POLLIN))
            master_read_ready(m);
        if (n > 0 && (pfd[0].revents & POLLIN))
            master_signals(m);
        master_timers(m);
        if (m->stopping && master_live_workers(m) == 0)
            break;
    }
    if (!m->crash_loop) {
        m->exit_status = 0;
        log_event(LOG_NOTICE, MSGID_STOPPED, NULL, "userapid stopped");
    }
}

/* The one place a signal to the master is given its meaning. */
static void
master_signals(struct master *m)
{
    struct signalfd_siginfo si;

    while (read(m->sigfd, &si, sizeof(si)) == sizeof(si)) {
        switch (si.ssi_signo) {
        case SIGCHLD:
            master_reap(m);
            break;
        case SIGHUP:
            master_reload(m);
            break;
        default:            /* SIGTERM, SIGINT, SIGQUIT */
            master_stop(m);
            break;
        }
    }
}

/* Whatever is still there: workers killed, descriptors and pages freed. */
static void
master_shutdown(struct master *m)
{
    int i;

    for (i = 0; i < STATUS_MAX_SLOTS; i++)
        if (m->workers[i].pid > 0)
            kill(m->workers[i].pid, SIGKILL);
    if (m->sigfd != -1)
        close(m->sigfd);
    if (m->ready_rd != -1)
        close(m->ready_rd);
    if (m->ready_wr != -1)
        close(m->ready_wr);
    if (m->next_gen != 0)
        master_sockets_close(&m->next, &m->cur);
    master_sockets_close(&m->cur, NULL);
    status_destroy(m->status);
    throttle_close(m->throttle);
    tls_tickets_destroy(m->tickets);
}

static int
master_spawn(struct master *m, int generation)
{
    struct master_worker *w = NULL;
    struct worker_args    a;
    const struct config  *c = generation == m->gen ? &m->cfg : &m->next_cfg;
    const struct master_sockets *socks = generation == m->gen ? &m->cur : &m->next;
    pid_t                 pid, master_pid = getpid();
    int                   slot, number;

    for (slot = 0; slot < STATUS_MAX_SLOTS; slot++)
        if (m->workers[slot].pid == 0) {
            w = &m->workers[slot];
            break;
        }
    if (w == NULL) {
        log_msg(LOG_ERR, "master_spawn: no free worker slot");
        return -1;
    }
    number = master_free_number(m, generation);
    pid = fork();
    if (pid == -1) {
        log_msg(LOG_ERR, "master_spawn: fork: %s", strerror(errno));
        return -1;
    }
    if (pid == 0) {
        int status;

        close(m->sigfd);
        close(m->ready_rd);
        master_sockets_keep_only(m, socks);
        /* Only the master speaks to systemd. */
        unsetenv("NOTIFY_SOCKET");
        unsetenv("WATCHDOG_USEC");
        unsetenv("WATCHDOG_PID");
        a.cfg = c;
        a.status = m->status;
        a.slot = &m->status->slots[slot];
        a.slot_index = slot;
        a.throttle = m->throttle;
        a.listen_fds = socks->fds;
        a.listen_flags = socks->flags;
        a.nlisten = socks->n;
        a.tls = socks->tls;
        a.ready_fd = m->ready_wr;
        a.master_pid = master_pid;
        a.generation = generation;
        a.number = number;
        log_set_level(c->log_level);
        status = worker_run(&a);
        /* exit, not _exit: under the sanitizers this runs the leak check. */
        exit(status);
    }
    memset(w, 0, sizeof(*w));
    w->pid = pid;
    w->generation = generation;
    w->number = number;
    log_msg(LOG_DEBUG, "worker %ld started (generation %d)", (long)pid, generation);
    return 0;
}

/* The lowest number no live worker of generation has: a respawned worker
 * takes the number of the one it replaces. */
static int
master_free_number(const struct master *m, int generation)
{
    int number, i;

    for (number = 1;; number++) {
        for (i = 0; i < STATUS_MAX_SLOTS; i++)
            if (m->workers[i].pid > 0 && m->workers[i].generation == generation &&
                !m->workers[i].retiring && m->workers[i].number == number)
                break;
        if (i == STATUS_MAX_SLOTS)
            return number;
    }
}

static int
master_count(struct master *m, int generation, int ready_only)
{
    int i, n = 0;

    for (i = 0; i < STATUS_MAX_SLOTS; i++)
        if (m->workers[i].pid > 0 && m->workers[i].generation == generation &&
            !m->workers[i].retiring && (!ready_only || m->workers[i].ready))
            n++;
    return n;
}

static int
master_live_workers(struct master *m)
{
    int i, n = 0;

    for (i = 0; i < STATUS_MAX_SLOTS; i++)
        if (m->workers[i].pid > 0)
            n++;
    return n;
}

static void
master_read_ready(struct master *m)
{
    pid_t pid;
    int   i;

    while (read(m->ready_rd, &pid, sizeof(pid)) == sizeof(pid)) {
        for (i = 0; i < STATUS_MAX_SLOTS; i++)
            if (m->workers[i].pid == pid) {
                m->workers[i].ready = 1;
                break;
            }
    }
    master_check_generation(m);
}

/* Announces readiness, or finishes a reload, once a generation is complete. */
static void
master_check_generation(struct master *m)
{
    int i, want;

    if (m->stopping)
        return;
    if (m->next_gen != 0) {
        want = config_worker_count(&m->next_cfg);
        if (master_count(m, m->next_gen, 1) < want)
            return;
        /* The new generation serves; the old one drains. */
        for (i = 0; i < STATUS_MAX_SLOTS; i++) {
            struct master_worker *w = &m->workers[i];

            if (w->pid > 0 && w->generation != m->next_gen && !w->retiring) {
                w->retiring = 1;
                w->kill_at = m->now + (uint64_t)m->cfg.drain_timeout * 1000 +
                    KILL_GRACE_MS;
                /* Retire, not stop: idle keep-alive clients stay served. */
                kill(w->pid, SIGUSR1);
            }
        }
        /* Old workers hold their own copies until they start draining. */
        master_sockets_close(&m->cur, &m->next);
        m->cur = m->next;
        m->next.n = 0;
        m->cfg = m->next_cfg;
        m->gen = m->next_gen;
        m->next_gen = 0;
        m->respawn_pending = 0;
        __atomic_add_fetch(&m->status->reloads, 1, __ATOMIC_RELAXED);
        log_set_level(m->cfg.log_level);
        master_update_status(m);
        master_notify_status(m, "READY=1\n");
        log_event(LOG_NOTICE, MSGID_READY, NULL,
            "configuration reloaded, %d workers ready", master_count(m, m->gen, 1));
        return;
    }
    master_update_status(m);
    want = config_worker_count(&m->cfg);
    if (!m->announced && master_count(m, m->gen, 1) >= want) {
        m->announced = 1;
        master_notify_status(m, "READY=1\n");
        log_event(LOG_NOTICE, MSGID_READY, NULL, "ready: %d workers serving",
            want);
    } else if (m->announced) {
        master_notify_status(m, "");
    }
}

static void
master_update_status(struct master *m)
{
    __atomic_store_n(&m->status->workers_configured,
        config_worker_count(&m->cfg), __ATOMIC_RELAXED);
    __atomic_store_n(&m->status->workers_alive,
        master_count(m, m->gen, 1), __ATOMIC_RELAXED);
}

/* The status text follows the workers' database connections: degraded
 * while a ready worker has none, said once per change. */
static void
master_db_status(struct master *m)
{
    int i, down = 0;

    if (m->cfg.storage != CONFIG_STORAGE_POSTGRESQL)
        return;
    for (i = 0; i < STATUS_MAX_SLOTS && !down; i++)
        if (m->workers[i].pid > 0 && m->workers[i].ready &&
            __atomic_load_n(&m->status->slots[i].db_down, __ATOMIC_RELAXED))
            down = 1;
    if (down == m->db_down)
        return;
    m->db_down = down;
    master_notify_status(m, "");
}

static void
master_notify_status(struct master *m, const char *prefix)
{
    char listen[256];
    int  i;
    size_t len = 0;

    listen[0] = '\0';
    if (m->activated) {
        snprintf(listen, sizeof(listen), "%d socket%s from systemd", m->cur.n,
            m->cur.n == 1 ? "" : "s");
    } else {
        for (i = 0; i < m->cfg.nlisten && len < sizeof(listen); i++) {
            int n = snprintf(listen + len, sizeof(listen) - len, "%s%s",
                i ? ", " : "", m->cfg.listen[i].text);

            if (n < 0)
                break;
            len += (size_t)n;
        }
    }
    sd_notifyf(0, "%sSTATUS=%s on %s with %d/%d workers", prefix,
        m->db_down ? "Degraded, the database cannot be reached: serving" :
        "Serving", listen, master_count(m, m->gen, 1),
        config_worker_count(&m->cfg));
}

static void
master_reap(struct master *m)
{
    pid_t pid;
    int   wstatus, i;

    while ((pid = waitpid(-1, &wstatus, WNOHANG)) > 0) {
        for (i = 0; i < STATUS_MAX_SLOTS; i++) {
            struct master_worker *w = &m->workers[i];

            if (w->pid != pid)
                continue;
            status_slot_clear(m->status, &m->status->slots[i]);
            throttle_conn_clear_slot(m->throttle, i);
            if (!w->retiring && !m->stopping)
                master_crashed(m, w, wstatus);
            else
                log_msg(LOG_DEBUG, "worker %ld exited", (long)pid);
            w->pid = 0;
            break;
        }
    }
    master_check_generation(m);
}

static void
master_crashed(struct master *m, struct master_worker *w, int wstatus)
{
    char        how[64], fpid[32], fsig[32];
    const char *extra[3];
    uint64_t    delay;
    int         i, recent = 0, target;

    if (WIFSIGNALED(wstatus))
        snprintf(how, sizeof(how), "killed by signal %d (%s)", WTERMSIG(wstatus),
            strsignal(WTERMSIG(wstatus)));
    else
        snprintf(how, sizeof(how), "exited with status %d", WEXITSTATUS(wstatus));
    snprintf(fpid, sizeof(fpid), "USERAPID_WORKER_PID=%ld", (long)w->pid);
    snprintf(fsig, sizeof(fsig), "USERAPID_WORKER_STATUS=%d", wstatus);
    extra[0] = fpid;
    extra[1] = fsig;
    extra[2] = NULL;
    log_event(LOG_ERR, MSGID_WORKER_CRASHED, extra, "worker %ld %s",
        (long)w->pid, how);

    /* Keep the crash times of the window, oldest first. */
    for (i = 0; i < m->ncrashes; i++)
        if (m->now - m->crashes[i] < CRASH_WINDOW_MS)
            m->crashes[recent++] = m->crashes[i];
    m->ncrashes = recent;
    if (m->ncrashes == CRASH_LIMIT) {
        memmove(m->crashes, m->crashes + 1, sizeof(m->crashes[0]) * (CRASH_LIMIT - 1));
        m->ncrashes--;
    }
    m->crashes[m->ncrashes++] = m->now;
    if (m->ncrashes >= CRASH_LIMIT) {
        log_msg(LOG_CRIT, "%d worker crashes within %d s: giving up",
            m->ncrashes, CRASH_WINDOW_MS / 1000);
        sd_notify(0, "STOPPING=1\nSTATUS=Workers crash in a loop, exiting");
        for (i = 0; i < STATUS_MAX_SLOTS; i++)
            if (m->workers[i].pid > 0 && &m->workers[i] != w)
                kill(m->workers[i].pid, SIGKILL);
        m->stopping = 1;
        m->crash_loop = 1;
        m->stop_kill_at = m->now;
        return;
    }
    __atomic_add_fetch(&m->status->worker_restarts, 1, __ATOMIC_RELAXED);
    master_update_status(m);
    master_notify_status(m, "");
    target = m->next_gen ? m->next_gen : m->gen;
    if (w->generation != target)
        return;         /* that generation is on its way out anyway */
    delay = m->ncrashes <= 1 ? 0 : (uint64_t)100 << (m->ncrashes - 2);
    if (delay > BACKOFF_MAX_MS)
        delay = BACKOFF_MAX_MS;
    if (m->respawn_pending == 0 || m->now + delay > m->respawn_at)
        m->respawn_at = m->now + delay;
    m->respawn_pending++;
}

static void
master_reload(struct master *m)
{
    struct config next;
    char          err[CONFIG_ERR_LEN], ferr[CONFIG_ERR_LEN + 16];
    const char   *extra[2];
    int           i;

    if (m->stopping)
        return;
    sd_notifyf(0, "RELOADING=1\nMONOTONIC_USEC=%llu\nSTATUS=Reloading configuration",
        (unsigned long long)m->now * 1000);
    log_event(LOG_NOTICE, MSGID_RELOADING, NULL, "reloading configuration");
    if (m->next_gen != 0) {
        /* A reload is under way: abandon its workers, start again. */
        for (i = 0; i < STATUS_MAX_SLOTS; i++) {
            struct master_worker *w = &m->workers[i];

            if (w->pid > 0 && w->generation == m->next_gen) {
                w->retiring = 1;
                w->kill_at = m->now;
                kill(w->pid, SIGKILL);
            }
        }
        master_sockets_close(&m->next, &m->cur);
        m->next_gen = 0;
    }
    if (config_read(&m->opts->src, &next, err, sizeof(err)) == -1)
        goto reject;
    /* A new state directory is checked and prepared as at start-up, and
     * the session table is re-opened when its limits changed. */
    if (master_store_moved(&m->cfg, &next) &&
        (master_check_state_dir(next.state_dir) == -1 ||
        master_prepare_state(&next) != 0)) {
        snprintf(err, sizeof(err), "the state in %.400s is not usable",
            next.storage == CONFIG_STORAGE_POSTGRESQL ? "the database" :
            next.state_dir);
        goto reject;
    }
    if (m->activated) {
        m->next = m->cur;
    } else if (master_listen(&next, &m->cfg, &m->cur, &m->next) == -1) {
        snprintf(err, sizeof(err), "cannot listen on the new addresses");
        goto reject;
    }
    if (master_sockets_tls(m, &next, &m->next, &m->cur) == -1) {
        master_sockets_close(&m->next, &m->cur);
        snprintf(err, sizeof(err), "no certificate and key to serve TLS with");
        goto reject;
    }
    m->next_cfg = next;
    m->next_gen = m->gen + 1;
    master_raise_nofile(&next);
    for (i = 0; i < config_worker_count(&next); i++)
        if (master_spawn(m, m->next_gen) == -1) {
            m->respawn_pending++;
            m->respawn_at = m->now + 1000;
        }
    return;

reject:
    snprintf(ferr, sizeof(ferr), "USERAPID_ERROR=%s", err);
    extra[0] = ferr;
    extra[1] = NULL;
    log_event(LOG_ERR, MSGID_CONFIG_REJECTED, extra,
        "new configuration rejected, keeping the old one: %s", err);
    master_notify_status(m, "READY=1\n");
}

static void
master_stop(struct master *m)
{
    int i;

    if (m->stopping) {
        /* Asked twice: do not wait for the drain. */
        for (i = 0; i < STATUS_MAX_SLOTS; i++)
            if (m->workers[i].pid > 0)
                kill(m->workers[i].pid, SIGKILL);
        return;
    }
    m->stopping = 1;
    m->stop_kill_at = m->now + (uint64_t)m->cfg.drain_timeout * 1000 + KILL_GRACE_MS;
    sd_notify(0, "STOPPING=1\nSTATUS=Stopping: draining connections");
    log_event(LOG_NOTICE, MSGID_STOPPING, NULL,
        "stopping: draining connections for up to %ld s", m->cfg.drain_timeout);
    for (i = 0; i < STATUS_MAX_SLOTS; i++)
        if (m->workers[i].pid > 0)
            kill(m->workers[i].pid, SIGTERM);
}

static void
master_timers(struct master *m)
{
    int i, n, ok;

    for (i = 0; i < STATUS_MAX_SLOTS; i++) {
        struct master_worker *w = &m->workers[i];

        if (w->pid > 0 && ((w->retiring && m->now >= w->kill_at) ||
            (m->stopping && m->now >= m->stop_kill_at))) {
            kill(w->pid, SIGKILL);
            w->kill_at = m->now + 1000;
        }
    }
    if (!m->stopping && m->respawn_pending > 0 && m->now >= m->respawn_at) {
        int gen = m->next_gen ? m->next_gen : m->gen;
        const char *extra[2];
        char        fgen[32];

        n = m->respawn_pending;
        m->respawn_pending = 0;
        snprintf(fgen, sizeof(fgen), "USERAPID_GENERATION=%d", gen);
        extra[0] = fgen;
        extra[1] = NULL;
        for (i = 0; i < n; i++) {
            if (master_spawn(m, gen) == -1) {
                m->respawn_pending = n - i;
                m->respawn_at = m->now + 1000;
                break;
            }
            log_event(LOG_NOTICE, MSGID_WORKER_RESPAWNED, extra,
                "worker respawned");
        }
    }
    master_db_status(m);
    if (m->tickets != NULL && tls_tickets_rotate(m->tickets,
        (int64_t)(m->now / 1000)) == -1)
        log_msg(LOG_ERR, "TLS: cannot make a new ticket key: %s", strerror(errno));
    if (m->watchdog_ms > 0 && m->now >= m->watchdog_next) {
        /* Healthy: every ready worker turned its loop recently. */
        ok = 1;
        for (i = 0; i < STATUS_MAX_SLOTS; i++) {
            uint64_t hb;

            if (m->workers[i].pid <= 0 || !m->workers[i].ready)
                continue;
            hb = __atomic_load_n(&m->status->slots[i].heartbeat_ms, __ATOMIC_RELAXED);
            if (hb != 0 && m->now > hb && m->now - hb > 2 * m->watchdog_ms + 2000)
                ok = 0;
        }
        if (ok)
            sd_notify(0, "WATCHDOG=1");
        else
            log_msg(LOG_WARNING, "a worker is not turning its loop; withholding WATCHDOG=1");
        m->watchdog_next = m->now + m->watchdog_ms;
    }
}

static int
master_poll_timeout(struct master *m)
{
    uint64_t next = m->now + 1000;
    int      i;

    if (m->respawn_pending > 0 && m->respawn_at < next)
        next = m->respawn_at;
    if (m->watchdog_ms > 0 && m->watchdog_next < next)
        next = m->watchdog_next;
    if (m->stopping && m->stop_kill_at < next)
        next = m->stop_kill_at;
    for (i = 0; i < STATUS_MAX_SLOTS; i++)
        if (m->workers[i].pid > 0 && m->workers[i].retiring &&
            m->workers[i].kill_at < next)
            next = m->workers[i].kill_at;
    return next <= m->now ? 0 : (int)(next - m->now);
}
