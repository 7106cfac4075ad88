#!/usr/bin/env bash
# bench.sh runs gobcc and BCC Python side by side on this machine (`make
# bench`): it builds the gobcc probe and the gobcc-bench driver, runs every
# registered measurement (bench/internal/benchcmp, its own Go module) at least 5 times per side, prints
# the table and writes docs/benchmarks.md and docs/benchmarks.png.
#
#   scripts/bench.sh             full run, writes docs/ (several minutes)
#   scripts/bench.sh quick       smoke run: one small sample per side, writes
#                                the report to a temporary directory; checks
#                                that everything runs, times nothing
#   scripts/bench.sh [quick] -run 'items|clear'   extra flags go to gobcc-bench
#
# Environment: BENCH_BIN (where to build, default bin/), BENCH_OUT (report
# directory, default docs/ for a full run and a temporary one for quick).
# Must run as root, like BCC.
set -euo pipefail

cd "$(dirname "$0")/.."
export PATH="/usr/local/go/bin:$PATH"
GO=${GO:-go}

quick=()
while [ "${1:-}" = quick ]; do # `make bench quick ARGS=quick` passes it twice
  quick=(-quick)
  shift
done
bin=${BENCH_BIN:-bin}
if [ ${#quick[@]} -gt 0 ]; then
  out=${BENCH_OUT:-$(mktemp -d /tmp/gobcc-bench.XXXXXX)}
else
  out=${BENCH_OUT:-docs}
fi
mkdir -p "$bin" "$out"
bin=$(cd "$bin" && pwd)

# The harness is the bench/ module (gonum for the chart lives only there).
(cd bench && "$GO" build -o "$bin/benchprobe" ./cmd/benchprobe)
(cd bench && "$GO" build -o "$bin/exportprobe" ./cmd/exportprobe) # the exporter rows (Measurement.Probe)
(cd bench && "$GO" build -o "$bin/gobcc-bench" ./cmd/gobcc-bench)

# BCC Python needs kernel headers where libbcc looks for them.
exec bash scripts/with-installed-headers.sh "$bin/gobcc-bench" "${quick[@]}" -probe "$bin/benchprobe" -root . \
  -out "$out/benchmarks.md" -png "$out/benchmarks.png" "$@"
