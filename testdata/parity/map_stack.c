// Exercises: BPF_STACK (LIFO): each lseek pushes its offset; values pop
// newest first.
// Workload: 6 lseek(98, i*4096, SEEK_SET) calls.
// @workload lseek=6
BPF_STACK(lifo, u64, 16);

TRACEPOINT_PROBE(syscalls, sys_enter_lseek) {
    if ((bpf_get_current_pid_tgid() >> 32) != TEST_PID || args->fd != 98)
        return 0;
    u64 off = args->offset;
    lifo.push(&off, 0);
    return 0;
}
