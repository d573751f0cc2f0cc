# Ergo for Swift — the two commands of README.md, and the steps behind them.
#   make demo   installs what is missing, builds, and runs the demo
#   make test   installs what is missing and runs every test
# Other targets: demo-terms, build, c-test, c-test-asan, fuzz, swift-test, bench, bench-compare.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c

APT_PACKAGES := liburing-dev libssl-dev zlib1g-dev erlang-nox erlang-dev cmake pkg-config
SWIFT_BIN := $(dir $(realpath $(shell command -v swift)))
CLANG := $(or $(wildcard $(SWIFT_BIN)clang),$(shell command -v clang))
JOBS ?= 2
FUZZ_SECONDS ?= 120
ONLY ?=
SHARED ?= $(abspath ../shared)
DIST_SUITES := BadPeerTests|ErlangInteropTests|ErlangLinkMonitorTests|ErlangClusterTests|ErlangLargeMessageTests|EventLoopTests|EPMD|ErlangGlobalTests

.PHONY: demo demo-terms test deps build c-build c-test c-test-asan fuzz swift-test bench bench-compare clean

# The demo node: demo@127.0.0.1 in the foreground, hosting demo_sup and echo
# (README, "Talking to the demo node from erl"). Ctrl-C stops it.
DEMO_NAME ?= demo@127.0.0.1
demo: deps
	swift build -c release --product ergo
	"$$(swift build -c release --show-bin-path)/ergo" node --name $(DEMO_NAME) $(if $(COOKIE),--cookie $(COOKIE))

# The `ergo term` tool at work on terms.
demo-terms: deps
	swift build -c release --product ergo
	./scripts/demo.sh "$$(swift build -c release --show-bin-path)/ergo"

test: deps c-test c-test-asan fuzz swift-test
	@echo "make test: all suites passed"

# Install the Debian packages that are missing (as root, as on CI).
deps:
	@missing=""; for p in $(APT_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing; \
	fi

build:
	swift build

c-build:
	cmake -S . -B build/c -DCMAKE_BUILD_TYPE=Release >/dev/null
	cmake --build build/c -j $(JOBS)

c-test: c-build
	ctest --test-dir build/c --output-on-failure

c-test-asan:
	cmake -S . -B build/asan -DCMAKE_BUILD_TYPE=Debug -DERGO_SANITIZE=ON -DERGO_BENCH=OFF >/dev/null
	cmake --build build/asan -j $(JOBS)
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 ctest --test-dir build/asan --output-on-failure

# libFuzzer targets, built with the Swift toolchain's clang; each runs for
# FUZZ_SECONDS from its seed corpus. A missing fuzzer fails under CI.
fuzz:
	@if [ -z "$(CLANG)" ] || ! echo 'int LLVMFuzzerTestOneInput(const char*d,long n){(void)d;(void)n;return 0;}' \
	    | $(CLANG) -x c -fsanitize=fuzzer - -o /tmp/ergo-fuzz-probe 2>/dev/null; then \
	  if [ "$${CI:-}" = true ]; then echo "fuzz: no clang with libFuzzer (CI requires it)"; exit 1; fi; \
	  echo "fuzz: SKIPPED, no clang with libFuzzer"; exit 0; fi; \
	cmake -S . -B build/fuzz -DCMAKE_C_COMPILER=$(CLANG) -DCMAKE_BUILD_TYPE=Debug -DERGO_FUZZ=ON -DERGO_BENCH=OFF >/dev/null; \
	cmake --build build/fuzz -j $(JOBS); \
	./fuzz/run.sh build/fuzz $(FUZZ_SECONDS)

# The Swift suite, then again under AddressSanitizer (the Swift code walks the
# C core's memory), then the concurrency and distribution tests under
# ThreadSanitizer.
# lsan.supp lists leaks of the toolchain's own libraries (XCTest, Foundation).
swift-test:
	swift build --build-tests
	swift test --skip-build
	swift build --build-tests --sanitize=address --scratch-path .build-asan
	LSAN_OPTIONS=suppressions=$(CURDIR)/Tests/Sanitizers/lsan.supp \
	  swift test --skip-build --sanitize=address --scratch-path .build-asan
	swift build --build-tests --sanitize=thread --scratch-path .build-tsan
	TSAN_OPTIONS=halt_on_error=1 \
	  swift test --skip-build --sanitize=thread --scratch-path .build-tsan --filter "Concurrency|$(DIST_SUITES)"
	# The distribution suites again with the epoll fallback forced.
	ERGO_EVENT_LOOP=epoll swift test --skip-build --filter "$(DIST_SUITES)"


bench:
	./bench/run.sh $(ONLY)

bench-compare:
	./bench/run.sh $(ONLY)
	./bench/compare.sh "$(SHARED)" $(ONLY)

clean:
	rm -rf build .build
