// Exercises: BPF_HISTOGRAM with bpf_log2l (BCC's biolatency shape), printed
// with print_log2_hist.
// Workload: 40 write() calls of sizes (i*131)%4000+1 to fd 97.
// @workload write=40
// @log2hist dist
BPF_HISTOGRAM(dist);

TRACEPOINT_PROBE(syscalls, sys_enter_write) {
    if ((bpf_get_current_pid_tgid() >> 32) != TEST_PID || args->fd != 97)
        return 0;
    dist.increment(bpf_log2l(args->count));
    return 0;
}
