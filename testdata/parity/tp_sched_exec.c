// Exercises: sched:sched_process_exec with a __data_loc string read through
// TP_DATA_LOC_READ_STR; the runner's children are recognised through a hash
// filled from task:task_newtask (the installed kernel headers are not the
// running kernel's, so task_struct cannot be walked).
// Workload: 3 runs of /bin/true as children of the runner.
// @workload spawn=3
// @compare children count
struct exec_key_t {
    char filename[32];
};
BPF_HASH(children, u32, u32);
BPF_HASH(execs, struct exec_key_t, u64);

TRACEPOINT_PROBE(task, task_newtask) {
    if ((bpf_get_current_pid_tgid() >> 32) != TEST_PID || (args->clone_flags & 0x00010000))
        return 0;
    u32 child = args->pid, one = 1;
    children.update(&child, &one);
    return 0;
}

TRACEPOINT_PROBE(sched, sched_process_exec) {
    u32 pid = args->pid;
    if (!children.lookup(&pid))
        return 0;
    struct exec_key_t key = {};
    TP_DATA_LOC_READ_STR(&key.filename, filename, sizeof(key.filename));
    execs.increment(key);
    return 0;
}
