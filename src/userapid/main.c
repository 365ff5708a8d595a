/* SPDX-License-Identifier: MIT */
/*
 * main.c - userapid's command line: parse, load the configuration, and hand
 * over to the master.  The process stays in the foreground (a new-style
 * daemon); systemd, a terminal or a test harness supervises it.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "master.h"
#include "proctitle.h"

/* main_args: go on and run (any other value is an exit status). */
#define MAIN_GO     (-1)

static void usage(FILE *fp);
static char *join_args(int argc, char **argv);
static int   main_args(int argc, char **argv, struct master_opts *o,
                 int *check_only);
static int   main_option(int ch, struct master_opts *o, struct config *scratch,
                 int *check_only);
static int   opts_keep(struct master_opts *o, int argc, char **argv);
static void  opts_free(struct master_opts *o);

static void
usage(FILE *fp)
{
    fprintf(fp,
        "usage: userapid [--config FILE] [--listen ADDR:PORT]... [--workers N|auto]\n"
        "                [--state-dir DIR] [--check-config] [--version] [--help]\n"
        "\n"
        "  -c, --config FILE      configuration file (default %s)\n"
        "  -l, --listen ADDR:PORT listen address, repeatable: 127.0.0.1:8080,\n"
        "                         localhost:8080, [::1]:8080, :8080 (every address);\n"
        "                         flags after it: '0.0.0.0:443 tls', ':8081 proxy'\n"
        "  -w, --workers N|auto   number of worker processes\n"
        "  -s, --state-dir DIR    directory holding the user database and sessions\n"
        "  -t, --check-config     validate the configuration and exit\n"
        "  -V, --version          print the version and exit\n"
        "  -h, --help             print this help and exit\n"
        "\n"
        "Options override the file.  Exit status: 0 ok, 1 runtime failure,\n"
        "2 usage error, 3 configuration error.  See userapid(8).\n",
        CONFIG_DEFAULT_PATH);
}

/* The command line as one string, for the master's process title. */
static char *
join_args(int argc, char **argv)
{
    size_t len = 1;
    char  *s, *p;
    int    i;

    for (i = 1; i < argc; i++)
        len += strlen(argv[i]) + 1;
    if ((s = calloc(1, len)) == NULL)
        return NULL;
    for (p = s, i = 1; i < argc; i++) {
        size_t n = strlen(argv[i]);

        if (i > 1)
            *p++ = ' ';
        memcpy(p, argv[i], n);
        p += n;
    }
    *p = '\0';
    return s;
}

int
main(int argc, char **argv)
{
    struct master_opts o;
    struct config      cfg;
    char               err[CONFIG_ERR_LEN];
    int                check_only = 0, status;

    if ((status = main_args(argc, argv, &o, &check_only)) != MAIN_GO)
        return status;
    if (config_read(&o.src, &cfg, err, sizeof(err)) == -1) {
        fprintf(stderr, "userapid: %s\n", err);
        return EXIT_CONFIG;
    }
    if (check_only) {
        printf("userapid: configuration %s is valid\n",
            o.src.config_explicit || access(o.src.config_path, F_OK) == 0 ?
            o.src.config_path : "(built-in defaults)");
        return 0;
    }
    if (opts_keep(&o, argc, argv) == -1) {
        fprintf(stderr, "userapid: out of memory\n");
        opts_free(&o);
        return EXIT_RUNTIME;
    }
    proctitle_init(argc, argv);
    log_init("userapid", cfg.log_level);
    status = master_run(&o, &cfg);
    opts_free(&o);
    return status;
}

/*
 * The command line into o.  Values are checked as the file's would be, so
 * a bad one is a usage error naming its option.  MAIN_GO to run, else the
 * exit status (after --help, --version or an error said on stderr).
 */
static int
main_args(int argc, char **argv, struct master_opts *o, int *check_only)
{
    static const struct option longopts[] = {
        { "config",       required_argument, NULL, 'c' },
        { "listen",       required_argument, NULL, 'l' },
        { "workers",      required_argument, NULL, 'w' },
        { "state-dir",    required_argument, NULL, 's' },
        { "check-config", no_argument,       NULL, 't' },
        { "version",      no_argument,       NULL, 'V' },
        { "help",         no_argument,       NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    struct config scratch;
    int           ch, rc;

    memset(o, 0, sizeof(*o));
    o->src.config_path = CONFIG_DEFAULT_PATH;
    config_defaults(&scratch);
    while ((ch = getopt_long(argc, argv, "c:l:w:s:tVh", longopts, NULL)) != -1)
        if ((rc = main_option(ch, o, &scratch, check_only)) != MAIN_GO)
            return rc;
    if (optind < argc) {
        fprintf(stderr, "userapid: unexpected argument '%s'\n"
            "Try 'userapid --help' for more information.\n", argv[optind]);
        return EXIT_USAGE;
    }
    return MAIN_GO;
}

/* One option from getopt_long (optarg is its value).  As main_args. */
static int
main_option(int ch, struct master_opts *o, struct config *scratch,
    int *check_only)
{
    char err[CONFIG_ERR_LEN];
    int  rc = 0;

    switch (ch) {
    case 'c':
        o->src.config_path = optarg;
        o->src.config_explicit = 1;
        return MAIN_GO;
    case 'l':
        if (o->src.nlisten == CONFIG_MAX_LISTEN) {
            fprintf(stderr, "userapid: at most %d --listen options\n",
                CONFIG_MAX_LISTEN);
            return EXIT_USAGE;
        }
        rc = config_set_option(scratch, "--listen", "listen", optarg,
            o->src.nlisten > 0, err, sizeof(err));
        o->src.listen[o->src.nlisten++] = optarg;
        break;
    case 'w':
        rc = config_set_option(scratch, "--workers", "workers", optarg, 0,
            err, sizeof(err));
        o->src.workers = optarg;
        break;
    case 's':
        rc = config_set_option(scratch, "--state-dir", "state_dir", optarg, 0,
            err, sizeof(err));
        o->src.state_dir = optarg;
        break;
    case 't':
        *check_only = 1;
        return MAIN_GO;
    case 'V':
        fputs(CLI_VERSION_TEXT("userapid"), stdout);
        return 0;
    case 'h':
        usage(stdout);
        return 0;
    default:
        /* getopt_long said what was wrong. */
        fputs("Try 'userapid --help' for more information.\n", stderr);
        return EXIT_USAGE;
    }
    if (rc == -1) {
        fprintf(stderr, "userapid: %s\n", err);
        return EXIT_USAGE;
    }
    return MAIN_GO;
}

/*
 * The strings of argv are about to be overwritten by the process title:
 * copies of what the master needs again on SIGHUP.  0, or -1 when out of
 * memory (what was copied is freed by opts_free).
 */
static int
opts_keep(struct master_opts *o, int argc, char **argv)
{
    int i, rc = 0;

    o->owned = 1;
    if ((o->cmdline = join_args(argc, argv)) == NULL)
        rc = -1;
    if ((o->src.config_path = strdup(o->src.config_path)) == NULL)
        rc = -1;
    if (o->src.workers != NULL && (o->src.workers = strdup(o->src.workers)) == NULL)
        rc = -1;
    if (o->src.state_dir != NULL && (o->src.state_dir = strdup(o->src.state_dir)) == NULL)
        rc = -1;
    for (i = 0; i < o->src.nlisten; i++)
        if ((o->src.listen[i] = strdup(o->src.listen[i])) == NULL)
            rc = -1;
    return rc;
}

static void
opts_free(struct master_opts *o)
{
    int i;

    if (!o->owned)
        return;
    free((char *)o->cmdline);
    free((char *)o->src.config_path);
    free((char *)o->src.workers);
    free((char *)o->src.state_dir);
    for (i = 0; i < o->src.nlisten; i++)
        free((char *)o->src.listen[i]);
    memset(o, 0, sizeof(*o));
}
