// Exercises: bpf_log2 on 32-bit values into a BPF_HISTOGRAM with u32 slots
// and increment by an amount (the bytes, not the calls).
// Workload: 25 read() calls from fd 98.
// @workload read=25
// @log2hist bytes_hist
BPF_HISTOGRAM(bytes_hist, u32);

TRACEPOINT_PROBE(syscalls, sys_enter_read) {
    if ((bpf_get_current_pid_tgid() >> 32) != TEST_PID || args->fd != 98)
        return 0;
    u32 n = args->count;
    bytes_hist.increment(bpf_log2(n), n);
    return 0;
}
