# userapid - user-account HTTP API daemon
#
#   make              build everything under build/
#   make run          the daemon in the foreground on 127.0.0.1:8080
#   make check        unit and integration tests
#   make SANITIZE=1   the same with AddressSanitizer and UBSan (build/sanitize/)
#   make clean

VERSION     := 0.1.0

PREFIX      ?= /usr/local
exec_prefix ?= $(PREFIX)
sbindir     ?= $(exec_prefix)/sbin
bindir      ?= $(exec_prefix)/bin
datarootdir ?= $(PREFIX)/share
mandir      ?= $(datarootdir)/man
sysconfdir  ?= $(if $(filter /usr,$(PREFIX)),/etc,$(PREFIX)/etc)
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
# which is after the deps check below has had a chance to install them.
PKGS         = libsystemd json-c libcrypt
PKG_CFLAGS   = $(shell $(PKG_CONFIG) --cflags $(PKGS))
PKG_LIBS     = $(shell $(PKG_CONFIG) --libs $(PKGS))
CHECK_CFLAGS = $(shell $(PKG_CONFIG) --cflags check)
CHECK_LIBS   = $(shell $(PKG_CONFIG) --libs check)

ALL_CFLAGS   = -std=gnu11 $(CFLAGS) $(WARN) $(SAN) -pthread -D_GNU_SOURCE \
               -DUSERAPID_VERSION='"$(VERSION)"' -DSYSCONFDIR='"$(sysconfdir)"' \
               -DLOCALSTATEDIR='"$(localstatedir)"' -MMD -MP $(PKG_CFLAGS)
ALL_LDFLAGS  = $(LDFLAGS) $(SAN) -pthread

LIB_SRCS    := $(filter-out main.c userapictl.c userapi.c,$(notdir $(wildcard src/*.c)))
LIB_OBJS    := $(LIB_SRCS:%.c=$(BUILD)/src/%.o)
LIB         := $(BUILD)/libuserapid.a
DAEMON      := $(BUILD)/userapid
CTL         := $(BUILD)/userapictl

UNIT_SRCS   := $(wildcard tests/unit/test_*.c)
UNIT_BINS   := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/unit/%)
INTEG_SRCS  := $(wildcard tests/integration/test_*.c)
INTEG_BINS  := $(INTEG_SRCS:tests/integration/%.c=$(BUILD)/tests/integration/%)
HARNESS_OBJ := $(BUILD)/tests/integration/harness.o

STATE_DIR   := run/state

.PHONY: all run check check-unit check-integration clean deps
.DELETE_ON_ERROR:

all: $(DAEMON) $(CTL)

deps:
	@scripts/install-deps --check

$(BUILD)/src/%.o: src/%.c | deps
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(LIB): $(LIB_OBJS)
	$(AR) rcs $@ $^

$(DAEMON): $(BUILD)/src/main.o $(LIB)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS)

$(CTL): $(BUILD)/src/userapictl.o $(LIB)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS)

$(BUILD)/tests/unit/%.o: tests/unit/%.c | deps
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(CHECK_CFLAGS) -Isrc -c -o $@ $<

$(BUILD)/tests/unit/%: $(BUILD)/tests/unit/%.o $(LIB)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS) $(CHECK_LIBS)

$(BUILD)/tests/integration/%.o: tests/integration/%.c | deps
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(CHECK_CFLAGS) -Isrc -c -o $@ $<

$(BUILD)/tests/integration/test_%: $(BUILD)/tests/integration/test_%.o $(HARNESS_OBJ) $(LIB)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS) $(CHECK_LIBS)

run: $(DAEMON)
	@mkdir -p -m 0700 $(STATE_DIR)
	$(DAEMON) --config etc/userapid.conf --listen 127.0.0.1:8080 --state-dir $(STATE_DIR)

check: $(DAEMON) $(CTL) $(UNIT_BINS) $(INTEG_BINS)
	@USERAPID_BIN=$(CURDIR)/$(DAEMON) USERAPICTL_BIN=$(CURDIR)/$(CTL) \
	    USERAPID_SRCDIR=$(CURDIR) \
	    scripts/run-tests $(UNIT_BINS) $(INTEG_BINS)

check-unit: $(UNIT_BINS)
	@USERAPID_SRCDIR=$(CURDIR) scripts/run-tests $(UNIT_BINS)

check-integration: $(DAEMON) $(CTL) $(INTEG_BINS)
	@USERAPID_BIN=$(CURDIR)/$(DAEMON) USERAPICTL_BIN=$(CURDIR)/$(CTL) \
	    USERAPID_SRCDIR=$(CURDIR) \
	    scripts/run-tests $(INTEG_BINS)

clean:
	rm -rf build

-include $(shell find build -name '*.d' 2>/dev/null)
