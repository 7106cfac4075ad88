// Exercises: a function with no magic prefix, loaded as TRACEPOINT and
// attached explicitly (BCC's attach_tracepoint(tp=..., fn_name=...)).
// Workload: 25 getpid() calls.
// @workload getpid=25
// @attach tracepoint syscalls:sys_enter_getpid count_getpid
BPF_ARRAY(hits, u64, 1);

int count_getpid(void *ctx) {
    if ((bpf_get_current_pid_tgid() >> 32) != TEST_PID)
        return 0;
    hits.increment(0);
    return 0;
}
