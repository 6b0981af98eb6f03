# bottle-verify: build, tests, demo. See README.md and docs/.
# `make` builds build/bottle-verify, build/bottle-launch and build/bottle-probe; `make check`
# runs every lane that can run here; `make demo` runs the main job on a simulated bottle;
# `make install` (PREFIX, DESTDIR) and `make uninstall`.

CC      ?= cc
BUILD   ?= build
ifneq ($(words $(BUILD)),1)
$(error BUILD='$(BUILD)': make cannot take a build directory whose path has a space in it (make's own limit); name one without, a symlink to it will do)
endif
PKGS    := sqlite3 libcjson nettle libseccomp
WARN    := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
           -Wformat=2 -Wno-format-nonliteral
CFLAGS  ?= -O2 -g
BV_CFLAGS := -std=c11 -D_GNU_SOURCE $(WARN) -Isrc -Iverify \
           $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
BV_LIBS := $(shell pkg-config --libs $(PKGS) 2>/dev/null || echo -lsqlite3 -lcjson -lnettle -lseccomp)
TEST_LIBS := $(shell pkg-config --libs criterion 2>/dev/null || echo -lcriterion)

# libbv: src/core (knows nothing of smolvm), src/smolvm (every smolvm fact) and the
# launcher's steps (src/launch, less its main). libverify: verify/ less its main.
SRC_DIRS    := src/core src/smolvm src/launch
VERIFY_DIRS := verify verify/host verify/db verify/egress verify/gate verify/watch
CORE_SRC   := $(filter-out src/launch/main.c,$(foreach d,$(SRC_DIRS),$(wildcard $(d)/*.c)))
# plan.c, dns.c and git.c are shared with the guest binary; probe.c (its main), conv.c and
# pressure.c, echo.c are the guest's alone.
PROBE_SHARED := verify/probe/plan.c verify/probe/dns.c verify/probe/git.c
PROBE_GUEST  := verify/probe/probe.c verify/probe/conv.c verify/probe/pressure.c verify/probe/echo.c
VERIFY_SRC := $(filter-out verify/main.c,$(foreach d,$(VERIFY_DIRS),$(wildcard $(d)/*.c))) $(PROBE_SHARED)
ALL_HDR    := $(foreach d,$(SRC_DIRS) $(VERIFY_DIRS) verify/probe,$(wildcard $(d)/*.h))
CORE_OBJ   := $(CORE_SRC:%.c=$(BUILD)/obj/%.o)
VERIFY_OBJ := $(VERIFY_SRC:%.c=$(BUILD)/obj/%.o)
# Unit tests live beside their code (<folder>/tests/test_*.c); binary names are unique.
TEST_DIRS  := $(addsuffix /tests,$(SRC_DIRS) $(VERIFY_DIRS) verify/probe)
TEST_SRC   := $(foreach d,$(TEST_DIRS),$(wildcard $(d)/test_*.c))
TEST_BIN   := $(patsubst %.c,$(BUILD)/tests/%,$(notdir $(TEST_SRC)))
vpath test_%.c $(TEST_DIRS)
FUZZ_SRC   := $(wildcard fuzz/fuzz_*.c)

.PHONY: all deps fresh-check check check-deep unit prove-tests demo fuzz fuzz-smoke sanitize sanitize-unit valgrind valgrind-unit schema-lanes faults bench soak watch-soak clean install uninstall

all: $(BUILD)/bottle-verify $(BUILD)/bottle-launch $(BUILD)/bottle-probe

# make deps: every package any target needs; make demo installs only its own (ci/deps.sh).
deps:
	@ci/deps.sh check

$(BUILD)/obj/%.o: %.c $(ALL_HDR)
	@mkdir -p $(dir $@)
	$(CC) $(BV_CFLAGS) $(CFLAGS) -c -o $@ $<

$(BUILD)/libbv.a: $(CORE_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/libverify.a: $(VERIFY_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/bottle-verify: $(BUILD)/obj/verify/main.o $(BUILD)/libverify.a $(BUILD)/libbv.a
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(BV_LIBS)

$(BUILD)/bottle-launch: $(BUILD)/obj/src/launch/main.o $(BUILD)/libbv.a
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(BV_LIBS)

# bottle-probe runs inside a bare guest: static, libc only (musl), small.
MUSL_CC ?= musl-gcc
$(BUILD)/bottle-probe: $(PROBE_GUEST) $(PROBE_SHARED) $(wildcard verify/probe/*.h) src/core/release.h
	@mkdir -p $(dir $@)
	$(MUSL_CC) -std=c11 -D_GNU_SOURCE $(WARN) -Iverify -Isrc -Os -static -s -o $@ $(PROBE_GUEST) $(PROBE_SHARED)

$(BUILD)/tests/%: %.c $(BUILD)/libverify.a $(BUILD)/libbv.a
	@mkdir -p $(dir $@)
	$(CC) $(BV_CFLAGS) $(CFLAGS) -Wno-missing-prototypes -o $@ $^ $(BV_LIBS) $(TEST_LIBS)

# Unit lane: every criterion binary, TAP straight into prove.
unit: all $(TEST_BIN)
	@set -e; for t in $(TEST_BIN); do \
	  echo "== $$t" >&2; \
	  BV_BUILD=$(BUILD) BV_TOP="$(CURDIR)" $$t --jobs 2 --tap=$(BUILD)/$$(basename $$t).tap >/dev/null 2>$(BUILD)/$$(basename $$t).log || \
	    { cat $(BUILD)/$$(basename $$t).log >&2; cat $(BUILD)/$$(basename $$t).tap; exit 1; }; \
	  if grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:' $(BUILD)/$$(basename $$t).log; then \
	    cat $(BUILD)/$$(basename $$t).log >&2; echo "sanitizer report in $$t" >&2; exit 1; fi; \
	done; \
	prove -e cat $(addprefix $(BUILD)/,$(addsuffix .tap,$(notdir $(TEST_BIN))))

# Integration lanes run by prove: scripts print TAP and drive the built binaries.
# Two lanes at a time (each runs in namespaces of its own; the sinks' host-wide lock
# serialises what must not overlap): make check stays within its 10 minutes on 2 cores.
PROVE_JOBS ?= 2
prove-tests: all
	BV_BUILD="$(abspath $(BUILD))" prove -j$(PROVE_JOBS) -r integration/

# Every integration lane through prove (the kvm lane included). KVM runners run it with
# BOTTLE_VERIFY_MUST_RUN=1 (ci/kvm-runner.sh), so a lane that cannot run fails.
.PHONY: integration junit
integration: all
	BV_BUILD="$(abspath $(BUILD))" prove -r integration/

.PHONY: sim-conformance
sim-conformance:
	BV_BUILD="$(abspath $(BUILD))" prove integration/sim/conformance.t

# The same run as JUnit XML for CI dashboards (TAP::Formatter::JUnit, Debian
# libtap-formatter-junit-perl); prove's exit status is kept.
junit: all
	BV_BUILD="$(abspath $(BUILD))" prove -r --formatter TAP::Formatter::JUnit integration/ > $(BUILD)/junit.xml

# Everything CI proves: the lanes, then the same under ASan+UBSan and under valgrind, and
# the injected faults (two injection points per syscall here; make faults goes further).
# make check stays within 10 minutes on 2 cores: every lane once, and the unit tests under
# the sanitizers and valgrind. make check-deep (CI runs it too) repeats the lanes under
# them and injects syscall errors.
# Each stage logged to build/check/STAGE.log; one screen at the end (ci/check.sh).
check: deps
	@MAKE="$(MAKE)" BUILD="$(BUILD)" ci/check.sh

check-deep: deps
	$(MAKE) sanitize
	$(MAKE) valgrind
	$(MAKE) schema-lanes
	FAULTS_CAP=2 $(MAKE) faults

demo:
	@ci/deps.sh demo
	$(MAKE) all
	@BV_BUILD="$(abspath $(BUILD))" fixtures/demo.sh

# libFuzzer targets (clang). fuzz-smoke: a few seconds each inside `make check`.
FUZZ_CC     ?= clang
FUZZ_FLAGS  := -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
FUZZ_BIN    := $(patsubst fuzz/%.c,$(BUILD)/fuzz/%,$(FUZZ_SRC))
FUZZ_TIME   ?= 60

# The library is compiled once for every target (fuzzer-no-link: coverage without a main).
FUZZ_OBJ    := $(patsubst %.c,$(BUILD)/fuzz/obj/%.o,$(CORE_SRC) $(VERIFY_SRC))

$(BUILD)/fuzz/obj/%.o: %.c $(ALL_HDR)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) -std=c11 -D_GNU_SOURCE -Isrc -Iverify -g -O1 -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined -c -o $@ $<

$(BUILD)/fuzz/libbv-fuzz.a: $(FUZZ_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/fuzz/%: fuzz/%.c $(BUILD)/fuzz/libbv-fuzz.a
	@mkdir -p $(dir $@)
	$(FUZZ_CC) -std=c11 -D_GNU_SOURCE -Isrc -Iverify $(FUZZ_FLAGS) -o $@ $< $(BUILD)/fuzz/libbv-fuzz.a $(BV_LIBS)

fuzz: $(FUZZ_BIN)
	@set -e; for f in $(FUZZ_BIN); do n=$$(basename $$f); mkdir -p $(BUILD)/corpus/$$n; \
	  $$f -max_total_time=$(FUZZ_TIME) -max_len=65536 $(BUILD)/corpus/$$n fixtures/corpus/$$n; done

fuzz-smoke: $(FUZZ_BIN)
	@set -e; for f in $(FUZZ_BIN); do n=$$(basename $$f); mkdir -p $(BUILD)/corpus/$$n; \
	  $$f -max_total_time=$${FUZZ_SMOKE_TIME:-5} -max_len=65536 $(BUILD)/corpus/$$n fixtures/corpus/$$n 2>$(BUILD)/$$n.fuzz.log || \
	  { tail -40 $(BUILD)/$$n.fuzz.log; exit 1; }; \
	  echo "fuzz $$n: $$(grep -E '^Done [0-9]+ runs' $(BUILD)/$$n.fuzz.log)"; done

# Speed goals live here, not in timed unit tests (docs/performance.md).
bench: all
	BV_BUILD="$(abspath $(BUILD))" bench/egress-sweep.sh
	BV_BUILD="$(abspath $(BUILD))" bench/db-rows.sh
	BV_BUILD="$(abspath $(BUILD))" bench/launch-overhead.sh
	BV_BUILD="$(abspath $(BUILD))" bench/all-vs-floor.sh

# A long soak, not part of check: the confined sim bottle passes every time (RUNS, VERSIONS).
soak: all
	BV_BUILD="$(abspath $(BUILD))" VERSIONS="$${VERSIONS:-0.8.0 1.9.3}" bench/confined-soak.sh

# bottle-verify watch for 10 minutes of an agent hammering denied destinations (and one
# idle minute): no finding, every refusal counted, its CPU per hour and peak memory.
# WATCH_SOAK_S, WATCH_IDLE_S shorten it.
watch-soak: all
	BV_BUILD="$(abspath $(BUILD))" bench/watch-soak.sh

# The unit tests and the db, launch, verify and sim lanes under valgrind --error-exitcode.
valgrind: all $(TEST_BIN)
	BV_BUILD="$(abspath $(BUILD))" ci/valgrind.sh

valgrind-unit: all $(TEST_BIN)
	BV_BUILD="$(abspath $(BUILD))" VALGRIND_LANES=0 ci/valgrind.sh

# The lanes that print JSON, every --format json output held to docs/report.schema.json
# (integration/client/schema_check.py, Python's standard library) through wrappers that
# exit 97 on a violation. In check-deep: it repeats the sim lanes (minutes); make check has
# integration/sim/schema.t, one real output of each command.
schema-lanes: all
	BV_BUILD=$(abspath $(BUILD)) ci/schema-lanes.sh

# Injected syscall errors, one at a time (strace --inject): every run fails closed.
faults: all
	BV_BUILD="$(abspath $(BUILD))" faults/run.sh

# ASan + UBSan build of everything, then the unit and integration lanes on it.
SAN_MAKE = ASAN_OPTIONS=exitcode=86:detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:exitcode=86 \
	$(MAKE) BUILD=build-san CC=clang CFLAGS="-O1 -g -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer" LDFLAGS="-fsanitize=address,undefined"
sanitize:
	$(SAN_MAKE) unit prove-tests

sanitize-unit:
	$(SAN_MAKE) unit

# make install honours PREFIX (default /usr/local) and DESTDIR. bottle-probe is not a
# command: it goes to $(PREFIX)/lib/bottle-verify, where an installed bottle-verify looks
# (../lib/bottle-verify from its own binary, docs/probe.md), so nothing is built per PREFIX.
PREFIX   ?= /usr/local
BINDIR   := $(PREFIX)/bin
PROBEDIR := $(PREFIX)/lib/bottle-verify
MAN1DIR  := $(PREFIX)/share/man/man1
DOCDIR   := $(PREFIX)/share/doc/bottle-verify
INSTALL  ?= install
MAN_PAGES := $(wildcard man/*.1)
DOC_FILES := README.md CHANGELOG.md $(wildcard docs/*.md) docs/report.schema.json

install: all
	$(INSTALL) -d -m 0755 $(DESTDIR)$(BINDIR) $(DESTDIR)$(PROBEDIR) $(DESTDIR)$(MAN1DIR) $(DESTDIR)$(DOCDIR)
	$(INSTALL) -m 0755 $(BUILD)/bottle-verify $(BUILD)/bottle-launch $(DESTDIR)$(BINDIR)/
	$(INSTALL) -m 0755 $(BUILD)/bottle-probe $(DESTDIR)$(PROBEDIR)/
	$(INSTALL) -m 0644 $(MAN_PAGES) $(DESTDIR)$(MAN1DIR)/
	$(INSTALL) -m 0644 $(DOC_FILES) $(DESTDIR)$(DOCDIR)/

# Removes what install put there, and the two directories that are ours alone when empty.
uninstall:
	rm -f $(DESTDIR)$(BINDIR)/bottle-verify $(DESTDIR)$(BINDIR)/bottle-launch \
	      $(DESTDIR)$(PROBEDIR)/bottle-probe $(addprefix $(DESTDIR)$(MAN1DIR)/,$(notdir $(MAN_PAGES))) \
	      $(addprefix $(DESTDIR)$(DOCDIR)/,$(notdir $(DOC_FILES)))
	-rmdir $(DESTDIR)$(PROBEDIR) $(DESTDIR)$(DOCDIR) 2>/dev/null

# The README's prerequisites line, make demo and make check, as root in a chroot of a
# debootstrapped Debian 12 (docs/ci.md). Root, and about 2 GB under /var/tmp/bv-fresh.
fresh-check:
	ci/fresh-check.sh

clean:
	rm -rf $(BUILD) build-san
