// Exercises: syscalls:sys_enter_newuname, a syscall with no filterable
// argument, counted per process into a BPF_TABLE("hash", ...) declared the
// long way.
// Workload: 12 uname() calls.
// @workload uname=12
BPF_TABLE("hash", u32, u64, unames, 64);

TRACEPOINT_PROBE(syscalls, sys_enter_newuname) {
    u32 tgid = bpf_get_current_pid_tgid() >> 32;
    if (tgid != TEST_PID)
        return 0;
    unames.increment(tgid);
    return 0;
}
