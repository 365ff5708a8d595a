/* SPDX-License-Identifier: MIT */
/*
 * db.c - "userapictl db init": makes or upgrades the userapid schema of
 * the PostgreSQL database the configuration names (storage =
 * postgresql).  Safe to run again, and from several hosts at once: the
 * schema is made in one transaction under an advisory lock, and every
 * statement of it keeps what exists.  The file store needs nothing of the
 * kind (userapid and useradd make its files), so there it is an error.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "ctl.h"
#include "store_pg.h"

int
ctl_db(struct ctl *c, const struct ctl_args *a)
{
    char err[STORE_ERR_LEN];

    if (strcmp(a->argv[0], "init") != 0)
        return ctl_usage_err(ctl_find("db"), "unknown action '%s' "
            "(expected init)", a->argv[0]);
    if (c->cfg.storage != CONFIG_STORAGE_POSTGRESQL) {
        ctl_err("db init: storage is file in %s: there is no database to "
            "make (set storage = postgresql and database_url)",
            c->config_path);
        return EXIT_CONFIG;
    }
    if (store_pg_init(&c->cfg, err, sizeof(err)) == -1) {
        ctl_err("db init: %s", err);
        return EXIT_RUNTIME;
    }
    printf("database schema: version %d\n", STORE_PG_SCHEMA_VERSION);
    return 0;
}
