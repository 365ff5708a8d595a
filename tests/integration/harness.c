/* SPDX-License-Identifier: MIT */
/*
 * harness.c - integration test helpers; see harness.h.
 *
 * With USERAPID_TEST_PG set (the conninfo of a server that
 * tests/pg/with-pg started, USERAPID_TEST_PG_DIR its directory), every
 * daemon stores in PostgreSQL: a database of its own, made by pgtest and
 * given its schema by "userapictl db init", unless daemon_opts.share_db
 * names another daemon's.
 *
 * With USERAPID_CONTRACT_LOG naming a file, http_exchange and
 * http_exchange_from (the one way the API suites talk to the daemon)
 * append each exchange to it as one JSON line, {"method","path","status",
 * "headers" (names in lower case),"body"}, for tests/contract/check.
 * Requests sent with curl (run_cmd) or over a connection of the test's own
 * are not recorded.
 */
#include <arpa/inet.h>
#include <check.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "harness.h"

static uint64_t
mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void
sleep_ms(int ms)
{
    struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

    while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
        ;
}

const char *
harness_bin(void)
{
    const char *b = getenv("USERAPID_BIN");

    return b != NULL ? b : "build/userapid";
}

int
harness_free_port(void)
{
    struct sockaddr_in sin;
    socklen_t          len = sizeof(sin);
    int                fd, port;

    fd = socket(AF_INET, SOCK_STREAM, 0);
    ck_assert_int_ge(fd, 0);
    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
    ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
    port = ntohs(sin.sin_port);
    close(fd);
    return port;
}

void
daemon_write_conf(struct daemon *d, int workers, const char *extra)
{
    char listen[64];

    snprintf(listen, sizeof(listen), "listen = 127.0.0.1:%d\n", d->port);
    daemon_write_conf_listen(d, workers, listen, extra);
}

void
daemon_write_conf_listen(struct daemon *d, int workers, const char *listen,
    const char *extra)
{
    FILE *fp;
    char  tmp[320];

    /* Written aside and renamed, so a reload never reads half a file. */
    snprintf(tmp, sizeof(tmp), "%s.tmp", d->conf);
    fp = fopen(tmp, "w");
    ck_assert_ptr_nonnull(fp);
    if (extra == NULL)
        extra = "";
    fprintf(fp, "# written by the test harness\n"
        "%s"
        "workers = %d\n"
        "state_dir = %s\n", listen, workers > 0 ? workers : 2, d->state_dir);
    /* Test defaults, unless the test sets the key itself. */
    if (strstr(extra, "header_timeout") == NULL)
        fprintf(fp, "header_timeout = 2\n");
    if (strstr(extra, "drain_timeout") == NULL)
        fprintf(fp, "drain_timeout = 5\n");
    if (strstr(extra, "log_level") == NULL)
        fprintf(fp, "log_level = debug\n");
    if (harness_pg() != NULL && d->dbname[0] != '\0' &&
        strstr(extra, "storage") == NULL)
        fprintf(fp, "storage = postgresql\ndatabase_url = %s dbname=%s\n",
            harness_pg(), d->dbname);
    fprintf(fp, "%s\n", extra);
    /* Tests create many accounts from 127.0.0.1; the ones about this
     * limit set it themselves.  After extra, so its line numbers stay. */
    if (strstr(extra, "registration_max_per_ip") == NULL)
        fprintf(fp, "registration_max_per_ip = 1000000\n");
    ck_assert_int_eq(fclose(fp), 0);
    ck_assert_int_eq(rename(tmp, d->conf), 0);
}

const char *
harness_pg(void)
{
    const char *pg = getenv("USERAPID_TEST_PG");

    return pg != NULL && *pg != '\0' ? pg : NULL;
}

/* d's own database, named after its directory. */
static void
daemon_db_name(struct daemon *d)
{
    char *p;

    snprintf(d->dbname, sizeof(d->dbname), "t_%s", strrchr(d->dir, '.') + 1);
    for (p = d->dbname; *p != '\0'; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
}

/* Makes d's database and its schema, as the configuration names it. */
static void
daemon_make_db(struct daemon *d)
{
    const char *ctl = getenv("USERAPICTL_BIN");
    char       *out;
    int         st;

    out = run_cmd(&st, "%s/tests/pg/pgtest createdb %s %s 2>&1 && "
        "%s --config %s db init 2>&1", getenv("USERAPID_SRCDIR") ?
        getenv("USERAPID_SRCDIR") : ".", getenv("USERAPID_TEST_PG_DIR"),
        d->dbname, ctl != NULL ? ctl : "build/userapictl", d->conf);
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0,
        "cannot make the test database %s: %s", d->dbname, out);
    free(out);
}

void
daemon_prepare(struct daemon *d, const struct daemon_opts *o)
{
    char tmpl[] = "/tmp/userapid-test.XXXXXX";

    memset(d, 0, sizeof(*d));
    d->notify_fd = -1;
    ck_assert_ptr_nonnull(mkdtemp(tmpl));
    snprintf(d->dir, sizeof(d->dir), "%s", tmpl);
    snprintf(d->state_dir, sizeof(d->state_dir), "%s/state", d->dir);
    snprintf(d->conf, sizeof(d->conf), "%s/userapid.conf", d->dir);
    snprintf(d->log, sizeof(d->log), "%s/stderr.log", d->dir);
    snprintf(d->notify_path, sizeof(d->notify_path), "%s/notify", d->dir);
    ck_assert_int_eq(mkdir(d->state_dir, 0700), 0);
    d->port = harness_free_port();
    if (harness_pg() != NULL && o->share_db != NULL)
        snprintf(d->dbname, sizeof(d->dbname), "%s", o->share_db->dbname);
    else if (harness_pg() != NULL)
        daemon_db_name(d);
    daemon_write_conf(d, o->workers, o->conf_extra);
    if (harness_pg() != NULL && o->share_db == NULL)
        daemon_make_db(d);
}

static void
daemon_open_notify(struct daemon *d)
{
    struct sockaddr_un sun;

    d->notify_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    ck_assert_int_ge(d->notify_fd, 0);
    memset(&sun, 0, sizeof(sun));
    sun.sun_family = AF_UNIX;
    ck_assert_uint_lt(strlen(d->notify_path), sizeof(sun.sun_path));
    memcpy(sun.sun_path, d->notify_path, strlen(d->notify_path) + 1);
    ck_assert_int_eq(bind(d->notify_fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
}

void
daemon_start(struct daemon *d, const struct daemon_opts *o)
{
    char     portarg[64];
    uint64_t until;
    int      fd;

    if (d->dir[0] == '\0')
        daemon_prepare(d, o);
    if (o->notify)
        daemon_open_notify(d);
    /* Workers orphaned by a killed master become ours to reap. */
    prctl(PR_SET_CHILD_SUBREAPER, 1);
    d->pid = fork();
    ck_assert_int_ge(d->pid, 0);
    if (d->pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        fd = open(d->log, O_WRONLY | O_CREAT | O_APPEND, 0600);
        if (fd >= 0) {
            dup2(fd, STDERR_FILENO);
            close(fd);
        }
        unsetenv("JOURNAL_STREAM");
        if (o->journal) {
            struct stat st;
            char        js[64];

            if (fstat(STDERR_FILENO, &st) == 0) {
                snprintf(js, sizeof(js), "%llu:%llu",
                    (unsigned long long)st.st_dev, (unsigned long long)st.st_ino);
                setenv("JOURNAL_STREAM", js, 1);
            }
        }
        unsetenv("LISTEN_FDS");
        unsetenv("LISTEN_PID");
        if (o->notify)
            setenv("NOTIFY_SOCKET", d->notify_path, 1);
        else
            unsetenv("NOTIFY_SOCKET");
        if (o->watchdog_usec != NULL)
            setenv("WATCHDOG_USEC", o->watchdog_usec, 1);
        if (o->socket_activate) {
            snprintf(portarg, sizeof(portarg), "127.0.0.1:%d", d->port);
            execlp("systemd-socket-activate", "systemd-socket-activate",
                "-l", portarg, "-E", "NOTIFY_SOCKET", harness_bin(),
                "--config", d->conf, (char *)NULL);
        } else {
            execl(harness_bin(), harness_bin(), "--config", d->conf, (char *)NULL);
        }
        _exit(127);
    }
    if (o->no_wait)
        return;
    /* Ready when HEAD / answers 200. */
    until = mono_ms() + 10000;
    while (mono_ms() < until) {
        char *r;
        int   st;

        if (waitpid(d->pid, &st, WNOHANG) == d->pid) {
            char *log = daemon_log(d);

            ck_abort_msg("daemon exited early (status %d): %s", st, log);
        }
        if (!o->socket_activate) {
            fd = http_connect(d->port);
            if (fd < 0) {
                sleep_ms(20);
                continue;
            }
            close(fd);
        }
        r = http_exchange(d->port, "HEAD / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", 3000);
        if (r != NULL && http_status(r) == 200) {
            char wk[32];

            /* Every worker up, so tests see a steady state. */
            if (http_header(r, "X-Userapid-Workers", wk, sizeof(wk))) {
                int alive = 0, conf = -1;

                if (sscanf(wk, "%d/%d", &alive, &conf) == 2 && alive == conf) {
                    free(r);
                    return;
                }
            }
        }
        free(r);
        sleep_ms(20);
    }
    ck_abort_msg("daemon did not become ready");
}

int
daemon_wait(struct daemon *d, int timeout_ms)
{
    uint64_t until = mono_ms() + (uint64_t)timeout_ms;
    int      st;

    while (mono_ms() < until) {
        pid_t p = waitpid(d->pid, &st, WNOHANG);

        if (p == d->pid) {
            d->pid = 0;
            return st;
        }
        sleep_ms(10);
    }
    return -1;
}

int
daemon_stop(struct daemon *d, int timeout_ms)
{
    if (d->pid <= 0)
        return -1;
    kill(d->pid, SIGTERM);
    return daemon_wait(d, timeout_ms);
}

/* Sanitizer reports in the daemon's stderr fail the test. */
static void
daemon_check_sanitizers(struct daemon *d)
{
    static const char *const marks[] = {
        "ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:",
    };
    char   *log;
    size_t  i;

    if (d->dir[0] == '\0')
        return;
    log = daemon_log(d);
    for (i = 0; i < sizeof(marks) / sizeof(marks[0]); i++) {
        const char *at = strstr(log, marks[i]);

        /* Check's messages are short: show the report, not the whole log. */
        ck_assert_msg(at == NULL, "sanitizer report in the daemon's log:\n%.3000s", at);
    }
    free(log);
}

void
daemon_cleanup(struct daemon *d)
{
    pid_t workers[64];
    char *out;
    int   st, n = 0, i, k;

    if (d->pid > 0) {
        n = daemon_workers(d, workers, 64);
        kill(d->pid, SIGKILL);
        waitpid(d->pid, &st, 0);
        d->pid = 0;
    }
    /* Orphaned workers finish within a second; their leak checks too. */
    for (k = 0; k < 300 && n > 0; k++) {
        while (waitpid(-1, &st, WNOHANG) > 0)
            ;
        for (i = 0; i < n; i++)
            if (kill(workers[i], 0) == 0)
                break;
        if (i == n)
            break;
        sleep_ms(10);
    }
    daemon_check_sanitizers(d);
    if (d->notify_fd >= 0)
        close(d->notify_fd);
    d->notify_fd = -1;
    if (d->dir[0] != '\0' && getenv("USERAPID_KEEP_TEST_DIRS") == NULL) {
        out = run_cmd(&st, "rm -rf '%s'", d->dir);
        free(out);
    }
    d->dir[0] = '\0';
}

int
daemon_workers(struct daemon *d, pid_t *pids, int max)
{
    char  path[128], buf[4096];
    FILE *fp;
    int   n = 0;
    long  p;
    char *s, *end;

    snprintf(path, sizeof(path), "/proc/%d/task/%d/children", (int)d->pid,
        (int)d->pid);
    if ((fp = fopen(path, "r")) == NULL)
        return 0;
    if (fgets(buf, sizeof(buf), fp) == NULL)
        buf[0] = '\0';
    fclose(fp);
    for (s = buf; n < max; s = end) {
        p = strtol(s, &end, 10);
        if (end == s)
            break;
        pids[n++] = (pid_t)p;
    }
    return n;
}

int
daemon_notify_wait(struct daemon *d, const char *what, int timeout_ms)
{
    uint64_t until = mono_ms() + (uint64_t)timeout_ms;
    size_t   wl = strlen(what);

    for (;;) {
        struct pollfd pfd = { d->notify_fd, POLLIN, 0 };
        const char   *s;
        ssize_t       n;

        /* Look for it at the start of a line. */
        for (s = d->notify_buf; s < d->notify_buf + d->notify_len; ) {
            const char *nl = memchr(s, '\n', (size_t)(d->notify_buf + d->notify_len - s));
            size_t      ll = nl ? (size_t)(nl - s) : (size_t)(d->notify_buf + d->notify_len - s);

            if (ll >= wl && memcmp(s, what, wl) == 0)
                return 1;
            if (nl == NULL)
                break;
            s = nl + 1;
        }
        if (mono_ms() >= until)
            return 0;
        if (poll(&pfd, 1, 50) > 0) {
            n = recv(d->notify_fd, d->notify_buf + d->notify_len,
                sizeof(d->notify_buf) - d->notify_len - 2, 0);
            if (n > 0) {
                d->notify_len += (size_t)n;
                d->notify_buf[d->notify_len++] = '\n';
                d->notify_buf[d->notify_len] = '\0';
            }
        }
    }
}

char *
daemon_log(struct daemon *d)
{
    int   st;

    return run_cmd(&st, "cat '%s' 2>/dev/null", d->log);
}

long
daemon_connections(struct daemon *d)
{
    char       *r = http_exchange_from(d->port, "127.0.7.9", "GET /status HTTP/1.1\r\n"
        "Host: t\r\nConnection: close\r\n\r\n", 3000);
    const char *c;
    long        n;

    ck_assert_int_eq(http_status(r), 200);
    c = strstr(http_body(r), "\"connections\":");
    ck_assert_ptr_nonnull(c);
    n = atol(c + 14);
    free(r);
    return n;
}

int
http_connect(int port)
{
    struct sockaddr_in sin;
    int                fd;

    fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_port = htons((uint16_t)port);
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1) {
        close(fd);
        return -1;
    }
    return fd;
}

int
http_connect_from(int port, const char *src)
{
    struct sockaddr_in sin;
    int                fd;

    fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    if (inet_pton(AF_INET, src, &sin.sin_addr) != 1 ||
        bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1) {
        close(fd);
        return -1;
    }
    sin.sin_port = htons((uint16_t)port);
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1) {
        close(fd);
        return -1;
    }
    return fd;
}

/*
 * Appends {"method","path","status","headers","body"} of the first request
 * in req and the first response in resp to $USERAPID_CONTRACT_LOG, in one
 * write(2) with O_APPEND, so lines from forked tests never interleave.
 */
static void
contract_record(const char *req, const char *resp)
{
    const char         *logpath = getenv("USERAPID_CONTRACT_LOG");
    const char         *sp, *sp2, *line, *end, *head_end, *body;
    struct json_object *o, *h;
    size_t              body_len;
    const char         *s;
    char               *out;
    int                 fd, status = http_status(resp);

    if (logpath == NULL || logpath[0] == '\0' || req == NULL || status < 0 ||
        (sp = strchr(req, ' ')) == NULL || (sp2 = strchr(sp + 1, ' ')) == NULL ||
        (head_end = strstr(resp, "\r\n\r\n")) == NULL)
        return;
    o = json_object_new_object();
    h = json_object_new_object();
    json_object_object_add(o, "method",
        json_object_new_string_len(req, (int)(sp - req)));
    json_object_object_add(o, "path",
        json_object_new_string_len(sp + 1, (int)(sp2 - sp - 1)));
    json_object_object_add(o, "status", json_object_new_int(status));
    /* Header fields, names in lower case; the last of a repeated name. */
    for (line = strstr(resp, "\r\n") + 2; line < head_end + 2; line = end + 2) {
        const char *colon, *v;
        char        name[128];
        size_t      i, n;

        end = strstr(line, "\r\n");
        colon = memchr(line, ':', (size_t)(end - line));
        if (colon == NULL || (n = (size_t)(colon - line)) >= sizeof(name))
            continue;
        for (i = 0; i < n; i++)
            name[i] = (char)tolower((unsigned char)line[i]);
        name[n] = '\0';
        for (v = colon + 1; v < end && (*v == ' ' || *v == '\t'); v++)
            ;
        json_object_object_add(h, name,
            json_object_new_string_len(v, (int)(end - v)));
    }
    json_object_object_add(o, "headers", h);
    /* The body of this response alone: Content-Length says where it ends. */
    body = head_end + 4;
    body_len = strlen(body);
    if (json_object_object_get_ex(h, "content-length", &h)) {
        size_t cl = strtoul(json_object_get_string(h), NULL, 10);

        if (cl < body_len)
            body_len = cl;
    } else if (status == 204 || status == 304)
        body_len = 0;
    json_object_object_add(o, "body",
        json_object_new_string_len(body, (int)body_len));
    s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
    if (asprintf(&out, "%s\n", s) != -1) {
        fd = open(logpath, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
        ck_assert_msg(fd >= 0, "cannot open %s: %s", logpath, strerror(errno));
        ck_assert_int_eq(write(fd, out, strlen(out)), (ssize_t)strlen(out));
        close(fd);
        free(out);
    }
    json_object_put(o);
}

char *
http_exchange_from(int port, const char *src, const char *req, int timeout_ms)
{
    char *r;
    int   fd = http_connect_from(port, src);

    if (fd < 0)
        return NULL;
    http_send_str(fd, req);
    r = http_recv_all(fd, timeout_ms, NULL);
    close(fd);
    contract_record(req, r);
    return r;
}

void
http_send(int fd, const char *data, size_t len)
{
    while (len > 0) {
        ssize_t n = send(fd, data, len, MSG_NOSIGNAL);

        if (n == -1 && errno == EINTR)
            continue;
        if (n <= 0)
            return;         /* the peer may legitimately close early */
        data += n;
        len -= (size_t)n;
    }
}

void
http_send_str(int fd, const char *s)
{
    http_send(fd, s, strlen(s));
}

char *
http_recv_all(int fd, int timeout_ms, size_t *lenp)
{
    size_t cap = 65536, len = 0;
    char  *buf = malloc(cap + 1);

    ck_assert_ptr_nonnull(buf);
    for (;;) {
        struct pollfd pfd = { fd, POLLIN, 0 };
        ssize_t       n;

        if (poll(&pfd, 1, timeout_ms) <= 0)
            break;
        if (len == cap) {
            cap *= 2;
            buf = realloc(buf, cap + 1);
            ck_assert_ptr_nonnull(buf);
        }
        n = recv(fd, buf + len, cap - len, 0);
        if (n <= 0)
            break;
        len += (size_t)n;
    }
    buf[len] = '\0';
    if (lenp != NULL)
        *lenp = len;
    return buf;
}

char *
http_recv_response(int fd, int timeout_ms)
{
    size_t cap = 65536, len = 0, need = 0;
    char  *buf = malloc(cap + 1);

    ck_assert_ptr_nonnull(buf);
    for (;;) {
        struct pollfd pfd = { fd, POLLIN, 0 };
        char         *end;
        ssize_t       n;

        buf[len] = '\0';
        if (need == 0 && (end = strstr(buf, "\r\n\r\n")) != NULL) {
            char cl[32];
            int  st = http_status(buf);

            need = (size_t)(end + 4 - buf);
            if (st >= 200 && st != 204 && st != 304 &&
                http_header(buf, "Content-Length", cl, sizeof(cl)))
                need += strtoul(cl, NULL, 10);
            if (st >= 100 && st < 200)
                need = (size_t)(end + 4 - buf);
        }
        if (need > 0 && len >= need)
            break;
        if (poll(&pfd, 1, timeout_ms) <= 0)
            break;
        if (len == cap) {
            cap *= 2;
            buf = realloc(buf, cap + 1);
            ck_assert_ptr_nonnull(buf);
        }
        /* One byte at a time: what follows this response stays unread. */
        n = recv(fd, buf + len, need > len ? need - len : 1, 0);
        if (n <= 0)
            break;
        len += (size_t)n;
    }
    buf[len] = '\0';
    return buf;
}

char *
http_exchange(int port, const char *req, int timeout_ms)
{
    char *r;
    int   fd = http_connect(port);

    if (fd < 0)
        return NULL;
    http_send_str(fd, req);
    r = http_recv_all(fd, timeout_ms, NULL);
    close(fd);
    contract_record(req, r);
    return r;
}

int
http_status(const char *resp)
{
    int st;

    if (resp == NULL || sscanf(resp, "HTTP/1.%*d %d", &st) != 1)
        return -1;
    return st;
}

int
http_header(const char *resp, const char *name, char *out, size_t outlen)
{
    const char *line, *end, *head_end;
    size_t      nl = strlen(name);

    if (resp == NULL)
        return 0;
    head_end = strstr(resp, "\r\n\r\n");
    if (head_end == NULL)
        head_end = resp + strlen(resp);
    line = strstr(resp, "\r\n");
    while (line != NULL && line < head_end) {
        line += 2;
        end = strstr(line, "\r\n");
        if (end == NULL)
            break;
        if ((size_t)(end - line) > nl && line[nl] == ':' &&
            strncasecmp(line, name, nl) == 0) {
            const char *v = line + nl + 1;

            while (*v == ' ')
                v++;
            snprintf(out, outlen, "%.*s", (int)(end - v), v);
            return 1;
        }
        line = end;
    }
    return 0;
}

const char *
http_body(const char *resp)
{
    const char *e = resp ? strstr(resp, "\r\n\r\n") : NULL;

    return e ? e + 4 : "";
}

int
http_closed(int fd, int timeout_ms)
{
    struct pollfd pfd = { fd, POLLIN, 0 };
    char          c;

    if (poll(&pfd, 1, timeout_ms) <= 0)
        return 0;
    return recv(fd, &c, 1, MSG_PEEK) <= 0;
}

char *
run_cmd(int *status, const char *fmt, ...)
{
    char    cmd[4096];
    va_list ap;
    FILE   *fp;
    size_t  cap = 4096, len = 0, n;
    char   *out = malloc(cap + 1);

    ck_assert_ptr_nonnull(out);
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof(cmd), fmt, ap);
    va_end(ap);
    fp = popen(cmd, "r");
    ck_assert_ptr_nonnull(fp);
    while ((n = fread(out + len, 1, cap - len, fp)) > 0) {
        len += n;
        if (len == cap) {
            cap *= 2;
            out = realloc(out, cap + 1);
            ck_assert_ptr_nonnull(out);
        }
    }
    out[len] = '\0';
    *status = pclose(fp);
    return out;
}
