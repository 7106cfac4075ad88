// Run queue latency (BCC's runqlat, tracepoint version): the time from a
// task's wake-up (or preemption) to its running, in microseconds, as a
// log2 histogram.
BPF_HASH(start, u32, u64, 10240);
BPF_HISTOGRAM(dist);

static int enqueue(u32 pid)
{
    if (pid == 0)
        return 0;
    u64 ts = bpf_ktime_get_ns();
    start.update(&pid, &ts);
    return 0;
}

TRACEPOINT_PROBE(sched, sched_wakeup) { return enqueue(args->pid); }

TRACEPOINT_PROBE(sched, sched_wakeup_new) { return enqueue(args->pid); }

TRACEPOINT_PROBE(sched, sched_switch)
{
    // A task preempted while runnable (TASK_RUNNING is 0) waits again.
    if (args->prev_state == 0)
        enqueue(args->prev_pid);
    u32 pid = args->next_pid;
    u64 *tsp = start.lookup(&pid);
    if (tsp == 0)
        return 0;
    u64 delta = (bpf_ktime_get_ns() - *tsp) / 1000;
    dist.increment(bpf_log2l(delta));
    start.delete(&pid);
    return 0;
}
