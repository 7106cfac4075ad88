// Exercises: enter/exit pairing for openat with a per-thread start timestamp
// and a u64 counter of successful opens (return value >= 0).
// Workload: 20 openat("/dev/null", O_RDONLY|O_CLOEXEC|O_NOCTTY|O_NONBLOCK) calls.
// @workload open=20
// @compare start count
BPF_HASH(start, u32, u64);
BPF_ARRAY(result, u64, 2);

TRACEPOINT_PROBE(syscalls, sys_enter_openat) {
    u64 id = bpf_get_current_pid_tgid();
    if ((id >> 32) != TEST_PID || args->flags != 0x80900)
        return 0;
    u32 tid = id;
    u64 ts = bpf_ktime_get_ns();
    start.update(&tid, &ts);
    return 0;
}

TRACEPOINT_PROBE(syscalls, sys_exit_openat) {
    u32 tid = bpf_get_current_pid_tgid();
    u64 *ts = start.lookup(&tid);
    if (!ts)
        return 0;
    start.delete(&tid);
    int k = args->ret >= 0 ? 0 : 1;
    result.increment(k);
    return 0;
}
