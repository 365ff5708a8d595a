/* SPDX-License-Identifier: MIT */
/*
 * fuzz_config.c - libFuzzer target for the configuration file parser.
 *
 * The input is the whole file.  config_load wants a path, so the bytes go
 * into a memfd made once per process and the parser opens it as
 * /proc/self/fd/N: no file system, and src/ stays as it is.
 *
 * Loaded over the defaults, a file either succeeds and leaves every field
 * in its documented range, or fails with "PATH:LINE: reason" (or
 * "PATH: reason") and a NUL-terminated message.  A file that loads must
 * load again to the same values: the parser keeps no state between calls.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <syslog.h>
#include <unistd.h>

#include "config.h"
#include "fuzz.h"

static int  fuzz_fd = -1;
static char fuzz_path[64];

static void fuzz_check_config(const struct config *c);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_quiet_logs();
    FUZZ_SETUP((fuzz_fd = memfd_create("userapid-fuzz.conf", MFD_CLOEXEC)) != -1);
    FUZZ_SETUP(snprintf(fuzz_path, sizeof(fuzz_path), "/proc/self/fd/%d",
        fuzz_fd) < (int)sizeof(fuzz_path));
    return 0;
}

/* Every field within the range config.h and userapid.conf(5) promise. */
static void
fuzz_check_config(const struct config *c)
{
    int i;

    FUZZ_CHECK(c->nlisten >= 1 && c->nlisten <= CONFIG_MAX_LISTEN);
    for (i = 0; i < c->nlisten; i++) {
        const struct config_listen *l = &c->listen[i];
        struct config_listen        again;

        FUZZ_CHECK(memchr(l->text, '\0', sizeof(l->text)) != NULL);
        FUZZ_CHECK(l->addr.ss_family == AF_INET || l->addr.ss_family == AF_INET6);
        FUZZ_CHECK(l->addrlen > 0 && l->addrlen <= sizeof(l->addr));
        /* The text kept is one the parser accepts, to the same address. */
        FUZZ_CHECK(config_parse_listen(l->text, &again) == 0);
        FUZZ_CHECK(again.addrlen == l->addrlen &&
            memcmp(&again.addr, &l->addr, l->addrlen) == 0);
    }
    FUZZ_CHECK(c->workers >= 0 && c->workers <= CONFIG_MAX_WORKERS);
    FUZZ_CHECK(config_worker_count(c) >= 1 &&
        config_worker_count(c) <= CONFIG_MAX_WORKERS);
    FUZZ_CHECK(memchr(c->state_dir, '\0', sizeof(c->state_dir)) != NULL);
    FUZZ_CHECK(c->state_dir[0] != '\0');
    FUZZ_CHECK(c->max_connections >= 1 && c->max_connections <= 1000000);
    FUZZ_CHECK(c->max_body_size >= 1 && c->max_body_size <= 64L * 1024 * 1024);
    FUZZ_CHECK(c->header_timeout >= 1 && c->header_timeout <= 3600);
    FUZZ_CHECK(c->keepalive_timeout >= 0 && c->keepalive_timeout <= 3600);
    FUZZ_CHECK(c->drain_timeout >= 0 && c->drain_timeout <= 3600);
    FUZZ_CHECK(c->log_level >= LOG_ERR && c->log_level <= LOG_DEBUG);
    FUZZ_CHECK(strcmp(config_log_level_name(c->log_level), "unknown") != 0);
    FUZZ_CHECK(c->access_log == 0 || c->access_log == 1);
    FUZZ_CHECK(c->registration == CONFIG_REGISTRATION_OPEN ||
        c->registration == CONFIG_REGISTRATION_ADMIN ||
        c->registration == CONFIG_REGISTRATION_CLOSED);
    FUZZ_CHECK(c->min_password_length >= 2 &&
        c->min_password_length <= CONFIG_MAX_PASSWORD);
    FUZZ_CHECK(c->password_cost >= 0 && c->password_cost <= 11);
    FUZZ_CHECK(c->session_ttl >= 1 && c->session_max_age >= 1);
    FUZZ_CHECK(c->max_sessions >= 1);
    FUZZ_CHECK(c->cookie_secure == 0 || c->cookie_secure == 1);
    FUZZ_CHECK(c->ui == 0 || c->ui == 1);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct config   c, again;
    char            err[CONFIG_ERR_LEN];
    size_t          plen = strlen(fuzz_path);
    int             rc;

    if (ftruncate(fuzz_fd, 0) == -1 ||
        (size > 0 && pwrite(fuzz_fd, data, size, 0) != (ssize_t)size))
        return 0;

    config_defaults(&c);
    memset(err, 'x', sizeof(err));
    rc = config_load(&c, fuzz_path, err, sizeof(err));
    FUZZ_CHECK(rc == 0 || rc == -1);
    if (rc == -1) {
        FUZZ_CHECK(memchr(err, '\0', sizeof(err)) != NULL);
        FUZZ_CHECK(strncmp(err, fuzz_path, plen) == 0 && err[plen] == ':');
        return 0;
    }
    fuzz_check_config(&c);

    config_defaults(&again);
    FUZZ_CHECK(config_load(&again, fuzz_path, err, sizeof(err)) == 0);
    FUZZ_CHECK(memcmp(&c, &again, sizeof(c)) == 0);
    return 0;
}
