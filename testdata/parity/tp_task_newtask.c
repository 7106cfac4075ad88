// Exercises: task:task_newtask, counting new processes (not threads) the
// runner creates: clone_flags without CLONE_THREAD.
// Workload: 4 runs of /bin/true as children of the runner.
// @workload spawn=4
BPF_ARRAY(forks, u64, 1);

TRACEPOINT_PROBE(task, task_newtask) {
    if ((bpf_get_current_pid_tgid() >> 32) != TEST_PID)
        return 0;
    if (args->clone_flags & 0x00010000) /* CLONE_THREAD */
        return 0;
    forks.increment(0);
    return 0;
}
