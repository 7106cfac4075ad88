"""BCC Python's side of the export/scrape100k rows (measure_export.go):
the exporter's 100k-entry callers table, filled from user space as the
gobcc side fills it, scraped the way a Python exporter would: items(),
b.ksym() of each key, call sites of one function summed, and the same
Prometheus text exposition gobcc serves. One untimed scrape first; then
what=wall (median of `scrapes`), cpu (mean CPU per scrape), rss-first
(VmRSS after the first scrape) or rss-after-100 (after `scrapes` more)."""
import statistics
import time

from bcc import BPF

import benchlib


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
    return "\n".join(out) + "\n"


def text_bounds():
    start = end = 0
    with open("/proc/kallsyms") as f:
        for line in f:
            fields = line.split()
            if len(fields) >= 3 and fields[2] == "_stext":
                start = int(fields[0], 16)
            elif len(fields) >= 3 and fields[2] == "_etext":
                end = int(fields[0], 16)
    if not start or end <= start:
        raise SystemExit("/proc/kallsyms: no _stext/_etext")
    return start, end


def main():
    a = benchlib.args()
    what = a.get("what", "wall")
    scrapes = int(a.get("scrapes", "5"))
    entries = int(a.get("entries", "100000"))
    with open("exporter/testdata/bench_callers.c") as f:
        b = BPF(text=f.read())
    table = b["callers"]
    start, end = text_bounds()
    step = (end - start) // entries
    keys = (table.Key * entries)(*(start + i * step for i in range(entries)))
    values = (table.Leaf * entries)(*(i % 97 + 1 for i in range(entries)))
    table.items_update_batch(keys, values)
    del keys, values

    scrape(b, table)
    if what in ("rss-first", "rss-after-100"):
        for _ in range(scrapes):
            scrape(b, table)
        benchlib.emit(benchlib.status_kb("VmRSS") / 1024)
        return
    walls = []
    c0 = time.process_time()
    for _ in range(max(scrapes, 1)):
        t0 = time.perf_counter()
        scrape(b, table)
        walls.append(time.perf_counter() - t0)
    if what == "wall":
        benchlib.emit(statistics.median(walls))
    elif what == "cpu":
        benchlib.emit((time.process_time() - c0) / len(walls))
    else:
        raise SystemExit("what=%r: want wall, cpu, rss-first or rss-after-100" % what)


if __name__ == "__main__":
    main()
