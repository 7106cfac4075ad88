#!/usr/bin/python3
"""BCC Python's side of scripts/bench_events.sh: the same program, producer
and trials as internal/benchcmp/events, received with BCC's callback loop
(open_perf_buffer + perf_buffer_poll, open_ring_buffer + ring_buffer_poll).
Prints one JSON line per trial, in the same format.

usage: bench_events_bcc.py LOADBIN perf|ring DECODE(0|1) SIZE RATES DUR_S PRODUCER_CPU CONSUMER_CPU
SIZE is pages per CPU for perf, bytes for ring.
"""
import json
import os
import resource
import subprocess
import sys
import time

from bcc import BPF

PROG = r"""
struct data_t { u32 pid; u32 cpu; u64 seq; u64 ts; char comm[8]; };
#ifdef RING_BYTES
BPF_RINGBUF_OUTPUT(events, RING_BYTES / 4096);
#else
BPF_PERF_OUTPUT(events);
#endif
BPF_PERCPU_ARRAY(stats, u64, 2);
BPF_ARRAY(target, u32, 1);
TRACEPOINT_PROBE(syscalls, sys_enter_getpid) {
    int zero = 0;
    u32 *tgid = target.lookup(&zero);
    if (!tgid || bpf_get_current_pid_tgid() >> 32 != *tgid)
        return 0;
    struct data_t d = {};
    d.pid = *tgid;
    d.cpu = bpf_get_smp_processor_id();
    d.ts = bpf_ktime_get_ns();
    bpf_get_current_comm(&d.comm, sizeof(d.comm));
#ifdef RING_BYTES
    int failed = events.ringbuf_output(&d, sizeof(d), 0) != 0;
#else
    int failed = events.perf_submit(args, &d, sizeof(d)) != 0;
#endif
    u64 *c = stats.lookup(&failed);
    if (c)
        (*c)++;
    return 0;
}
"""


def cpu_time():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def main():
    loadbin, transport, decode, size, rates, dur, pcpu, ccpu = sys.argv[1:9]
    decode = decode == "1"
    size = int(size)
    dur = float(dur)
    if int(ccpu) >= 0:
        os.sched_setaffinity(0, {int(ccpu)})
    cflags = []
    if transport == "ring":
        cflags.append("-DRING_BYTES=%d" % size)
        nbytes = size
    else:
        nbytes = size * os.sysconf("SC_PAGE_SIZE")
    b = BPF(text=PROG, cflags=cflags)
    events = b["events"]
    state = {"received": 0, "lost": 0, "sum": 0}

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
        poll = b.ring_buffer_poll
    else:
        events.open_perf_buffer(on_perf, page_cnt=size, lost_cb=on_lost)
        poll = b.perf_buffer_poll
    stats = b["stats"]
    target = b["target"]
    lossy = 0
    for r in rates.split(","):
        rate = int(r)
        stats.clear()
        state["received"] = 0
        state["lost"] = 0
        child = subprocess.Popen([loadbin, "-mode", "load", "-rate", r, "-dur", "%gs" % dur,
                                  "-producer-cpu", pcpu], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        target[target.Key(0)] = target.Leaf(child.pid)
        c0 = cpu_time()
        child.stdin.write(b"x")
        child.stdin.flush()
        while child.poll() is None:
            poll(timeout=100)
        # Drain what is left: poll until a poll finds nothing.
        while True:
            before = state["received"]
            poll(timeout=50)
            if state["received"] == before:
                break
        if transport == "perf":
            b.perf_buffer_consume()
        cpu_s = cpu_time() - c0
        calls = int(child.stdout.read().strip() or 0)
        ok = sum(stats[stats.Key(0)])
        failed = sum(stats[stats.Key(1)])
        res = {
            "impl": "bcc-python", "transport": transport, "buffer_bytes": nbytes, "decode": decode,
            "target_rate": rate, "achieved_rate": calls / dur, "submitted": ok + failed, "failed": failed,
            "received": state["received"], "lost_reported": state["lost"], "consumer_cpu_s": cpu_s,
            "events_per_cpu_s": state["received"] / cpu_s if cpu_s else 0,
        }
        res["zero_loss"] = failed == 0 and res["received"] == res["submitted"] and state["lost"] == 0
        print(json.dumps(res), flush=True)
        if not res["zero_loss"]:
            lossy += 1
            if lossy == 2:
                break
        if rate > 0 and res["achieved_rate"] < 0.9 * rate:
            break


if __name__ == "__main__":
    main()
