// Exercises: RAW_TRACEPOINT_PROBE(sched_process_exec), whose arguments are
// (task, old_pid, linux_binprm): old_pid in ctx->args[1] is matched against
// the children a task:task_newtask tracepoint of the same program recorded.
// Workload: 3 runs of /bin/true as children of the runner.
// @workload spawn=3
// @compare children count
BPF_HASH(children, u32, u32);
BPF_ARRAY(execs, u64, 1);

TRACEPOINT_PROBE(task, task_newtask) {
    if ((bpf_get_current_pid_tgid() >> 32) != TEST_PID || (args->clone_flags & 0x00010000))
        return 0;
    u32 child = args->pid, one = 1;
    children.update(&child, &one);
    return 0;
}

RAW_TRACEPOINT_PROBE(sched_process_exec) {
    u32 old_pid = ctx->args[1];
    if (!children.lookup(&old_pid))
        return 0;
    execs.increment(0);
    return 0;
}
