"""Memory of the tracing process: BPF() of the seed program, settle_ms of
tracing, one items(), then VmHWM (which=peak) or VmRSS (which=steady)."""
import time

from bcc import BPF

import benchlib

a = benchlib.args()
with open("testdata/kmalloc_callers.c") as f:
    text = f.read()
b = BPF(text=text)
time.sleep(int(a.get("settle_ms", "1000")) / 1000)
b["callers"].items()
field = {"peak": "VmHWM", "steady": "VmRSS"}[a["which"]]
benchlib.emit(benchlib.status_kb(field) / 1024)
