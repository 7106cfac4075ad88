// Exercises: RAW_TRACEPOINT_PROBE(sys_enter) reading the syscall number from
// ctx->args[1], auto-attached as a raw tracepoint.
// Workload: 30 getpid() calls.
// @workload getpid=30
BPF_HASH(calls, u64, u64);

RAW_TRACEPOINT_PROBE(sys_enter) {
    if ((bpf_get_current_pid_tgid() >> 32) != TEST_PID)
        return 0;
    u64 nr = ctx->args[1];
    if (nr != 39) /* __NR_getpid on x86_64 */
        return 0;
    calls.increment(nr);
    return 0;
}
