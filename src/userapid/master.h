/* SPDX-License-Identifier: MIT */
/*
 * master.h - the master process: listen sockets, workers, signals and
 * everything said to systemd.  It never serves a request itself.
 */
#ifndef USERAPID_MASTER_H
#define USERAPID_MASTER_H

#include "cli.h"
#include "config.h"

/* The command line, kept so SIGHUP can apply it again over the file. */
struct master_opts {
    struct config_source src;
    const char *cmdline;                /* for the process title */
    int         owned;                  /* the strings are main's copies */
};

/* Runs the daemon until it is stopped.  Returns the exit status. */
int master_run(const struct master_opts *o, const struct config *c);

#endif
