// Exercises: sched:sched_process_exit for children of the runner (found
// through a hash filled from task:task_newtask), keyed by the child's comm,
// a char[16] read with bpf_get_current_comm.
// Workload: 3 runs of /bin/true as children of the runner.
// @workload spawn=3
// @compare children count
struct comm_t {
    char comm[16];
};
BPF_HASH(children, u32, u32);
BPF_HASH(exits, struct comm_t, u64);

TRACEPOINT_PROBE(task, task_newtask) {
    if ((bpf_get_current_pid_tgid() >> 32) != TEST_PID || (args->clone_flags & 0x00010000))
        return 0;
    u32 child = args->pid, one = 1;
    children.update(&child, &one);
    return 0;
}

TRACEPOINT_PROBE(sched, sched_process_exit) {
    u32 tgid = bpf_get_current_pid_tgid() >> 32;
    if (!children.lookup(&tgid))
        return 0;
    struct comm_t key = {};
    bpf_get_current_comm(&key.comm, sizeof(key.comm));
    exits.increment(key);
    return 0;
}
