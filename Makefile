# asp-lua — build, test, demo.
#
#   make          build build/asp-lua (installs missing Debian packages first)
#   make test     build and run every test (cmocka + busted); ends "N passed, M failed"
#   make demo     build and run examples/crossing.lua
#   make asan     the tests under AddressSanitizer + UndefinedBehaviorSanitizer
#   make valgrind the tests under valgrind memcheck
#   make fuzz     each libFuzzer target for FUZZ_SECONDS (60) seconds
#   make clean

BUILD   ?= build
CC      ?= cc
LUAJIT  ?= luajit
SAN     ?=
OPT     ?= -O2

PKGS    := luajit libuv zlib jansson libedit
WARN    := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
           -Werror=implicit-function-declaration -Wformat=2 -Wno-format-nonliteral
CFLAGS  ?= $(OPT) -g
ALL_CFLAGS = -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE $(WARN) $(CFLAGS) $(SAN) \
             -iquote engine -iquote $(BUILD)/gen $(shell pkg-config --cflags $(PKGS))
# -E exports the engine's functions, which the Lua side reaches through ffi.C.
LDFLAGS_ALL = $(SAN) -Wl,-E $(LDFLAGS)
LIBS    = $(shell pkg-config --libs $(PKGS)) -lm

ENGINE_SRC := $(filter-out engine/main.c,$(wildcard engine/*.c engine/*/*.c))
ENGINE_OBJ := $(patsubst %.c,$(BUILD)/obj/%.o,$(ENGINE_SRC))
LUA_SRC    := $(shell find lua -name '*.lua' 2>/dev/null)
C_TESTS    := $(patsubst tests/c/%.c,$(BUILD)/tests/%,$(wildcard tests/c/test_*.c)) \
              $(patsubst tests/fuzz/fuzz_%.c,$(BUILD)/tests/test_fuzz_%,$(wildcard tests/fuzz/fuzz_*.c))
DEPS_STAMP := $(BUILD)/.deps-installed

.PHONY: all deps test demo asan valgrind fuzz fuzz-run clean
all: $(BUILD)/asp-lua

deps: $(DEPS_STAMP)
$(DEPS_STAMP): scripts/install-deps.sh
	@sh scripts/install-deps.sh
	@mkdir -p $(BUILD) && touch $@

$(BUILD)/gen/modules.gen.c: $(LUA_SRC) $(wildcard engine/*.h engine/*/*.h) scripts/embed-lua.sh scripts/gen-cdef.lua | $(DEPS_STAMP)
	@sh scripts/embed-lua.sh $(LUAJIT) $(BUILD)/gen

$(BUILD)/obj/%.o: %.c $(wildcard engine/*.h engine/*/*.h) | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

$(BUILD)/obj/modules.gen.o: $(BUILD)/gen/modules.gen.c engine/engine.h
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

$(BUILD)/asp-lua: $(BUILD)/obj/engine/main.o $(ENGINE_OBJ) $(BUILD)/obj/modules.gen.o
	$(CC) $^ -o $@ $(LDFLAGS_ALL) $(LIBS)

$(BUILD)/tests/%: tests/c/%.c tests/c/test_util.h $(ENGINE_OBJ) $(BUILD)/obj/modules.gen.o
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $< $(ENGINE_OBJ) $(BUILD)/obj/modules.gen.o -o $@ $(LDFLAGS_ALL) $(LIBS) -lcmocka

# Each fuzz target also runs in `make test`, over its corpus and regressions.
$(BUILD)/tests/test_fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/replay.c $(ENGINE_OBJ) $(BUILD)/obj/modules.gen.o
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -DFUZZ_NAME=$* $< tests/fuzz/replay.c $(ENGINE_OBJ) $(BUILD)/obj/modules.gen.o \
	  -o $@ $(LDFLAGS_ALL) $(LIBS) -lcmocka

test: $(BUILD)/asp-lua $(C_TESTS)
	@sh scripts/run-tests.sh $(BUILD)

demo: $(BUILD)/asp-lua
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
valgrind: $(BUILD)/asp-lua $(C_TESTS)
	@sh scripts/install-deps.sh valgrind
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

clean:
	rm -rf build

# make bench: an optimised build of its own (build/bench), then every
# workload of bench/workloads several times; prints the tables and writes
# bench/results.md. BENCH_RUNS=5, BENCH_BIG=1 (1 GB csv), BENCH_BASE=other
# asp-lua to compare with: see bench/run.lua. Never part of make test.
# The machine's floor for the live TCP row (bench/reference/tcp_reader.c).
build/bench/tcp_reader: bench/reference/tcp_reader.c
	@mkdir -p $(dir $@)
	$(CC) -std=c11 -D_POSIX_C_SOURCE=200809L -O2 $(WARN) $< -o $@

.PHONY: bench
bench:
	@sh scripts/install-deps.sh bench
	@$(MAKE) --no-print-directory BUILD=build/bench OPT=-O2 SAN= build/bench/asp-lua build/bench/tcp_reader
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
