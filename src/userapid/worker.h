/* SPDX-License-Identifier: MIT */
/*
 * worker.h - one worker process: an epoll loop serving connections.
 */
#ifndef USERAPID_WORKER_H
#define USERAPID_WORKER_H

#include <sys/types.h>

#include "config.h"
#include "status.h"
#include "throttle.h"
#include "tls.h"

struct worker_args {
    const struct config *cfg;
    struct status       *status;
    struct status_slot  *slot;
    int                  slot_index;
    struct throttle     *throttle;
    const int           *listen_fds;
    const int           *listen_flags;  /* CONFIG_LISTEN_* of each */
    int                  nlisten;
    struct tls_ctx      *tls;           /* for the TLS ones, or NULL */
    int                  ready_fd;      /* write end of the master's ready pipe */
    pid_t                master_pid;
    int                  generation;
    int                  number;        /* 1..workers within the generation */
};

/*
 * Serves until SIGTERM (then drains) or until the master is gone.
 * Returns the process exit status.  Called in the freshly forked child.
 */
int worker_run(const struct worker_args *a);

#endif
