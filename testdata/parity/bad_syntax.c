// Exercises: a syntax error (a missing semicolon): both front ends must
// refuse to compile, and gobcc's error must name the same line and column.
// Workload: none.
// @expect compile
BPF_HASH(counts, u32, u64);

TRACEPOINT_PROBE(syscalls, sys_enter_getpid) {
    u32 key = 0
    counts.increment(key);
    return 0;
}
