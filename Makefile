# SPDX-License-Identifier: MIT
# userapid - user-account HTTP API daemon
#
#   make              build everything under build/
#   make run          the daemon in the foreground on 127.0.0.1:8080
#   make check        unit and integration tests, and the API contract
#   make check-ui     the web app (/ui/) in headless Chromium
#   make SANITIZE=1   the same with AddressSanitizer and UBSan (build/sanitize/)
#   make clean

VERSION     := 0.1.0

PREFIX      ?= /usr/local
exec_prefix ?= $(PREFIX)
sbindir     ?= $(exec_prefix)/sbin
bindir      ?= $(exec_prefix)/bin
datarootdir ?= $(PREFIX)/share
mandir      ?= $(datarootdir)/man
# A daemon's configuration belongs in /etc whatever the prefix; the path is
# compiled in as the default of --config.
sysconfdir  ?= /etc
localstatedir ?= /var

CC          ?= cc
PKG_CONFIG  ?= pkg-config
CFLAGS      ?= -O2 -g
WARN        := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
               -Wformat=2 -Wno-format-nonliteral
ifeq ($(SANITIZE),1)
BUILD       := build/sanitize
SAN         := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
else
BUILD       := build
SAN         :=
endif

# Recursive (=) on purpose: pkg-config runs when a recipe needs the flags,
# which is after the deps check below has had a chance to say what is missing.
LIB_PKGS     = libsystemd libcrypt libcrypto libpq
pc_cflags    = $(shell $(PKG_CONFIG) --cflags $(1))
pc_libs      = $(shell $(PKG_CONFIG) --libs $(1))

ALL_CFLAGS   = -std=gnu11 $(CPPFLAGS) $(CFLAGS) $(WARN) $(SAN) -pthread -D_GNU_SOURCE \
               -DUSERAPID_VERSION='"$(VERSION)"' -DSYSCONFDIR='"$(sysconfdir)"' \
               -DLOCALSTATEDIR='"$(localstatedir)"' -MMD -MP
ALL_LDFLAGS  = $(LDFLAGS) $(SAN) -pthread

# ---- one library and three programs --------------------------------------
#
# src/lib/ is the code every program may use; each program's folder holds
# what only it uses, and sees src/lib/ and itself, never another program.
# The library is a static archive, so a program links only the members it
# calls, and only the system libraries those members need.

# schema.sql is compiled in as a C string (store_pg_init runs it).
LIB_OBJS     := $(patsubst src/%.c,$(BUILD)/src/%.o,$(wildcard src/lib/*.c)) \
                $(BUILD)/gen/schema_sql.o
LIB          := $(BUILD)/libuserapid.a

DAEMON       := $(BUILD)/userapid
# ui/, the web app at /ui/, is compiled in as ui_files[] (api_ui.h).
DAEMON_OBJS  := $(patsubst src/%.c,$(BUILD)/src/%.o,$(wildcard src/userapid/*.c)) \
                $(BUILD)/gen/ui_files.o
DAEMON_PKGS   = $(LIB_PKGS) json-c libssl

CTL          := $(BUILD)/userapictl
CTL_OBJS     := $(patsubst src/%.c,$(BUILD)/src/%.o,$(wildcard src/userapictl/*.c))
CTL_PKGS      = $(LIB_PKGS) json-c

USERAPI      := $(BUILD)/userapi
USERAPI_OBJS := $(patsubst src/%.c,$(BUILD)/src/%.o,$(wildcard src/userapi/*.c))
USERAPI_PKGS  = libcrypto json-c libcurl

# What each folder's code may include.
$(BUILD)/src/lib/%.o:        INCLUDES = -Isrc/lib $(call pc_cflags,$(LIB_PKGS))
$(BUILD)/src/userapid/%.o:   INCLUDES = -Isrc/lib -Isrc/userapid $(call pc_cflags,$(DAEMON_PKGS))
$(BUILD)/src/userapictl/%.o: INCLUDES = -Isrc/lib -Isrc/userapictl $(call pc_cflags,$(CTL_PKGS))
$(BUILD)/src/userapi/%.o:    INCLUDES = -Isrc/lib -Isrc/userapi $(call pc_cflags,$(USERAPI_PKGS))

UNIT_SRCS   := $(wildcard tests/unit/test_*.c)
UNIT_BINS   := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/unit/%)
INTEG_SRCS  := $(wildcard tests/integration/test_*.c)
# test_multihost needs PostgreSQL: it runs only in the PostgreSQL pass.
INTEG_BINS  := $(filter-out %/test_multihost,$(INTEG_SRCS:tests/integration/%.c=$(BUILD)/tests/integration/%))
# Run a second time with storage = postgresql (scripts/run-tests pg:BIN):
# the API suite, and the suites of more than one host.
PG_INTEG_BINS := $(addprefix $(BUILD)/tests/integration/,test_api test_multihost)
HARNESS_OBJ := $(BUILD)/tests/integration/harness.o
PRELOAD     := $(BUILD)/tests/integration/preload.so
# Unit tests reach the daemon's modules too (http, api, hashpool...).
TEST_OBJS   := $(filter-out %/main.o,$(DAEMON_OBJS))
TEST_INCLUDES = -Isrc/lib -Isrc/userapid $(call pc_cflags,$(DAEMON_PKGS) check)
TEST_LIBS     = $(call pc_libs,$(DAEMON_PKGS) check)

STATE_DIR   := run/state
PORT        ?= 8080
LISTEN      ?= 127.0.0.1:$(PORT)

.PHONY: all run check check-unit check-integration clean deps
.DELETE_ON_ERROR:

all: $(DAEMON) $(CTL) $(USERAPI)

# Only the targets that exist to set a machine up install packages (as
# root); a plain build says what is missing and stops.
INSTALLING_GOALS := run check check-unit check-integration
deps:
	@scripts/install-deps $(if $(filter $(INSTALLING_GOALS),$(MAKECMDGOALS)),--check,--need)

# Objects depend on the flags that shape them: changing sysconfdir,
# CFLAGS or the version rebuilds what it must.
FLAGS_FILE  := $(BUILD)/.build-flags
FLAGS_NOW    = $(CC) $(CPPFLAGS) $(CFLAGS) $(SAN) $(VERSION) $(sysconfdir) $(localstatedir)
$(FLAGS_FILE): FORCE
	@mkdir -p $(@D)
	@echo '$(FLAGS_NOW)' | cmp -s - $@ || echo '$(FLAGS_NOW)' > $@

.PHONY: FORCE
FORCE:

$(BUILD)/src/%.o: src/%.c $(FLAGS_FILE) | deps
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(INCLUDES) -c -o $@ $<

# src/lib/schema.sql as store_pg_schema_sql[]: each line a C string.
%/gen/schema_sql.c: src/lib/schema.sql
	@mkdir -p $(@D)
	{ echo '/* Generated from src/lib/schema.sql: do not edit. */'; \
	  echo 'extern const char store_pg_schema_sql[];'; \
	  echo 'const char store_pg_schema_sql[] ='; \
	  sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/^/    "/' -e 's/$$/\\n"/' $<; \
	  echo '    ;'; } > $@

$(BUILD)/gen/schema_sql.o: $(BUILD)/gen/schema_sql.c $(FLAGS_FILE)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

# The files of ui/ as ui_files[]: each a C string, line by line, with its
# content type from its extension; a file of another kind stops the build.
UI_FILES := $(sort $(wildcard ui/*))
%/gen/ui_files.c: $(UI_FILES) Makefile
	@mkdir -p $(@D)
	{ echo '/* Generated from ui/: do not edit. */'; \
	  echo '#include "api_ui.h"'; \
	  i=0; for f in $(UI_FILES); do \
	    echo "static const char ui_file_$$i[] ="; \
	    sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/?/\\?/g' \
	        -e 's/^/    "/' -e 's/$$/\\n"/' $$f; \
	    echo '    ;'; i=$$((i + 1)); \
	  done; \
	  echo 'const struct ui_file ui_files[] = {'; \
	  i=0; for f in $(UI_FILES); do \
	    case $$f in \
	    *.html) t='text/html; charset=utf-8' ;; \
	    *.css)  t='text/css; charset=utf-8' ;; \
	    *.js)   t='text/javascript; charset=utf-8' ;; \
	    *) echo "$$f: no content type for this kind of file" >&2; exit 1 ;; \
	    esac; \
	    echo "    { \"$${f#ui/}\", \"$$t\", ui_file_$$i, sizeof(ui_file_$$i) - 1 },"; \
	    i=$$((i + 1)); \
	  done; \
	  echo '    { 0, 0, 0, 0 },'; echo '};'; } > $@

$(BUILD)/gen/ui_files.o: $(BUILD)/gen/ui_files.c $(FLAGS_FILE)
	$(CC) $(ALL_CFLAGS) -Isrc/lib -Isrc/userapid $(call pc_cflags,$(DAEMON_PKGS)) -c -o $@ $<

# Made afresh, so that a member whose source is gone does not stay.
$(LIB): $(LIB_OBJS)
	rm -f $@
	$(AR) rcs $@ $^

$(DAEMON): $(DAEMON_OBJS) $(LIB)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(call pc_libs,$(DAEMON_PKGS))

$(CTL): $(CTL_OBJS) $(LIB)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(call pc_libs,$(CTL_PKGS))

$(USERAPI): $(USERAPI_OBJS) $(LIB)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(call pc_libs,$(USERAPI_PKGS))

$(BUILD)/tests/%.o: tests/%.c $(FLAGS_FILE) | deps
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(TEST_INCLUDES) -c -o $@ $<

$(BUILD)/tests/unit/%: $(BUILD)/tests/unit/%.o $(TEST_OBJS) $(LIB)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(TEST_LIBS)

$(BUILD)/tests/integration/test_%: $(BUILD)/tests/integration/test_%.o $(HARNESS_OBJ) $(TEST_OBJS) $(LIB)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(TEST_LIBS)

# An LD_PRELOAD shim the integration tests use to watch or fail libc calls.
$(PRELOAD): tests/integration/preload.c $(FLAGS_FILE)
	@mkdir -p $(@D)
	$(CC) -std=gnu11 $(CFLAGS) $(WARN) -D_GNU_SOURCE -fPIC -shared -o $@ $< -ldl

run: $(DAEMON)
	@mkdir -p -m 0700 $(STATE_DIR)
	$(DAEMON) --config etc/userapid.conf --listen $(LISTEN) --state-dir $(STATE_DIR)

# The API contract (docs/openapi.yaml): linted first, then every answer
# that the suites speaking well-formed HTTP to the API received (test_api in
# both passes, test_hardening) is checked against it.
CONTRACT_LOG    := $(BUILD)/contract.jsonl
CONTRACT_SUITES := test_api test_hardening

check: $(DAEMON) $(CTL) $(USERAPI) $(UNIT_BINS) $(INTEG_BINS) $(PG_INTEG_BINS) $(PRELOAD) stage
	tests/contract/lint
	@rm -f $(CONTRACT_LOG)
	@USERAPID_STAGE=$(STAGE) USERAPID_MAKE_ARGS="$(if $(filter 1,$(SANITIZE)),SANITIZE=1)" \
	    USERAPID_PRELOAD=$(CURDIR)/$(PRELOAD) \
	    USERAPID_BIN=$(CURDIR)/$(DAEMON) USERAPICTL_BIN=$(CURDIR)/$(CTL) \
	    USERAPI_BIN=$(CURDIR)/$(USERAPI) \
	    USERAPID_SRCDIR=$(CURDIR) \
	    USERAPID_CONTRACT_LOG=$(CURDIR)/$(CONTRACT_LOG) \
	    USERAPID_CONTRACT_SUITES="$(CONTRACT_SUITES)" \
	    tests/pg/with-pg scripts/run-tests $(UNIT_BINS) $(INTEG_BINS) \
	    $(addprefix pg:,$(PG_INTEG_BINS))
	tests/contract/check docs/openapi.yaml $(CONTRACT_LOG)

check-unit: $(UNIT_BINS)
	@USERAPID_SRCDIR=$(CURDIR) scripts/run-tests $(UNIT_BINS)

check-integration: $(DAEMON) $(CTL) $(USERAPI) $(INTEG_BINS) $(PRELOAD)
	tests/contract/lint
	@rm -f $(CONTRACT_LOG)
	@USERAPID_PRELOAD=$(CURDIR)/$(PRELOAD) \
	    USERAPID_BIN=$(CURDIR)/$(DAEMON) USERAPICTL_BIN=$(CURDIR)/$(CTL) \
	    USERAPI_BIN=$(CURDIR)/$(USERAPI) \
	    USERAPID_SRCDIR=$(CURDIR) \
	    USERAPID_CONTRACT_LOG=$(CURDIR)/$(CONTRACT_LOG) \
	    USERAPID_CONTRACT_SUITES="$(CONTRACT_SUITES)" \
	    scripts/run-tests $(INTEG_BINS)
	tests/contract/check docs/openapi.yaml $(CONTRACT_LOG)

clean:
	rm -rf build

# ---- install ---------------------------------------------------------------
#
# Units and the catalog go where systemd's pkg-config file says, relative to
# PREFIX unless PREFIX is /usr.  The installed configuration is never
# overwritten.

SYSTEMD_UNITDIR_PC = $(or $(shell $(PKG_CONFIG) --variable=systemdsystemunitdir systemd 2>/dev/null),/lib/systemd/system)
SYSTEMD_CATALOGDIR_PC = $(or $(shell $(PKG_CONFIG) --variable=catalogdir systemd 2>/dev/null),/usr/lib/systemd/catalog)
systemdunitdir ?= $(if $(filter /usr,$(PREFIX)),$(SYSTEMD_UNITDIR_PC),$(PREFIX)/lib/systemd/system)
catalogdir  ?= $(if $(filter /usr,$(PREFIX)),$(SYSTEMD_CATALOGDIR_PC),$(PREFIX)/lib/systemd/catalog)

MAN1 := $(wildcard man/*.1)
MAN5 := $(wildcard man/*.5)
MAN8 := $(wildcard man/*.8)
BIN_PROGS := $(wildcard $(BUILD)/userapi)

.PHONY: install uninstall stage check-systemd

install: all
	install -d $(DESTDIR)$(sbindir) $(DESTDIR)$(bindir) $(DESTDIR)$(mandir)/man1 \
	    $(DESTDIR)$(mandir)/man5 $(DESTDIR)$(mandir)/man8 \
	    $(DESTDIR)$(systemdunitdir) $(DESTDIR)$(catalogdir) \
	    $(DESTDIR)$(sysconfdir)/userapid
	install -m 0755 $(DAEMON) $(CTL) $(DESTDIR)$(sbindir)/
	$(if $(wildcard $(BUILD)/userapi),install -m 0755 $(BUILD)/userapi $(DESTDIR)$(bindir)/)
	$(if $(MAN1),install -m 0644 $(MAN1) $(DESTDIR)$(mandir)/man1/)
	install -m 0644 $(MAN5) $(DESTDIR)$(mandir)/man5/
	install -m 0644 $(MAN8) $(DESTDIR)$(mandir)/man8/
	sed -e 's|@SBINDIR@|$(sbindir)|g' -e 's|@SYSCONFDIR@|$(sysconfdir)|g' \
	    systemd/userapid.service > $(DESTDIR)$(systemdunitdir)/userapid.service
	chmod 0644 $(DESTDIR)$(systemdunitdir)/userapid.service
	install -m 0644 systemd/userapid.socket systemd/userapid-https.socket \
	    systemd/userapid-metrics.socket $(DESTDIR)$(systemdunitdir)/
	install -m 0644 systemd/userapid.catalog $(DESTDIR)$(catalogdir)/
	install -d $(DESTDIR)$(datarootdir)/bash-completion/completions
	install -m 0644 scripts/userapi.bash-completion \
	    $(DESTDIR)$(datarootdir)/bash-completion/completions/userapi
	install -m 0644 scripts/userapictl.bash-completion \
	    $(DESTDIR)$(datarootdir)/bash-completion/completions/userapictl
	@if [ -e $(DESTDIR)$(sysconfdir)/userapid/userapid.conf ]; then \
	    echo "keeping $(DESTDIR)$(sysconfdir)/userapid/userapid.conf"; \
	else \
	    echo "install -m 0644 etc/userapid.conf $(DESTDIR)$(sysconfdir)/userapid/userapid.conf"; \
	    install -m 0644 etc/userapid.conf $(DESTDIR)$(sysconfdir)/userapid/userapid.conf; \
	fi
	@if [ -z "$(DESTDIR)" ] && command -v journalctl >/dev/null; then \
	    journalctl --update-catalog || true; fi

uninstall:
	rm -f $(DESTDIR)$(sbindir)/userapid $(DESTDIR)$(sbindir)/userapictl \
	    $(DESTDIR)$(bindir)/userapi \
	    $(addprefix $(DESTDIR)$(mandir)/man1/,$(notdir $(MAN1))) \
	    $(addprefix $(DESTDIR)$(mandir)/man5/,$(notdir $(MAN5))) \
	    $(addprefix $(DESTDIR)$(mandir)/man8/,$(notdir $(MAN8))) \
	    $(DESTDIR)$(systemdunitdir)/userapid.service \
	    $(DESTDIR)$(systemdunitdir)/userapid.socket \
	    $(DESTDIR)$(systemdunitdir)/userapid-https.socket \
	    $(DESTDIR)$(systemdunitdir)/userapid-metrics.socket \
	    $(DESTDIR)$(catalogdir)/userapid.catalog \
	    $(DESTDIR)$(datarootdir)/bash-completion/completions/userapi
	rm -f $(DESTDIR)$(datarootdir)/bash-completion/completions/userapictl
	@echo "left $(DESTDIR)$(sysconfdir)/userapid/ and the state in place"

# A packaged tree under build/, for the unit checks in make check.
STAGE := $(CURDIR)/$(BUILD)/stage
stage: all
	rm -rf $(STAGE)
	$(MAKE) --no-print-directory install DESTDIR=$(STAGE) PREFIX=/usr >/dev/null

# ---- Debian package --------------------------------------------------------
#
# `make deb` builds the source and binary packages that debian/ describes
# from a copy of the tree in build/deb/userapid-VERSION, so that the work
# tree stays clean, leaves them in build/deb/ and runs lintian on them: an
# error or a warning fails the build.  It rebuilds only when a file of the
# tree changed.  `make lintian` runs lintian again.  As root, the packaging
# tools and the build dependencies are installed first.

DEB_DIR     := build/deb
DEB_SRC     := $(DEB_DIR)/userapid-$(VERSION)
DEB_ARCH    := $(shell dpkg --print-architecture 2>/dev/null)
DEB_PKG      = $(DEB_DIR)/userapid_$(VERSION)_$(DEB_ARCH).deb
DEB_CHANGES  = $(DEB_DIR)/userapid_$(VERSION)_$(DEB_ARCH).changes
# What the package is built from: the tracked and the untracked, not
# ignored, files (or the whole tree outside build/ and run/ without git).
DEB_INPUTS  := $(wildcard $(shell git ls-files -co --exclude-standard 2>/dev/null || \
                 find . -path ./build -prune -o -path ./run -prune -o -path ./.git -prune \
                     -o -type f -print))
LINTIAN_ARGS := --fail-on error,warning --display-info

.PHONY: deb lintian version

version:
	@echo $(VERSION)

deb: $(DEB_PKG)

# The outer make's flags and variables (MAKEFLAGS) stay out of the build.
$(DEB_PKG): $(DEB_INPUTS)
	@scripts/install-deps --check-deb
	rm -rf $(DEB_DIR)
	mkdir -p $(DEB_SRC)
	@echo "copying $(words $(DEB_INPUTS)) files to $(DEB_SRC)"
	@tar -cf - $(DEB_INPUTS) | tar -C $(DEB_SRC) -xf -
	cd $(DEB_SRC) && env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL \
	    dpkg-buildpackage --no-sign -J
	rm -rf $(DEB_SRC)
	lintian $(LINTIAN_ARGS) $(DEB_CHANGES)
	@ls -l $(DEB_DIR)/*.deb

lintian: $(DEB_PKG)
	lintian $(LINTIAN_ARGS) $(DEB_CHANGES)

# Real systemd as PID 1 in systemd-nspawn (root only), with the Debian
# package installed, upgraded and purged in it.
check-systemd: $(DEB_PKG)
	@scripts/install-deps --check-systemd
	tests/systemd/run $(DEB_PKG)

# testssl.sh against the daemon's own TLS listener: nothing HIGH or
# CRITICAL may be reported.
.PHONY: check-tls
check-tls: $(DAEMON)
	@scripts/install-deps --check-tls
	tests/tls/testssl

# The web app in a real browser: headless Chromium driven by Selenium
# against the built daemon (tests/ui/run); screenshots at 360 and 1280 px
# wide under build/ui/.
.PHONY: check-ui
check-ui: $(DAEMON)
	@scripts/install-deps --check-ui
	USERAPID_BIN=$(CURDIR)/$(DAEMON) tests/ui/run $(CURDIR)/$(BUILD)/ui

-include $(shell find build -name '*.d' 2>/dev/null)

.PHONY: bench
bench: all
	scripts/bench

# ---- fuzzing ---------------------------------------------------------------
#
# libFuzzer targets, tests/fuzz/fuzz_NAME.c, linked with the library's
# modules and built by clang with ASan and UBSan under build/fuzz/.
# `make fuzz` runs each for FUZZ_SECONDS over build/fuzz/corpus-NAME, a copy
# of tests/fuzz/corpus/NAME/ that keeps what it finds (the committed seeds
# never grow), prints its executions, and fails on a crash, leaving the
# input in build/fuzz/artifacts-NAME/.  `make fuzz-regress` runs each target
# once over its seeds and its crash reproducers, tests/fuzz/regress/NAME/.

FUZZ_SECONDS ?= 60
FUZZ_MAX_LEN ?= 32768
FUZZ_CC      ?= clang
FUZZ_DIR     := build/fuzz
FUZZ_NAMES   := $(patsubst tests/fuzz/fuzz_%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BINS    := $(FUZZ_NAMES:%=$(FUZZ_DIR)/fuzz_%)
FUZZ_OBJS    := $(patsubst src/%.c,$(FUZZ_DIR)/src/%.o,$(wildcard src/lib/*.c) \
                $(filter-out src/userapid/main.c,$(wildcard src/userapid/*.c))) \
                $(FUZZ_DIR)/gen/schema_sql.o $(FUZZ_DIR)/gen/ui_files.o
FUZZ_SAN     := address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
# ALL_CFLAGS's defines and libraries; warnings shown but not fatal, since
# clang is not the compiler the daemon is checked with.
FUZZ_CFLAGS   = -std=gnu11 -g -O1 $(filter-out -Werror,$(WARN)) -pthread -D_GNU_SOURCE \
                -DUSERAPID_VERSION='"$(VERSION)"' -DSYSCONFDIR='"$(sysconfdir)"' \
                -DLOCALSTATEDIR='"$(localstatedir)"' -MMD -MP \
                -Isrc/lib -Isrc/userapid $(call pc_cflags,$(DAEMON_PKGS))

.PHONY: fuzz fuzz-build fuzz-regress fuzz-deps

# Says what is missing (scripts/install-deps --fuzz installs it).
fuzz-deps:
	@scripts/install-deps --need-fuzz

$(FUZZ_DIR)/src/%.o: src/%.c | deps fuzz-deps
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link,$(FUZZ_SAN) -c -o $@ $<

$(FUZZ_DIR)/gen/schema_sql.o: $(FUZZ_DIR)/gen/schema_sql.c | deps fuzz-deps
	$(FUZZ_CC) $(FUZZ_CFLAGS) -c -o $@ $<

$(FUZZ_DIR)/gen/ui_files.o: $(FUZZ_DIR)/gen/ui_files.c | deps fuzz-deps
	$(FUZZ_CC) $(FUZZ_CFLAGS) -c -o $@ $<

$(FUZZ_DIR)/libuserapid.a: $(FUZZ_OBJS)
	$(AR) rcs $@ $^

$(FUZZ_DIR)/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz.h $(FUZZ_DIR)/libuserapid.a | deps fuzz-deps
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer,$(FUZZ_SAN) -o $@ $< \
	    $(FUZZ_DIR)/libuserapid.a $(call pc_libs,$(DAEMON_PKGS))

fuzz-build: $(FUZZ_BINS)

fuzz: $(FUZZ_BINS)
	@fail=0; for t in $(FUZZ_NAMES); do \
	    mkdir -p $(FUZZ_DIR)/corpus-$$t $(FUZZ_DIR)/artifacts-$$t; \
	    cp tests/fuzz/corpus/$$t/* $(FUZZ_DIR)/corpus-$$t/; \
	    echo "== fuzz_$$t, $(FUZZ_SECONDS) s"; \
	    if ! $(FUZZ_DIR)/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) \
	        -max_len=$(FUZZ_MAX_LEN) -timeout=30 -print_final_stats=1 \
	        -artifact_prefix=$(FUZZ_DIR)/artifacts-$$t/ \
	        $(FUZZ_DIR)/corpus-$$t > $(FUZZ_DIR)/fuzz_$$t.log 2>&1; then \
	        tail -n 40 $(FUZZ_DIR)/fuzz_$$t.log; \
	        echo "fuzz_$$t: FAILED (log $(FUZZ_DIR)/fuzz_$$t.log, input in $(FUZZ_DIR)/artifacts-$$t/)"; \
	        fail=1; \
	    fi; \
	    awk -v t=fuzz_$$t '/^stat::number_of_executed_units:/ { n = $$2 } \
	        /^stat::average_exec_per_sec:/ { r = $$2 } \
	        /^stat::new_units_added:/ { u = $$2 } \
	        END { printf "%s: %s executions, %s exec/s, %s new inputs\n", t, n, r, u }' \
	        $(FUZZ_DIR)/fuzz_$$t.log; \
	done; exit $$fail

fuzz-regress: $(FUZZ_BINS)
	@for t in $(FUZZ_NAMES); do \
	    files=$$(find tests/fuzz/corpus/$$t tests/fuzz/regress/$$t -type f ! -name .keep | sort); \
	    echo "== fuzz_$$t: $$(echo "$$files" | wc -l) inputs"; \
	    $(FUZZ_DIR)/fuzz_$$t $$files > $(FUZZ_DIR)/regress-$$t.log 2>&1 || { \
	        tail -n 40 $(FUZZ_DIR)/regress-$$t.log; echo "fuzz_$$t: FAILED"; exit 1; }; \
	done
