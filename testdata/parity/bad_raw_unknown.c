// Exercises: RAW_TRACEPOINT_PROBE on a raw tracepoint that does not exist:
// the load succeeds, bpf_raw_tracepoint_open fails (ENOENT) in both.
// Workload: none.
// @expect attach
RAW_TRACEPOINT_PROBE(no_such_raw_tracepoint) {
    return 0;
}
