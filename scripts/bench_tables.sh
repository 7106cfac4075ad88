#!/usr/bin/env bash
# bench_tables.sh compares gobcc's table reads and clears with BCC Python's:
# it runs only the table rows of `make bench` (items/100k, items/1m against
# items() and items_lookup_batch(), clear/100k; bench/internal/benchcmp), 5 fresh
# processes per side, and prints their table. The report goes to a temporary
# directory (BENCH_OUT to choose), so docs/benchmarks.md is left alone.
# Extra arguments go to scripts/bench.sh, e.g. `quick` or `-runs 3`.
# Run as root from anywhere.
set -euo pipefail
cd "$(dirname "$0")/.."
export BENCH_OUT=${BENCH_OUT:-$(mktemp -d /tmp/gobcc-bench-tables.XXXXXX)}
quick=()
[ "${1:-}" = quick ] && { quick=(quick); shift; }
exec bash scripts/bench.sh "${quick[@]}" -run '^(items|clear)/' "$@"
