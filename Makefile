# Frontdesk build. Plain make: explicit object lists, -MMD dependencies,
# protobuf-c code generated from proto/ into the build folder (never committed).
#
#   make            build frontdeskd, desk and the tests
#   make run        deps + build + private PostgreSQL + migrations + demo + server
#   make test       deps + build + the whole suite (ends "N passed, N failed")
#   make test SANITIZE=1   the suite under ASan+UBSan (separate build folder)
#   make test-faults  the long fault runs (kill -9 loops, database stops)
#   make valgrind   the suite with every binary under valgrind memcheck
#   make deps       install the Debian packages (no-op when present)
#   make format     clang-format every C file

SANITIZE ?=
WERROR ?= $(if $(CI),1,)
ifeq ($(SANITIZE),1)
BUILD ?= build/asan
SAN_FLAGS = -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
else
BUILD ?= build/release
SAN_FLAGS =
endif
GEN := build/gen

CC ?= cc
CFLAGS ?= -O2 -g
WARN := -Wall -Wextra -Wformat=2 -Wshadow -Wno-unused-parameter -Wstrict-prototypes \
        -Wmissing-prototypes -Wvla
ifeq ($(WERROR),1)
WARN += -Werror
endif
CPPFLAGS := -std=c11 -D_GNU_SOURCE -I. -Icommon -I$(GEN) -Iserver -Iclient/lib -Iclient/cli -I/usr/include/postgresql \
            -DFD_SOURCE_DIR='"$(CURDIR)"'
ALL_CFLAGS = $(CPPFLAGS) $(CFLAGS) $(SAN_FLAGS) -MMD -MP
LDFLAGS += $(SAN_FLAGS)
LIBS := -lnng -lprotobuf-c -lpq -luv -lsodium -lpthread -lm

PROTOS := $(wildcard proto/frontdesk/v1/*.proto)
PB_C := $(patsubst proto/%.proto,$(GEN)/%.pb-c.c,$(PROTOS))
PB_H := $(PB_C:.c=.h)
PB_O := $(patsubst $(GEN)/%.c,$(BUILD)/gen/%.o,$(PB_C))
# Generated headers every object may include: the protobuf-c headers, one
# umbrella header over them, and the schema version (the highest
# migrations/NNNN_*.sql), so the server's idea of its schema cannot drift.
GEN_H := $(PB_H) $(GEN)/frontdesk/v1/all.h $(GEN)/schema_version.h
SCHEMA_VERSION := $(shell ls migrations 2>/dev/null | sed -n 's/^\([0-9][0-9][0-9][0-9]\)_.*\.sql$$/\1/p' | sort | tail -n 1 | sed 's/^0*//')

COMMON_SRC := common/status.c common/arena.c common/log.c common/util.c common/wire.c

SERVER_SRC := server/config.c server/listener.c server/dispatch.c server/methods.c \
              server/workq.c server/events.c server/auth.c server/audit.c \
              server/migrate.c server/admin_tools.c server/server.c server/validate.c \
              server/db/conn.c server/db/sqlstate.c \
              $(sort $(wildcard server/handlers/*.c))

CLIENT_SRC := client/lib/client.c client/lib/events.c

# One cmd_<noun>.c per group of desk commands; `desk console` is in
# client/console/ (ncursesw on a libuv loop).
DESK_SRC := client/cli/desk.c client/cli/output.c client/cli/settings.c \
            $(sort $(wildcard client/cli/cmd_*.c)) $(sort $(wildcard client/console/*.c))

TEST_SUPPORT_SRC := tests/harness.c tests/support/pg.c tests/support/server_proc.c

obj = $(patsubst %.c,$(BUILD)/%.o,$(1))

COMMON_O := $(call obj,$(COMMON_SRC)) $(PB_O)
SERVER_O := $(call obj,$(SERVER_SRC))
CLIENT_O := $(call obj,$(CLIENT_SRC))
DESK_O := $(call obj,$(DESK_SRC))
TEST_SUPPORT_O := $(call obj,$(TEST_SUPPORT_SRC))

TEST_SRC := $(sort $(wildcard tests/unit/test_*.c tests/rpc/test_*.c tests/e2e/test_*.c))
TEST_BIN := $(patsubst %.c,$(BUILD)/%,$(TEST_SRC))

FRONTDESKD := $(BUILD)/bin/frontdeskd
DESK := $(BUILD)/bin/desk

.PHONY: all deps run test test-faults valgrind bench fuzz format clean tests
all: $(FRONTDESKD) $(DESK) tests
tests: $(TEST_BIN)

# Generated protobuf-c sources. Every object depends on every generated
# header so a first build never compiles before the headers exist.
$(GEN)/%.pb-c.c $(GEN)/%.pb-c.h: proto/%.proto
	@mkdir -p $(GEN)
	protoc-c --c_out=$(GEN) -Iproto $<

$(GEN)/frontdesk/v1/all.h: $(PB_H)
	@mkdir -p $(dir $@)
	@{ echo '/* Generated: every protobuf-c header. */'; \
	   for h in $(notdir $(PB_H)); do echo "#include \"frontdesk/v1/$$h\""; done; } > $@

$(GEN)/schema_version.h: FORCE
	@mkdir -p $(dir $@)
	@echo '#define FD_SCHEMA_VERSION $(SCHEMA_VERSION)' > $@.tmp
	@cmp -s $@.tmp $@ && rm -f $@.tmp || mv $@.tmp $@

.PHONY: FORCE
FORCE:

$(BUILD)/gen/%.o: $(GEN)/%.c $(PB_H)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -w -c -o $@ $<

$(BUILD)/%.o: %.c $(GEN_H)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(WARN) -c -o $@ $<

$(BUILD)/libfrontdeskd.a: $(SERVER_O)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/libfrontdesk-client.a: $(CLIENT_O)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/libfrontdesk-common.a: $(COMMON_O)
	@rm -f $@
	ar rcs $@ $^

$(FRONTDESKD): $(BUILD)/server/main.o $(BUILD)/libfrontdeskd.a $(BUILD)/libfrontdesk-common.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

$(DESK): $(DESK_O) $(BUILD)/libfrontdesk-client.a $(BUILD)/libfrontdesk-common.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS) -lncursesw

$(BUILD)/tests/%: tests/%.c $(TEST_SUPPORT_O) $(BUILD)/libfrontdeskd.a \
		$(BUILD)/libfrontdesk-client.a $(BUILD)/libfrontdesk-common.a $(GEN_H)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(WARN) -Itests -Itests/support -o $@ $< $(TEST_SUPPORT_O) \
		$(BUILD)/libfrontdeskd.a $(BUILD)/libfrontdesk-client.a \
		$(BUILD)/libfrontdesk-common.a $(LDFLAGS) $(LIBS)

$(BUILD)/tests/%.o: tests/%.c $(GEN_H)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(WARN) -Itests -Itests/support -c -o $@ $<

deps:
	@server/scripts/deps.sh

run: deps
	@$(MAKE) --no-print-directory all
	@BUILD=$(BUILD) server/scripts/run-demo.sh

test: deps
	@$(MAKE) --no-print-directory all
	@BUILD=$(BUILD) tests/run.sh

# The long fault runs (issue 8): the same tests/e2e/test_faults_* binaries
# that `make test` runs briefly, with FD_FAULTS_LONG=1 (more rounds, more
# kills, longer load). See docs/RELIABILITY.md.
test-faults: deps
	@$(MAKE) --no-print-directory all
	@BUILD=$(BUILD) FD_FAULTS_LONG=1 FD_TEST_TIMEOUT=3000 tests/run.sh e2e/test_faults

valgrind: deps
	@$(MAKE) --no-print-directory all
	@BUILD=$(BUILD) FD_VALGRIND=1 tests/run.sh

# The load benchmark (issue 7): its own PostgreSQL and server, a C load
# generator on the client library, raw limits measured in the same run.
BENCH_SRC := $(sort $(wildcard tests/bench/*.c))
BENCH_BIN := $(patsubst %.c,$(BUILD)/%,$(BENCH_SRC))
bench: deps
	@$(MAKE) --no-print-directory all $(BENCH_BIN)
	@BUILD=$(BUILD) tests/bench/run.sh

# Coverage-guided fuzzing of the envelope and every request's decode and
# validation path (clang, libFuzzer, ASan+UBSan); FUZZ_SECONDS per target.
FUZZ_SECONDS ?= 300
fuzz: deps
	@FUZZ_SECONDS=$(FUZZ_SECONDS) tests/fuzz/run.sh

format:
	clang-format -i $(COMMON_SRC) $(SERVER_SRC) server/main.c $(CLIENT_SRC) $(DESK_SRC) \
		$(wildcard common/*.h server/*.h server/*/*.h client/*/*.h tests/*.h tests/*/*.c tests/*/*.h)

clean:
	rm -rf build

-include $(shell find build -name '*.d' 2>/dev/null)
