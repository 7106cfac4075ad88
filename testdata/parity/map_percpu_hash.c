// Exercises: BPF_PERCPU_HASH; which CPU counted is up to the scheduler, so
// the per-CPU values are compared by their sum.
// Workload: 40 getpid() calls.
// @workload getpid=40
BPF_PERCPU_HASH(pcounts, u32, u64);

TRACEPOINT_PROBE(syscalls, sys_enter_getpid) {
    u32 tgid = bpf_get_current_pid_tgid() >> 32;
    if (tgid != TEST_PID)
        return 0;
    /* lookup, then update: libbcc's increment() inserts only into plain
     * hash tables; on this map type it adds to existing entries only
     * (map_increment_quirk.c shows it in both front ends) */
    u64 *v = pcounts.lookup(&tgid);
    if (v) {
        *v += 1;
    } else {
        u64 one = 1;
        pcounts.update(&tgid, &one);
    }
    return 0;
}
