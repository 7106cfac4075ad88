"""items() (mode=items) or items_lookup_batch() (mode=batch) on a hash of n
u64 -> u64 entries filled from user space."""
import time

from bcc import BPF

import benchlib

a = benchlib.args()
n = int(a["n"])
b = BPF(text=benchlib.HASH_PROGRAM % n)
t = b["big"]
benchlib.fill_hash(t, n)
start = time.perf_counter()
if a["mode"] == "items":
    items = t.items()
else:
    items = list(t.items_lookup_batch())
elapsed = time.perf_counter() - start
if len(items) != n:
    raise SystemExit("read %d entries, want %d" % (len(items), n))
benchlib.emit(elapsed)
