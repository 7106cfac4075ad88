"""BPF.trace_fields() lines per second, draining n markers pre-written to a
private tracefs instance, as measureTraceFields in measure_trace.go. BCC
reads only the global trace_pipe; b.tracefile is pointed at the instance's,
opened as trace_open opens the global one, and BCC's own trace_fields()
does the reading and parsing."""
import os
import time

from bcc import BPF

import benchlib

a = benchlib.args()
n = int(a["n"])
root = "/sys/kernel/tracing" if os.path.exists("/sys/kernel/tracing/trace_pipe") else "/sys/kernel/debug/tracing"
inst = os.path.join(root, "instances", "gobcc_bench_%d" % os.getpid())
os.mkdir(inst, 0o700)
try:
    with open(os.path.join(inst, "buffer_size_kb"), "w") as f:
        f.write(str(max(1408, n // 8 + 1024)))
    fd = os.open(os.path.join(inst, "trace_marker"), os.O_WRONLY)
    for i in range(n):
        os.write(fd, b"gobcc-bench-%08d" % i)
    os.close(fd)
    b = BPF(text="BPF_ARRAY(unused, u64, 1);\n")
    b.tracefile = open(os.path.join(inst, "trace_pipe"), "rb")
    start = time.perf_counter()
    for _ in range(n):
        fields = b.trace_fields()
    elapsed = time.perf_counter() - start
    b.tracefile.close()
    b.tracefile = None
    want = b"gobcc-bench-%08d" % (n - 1)
    if fields[5] != want:
        raise SystemExit("last line %r, want message %r" % (fields, want))
    benchlib.emit(n / elapsed)
finally:
    os.rmdir(inst)
