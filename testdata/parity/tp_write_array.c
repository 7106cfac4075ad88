// Exercises: syscalls:sys_enter_write arguments (fd, count) summed into a
// BPF_ARRAY: slot 0 counts calls, slot 1 sums bytes, slot 2 keeps the largest.
// Workload: 40 write() calls of sizes (i*131)%4000+1 to fd 97 (/dev/null).
// @workload write=40
BPF_ARRAY(stats, u64, 4);

TRACEPOINT_PROBE(syscalls, sys_enter_write) {
    if ((bpf_get_current_pid_tgid() >> 32) != TEST_PID || args->fd != 97)
        return 0;
    int k0 = 0, k1 = 1, k2 = 2;
    u64 *calls = stats.lookup(&k0);
    if (calls)
        __sync_fetch_and_add(calls, 1);
    u64 *bytes = stats.lookup(&k1);
    if (bytes)
        __sync_fetch_and_add(bytes, args->count);
    u64 *max = stats.lookup(&k2);
    if (max && args->count > *max)
        *max = args->count;
    return 0;
}
