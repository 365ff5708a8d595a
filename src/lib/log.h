/* SPDX-License-Identifier: MIT */
/*
 * log.h - the one logging interface of userapid and its tools.
 *
 * Under systemd (JOURNAL_STREAM names our stderr) entries go to the journal
 * through sd_journal_send with structured fields; otherwise they are
 * timestamped lines on stderr.  Callers never pass secrets: passwords,
 * tokens and hashes are not logged anywhere.
 */
#ifndef USERAPID_LOG_H
#define USERAPID_LOG_H

#include <stddef.h>
#include <stdint.h>
#include <syslog.h>

/* Stable MESSAGE_IDs (journalctl MESSAGE_ID=...); see systemd/userapid.catalog. */
#define MSGID_STARTED          "29852498d8c34c0fad7120f50073e972"
#define MSGID_READY            "123873eb8ead445fba1530737b0ef0f8"
#define MSGID_RELOADING        "e31484c088634fb09abbc6feb97c39e0"
#define MSGID_STOPPING         "517edd3e572f40849b5f0aaad125657f"
#define MSGID_WORKER_CRASHED   "343c7807885245639290b78e545e7673"
#define MSGID_WORKER_RESPAWNED "56b65ffc331040c6a6085ce58cf16e93"
#define MSGID_LOGIN_FAILED     "2d71d323e6934cea809e54cc747bfc88"
#define MSGID_USER_CREATED     "ff15032dee0947b9894d89260685623f"
#define MSGID_USER_DELETED     "bc1be62037be42a1adb9d92c3c77408c"
#define MSGID_ACCESS           "77d958cdc4c94d83bc6a399696dd0609"
#define MSGID_CONFIG_REJECTED  "960424bdf89942d5a3fc45877bcd4c3c"
#define MSGID_STOPPED          "9973cf5a0ef646b9bc17445d083941e5"
#define MSGID_LOGIN_LOCKOUT    "158384855a314c08b12eff009de7efda"

struct log_access {
    const char *request_id;
    const char *remote_addr;
    const char *method;
    const char *path;
    int         status;
    uint64_t    duration_us;
    const char *user;           /* NULL when not logged in */
};

/* Chooses journal or stderr; messages above level are dropped. */
void log_init(const char *ident, int level);
void log_set_level(int level);
int  log_get_level(void);
/* Whether entries go to the journal. */
int  log_to_journal(void);

void log_msg(int prio, const char *fmt, ...)
         __attribute__((format(printf, 2, 3)));
/* As log_msg, with a MESSAGE_ID; extra is NULL or "FIELD=value" strings
 * ending with NULL, added to the journal entry (and the stderr line). */
void log_event(int prio, const char *msgid, const char *const *extra,
         const char *fmt, ...) __attribute__((format(printf, 4, 5)));
void log_access(const struct log_access *a);

/*
 * Copies the string in to out (outlen >= 1) with bytes below 0x20 and DEL
 * written as \xNN and a backslash as \\, cut to fit (never inside an
 * escape).  Every log line and journal field goes through it.  Returns the
 * length written.
 */
size_t log_escape(const char *in, char *out, size_t outlen);

#endif
