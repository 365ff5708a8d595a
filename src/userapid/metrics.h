/* SPDX-License-Identifier: MIT */
/*
 * metrics.h - the counters behind GET /metrics and the Prometheus text
 * exposition (version 0.0.4) that sums them over every worker.
 *
 * Label values come from fixed sets only: a method is one the server
 * implements or "other", a route one of api.c's routes or "other", a code
 * one of METRICS_CODES or "other".  Nothing a client writes (an email, a
 * path) ever becomes a label.
 */
#ifndef USERAPID_METRICS_H
#define USERAPID_METRICS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "buf.h"
#include "http.h"

enum metrics_route {
    METRICS_ROUTE_ROOT,                 /* "/" */
    METRICS_ROUTE_STATUS,               /* "/status" */
    METRICS_ROUTE_SESSION,              /* "/session" */
    METRICS_ROUTE_USER,                 /* "/users/{email}" */
    METRICS_ROUTE_LOCKOUTS,             /* "/lockouts" */
    METRICS_ROUTE_LOCKOUT,              /* "/lockouts/{key}" */
    METRICS_ROUTE_SESSIONS,             /* "/sessions" */
    METRICS_ROUTE_SESSION_ID,           /* "/sessions/{id}" */
    METRICS_ROUTE_UI,                   /* "/ui/{file}": the web app */
    METRICS_ROUTE_OTHER,                /* anything else, "*" included */
    METRICS_NROUTES
};

enum metrics_login {
    METRICS_LOGIN_OK,
    METRICS_LOGIN_FAILED,               /* wrong email or password: 401 */
    METRICS_LOGIN_THROTTLED,            /* refused before hashing: 429 */
    METRICS_NLOGINS
};

#define METRICS_NMETHODS   (HTTP_METHOD_MAX + 1)  /* 0: "other" */
#define METRICS_NCODES     24                     /* the last: "other" */
#define METRICS_NBUCKETS   14                     /* the last: +Inf */

/*
 * One worker's counters, in its status slot (or the master's retired
 * totals).  Only that worker's loop thread writes them, so an increment
 * is a relaxed load and store: no locked instruction, no shared line.
 */
struct metrics_counters {
    uint64_t requests[METRICS_NMETHODS][METRICS_NROUTES][METRICS_NCODES];
    uint64_t duration_bucket[METRICS_NROUTES][METRICS_NBUCKETS];
    uint64_t duration_us[METRICS_NROUTES];
    uint64_t logins[METRICS_NLOGINS];
};

/* What the scraping worker knows that the status page does not hold. */
struct metrics_gauges {
    uint64_t users;
    uint64_t sessions;
    pid_t    master_pid;
};

struct status;

/* The route label of a request path (no query string). */
enum metrics_route metrics_route(const char *path, size_t len);

/* Counts one answer: its method, route, status and how long it took. */
void metrics_count_request(struct metrics_counters *m, enum http_method method,
         enum metrics_route route, int status, uint64_t duration_us);

/* Counts one login's outcome; m may be NULL (no status page). */
void metrics_count_login(struct metrics_counters *m, enum metrics_login result);

/* Adds every counter of from into to (the master folding a dead worker's
 * slot into the retired totals). */
void metrics_fold(struct metrics_counters *to, const struct metrics_counters *from);

/*
 * Appends the whole exposition to out: retired totals plus every live
 * slot, the status page's gauges, g, and the master's and workers'
 * memory and descriptors from /proc.  0, or -1 when out of memory.
 */
int  metrics_write(struct buf *out, const struct status *st,
         const struct metrics_gauges *g);

#endif
