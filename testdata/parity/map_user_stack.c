// Exercises: user stacks (BPF_F_USER_STACK) in a BPF_STACK_TRACE: the
// addresses belong to each runner's own binary, so only that both
// recorded stacks, and the declarations, are compared.
// Workload: 10 getpid() calls.
// @workload getpid=10
// @compare ustacks nonempty
// @compare ucounts nonempty
BPF_STACK_TRACE(ustacks, 64);
BPF_HASH(ucounts, int, u64);

TRACEPOINT_PROBE(syscalls, sys_enter_getpid) {
    if ((bpf_get_current_pid_tgid() >> 32) != TEST_PID)
        return 0;
    int id = ustacks.get_stackid(args, BPF_F_USER_STACK);
    if (id < 0)
        return 0;
    ucounts.increment(id);
    return 0;
}
