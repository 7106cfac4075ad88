#!/bin/bash
# Exporter scrape benchmark: gobcc export against BCC Python, one run.
# A scrape of a 100k-entry table with a ksym label (GET /metrics in gobcc;
# items() + ksym + the same exposition text in BCC Python). Prints both
# medians, the ratio, and gobcc's RSS over 100 scrapes.
# Usage: scripts/bench_exporter.sh [PYTHON_SCRAPES] (default 10)
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=/usr/local/go/bin:$PATH
py_scrapes=${1:-10}

go_out=$(GOBCC_REQUIRE_KERNEL=1 go test -count=1 -run '^$' -bench 'Scrape100kKsym' -benchtime=100x ./exporter | grep '^BenchmarkScrape100kKsym')
py_out=$(/usr/bin/python3 scripts/bench_exporter_bcc.py "$py_scrapes")

go_ms=$(awk '{print $3/1e6}' <<<"$go_out")
go_cpu=$(awk '{for (i=1;i<=NF;i++) if ($i=="cpu-ms/op") print $(i-1)}' <<<"$go_out")
metric() { awk -v m="$1" '{for (i=1;i<=NF;i++) if ($i==m) print $(i-1)}' <<<"$go_out"; }
go_rss=$(metric rss-MB)
go_peak=$(metric rss-peak-MB)
go_last=$(metric rss-last-MB)
py_ms=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["median_ms"])' "$py_out")
py_cpu=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["cpu_ms"])' "$py_out")
py_growth=$(python3 -c 'import json,sys; d=json.loads(sys.argv[1]); print(d["rss_last_kb"]-d["rss_first_kb"])' "$py_out")
echo "gobcc:      $go_out"
echo "BCC Python: $py_out"
awk -v g="$go_ms" -v c="$go_cpu" -v p="$py_ms" -v pc="$py_cpu" -v gr="$go_rss" -v gp="$go_peak" -v gl="$go_last" -v pg="$py_growth" -v n="$py_scrapes" 'BEGIN {
  printf "scrape of 100k entries with ksym: gobcc %.1f ms, BCC Python %.1f ms: %.1fx (CPU: %.1f ms against %.1f ms, %.1fx)\n", g, p, p/g, c, pc, pc/c
  printf "RSS: gobcc %.1f MB after the first scrape, peak %.1f MB, %.1f MB after 100 more; BCC Python +%d KB after %d\n", gr, gp, gl, pg, n
}'
