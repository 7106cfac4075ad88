"""Highest zero-loss delivery rate of a perf buffer (transport=perf, size in
pages per CPU) or a ring buffer (transport=ring, size in bytes): the climb of
scripts/bench_events_bcc.py, as measureEvents in measure_events.go. The
producer is the gobcc probe binary (GOBCC_BENCH_PROBE, set by the runner),
the same program that feeds the gobcc side."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import bench_events_bcc  # noqa: E402
import benchlib  # noqa: E402

a = benchlib.args()
producer = os.environ.get("GOBCC_BENCH_PROBE")
if not producer:
    raise SystemExit("GOBCC_BENCH_PROBE is not set: run me through gobcc-bench")
c = bench_events_bcc.Consumer(producer, a["transport"], False, int(a["size"]), 1, 0)
dur = int(a["dur_ms"]) / 1000.0
best, trials = bench_events_bcc.climb(lambda rate: c.trial(rate, dur), int(a["start"]), int(a["trials"]))
for t in trials:
    print("target %d/s: achieved %.0f/s, submitted %d, received %d, zero loss %s" % (
        t["target_rate"], t["achieved_rate"], t["submitted"], t["received"], t["zero_loss"]), file=sys.stderr)
if best == 0:
    raise SystemExit("no trial was free of loss: %d trials from %s/s" % (len(trials), a["start"]))
benchlib.emit(best)
