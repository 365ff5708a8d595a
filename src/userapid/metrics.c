/* SPDX-License-Identifier: MIT */
/*
 * metrics.c - the label sets, the counting, and the Prometheus text
 * exposition (version 0.0.4) of GET /metrics.
 *
 * Invariants:
 * - every counter lives in struct metrics_counters, in a worker's own
 *   status slot, written only by that worker's loop thread: an increment
 *   is a relaxed load and store (no locked instruction, no line another
 *   process writes);
 * - a scrape reports retired + the live slots (status_metrics_sum), and
 *   the master folds a dead worker's slot into retired atomically with
 *   respect to readers (status.h: fold_seq), so no counter ever goes
 *   down while the master lives, across worker crashes and reloads;
 * - every label value comes from the fixed tables below; nothing a client
 *   sent is ever written out;
 * - gauges (connections, in flight, hash queue) are read as they are, and
 *   a dead worker's are zeroed with its slot, not folded.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "metrics.h"
#include "status.h"

static const char *const metrics_route_names[METRICS_NROUTES] = {
    "/", "/status", "/session", "/users/{email}", "/lockouts",
    "/lockouts/{key}", "/sessions", "/sessions/{id}", "/ui/{file}", "other",
};

/* The statuses the server sends; the last slot is every other one. */
static const int metrics_codes[METRICS_NCODES - 1] = {
    100, 200, 201, 204, 400, 401, 403, 404, 405, 408, 409, 411, 413, 414,
    415, 422, 429, 431, 500, 501, 503, 505, 507,
};

static const char *const metrics_login_names[METRICS_NLOGINS] = {
    "ok", "failed", "throttled",
};

/* Upper bounds in microseconds and as written; the last is +Inf. */
static const uint64_t metrics_bucket_us[METRICS_NBUCKETS - 1] = {
    500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 500000,
    1000000, 2500000, 5000000,
};
static const char *const metrics_bucket_names[METRICS_NBUCKETS] = {
    "0.0005", "0.001", "0.0025", "0.005", "0.01", "0.025", "0.05", "0.1",
    "0.25", "0.5", "1", "2.5", "5", "+Inf",
};

static void metrics_inc(uint64_t *p, uint64_t n);
static int  metrics_code_index(int status);
static const char *metrics_method_name(int method);
static int  metrics_write_requests(struct buf *out, const struct metrics_counters *m);
static int  metrics_write_durations(struct buf *out, const struct metrics_counters *m);
static int  metrics_write_logins(struct buf *out, const struct metrics_counters *m);
static int  metrics_write_state(struct buf *out, const struct status *st,
                const struct metrics_gauges *g);
static int  metrics_write_process(struct buf *out, const struct status *st,
                const struct metrics_gauges *g);
static int  metrics_header(struct buf *out, const char *name, const char *type,
                const char *help);
static int  metrics_sample(struct buf *out, const char *name, const char *type,
                const char *help, long long v);
static int  metrics_proc(pid_t pid, uint64_t *rss, uint64_t *fds);

enum metrics_route
metrics_route(const char *path, size_t len)
{
    static const struct {
        const char         *p;
        size_t              n;
        int                 prefix;
        enum metrics_route  route;
    } r[] = {
        { "/", 1, 0, METRICS_ROUTE_ROOT },
        { "/status", 7, 0, METRICS_ROUTE_STATUS },
        { "/session", 8, 0, METRICS_ROUTE_SESSION },
        { "/users/", 7, 1, METRICS_ROUTE_USER },
        { "/lockouts", 9, 0, METRICS_ROUTE_LOCKOUTS },
        { "/lockouts/", 10, 1, METRICS_ROUTE_LOCKOUT },
        { "/sessions", 9, 0, METRICS_ROUTE_SESSIONS },
        { "/sessions/", 10, 1, METRICS_ROUTE_SESSION_ID },
        { "/ui/", 4, 0, METRICS_ROUTE_UI },
        { "/ui/", 4, 1, METRICS_ROUTE_UI },
    };
    size_t i;

    /* As api.c routes: a prefix route needs something after it. */
    for (i = 0; i < sizeof(r) / sizeof(r[0]); i++)
        if (r[i].prefix ? len > r[i].n && memcmp(path, r[i].p, r[i].n) == 0 :
            len == r[i].n && memcmp(path, r[i].p, len) == 0)
            return r[i].route;
    return METRICS_ROUTE_OTHER;
}

/* Single writer: a relaxed load and store, never torn for a reader. */
static void
metrics_inc(uint64_t *p, uint64_t n)
{
    __atomic_store_n(p, __atomic_load_n(p, __ATOMIC_RELAXED) + n,
        __ATOMIC_RELAXED);
}

static int
metrics_code_index(int status)
{
    int i;

    for (i = 0; i < METRICS_NCODES - 1; i++)
        if (metrics_codes[i] == status)
            return i;
    return METRICS_NCODES - 1;
}

static const char *
metrics_method_name(int method)
{
    return method <= HTTP_METHOD_UNKNOWN || method > HTTP_METHOD_MAX ? "other" :
        http_method_name((enum http_method)method);
}

void
metrics_count_request(struct metrics_counters *m, enum http_method method,
    enum metrics_route route, int status, uint64_t duration_us)
{
    int b;

    if ((int)method < 0 || method > HTTP_METHOD_MAX)
        method = HTTP_METHOD_UNKNOWN;
    metrics_inc(&m->requests[method][route][metrics_code_index(status)], 1);
    for (b = 0; b < METRICS_NBUCKETS - 1; b++)
        if (duration_us <= metrics_bucket_us[b])
            break;
    metrics_inc(&m->duration_bucket[route][b], 1);
    metrics_inc(&m->duration_us[route], duration_us);
}

void
metrics_count_login(struct metrics_counters *m, enum metrics_login result)
{
    if (m != NULL)
        metrics_inc(&m->logins[result], 1);
}

void
metrics_fold(struct metrics_counters *to, const struct metrics_counters *from)
{
    const uint64_t *f = (const uint64_t *)from;
    uint64_t       *t = (uint64_t *)to;
    size_t          i;

    for (i = 0; i < sizeof(*from) / sizeof(uint64_t); i++)
        metrics_inc(&t[i], __atomic_load_n(&f[i], __ATOMIC_RELAXED));
}

int
metrics_write(struct buf *out, const struct status *st,
    const struct metrics_gauges *g)
{
    struct metrics_counters *m;
    int                      rc;

    if ((m = malloc(sizeof(*m))) == NULL)
        return -1;
    status_metrics_sum(st, m);
    rc = metrics_write_requests(out, m) == -1 ||
        metrics_write_durations(out, m) == -1 ||
        metrics_write_logins(out, m) == -1 ||
        metrics_write_state(out, st, g) == -1 ||
        metrics_write_process(out, st, g) == -1 ? -1 : 0;
    free(m);
    return rc;
}

static int
metrics_header(struct buf *out, const char *name, const char *type,
    const char *help)
{
    return buf_appendf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name,
        type);
}

/* Only the combinations that were seen: most never are. */
static int
metrics_write_requests(struct buf *out, const struct metrics_counters *m)
{
    const char *name = "userapid_http_requests_total";
    char        code[8];
    int         me, r, c;

    if (metrics_header(out, name, "counter",
        "HTTP requests answered, by method, route and status code.") == -1)
        return -1;
    for (me = 0; me < METRICS_NMETHODS; me++)
        for (r = 0; r < METRICS_NROUTES; r++)
            for (c = 0; c < METRICS_NCODES; c++) {
                if (m->requests[me][r][c] == 0)
                    continue;
                if (c == METRICS_NCODES - 1)
                    snprintf(code, sizeof(code), "other");
                else
                    snprintf(code, sizeof(code), "%d", metrics_codes[c]);
                if (buf_appendf(out, "%s{method=\"%s\",route=\"%s\",code=\"%s\"} "
                    "%llu\n", name, metrics_method_name(me),
                    metrics_route_names[r], code,
                    (unsigned long long)m->requests[me][r][c]) == -1)
                    return -1;
            }
    return 0;
}

/* Every route, always: a histogram's series should not come and go. */
static int
metrics_write_durations(struct buf *out, const struct metrics_counters *m)
{
    const char        *name = "userapid_http_request_duration_seconds";
    unsigned long long n;
    int                r, b;

    if (metrics_header(out, name, "histogram",
        "Time from a request's first byte to its answer being queued, by "
        "route.") == -1)
        return -1;
    for (r = 0; r < METRICS_NROUTES; r++) {
        n = 0;
        for (b = 0; b < METRICS_NBUCKETS; b++) {
            n += m->duration_bucket[r][b];
            if (buf_appendf(out, "%s_bucket{route=\"%s\",le=\"%s\"} %llu\n",
                name, metrics_route_names[r], metrics_bucket_names[b], n) == -1)
                return -1;
        }
        if (buf_appendf(out, "%s_sum{route=\"%s\"} %llu.%06llu\n"
            "%s_count{route=\"%s\"} %llu\n", name, metrics_route_names[r],
            (unsigned long long)(m->duration_us[r] / 1000000),
            (unsigned long long)(m->duration_us[r] % 1000000), name,
            metrics_route_names[r], n) == -1)
            return -1;
    }
    return 0;
}

static int
metrics_write_logins(struct buf *out, const struct metrics_counters *m)
{
    int i;

    if (metrics_header(out, "userapid_logins_total", "counter",
        "Logins by outcome: ok, failed (wrong email or password), throttled "
        "(refused by the lockout).") == -1)
        return -1;
    for (i = 0; i < METRICS_NLOGINS; i++)
        if (buf_appendf(out, "userapid_logins_total{result=\"%s\"} %llu\n",
            metrics_login_names[i], (unsigned long long)m->logins[i]) == -1)
            return -1;
    return 0;
}

/* One unlabelled sample with its HELP and TYPE. */
static int
metrics_sample(struct buf *out, const char *name, const char *type,
    const char *help, long long v)
{
    return metrics_header(out, name, type, help) == -1 ||
        buf_appendf(out, "%s %lld\n", name, v) == -1 ? -1 : 0;
}

static int
metrics_write_state(struct buf *out, const struct status *st,
    const struct metrics_gauges *g)
{
    long long flight = 0, queue = 0;
    int       i;

    for (i = 0; i < STATUS_MAX_SLOTS; i++) {
        if (__atomic_load_n(&st->slots[i].pid, __ATOMIC_ACQUIRE) == 0)
            continue;
        flight += __atomic_load_n(&st->slots[i].in_flight, __ATOMIC_RELAXED);
        queue += (long long)__atomic_load_n(&st->slots[i].hash_queue,
            __ATOMIC_RELAXED);
    }
    return metrics_sample(out, "userapid_connections", "gauge",
        "Open client connections, over all workers.",
        __atomic_load_n(&st->connections, __ATOMIC_RELAXED)) == -1 ||
        metrics_sample(out, "userapid_http_requests_in_flight", "gauge",
        "Requests being answered.", flight) == -1 ||
        metrics_sample(out, "userapid_users", "gauge", "User accounts.",
        (long long)g->users) == -1 ||
        metrics_sample(out, "userapid_sessions", "gauge", "Live sessions.",
        (long long)g->sessions) == -1 ||
        metrics_sample(out, "userapid_hash_queue_length", "gauge",
        "Password hashing jobs waiting for a thread.", queue) == -1 ||
        metrics_sample(out, "userapid_worker_restarts_total", "counter",
        "Workers that exited without being asked.",
        (long long)__atomic_load_n(&st->worker_restarts, __ATOMIC_RELAXED)) == -1 ||
        metrics_sample(out, "userapid_reloads_total", "counter",
        "Configuration reloads completed.",
        (long long)__atomic_load_n(&st->reloads, __ATOMIC_RELAXED)) == -1 ? -1 : 0;
}

/* The master's and the live workers' memory and descriptors. */
static int
metrics_write_process(struct buf *out, const struct status *st,
    const struct metrics_gauges *g)
{
    uint64_t rss = 0, fds = 0;
    pid_t    pid;
    int      i;

    metrics_proc(g->master_pid, &rss, &fds);
    for (i = 0; i < STATUS_MAX_SLOTS; i++)
        if ((pid = __atomic_load_n(&st->slots[i].pid, __ATOMIC_ACQUIRE)) != 0)
            metrics_proc(pid, &rss, &fds);
    return metrics_header(out, "userapid_build_info", "gauge",
        "Always 1; the version is the label.") == -1 ||
        buf_appendf(out, "userapid_build_info{version=\"%s\"} 1\n",
        USERAPID_VERSION) == -1 ||
        metrics_sample(out, "process_start_time_seconds", "gauge",
        "Start time of the master process since the Unix epoch in seconds.",
        (long long)st->started_unix) == -1 ||
        metrics_sample(out, "process_resident_memory_bytes", "gauge",
        "Resident memory of the master and its workers in bytes.",
        (long long)rss) == -1 ||
        metrics_sample(out, "process_open_fds", "gauge",
        "Open file descriptors of the master and its workers.",
        (long long)fds) == -1 ? -1 : 0;
}

/*
 * Adds pid's resident bytes (/proc/PID/statm) and open descriptors
 * (/proc/PID/fd) to *rss and *fds.  A process gone meanwhile adds
 * nothing.  0, or -1 when either could not be read.
 */
static int
metrics_proc(pid_t pid, uint64_t *rss, uint64_t *fds)
{
    char               path[64];
    unsigned long long size, resident;
    struct dirent     *de;
    FILE              *fp;
    DIR               *d;
    int                rc = 0;

    snprintf(path, sizeof(path), "/proc/%ld/statm", (long)pid);
    if ((fp = fopen(path, "re")) != NULL &&
        fscanf(fp, "%llu %llu", &size, &resident) == 2)
        *rss += (uint64_t)resident * (uint64_t)sysconf(_SC_PAGESIZE);
    else
        rc = -1;
    if (fp != NULL)
        fclose(fp);
    snprintf(path, sizeof(path), "/proc/%ld/fd", (long)pid);
    if ((d = opendir(path)) == NULL)
        return -1;
    while ((de = readdir(d)) != NULL)
        if (de->d_name[0] != '.')
            (*fds)++;
    closedir(d);
    return rc;
}
