#!/usr/bin/python3
"""BCC Python's side of the event-delivery benchmarks: the same program,
producer, trials and climb as bench/internal/benchcmp/eventbench, received with
BCC's callback loop (open_perf_buffer + perf_buffer_poll, open_ring_buffer +
ring_buffer_poll). `make bench` imports it (scripts/bench/events.py);
scripts/bench_events.sh runs it as a command, which prints one JSON line per
trial in the format of eventbench.Result.

usage: bench_events_bcc.py PRODUCER perf|ring DECODE(0|1) SIZE RATES DUR_S PRODUCER_CPU CONSUMER_CPU
PRODUCER is a binary linking eventbench (it runs the producer when
GOBCC_BENCH_EVENTS_PRODUCER is set). SIZE is pages per CPU for perf, bytes
for ring.
"""
import json
import os
import resource
import subprocess
import sys

from bcc import BPF

# As eventbench.ProducerEnv.
PRODUCER_ENV = "GOBCC_BENCH_EVENTS_PRODUCER"

# The same program as eventbench.Program (Go) loads.
PROG = open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..",
                         "bench", "internal", "benchcmp", "eventbench", "events.bcc")).read()


def cpu_time():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


class Consumer:
    """As eventbench.Consumer: the loaded program and an open buffer.
    size is pages per CPU for perf, bytes for ring."""

    def __init__(self, producer, transport, decode, size, producer_cpu, consumer_cpu):
        self.producer = producer
        self.transport = transport
        self.decode = decode
        self.producer_cpu = producer_cpu
        if consumer_cpu >= 0:
            os.sched_setaffinity(0, {consumer_cpu})
        cflags = []
        if transport == "ring":
            cflags.append("-DRING_BYTES=%d" % size)
            self.nbytes = size
        elif transport == "perf":
            self.nbytes = size * os.sysconf("SC_PAGE_SIZE")
        else:
            raise SystemExit("transport %r: want perf or ring" % transport)
        self.b = BPF(text=PROG, cflags=cflags)
        events = self.b["events"]
        self.state = {"received": 0, "lost": 0, "sum": 0}
        state = self.state

        def on_perf(cpu, data, size):
            state["received"] += 1
            if decode:
                state["sum"] += events.event(data).ts

        def on_ring(ctx, data, size):
            state["received"] += 1
            if decode:
                state["sum"] += events.event(data).ts

        def on_lost(n):
            state["lost"] += n

        if transport == "ring":
            events.open_ring_buffer(on_ring)
            self.poll = self.b.ring_buffer_poll
        else:
            events.open_perf_buffer(on_perf, page_cnt=size, lost_cb=on_lost)
            self.poll = self.b.perf_buffer_poll
        self.stats = self.b["stats"]
        self.target = self.b["target"]

    def trial(self, rate, dur):
        """As eventbench.Consumer.Trial: returns the trial's result dict."""
        stats, target, state = self.stats, self.target, self.state
        stats.clear()
        state["received"] = 0
        state["lost"] = 0
        env = dict(os.environ)
        env[PRODUCER_ENV] = "%d,%gs,%d" % (rate, dur, self.producer_cpu)
        argv = [self.producer]
        if self.producer_cpu >= 0:
            # As eventbench: every thread of the producer on its CPU.
            argv = ["taskset", "-c", str(self.producer_cpu)] + argv
        child = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env)
        target[target.Key(0)] = target.Leaf(child.pid)
        c0 = cpu_time()
        child.stdin.write(b"x")
        child.stdin.flush()
        while child.poll() is None:
            self.poll(timeout=100)
        if child.returncode != 0:
            raise SystemExit("producer exited with %d" % child.returncode)
        # Drain what is left: poll until a poll finds nothing.
        while True:
            before = state["received"]
            self.poll(timeout=50)
            if state["received"] == before:
                break
        if self.transport == "perf":
            self.b.perf_buffer_consume()
        cpu_s = cpu_time() - c0
        calls = int(child.stdout.read().strip() or 0)
        ok = sum(stats[stats.Key(0)])
        failed = sum(stats[stats.Key(1)])
        res = {
            "impl": "bcc-python", "transport": self.transport, "buffer_bytes": self.nbytes,
            "decode": self.decode, "target_rate": rate, "achieved_rate": calls / dur,
            "submitted": ok + failed, "failed": failed, "received": state["received"],
            "lost_reported": state["lost"], "consumer_cpu_s": cpu_s,
            "events_per_cpu_s": state["received"] / cpu_s if cpu_s else 0,
        }
        res["zero_loss"] = failed == 0 and res["received"] == res["submitted"] and state["lost"] == 0
        return res


def climb(trial, start, max_trials, resolution=0.1):
    """As eventbench.Climb: doubles the target rate from start while trials
    lose nothing, then bisects between the highest lossless and the lowest
    lossy target; stops when the gap is within resolution, after max_trials,
    or when the producer falls short of the target. Returns the best
    lossless trial's achieved rate (0 if none) and every trial."""
    best, trials = 0.0, []
    lo, hi = 0, 0
    rate = start
    while len(trials) < max_trials:
        res = trial(rate)
        trials.append(res)
        if res["zero_loss"]:
            best = max(best, res["achieved_rate"])
            lo = rate
            if res["achieved_rate"] < 0.9 * rate:
                break  # the producer cannot go faster
        else:
            hi = rate
        if hi == 0:
            rate *= 2
        else:
            if hi - lo <= resolution * hi:
                break
            rate = (lo + hi) // 2
    return best, trials


def main():
    producer, transport, decode, size, rates, dur, pcpu, ccpu = sys.argv[1:9]
    c = Consumer(producer, transport, decode == "1", int(size), int(pcpu), int(ccpu))
    dur = float(dur)
    lossy = 0
    for r in rates.split(","):
        rate = int(r)
        res = c.trial(rate, dur)
        print(json.dumps(res), flush=True)
        if not res["zero_loss"]:
            lossy += 1
            if lossy == 2:
                break
        if rate > 0 and res["achieved_rate"] < 0.9 * rate:
            break


if __name__ == "__main__":
    main()
