#!/usr/bin/env bash
# bench_syms.sh compares user symbol resolution of gobcc (b.Sym, pure Go
# internal/usym) with BCC Python's BPF.sym (libbcc's bcc_symcache): it runs
# only the symbol rows of `make bench` (sym: warm lookups/s; sym/cache-memory:
# the RSS a warm cache adds; ksym, ksymname; bench/internal/benchcmp), writing the
# report to a temporary directory (BENCH_OUT to choose), then the in-process
# Go benchmark of warm lookups (BenchmarkResolveWarm, against the C test
# child). Extra arguments go to scripts/bench.sh. Needs root, gcc and
# python3-bpfcc.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=$PATH:/usr/local/go/bin
export BENCH_OUT=${BENCH_OUT:-$(mktemp -d /tmp/gobcc-bench-syms.XXXXXX)}
quick=()
[ "${1:-}" = quick ] && { quick=(quick); shift; }
bash scripts/bench.sh "${quick[@]}" -run '^(sym|ksym)' "$@"
go test ./internal/usym/ -run '^$' -bench 'BenchmarkResolveWarm' -benchmem -count=1 | grep Benchmark
