// Exercises: a two-level histogram (a struct key of section and slot, as
// biolatency -D): print_log2_hist with a section header.
// Workload: 30 write() calls to fd 97 and 30 read() calls from fd 98.
// @workload write=30 read=30
// @log2hist dist fd
typedef struct fd_key {
    u64 fd;
    u64 slot;
} fd_key_t;
BPF_HISTOGRAM(dist, fd_key_t);

static int record(u64 fd, u64 count) {
    fd_key_t key = {.fd = fd, .slot = bpf_log2l(count)};
    dist.increment(key);
    return 0;
}

TRACEPOINT_PROBE(syscalls, sys_enter_write) {
    if ((bpf_get_current_pid_tgid() >> 32) != TEST_PID || args->fd != 97)
        return 0;
    return record(args->fd, args->count);
}

TRACEPOINT_PROBE(syscalls, sys_enter_read) {
    if ((bpf_get_current_pid_tgid() >> 32) != TEST_PID || args->fd != 98)
        return 0;
    return record(args->fd, args->count);
}
