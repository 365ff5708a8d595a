/* SPDX-License-Identifier: MIT */
/*
 * bench-hashrate - raw password-hash rate of this machine, the reference
 * for the hashing scenarios of scripts/bench.
 *
 *   bench-hashrate SETTING THREADS SECONDS
 *
 * Runs THREADS threads that call crypt_rn(3) with SETTING (a complete
 * crypt hash or a setting; its method, cost and salt are used) for SECONDS
 * seconds and prints one line: "<hashes per second> <hashes> <seconds>
 * <CPU microseconds per hash>".
 * The password comes from $BENCH_PASSWORD (default "benchpassword1").
 */
#define _GNU_SOURCE
#include <crypt.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

static const char  *setting, *password;
static atomic_int   stop;

struct worker {
    pthread_t           tid;
    unsigned long       n;
    int                 failed;
};

static double
now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *
run(void *arg)
{
    struct worker      *w = arg;
    struct crypt_data  *cd;

    if ((cd = calloc(1, sizeof(*cd))) == NULL) {
        w->failed = 1;
        return NULL;
    }
    while (!atomic_load(&stop)) {
        if (crypt_rn(password, setting, cd, sizeof(*cd)) == NULL ||
            cd->output[0] == '*') {
            w->failed = 1;
            break;
        }
        w->n++;
    }
    free(cd);
    return NULL;
}

int
main(int argc, char **argv)
{
    struct worker  *w;
    struct timespec ts;
    struct rusage   ru;
    double          secs, t0, t1, cpu;
    unsigned long   total = 0;
    int             i, nthreads;

    if (argc != 4 || (nthreads = atoi(argv[2])) < 1 ||
        (secs = atof(argv[3])) <= 0) {
        fprintf(stderr, "usage: bench-hashrate SETTING THREADS SECONDS\n");
        return 2;
    }
    setting = argv[1];
    if ((password = getenv("BENCH_PASSWORD")) == NULL)
        password = "benchpassword1";
    if ((w = calloc((size_t)nthreads, sizeof(*w))) == NULL)
        return 1;
    t0 = now();
    for (i = 0; i < nthreads; i++) {
        if ((errno = pthread_create(&w[i].tid, NULL, run, &w[i])) != 0) {
            perror("bench-hashrate: pthread_create");
            return 1;
        }
    }
    ts.tv_sec = (time_t)secs;
    ts.tv_nsec = (long)((secs - (double)ts.tv_sec) * 1e9);
    while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
        ;
    atomic_store(&stop, 1);
    for (i = 0; i < nthreads; i++) {
        pthread_join(w[i].tid, NULL);
        if (w[i].failed) {
            fprintf(stderr, "bench-hashrate: crypt_rn failed for '%s'\n",
                setting);
            return 1;
        }
        total += w[i].n;
    }
    /* Up to the last join: the hashes that were running when the time
     * ran out count, and so does the time they took. */
    t1 = now();
    getrusage(RUSAGE_SELF, &ru);
    cpu = (double)ru.ru_utime.tv_sec * 1e6 + (double)ru.ru_utime.tv_usec +
        (double)ru.ru_stime.tv_sec * 1e6 + (double)ru.ru_stime.tv_usec;
    printf("%.1f %lu %.3f %.1f\n", (double)total / (t1 - t0), total, t1 - t0,
        total > 0 ? cpu / (double)total : 0.0);
    free(w);
    return 0;
}
