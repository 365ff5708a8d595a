/* SPDX-License-Identifier: MIT */
/*
 * log.c - journal or stderr logging; see log.h.
 *
 * The choice is made once in log_init(): systemd sets JOURNAL_STREAM to the
 * device and inode of the stream it connected to our stderr, so when they
 * match, stderr is the journal and structured entries are worth sending.
 * Each stderr line goes out in one write(2) so lines from several worker
 * processes never interleave.
 *
 * Invariant: no byte below 0x20, no DEL and no unescaped backslash reaches
 * a stderr line or a journal field from a caller's text.  Messages often
 * hold what a client sent (an email that failed to log in, a path), so
 * log_write escapes them as \xNN (and a backslash as \\): a client cannot
 * end a line and forge the next one, nor send terminal escapes.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define SD_JOURNAL_SUPPRESS_LOCATION
#include <systemd/sd-journal.h>

#include "log.h"

#define LOG_LINE_MAX   2048
#define LOG_MAX_EXTRA  16

static int         log_level = LOG_INFO;
static int         log_journal;
static const char *log_ident = "userapid";

static int  log_journal_stream_is_stderr(void);
static void log_write(int prio, const char *msgid, const char *const *extra,
                const char *msg);

static int
log_journal_stream_is_stderr(void)
{
    const char          *env;
    struct stat          st;
    unsigned long long   dev, ino;

    if ((env = getenv("JOURNAL_STREAM")) == NULL)
        return 0;
    if (sscanf(env, "%llu:%llu", &dev, &ino) != 2)
        return 0;
    if (fstat(STDERR_FILENO, &st) == -1)
        return 0;
    return (unsigned long long)st.st_dev == dev &&
        (unsigned long long)st.st_ino == ino;
}

void
log_init(const char *ident, int level)
{
    log_ident = ident;
    log_level = level;
    log_journal = log_journal_stream_is_stderr();
}

void
log_set_level(int level)
{
    log_level = level;
}

int
log_get_level(void)
{
    return log_level;
}

int
log_to_journal(void)
{
    return log_journal;
}

static const char *
log_prio_name(int prio)
{
    switch (prio) {
    case LOG_EMERG:   return "emerg";
    case LOG_ALERT:   return "alert";
    case LOG_CRIT:    return "crit";
    case LOG_ERR:     return "error";
    case LOG_WARNING: return "warning";
    case LOG_NOTICE:  return "notice";
    case LOG_INFO:    return "info";
    default:          return "debug";
    }
}

static void
log_write(int prio, const char *msgid, const char *const *extra,
    const char *msg)
{
    char            line[LOG_LINE_MAX], ts[32], safe[LOG_LINE_MAX];
    struct timespec now;
    struct tm       tm;
    size_t          len;
    int             n, i;

    log_escape(msg, safe, sizeof(safe));
    if (log_journal) {
        struct iovec iov[4 + LOG_MAX_EXTRA];
        char         fmsg[LOG_LINE_MAX + 8], fprio[16], fid[48], fident[64];
        char         fextra[LOG_MAX_EXTRA][LOG_LINE_MAX];
        int          niov = 0;

        n = snprintf(fmsg, sizeof(fmsg), "MESSAGE=%s", safe);
        iov[niov].iov_base = fmsg;
        iov[niov++].iov_len = n < 0 ? 0 : (size_t)n >= sizeof(fmsg) ?
            sizeof(fmsg) - 1 : (size_t)n;
        n = snprintf(fprio, sizeof(fprio), "PRIORITY=%d", prio);
        iov[niov].iov_base = fprio;
        iov[niov++].iov_len = (size_t)n;
        n = snprintf(fident, sizeof(fident), "SYSLOG_IDENTIFIER=%s", log_ident);
        iov[niov].iov_base = fident;
        iov[niov++].iov_len = n < 0 ? 0 : (size_t)n >= sizeof(fident) ?
            sizeof(fident) - 1 : (size_t)n;
        if (msgid != NULL) {
            n = snprintf(fid, sizeof(fid), "MESSAGE_ID=%s", msgid);
            iov[niov].iov_base = fid;
            iov[niov++].iov_len = (size_t)n;
        }
        for (i = 0; extra != NULL && extra[i] != NULL && i < LOG_MAX_EXTRA; i++) {
            iov[niov].iov_base = fextra[i];
            iov[niov++].iov_len = log_escape(extra[i], fextra[i],
                sizeof(fextra[i]));
        }
        if (sd_journal_sendv(iov, niov) >= 0)
            return;
        /* The journal went away; fall through to plain stderr. */
    }

    clock_gettime(CLOCK_REALTIME, &now);
    gmtime_r(&now.tv_sec, &tm);
    strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
    n = snprintf(line, sizeof(line), "%s.%03ldZ %s[%ld]: %s: %s", ts,
        now.tv_nsec / 1000000, log_ident, (long)getpid(), log_prio_name(prio),
        safe);
    len = n < 0 ? 0 : (size_t)n >= sizeof(line) - 1 ? sizeof(line) - 2 : (size_t)n;
    line[len++] = '\n';
    /* A failed log write has nowhere to be reported. */
    while (write(STDERR_FILENO, line, len) == -1 && errno == EINTR)
        ;
}

size_t
log_escape(const char *in, char *out, size_t outlen)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p;
    size_t               o = 0;

    for (p = (const unsigned char *)in; *p != '\0'; p++) {
        if (*p >= 0x20 && *p != 0x7f && *p != '\\') {
            if (o + 1 >= outlen)
                break;
            out[o++] = (char)*p;
        } else if (*p == '\\') {
            if (o + 2 >= outlen)
                break;
            out[o++] = '\\';
            out[o++] = '\\';
        } else {
            if (o + 4 >= outlen)
                break;
            out[o++] = '\\';
            out[o++] = 'x';
            out[o++] = hex[*p >> 4];
            out[o++] = hex[*p & 15];
        }
    }
    out[o] = '\0';
    return o;
}

/* Formats and writes one entry, unless prio is above the level. */
static void
log_vevent(int prio, const char *msgid, const char *const *extra,
    const char *fmt, va_list ap)
{
    char msg[LOG_LINE_MAX];

    if (prio > log_level)
        return;
    vsnprintf(msg, sizeof(msg), fmt, ap);
    log_write(prio, msgid, extra, msg);
}

void
log_msg(int prio, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    log_vevent(prio, NULL, NULL, fmt, ap);
    va_end(ap);
}

void
log_event(int prio, const char *msgid, const char *const *extra,
    const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    log_vevent(prio, msgid, extra, fmt, ap);
    va_end(ap);
}

void
log_access(const struct log_access *a)
{
    char    msg[LOG_LINE_MAX];
    char    f_id[64], f_addr[80], f_meth[40], f_path[LOG_LINE_MAX / 2],
            f_status[32], f_dur[48], f_user[320];
    const char *extra[8];
    int     n = 0;

    if (LOG_INFO > log_level)
        return;
    if (!log_journal) {
        snprintf(msg, sizeof(msg), "%s \"%s %.512s\" %d %lluus id=%s user=%s",
            a->remote_addr, a->method, a->path, a->status,
            (unsigned long long)a->duration_us, a->request_id,
            a->user ? a->user : "-");
        log_write(LOG_INFO, NULL, NULL, msg);
        return;
    }
    snprintf(msg, sizeof(msg), "%s %.512s %d", a->method, a->path, a->status);
    snprintf(f_id, sizeof(f_id), "REQUEST_ID=%s", a->request_id);
    snprintf(f_addr, sizeof(f_addr), "REMOTE_ADDR=%s", a->remote_addr);
    snprintf(f_meth, sizeof(f_meth), "HTTP_METHOD=%.20s", a->method);
    snprintf(f_path, sizeof(f_path), "HTTP_PATH=%.512s", a->path);
    snprintf(f_status, sizeof(f_status), "HTTP_STATUS=%d", a->status);
    snprintf(f_dur, sizeof(f_dur), "DURATION_US=%llu",
        (unsigned long long)a->duration_us);
    extra[n++] = f_id;
    extra[n++] = f_addr;
    extra[n++] = f_meth;
    extra[n++] = f_path;
    extra[n++] = f_status;
    extra[n++] = f_dur;
    if (a->user != NULL) {
        snprintf(f_user, sizeof(f_user), "USERAPID_USER=%s", a->user);
        extra[n++] = f_user;
    }
    extra[n] = NULL;
    log_write(LOG_INFO, MSGID_ACCESS, extra, msg);
}
