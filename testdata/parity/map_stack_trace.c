// Exercises: BPF_STACK_TRACE with get_stackid() in a tracepoint: stack ids
// differ between runs, so counts are compared as a multiset of values and
// stacks as their ksym names (BCC's stackcount).
// Workload: 20 getpid() calls.
// @workload getpid=20
// @compare counts values
BPF_STACK_TRACE(stacks, 64);
BPF_HASH(counts, int, u64);

TRACEPOINT_PROBE(syscalls, sys_enter_getpid) {
    if ((bpf_get_current_pid_tgid() >> 32) != TEST_PID)
        return 0;
    int id = stacks.get_stackid(args, 0);
    if (id < 0)
        return 0;
    counts.increment(id);
    return 0;
}
