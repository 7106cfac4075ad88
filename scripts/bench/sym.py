"""BPF.sym on 300 addresses spread over the libc text of a `sleep` process:
warm lookups per second (what=rate: python_n lookups after a first pass) or
the VmRSS the first pass adds, in MiB (what=memory), as measureSym in
measure_syms.go."""
import time

from bcc import BPF

import benchlib

a = benchlib.args()
target, start, end = benchlib.start_sym_target()
try:
    pid = target.pid
    addrs = benchlib.sym_addresses(start, end, 300)
    before = benchlib.status_kb("VmRSS")
    unknown = sum(1 for addr in addrs if BPF.sym(addr, pid) == b"[unknown]")
    after = benchlib.status_kb("VmRSS")
    if unknown > len(addrs) // 10:
        raise SystemExit("%d of %d libc addresses unknown" % (unknown, len(addrs)))
    if a["what"] == "memory":
        benchlib.emit((after - before) / 1024.0)
    else:
        n = int(a["python_n"])
        t0 = time.perf_counter()
        for i in range(n):
            BPF.sym(addrs[i % len(addrs)], pid)
        benchlib.emit(n / (time.perf_counter() - t0))
finally:
    target.kill()
    target.wait()
