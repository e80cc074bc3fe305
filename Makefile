# daqmux - plain GNU make. `make` builds bin/daqmux, `make test` runs every
# test against every backend, `make compare` runs the comparison.
# Quiet unless V=1. CFLAGS is yours to override; what the build needs is
# added with `override`. SANITIZE=address,undefined (or thread) builds into
# build/<sanitizer>/ so it never mixes with the normal objects.

CC       ?= cc
CFLAGS   ?= -O2 -g
PKG      ?= pkg-config

override CFLAGS += -std=gnu11 -Wall -Wextra -Werror -pthread -MMD -MP
override CPPFLAGS += -D_GNU_SOURCE -D_FORTIFY_SOURCE=2
LDLIBS   += -pthread -lm

comma := ,
ifneq ($(SANITIZE),)
  O      ?= build/$(subst $(comma),-,$(SANITIZE))
  override CFLAGS  += -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -O1
  override LDFLAGS += -fsanitize=$(SANITIZE)
  BIN    := $(O)/bin
else
  O      ?= build/default
  BIN    := bin
endif

ifeq ($(V),1)
  Q :=
  say :=
else
  Q := @
  say = @printf '  %-7s %s\n' $(1) $(2);
endif
# `make -s` prints nothing on success, progress lines included (deps.sh
# says what it installs on stdout; what is missing goes to stderr).
ifneq ($(findstring s,$(firstword -$(MAKEFLAGS))),)
  say :=
  quiet_out := >/dev/null
endif

# The version compiled into the binary (daqmux --version): git describe in
# a git checkout of this tree, the VERSION file otherwise.
VERSION := $(shell tools/version.sh)
PREFIX  ?= /usr/local
BINDIR  ?= $(PREFIX)/bin
MANDIR  ?= $(PREFIX)/share/man

# liburing is optional: without it the uring backend is listed as "not
# compiled in" and everything else builds. Evaluated lazily, after deps.
URING      = $(shell $(PKG) --exists liburing 2>/dev/null && echo yes)
URING_CF   = $(if $(URING),-DHAVE_URING $(shell $(PKG) --cflags liburing) \
             -DDAQMUX_LIBURING_VERSION='"$(shell $(PKG) --modversion liburing)"')
URING_LIBS = $(if $(URING),$(shell $(PKG) --libs liburing))
# The library backends are optional the same way: each is listed as "not
# compiled in" without its -dev package. One pkg-config name each.
LIBUV      = $(shell $(PKG) --exists libuv 2>/dev/null && echo yes)
LIBEVENT   = $(shell $(PKG) --exists libevent_core 2>/dev/null && echo yes)
GLIB       = $(shell $(PKG) --exists glib-2.0 2>/dev/null && echo yes)
LIB_CF     = $(if $(LIBUV),-DHAVE_LIBUV $(shell $(PKG) --cflags libuv)) \
             $(if $(LIBEVENT),-DHAVE_LIBEVENT $(shell $(PKG) --cflags libevent_core)) \
             $(if $(GLIB),-DHAVE_GLIB $(shell $(PKG) --cflags glib-2.0))
LIB_LIBS   = $(if $(LIBUV),$(shell $(PKG) --libs libuv)) \
             $(if $(LIBEVENT),$(shell $(PKG) --libs libevent_core)) \
             $(if $(GLIB),$(shell $(PKG) --libs glib-2.0))
CMOCKA_CF  = $(shell $(PKG) --cflags cmocka 2>/dev/null)
CMOCKA_LIBS = $(shell $(PKG) --libs cmocka 2>/dev/null || echo -lcmocka)

# Layers, bottom up. Each layer compiles with the include paths of itself
# and the layers below it, so an include that reaches up a layer does not
# compile; tools/check-layers.sh refuses relative includes ("../x.h") that
# would get round that. Each layer is one archive.
#   common    protocol, CRC, framing, accounting, histogram, server core, report
#   backends  blocking ... uring, libuv libevent glib: one `const struct backend` each
#   server    the backend table and the `server`/`backends` command lines
#   client    the test client
#   harness   process control and the JSON reader (compare and the tests)
#   compare   the comparison and its report
#   cli       the entry point, above every layer
# Every other top-level folder with C files is a backend: a new backend is
# its folder and one line in server/backends.c's table.
NOT_BACKENDS := common server client harness compare cli tests tools build bin report
BACKEND_DIRS := $(filter-out $(NOT_BACKENDS),$(patsubst %/,%,$(sort $(dir $(wildcard */*.c)))))
LAYERS       := common backends server client harness compare cli
inc_common   := -Icommon
inc_backends := $(inc_common)
inc_server   := $(inc_common) -Iserver
inc_client   := $(inc_common) -Iclient
inc_harness  := $(inc_common) -Iharness
inc_compare  := $(inc_server) -Iharness -Icompare
inc_cli      := $(inc_compare) -Iclient -Icli
inc_tests    := $(inc_cli) -Itests
inc_bench    := $(inc_common)
src_common   := $(wildcard common/*.c)
src_backends := $(foreach d,$(BACKEND_DIRS),$(wildcard $(d)/*.c))
src_server   := $(wildcard server/*.c)
src_client   := $(wildcard client/*.c)
src_harness  := $(wildcard harness/*.c)
src_compare  := $(wildcard compare/*.c)
src_cli      := $(wildcard cli/*.c)
layer_of      = $(firstword $(foreach l,$(LAYERS),$(if $(filter $(1),$(src_$(l))),$(l))))
# The archives in link order: a layer before the layers it uses.
LINK_LAYERS  := cli compare harness client server backends common
lib           = $(O)/lib/lib$(1).a
ALL_SRC      := $(foreach l,$(LAYERS),$(src_$(l)))
ALL_OBJ      := $(ALL_SRC:%.c=$(O)/%.o)
# `make test TESTS="test_faults test_pause" SHTESTS=` runs a subset.
TESTS   ?= $(patsubst tests/%.c,%,$(wildcard tests/test_*.c))
SHTESTS ?= $(wildcard tests/test_*.sh)
TEST_BIN := $(TESTS:%=$(O)/tests/%)

.PHONY: all check-layers deps test-deps compare-deps fuzz-deps test compare fuzz bench clean help \
	install uninstall demo FORCE
all: $(BIN)/daqmux

help:
	@echo "make            build bin/daqmux (installs missing Debian packages as root)"
	@echo "make test       unit tests + the conformance suite against every backend"
	@echo "make test SANITIZE=address,undefined   the same under ASan+UBSan"
	@echo "make test SANITIZE=thread              the same under TSan"
	@echo "make compare    the comparison of all backends -> report/"
	@echo "make demo       the blocked problem with blocking, epoll, threads (30 s, for a lecture)"
	@echo "make bench      microbenchmarks: CRC-32C, frame assembler, histogram (BENCH_REPS=15)"
	@echo "make fuzz       libFuzzer on the frame assembler (FUZZ_SECONDS=60)"
	@echo "make install    bin/daqmux and daqmux(1) into \$$DESTDIR\$$PREFIX (/usr/local)"
	@echo "make uninstall  removes them again"
	@echo "make URING=     build without liburing (the uring backend says how to get it)"
	@echo "make LIBUV= LIBEVENT= GLIB=   build without those libraries' backends"
	@echo "V=1 shows the commands; CFLAGS=... overrides the optimisation flags"

deps:
	$(Q)tools/deps.sh build $(quiet_out)
test-deps:
	$(Q)tools/deps.sh build test $(quiet_out)
compare-deps:
	$(Q)tools/deps.sh build compare $(quiet_out)
fuzz-deps:
	$(Q)tools/deps.sh fuzz $(quiet_out)

$(O)/%.o: %.c | deps check-layers
	@mkdir -p $(@D)
	$(call say,CC,$<)
	$(Q)$(CC) $(CPPFLAGS) $(inc_$(or $(call layer_of,$<),$(firstword $(subst /, ,$<)))) $(URING_CF) $(if $(filter backends,$(call layer_of,$<)),$(LIB_CF)) $(CFLAGS) -c $< -o $@

$(foreach l,$(LAYERS),$(eval $(call lib,$(l)): $(src_$(l):%.c=$(O)/%.o)))
$(O)/lib/%.a:
	@mkdir -p $(@D)
	$(call say,AR,$@)
	$(Q)rm -f $@ && $(AR) rcs $@ $^

LIBS := $(foreach l,$(LINK_LAYERS),$(call lib,$(l)))

# The stamp is rewritten only when the version changes, and only then is
# common/version.o (and so the binary) rebuilt.
$(O)/version.stamp: FORCE
	@mkdir -p $(@D)
	@echo '$(VERSION)' | cmp -s - $@ || echo '$(VERSION)' >$@
$(O)/common/version.o: $(O)/version.stamp
$(O)/common/version.o: override CPPFLAGS += -DDAQMUX_VERSION='"$(VERSION)"'
FORCE:

$(BIN)/daqmux: $(LIBS)
	@mkdir -p $(@D)
	$(call say,LD,$@)
	$(Q)$(CC) $(LDFLAGS) $(LIBS) $(URING_LIBS) $(LIB_LIBS) $(LDLIBS) -o $@

check-layers:
	$(Q)tools/check-layers.sh

$(O)/tests/%.o: tests/%.c | test-deps
	@mkdir -p $(@D)
	$(call say,CC,$<)
	$(Q)$(CC) $(CPPFLAGS) $(inc_tests) $(URING_CF) $(CMOCKA_CF) -DDAQMUX_BIN='"$(abspath $(BIN))/daqmux"' $(CFLAGS) -c $< -o $@

# tests/support.c is shared test code (running the server and the client,
# reading their JSON), linked into every test, not a test of its own.
SUPPORT_OBJ := $(patsubst %.c,$(O)/%.o,$(wildcard tests/support.c))

$(O)/tests/%: $(O)/tests/%.o $(SUPPORT_OBJ) $(LIBS)
	$(call say,LD,$@)
	$(Q)$(CC) $(LDFLAGS) $^ $(CMOCKA_LIBS) $(URING_LIBS) $(LIB_LIBS) $(LDLIBS) -o $@

# Shell tests (tests/test_*.sh: the dissector, the netlab) use $(BIN)/daqmux.
test: $(BIN)/daqmux $(TEST_BIN)
	$(Q)DAQMUX=$(BIN)/daqmux tools/run-tests.sh $(TEST_BIN) $(SHTESTS)

# Figures, not assertions: never part of `make test`.
BENCH_BIN := $(O)/bench/bench
$(BENCH_BIN): $(O)/bench/bench.o $(LIBS)
	$(call say,LD,$@)
	$(Q)$(CC) $(LDFLAGS) $^ $(URING_LIBS) $(LDLIBS) -o $@

bench: $(BENCH_BIN)
	$(Q)$(BENCH_BIN) $(BENCH_REPS)

compare: $(BIN)/daqmux | compare-deps
	$(Q)$(BIN)/daqmux compare $(COMPARE_ARGS)

demo: $(BIN)/daqmux
	$(Q)tools/demo.sh $(BIN)/daqmux

# libFuzzer needs clang whatever CC is; the corpus grows in build/fuzz/.
FUZZ_SECONDS ?= 60
FUZZ_SRC := tests/fuzz_frame.c common/frame.c common/proto.c common/crc32c.c \
            common/source.c common/hist.c
fuzz: | fuzz-deps
	@mkdir -p build/fuzz/corpus
	$(call say,FUZZ,build/fuzz/fuzz_frame)
	$(Q)clang -std=gnu11 -g -O1 -Wall -Wextra -Werror -Icommon \
		-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
		$(FUZZ_SRC) -o build/fuzz/fuzz_frame -pthread
	$(Q)build/fuzz/fuzz_frame -max_total_time=$(FUZZ_SECONDS) -max_len=8192 \
		-print_final_stats=1 -artifact_prefix=build/fuzz/ build/fuzz/corpus tests/fuzz_seeds 2>build/fuzz/log || \
		{ tail -40 build/fuzz/log; exit 1; }
	@grep -E '^(Done|stat::number_of_executed_units)' build/fuzz/log | sed 's/^/  /'
	@echo "  fuzz: no crash, no sanitizer report in $(FUZZ_SECONDS) s"

# The man page's footer carries the version of the binary beside it.
install: $(BIN)/daqmux
	$(call say,INSTALL,'$(DESTDIR)$(BINDIR)/daqmux $(DESTDIR)$(MANDIR)/man1/daqmux.1')
	$(Q)install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1
	$(Q)install -m 755 $(BIN)/daqmux $(DESTDIR)$(BINDIR)/daqmux
	$(Q)sed '/^\.TH /s/"daqmux"/"daqmux $(VERSION)"/' docs/daqmux.1 >$(DESTDIR)$(MANDIR)/man1/daqmux.1
	$(Q)chmod 644 $(DESTDIR)$(MANDIR)/man1/daqmux.1

uninstall:
	$(call say,RM,'$(DESTDIR)$(BINDIR)/daqmux $(DESTDIR)$(MANDIR)/man1/daqmux.1')
	$(Q)rm -f $(DESTDIR)$(BINDIR)/daqmux $(DESTDIR)$(MANDIR)/man1/daqmux.1

clean:
	$(call say,CLEAN,build bin)
	$(Q)rm -rf build bin

# Test objects are intermediate; keep them so a second `make test` relinks nothing.
.SECONDARY:

-include $(ALL_OBJ:.o=.d) $(TEST_BIN:=.d) $(BENCH_BIN).d $(SUPPORT_OBJ:.o=.d)
