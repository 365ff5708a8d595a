/*
 * master.h - the master process: listen sockets, workers, signals and
 * everything said to systemd.  It never serves a request itself.
 */
#ifndef USERAPID_MASTER_H
#define USERAPID_MASTER_H

#include "config.h"

/* Exit statuses of userapid, documented in userapid(8). */
#define EXIT_RUNTIME  1         /* cannot bind, bad state dir, crash loop */
#define EXIT_USAGE    2         /* bad command line */
#define EXIT_CONFIG   3         /* invalid configuration */

#define MASTER_MAX_LISTEN_OPTS CONFIG_MAX_LISTEN

/* The command line, kept so SIGHUP can apply it again over the file. */
struct master_opts {
    const char *config_path;
    int         config_explicit;        /* --config given: a missing file is an error */
    const char *listen[MASTER_MAX_LISTEN_OPTS];
    int         nlisten;
    const char *workers;
    const char *state_dir;
    const char *cmdline;                /* for the process title */
    int         owned;                  /* the strings are main's copies */
};

/* Defaults, then the file, then the command line.  0, or -1 with err set. */
int master_load_config(const struct master_opts *o, struct config *c,
        char *err, size_t errlen);

/* Runs the daemon until it is stopped.  Returns the exit status. */
int master_run(const struct master_opts *o, const struct config *c);

#endif
