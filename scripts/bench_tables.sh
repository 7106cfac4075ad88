#!/usr/bin/env bash
# bench_tables.sh compares gobcc's table reads and clears with BCC Python's in
# the same run: Items/items(), ItemsLookupBatch/items_lookup_batch() and
# Clear/clear() on a BPF_HASH(u32, u64) of 100k and 1M entries. It prints a
# Markdown table of seconds per call and the ratio BCC/gobcc (how many times
# faster gobcc is). Run as root from the repository root.
# Environment: SIZES (default 100000,1000000), CLEAR_MAX (largest size BCC's
# clear() is timed at, default 100000), BENCHTIME (go test -benchtime, 3x).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=$PATH:/usr/local/go/bin
sizes=${SIZES:-100000,1000000}
clear_max=${CLEAR_MAX:-100000}
benchtime=${BENCHTIME:-3x}

gofile=$(mktemp) pyfile=$(mktemp)
trap 'rm -f "$gofile" "$pyfile"' EXIT

echo "bench_tables: gobcc (go test -bench, -benchtime $benchtime)" >&2
go test ./bcc -run '^$' -bench 'BenchmarkTable(Items|ItemsLookupBatch|Clear)$' -benchtime "$benchtime" >"$gofile"
echo "bench_tables: BCC Python $(/usr/bin/python3 -c 'import bcc; print(bcc.__version__)' 2>/dev/null || echo '?')" >&2
/usr/bin/python3 scripts/bench_tables_bcc.py "$sizes" "$clear_max" >"$pyfile"

/usr/bin/python3 - "$gofile" "$pyfile" "$sizes" <<'PY'
import re, sys
gofile, pyfile, sizes = sys.argv[1], sys.argv[2], [int(s) for s in sys.argv[3].split(",")]
names = {"Items": "items", "ItemsLookupBatch": "items_lookup_batch", "Clear": "clear"}
go = {}
for line in open(gofile):
    m = re.match(r"BenchmarkTable(\w+)/n=(\d+)-\d+\s+\d+\s+([\d.]+) ns/op", line)
    if m and m.group(1) in names:
        go[(names[m.group(1)], int(m.group(2)))] = float(m.group(3)) / 1e9
py = {}
for line in open(pyfile):
    op, n, s = line.split()
    py[(op, int(n))] = float(s)
print("| operation | entries | BCC Python (s) | gobcc (s) | BCC / gobcc |")
print("|---|---:|---:|---:|---:|")
for op in ("items", "items_lookup_batch", "clear"):
    for n in sizes:
        g, p = go.get((op, n)), py.get((op, n))
        ps = "%.3f" % p if p is not None else "not run"
        gs = "%.3f" % g if g is not None else "not run"
        ratio = "%.1fx" % (p / g) if p is not None and g else "-"
        print("| %s | %d | %s | %s | %s |" % (op, n, ps, gs, ratio))
PY
