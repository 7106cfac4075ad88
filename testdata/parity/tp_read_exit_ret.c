// Exercises: a sys_enter_read/sys_exit_read pair joined through a hash keyed
// by thread id (BCC's entry/return pattern), counting return values.
// Workload: 30 read() calls of sizes (i*131)%4000+1 from fd 98 (/dev/zero).
// @workload read=30
// @compare inflight count
BPF_HASH(inflight, u32, u32);
BPF_HASH(rets, s64, u64);

TRACEPOINT_PROBE(syscalls, sys_enter_read) {
    u64 id = bpf_get_current_pid_tgid();
    if ((id >> 32) != TEST_PID || args->fd != 98)
        return 0;
    u32 tid = id, one = 1;
    inflight.update(&tid, &one);
    return 0;
}

TRACEPOINT_PROBE(syscalls, sys_exit_read) {
    u32 tid = bpf_get_current_pid_tgid();
    if (!inflight.lookup(&tid))
        return 0;
    inflight.delete(&tid);
    s64 ret = args->ret;
    rets.increment(ret);
    return 0;
}
