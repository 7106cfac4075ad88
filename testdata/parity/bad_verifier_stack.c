// Exercises: a verifier rejection for reading uninitialised stack memory
// through a variable offset.
// Workload: none.
// @expect load
TRACEPOINT_PROBE(syscalls, sys_enter_getpid) {
    volatile char buf[64];
    u64 i = bpf_get_prandom_u32();
    return buf[i];
}
