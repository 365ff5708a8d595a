/* SPDX-License-Identifier: MIT */
/*
 * test_config.c - unit tests for config.c: defaults, the shipped
 * etc/userapid.conf, every key's good and bad values, the file syntax,
 * and command-line overrides through config_set.
 *
 * Each test writes its file with mkstemp under /tmp; the fixture removes
 * it.  Errors are compared whole, "PATH:LINE: reason", because the message
 * is what an administrator reads.
 */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "config.h"

#ifndef LOCALSTATEDIR
#define LOCALSTATEDIR "/var"
#endif

static char conf_path[64];

static void         conf_setup(void);
static void         conf_teardown(void);
static void         conf_write_len(const char *, size_t);
static void         conf_write(const char *);
static int          load(const char *, struct config *, char *);
static void         assert_load_error(const char *, const char *);
static void         assert_set_error(const char *, const char *, const char *);
static void         shipped_path(char *, size_t);
static char        *read_file(const char *);
static void         assert_ipv4(const struct config_listen *, const char *,
                        unsigned);
static void         assert_ipv6(const struct config_listen *, const char *,
                        unsigned);
static Suite       *config_suite(void);

static void
conf_setup(void)
{
    conf_path[0] = '\0';
}

static void
conf_teardown(void)
{
    if (conf_path[0] != '\0')
        unlink(conf_path);
}

/* Writes data (which may hold NUL bytes) to a fresh temporary file. */
static void
conf_write_len(const char *data, size_t len)
{
    int fd;

    if (conf_path[0] != '\0')
        unlink(conf_path);
    snprintf(conf_path, sizeof(conf_path), "/tmp/userapid-test-conf-XXXXXX");
    fd = mkstemp(conf_path);
    ck_assert_msg(fd != -1, "mkstemp: %s", strerror(errno));
    ck_assert_int_eq(write(fd, data, len), (ssize_t)len);
    ck_assert_int_eq(close(fd), 0);
}

static void
conf_write(const char *text)
{
    conf_write_len(text, strlen(text));
}

/* Defaults, then text as a file over them. */
static int
load(const char *text, struct config *c, char *err)
{
    config_defaults(c);
    conf_write(text);
    err[0] = '\0';
    return config_load(c, conf_path, err, CONFIG_ERR_LEN);
}

/* text must fail to load with "PATH:" followed by expect. */
static void
assert_load_error(const char *text, const char *expect)
{
    struct config   c;
    char            err[CONFIG_ERR_LEN], want[CONFIG_ERR_LEN];

    ck_assert_int_eq(load(text, &c, err), -1);
    snprintf(want, sizeof(want), "%s:%s", conf_path, expect);
    ck_assert_str_eq(err, want);
}

/* config_set(key, value) must fail with exactly expect. */
static void
assert_set_error(const char *key, const char *value, const char *expect)
{
    struct config   c, before;
    char            err[CONFIG_ERR_LEN] = "";

    config_defaults(&c);
    before = c;
    ck_assert_int_eq(config_set(&c, key, value, 1, err, sizeof(err)), -1);
    ck_assert_str_eq(err, expect);
    /* A refused value changes nothing. */
    ck_assert(memcmp(&c, &before, sizeof(c)) == 0);
}

static void
shipped_path(char *path, size_t size)
{
    const char *srcdir = getenv("USERAPID_SRCDIR");

    snprintf(path, size, "%s/etc/userapid.conf", srcdir ? srcdir : ".");
}

static char *
read_file(const char *path)
{
    FILE   *fp;
    char   *data;
    long    n;

    fp = fopen(path, "r");
    ck_assert_msg(fp != NULL, "%s: %s", path, strerror(errno));
    ck_assert_int_eq(fseek(fp, 0, SEEK_END), 0);
    n = ftell(fp);
    ck_assert_int_ge(n, 0);
    rewind(fp);
    data = malloc((size_t)n + 1);
    ck_assert_ptr_nonnull(data);
    ck_assert_uint_eq(fread(data, 1, (size_t)n, fp), (size_t)n);
    data[n] = '\0';
    fclose(fp);
    return data;
}

static void
assert_ipv4(const struct config_listen *l, const char *addr, unsigned port)
{
    const struct sockaddr_in *sin = (const struct sockaddr_in *)&l->addr;
    char buf[INET_ADDRSTRLEN];

    ck_assert_int_eq(sin->sin_family, AF_INET);
    ck_assert_uint_eq(l->addrlen, sizeof(struct sockaddr_in));
    ck_assert_uint_eq(ntohs(sin->sin_port), port);
    ck_assert_ptr_nonnull(inet_ntop(AF_INET, &sin->sin_addr, buf, sizeof(buf)));
    ck_assert_str_eq(buf, addr);
}

static void
assert_ipv6(const struct config_listen *l, const char *addr, unsigned port)
{
    const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)&l->addr;
    char buf[INET6_ADDRSTRLEN];

    ck_assert_int_eq(sin6->sin6_family, AF_INET6);
    ck_assert_uint_eq(l->addrlen, sizeof(struct sockaddr_in6));
    ck_assert_uint_eq(ntohs(sin6->sin6_port), port);
    ck_assert_ptr_nonnull(inet_ntop(AF_INET6, &sin6->sin6_addr, buf, sizeof(buf)));
    ck_assert_str_eq(buf, addr);
}

/* --- defaults and the shipped file --- */

START_TEST(test_defaults_are_the_documented_values)
{
    struct config c;

    config_defaults(&c);
    ck_assert_int_eq(c.nlisten, 1);
    ck_assert_str_eq(c.listen[0].text, "127.0.0.1:8080");
    assert_ipv4(&c.listen[0], "127.0.0.1", 8080);
    ck_assert_int_eq(c.workers, 0);
    ck_assert_str_eq(c.state_dir, LOCALSTATEDIR "/lib/userapid");
    ck_assert_int_eq(c.max_connections, 4096);
    ck_assert_int_eq(c.max_body_size, 65536);
    ck_assert_int_eq(c.header_timeout, 10);
    ck_assert_int_eq(c.keepalive_timeout, 60);
    ck_assert_int_eq(c.drain_timeout, 15);
    ck_assert_int_eq(c.log_level, LOG_INFO);
    ck_assert_int_eq(c.access_log, 1);
}
END_TEST

START_TEST(test_shipped_conf_parses_to_the_defaults)
{
    struct config   c, d;
    char            path[4096], err[CONFIG_ERR_LEN] = "";

    shipped_path(path, sizeof(path));
    config_defaults(&d);
    config_defaults(&c);
    ck_assert_msg(config_load(&c, path, err, sizeof(err)) == 0, "%s", err);
    ck_assert_str_eq(c.file, path);
    memcpy(d.file, c.file, sizeof(d.file));
    ck_assert(memcmp(&c, &d, sizeof(c)) == 0);
}
END_TEST

/*
 * Uncommenting every "#key = value" line of the shipped file must still
 * give the defaults: the documented defaults are the real ones.  It also
 * proves every key is documented, once.
 */
START_TEST(test_shipped_conf_documents_every_default)
{
    static const char *const keys[] = {
        "listen", "workers", "state_dir", "max_connections", "max_body_size",
        "header_timeout", "keepalive_timeout", "drain_timeout", "log_level",
        "access_log", "metrics_listen",
    };
    struct config   c, d;
    char            path[4096], err[CONFIG_ERR_LEN] = "", pat[64];
    char           *text, *p, *line;
    size_t          i;

    shipped_path(path, sizeof(path));
    text = read_file(path);
    for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        snprintf(pat, sizeof(pat), "\n#%s = ", keys[i]);
        p = strstr(text, pat);
        ck_assert_msg(p != NULL, "%s: no \"#%s = \" line", path, keys[i]);
        ck_assert_msg(strstr(p + 1, pat) == NULL, "%s: \"#%s\" twice", path,
            keys[i]);
    }
    /* Uncomment "#word = " lines in place: shift each left by one byte. */
    for (line = text; *line != '\0'; line = p + (*p != '\0')) {
        p = line + strcspn(line, "\n");
        if (line[0] == '#' && line[1] >= 'a' && line[1] <= 'z' &&
            strstr(line, " = ") != NULL && strstr(line, " = ") < p) {
            memmove(line, line + 1, strlen(line + 1) + 1);
            p--;
        }
    }
    conf_write(text);
    free(text);
    config_defaults(&d);
    config_defaults(&c);
    ck_assert_msg(config_load(&c, conf_path, err, sizeof(err)) == 0, "%s", err);
    /* The file says /var; a build with another localstatedir differs there
     * only. */
    if (strcmp(LOCALSTATEDIR, "/var") != 0) {
        ck_assert_str_eq(c.state_dir, "/var/lib/userapid");
        memcpy(c.state_dir, d.state_dir, sizeof(c.state_dir));
    }
    memcpy(d.file, c.file, sizeof(d.file));
    /* Where the listen line stands is kept, for messages. */
    ck_assert_int_gt(c.listen[0].line, 0);
    d.listen[0].line = c.listen[0].line;
    ck_assert(memcmp(&c, &d, sizeof(c)) == 0);
}
END_TEST

START_TEST(test_empty_file_keeps_defaults)
{
    struct config   c, d;
    char            err[CONFIG_ERR_LEN];

    ck_assert_int_eq(load("", &c, err), 0);
    config_defaults(&d);
    memcpy(d.file, c.file, sizeof(d.file));
    ck_assert(memcmp(&c, &d, sizeof(c)) == 0);
}
END_TEST

/* --- file syntax --- */

START_TEST(test_comments_and_blank_lines_are_ignored)
{
    struct config   c;
    char            err[CONFIG_ERR_LEN];

    ck_assert_msg(load("# a comment\n\n   \n\t# indented comment\n"
        "#workers = 3\nworkers = 7\n  \t\n", &c, err) == 0, "%s", err);
    ck_assert_int_eq(c.workers, 7);
}
END_TEST

START_TEST(test_trailing_comment_after_blank_is_stripped)
{
    struct config   c;
    char            err[CONFIG_ERR_LEN];

    ck_assert_msg(load("workers = 5 # five\n"
        "state_dir = /srv/userapid\t# tab before\n", &c, err) == 0, "%s", err);
    ck_assert_int_eq(c.workers, 5);
    ck_assert_str_eq(c.state_dir, "/srv/userapid");
}
END_TEST

START_TEST(test_hash_inside_value_is_kept)
{
    struct config   c;
    char            err[CONFIG_ERR_LEN];

    ck_assert_msg(load("state_dir = /srv/a#b\n", &c, err) == 0, "%s", err);
    ck_assert_str_eq(c.state_dir, "/srv/a#b");
}
END_TEST

START_TEST(test_blanks_around_key_and_value_are_trimmed)
{
    struct config   c;
    char            err[CONFIG_ERR_LEN];

    ck_assert_msg(load("  \tworkers\t=\t 9 \t\nstate_dir=/x y\n"
        "header_timeout= 20\n", &c, err) == 0, "%s", err);
    ck_assert_int_eq(c.workers, 9);
    ck_assert_str_eq(c.state_dir, "/x y");
    ck_assert_int_eq(c.header_timeout, 20);
}
END_TEST

START_TEST(test_crlf_line_endings_are_accepted)
{
    struct config   c;
    char            err[CONFIG_ERR_LEN];

    ck_assert_msg(load("# windows\r\nworkers = 3\r\n\r\n"
        "state_dir = /srv/u\r\n", &c, err) == 0, "%s", err);
    ck_assert_int_eq(c.workers, 3);
    ck_assert_str_eq(c.state_dir, "/srv/u");
}
END_TEST

START_TEST(test_carriage_return_inside_line_is_rejected)
{
    assert_load_error("workers = 3\rx\n",
        "1: control character in line (not a text file?)");
}
END_TEST

START_TEST(test_last_line_needs_no_newline)
{
    struct config   c;
    char            err[CONFIG_ERR_LEN];

    ck_assert_msg(load("workers = 2\nlog_level = debug", &c, err) == 0, "%s", err);
    ck_assert_int_eq(c.log_level, LOG_DEBUG);
}
END_TEST

START_TEST(test_utf8_bom_is_ignored)
{
    struct config   c;
    char            err[CONFIG_ERR_LEN];

    ck_assert_msg(load("\xef\xbb\xbfworkers = 4\n", &c, err) == 0, "%s", err);
    ck_assert_int_eq(c.workers, 4);
}
END_TEST

START_TEST(test_unknown_key_names_file_and_line)
{
    assert_load_error("# c\n\nworkers = 2\n\n\n\nwrokers = 4\n",
        "7: unknown key \"wrokers\"");
}
END_TEST

START_TEST(test_keys_are_case_sensitive)
{
    assert_load_error("Workers = 4\n", "1: unknown key \"Workers\"");
}
END_TEST

START_TEST(test_missing_equals_names_file_and_line)
{
    assert_load_error("\n\nworkers 4\n",
        "3: missing \"=\" (expected \"key = value\")");
    assert_load_error("workers # = 4\n",
        "1: missing \"=\" (expected \"key = value\")");
}
END_TEST

START_TEST(test_missing_key_before_equals)
{
    assert_load_error("  = 4\n", "1: missing key before \"=\"");
}
END_TEST

START_TEST(test_empty_value_names_key)
{
    assert_load_error("state_dir =\n", "1: empty value for \"state_dir\"");
    assert_load_error("workers = \t # nothing\n", "1: empty value for \"workers\"");
}
END_TEST

START_TEST(test_duplicate_key_names_first_line)
{
    assert_load_error("\nworkers = 2\nlog_level = info\nworkers = 2\n",
        "4: \"workers\" is already set on line 2");
    assert_load_error("access_log = yes\naccess_log = no\n",
        "2: \"access_log\" is already set on line 1");
}
END_TEST

START_TEST(test_line_of_limit_length_is_accepted)
{
    struct config   c;
    char            err[CONFIG_ERR_LEN];
    static char     text[CONFIG_LINE_MAX + 8];
    size_t          n;

    /* "state_dir = /" then slashes up to exactly CONFIG_LINE_MAX bytes. */
    n = (size_t)snprintf(text, sizeof(text), "state_dir = ");
    memset(text + n, '/', CONFIG_LINE_MAX - n);
    memcpy(text + CONFIG_LINE_MAX, "\r\n", 3);
    ck_assert_msg(load(text, &c, err) == 0, "%s", err);
    ck_assert_uint_eq(strlen(c.state_dir), CONFIG_LINE_MAX - n);
}
END_TEST

START_TEST(test_line_longer_than_limit_is_rejected)
{
    static char text[CONFIG_LINE_MAX + 32];
    size_t      n, start;

    /* Line 2 is CONFIG_LINE_MAX + 1 bytes; the CRLF does not count. */
    start = (size_t)snprintf(text, sizeof(text), "workers = 1\n");
    n = start + (size_t)snprintf(text + start, sizeof(text) - start,
        "state_dir = ");
    memset(text + n, 'x', start + CONFIG_LINE_MAX + 1 - n);
    memcpy(text + start + CONFIG_LINE_MAX + 1, "\r\n", 3);
    ck_assert_uint_eq(strlen(text), start + CONFIG_LINE_MAX + 3);
    assert_load_error(text, "2: line is longer than 4096 bytes");
}
END_TEST

START_TEST(test_nul_byte_is_rejected)
{
    struct config   c;
    char            err[CONFIG_ERR_LEN], want[CONFIG_ERR_LEN];
    static const char data[] = "workers = 2\nlog_level = in\0fo\n";

    config_defaults(&c);
    conf_write_len(data, sizeof(data) - 1);
    ck_assert_int_eq(config_load(&c, conf_path, err, sizeof(err)), -1);
    snprintf(want, sizeof(want), "%s:2: NUL byte in line (not a text file?)",
        conf_path);
    ck_assert_str_eq(err, want);
}
END_TEST

START_TEST(test_control_character_is_rejected)
{
    assert_load_error("workers = 2\n\n\x1b[31mworkers = 3\n",
        "3: control character in line (not a text file?)");
}
END_TEST

START_TEST(test_missing_file_reports_path_and_strerror)
{
    struct config   c;
    char            err[CONFIG_ERR_LEN];

    config_defaults(&c);
    ck_assert_int_eq(config_load(&c, "/nonexistent/userapid.conf", err,
        sizeof(err)), -1);
    ck_assert_str_eq(err, "/nonexistent/userapid.conf: No such file or directory");
}
END_TEST

START_TEST(test_directory_reports_path_and_strerror)
{
    struct config   c;
    char            err[CONFIG_ERR_LEN];

    config_defaults(&c);
    ck_assert_int_eq(config_load(&c, "/tmp", err, sizeof(err)), -1);
    ck_assert_str_eq(err, "/tmp: Is a directory");
}
END_TEST

START_TEST(test_load_over_current_values_keeps_unset_keys)
{
    struct config   c;
    char            err[CONFIG_ERR_LEN];

    config_defaults(&c);
    c.drain_timeout = 99;
    conf_write("workers = 3\n");
    ck_assert_int_eq(config_load(&c, conf_path, err, sizeof(err)), 0);
    ck_assert_int_eq(c.workers, 3);
    ck_assert_int_eq(c.drain_timeout, 99);
}
END_TEST

/* --- workers --- */

START_TEST(test_workers_accepts_auto_and_bounds)
{
    struct config   c;
    char            err[CONFIG_ERR_LEN];

    ck_assert_int_eq(load("workers = 1\n", &c, err), 0);
    ck_assert_int_eq(c.workers, 1);
    ck_assert_int_eq(load("workers = 256\n", &c, err), 0);
    ck_assert_int_eq(c.workers, 256);
    ck_assert_int_eq(load("workers = 007\n", &c, err), 0);
    ck_assert_int_eq(c.workers, 7);
    c.workers = 5;
    conf_write("workers = auto\n");
    ck_assert_int_eq(config_load(&c, conf_path, err, sizeof(err)), 0);
    ck_assert_int_eq(c.workers, 0);
    ck_assert_int_eq(load("workers = AUTO\n", &c, err), 0);
    ck_assert_int_eq(c.workers, 0);
}
END_TEST

START_TEST(test_workers_out_of_range_names_range)
{
    assert_load_error("\n\nworkers = 0\n",
        "3: workers: \"0\" is out of range (1..256, or auto)");
    assert_load_error("workers = 257\n",
        "1: workers: \"257\" is out of range (1..256, or auto)");
    assert_load_error("workers = 99999999999999999999999999\n",
        "1: workers: \"99999999999999999999999999\" is out of range (1..256, or auto)");
}
END_TEST

START_TEST(test_workers_not_a_number)
{
    static const char *const bad[] = {
        "-1", "+4", "4x", "0x10", "4 4", "four", "1.5", "autox",
    };
    char    text[64], want[CONFIG_ERR_LEN];
    size_t  i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        snprintf(text, sizeof(text), "workers = %s\n", bad[i]);
        snprintf(want, sizeof(want),
            "1: workers: \"%s\" is not a number (1..256, or auto)", bad[i]);
        assert_load_error(text, want);
    }
}
END_TEST

START_TEST(test_worker_count_resolves_auto_to_cpus)
{
    struct config   c;
    cpu_set_t       set;
    int             want;

    config_defaults(&c);
    CPU_ZERO(&set);
    ck_assert_int_eq(sched_getaffinity(0, sizeof(set), &set), 0);
    want = CPU_COUNT(&set);
    if (want > CONFIG_MAX_WORKERS)
        want = CONFIG_MAX_WORKERS;
    ck_assert_int_eq(config_worker_count(&c), want);
    ck_assert_int_ge(config_worker_count(&c), 1);
    c.workers = 12;
    ck_assert_int_eq(config_worker_count(&c), 12);
}
END_TEST

/* --- state_dir --- */

START_TEST(test_state_dir_takes_absolute_and_relative_paths)
{
    struct config   c;
    char            err[CONFIG_ERR_LEN];

    ck_assert_int_eq(load("state_dir = /srv/userapid/\n", &c, err), 0);
    ck_assert_str_eq(c.state_dir, "/srv/userapid/");
    ck_assert_int_eq(load("state_dir = run/state\n", &c, err), 0);
    ck_assert_str_eq(c.state_dir, "run/state");
}
END_TEST

START_TEST(test_state_dir_too_long_is_rejected)
{
    static char value[sizeof(((struct config *)0)->state_dir) + 1];
    struct config   c;
    char            err[CONFIG_ERR_LEN];

    memset(value, 'd', sizeof(value) - 1);
    assert_set_error("state_dir", value, "state_dir: path is longer than 4095 bytes");
    /* One byte less fits. */
    value[sizeof(value) - 2] = '\0';
    config_defaults(&c);
    ck_assert_int_eq(config_set(&c, "state_dir", value, 0, err, sizeof(err)), 0);
    ck_assert_str_eq(c.state_dir, value);
}
END_TEST

/* --- max_connections --- */

START_TEST(test_max_connections_bounds)
{
    struct config   c;
    char            err[CONFIG_ERR_LEN];

    ck_assert_int_eq(load("max_connections = 1\n", &c, err), 0);
    ck_assert_int_eq(c.max_connections, 1);
    ck_assert_int_eq(load("max_connections = 1000000\n", &c, err), 0);
    ck_assert_int_eq(c.max_connections, 1000000);
    assert_load_error("max_connections = 0\n",
        "1: max_connections: \"0\" is out of range (1..1000000)");
    assert_load_error("max_connections = 1000001\n",
        "1: max_connections: \"1000001\" is out of range (1..1000000)");
    assert_load_error("max_connections = 10k\n",
        "1: max_connections: \"10k\" is not a number (1..1000000)");
}
END_TEST

/* --- max_body_size --- */

START_TEST(test_max_body_size_takes_bytes_and_suffixes)
{
    static const struct { const char *text; long bytes; } good[] = {
        { "1", 1 }, { "1000", 1000 }, { "1k", 1024 }, { "64K", 65536 },
        { "1m", 1048576 }, { "2M", 2097152 }, { "64m", 67108864 },
        { "65536k", 67108864 }, { "67108864", 67108864 },
    };
    struct config   c;
    char            text[64], err[CONFIG_ERR_LEN];
    size_t          i;

    for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        snprintf(text, sizeof(text), "max_body_size = %s\n", good[i].text);
        ck_assert_msg(load(text, &c, err) == 0, "%s", err);
        ck_assert_int_eq(c.max_body_size, good[i].bytes);
    }
}
END_TEST

START_TEST(test_max_body_size_out_of_range)
{
    static const char *const bad[] = {
        "0", "0k", "0m", "67108865", "65537k", "65m",
        "99999999999999999999999m",
    };
    char    text[64], want[CONFIG_ERR_LEN];
    size_t  i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        snprintf(text, sizeof(text), "max_body_size = %s\n", bad[i]);
        snprintf(want, sizeof(want), "1: max_body_size: \"%s\" is out of range "
            "(1..67108864 bytes, or with a k or m suffix up to 64m)", bad[i]);
        assert_load_error(text, want);
    }
}
END_TEST

START_TEST(test_max_body_size_not_a_number)
{
    static const char *const bad[] = {
        "k", "m", "64kb", "64 k", "1.5m", "-1", "64g", "1km", "0x40",
    };
    char    text[64], want[CONFIG_ERR_LEN];
    size_t  i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        snprintf(text, sizeof(text), "max_body_size = %s\n", bad[i]);
        snprintf(want, sizeof(want), "1: max_body_size: \"%s\" is not a number "
            "(1..67108864 bytes, or with a k or m suffix up to 64m)", bad[i]);
        assert_load_error(text, want);
    }
}
END_TEST

/* --- timeouts --- */

START_TEST(test_header_timeout_bounds)
{
    struct config   c;
    char            err[CONFIG_ERR_LEN];

    ck_assert_int_eq(load("header_timeout = 1\n", &c, err), 0);
    ck_assert_int_eq(c.header_timeout, 1);
    ck_assert_int_eq(load("header_timeout = 3600\n", &c, err), 0);
    ck_assert_int_eq(c.header_timeout, 3600);
    assert_load_error("header_timeout = 0\n",
        "1: header_timeout: \"0\" is out of range (1..3600 seconds)");
    assert_load_error("header_timeout = 3601\n",
        "1: header_timeout: \"3601\" is out of range (1..3600 seconds)");
    assert_load_error("header_timeout = 10s\n",
        "1: header_timeout: \"10s\" is not a number (1..3600 seconds)");
}
END_TEST

START_TEST(test_keepalive_timeout_allows_zero)
{
    struct config   c;
    char            err[CONFIG_ERR_LEN];

    ck_assert_int_eq(load("keepalive_timeout = 0\n", &c, err), 0);
    ck_assert_int_eq(c.keepalive_timeout, 0);
    ck_assert_int_eq(load("keepalive_timeout = 3600\n", &c, err), 0);
    ck_assert_int_eq(c.keepalive_timeout, 3600);
    assert_load_error("keepalive_timeout = 3601\n",
        "1: keepalive_timeout: \"3601\" is out of range (0..3600 seconds)");
    assert_load_error("keepalive_timeout = -1\n",
        "1: keepalive_timeout: \"-1\" is not a number (0..3600 seconds)");
}
END_TEST

START_TEST(test_drain_timeout_bounds)
{
    struct config   c;
    char            err[CONFIG_ERR_LEN];

    ck_assert_int_eq(load("drain_timeout = 0\n", &c, err), 0);
    ck_assert_int_eq(c.drain_timeout, 0);
    ck_assert_int_eq(load("drain_timeout = 3600\n", &c, err), 0);
    ck_assert_int_eq(c.drain_timeout, 3600);
    assert_load_error("drain_timeout = 3601\n",
        "1: drain_timeout: \"3601\" is out of range (0..3600 seconds)");
    assert_load_error("drain_timeout = 1e3\n",
        "1: drain_timeout: \"1e3\" is not a number (0..3600 seconds)");
}
END_TEST

/* --- log_level and access_log --- */

START_TEST(test_log_level_takes_every_name)
{
    static const struct { const char *name; int level; } good[] = {
        { "err", LOG_ERR }, { "warning", LOG_WARNING }, { "notice", LOG_NOTICE },
        { "info", LOG_INFO }, { "debug", LOG_DEBUG }, { "DEBUG", LOG_DEBUG },
    };
    struct config   c;
    char            text[64], err[CONFIG_ERR_LEN];
    size_t          i;

    for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        snprintf(text, sizeof(text), "log_level = %s\n", good[i].name);
        ck_assert_msg(load(text, &c, err) == 0, "%s", err);
        ck_assert_int_eq(c.log_level, good[i].level);
    }
}
END_TEST

START_TEST(test_log_level_rejects_other_names)
{
    assert_load_error("log_level = verbose\n", "1: log_level: \"verbose\" is not "
        "one of err, warning, notice, info, debug");
    assert_load_error("log_level = emerg\n", "1: log_level: \"emerg\" is not "
        "one of err, warning, notice, info, debug");
    assert_load_error("log_level = 6\n", "1: log_level: \"6\" is not "
        "one of err, warning, notice, info, debug");
}
END_TEST

START_TEST(test_log_level_name_maps_back)
{
    ck_assert_str_eq(config_log_level_name(LOG_ERR), "err");
    ck_assert_str_eq(config_log_level_name(LOG_WARNING), "warning");
    ck_assert_str_eq(config_log_level_name(LOG_NOTICE), "notice");
    ck_assert_str_eq(config_log_level_name(LOG_INFO), "info");
    ck_assert_str_eq(config_log_level_name(LOG_DEBUG), "debug");
    ck_assert_str_eq(config_log_level_name(LOG_CRIT), "crit");
    ck_assert_str_eq(config_log_level_name(-1), "unknown");
    ck_assert_str_eq(config_log_level_name(8), "unknown");
}
END_TEST

START_TEST(test_access_log_takes_yes_and_no_words)
{
    static const struct { const char *word; int on; } good[] = {
        { "yes", 1 }, { "no", 0 }, { "on", 1 }, { "off", 0 }, { "true", 1 },
        { "false", 0 }, { "1", 1 }, { "0", 0 }, { "YES", 1 }, { "Off", 0 },
    };
    struct config   c;
    char            text[64], err[CONFIG_ERR_LEN];
    size_t          i;

    for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        snprintf(text, sizeof(text), "access_log = %s\n", good[i].word);
        ck_assert_msg(load(text, &c, err) == 0, "%s", err);
        ck_assert_int_eq(c.access_log, good[i].on);
    }
}
END_TEST

START_TEST(test_access_log_rejects_other_words)
{
    assert_load_error("\naccess_log = maybe\n", "2: access_log: \"maybe\" is not "
        "yes or no (or on/off, true/false, 1/0)");
    assert_load_error("access_log = 2\n", "1: access_log: \"2\" is not "
        "yes or no (or on/off, true/false, 1/0)");
}
END_TEST

/* --- listen --- */

START_TEST(test_listen_parses_ipv4)
{
    struct config_listen l;

    ck_assert_int_eq(config_parse_listen("0.0.0.0:80", &l), 0);
    assert_ipv4(&l, "0.0.0.0", 80);
    ck_assert_str_eq(l.text, "0.0.0.0:80");
    ck_assert_int_eq(config_parse_listen("192.168.1.20:1", &l), 0);
    assert_ipv4(&l, "192.168.1.20", 1);
    ck_assert_int_eq(config_parse_listen("10.0.0.1:65535", &l), 0);
    assert_ipv4(&l, "10.0.0.1", 65535);
}
END_TEST

START_TEST(test_listen_parses_ipv6)
{
    struct config_listen l;

    ck_assert_int_eq(config_parse_listen("[::]:8080", &l), 0);
    assert_ipv6(&l, "::", 8080);
    ck_assert_str_eq(l.text, "[::]:8080");
    ck_assert_int_eq(config_parse_listen("[::1]:80", &l), 0);
    assert_ipv6(&l, "::1", 80);
    ck_assert_int_eq(config_parse_listen("[2001:db8::42]:443", &l), 0);
    assert_ipv6(&l, "2001:db8::42", 443);
    ck_assert_int_eq(config_parse_listen("[::ffff:127.0.0.1]:8080", &l), 0);
    assert_ipv6(&l, "::ffff:127.0.0.1", 8080);
}
END_TEST

/* What everyone types: localhost, and a bare port for every address. */
START_TEST(test_listen_parses_localhost_and_bare_port)
{
    struct config_listen l, v6;

    ck_assert_int_eq(config_parse_listen("localhost:8080", &l), 0);
    assert_ipv4(&l, "127.0.0.1", 8080);
    ck_assert_str_eq(l.text, "localhost:8080");
    ck_assert_int_eq(l.dual, 0);
    ck_assert_int_eq(config_parse_listen(":8080", &l), 0);
    assert_ipv6(&l, "::", 8080);
    ck_assert_str_eq(l.text, ":8080");
    ck_assert_int_eq(l.dual, 1);
    /* [::]:8080 is IPv6 only: another socket than :8080. */
    ck_assert_int_eq(config_parse_listen("[::]:8080", &v6), 0);
    ck_assert_int_eq(v6.dual, 0);
    ck_assert_int_eq(config_listen_same(&l, &v6), 0);
    ck_assert_int_eq(config_parse_listen("127.0.0.1:8080", &v6), 0);
    ck_assert_int_eq(config_parse_listen("localhost:8080", &l), 0);
    ck_assert_int_eq(config_listen_same(&l, &v6), 1);
}
END_TEST

START_TEST(test_listen_rejects_bad_forms)
{
    static const struct { const char *text, *why; } bad[] = {
        { "127.0.0.1", "\"127.0.0.1\": missing \":PORT\" (e.g. 127.0.0.1:8080)" },
        { "[::1]", "\"[::1]\": missing \":PORT\" (e.g. [::1]:8080)" },
        { "127.0.0.1:", "\"127.0.0.1:\": port \"\" is not a number (1..65535)" },
        { "127.0.0.1:0", "\"127.0.0.1:0\": port \"0\" is out of range (1..65535)" },
        { "127.0.0.1:65536",
          "\"127.0.0.1:65536\": port \"65536\" is out of range (1..65535)" },
        { "127.0.0.1:http",
          "\"127.0.0.1:http\": port \"http\" is not a number (1..65535)" },
        { "127.0.0.1:-80",
          "\"127.0.0.1:-80\": port \"-80\" is not a number (1..65535)" },
        { "[::1]:0", "\"[::1]:0\": port \"0\" is out of range (1..65535)" },
        { "1.2.3.999:80", "\"1.2.3.999:80\": \"1.2.3.999\" is not an IPv4 address" },
        { "localhost:0", "\"localhost:0\": port \"0\" is out of range (1..65535)" },
        { "example.com:80", "\"example.com:80\": \"example.com\" is not an IPv4 address" },
        { "[::g]:80", "\"[::g]:80\": \"::g\" is not an IPv6 address" },
        { "[127.0.0.1]:80",
          "\"[127.0.0.1]:80\": \"127.0.0.1\" is not an IPv6 address" },
        { "::1:80",
          "\"::1:80\": an IPv6 address goes in brackets (e.g. [::1]:8080)" },
        { "[::1:80", "\"[::1:80\": missing \"]\"" },
        { "[::1]80", "\"[::1]80\": expected \":\" after \"]\"" },
        { ":", "\":\": port \"\" is not a number (1..65535)" },
        { ":http", "\":http\": port \"http\" is not a number (1..65535)" },
        { "[]:80", "\"[]:80\": missing address" },
        { "[0000:0000:0000:0000:0000:0000:0000:0000:0000:0000:0000]:8080808",
          "\"[0000:0000:0000:0000:0000:0000:0000:0000:0000:0000:0000]:8080808\" "
          "is longer than 63 bytes" },
    };
    struct config_listen    l;
    char                    want[CONFIG_ERR_LEN];
    size_t                  i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ck_assert_msg(config_parse_listen(bad[i].text, &l) == -1, "%s",
            bad[i].text);
        snprintf(want, sizeof(want), "listen: %s", bad[i].why);
        assert_set_error("listen", bad[i].text, want);
    }
}
END_TEST

START_TEST(test_listen_bad_value_names_file_and_line)
{
    assert_load_error("listen = [::1]:8080\nlisten = 127.0.0.1:65536\n",
        "2: listen: \"127.0.0.1:65536\": port \"65536\" is out of range (1..65535)");
}
END_TEST

START_TEST(test_listen_first_line_replaces_default_then_appends)
{
    struct config   c;
    char            err[CONFIG_ERR_LEN];

    ck_assert_msg(load("listen = [::]:8080\nworkers = 2\n"
        "listen = 0.0.0.0:9090\n", &c, err) == 0, "%s", err);
    ck_assert_int_eq(c.nlisten, 2);
    assert_ipv6(&c.listen[0], "::", 8080);
    ck_assert_str_eq(c.listen[0].text, "[::]:8080");
    assert_ipv4(&c.listen[1], "0.0.0.0", 9090);
    ck_assert_str_eq(c.listen[1].text, "0.0.0.0:9090");
}
END_TEST

START_TEST(test_listen_may_repeat_the_default_address)
{
    struct config   c;
    char            err[CONFIG_ERR_LEN];

    ck_assert_msg(load("listen = 127.0.0.1:8080\n", &c, err) == 0, "%s", err);
    ck_assert_int_eq(c.nlisten, 1);
    assert_ipv4(&c.listen[0], "127.0.0.1", 8080);
}
END_TEST

START_TEST(test_listen_each_load_replaces_the_list)
{
    struct config   c;
    char            err[CONFIG_ERR_LEN];

    ck_assert_int_eq(load("listen = 10.0.0.1:80\nlisten = 10.0.0.2:80\n", &c,
        err), 0);
    conf_write("listen = 10.0.0.3:80\n");
    ck_assert_int_eq(config_load(&c, conf_path, err, sizeof(err)), 0);
    ck_assert_int_eq(c.nlisten, 1);
    assert_ipv4(&c.listen[0], "10.0.0.3", 80);
}
END_TEST

START_TEST(test_listen_same_address_twice_is_rejected)
{
    assert_load_error("listen = 0.0.0.0:80\nlisten = [::]:80\n"
        "listen = 0.0.0.0:80\n",
        "3: listen: \"0.0.0.0:80\" is already listed on line 1");
    /* The same address written another way is still the same. */
    assert_load_error("listen = [::1]:80\n\nlisten = [0:0::1]:80\n",
        "3: listen: \"[0:0::1]:80\" is already listed as \"[::1]:80\" on line 1");
}
END_TEST

START_TEST(test_listen_same_address_other_port_or_family_is_allowed)
{
    struct config   c;
    char            err[CONFIG_ERR_LEN];

    ck_assert_msg(load("listen = 127.0.0.1:80\nlisten = 127.0.0.1:81\n"
        "listen = [::1]:80\nlisten = [::ffff:127.0.0.1]:80\n", &c, err) == 0,
        "%s", err);
    ck_assert_int_eq(c.nlisten, 4);
}
END_TEST

START_TEST(test_listen_more_than_max_is_rejected)
{
    struct config   c;
    char            text[2048], want[CONFIG_ERR_LEN], err[CONFIG_ERR_LEN];
    size_t          n = 0;
    int             i;

    for (i = 0; i < CONFIG_MAX_LISTEN; i++)
        n += (size_t)snprintf(text + n, sizeof(text) - n,
            "listen = 127.0.0.1:%d\n", 9000 + i);
    ck_assert_msg(load(text, &c, err) == 0, "%s", err);
    ck_assert_int_eq(c.nlisten, CONFIG_MAX_LISTEN);
    snprintf(text + n, sizeof(text) - n, "listen = [::1]:80\n");
    snprintf(want, sizeof(want), "%d: listen: more than %d addresses",
        CONFIG_MAX_LISTEN + 1, CONFIG_MAX_LISTEN);
    assert_load_error(text, want);
}
END_TEST

/* --- config_set: command-line overrides --- */

START_TEST(test_config_set_overrides_every_key)
{
    struct config   c;
    char            err[CONFIG_ERR_LEN] = "";

    config_defaults(&c);
    ck_assert_int_eq(config_set(&c, "workers", "3", 0, err, sizeof(err)), 0);
    ck_assert_int_eq(config_set(&c, "state_dir", "run/state", 0, err, sizeof(err)), 0);
    ck_assert_int_eq(config_set(&c, "max_connections", "10", 0, err, sizeof(err)), 0);
    ck_assert_int_eq(config_set(&c, "max_body_size", "1m", 0, err, sizeof(err)), 0);
    ck_assert_int_eq(config_set(&c, "header_timeout", "5", 0, err, sizeof(err)), 0);
    ck_assert_int_eq(config_set(&c, "keepalive_timeout", "0", 0, err, sizeof(err)), 0);
    ck_assert_int_eq(config_set(&c, "drain_timeout", "1", 0, err, sizeof(err)), 0);
    ck_assert_int_eq(config_set(&c, "log_level", "debug", 0, err, sizeof(err)), 0);
    ck_assert_int_eq(config_set(&c, "access_log", "off", 0, err, sizeof(err)), 0);
    ck_assert_int_eq(c.workers, 3);
    ck_assert_str_eq(c.state_dir, "run/state");
    ck_assert_int_eq(c.max_connections, 10);
    ck_assert_int_eq(c.max_body_size, 1048576);
    ck_assert_int_eq(c.header_timeout, 5);
    ck_assert_int_eq(c.keepalive_timeout, 0);
    ck_assert_int_eq(c.drain_timeout, 1);
    ck_assert_int_eq(c.log_level, LOG_DEBUG);
    ck_assert_int_eq(c.access_log, 0);
}
END_TEST

START_TEST(test_config_set_after_load_wins)
{
    struct config   c;
    char            err[CONFIG_ERR_LEN];

    ck_assert_int_eq(load("workers = 4\n", &c, err), 0);
    /* Setting a key twice is fine outside a file: the override wins. */
    ck_assert_int_eq(config_set(&c, "workers", "8", 0, err, sizeof(err)), 0);
    ck_assert_int_eq(config_set(&c, "workers", "auto", 0, err, sizeof(err)), 0);
    ck_assert_int_eq(c.workers, 0);
}
END_TEST

START_TEST(test_config_set_listen_replaces_or_appends)
{
    struct config   c;
    char            err[CONFIG_ERR_LEN] = "";

    config_defaults(&c);
    ck_assert_int_eq(config_set(&c, "listen", "[::1]:8081", 1, err, sizeof(err)), 0);
    ck_assert_int_eq(c.nlisten, 2);
    ck_assert_str_eq(c.listen[0].text, "127.0.0.1:8080");
    ck_assert_str_eq(c.listen[1].text, "[::1]:8081");
    ck_assert_int_eq(config_set(&c, "listen", "127.0.0.1:9000", 0, err, sizeof(err)), 0);
    ck_assert_int_eq(c.nlisten, 1);
    assert_ipv4(&c.listen[0], "127.0.0.1", 9000);
    ck_assert_int_eq(config_set(&c, "listen", "127.0.0.1:9001", 1, err, sizeof(err)), 0);
    ck_assert_int_eq(c.nlisten, 2);
    assert_ipv4(&c.listen[1], "127.0.0.1", 9001);
}
END_TEST

START_TEST(test_config_set_listen_duplicate_is_rejected)
{
    assert_set_error("listen", "127.0.0.1:8080",
        "listen: \"127.0.0.1:8080\" is already listed");
}
END_TEST

START_TEST(test_config_set_listen_bad_replace_keeps_list)
{
    struct config   c;
    char            err[CONFIG_ERR_LEN] = "";

    config_defaults(&c);
    ck_assert_int_eq(config_set(&c, "listen", "nowhere", 0, err, sizeof(err)), -1);
    ck_assert_int_eq(c.nlisten, 1);
    ck_assert_str_eq(c.listen[0].text, "127.0.0.1:8080");
}
END_TEST

START_TEST(test_config_set_errors_name_key_without_file)
{
    assert_set_error("workers", "0", "workers: \"0\" is out of range (1..256, or auto)");
    assert_set_error("max_body_size", "65m", "max_body_size: \"65m\" is out of "
        "range (1..67108864 bytes, or with a k or m suffix up to 64m)");
    assert_set_error("log_level", "loud", "log_level: \"loud\" is not one of err, "
        "warning, notice, info, debug");
    assert_set_error("wrokers", "4", "wrokers: unknown key");
    assert_set_error("state_dir", "", "state_dir: empty value");
}
END_TEST

START_TEST(test_registration_takes_open_admin_closed)
{
    struct config c;
    char          err[CONFIG_ERR_LEN];

    ck_assert_int_eq(load("registration = admin\n", &c, err), 0);
    ck_assert_int_eq(c.registration, CONFIG_REGISTRATION_ADMIN);
    ck_assert_int_eq(load("registration = Closed\n", &c, err), 0);
    ck_assert_int_eq(c.registration, CONFIG_REGISTRATION_CLOSED);
    assert_load_error("registration = invite\n",
        "1: registration: \"invite\" is not one of open, admin, closed");
}
END_TEST

START_TEST(test_min_password_length_lowest_is_2)
{
    struct config c;
    char          err[CONFIG_ERR_LEN];

    ck_assert_int_eq(load("min_password_length = 2\n", &c, err), 0);
    ck_assert_int_eq(c.min_password_length, 2);
    assert_load_error("min_password_length = 1\n",
        "1: min_password_length: \"1\" is out of range (2..1024 bytes)");
    assert_load_error("min_password_length = 1025\n",
        "1: min_password_length: \"1025\" is out of range (2..1024 bytes)");
}
END_TEST

START_TEST(test_password_cost_default_or_1_to_11)
{
    struct config c;
    char          err[CONFIG_ERR_LEN];

    ck_assert_int_eq(load("password_cost = 5\n", &c, err), 0);
    ck_assert_int_eq(c.password_cost, 5);
    ck_assert_int_eq(load("password_cost = default\n", &c, err), 0);
    ck_assert_int_eq(c.password_cost, 0);
    assert_load_error("password_cost = 12\n",
        "1: password_cost: \"12\" is out of range (1..11 or default)");
}
END_TEST

START_TEST(test_session_keys_bounds)
{
    struct config c;
    char          err[CONFIG_ERR_LEN];

    ck_assert_int_eq(load("session_ttl = 60\nsession_max_age = 120\nmax_sessions = 5\n"
        "cookie_secure = yes\n", &c, err), 0);
    ck_assert_int_eq(c.session_ttl, 60);
    ck_assert_int_eq(c.session_max_age, 120);
    ck_assert_int_eq(c.max_sessions, 5);
    ck_assert_int_eq(c.cookie_secure, 1);
    assert_load_error("session_ttl = 0\n",
        "1: session_ttl: \"0\" is out of range (1..2592000 seconds)");
    assert_load_error("max_sessions = 0\n",
        "1: max_sessions: \"0\" is out of range (1..1000000)");
    config_defaults(&c);
    ck_assert_int_eq(c.max_sessions_per_user, 10);
    ck_assert_int_eq(load("max_sessions_per_user = 1000000\n", &c, err), 0);
    ck_assert_int_eq(c.max_sessions_per_user, 1000000);
    assert_load_error("max_sessions_per_user = 0\n",
        "1: max_sessions_per_user: \"0\" is out of range (1..1000000)");
    assert_load_error("cookie_secure = maybe\n",
        "1: cookie_secure: \"maybe\" is not yes or no (or on/off, true/false, 1/0)");
}
END_TEST

/* ui serves the web app by default; "no" turns it off, anything else
 * than a yes or a no is refused. */
START_TEST(test_ui_key_is_yes_by_default_and_a_boolean)
{
    struct config c;
    char          err[CONFIG_ERR_LEN];

    config_defaults(&c);
    ck_assert_int_eq(c.ui, 1);
    ck_assert_int_eq(load("ui = no\n", &c, err), 0);
    ck_assert_int_eq(c.ui, 0);
    ck_assert_int_eq(load("ui = on\n", &c, err), 0);
    ck_assert_int_eq(c.ui, 1);
    assert_load_error("ui = sometimes\n",
        "1: ui: \"sometimes\" is not yes or no (or on/off, true/false, 1/0)");
}
END_TEST

/* The top of login_max_failures' range is accepted: the account's
 * limit, ten times it unless set, stays above it; the store's keys have
 * their documented defaults. */
START_TEST(test_login_limits_at_the_top_and_store_defaults)
{
    struct config_source src;
    struct config        c;
    char                 err[CONFIG_ERR_LEN] = "";

    memset(&src, 0, sizeof(src));
    src.config_path = conf_path;
    conf_write("login_max_failures = 1000000\n");
    ck_assert_msg(config_read(&src, &c, err, sizeof(err)) == 0, "%s", err);
    ck_assert_int_eq(c.login_max_failures, 1000000);
    ck_assert_int_eq(c.login_account_max_failures, 10000000);
    ck_assert_int_eq(c.storage, CONFIG_STORAGE_FILE);
    ck_assert_str_eq(c.database_url, "");
    ck_assert_int_eq(c.database_timeout, 5);
    ck_assert_int_eq(c.session_cache_ttl, 1);
    conf_write("login_account_max_failures = 10000001\n");
    ck_assert_int_eq(config_read(&src, &c, err, sizeof(err)), -1);
    conf_write("storage = postgresql\n");
    ck_assert_int_eq(config_read(&src, &c, err, sizeof(err)), -1);
    ck_assert_msg(strstr(err, "storage = postgresql needs database_url") != NULL,
        "%s", err);
}
END_TEST

/* --- metrics_listen --- */

START_TEST(test_metrics_listen_is_off_by_default)
{
    struct config c;

    config_defaults(&c);
    ck_assert_int_eq(c.metrics_listen.addrlen, 0);
}
END_TEST

START_TEST(test_metrics_listen_takes_an_address_and_off)
{
    struct config c;
    char          err[CONFIG_ERR_LEN];

    ck_assert_msg(load("\nmetrics_listen = 127.0.0.1:9100\n", &c, err) == 0,
        "%s", err);
    assert_ipv4(&c.metrics_listen, "127.0.0.1", 9100);
    ck_assert_str_eq(c.metrics_listen.text, "127.0.0.1:9100");
    ck_assert_int_eq(c.metrics_listen.flags, CONFIG_LISTEN_METRICS);
    ck_assert_int_eq(c.metrics_listen.line, 2);
    /* The API's list is left alone. */
    ck_assert_int_eq(c.nlisten, 1);
    ck_assert_str_eq(c.listen[0].text, "127.0.0.1:8080");
    ck_assert_msg(load("metrics_listen = [::1]:9100\n", &c, err) == 0, "%s", err);
    assert_ipv6(&c.metrics_listen, "::1", 9100);
    ck_assert_msg(load("metrics_listen = :9100\n", &c, err) == 0, "%s", err);
    ck_assert_int_eq(c.metrics_listen.dual, 1);
    ck_assert_msg(load("metrics_listen = off\n", &c, err) == 0, "%s", err);
    ck_assert_int_eq(c.metrics_listen.addrlen, 0);
    config_defaults(&c);
    ck_assert_int_eq(config_set(&c, "metrics_listen", "localhost:9100", 0, err,
        CONFIG_ERR_LEN), 0);
    assert_ipv4(&c.metrics_listen, "127.0.0.1", 9100);
    ck_assert_int_eq(config_set(&c, "metrics_listen", "OFF", 0, err,
        CONFIG_ERR_LEN), 0);
    ck_assert_int_eq(c.metrics_listen.addrlen, 0);
}
END_TEST

START_TEST(test_metrics_listen_rejects_bad_addresses_and_flags)
{
    struct config c;
    char          err[CONFIG_ERR_LEN];

    ck_assert_int_eq(load("metrics_listen = 127.0.0.1\n", &c, err), -1);
    ck_assert_msg(strstr(err, ":1: metrics_listen: ") != NULL, "%s", err);
    ck_assert_int_eq(load("metrics_listen = 127.0.0.1:70000\n", &c, err), -1);
    ck_assert_int_eq(load("metrics_listen = 127.0.0.1:9100 tls\n", &c, err), -1);
    ck_assert_int_eq(load("metrics_listen = 127.0.0.1:9100\n"
        "metrics_listen = 127.0.0.1:9101\n", &c, err), -1);
    ck_assert_msg(strstr(err, "2: \"metrics_listen\" is already set on line 1")
        != NULL, "%s", err);
}
END_TEST

START_TEST(test_metrics_listen_may_not_be_a_listen_address)
{
    struct config_source src;
    struct config        c;
    char                 err[CONFIG_ERR_LEN] = "", want[CONFIG_ERR_LEN];

    memset(&src, 0, sizeof(src));
    src.config_path = conf_path;
    conf_write("listen = 127.0.0.1:9100\nmetrics_listen = 127.0.0.1:09100\n");
    ck_assert_int_eq(config_read(&src, &c, err, sizeof(err)), -1);
    snprintf(want, sizeof(want), "%s:2: metrics_listen: \"127.0.0.1:09100\" "
        "is also a listen address", conf_path);
    ck_assert_str_eq(err, want);
    conf_write("listen = 127.0.0.1:9100\nmetrics_listen = 127.0.0.1:9101\n");
    ck_assert_msg(config_read(&src, &c, err, sizeof(err)) == 0, "%s", err);
    ck_assert_int_eq(c.metrics_listen.flags, CONFIG_LISTEN_METRICS);
}
END_TEST

static Suite *
config_suite(void)
{
    Suite *s = suite_create("config");
    TCase *tc;

    tc = tcase_create("defaults");
    tcase_add_checked_fixture(tc, conf_setup, conf_teardown);
    tcase_add_test(tc, test_defaults_are_the_documented_values);
    tcase_add_test(tc, test_metrics_listen_is_off_by_default);
    tcase_add_test(tc, test_metrics_listen_takes_an_address_and_off);
    tcase_add_test(tc, test_metrics_listen_rejects_bad_addresses_and_flags);
    tcase_add_test(tc, test_metrics_listen_may_not_be_a_listen_address);
    tcase_add_test(tc, test_shipped_conf_parses_to_the_defaults);
    tcase_add_test(tc, test_shipped_conf_documents_every_default);
    tcase_add_test(tc, test_empty_file_keeps_defaults);
    suite_add_tcase(s, tc);

    tc = tcase_create("syntax");
    tcase_add_checked_fixture(tc, conf_setup, conf_teardown);
    tcase_add_test(tc, test_comments_and_blank_lines_are_ignored);
    tcase_add_test(tc, test_trailing_comment_after_blank_is_stripped);
    tcase_add_test(tc, test_hash_inside_value_is_kept);
    tcase_add_test(tc, test_blanks_around_key_and_value_are_trimmed);
    tcase_add_test(tc, test_crlf_line_endings_are_accepted);
    tcase_add_test(tc, test_carriage_return_inside_line_is_rejected);
    tcase_add_test(tc, test_last_line_needs_no_newline);
    tcase_add_test(tc, test_utf8_bom_is_ignored);
    tcase_add_test(tc, test_unknown_key_names_file_and_line);
    tcase_add_test(tc, test_keys_are_case_sensitive);
    tcase_add_test(tc, test_missing_equals_names_file_and_line);
    tcase_add_test(tc, test_missing_key_before_equals);
    tcase_add_test(tc, test_empty_value_names_key);
    tcase_add_test(tc, test_duplicate_key_names_first_line);
    tcase_add_test(tc, test_line_of_limit_length_is_accepted);
    tcase_add_test(tc, test_line_longer_than_limit_is_rejected);
    tcase_add_test(tc, test_nul_byte_is_rejected);
    tcase_add_test(tc, test_control_character_is_rejected);
    tcase_add_test(tc, test_missing_file_reports_path_and_strerror);
    tcase_add_test(tc, test_directory_reports_path_and_strerror);
    tcase_add_test(tc, test_load_over_current_values_keeps_unset_keys);
    suite_add_tcase(s, tc);

    tc = tcase_create("keys");
    tcase_add_checked_fixture(tc, conf_setup, conf_teardown);
    tcase_add_test(tc, test_workers_accepts_auto_and_bounds);
    tcase_add_test(tc, test_workers_out_of_range_names_range);
    tcase_add_test(tc, test_workers_not_a_number);
    tcase_add_test(tc, test_registration_takes_open_admin_closed);
    tcase_add_test(tc, test_min_password_length_lowest_is_2);
    tcase_add_test(tc, test_password_cost_default_or_1_to_11);
    tcase_add_test(tc, test_session_keys_bounds);
    tcase_add_test(tc, test_ui_key_is_yes_by_default_and_a_boolean);
    tcase_add_test(tc, test_worker_count_resolves_auto_to_cpus);
    tcase_add_test(tc, test_state_dir_takes_absolute_and_relative_paths);
    tcase_add_test(tc, test_state_dir_too_long_is_rejected);
    tcase_add_test(tc, test_max_connections_bounds);
    tcase_add_test(tc, test_max_body_size_takes_bytes_and_suffixes);
    tcase_add_test(tc, test_max_body_size_out_of_range);
    tcase_add_test(tc, test_max_body_size_not_a_number);
    tcase_add_test(tc, test_header_timeout_bounds);
    tcase_add_test(tc, test_keepalive_timeout_allows_zero);
    tcase_add_test(tc, test_drain_timeout_bounds);
    tcase_add_test(tc, test_log_level_takes_every_name);
    tcase_add_test(tc, test_log_level_rejects_other_names);
    tcase_add_test(tc, test_log_level_name_maps_back);
    tcase_add_test(tc, test_access_log_takes_yes_and_no_words);
    tcase_add_test(tc, test_access_log_rejects_other_words);
    suite_add_tcase(s, tc);

    tc = tcase_create("listen");
    tcase_add_checked_fixture(tc, conf_setup, conf_teardown);
    tcase_add_test(tc, test_listen_parses_ipv4);
    tcase_add_test(tc, test_listen_parses_ipv6);
    tcase_add_test(tc, test_listen_parses_localhost_and_bare_port);
    tcase_add_test(tc, test_listen_rejects_bad_forms);
    tcase_add_test(tc, test_listen_bad_value_names_file_and_line);
    tcase_add_test(tc, test_listen_first_line_replaces_default_then_appends);
    tcase_add_test(tc, test_listen_may_repeat_the_default_address);
    tcase_add_test(tc, test_listen_each_load_replaces_the_list);
    tcase_add_test(tc, test_listen_same_address_twice_is_rejected);
    tcase_add_test(tc, test_listen_same_address_other_port_or_family_is_allowed);
    tcase_add_test(tc, test_listen_more_than_max_is_rejected);
    suite_add_tcase(s, tc);

    tc = tcase_create("config_set");
    tcase_add_checked_fixture(tc, conf_setup, conf_teardown);
    tcase_add_test(tc, test_config_set_overrides_every_key);
    tcase_add_test(tc, test_config_set_after_load_wins);
    tcase_add_test(tc, test_config_set_listen_replaces_or_appends);
    tcase_add_test(tc, test_config_set_listen_duplicate_is_rejected);
    tcase_add_test(tc, test_config_set_listen_bad_replace_keeps_list);
    tcase_add_test(tc, test_config_set_errors_name_key_without_file);
    tcase_add_test(tc, test_login_limits_at_the_top_and_store_defaults);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr;
    int      failed;

    sr = srunner_create(config_suite());
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
