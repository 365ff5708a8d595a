/* SPDX-License-Identifier: MIT */
/*
 * password.c - new passwords for useradd, passwd and import: read from
 * standard input or typed twice on the terminal, checked against the
 * daemon's rules, and hashed at its cost.
 *
 * Invariant: a password buffer is wiped once hashed or refused; no
 * message repeats a password.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "auth.h"
#include "crypto.h"
#include "ctl.h"
#include "prompt.h"

/* The daemon's limit, which auth_hash_password must be able to hash. */
#define CTL_PASSWORD_MAX    CONFIG_MAX_PASSWORD
_Static_assert(CTL_PASSWORD_MAX <= AUTH_PASSPHRASE_MAX,
    "auth_hash_password takes every password the daemon accepts");

static int  ctl_password_stdin(char *, size_t, size_t *);
static int  ctl_password_tty(int, const char *, char *, size_t, size_t *);

/* Whether pw[0..len) is a password the daemon would take; why when not. */
int
ctl_password_ok(const struct ctl *c, const char *pw, size_t len, char *why,
    size_t whylen)
{
    long min = c->cfg.min_password_length > 2 ?
        c->cfg.min_password_length : 2;

    if (memchr(pw, '\0', len) != NULL) {
        snprintf(why, whylen, "the password contains a NUL byte");
        return -1;
    }
    if ((long)len < min) {
        snprintf(why, whylen, "the password is too short (%zu bytes; at "
            "least %ld)", len, min);
        return -1;
    }
    if (len > CTL_PASSWORD_MAX) {
        snprintf(why, whylen, "the password is longer than %d bytes",
            CTL_PASSWORD_MAX);
        return -1;
    }
    return 0;
}

/* The first line of standard input into pw.  0, 1 when it is too long,
 * or -1 after saying why. */
static int
ctl_password_stdin(char *pw, size_t size, size_t *len)
{
    int r = prompt_read_line(STDIN_FILENO, pw, size, len);

    if (r == -1 || r == 2) {
        if (r == -1)
            ctl_err("standard input: %s", strerror(errno));
        else
            ctl_err("no password on standard input");
        return -1;
    }
    return r;
}

/* A line typed without echo at prompt on the terminal fd into pw.  0, 1
 * when it is too long, or -1 after saying why. */
static int
ctl_password_tty(int fd, const char *prompt, char *pw, size_t size,
    size_t *len)
{
    int r = prompt_password(fd, prompt, pw, size, len);

    if (r == -1 || r == 2) {
        ctl_err("cannot read the password from the terminal%s%s",
            r == -1 ? ": " : "", r == -1 ? strerror(errno) : "");
        return -1;
    }
    return r;
}

/*
 * A new password for email, from one line of stdin or typed twice on the
 * terminal, checked and hashed into hash.  0 or an exit status.
 */
int
ctl_password_hash(const struct ctl *c, int from_stdin, const char *email,
    char *hash, size_t hashlen)
{
    char    pw[CTL_PASSWORD_MAX + 1], again[CTL_PASSWORD_MAX + 1];
    char    prompt[USERDB_EMAIL_MAX + 32], why[CTL_WHY_LEN];
    size_t  len = 0, len2 = 0;
    int     fd = -1, r, rc = EXIT_RUNTIME;

    if (from_stdin) {
        r = ctl_password_stdin(pw, sizeof(pw), &len);
    } else if ((fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC)) == -1) {
        ctl_err("cannot ask for the password: /dev/tty: %s (use "
            "--password-stdin)", strerror(errno));
        r = -1;
    } else {
        snprintf(prompt, sizeof(prompt), "New password for %s: ", email);
        r = ctl_password_tty(fd, prompt, pw, sizeof(pw), &len);
    }
    if (r == -1)
        goto out;
    if (r == 1) {
        ctl_err("the password is longer than %d bytes", CTL_PASSWORD_MAX);
        goto out;
    }
    if (ctl_password_ok(c, pw, len, why, sizeof(why)) == -1) {
        ctl_err("%s", why);
        goto out;
    }
    if (fd != -1) {
        if ((r = ctl_password_tty(fd, "Retype it: ", again, sizeof(again),
            &len2)) == -1)
            goto out;
        if (r == 1 || len2 != len || !crypto_equal_ct(pw, again, len)) {
            ctl_err("the passwords do not match");
            goto out;
        }
    }
    if (auth_hash_password(pw, (unsigned long)c->cfg.password_cost, hash,
        hashlen) == -1) {
        ctl_err("cannot hash the password: %s", strerror(errno));
        goto out;
    }
    rc = 0;
out:
    explicit_bzero(pw, sizeof(pw));
    explicit_bzero(again, sizeof(again));
    if (fd != -1)
        close(fd);
    return rc;
}
