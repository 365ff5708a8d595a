/* SPDX-License-Identifier: MIT */
/*
 * password.c - passwords and the request bodies that carry them.
 *
 * A password is read from the terminal with echo off, or from stdin with
 * --password-stdin, into a stack array, goes from there into a JSON body
 * in a wiped struct buf (written by jsonw, not json-c, so that no copy
 * lands in memory we cannot wipe), and the array is wiped as soon as the
 * body holds it, and on every way out.  No password is ever printed.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "crypto.h"
#include "jsonw.h"
#include "prompt.h"
#include "userapi.h"

/* A string field of a JSON request body; a NULL value is left out. */
struct ua_field {
    const char *name;
    const char *value;
};

#define UA_NFIELDS(a)   (sizeof(a) / sizeof((a)[0]))

/*
 * Says what r, an answer of prompt_read_line or prompt_password, means
 * for the password what of at most size - 1 bytes, read from the
 * terminal when tty, else from stdin.  0 for 0, else UA_EXIT_FAIL.
 */
static int
ua_prompt_said(int r, int tty, const char *what, size_t size)
{
    if (r == 0)
        return 0;
    if (r == 1)
        return ua_err("the %s is longer than %zu bytes", what, size - 1);
    if (tty)
        return ua_err("cannot read the %s from the terminal%s%s", what,
            r == -1 ? ": " : "", r == -1 ? strerror(errno) : "");
    if (r == -1)
        return ua_err("standard input: %s", strerror(errno));
    return ua_err("no %s on standard input", what);
}

/*
 * Typed at prompt on the terminal into pw (size bytes), and typed again
 * when confirm.  0, or UA_EXIT_FAIL after saying why.
 */
static int
ua_password_tty(int confirm, const char *what, const char *prompt, char *pw,
    size_t size)
{
    char    again[UA_PASSWORD_MAX + 1];
    size_t  len, len2;
    int     fd, rc;

    if ((fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC)) == -1)
        return ua_err("cannot ask for the %s: /dev/tty: %s (use "
            "--password-stdin)", what, strerror(errno));
    rc = ua_prompt_said(prompt_password(fd, prompt, pw, size, &len), 1,
        what, size);
    if (rc == 0 && confirm &&
        (rc = ua_prompt_said(prompt_password(fd, "Retype it: ", again,
        sizeof(again), &len2), 1, what, sizeof(again))) == 0 &&
        (len2 != len || !crypto_equal_ct(pw, again, len)))
        rc = ua_err("the passwords do not match");
    explicit_bzero(again, sizeof(again));
    close(fd);
    return rc;
}

/*
 * A password into pw (UA_PASSWORD_MAX + 1 bytes): the next line of stdin
 * with --password-stdin, else typed at prompt on the terminal, and typed
 * again when confirm.  what names it in the messages.  0, or UA_EXIT_FAIL
 * after saying why, with pw wiped.
 */
static int
ua_password(const struct ua *ua, int confirm, const char *what,
    const char *prompt, char *pw, size_t size)
{
    size_t len;
    int    rc;

    if (ua->password_stdin)
        rc = ua_prompt_said(prompt_read_line(STDIN_FILENO, pw, size, &len),
            0, what, size);
    else
        rc = ua_password_tty(confirm, what, prompt, pw, size);
    if (rc != 0)
        explicit_bzero(pw, size);
    return rc;
}

/*
 * The JSON object of the n fields f into body, leaving out those without
 * a value.  0, or UA_EXIT_FAIL after saying so.
 */
static int
ua_json_body(struct buf *body, const struct ua_field *f, size_t n)
{
    const char *sep = "{";
    size_t      i;

    for (i = 0; i < n; i++) {
        if (f[i].value == NULL)
            continue;
        if (buf_append_str(body, sep) == -1 ||
            jsonw_string(body, f[i].name, strlen(f[i].name)) == -1 ||
            buf_append_str(body, ":") == -1 ||
            jsonw_string(body, f[i].value, strlen(f[i].value)) == -1)
            return ua_err("out of memory");
        sep = ",";
    }
    if (buf_append_str(body, *sep == '{' ? "{}" : "}") == -1)
        return ua_err("out of memory");
    return 0;
}

/*
 * The body of register and login into body: the command's EMAIL, its
 * password, asked for that email (twice on the terminal when confirm),
 * and --role when given.  0, or UA_EXIT_FAIL after saying why.
 */
int
ua_account_body(const struct ua *ua, int confirm, struct buf *body)
{
    char pw[UA_PASSWORD_MAX + 1], prompt[UA_EMAIL_MAX + 32];
    int  rc;

    snprintf(prompt, sizeof(prompt), "Password for %s: ", ua->arg);
    if ((rc = ua_password(ua, confirm, "password", prompt, pw,
        sizeof(pw))) == 0) {
        const struct ua_field f[] = {
            { "email", ua->arg }, { "password", pw }, { "role", ua->role },
        };

        rc = ua_json_body(body, f, UA_NFIELDS(f));
    }
    explicit_bzero(pw, sizeof(pw));
    return rc;
}

/*
 * The body of passwd into body: the current password, then the new one
 * (twice on the terminal), read in that order from stdin with
 * --password-stdin.  0, or UA_EXIT_FAIL after saying why.
 */
int
ua_passwd_body(const struct ua *ua, struct buf *body)
{
    char cur[UA_PASSWORD_MAX + 1], pw[UA_PASSWORD_MAX + 1];
    int  rc;

    if ((rc = ua_password(ua, 0, "current password", "Current password: ",
        cur, sizeof(cur))) == 0 &&
        (rc = ua_password(ua, 1, "new password", "New password: ", pw,
        sizeof(pw))) == 0) {
        const struct ua_field f[] = {
            { "password", pw }, { "current_password", cur },
        };

        rc = ua_json_body(body, f, UA_NFIELDS(f));
    }
    explicit_bzero(cur, sizeof(cur));
    explicit_bzero(pw, sizeof(pw));
    return rc;
}

/*
 * The body of an administrator's passwd EMAIL into body: the new password
 * only (twice on the terminal), no current one.  0, or UA_EXIT_FAIL after
 * saying why.
 */
int
ua_reset_body(const struct ua *ua, struct buf *body)
{
    char pw[UA_PASSWORD_MAX + 1], prompt[UA_EMAIL_MAX + 32];
    int  rc;

    snprintf(prompt, sizeof(prompt), "New password for %s: ", ua->arg);
    if ((rc = ua_password(ua, 1, "new password", prompt, pw,
        sizeof(pw))) == 0) {
        const struct ua_field f[] = { { "password", pw } };

        rc = ua_json_body(body, f, UA_NFIELDS(f));
    }
    explicit_bzero(pw, sizeof(pw));
    return rc;
}
