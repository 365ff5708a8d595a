/* SPDX-License-Identifier: MIT */
/* store_pg_stub.c - until the PostgreSQL store exists: storage = postgresql
 * is refused. */
#include <errno.h>
#include <stdio.h>

#include "store_impl.h"

struct store *
store_pg_open_sync(const struct config *cfg, int flags, char *err,
    size_t errlen)
{
    (void)cfg;
    (void)flags;
    snprintf(err, errlen, "storage = postgresql is not built in");
    errno = ENOSYS;
    return NULL;
}
