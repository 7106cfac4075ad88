// Exercises: an error raised by BCC's own rewriter rather than by clang's
// parser: a method that BPF_HASH tables do not have.
// Workload: none.
// @expect compile
BPF_HASH(counts, u32, u64);

TRACEPOINT_PROBE(syscalls, sys_enter_getpid) {
    u32 key = 0;
    counts.frobnicate(&key);
    return 0;
}
