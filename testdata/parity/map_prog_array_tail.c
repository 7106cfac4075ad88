// Exercises: BPF_PROG_ARRAY and tail calls: the entry program jumps to a
// TRACEPOINT function stored at index 1 (load_func, then table[1] = fd);
// the entry counts only calls where the jump failed.
// Workload: 12 getpid() calls.
// @workload getpid=12
// @progarray jumps 1 tail_target TRACEPOINT
// @compare jumps keys
BPF_PROG_ARRAY(jumps, 4);
BPF_ARRAY(hits, u64, 2);

int tail_target(void *ctx) {
    hits.increment(1);
    return 0;
}

TRACEPOINT_PROBE(syscalls, sys_enter_getpid) {
    if ((bpf_get_current_pid_tgid() >> 32) != TEST_PID)
        return 0;
    jumps.call(args, 1);
    hits.increment(0); /* only reached if the tail call failed */
    return 0;
}
