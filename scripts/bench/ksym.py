"""BPF.ksym lookups per second on text-symbol addresses + 1."""
import time

from bcc import BPF

import benchlib

a = benchlib.args()
n = int(a["n"])
sample = [addr + 1 for addr, _ in benchlib.symbol_sample(benchlib.text_symbols(), n)]
# The first lookup loads kallsyms, in both front ends: not timed.
if BPF.ksym(sample[0]) == b"[unknown]":
    raise SystemExit("ksym(%#x) is unknown" % sample[0])
unknown = 0
start = time.perf_counter()
for addr in sample:
    if BPF.ksym(addr) == b"[unknown]":
        unknown += 1
elapsed = time.perf_counter() - start
if unknown:
    raise SystemExit("%d of %d addresses unknown" % (unknown, n))
benchlib.emit(n / elapsed)
