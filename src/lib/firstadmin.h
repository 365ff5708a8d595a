/* SPDX-License-Identifier: MIT */
/*
 * firstadmin.h - the first administrator of an empty database.
 *
 * When users.db holds nobody, the master makes admin@localhost with a
 * random password and writes that password to STATE/initial-admin-password
 * (0600), the one place an operator can read it.  Once that account's
 * password has been changed, or the account deleted, the file is stale and
 * is removed, by whoever made the change (a worker or userapictl).
 */
#ifndef USERAPID_FIRSTADMIN_H
#define USERAPID_FIRSTADMIN_H

#include "store.h"

#define FIRSTADMIN_EMAIL    "admin@localhost"
#define FIRSTADMIN_FILE     "initial-admin-password"

/*
 * When the store holds nobody, adds FIRSTADMIN_EMAIL with a random
 * password of at least min_length characters (and never fewer than
 * CRYPTO_RANDOM_PASSWORD_LEN), hashed at cost, and writes it to
 * STATE/initial-admin-password.  On a terminal it is printed to stderr
 * too; it never goes to the journal.  Of several hosts sharing a database
 * and starting at once, only the one that made the account keeps the
 * file.  Returns 1 when it made the account, 0 when there were users, -1
 * after logging why.
 */
int  firstadmin_create(const char *state_dir, long min_length,
         unsigned long cost, struct store *st);

/*
 * The password of email has been changed, or email deleted: when email is
 * FIRSTADMIN_EMAIL, removes STATE/initial-admin-password if it is there,
 * and logs that (what says what happened: "password changed").  Returns 1
 * when it removed the file, 0 when there was nothing to do, -1 (logged)
 * when the file could not be removed.
 */
int  firstadmin_forget(const char *state_dir, const char *email,
         const char *what);

#endif
