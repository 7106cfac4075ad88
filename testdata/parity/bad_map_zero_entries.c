// Exercises: a table the kernel refuses to create (max_entries 0): libbcc
// fails while creating maps, before any function is loaded.
// Workload: none.
// @expect compile
BPF_ARRAY(empty, u64, 0);

TRACEPOINT_PROBE(syscalls, sys_enter_getpid) {
    empty.increment(0);
    return 0;
}
