# asp-lua — build, test, install.
#
#   make          build build/asp-lua (never touches the system)
#   make deps     install the Debian packages needed to build and test (apt-get)
#   make test     make deps, build, then run every test (cmocka + busted); ends "N passed, M failed"
#   make check    the same tests without make deps (for builds whose dependencies are in place)
#   make demo     make deps, build and run examples/crossing.lua
#   make asan     the tests under AddressSanitizer + UndefinedBehaviorSanitizer
#   make valgrind the tests under valgrind memcheck
#   make fuzz     each libFuzzer target for FUZZ_SECONDS (60) seconds
#   make install  build/asp-lua and its man page into $(DESTDIR)$(PREFIX); make uninstall
#   make clean
#
# The usual variables are honoured: CC, CPPFLAGS, CFLAGS and LDFLAGS are added
# after the project's own flags (so `CFLAGS=-O0` wins over the default -O2, and
# a distribution's flags keep our warnings); WERROR= builds without -Werror;
# PREFIX (/usr/local), BINDIR, MANDIR and DESTDIR place `make install`.

BUILD   ?= build
CC      ?= cc
LUAJIT  ?= luajit
SAN     ?=
OPT     ?= -O2
WERROR  ?= -Werror
PREFIX  ?= /usr/local
BINDIR  ?= $(PREFIX)/bin
MANDIR  ?= $(PREFIX)/share/man
INSTALL ?= install

PKGS    := luajit libuv zlib jansson libedit hiredis
WARN    := -Wall -Wextra $(WERROR) -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
           -Werror=implicit-function-declaration -Wformat=2 -Wno-format-nonliteral
# Evaluated where used (=, not :=): `make deps` may install pkg-config and the
# libraries only after this file was read.
ASP_CPPFLAGS = -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -iquote engine -iquote $(BUILD)/gen \
               $(shell pkg-config --cflags $(PKGS))
ASP_CFLAGS = -std=c11 $(WARN) $(OPT) -g
ALL_CFLAGS = $(ASP_CPPFLAGS) $(CPPFLAGS) $(ASP_CFLAGS) $(CFLAGS) $(SAN)
# Header dependencies of each object, written next to it (build/obj/**/*.d).
DEPFLAGS = -MMD -MP
# -E exports the engine's functions, which the Lua side reaches through ffi.C.
LDFLAGS_ALL = $(SAN) -Wl,-E $(LDFLAGS)
LIBS    = $(shell pkg-config --libs $(PKGS)) -lm

ENGINE_SRC := $(filter-out engine/main.c,$(wildcard engine/*.c engine/*/*.c))
ENGINE_OBJ := $(patsubst %.c,$(BUILD)/obj/%.o,$(ENGINE_SRC))
LUA_SRC    := $(shell find lua -name '*.lua' 2>/dev/null)
C_TESTS    := $(patsubst tests/c/%.c,$(BUILD)/tests/%,$(wildcard tests/c/test_*.c)) \
              $(patsubst tests/fuzz/fuzz_%.c,$(BUILD)/tests/test_fuzz_%,$(wildcard tests/fuzz/fuzz_*.c))

.PHONY: all deps check test demo asan valgrind fuzz fuzz-run install uninstall clean
all: $(BUILD)/asp-lua

# The targets that must work on a fresh machine (the README's `make demo` and
# `make test`, CI) install the dependencies first, then build in a second
# make, which reads this file again with pkg-config and the libraries there.
deps:
	@sh scripts/install-deps.sh

$(BUILD)/gen/modules.gen.c: $(LUA_SRC) $(wildcard engine/*.h engine/*/*.h) scripts/embed-lua.sh scripts/gen-cdef.lua
	@sh scripts/embed-lua.sh $(LUAJIT) $(BUILD)/gen

# An object whose .d is missing (a build from before -MMD) is rebuilt too.
$(BUILD)/obj/%.o: %.c $(BUILD)/obj/%.d
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(DEPFLAGS) -c $< -o $@

# The generated file includes engine.h; its .d says so after the first build.
$(BUILD)/obj/modules.gen.o: $(BUILD)/gen/modules.gen.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(DEPFLAGS) -c $< -o $@

$(BUILD)/asp-lua: $(BUILD)/obj/engine/main.o $(ENGINE_OBJ) $(BUILD)/obj/modules.gen.o
	$(CC) $^ -o $@ $(LDFLAGS_ALL) $(LIBS)

$(BUILD)/tests/%: tests/c/%.c $(BUILD)/tests/%.d $(ENGINE_OBJ) $(BUILD)/obj/modules.gen.o
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(DEPFLAGS) $< $(ENGINE_OBJ) $(BUILD)/obj/modules.gen.o -o $@ $(LDFLAGS_ALL) $(LIBS) -lcmocka

# Each fuzz target also runs in `make test`, over its corpus and regressions.
# Two sources in one command would write the same .d: the headers are listed.
$(BUILD)/tests/test_fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/replay.c $(wildcard engine/*.h engine/*/*.h) \
                            $(ENGINE_OBJ) $(BUILD)/obj/modules.gen.o
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -DFUZZ_NAME=$* $< tests/fuzz/replay.c $(ENGINE_OBJ) $(BUILD)/obj/modules.gen.o \
	  -o $@ $(LDFLAGS_ALL) $(LIBS) -lcmocka

$(BUILD)/obj/%.d $(BUILD)/tests/%.d: ;
.PRECIOUS: $(BUILD)/obj/%.d $(BUILD)/tests/%.d
-include $(patsubst %.o,%.d,$(BUILD)/obj/engine/main.o $(ENGINE_OBJ) $(BUILD)/obj/modules.gen.o) \
         $(addsuffix .d,$(filter-out $(BUILD)/tests/test_fuzz_%,$(C_TESTS)))

check: $(BUILD)/asp-lua $(C_TESTS)
	@sh scripts/run-tests.sh $(BUILD)

test: deps
	@$(MAKE) --no-print-directory check

demo: deps
	@$(MAKE) --no-print-directory $(BUILD)/asp-lua
	$(BUILD)/asp-lua examples/crossing.lua

asan:
	$(MAKE) BUILD=build/asan OPT=-O1 \
	  SAN="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer" test

# --child-silent-after-fork: a process that asp.exec forks (libuv) and whose
# exec fails ("a command that cannot start") _exits at once without
# lua_close; memcheck then reported the Lua heap it inherited as "definitely
# lost" (4-16 KB of large Lua blocks it could not trace to a root), in the
# middle of the busted output, as if the busted process leaked. The child
# runs libuv's exec code only; the busted process itself reports nothing.
valgrind: deps
	@sh scripts/install-deps.sh valgrind
	@$(MAKE) --no-print-directory $(BUILD)/asp-lua $(C_TESTS)
	@VALGRIND="valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite --child-silent-after-fork=yes" \
	  sh scripts/run-tests.sh $(BUILD)

# libFuzzer targets (tests/fuzz/fuzz_*.c), FUZZ_SECONDS each, with clang.
FUZZ_SECONDS ?= 60
fuzz:
	@sh scripts/install-deps.sh fuzz
	$(MAKE) BUILD=build/fuzz CC=clang OPT=-O1 \
	  SAN="-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all" fuzz-run
fuzz-run: $(ENGINE_OBJ) $(BUILD)/obj/modules.gen.o
	@sh scripts/fuzz.sh $(BUILD) $(FUZZ_SECONDS) "$(ENGINE_OBJ) $(BUILD)/obj/modules.gen.o" "$(LIBS)"

# The binary and its man page; `make install DESTDIR=/tmp/stage PREFIX=/usr`
# for a package. Nothing else is needed at run time: the Lua modules are
# compiled into the binary.
install: $(BUILD)/asp-lua
	$(INSTALL) -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1
	$(INSTALL) -m 755 $(BUILD)/asp-lua $(DESTDIR)$(BINDIR)/asp-lua
	$(INSTALL) -m 644 docs/asp-lua.1 $(DESTDIR)$(MANDIR)/man1/asp-lua.1

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/asp-lua $(DESTDIR)$(MANDIR)/man1/asp-lua.1

clean:
	rm -rf build

# make bench: an optimised build of its own (build/bench), then every
# workload of bench/workloads several times; prints the tables and writes
# bench/results.md. BENCH_RUNS=5, BENCH_BIG=1 (1 GB csv), BENCH_BASE=other
# asp-lua to compare with: see bench/run.lua. Never part of make test.
# The machine's floor for the live TCP row (bench/reference/tcp_reader.c),
# and the machine's limit for the throughput rows: plain C programs doing the
# same work (merge.c: the K-way merge; csv.c: the quotes file; calls.c: the
# call_later + sleep mix), each run alternated with its asp-lua row.
BENCH_REFS := build/bench/tcp_reader build/bench/merge build/bench/csv build/bench/calls
build/bench/%: bench/reference/%.c
	@mkdir -p $(dir $@)
	$(CC) -std=c11 -D_POSIX_C_SOURCE=200809L -O2 $(WARN) $< -o $@

.PHONY: bench
bench:
	@sh scripts/install-deps.sh bench
	@$(MAKE) --no-print-directory BUILD=build/bench OPT=-O2 SAN= build/bench/asp-lua $(BENCH_REFS)
	build/bench/asp-lua bench/run.lua build/bench/asp-lua
	@# The load of issue #6 at full size: 200,000 lines/s for 30 s over TCP.
	@echo "== soak: $(SOAK_RATE) lines/s for $(SOAK_SECONDS) s"
	@out=$$($(MAKE) --no-print-directory -s BUILD=build/bench soak | tail -n 1) && echo "$$out" && \
	  printf '\n## Load (make soak): a live TCP source, %s lines/s for %s s\n\n    %s\n' \
	    "$(SOAK_RATE)" "$(SOAK_SECONDS)" "$$out" >> "$${BENCH_OUT:-bench/results.md}"

# make soak: a live TCP source at SOAK_RATE lines/s for SOAK_SECONDS s (not
# part of make test); prints lines in/out, lost, peak RSS.
SOAK_RATE ?= 200000
SOAK_SECONDS ?= 30
.PHONY: soak
soak: $(BUILD)/asp-lua
	ASP_LUA=$(BUILD)/asp-lua $(BUILD)/asp-lua tests/load/receiver.lua \
	  $$(($(SOAK_RATE) * $(SOAK_SECONDS))) $(SOAK_RATE)

# make test-slurm: asp-lua sweep --slurm against a real Slurm, started on
# 127.0.0.1 by tests/slurm/run.sh (installs slurm-wlm first; docs/sweeps.md).
# Not part of make test (it starts two daemons); .ci/run runs it.
.PHONY: test-slurm
test-slurm: $(BUILD)/asp-lua
	@sh scripts/install-deps.sh slurm
	@sh tests/slurm/run.sh $(BUILD)/asp-lua

# make test-redis: asp.redis against a real 3-master Redis Cluster started on
# 127.0.0.1 by tests/redis/cluster.lua (free ports, no persistence, always
# stopped): 8 streams over the slots, 3 workers in one group per stream, one
# killed with SIGKILL mid-run, every entry processed and acknowledged. The
# single-server specs (tests/lua/sources_redis_spec.lua) are in make test.
# Not part of make test (it takes ~6 s and three servers); .ci/run runs it.
.PHONY: test-redis
test-redis: $(BUILD)/asp-lua
	@sh scripts/install-deps.sh
	$(BUILD)/asp-lua tests/redis/cluster.lua $(BUILD)/asp-lua

# make bench-redis: asp.redis' replay of 1 M entries from a local redis-server
# against a bare C hiredis reader (bench/reference/redis_reader.c), and the
# XADD-to-callback latency (bench/redis.lua); appends to
# bench/results-redis.md. Never part of make test.
build/bench/redis_reader: bench/reference/redis_reader.c
	@mkdir -p $(dir $@)
	$(CC) -std=c11 -D_POSIX_C_SOURCE=200809L -O2 $(WARN) $(shell pkg-config --cflags hiredis) $< -o $@ \
	  $(shell pkg-config --libs hiredis)

.PHONY: bench-redis
bench-redis:
	@sh scripts/install-deps.sh bench
	@$(MAKE) --no-print-directory BUILD=build/bench OPT=-O2 SAN= build/bench/asp-lua build/bench/redis_reader
	build/bench/asp-lua bench/redis.lua build/bench/asp-lua build/bench/redis_reader
