/* SPDX-License-Identifier: MIT */
/*
 * test_units.c - the packaged tree that `make install` makes: unit files
 * that systemd-analyze accepts without a word, the hardening score, man
 * pages that render without warnings, the catalog, and install/uninstall
 * rules (paths, modes, a configuration that is never overwritten).
 *
 * make check stages an install in $USERAPID_STAGE (PREFIX=/usr).
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "log.h"

static const char *
stage(void)
{
    const char *s = getenv("USERAPID_STAGE");

    ck_assert_msg(s != NULL, "USERAPID_STAGE is not set (run through make check)");
    return s;
}

static const char *
srcdir(void)
{
    const char *s = getenv("USERAPID_SRCDIR");

    return s != NULL ? s : ".";
}

static const char *
make_args(void)
{
    const char *s = getenv("USERAPID_MAKE_ARGS");

    return s != NULL ? s : "";
}

static void
assert_mode(const char *path, unsigned mode)
{
    struct stat st;

    ck_assert_msg(stat(path, &st) == 0, "%s missing", path);
    ck_assert_msg((st.st_mode & 07777) == mode, "%s: mode %o, want %o", path,
        st.st_mode & 07777, mode);
}

START_TEST(test_units_verify_without_a_word)
{
    char *out;
    int   st;

    /* The staged ExecStart path, so verify finds the binary it names. */
    out = run_cmd(&st, "set -e; t=$(mktemp -d); s='%s'; "
        "sed \"s|/usr/sbin/|$s/usr/sbin/|\" $s/lib/systemd/system/userapid.service "
        "> $t/userapid.service; cp $s/lib/systemd/system/userapid.socket "
        "$s/lib/systemd/system/userapid-https.socket "
        "$s/lib/systemd/system/userapid-metrics.socket $t/; "
        "cd $t; MANPATH=$s/usr/share/man systemd-analyze verify userapid.service "
        "userapid.socket userapid-https.socket userapid-metrics.socket 2>&1; "
        "rm -rf $t", stage());
    ck_assert_int_eq(WEXITSTATUS(st), 0);
    ck_assert_msg(strcmp(out, "") == 0, "systemd-analyze verify said: %s", out);
    free(out);
}
END_TEST

START_TEST(test_security_exposure_at_most_1_0)
{
    char  *out;
    double score = 99;
    int    st;

    out = run_cmd(&st, "systemd-analyze security --offline=true "
        "%s/lib/systemd/system/userapid.service 2>&1 | "
        "sed -n 's/.*Overall exposure level for userapid.service: \\([0-9.]*\\).*/\\1/p'",
        stage());
    ck_assert_int_eq(sscanf(out, "%lf", &score), 1);
    fprintf(stderr, "systemd-analyze security: exposure %.1f\n", score);
    ck_assert(score <= 1.0);
    free(out);
}
END_TEST

START_TEST(test_service_is_notify_socket_activated_unprivileged)
{
    char *out;
    int   st;

    out = run_cmd(&st, "grep -E '^(Type|NotifyAccess|ExecStart|ExecReload|Restart|"
        "Requires|After|StateDirectory|DynamicUser|WatchdogSec|PrivateNetwork)=' "
        "%s/lib/systemd/system/userapid.service", stage());
    ck_assert_str_eq(out,
        "Requires=userapid.socket\n"
        "After=userapid.socket network.target\n"
        "Type=notify\n"
        "NotifyAccess=main\n"
        "ExecStart=/usr/sbin/userapid --config /etc/userapid/userapid.conf\n"
        "ExecReload=/bin/sh -c \"kill -HUP ${MAINPID}\"\n"
        "Restart=on-failure\n"
        "WatchdogSec=30\n"
        "DynamicUser=yes\n"
        "StateDirectory=userapid\n"
        "PrivateNetwork=yes\n");
    free(out);
    out = run_cmd(&st, "grep -E '^ListenStream=' %s/lib/systemd/system/userapid.socket",
        stage());
    ck_assert_str_eq(out, "ListenStream=80\n");
    free(out);
}
END_TEST

START_TEST(test_staged_layout_and_modes)
{
    static const char *const files[] = {
        "/usr/sbin/userapid", "/usr/sbin/userapictl",
        "/usr/share/man/man8/userapid.8", "/usr/share/man/man8/userapictl.8",
        "/usr/share/man/man5/userapid.conf.5",
        "/lib/systemd/system/userapid.service", "/lib/systemd/system/userapid.socket",
        "/lib/systemd/system/userapid-https.socket",
        "/lib/systemd/system/userapid-metrics.socket",
        "/usr/lib/systemd/catalog/userapid.catalog", "/etc/userapid/userapid.conf",
        "/usr/bin/userapi", "/usr/share/man/man1/userapi.1",
        "/usr/share/bash-completion/completions/userapi",
        "/usr/share/bash-completion/completions/userapictl",
    };
    static const unsigned modes[] = {
        0755, 0755, 0644, 0644, 0644, 0644, 0644, 0644, 0644, 0644, 0644, 0755,
        0644, 0644, 0644,
    };
    char   path[1024];
    size_t i;

    for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        snprintf(path, sizeof(path), "%s%s", stage(), files[i]);
        assert_mode(path, modes[i]);
    }
}
END_TEST

START_TEST(test_install_honours_prefix_and_keeps_config)
{
    char *out, dir[] = "/tmp/userapid-install.XXXXXX", path[1024];
    int   st;

    ck_assert_ptr_nonnull(mkdtemp(dir));
    out = run_cmd(&st, "env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -s -C %s install DESTDIR=%s PREFIX=/opt/ua "
        "mandir=/opt/ua/man %s >/dev/null 2>&1", srcdir(), dir, make_args());
    ck_assert_int_eq(WEXITSTATUS(st), 0);
    free(out);
    snprintf(path, sizeof(path), "%s/opt/ua/sbin/userapid", dir);
    assert_mode(path, 0755);
    snprintf(path, sizeof(path), "%s/opt/ua/man/man8/userapid.8", dir);
    assert_mode(path, 0644);
    /* Not /usr: units and catalog under the prefix; the config in /etc. */
    snprintf(path, sizeof(path), "%s/opt/ua/lib/systemd/system/userapid.service", dir);
    assert_mode(path, 0644);
    snprintf(path, sizeof(path), "%s/opt/ua/lib/systemd/catalog/userapid.catalog", dir);
    assert_mode(path, 0644);
    out = run_cmd(&st, "grep ^ExecStart= %s", path);
    free(out);
    out = run_cmd(&st, "grep ^ExecStart= %s/opt/ua/lib/systemd/system/userapid.service", dir);
    ck_assert_str_eq(out, "ExecStart=/opt/ua/sbin/userapid --config /etc/userapid/userapid.conf\n");
    free(out);

    /* A changed configuration survives a second install. */
    out = run_cmd(&st, "echo 'workers = 3' >> %s/etc/userapid/userapid.conf && "
        "env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -s -C %s install DESTDIR=%s PREFIX=/opt/ua mandir=/opt/ua/man %s 2>&1 | "
        "grep -c keeping; tail -1 %s/etc/userapid/userapid.conf",
        dir, srcdir(), dir, make_args(), dir);
    ck_assert_str_eq(out, "1\nworkers = 3\n");
    free(out);

    /* uninstall removes what install put there, but not the config. */
    out = run_cmd(&st, "env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -s -C %s uninstall DESTDIR=%s PREFIX=/opt/ua "
        "mandir=/opt/ua/man %s >/dev/null 2>&1; cd %s && find . -type f | sort",
        srcdir(), dir, make_args(), dir);
    ck_assert_str_eq(out, "./etc/userapid/userapid.conf\n");
    free(out);
    free(run_cmd(&st, "rm -rf %s", dir));
}
END_TEST

START_TEST(test_man_pages_render_without_warnings)
{
    char *out;
    int   st;

    out = run_cmd(&st, "cd %s/usr/share/man && ls man*/* | wc -l; for f in man*/*; do "
        "LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l $f 2>&1 >/dev/null; done",
        stage());
    /* userapid.8, userapictl.8, userapid.conf.5 at least; no warnings. */
    ck_assert_msg(atoi(out) >= 3, "%s", out);
    ck_assert_msg(strchr(out, '\n') != NULL && strchr(out, '\n')[1] == '\0',
        "man warnings: %s", out);
    free(out);
}
END_TEST

START_TEST(test_catalog_explains_every_message_id)
{
    static const char *const ids[] = {
        MSGID_STARTED, MSGID_READY, MSGID_RELOADING, MSGID_STOPPING,
        MSGID_WORKER_CRASHED, MSGID_WORKER_RESPAWNED, MSGID_LOGIN_FAILED,
        MSGID_USER_CREATED, MSGID_USER_DELETED, MSGID_ACCESS,
        MSGID_CONFIG_REJECTED, MSGID_STOPPED, MSGID_LOGIN_LOCKOUT,
    };
    char  *out, dir[] = "/tmp/userapid-catalog.XXXXXX";
    size_t i;
    int    st;

    ck_assert_ptr_nonnull(mkdtemp(dir));
    out = run_cmd(&st, "mkdir -p %s/usr/lib/systemd/catalog && cp "
        "%s/usr/lib/systemd/catalog/userapid.catalog %s/usr/lib/systemd/catalog/ && "
        "journalctl --root=%s --update-catalog 2>&1 && journalctl --root=%s "
        "--list-catalog 2>&1 | grep ' userapid: ' | sort", dir, stage(), dir, dir, dir);
    ck_assert_int_eq(WEXITSTATUS(st), 0);
    for (i = 0; i < sizeof(ids) / sizeof(ids[0]); i++)
        ck_assert_msg(strstr(out, ids[i]) != NULL, "%s not in the catalog:\n%s",
            ids[i], out);
    free(out);
    free(run_cmd(&st, "rm -rf %s", dir));
}
END_TEST

static Suite *
units_suite(void)
{
    Suite *s = suite_create("units");
    TCase *tc = tcase_create("packaging");

    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_units_verify_without_a_word);
    tcase_add_test(tc, test_security_exposure_at_most_1_0);
    tcase_add_test(tc, test_service_is_notify_socket_activated_unprivileged);
    tcase_add_test(tc, test_staged_layout_and_modes);
    tcase_add_test(tc, test_install_honours_prefix_and_keeps_config);
    tcase_add_test(tc, test_man_pages_render_without_warnings);
    tcase_add_test(tc, test_catalog_explains_every_message_id);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(units_suite());
    int      failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
