"""clear() on a hash of n u64 -> u64 entries filled from user space."""
import time

from bcc import BPF

import benchlib

a = benchlib.args()
n = int(a["n"])
b = BPF(text=benchlib.HASH_PROGRAM % n)
t = b["big"]
benchlib.fill_hash(t, n)
start = time.perf_counter()
t.clear()
elapsed = time.perf_counter() - start
if len(t) != 0:
    raise SystemExit("%d entries left after clear()" % len(t))
benchlib.emit(elapsed)
