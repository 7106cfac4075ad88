// Exercises: two tracepoints of one program sharing a table, the key saying
// which fired (BCC's syscount by syscall).
// Workload: 10 getpid() and 7 uname() calls.
// @workload getpid=10 uname=7
BPF_HASH(by_call, u32, u64);

TRACEPOINT_PROBE(syscalls, sys_enter_getpid) {
    if ((bpf_get_current_pid_tgid() >> 32) == TEST_PID)
        by_call.increment(39);
    return 0;
}

TRACEPOINT_PROBE(syscalls, sys_enter_newuname) {
    if ((bpf_get_current_pid_tgid() >> 32) == TEST_PID)
        by_call.increment(63);
    return 0;
}
