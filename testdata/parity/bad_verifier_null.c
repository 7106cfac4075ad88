// Exercises: a verifier rejection: a map value used without the NULL check.
// Both compile, both fail loading the function (EACCES with the verifier's
// reason); gobcc's VerifierError carries the log.
// Workload: none.
// @expect load
BPF_HASH(counts, u32, u64);

TRACEPOINT_PROBE(syscalls, sys_enter_getpid) {
    u32 key = 0;
    u64 *v = counts.lookup(&key);
    *v += 1;
    return 0;
}
