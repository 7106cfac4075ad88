// Test program: getppid() calls of one process (TARGET, a -D flag), their
// latency as a log2 histogram of nanoseconds and one ring buffer event per
// call.
struct event_t {
    u32 pid;
    u32 nr;
    char comm[16];
};
BPF_HASH(start, u32, u64, 1024);
BPF_HISTOGRAM(latency, int, 40);
BPF_RINGBUF_OUTPUT(events, 64); // 256 KiB: room for every call, a full ring buffer drops silently

TRACEPOINT_PROBE(raw_syscalls, sys_enter)
{
    u64 id = bpf_get_current_pid_tgid();
    if (args->id != GETPPID_NR || (id >> 32) != TARGET)
        return 0;
    u32 tid = id;
    u64 ts = bpf_ktime_get_ns();
    start.update(&tid, &ts);
    return 0;
}

TRACEPOINT_PROBE(raw_syscalls, sys_exit)
{
    u64 id = bpf_get_current_pid_tgid();
    if (args->id != GETPPID_NR || (id >> 32) != TARGET)
        return 0;
    u32 tid = id;
    u64 *tsp = start.lookup(&tid);
    if (tsp == 0)
        return 0;
    latency.increment(bpf_log2l(bpf_ktime_get_ns() - *tsp));
    start.delete(&tid);
    struct event_t ev = {};
    ev.pid = id >> 32;
    ev.nr = args->id;
    bpf_get_current_comm(&ev.comm, sizeof(ev.comm));
    events.ringbuf_output(&ev, sizeof(ev), 0);
    return 0;
}
