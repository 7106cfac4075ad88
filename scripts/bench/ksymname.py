"""BPF.ksymname lookups per second on text-symbol names. BCC takes ~0.1 s
per name, so this does python_n of them (the rate does not depend on it)."""
import time

from bcc import BPF

import benchlib

a = benchlib.args()
n = int(a["python_n"])
sample = [name for _, name in benchlib.symbol_sample(benchlib.text_symbols(), n)]
if BPF.ksymname(sample[0]) < 0:
    raise SystemExit("ksymname(%s) failed" % sample[0])
start = time.perf_counter()
for name in sample:
    if BPF.ksymname(name) < 0:
        raise SystemExit("ksymname(%s) failed" % name)
elapsed = time.perf_counter() - start
benchlib.emit(n / elapsed)
