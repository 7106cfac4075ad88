// Exercises: a uprobe on libc's __libc_start_main (attach_uprobe(name=libc
// path, sym=..., fn_name=...)), counted for the runner's children, which a
// task:task_newtask tracepoint of the same program records.
// Workload: 3 runs of /bin/true as children of the runner.
// @workload spawn=3
// @attach uprobe __libc_start_main on_start /lib/x86_64-linux-gnu/libc.so.6
// @compare children count
BPF_HASH(children, u32, u32);
BPF_ARRAY(starts, u64, 1);

TRACEPOINT_PROBE(task, task_newtask) {
    if ((bpf_get_current_pid_tgid() >> 32) != TEST_PID || (args->clone_flags & 0x00010000))
        return 0;
    u32 child = args->pid, one = 1;
    children.update(&child, &one);
    return 0;
}

int on_start(struct pt_regs *ctx) {
    u32 tgid = bpf_get_current_pid_tgid() >> 32;
    if (!children.lookup(&tgid))
        return 0;
    starts.increment(0);
    return 0;
}
