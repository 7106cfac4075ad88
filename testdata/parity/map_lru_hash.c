// Exercises: BPF_TABLE("lru_hash", ...) keyed by lseek offset, with more
// room than entries so that nothing is evicted.
// Workload: 16 lseek(98, i*4096, SEEK_SET) calls.
// @workload lseek=16
BPF_TABLE("lru_hash", s64, u64, lru, 128);

TRACEPOINT_PROBE(syscalls, sys_enter_lseek) {
    if ((bpf_get_current_pid_tgid() >> 32) != TEST_PID || args->fd != 98)
        return 0;
    s64 off = args->offset;
    /* lookup, then update: with libbcc 0.26, increment() on this map type
     * stores nothing (seen with BCC Python and gobcc alike) */
    u64 *v = lru.lookup(&off);
    if (v) {
        *v += 1;
    } else {
        u64 one = 1;
        lru.update(&off, &one);
    }
    return 0;
}
