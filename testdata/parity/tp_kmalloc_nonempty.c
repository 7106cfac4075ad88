// Exercises: kmem:kmalloc (the seed example's tracepoint) filtered by process;
// how many allocations the kernel makes is not deterministic, so only the
// table's types and that both front ends saw allocations are compared.
// Workload: 20 openat() calls, which allocate in the kernel.
// @workload open=20
// @compare sizes nonempty
BPF_HASH(sizes, u64, u64);

TRACEPOINT_PROBE(kmem, kmalloc) {
    if ((bpf_get_current_pid_tgid() >> 32) != TEST_PID)
        return 0;
    u64 req = args->bytes_req;
    sizes.increment(req);
    return 0;
}
