// Exercises: BPF_PERCPU_HASH; which CPU counted is up to the scheduler, so
// the per-CPU values are compared by their sum.
// Workload: 40 getpid() calls.
// @workload getpid=40
BPF_PERCPU_HASH(pcounts, u32, u64);

TRACEPOINT_PROBE(syscalls, sys_enter_getpid) {
    u32 tgid = bpf_get_current_pid_tgid() >> 32;
    if (tgid != TEST_PID)
        return 0;
    /* lookup, then update: with libbcc 0.26, increment() on this map type
     * stores nothing (seen with BCC Python and gobcc alike) */
    u64 *v = pcounts.lookup(&tgid);
    if (v) {
        *v += 1;
    } else {
        u64 one = 1;
        pcounts.update(&tgid, &one);
    }
    return 0;
}
