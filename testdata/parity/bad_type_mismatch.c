// Exercises: a type error (a struct where an integer is needed) and a
// second error further down: both must be reported with their locations.
// Workload: none.
// @expect compile
struct pair_t {
    u32 a, b;
};
BPF_HASH(h, u32, u64);

TRACEPOINT_PROBE(syscalls, sys_enter_getpid) {
    struct pair_t p = {};
    u64 x = p;
    h.update(&x, &x, &x);
    return 0;
}
