/* SPDX-License-Identifier: MIT */
/*
 * ctl.h - what the files of userapictl share: the state of one run
 * (struct ctl), a row of the command table, a command's parsed command
 * line, and the helpers every command uses.  See userapictl(8).
 *
 * main.c parses the command line and checks the operands, state.c opens
 * the store (store.h) as the command's row asks, then the command runs: by
 * the time a ctl_* command is called, its operands are valid and c->store
 * is open when its row needs more than the configuration (import opens
 * it once its file is read, check only for a database).  main.c closes
 * it afterwards.  The commands reach users, sessions and lockouts through
 * c->store only, so they work alike whatever the configured storage;
 * only check looks at the state directory's files itself.
 *
 * Exit statuses: 0, cli.h's 1..3, and the two below.  A function that
 * returns "0 or an exit status" has reported the problem already.
 */
#ifndef USERAPICTL_CTL_H
#define USERAPICTL_CTL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <json-c/json.h>

#include "cli.h"
#include "config.h"
#include "store.h"

#define CTL_EXIT_NOT_FOUND  4       /* no such user, or no lockout */
#define CTL_EXIT_EXISTS     5       /* the email is taken */

/* Returned instead of an exit status when the help or the version was
 * printed: the run ends there, successfully. */
#define CTL_DONE            (-1)

#define CTL_WHY_LEN         256
#define CTL_JSON_FLAGS      (JSON_C_TO_STRING_PLAIN | \
                                JSON_C_TO_STRING_NOSLASHESCAPE)

/* Options a command takes besides the global ones (ctl_command.opts). */
#define CTL_OPT_ROLE        0x01    /* --role admin|user */
#define CTL_OPT_STDIN       0x02    /* --password-stdin */
#define CTL_OPT_JSON        0x04    /* --json */

/* What its operands are (ctl_command.operands). */
#define CTL_ARG_EMAIL       0x01    /* the first, when given, is an EMAIL */
#define CTL_ARG_ROLE        0x02    /* the second is admin|user */

/* What is opened before it runs (ctl_command.needs): the configuration
 * and the state directory for any of them, then these, in this order. */
#define CTL_NEED_CONFIG     0x01
#define CTL_NEED_DB         0x02    /* the users, which must exist */
#define CTL_NEED_DB_CREATE  0x04    /* the users, made when missing */
#define CTL_NEED_SESSIONS   0x08    /* the sessions, if there are any */
#define CTL_NEED_THROTTLE   0x10    /* the login throttle's counts */

struct ctl {
    const char     *config_path;
    int             config_explicit;    /* --config: the file must exist */
    const char     *state_dir_opt;      /* --state-dir, or NULL */
    struct config   cfg;
    const char     *dir;                /* cfg.state_dir once loaded */
    int             touched;            /* dir may hold new or replaced files */
    uid_t           owner_uid;          /* whom they belong to, as root */
    gid_t           owner_gid;
    struct store   *store;              /* open with any CTL_NEED_* but
                                           CTL_NEED_CONFIG, else NULL */
};

/* A command's command line, checked. */
struct ctl_args {
    int             argc;               /* the operands */
    char          **argv;
    char            email[USERDB_EMAIL_MAX + 1];    /* CTL_ARG_EMAIL, lower
                                                       case; "" if none */
    int             role;               /* --role or CTL_ARG_ROLE, else 0 */
    int             password_stdin;
    int             json;
};

struct ctl_command {
    const char  *name;
    int        (*run)(struct ctl *, const struct ctl_args *);
    const char  *synopsis;          /* its options and operands */
    const char  *help;              /* one line */
    int          opts;              /* CTL_OPT_* */
    int          operands;          /* CTL_ARG_* */
    int          needs;             /* CTL_NEED_* */
    int          min_args;          /* how many operands */
    int          max_args;
    const char  *count_err;         /* what another count is told; NULL
                                       when it takes none */
};

/* main.c: messages and command-line words. */
int         ctl_err(const char *, ...) __attribute__((format(printf, 1, 2)));
int         ctl_usage_err(const struct ctl_command *, const char *, ...)
                __attribute__((format(printf, 2, 3)));
int         ctl_no_user(const char *, int);
int         ctl_email(const char *, char *);
int         ctl_role(const char *);
const struct ctl_command *ctl_find(const char *);

/* state.c: the configuration and the store. */
int         ctl_open(struct ctl *, int);
void        ctl_close(struct ctl *);
int         ctl_store_open(struct ctl *, int);
int         ctl_store_err(const struct ctl *);

/* owner.c: who the state files belong to. */
void        ctl_owner(struct ctl *, const struct stat *);
int         ctl_become_owner(struct ctl *, const struct stat *);
int         ctl_fix_owner(const struct ctl *);

/* output.c: how results are written. */
const char *ctl_plural(long, const char *);
const char *ctl_time(int64_t, char *);
struct json_object *ctl_json_time(int64_t);
struct json_object *ctl_json_user(const struct userdb_user *, int);
int         ctl_json_print(struct json_object *);
int         ctl_json_users(struct ctl *, int);

#define CTL_JSON_ROLE_ID    0x01    /* ctl_json_user: with "role_id" */
#define CTL_JSON_HASH       0x02    /* with "password_hash" (export only) */

/* password.c */
int         ctl_password_ok(const struct ctl *, const char *, size_t, char *,
                size_t);
int         ctl_password_hash(const struct ctl *, int, const char *, char *,
                size_t);

/* sessions.c */
int         ctl_session_count(struct ctl *, const char *, long *);

/* The commands, one per row of main.c's table. */
int         ctl_useradd(struct ctl *, const struct ctl_args *);
int         ctl_userdel(struct ctl *, const struct ctl_args *);
int         ctl_passwd(struct ctl *, const struct ctl_args *);
int         ctl_setrole(struct ctl *, const struct ctl_args *);
int         ctl_list(struct ctl *, const struct ctl_args *);
int         ctl_show(struct ctl *, const struct ctl_args *);
int         ctl_check(struct ctl *, const struct ctl_args *);
int         ctl_import(struct ctl *, const struct ctl_args *);
int         ctl_export(struct ctl *, const struct ctl_args *);
int         ctl_sessions(struct ctl *, const struct ctl_args *);
int         ctl_revoke(struct ctl *, const struct ctl_args *);
int         ctl_lockouts(struct ctl *, const struct ctl_args *);
int         ctl_unlock(struct ctl *, const struct ctl_args *);
int         ctl_db(struct ctl *, const struct ctl_args *);

#endif
