// Exercises: BPF_ARRAY_OF_MAPS with an array as inner map; slot 2 is filled
// from user space, the program writes through it.
// Workload: 6 uname() calls.
// @workload uname=6
// @mapinmap slots 2 inner_arr
// @compare slots keys
BPF_ARRAY(inner_arr, u64, 4);
BPF_ARRAY_OF_MAPS(slots, "inner_arr", 4);

TRACEPOINT_PROBE(syscalls, sys_enter_newuname) {
    if ((bpf_get_current_pid_tgid() >> 32) != TEST_PID)
        return 0;
    int k = 2;
    void *m = slots.lookup(&k);
    if (!m)
        return 0;
    int ik = 3;
    u64 *v = bpf_map_lookup_elem(m, &ik);
    if (v)
        __sync_fetch_and_add(v, 1);
    return 0;
}
