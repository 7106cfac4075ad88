"""BPF(text=...) of src: compile, create tables, load and attach."""
import time

from bcc import BPF

import benchlib

a = benchlib.args()
with open(a["src"]) as f:
    text = f.read()
start = time.perf_counter()
b = BPF(text=text)
elapsed = time.perf_counter() - start
b.cleanup()
benchlib.emit(elapsed)
