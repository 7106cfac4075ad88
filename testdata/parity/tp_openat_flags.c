// Exercises: a struct leaf with several fields updated in place (flags, mode,
// dfd, count) from syscalls:sys_enter_openat, and a negative int (AT_FDCWD).
// glibc passes mode 0 when O_CREAT is absent; both runners go through it or
// its equivalent, so mode is 0 on both sides.
// Workload: 20 openat("/dev/null", O_RDONLY|O_CLOEXEC|O_NOCTTY|O_NONBLOCK) calls.
// @workload open=20
struct open_info_t {
    s32 dfd;
    u32 flags;
    u32 mode;
    u64 count;
};
BPF_HASH(info, u32, struct open_info_t);

TRACEPOINT_PROBE(syscalls, sys_enter_openat) {
    if ((bpf_get_current_pid_tgid() >> 32) != TEST_PID || args->flags != 0x80900)
        return 0;
    u32 key = 0;
    struct open_info_t zero = {};
    struct open_info_t *v = info.lookup_or_try_init(&key, &zero);
    if (!v)
        return 0;
    v->dfd = args->dfd;
    v->flags = args->flags;
    v->mode = args->mode;
    v->count++;
    return 0;
}
