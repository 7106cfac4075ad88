// Exercises: increment() on BPF_PERCPU_HASH and BPF_TABLE("lru_hash", ...)
// with libbcc 0.26: libbcc rewrites increment() into a lookup that adds to
// an existing entry, and inserts a new one only for plain hash tables, so
// these two stay empty in both front ends while the BPF_HASH counts. A
// quirk of libbcc's rewriter, shared, not a gobcc difference.
// Workload: 10 getpid() calls.
// @workload getpid=10
// @compare pc count
// @compare lru count
BPF_PERCPU_HASH(pc, u32, u64);
BPF_TABLE("lru_hash", u32, u64, lru, 64);
BPF_HASH(plain, u32, u64);

TRACEPOINT_PROBE(syscalls, sys_enter_getpid) {
    if ((bpf_get_current_pid_tgid() >> 32) != TEST_PID)
        return 0;
    u32 k = 1;
    pc.increment(k);
    lru.increment(k);
    plain.increment(k);
    return 0;
}
