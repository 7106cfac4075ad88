// Exercises: a syscalls:sys_enter_getpid TRACEPOINT_PROBE counting into a
// BPF_HASH keyed by process id (the shape of BCC's syscount).
// Workload: 50 getpid() calls.
// @workload getpid=50
BPF_HASH(counts, u32, u64);

TRACEPOINT_PROBE(syscalls, sys_enter_getpid) {
    u32 tgid = bpf_get_current_pid_tgid() >> 32;
    if (tgid != TEST_PID)
        return 0;
    counts.increment(tgid);
    return 0;
}
