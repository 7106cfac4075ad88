#!/usr/bin/env bash
# bench_syms.sh compares user symbol resolution of gobcc (internal/usym,
# pure Go) with BCC Python's BPF.sym (libbcc's bcc_symcache) on the same
# addresses of the same child process: warm lookups per second and the
# memory the warm cache holds. It prints a table with ratios (gobcc / BCC).
# Needs root, gcc and python3-bpfcc.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=$PATH:/usr/local/go/bin
GOBCC_BENCH_SYMS=1 go test ./internal/usym/ -run '^TestSymsBenchVsPython$' -count=1 -v | grep -v -e '^=== RUN' -e '^--- PASS' -e '^PASS' -e '^ok'
go test ./internal/usym/ -run '^$' -bench 'BenchmarkResolveWarm' -benchmem -count=1 | grep Benchmark
