// Exercises: BPF_TABLE("lru_hash", ...) keyed by lseek offset, with more
// room than entries so that nothing is evicted.
// Workload: 16 lseek(98, i*4096, SEEK_SET) calls.
// @workload lseek=16
BPF_TABLE("lru_hash", s64, u64, lru, 128);

TRACEPOINT_PROBE(syscalls, sys_enter_lseek) {
    if ((bpf_get_current_pid_tgid() >> 32) != TEST_PID || args->fd != 98)
        return 0;
    s64 off = args->offset;
    /* lookup, then update: libbcc's increment() inserts only into plain
     * hash tables; on this map type it adds to existing entries only
     * (map_increment_quirk.c shows it in both front ends) */
    u64 *v = lru.lookup(&off);
    if (v) {
        *v += 1;
    } else {
        u64 one = 1;
        lru.update(&off, &one);
    }
    return 0;
}
