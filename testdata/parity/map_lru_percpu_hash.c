// Exercises: BPF_TABLE("lru_percpu_hash", ...); per-CPU values compared by sum.
// Workload: 16 lseek(98, i*4096, SEEK_SET) calls.
// @workload lseek=16
BPF_TABLE("lru_percpu_hash", s64, u64, lrup, 128);

TRACEPOINT_PROBE(syscalls, sys_enter_lseek) {
    if ((bpf_get_current_pid_tgid() >> 32) != TEST_PID || args->fd != 98)
        return 0;
    s64 off = args->offset;
    /* lookup, then update: with libbcc 0.26, increment() on this map type
     * stores nothing (seen with BCC Python and gobcc alike) */
    u64 *v = lrup.lookup(&off);
    if (v) {
        *v += 1;
    } else {
        u64 one = 1;
        lrup.update(&off, &one);
    }
    return 0;
}
