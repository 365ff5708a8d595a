/* SPDX-License-Identifier: MIT */
/*
 * prompt.c - password input for userapictl and userapi; see prompt.h.
 *
 * The terminal's settings are kept in statics so that a signal handler can
 * put them back before the process dies: one prompt at a time.
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "prompt.h"

static volatile sig_atomic_t prompt_tty_fd = -1;
static struct termios        prompt_tty_saved;

static void prompt_tty_signal(int sig);

int
prompt_read_line(int fd, char *buf, size_t size, size_t *len)
{
    size_t  n = 0;
    ssize_t r;
    char    ch = 0;
    int     over = 0, any = 0;

    for (;;) {
        r = read(fd, &ch, 1);
        if (r == -1 && errno == EINTR)
            continue;
        if (r == -1)
            return -1;
        if (r == 0 || ch == '\n')
            break;
        any = 1;
        if (n + 1 < size)
            buf[n++] = ch;
        else
            over = 1;
    }
    explicit_bzero(&ch, sizeof(ch));
    buf[n] = '\0';
    *len = n;
    if (r == 0 && !any)
        return 2;
    return over;
}

/* Puts the terminal back as it was, then dies of the signal. */
static void
prompt_tty_signal(int sig)
{
    if (prompt_tty_fd != -1)
        tcsetattr(prompt_tty_fd, TCSAFLUSH, &prompt_tty_saved);
    signal(sig, SIG_DFL);
    raise(sig);
}

int
prompt_password(int fd, const char *prompt, char *pw, size_t size, size_t *len)
{
    static const int    sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT };
    struct sigaction    sa, old[4];
    struct termios      noecho;
    sigset_t            block, oldmask;
    size_t              i;
    int                 rc, saved;

    if (tcgetattr(fd, &prompt_tty_saved) == -1)
        return -1;
    noecho = prompt_tty_saved;
    noecho.c_lflag &= ~(tcflag_t)(ECHO | ECHOE | ECHOK);
    noecho.c_lflag |= ECHONL;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = prompt_tty_signal;
    sigemptyset(&sa.sa_mask);
    sigemptyset(&block);
    sigaddset(&block, SIGTSTP);
    sigprocmask(SIG_BLOCK, &block, &oldmask);
    for (i = 0; i < 4; i++)
        sigaction(sigs[i], &sa, &old[i]);
    prompt_tty_fd = fd;
    /* Echo off before the prompt shows: TCSAFLUSH drops what was typed
     * before it, and only that. */
    if (tcsetattr(fd, TCSAFLUSH, &noecho) == -1 ||
        write(fd, prompt, strlen(prompt)) == -1)
        rc = -1;
    else
        rc = prompt_read_line(fd, pw, size, len);
    saved = errno;
    tcsetattr(fd, TCSAFLUSH, &prompt_tty_saved);
    prompt_tty_fd = -1;
    for (i = 0; i < 4; i++)
        sigaction(sigs[i], &old[i], NULL);
    sigprocmask(SIG_SETMASK, &oldmask, NULL);
    errno = saved;
    return rc;
}
