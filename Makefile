# gobcc's two set-up commands, `make run` and `make test`, work on a fresh
# Debian 12 machine as root: both run scripts/setup.sh first, which installs
# only what is missing.
export PATH := /usr/local/go/bin:$(PATH)
GO ?= go
BIN := bin

.PHONY: all setup build run test vet parity bench quick clean install deb vmtest

all: build

setup:
	@bash scripts/setup.sh

build:
	$(GO) build -o $(BIN)/gobcc ./cmd/gobcc
	$(GO) build -o $(BIN)/kmalloc_callers ./examples/kmalloc_callers

# The seed example: kmalloc() call sites counted from the kmem:kmalloc
# tracepoint, printed with their kernel function names for a few seconds.
run: setup build
	$(BIN)/gobcc run --ksym --top 15 --duration 5s testdata/kmalloc_callers.c

vet:
	@unformatted=$$(gofmt -l $$(git ls-files '*.go')); \
	if [ -n "$$unformatted" ]; then echo "gofmt needed: $$unformatted"; exit 1; fi
	$(GO) vet ./...
	cd bench && $(GO) vet ./...

# Packages with concurrency of their own run under the race detector (see
# docs/testing.md).
RACE_PKGS := ./bcc ./internal/events ./internal/maps ./internal/attach
MODULE := github.com/gobcc/gobcc
PLAIN_PKGS = $$($(GO) list ./... | grep -v -x -F $(foreach p,$(RACE_PKGS),-e $(MODULE)/$(p:./%=%)))

# Every test, against the real kernel and libbcc; a test that would skip for
# lack of a kernel feature fails instead. -p 1: packages share kernel-wide
# resources (trace_pipe admits one reader), so their tests run one package
# at a time. Then the bench module's tests, with its quick benchmark run.
# BCC Python, the reference, needs kernel headers where libbcc looks for
# them: WITH_HEADERS runs the tests in a mount namespace that has them (see
# scripts/with-installed-headers.sh); gobcc itself compiles against headers
# generated from BTF.
WITH_HEADERS := bash $(CURDIR)/scripts/with-installed-headers.sh
test: setup vet
	GOBCC_REQUIRE_KERNEL=1 $(WITH_HEADERS) $(GO) test -p 1 -count=1 -timeout 40m $(PLAIN_PKGS)
	GOBCC_REQUIRE_KERNEL=1 $(WITH_HEADERS) $(GO) test -p 1 -count=1 -race -timeout 40m $(RACE_PKGS)
	cd bench && GOBCC_REQUIRE_KERNEL=1 $(WITH_HEADERS) $(GO) test -p 1 -count=1 -timeout 20m ./...
	$(MAKE) vmtest

# The same tests on a second kernel: a QEMU guest (TCG, no KVM needed) of
# Debian's own linux-image package, downloaded once into
# /var/cache/gobcc/vm, with this tree visible read-only. It runs the kprobe
# suite (this machine's kernel has no kprobes), the kprobe parity programs
# against BCC Python, the tracefs kprobe_events tests, and `gobcc doctor` and
# `gobcc run` of a kprobe program. The guest has one CPU (gobcc-vm's
# default; docs/testing.md says why).
# VMKERNEL names other kernel packages
# (space-separated); see docs/testing.md.
VMKERNEL ?=
VMFLAGS = $(foreach k,$(VMKERNEL),--kernel $(k)) --timeout 15m
vmtest: setup
	$(GO) build -o $(BIN)/gobcc-vm ./cmd/gobcc-vm
	$(GO) build -o $(BIN)/gobcc ./cmd/gobcc
	GOBCC_REQUIRE_KERNEL=1 GOBCC_PARITY_PROGRAMS='k(ret)?probe' $(BIN)/gobcc-vm test $(VMFLAGS) \
		./internal/tracefs ./internal/attach ./bcc ./parity -- -short -v \
		-run 'Kprobe|KfuncLSM|ProbeFeatures|Verifier|DebugFlags|TestParitySuiteShape|TestParityPrograms'
	$(BIN)/gobcc-vm run $(VMFLAGS) -- sh scripts/vmtest_cli.sh $(BIN)/gobcc

parity: setup
	GOBCC_REQUIRE_KERNEL=1 $(WITH_HEADERS) $(GO) test -p 1 -count=1 -run 'Parity' -v ./...

# Benchmarks against BCC Python on this machine; `make bench ARGS=quick`
# (or `make bench quick`) checks that everything runs without timing it
# seriously. A full run writes docs/benchmarks.md and docs/benchmarks.png.
bench: setup build
	bash scripts/bench.sh $(filter quick,$(MAKECMDGOALS)) $(ARGS)

# `quick` is an argument of `make bench`, not a target of its own.
quick:
	@:

clean:
	rm -rf $(BIN)

# Installs the binary, its man pages and shell completions under PREFIX
# (DESTDIR for staging).
PREFIX ?= /usr/local
install: build
	install -D -m 0755 $(BIN)/gobcc $(DESTDIR)$(PREFIX)/bin/gobcc
	$(BIN)/gobcc gen-docs --man $(DESTDIR)$(PREFIX)/share/man/man1 --completions $(BIN)/completions
	install -D -m 0644 $(BIN)/completions/bash/gobcc $(DESTDIR)$(PREFIX)/share/bash-completion/completions/gobcc
	install -D -m 0644 $(BIN)/completions/zsh/_gobcc $(DESTDIR)$(PREFIX)/share/zsh/vendor-completions/_gobcc
	install -D -m 0644 $(BIN)/completions/fish/gobcc.fish $(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d/gobcc.fish

# A Debian package (bin/gobcc_VERSION_ARCH.deb) built with dpkg-deb:
# depends on libbpfcc, ships the exporter's systemd unit (not enabled).
deb: build
	BIN=$(BIN) bash scripts/deb.sh
