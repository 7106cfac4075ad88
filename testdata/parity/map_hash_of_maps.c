// Exercises: BPF_HASH_OF_MAPS: the outer map's slot 0 holds an inner hash
// (outer[0] = inner fd) and the program counts through map_lookup of the outer.
// Workload: 9 getpid() calls.
// @workload getpid=9
// @mapinmap outer 0 inner
// @compare outer keys
BPF_TABLE("hash", u32, u64, inner, 8);
BPF_HASH_OF_MAPS(outer, int, "inner", 4);

TRACEPOINT_PROBE(syscalls, sys_enter_getpid) {
    if ((bpf_get_current_pid_tgid() >> 32) != TEST_PID)
        return 0;
    int k = 0;
    void *m = outer.lookup(&k);
    if (!m)
        return 0;
    u32 ik = 7;
    u64 zero = 0;
    u64 *v = bpf_map_lookup_elem(m, &ik);
    if (v) {
        __sync_fetch_and_add(v, 1);
    } else {
        u64 one = 1;
        bpf_map_update_elem(m, &ik, &one, BPF_NOEXIST);
    }
    return 0;
}
