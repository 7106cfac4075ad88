// Exercises: use of an undeclared identifier: a compile error at the same
// line and column in both front ends.
// Workload: none.
// @expect compile
BPF_ARRAY(hits, u64, 1);

TRACEPOINT_PROBE(syscalls, sys_enter_getpid) {
    hits.increment(no_such_variable);
    return 0;
}
