// Exercises: a raw tracepoint attached explicitly
// (attach_raw_tracepoint(tp="sys_exit", fn_name=...)), reading the return
// value in ctx->args[1]: getpid returns the runner's pid.
// Workload: 15 getpid() calls.
// @workload getpid=15
// @attach raw_tracepoint sys_exit on_sys_exit
BPF_ARRAY(pid_returns, u64, 1);

int on_sys_exit(struct bpf_raw_tracepoint_args *ctx) {
    if ((bpf_get_current_pid_tgid() >> 32) != TEST_PID)
        return 0;
    if ((s64)ctx->args[1] != TEST_PID)
        return 0;
    pid_returns.increment(0);
    return 0;
}
