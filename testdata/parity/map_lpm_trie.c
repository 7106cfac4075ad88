// Exercises: BPF_LPM_TRIE with a {prefixlen, data} key: each getpid inserts a
// prefix, and a longest-prefix lookup is recorded in an array.
// Workload: 8 getpid() calls.
// @workload getpid=8
struct lpm_key_t {
    u32 prefixlen;
    u32 addr;
};
BPF_LPM_TRIE(routes, struct lpm_key_t, u64, 32);
BPF_ARRAY(state, u64, 2);

TRACEPOINT_PROBE(syscalls, sys_enter_getpid) {
    if ((bpf_get_current_pid_tgid() >> 32) != TEST_PID)
        return 0;
    int zero = 0, one = 1;
    u64 *n = state.lookup(&zero);
    if (!n)
        return 0;
    u64 i = *n;
    *n = i + 1;
    /* 10.0.0.0/8, 10.1.0.0/16, 10.1.2.0/24, 10.1.2.3/32 ... stored big-endian */
    struct lpm_key_t key = {.prefixlen = 8 + (i % 4) * 8, .addr = 0x0302010a};
    u64 val = 100 + i;
    routes.update(&key, &val);
    struct lpm_key_t probe = {.prefixlen = 32, .addr = 0x0302010a};
    u64 *hit = routes.lookup(&probe);
    if (hit)
        state.update(&one, hit);
    return 0;
}
