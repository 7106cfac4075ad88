# bench_tables_bcc.py: BCC Python's side of scripts/bench_tables.sh. For each
# size it fills a BPF_HASH(u32, u64) and times items(), items_lookup_batch()
# and clear() (clear only up to --clear-max entries: BCC's clear() restarts
# the key walk after every delete and takes minutes at 1M). Prints
# "<op> <n> <seconds>" lines.
import ctypes as ct
import sys
import time
from bcc import BPF

sizes = [int(s) for s in sys.argv[1].split(",")]
clear_max = int(sys.argv[2])

for n in sizes:
    b = BPF(text="BPF_HASH(t, u32, u64, %d);" % n)
    t = b["t"]
    keys = (t.Key * n)(*range(n))
    vals = (t.Leaf * n)(*[i * 3 for i in range(n)])
    t.items_update_batch(keys, vals)
    for op in ("items", "items_lookup_batch", "clear"):
        if op == "clear" and n > clear_max:
            continue
        start = time.perf_counter()
        if op == "items":
            got = len(t.items())
        elif op == "items_lookup_batch":
            got = len(list(t.items_lookup_batch()))
        else:
            t.clear()
            got = n - len(t)
        took = time.perf_counter() - start
        if got != n:
            sys.exit("%s on %d entries saw %d" % (op, n, got))
        print("%s %d %.6f" % (op, n, took), flush=True)
    b.cleanup()
