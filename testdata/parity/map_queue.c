// Exercises: BPF_QUEUE: each lseek pushes its offset; after the workload the
// values are popped in FIFO order (BCC's QueueStack.values()).
// Workload: 6 lseek(98, i*4096, SEEK_SET) calls.
// @workload lseek=6
BPF_QUEUE(offsets, u64, 16);

TRACEPOINT_PROBE(syscalls, sys_enter_lseek) {
    if ((bpf_get_current_pid_tgid() >> 32) != TEST_PID || args->fd != 98)
        return 0;
    u64 off = args->offset;
    offsets.push(&off, 0);
    return 0;
}
