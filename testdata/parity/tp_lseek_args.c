// Exercises: 64-bit signed arguments (lseek's offset) as hash keys, with a
// struct leaf recording whence and a count.
// Workload: 16 lseek(98, i*4096, SEEK_SET) calls.
// @workload lseek=16
struct seek_t {
    u32 whence;
    u32 count;
};
BPF_HASH(seeks, s64, struct seek_t);

TRACEPOINT_PROBE(syscalls, sys_enter_lseek) {
    if ((bpf_get_current_pid_tgid() >> 32) != TEST_PID || args->fd != 98)
        return 0;
    s64 off = args->offset;
    struct seek_t zero = {};
    struct seek_t *v = seeks.lookup_or_try_init(&off, &zero);
    if (v) {
        v->whence = args->whence;
        v->count++;
    }
    return 0;
}
