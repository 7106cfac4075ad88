// Exercises: RAW_TRACEPOINT_PROBE(task_newtask): args[1] is clone_flags; new
// processes (not threads) of the runner are counted.
// Workload: 4 runs of /bin/true.
// @workload spawn=4
BPF_HASH(newtasks, u32, u64);

RAW_TRACEPOINT_PROBE(task_newtask) {
    u32 tgid = bpf_get_current_pid_tgid() >> 32;
    if (tgid != TEST_PID || (ctx->args[1] & 0x00010000))
        return 0;
    newtasks.increment(tgid);
    return 0;
}
