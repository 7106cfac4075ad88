// Exercises: a linear histogram (BPF_HISTOGRAM with explicit slots of 500
// bytes), printed with print_linear_hist.
// Workload: 40 write() calls to fd 97.
// @workload write=40
// @linearhist lin
BPF_HISTOGRAM(lin, int, 16);

TRACEPOINT_PROBE(syscalls, sys_enter_write) {
    if ((bpf_get_current_pid_tgid() >> 32) != TEST_PID || args->fd != 97)
        return 0;
    int slot = args->count / 500;
    if (slot > 15)
        slot = 15;
    lin.increment(slot);
    return 0;
}
