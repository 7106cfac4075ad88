// Exercises: BPF_PERCPU_ARRAY summing write sizes; per-CPU values compared
// by their sum over CPUs.
// Workload: 30 write() calls to fd 97.
// @workload write=30
BPF_PERCPU_ARRAY(pbytes, u64, 2);

TRACEPOINT_PROBE(syscalls, sys_enter_write) {
    if ((bpf_get_current_pid_tgid() >> 32) != TEST_PID || args->fd != 97)
        return 0;
    pbytes.increment(0);
    pbytes.increment(1, args->count);
    return 0;
}
