#!/usr/bin/python3
"""BCC Python's side of the exporter scrape benchmark.

Fills a 100k-entry callers table (u64 call site -> u64 count) exactly as
exporter/bench_test.go does (call sites spread evenly over the kernel's
text), then times SCRAPES scrapes done the way a Python exporter would:
items(), b.ksym() of each key, call sites of one function summed, and the
same Prometheus text exposition gobcc serves. Prints one JSON line:
median and mean milliseconds per scrape, mean CPU milliseconds, series, RSS after the first and
the last scrape.
"""
import ctypes as ct
import json
import statistics
import sys
import time

from bcc import BPF

ENTRIES = 100000
SCRAPES = int(sys.argv[1]) if len(sys.argv) > 1 else 20


def rss_kb():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def escape(s):
    return s.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", "\\n")


def scrape(b, table):
    counts = {}
    for k, v in table.items():
        name = b.ksym(k.value).decode()
        counts[name] = counts.get(name, 0) + v.value
    out = ["# HELP kmalloc_calls_total kmalloc() calls by calling kernel function",
           "# TYPE kmalloc_calls_total counter"]
    for name in sorted(counts):
        out.append('kmalloc_calls_total{function="%s"} %d' % (escape(name), counts[name]))
    return "\n".join(out) + "\n", len(counts)


def main():
    b = BPF(text="BPF_HASH(callers, u64, u64, 131072);")
    table = b["callers"]
    start = BPF.ksymname("_stext")
    end = BPF.ksymname("_etext")
    step = (end - start) // ENTRIES
    keys = (table.Key * ENTRIES)()
    values = (table.Leaf * ENTRIES)()
    for i in range(ENTRIES):
        keys[i] = table.Key(start + i * step)
        values[i] = table.Leaf(i % 97 + 1)
    table.items_update_batch(keys, values)

    times = []
    cpu = []
    rss_first = 0
    series = 0
    for i in range(SCRAPES):
        t0, c0 = time.perf_counter(), time.process_time()
        text, series = scrape(b, table)
        times.append((time.perf_counter() - t0) * 1000)
        cpu.append((time.process_time() - c0) * 1000)
        if i == 0:
            rss_first = rss_kb()
    print(json.dumps({
        "scrapes": SCRAPES,
        "median_ms": round(statistics.median(times), 1),
        "mean_ms": round(statistics.mean(times), 1),
        "cpu_ms": round(statistics.mean(cpu), 1),
        "series": series,
        "rss_first_kb": rss_first,
        "rss_last_kb": rss_kb(),
    }))


if __name__ == "__main__":
    main()
