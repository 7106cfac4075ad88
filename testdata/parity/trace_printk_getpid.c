// Exercises: bpf_trace_printk read back with trace_fields: task, pid, cpu,
// flags, timestamp and message of each line the runner caused.
// Workload: 5 getpid() calls.
// @workload getpid=5
// @trace 5 parity-getpid
BPF_ARRAY(seq, u64, 1);

TRACEPOINT_PROBE(syscalls, sys_enter_getpid) {
    if ((bpf_get_current_pid_tgid() >> 32) != TEST_PID)
        return 0;
    int k = 0;
    u64 *n = seq.lookup(&k);
    if (!n)
        return 0;
    u64 i = *n;
    *n = i + 1;
    bpf_trace_printk("parity-getpid seq=%llu\n", i);
    return 0;
}
