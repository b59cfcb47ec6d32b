# ccc — build, test and run the Common Contact Centre message broker.
# GNU make; no autotools. `make help` lists the targets.

VERSION  := 0.1.0
PREFIX   ?= /usr/local
DESTDIR  ?=
BUILD    ?= build
CC       ?= cc
SAN      ?=
COV      ?=

# Debian 12 packages the build, the tests and the demo need.
DEB_PKGS := gcc make pkg-config openssl libevent-dev libssl-dev \
            libprotobuf-c-dev protobuf-c-compiler check libsqlite3-dev \
            libjansson-dev libfyaml-dev clang libclang-rt-14-dev sslscan valgrind \
            libfaketime
# the Debian packages (make package, package-test)
DEB_PKGS += build-essential debhelper dpkg-dev lintian adduser
# the Python client and ccc --json=proto3's tests (make py-test)
DEB_PKGS += python3-protobuf protobuf-compiler
# the manual pages (make man-test renders them; package-test runs man -w)
DEB_PKGS += groff-base man-db
# the console's browser tests (make console-test): headless Chromium driven
# by Selenium, and NSS's certutil/pk12util for the browser's certificates
DEB_PKGS += chromium chromium-driver python3-selenium libnss3-tools
PC_PKGS  := libevent libevent_openssl openssl libprotobuf-c sqlite3 jansson libfyaml

# No -Wcast-qual: protobuf-c's generated *__INIT macros cast away the const of
# protobuf_c_empty_string, and clang reports that even from system headers.
WARN := -Wall -Wextra -Werror -Wpedantic -Wshadow -Wformat=2 \
        -Wstrict-prototypes -Wmissing-prototypes -Wpointer-arith \
        -Wwrite-strings -Wundef -Wvla -Wnull-dereference -Wimplicit-fallthrough
ifeq ($(SAN),1)
  SANFLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
  OPT      := -O1 -g
else
  SANFLAGS :=
  OPT      := -O2 -g
endif
# make coverage: gcov's instrumentation, unoptimised so that lines map 1:1
ifeq ($(COV),1)
  SANFLAGS += --coverage
  OPT      := -O0 -g
endif

PC_CFLAGS = $(shell pkg-config --cflags $(PC_PKGS) 2>/dev/null)
PC_LIBS   = $(shell pkg-config --libs $(PC_PKGS) 2>/dev/null)
CHECK_CFLAGS = $(shell pkg-config --cflags check 2>/dev/null)
CHECK_LIBS   = $(shell pkg-config --libs check 2>/dev/null)

CPPFLAGS += -D_GNU_SOURCE -DCCC_VERSION='"$(VERSION)"' -isystem $(BUILD)/gen -Icommon -Iclient -Ibroker
CFLAGS   += -std=c17 $(OPT) $(WARN) $(SANFLAGS) -fstack-protector-strong -MMD -MP $(PC_CFLAGS)
LDFLAGS  += $(SANFLAGS)
LDLIBS   += $(PC_LIBS) -lpthread -lm

# ---- sources -------------------------------------------------------------
PROTOS      := proto/ccc/v1/alert.proto proto/ccc/v1/envelope.proto
GEN_C       := $(PROTOS:proto/%.proto=$(BUILD)/gen/%.pb-c.c)
GEN_H       := $(GEN_C:.c=.h)

COMMON_SRCS := common/xmalloc.c common/frame.c common/names.c common/utf8.c \
               common/uuid.c common/timeutil.c
CLIENT_SRCS := client/ccc.c client/pbjson.c
CLI_SRCS    := client/cli.c client/admin.c client/bench.c client/profile.c \
               client/feed.c client/clidoc.c common/roff.c
BROKER_SRCS := broker/log.c broker/yamlfile.c broker/config.c broker/registry.c \
               broker/store.c broker/store_sqlite.c broker/store_sqlite_schema.c \
               broker/store_sqlite_registry.c broker/store_sqlite_alerts.c \
               broker/store_sqlite_cursor.c broker/store_sqlite_journal.c \
               broker/store_wal.c \
               broker/store_audit.c broker/store_offline.c broker/durable.c \
               broker/history.c broker/acl.c broker/topic.c broker/alert.c \
               broker/tls.c broker/listener.c broker/session.c broker/handle.c \
               broker/route.c broker/policy.c broker/regdiff.c broker/admin.c \
               broker/explain.c broker/peers.c \
               broker/metrics.c broker/quota.c broker/server.c broker/priv.c \
               broker/notify.c broker/audit.c common/roff.c \
               broker/console.c broker/console_api.c broker/console_feed.c
BROKER_MAIN := broker/main.c
UNIT_SRCS   := tests/unit/main.c tests/unit/check_frame.c tests/unit/check_topic.c \
               tests/unit/check_acl.c tests/unit/check_alert.c \
               tests/unit/check_config.c tests/unit/check_names.c \
               tests/unit/check_policy.c tests/unit/check_quota.c \
               tests/unit/check_log.c tests/unit/check_store_audit.c \
               tests/unit/check_route.c tests/unit/route_stubs.c \
               tests/unit/check_peers.c tests/unit/demo.c \
               tests/unit/check_store.c \
               tests/unit/check_cursor.c
# durable.c with its neighbours stubbed: a binary of its own, since the
# stubs stand in for server.c, session.c, store.c and audit.c
UNIT_DURABLE_SRCS := tests/unit/main_durable.c tests/unit/check_durable.c \
               tests/unit/durable_stubs.c tests/unit/demo.c
ITEST_SRCS  := tests/integration/harness.c tests/integration/main.c \
               tests/integration/01-connect.c tests/integration/02-delivery.c \
               tests/integration/03-access.c tests/integration/04-certs.c \
               tests/integration/05-bad-frames.c tests/integration/06-lifecycle.c \
               tests/integration/07-durable.c tests/integration/08-crash.c \
               tests/integration/09-faults.c tests/integration/11-revocation.c \
               tests/integration/12-metrics.c tests/integration/13-admin.c \
               tests/integration/14-hostile.c tests/integration/15-tls-scan.c \
               tests/integration/16-privileges.c tests/integration/17-resumption.c \
               tests/integration/18-ids.c \
               tests/integration/19-reconnect.c \
               tests/integration/20-systemd.c \
               tests/integration/21-exercise.c \
               tests/integration/24-drain-crash.c \
               tests/integration/25-console.c \
               tests/integration/26-console-feed.c
FUZZ_SRCS   := tests/fuzz/fuzz_frame.c tests/fuzz/fuzz_alert.c \
               tests/fuzz/fuzz_topic.c tests/fuzz/fuzz_acl.c \
               tests/fuzz/fuzz_config.c tests/fuzz/fuzz_json.c \
               tests/fuzz/fuzz_regdiff.c tests/fuzz/fuzz_session.c \
               tests/fuzz/fuzz_console.c
# the pure modules the harnesses exercise (no sockets, TLS or store)
FUZZ_LIB_SRCS := $(COMMON_SRCS) client/pbjson.c broker/log.c broker/yamlfile.c \
               broker/config.c broker/registry.c broker/acl.c broker/topic.c \
               broker/alert.c broker/policy.c broker/regdiff.c common/roff.c
# the rest of the broker, for fuzz_session (a whole broker, sessions without TLS)
FUZZ_BRK_SRCS := $(filter-out $(FUZZ_LIB_SRCS),$(BROKER_SRCS))

obj = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))
GEN_OBJS    := $(GEN_C:.c=.o)
COMMON_OBJS := $(call obj,$(COMMON_SRCS))
CLIENT_OBJS := $(call obj,$(CLIENT_SRCS))
BROKER_OBJS := $(call obj,$(BROKER_SRCS))
# the console's files (broker/console/), embedded as C by its embed.sh
CONSOLE_FILES  := $(filter-out broker/console/embed.sh,$(shell find broker/console -type f 2>/dev/null))
CONSOLE_GEN    := $(BUILD)/gen/console_assets.c
CONSOLE_OBJ    := $(BUILD)/obj/gen/console_assets.o

CCCD     := $(BUILD)/cccd
CCC      := $(BUILD)/ccc
# the objects of libccc, every symbol visible: for cccd, ccc and the tests
LIBCCC   := $(BUILD)/libccc-internal.a
# the public library (block "libccc" below)
LIBCCC_SONAME := libccc.so.0
LIBCCC_SO  := $(BUILD)/libccc.so.$(VERSION)
LIBCCC_A   := $(BUILD)/libccc.a
LIBCCC_PUB := $(LIBCCC_SO) $(BUILD)/$(LIBCCC_SONAME) $(BUILD)/libccc.so \
              $(LIBCCC_A)
LIBBRK   := $(BUILD)/libcccbroker.a
# manual pages and shell completion (block "man pages" below)
MAN_DIR  := $(BUILD)/man
MAN_PAGES := $(MAN_DIR)/cccd.8 $(MAN_DIR)/cccd.yaml.5 $(MAN_DIR)/ccc-registry.5 \
             $(MAN_DIR)/ccc.1 $(MAN_DIR)/libccc.3
COMPLETIONS := $(BUILD)/completion/ccc $(BUILD)/completion/_ccc
UNIT     := $(BUILD)/tests/unit
UNIT_DURABLE := $(BUILD)/tests/unit-durable
ITEST    := $(BUILD)/tests/integration
FAILSYNC := $(BUILD)/tests/failsync.so

# generated sources are never intermediate: keep them for later compiles
.SECONDARY: $(GEN_C) $(GEN_H)

.PHONY: all deps certs run test unit integration cli-test lib-test py-gen py-test man-test bench-test console-test console-shots asan valgrind coverage bench clean install uninstall help
.DEFAULT_GOAL := all

all: $(CCCD) $(CCC) $(LIBCCC) $(LIBCCC_PUB) $(MAN_PAGES) $(COMPLETIONS)

help:
	@echo "make deps     install missing Debian packages (as root; otherwise prints the command)"
	@echo "make          build $(CCCD), $(CCC), $(LIBCCC_A) and $(BUILD)/$(LIBCCC_SONAME)"
	@echo "make certs    make the demo PKI in certs/demo/ (if absent)"
	@echo "make run      deps + build + certs, then cccd in the foreground on 127.0.0.1:7443"
	@echo "make test     unit and integration tests"
	@echo "make py-test  the Python client's and ccc --json=proto3's tests (make py-gen: its modules)"
	@echo "make console-test  the console in headless Chromium (part of make test; as root: a browser policy)"
	@echo "make console-shots the same, keeping the screenshots of the console in docs/console/"
	@echo "make asan     the same tests under AddressSanitizer + UndefinedBehaviorSanitizer"
	@echo "make valgrind unit tests, and integration tests with cccd, under valgrind memcheck"
	@echo "make coverage unit, integration and CLI tests on a gcov build in $(COV_DIR); line coverage per file of broker/, common/, client/"
	@echo "make bench    the ccc bench scenarios (a-e, durable, resumed, 10k sessions) against a fresh cccd;"
	@echo "              PEERS=DIR: on Mosquitto and NATS too, in the same rounds (docs/performance.md)"
	@echo "make fuzz     each libFuzzer harness for FUZZ_SECONDS (default 60; clang; docs/security.md)"
	@echo "make man-test the manual pages in $(MAN_DIR) and the shell completion (part of make test)"
	@echo "make install  install into \$$(DESTDIR)\$$(PREFIX) (default $(PREFIX)); make uninstall"
	@echo "make package  the Debian packages in $(BUILD)/deb (debian/; lintian)"
	@echo "make package-test  build, install, run and purge the packages (as root)"
	@echo "make clean    remove build/"

# ---- dependencies ----------------------------------------------------------
deps:
	@missing=""; for p in $(DEB_PKGS); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'install ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -z "$$missing" ]; then echo "deps: all packages present"; exit 0; fi; \
	if [ "$$(id -u)" != 0 ]; then \
	  echo "deps: missing:$$missing"; \
	  echo "run as root: apt-get update && apt-get install -y$$missing"; exit 1; fi; \
	echo "deps: installing$$missing"; \
	apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $$missing

# ---- generated protobuf-c code -------------------------------------------
$(BUILD)/gen/%.pb-c.c $(BUILD)/gen/%.pb-c.h: proto/%.proto $(PROTOS)
	@mkdir -p $(BUILD)/gen
	protoc-c --proto_path=proto --c_out=$(BUILD)/gen $<

# generated code is not ours: compile it without our warning set
$(BUILD)/gen/%.pb-c.o: $(BUILD)/gen/%.pb-c.c $(GEN_H)
	$(CC) $(CPPFLAGS) -std=c17 $(OPT) $(SANFLAGS) -w $(PC_CFLAGS) -c -o $@ $<

$(BUILD)/obj/%.o: %.c $(GEN_H)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

# ---- binaries -------------------------------------------------------------
$(LIBCCC): $(GEN_OBJS) $(COMMON_OBJS) $(CLIENT_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(CONSOLE_GEN): broker/console/embed.sh $(CONSOLE_FILES)
	@mkdir -p $(dir $@)
	sh broker/console/embed.sh broker/console $@

$(CONSOLE_OBJ): $(CONSOLE_GEN) broker/console.h $(GEN_H)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

$(LIBBRK): $(BROKER_OBJS) $(CONSOLE_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(CCCD): $(call obj,$(BROKER_MAIN)) $(LIBBRK) $(LIBCCC)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(CCC): $(call obj,$(CLI_SRCS)) $(LIBCCC)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(UNIT): $(call obj,$(UNIT_SRCS)) $(LIBBRK) $(LIBCCC)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(CHECK_LIBS) $(LDLIBS)

$(UNIT_DURABLE): $(call obj,$(UNIT_DURABLE_SRCS)) $(LIBBRK) $(LIBCCC)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(CHECK_LIBS) $(LDLIBS)

$(ITEST): $(call obj,$(ITEST_SRCS)) $(LIBCCC)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(CHECK_LIBS) $(LDLIBS)

$(call obj,$(UNIT_SRCS) $(UNIT_DURABLE_SRCS) $(ITEST_SRCS)): CFLAGS += $(CHECK_CFLAGS)

# ---- libccc: the public library ---------------------------------------------
# libccc.so.0 (soname) and libccc.a export the ccc_* API (CCC_API in
# client/ccc.h) and the generated ccc__v1__* code that ccc.h exposes; the
# rest (common/: xmalloc, frame_*, ...) is compiled -fvisibility=hidden, and
# libccc.a is one object (ld -r) whose hidden symbols are made local, so that
# a program may define its own xmalloc. cccd, ccc and the tests link
# $(LIBCCC), the same code with every symbol visible.
LIB_SRCS     := $(COMMON_SRCS) client/ccc.c
LIB_PIC_OBJS := $(patsubst %.c,$(BUILD)/pic/%.o,$(LIB_SRCS)) \
                $(GEN_C:$(BUILD)/gen/%.c=$(BUILD)/pic/gen/%.o)
LIB_PC_REQ   := libprotobuf-c
LIB_PC_PRIV  := openssl
LIB_LIBS      = $(shell pkg-config --libs $(LIB_PC_REQ) $(LIB_PC_PRIV)) -lpthread

$(BUILD)/pic/gen/%.pb-c.o: $(BUILD)/gen/%.pb-c.c $(GEN_H)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) -std=c17 $(OPT) $(SANFLAGS) -w -fPIC $(PC_CFLAGS) -c -o $@ $<

$(BUILD)/pic/%.o: %.c $(GEN_H)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -fPIC -fvisibility=hidden -c -o $@ $<

# (clang does not link the sanitizer runtime into a shared object)
$(LIBCCC_SO): $(LIB_PIC_OBJS)
	$(CC) $(LDFLAGS) -shared -Wl,-soname,$(LIBCCC_SONAME) \
	    $(if $(SAN),,-Wl,--no-undefined) -o $@ $^ $(LIB_LIBS)

$(BUILD)/$(LIBCCC_SONAME): $(LIBCCC_SO)
	ln -sf $(notdir $<) $@

$(BUILD)/libccc.so: $(BUILD)/$(LIBCCC_SONAME)
	ln -sf $(notdir $<) $@

$(LIBCCC_A): $(LIB_PIC_OBJS)
	@rm -f $@
	$(LD) -r -o $(BUILD)/libccc-all.o $^
	objcopy --localize-hidden $(BUILD)/libccc-all.o
	ar rcs $@ $(BUILD)/libccc-all.o

# written by make install, for the PREFIX and LIBDIR it installs into
LIBCCC_PC_TEXT = printf '%s\n' 'prefix=$(PREFIX)' 'libdir=$(LIBDIR)' \
	    'includedir=$(INCLUDEDIR)' '' 'Name: libccc' \
	    'Description: client library of the ccc alert broker' \
	    'Version: $(VERSION)' 'Requires: $(LIB_PC_REQ)' \
	    'Requires.private: $(LIB_PC_PRIV)' 'Cflags: -I$${includedir}' \
	    'Libs: -L$${libdir} -lccc' 'Libs.private: -lpthread'
# ccc.pc: the same library under the project's name (pkg-config ccc)
CCC_PC_TEXT = printf '%s\n' 'Name: ccc' \
	    'Description: client library of the ccc alert broker (libccc)' \
	    'Version: $(VERSION)' 'Requires: libccc = $(VERSION)'

-include $(shell find $(BUILD)/pic -name '*.d' 2>/dev/null)

# ---- man pages and shell completion --------------------------------------------
# Each page is docs/man/PAGE.in with @VERSION@ filled in and its line
# @GENERATED@ replaced by what the program prints from the tables its
# --help prints: cccd --help-roff options (cccd.8) and config (cccd.yaml.5),
# ccc help --roff (ccc.1); ccc-registry.5 and libccc.3 are written whole.
# The completion scripts are client/completion/*.in around the lists of
# ccc help --completion. tests/man-test.sh checks pages and completion.
# MAN_FILL TEMPLATE,FRAGMENT
MAN_FILL = sed -e 's/@VERSION@/$(VERSION)/' -e '/^@GENERATED@$$/{r $(2)' \
	    -e 'd;}' $(1) > $@

$(MAN_DIR)/cccd.8: docs/man/cccd.8.in $(CCCD)
	@mkdir -p $(dir $@)
	$(CCCD) --help-roff options > $@.gen
	$(call MAN_FILL,$<,$@.gen)

$(MAN_DIR)/cccd.yaml.5: docs/man/cccd.yaml.5.in $(CCCD)
	@mkdir -p $(dir $@)
	$(CCCD) --help-roff config > $@.gen
	$(call MAN_FILL,$<,$@.gen)

$(MAN_DIR)/ccc.1: docs/man/ccc.1.in $(CCC)
	@mkdir -p $(dir $@)
	$(CCC) help --roff > $@.gen
	$(call MAN_FILL,$<,$@.gen)

$(MAN_DIR)/%: docs/man/%.in
	@mkdir -p $(dir $@)
	$(call MAN_FILL,$<,/dev/null)

$(BUILD)/completion/ccc: client/completion/ccc.bash.in $(CCC)
	@mkdir -p $(dir $@)
	$(CCC) help --completion > $@.gen
	$(call MAN_FILL,$<,$@.gen)

$(BUILD)/completion/_ccc: client/completion/_ccc.in $(CCC)
	@mkdir -p $(dir $@)
	$(CCC) help --completion > $@.gen
	$(call MAN_FILL,$<,$@.gen)

# a fault preloaded into cccd by 09-faults.c: fdatasync(2) failing on demand
# (no sanitizer: it is loaded into an instrumented cccd under make asan)
$(FAILSYNC): tests/integration/failsync.c
	@mkdir -p $(dir $@)
	$(CC) -D_GNU_SOURCE -std=c17 -O2 $(WARN) -fPIC -shared -o $@ $< -ldl

# ---- demo -------------------------------------------------------------------
# idempotent: creates only what is missing in certs/demo/
certs:
	@sh certs/mkpki.sh certs/demo certs/demo-endpoints.txt

run: deps
	$(MAKE) all certs
	@mkdir -p var
	$(CCCD) --config broker/etc/cccd.yaml

# ---- tests -----------------------------------------------------------------
test: unit integration cli-test lib-test py-test man-test bench-test console-test

unit: $(UNIT) $(UNIT_DURABLE)
	CK_DEFAULT_TIMEOUT=30 $(UNIT)
	CK_DEFAULT_TIMEOUT=30 $(UNIT_DURABLE)

# alerts in the backlog 24-drain-crash.c drains across crashes: fewer
# under the sanitizers, which make cccd several times slower
DRAIN_ALERTS ?= $(if $(SAN)$(COV),20000,100000)

integration: $(ITEST) $(CCCD) $(CCC) $(FAILSYNC)
	CCC_BUILD=$(BUILD) CK_DEFAULT_TIMEOUT=60 \
	    CCC_TEST_DRAIN_ALERTS=$(DRAIN_ALERTS) $(ITEST)

cli-test: $(CCCD) $(CCC)
	CCC_BUILD=$(BUILD) sh tests/integration/10-cli-tour.sh < /dev/null
	CCC_BUILD=$(BUILD) sh tests/integration/13-admin-cli.sh < /dev/null
	CCC_BUILD=$(BUILD) sh tests/integration/19-reconnect-cli.sh < /dev/null
	CCC_BUILD=$(BUILD) sh tests/integration/23-cli-scripts.sh < /dev/null
	CCC_BUILD=$(BUILD) sh tests/integration/22-cli-feed.sh < /dev/null

# The Python client (client/python) and ccc --json=proto3, against a real
# cccd: its message modules generated from proto/ into $(BUILD)/python;
# Debian's python3, for which python3-protobuf is installed
PY_GEN := $(BUILD)/python/ccc/v1/alert_pb2.py $(BUILD)/python/ccc/v1/envelope_pb2.py
PYTHON ?= /usr/bin/python3

$(BUILD)/python/ccc/v1/%_pb2.py: proto/ccc/v1/%.proto
	@mkdir -p $(BUILD)/python
	protoc -Iproto --python_out=$(BUILD)/python $<

py-gen: $(PY_GEN)

py-test: $(PY_GEN) $(CCCD) $(CCC)
	cd client/python/tests && CCC_BUILD=$(abspath $(BUILD)) \
	    PYTHONPATH=$(abspath client/python):$(abspath $(BUILD)/python) \
	    PYTHONDONTWRITEBYTECODE=1 $(PYTHON) -m unittest -v < /dev/null

# The console in real browsers (tests/console/): headless Chromium through
# chromedriver and Debian's python3-selenium, each browser presenting one
# endpoint's client certificate to a real cccd; skipped with the reason where
# those are missing or Chromium's policy directory is not writable (not
# root). CONSOLE_SHOTS: where the screenshots go (default: the run's
# temporary directory); console-shots puts them in docs/console/.
CONSOLE_SHOTS ?=
console-test: $(CCCD) $(CCC)
	cd tests/console && CCC_BUILD=$(abspath $(BUILD)) \
	    CONSOLE_SHOTS=$(if $(CONSOLE_SHOTS),$(abspath $(CONSOLE_SHOTS))) \
	    PYTHONDONTWRITEBYTECODE=1 $(PYTHON) -m unittest -v test_console \
	    < /dev/null

console-shots:
	$(MAKE) console-test CONSOLE_SHOTS=docs/console

# the table of make bench (bench/summary.sh), from results laid out as
# bench/run.sh lays them out; no broker is started
bench-test:
	sh tests/bench-summary.sh

# the pages and the completion, as the build makes them
man-test: $(CCCD) $(CCC) $(MAN_PAGES) $(COMPLETIONS)
	sh tests/man-test.sh $(BUILD)

asan:
	$(MAKE) BUILD=build/asan SAN=1 test

# The unit tests (in one process) and the integration tests with every cccd
# under valgrind's memcheck: any error, definite leak or descriptor left
# open at exit fails (tests/valgrind-check.sh reads the logs in
# $(VG_DIR)). The harness prepends CCC_TEST_WRAPPER to cccd's command line
# and multiplies its waits by CCC_TEST_SLOW; Check's by CK_TIMEOUT_MULTIPLIER.
# tests/valgrind.supp holds the suppressions (third-party code only).
VG_DIR   := $(BUILD)/valgrind
VG_SLOW  ?= 8
VALGRIND := valgrind --tool=memcheck --leak-check=full \
            --errors-for-leak-kinds=definite --error-exitcode=99 \
            --track-fds=yes --suppressions=$(CURDIR)/tests/valgrind.supp \
            --log-file=$(CURDIR)/$(VG_DIR)/%p.log
valgrind: $(UNIT) $(UNIT_DURABLE) $(ITEST) $(CCCD) $(CCC) $(FAILSYNC)
	@rm -rf $(VG_DIR) && mkdir -p $(VG_DIR)
	CK_FORK=no CK_DEFAULT_TIMEOUT=600 $(VALGRIND) $(UNIT)
	CK_FORK=no CK_DEFAULT_TIMEOUT=600 $(VALGRIND) $(UNIT_DURABLE)
	CCC_BUILD=$(BUILD) CK_DEFAULT_TIMEOUT=60 CK_TIMEOUT_MULTIPLIER=$(VG_SLOW) \
	    CCC_TEST_SLOW=$(VG_SLOW) CCC_TEST_WRAPPER="$(VALGRIND)" $(ITEST)
	sh tests/valgrind-check.sh $(VG_DIR)

# Line coverage: the unit, integration and CLI tests run on a build with
# gcc --coverage (-O0) in $(COV_DIR), the normal build untouched; then
# tests/coverage.sh prints the lines run of each source file of broker/,
# common/ and client/ from gcov's data (also in $(COV_DIR)/coverage.txt).
# The counts of an earlier run are cleared first; a test that fails still
# gets its coverage reported, and fails the target after it. cccd writes
# its counts when it exits, so those of brokers killed by a test are lost.
COV_DIR  := build/coverage
COV_SRCS := $(sort $(filter broker/%,$(BROKER_SRCS) $(BROKER_MAIN))) \
            $(sort $(COMMON_SRCS) common/roff.c) \
            $(sort $(CLIENT_SRCS) $(filter client/%,$(CLI_SRCS)))
coverage:
	$(MAKE) BUILD=$(COV_DIR) COV=1 CC=gcc $(COV_DIR)/tests/unit \
	    $(COV_DIR)/tests/unit-durable \
	    $(COV_DIR)/tests/integration $(COV_DIR)/cccd $(COV_DIR)/ccc \
	    $(COV_DIR)/tests/failsync.so
	find $(COV_DIR) -name '*.gcda' -delete
	@rc=0; $(MAKE) -k BUILD=$(COV_DIR) COV=1 CC=gcc unit integration \
	    cli-test || rc=$$?; \
	sh tests/coverage.sh $(COV_DIR) $(COV_SRCS) && exit $$rc

# ---- benchmark --------------------------------------------------------------
# An optimised build (-O2, no sanitizers), the demo PKI, then bench/run.sh:
# a fresh cccd per run pinned to CPU 0, ccc bench on CPU 1, results in
# $(BUILD)/bench/. BENCH_ARGS e.g. "-n 1 a d" (runs, scenarios). PEERS: a
# built copy of the peer benchmark kit; then every round runs the same
# scenarios on Mosquitto, core NATS and JetStream too (docs/performance.md).
BENCH_ARGS ?=
PEERS      ?=
bench:
	$(MAKE) SAN= all certs
	BUILD=$(BUILD) PEERS=$(PEERS) sh bench/run.sh $(BENCH_ARGS)

# ---- fuzzing ----------------------------------------------------------------
# libFuzzer harnesses (tests/fuzz/), built with clang under ASan + UBSan
# against the pure modules compiled for fuzzing in $(FUZZ_DIR)/ (the normal
# build is untouched). `make fuzz` runs each for FUZZ_SECONDS on a copy of its
# seed corpus, tests/fuzz/corpus/NAME/ (never written to), kept and grown in
# $(FUZZ_DIR)/corpus/NAME/; a crash, leak or failed property fails the target
# and leaves the input in $(FUZZ_DIR)/artifacts/. `make -j2 fuzz` runs two at
# once; FUZZ_ARGS adds libFuzzer flags.
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 60
FUZZ_ARGS    ?=
FUZZ_DIR     := $(BUILD)/fuzz
FUZZ_NAMES   := $(FUZZ_SRCS:tests/fuzz/fuzz_%.c=%)
FUZZ_BINS    := $(FUZZ_NAMES:%=$(FUZZ_DIR)/fuzz_%)
FUZZ_LIB     := $(FUZZ_DIR)/libccc-fuzz.a
FUZZ_BRK_LIB := $(FUZZ_DIR)/libcccbroker-fuzz.a
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=all \
                -fno-omit-frame-pointer
FUZZ_CFLAGS  := -std=c17 -O1 -g $(FUZZ_SAN) -fsanitize=fuzzer-no-link
# the largest input each harness is given (libFuzzer's -max_len)
FUZZ_MAXLEN_frame  := 20000
FUZZ_MAXLEN_config := 8192
FUZZ_MAXLEN_session := 16384
FUZZ_MAXLEN_regdiff := 16384

.PHONY: fuzz fuzz-build $(FUZZ_NAMES:%=fuzz-%)
.SECONDARY: $(FUZZ_SRCS:%.c=$(FUZZ_DIR)/obj/%.o) $(FUZZ_BINS)

fuzz: $(FUZZ_NAMES:%=fuzz-%)

fuzz-build: $(FUZZ_BINS)

$(FUZZ_DIR)/gen/%.pb-c.o: $(BUILD)/gen/%.pb-c.c $(GEN_H)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(CPPFLAGS) $(FUZZ_CFLAGS) -w $(PC_CFLAGS) -c -o $@ $<

$(FUZZ_DIR)/obj/%.o: %.c $(GEN_H)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(CPPFLAGS) $(FUZZ_CFLAGS) $(WARN) -MMD -MP $(PC_CFLAGS) \
	    -DCCC_FUZZ -DFUZZ_ROOT='"$(CURDIR)"' \
	    -DFUZZ_REGISTRY='"$(CURDIR)/broker/etc/registry.yaml"' -c -o $@ $<

$(FUZZ_LIB): $(GEN_OBJS:$(BUILD)/gen/%=$(FUZZ_DIR)/gen/%) \
             $(FUZZ_LIB_SRCS:%.c=$(FUZZ_DIR)/obj/%.o)
	@rm -f $@
	ar rcs $@ $^

$(FUZZ_DIR)/obj/gen/console_assets.o: $(CONSOLE_GEN) broker/console.h $(GEN_H)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(CPPFLAGS) $(FUZZ_CFLAGS) $(WARN) $(PC_CFLAGS) -c -o $@ $<

$(FUZZ_BRK_LIB): $(FUZZ_BRK_SRCS:%.c=$(FUZZ_DIR)/obj/%.o) \
             $(FUZZ_DIR)/obj/gen/console_assets.o
	@rm -f $@
	ar rcs $@ $^

$(FUZZ_DIR)/fuzz_%: $(FUZZ_DIR)/obj/tests/fuzz/fuzz_%.o $(FUZZ_LIB)
	$(FUZZ_CC) $(FUZZ_SAN) -fsanitize=fuzzer -o $@ $^ $(LDLIBS)

# a whole broker: the session code is built with CCC_FUZZ (sess_new_plain)
$(FUZZ_DIR)/fuzz_session: $(FUZZ_DIR)/obj/tests/fuzz/fuzz_session.o \
             $(FUZZ_BRK_LIB) $(FUZZ_LIB)
	$(FUZZ_CC) $(FUZZ_SAN) -fsanitize=fuzzer -o $@ $^ $(LDLIBS)

# the console's parsers live in console.c and console_api.c, with the broker
$(FUZZ_DIR)/fuzz_console: $(FUZZ_DIR)/obj/tests/fuzz/fuzz_console.o \
             $(FUZZ_BRK_LIB) $(FUZZ_LIB)
	$(FUZZ_CC) $(FUZZ_SAN) -fsanitize=fuzzer -o $@ $^ $(LDLIBS)

# its brokers use the demo PKI
fuzz-session: certs

# the seeds of fuzz_session, written by tests/fuzz/gen_session.c (committed)
.PHONY: fuzz-seeds
fuzz-seeds: $(BUILD)/gen_session
	@mkdir -p tests/fuzz/corpus/session
	$(BUILD)/gen_session tests/fuzz/corpus/alert/full tests/fuzz/corpus/session

$(BUILD)/gen_session: $(call obj,tests/fuzz/gen_session.c) $(LIBCCC)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(FUZZ_NAMES:%=fuzz-%): fuzz-%: $(FUZZ_DIR)/fuzz_%
	@mkdir -p $(FUZZ_DIR)/corpus/$* $(FUZZ_DIR)/artifacts
	@cp tests/fuzz/corpus/$*/* $(FUZZ_DIR)/corpus/$*/
	@echo "fuzz $*: $(FUZZ_SECONDS) s, log in $(FUZZ_DIR)/fuzz_$*.log"
	@if UBSAN_OPTIONS=print_stacktrace=1 $< -max_total_time=$(FUZZ_SECONDS) \
	    -timeout=10 -max_len=$(or $(FUZZ_MAXLEN_$*),4096) \
	    $(addprefix -dict=,$(wildcard tests/fuzz/$*.dict)) \
	    -print_final_stats=1 -artifact_prefix=$(FUZZ_DIR)/artifacts/$*- \
	    $(FUZZ_ARGS) $(FUZZ_DIR)/corpus/$* >$(FUZZ_DIR)/fuzz_$*.log 2>&1; then \
	  grep -E '^(Done|stat::number_of_executed_units|stat::average_exec_per_sec)' \
	    $(FUZZ_DIR)/fuzz_$*.log | sed 's/^/fuzz $*: /'; \
	else \
	  tail -n 60 $(FUZZ_DIR)/fuzz_$*.log; echo "fuzz $*: FAILED"; exit 1; \
	fi

-include $(shell find $(FUZZ_DIR)/obj -name '*.d' 2>/dev/null)

# ---- install / uninstall / clean ---------------------------------------------
# The layout of the Debian packages (debian/rules runs make install with
# PREFIX=/usr and the multiarch LIBDIR). The configuration (cccd.yaml and the
# demo registry as a starting point) is installed only where none exists, and
# make uninstall leaves it, as dpkg does with conffiles; the unit always goes
# into $(DESTDIR)$(UNITDIR), where systemd looks for it.
BINDIR     ?= $(PREFIX)/bin
SBINDIR    ?= $(PREFIX)/sbin
LIBDIR     ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
SYSCONFDIR ?= /etc
MANDIR     ?= $(PREFIX)/share/man
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
# zsh looks in vendor-completions under /usr, in site-functions elsewhere
ZSHCOMPDIR ?= $(PREFIX)/share/zsh/$(if $(filter /usr,$(PREFIX)),vendor-completions,site-functions)
UNITDIR    ?= $(if $(filter /usr,$(PREFIX)),,$(PREFIX))/lib/systemd/system
ETC_FILES  := broker/etc/production/cccd.yaml broker/etc/registry.yaml

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(SBINDIR) \
	    $(DESTDIR)$(LIBDIR)/pkgconfig $(DESTDIR)$(INCLUDEDIR)/ccc/v1 \
	    $(DESTDIR)$(UNITDIR) $(DESTDIR)$(SYSCONFDIR)/ccc/tls \
	    $(addprefix $(DESTDIR)$(MANDIR)/man,1 3 5 8) \
	    $(DESTDIR)$(BASHCOMPDIR) $(DESTDIR)$(ZSHCOMPDIR)
	install -m 0755 $(CCCD) $(DESTDIR)$(SBINDIR)/
	install -m 0755 $(CCC) $(DESTDIR)$(BINDIR)/
	install -m 0644 $(LIBCCC_SO) $(LIBCCC_A) $(DESTDIR)$(LIBDIR)/
	ln -sf $(notdir $(LIBCCC_SO)) $(DESTDIR)$(LIBDIR)/$(LIBCCC_SONAME)
	ln -sf $(LIBCCC_SONAME) $(DESTDIR)$(LIBDIR)/libccc.so
	$(LIBCCC_PC_TEXT) > $(DESTDIR)$(LIBDIR)/pkgconfig/libccc.pc
	$(CCC_PC_TEXT) > $(DESTDIR)$(LIBDIR)/pkgconfig/ccc.pc
	install -m 0644 client/ccc.h $(DESTDIR)$(INCLUDEDIR)/
	install -m 0644 $(GEN_H) $(DESTDIR)$(INCLUDEDIR)/ccc/v1/
	@for p in $(MAN_PAGES); do \
	  echo "install -m 0644 $$p $(DESTDIR)$(MANDIR)/man$${p##*.}/"; \
	  install -m 0644 $$p $(DESTDIR)$(MANDIR)/man$${p##*.}/ || exit 1; \
	done
	install -m 0644 $(BUILD)/completion/ccc $(DESTDIR)$(BASHCOMPDIR)/
	install -m 0644 $(BUILD)/completion/_ccc $(DESTDIR)$(ZSHCOMPDIR)/
	sed -e 's|@SBINDIR@|$(SBINDIR)|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' \
	    broker/etc/production/cccd.service.in > $(DESTDIR)$(UNITDIR)/cccd.service
	@for f in $(ETC_FILES); do \
	  t=$(DESTDIR)$(SYSCONFDIR)/ccc/$$(basename $$f); \
	  if [ -e $$t ]; then echo "install: keeping $$t"; \
	  else echo "install -m 0644 $$f $$t"; install -m 0644 $$f $$t; fi; \
	done

uninstall:
	rm -f $(DESTDIR)$(SBINDIR)/cccd $(DESTDIR)$(BINDIR)/ccc \
	    $(DESTDIR)$(LIBDIR)/$(notdir $(LIBCCC_SO)) \
	    $(DESTDIR)$(LIBDIR)/$(LIBCCC_SONAME) $(DESTDIR)$(LIBDIR)/libccc.so \
	    $(DESTDIR)$(LIBDIR)/libccc.a $(DESTDIR)$(LIBDIR)/pkgconfig/libccc.pc \
	    $(DESTDIR)$(LIBDIR)/pkgconfig/ccc.pc $(DESTDIR)$(INCLUDEDIR)/ccc.h $(DESTDIR)$(UNITDIR)/cccd.service \
	    $(addprefix $(DESTDIR)$(INCLUDEDIR)/ccc/v1/,$(notdir $(GEN_H))) \
	    $(foreach p,$(notdir $(MAN_PAGES)),$(DESTDIR)$(MANDIR)/man$(subst .,,$(suffix $(p)))/$(p)) \
	    $(DESTDIR)$(BASHCOMPDIR)/ccc $(DESTDIR)$(ZSHCOMPDIR)/_ccc
	-rmdir $(DESTDIR)$(INCLUDEDIR)/ccc/v1 $(DESTDIR)$(INCLUDEDIR)/ccc
	@echo "uninstall: $(DESTDIR)$(SYSCONFDIR)/ccc and the data_dir are left"

# libccc as integrators link it (tests/libccc-test.sh), from a make install
# into a temporary DESTDIR
LIBTEST_ROOT := $(BUILD)/lib-test/root
lib-test: all
	rm -rf $(LIBTEST_ROOT)
	$(MAKE) --no-print-directory install DESTDIR=$(CURDIR)/$(LIBTEST_ROOT) \
	    PREFIX=/usr LIBDIR=/usr/lib > /dev/null
	CC="$(CC)" TEST_CFLAGS="$(SANFLAGS)" sh tests/libccc-test.sh $(BUILD) \
	    $(LIBTEST_ROOT)

# ---- Debian packages -----------------------------------------------------------
# debian/: cccd, ccc, libccc0, libccc-dev. dpkg-buildpackage writes to the
# parent directory, so the tree (without build/, the demo PKI and var/) is
# copied to $(DEB_DIR)/ccc and built there: the packages land in $(DEB_DIR).
# package-test installs them on this machine (as root), runs the installed
# cccd and ccc (tests/package-smoke.sh), then purges them.
DEB_DIR := $(BUILD)/deb
.PHONY: package package-test
package:
	rm -rf $(DEB_DIR) && mkdir -p $(DEB_DIR)/ccc
	tar -cf - --exclude=./build --exclude=./.git --exclude=./var \
	    --exclude=./certs/demo . | tar -C $(DEB_DIR)/ccc -xf -
	cd $(DEB_DIR)/ccc && dpkg-buildpackage -us -uc -b
	lintian --fail-on error $(DEB_DIR)/ccc_*.changes

package-test: package
	sh tests/package-smoke.sh $(DEB_DIR)

clean:
	rm -rf build

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
