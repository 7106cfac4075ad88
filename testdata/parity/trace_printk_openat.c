// Exercises: bpf_trace_printk with a %s argument copied from user memory and
// a %x, through trace_fields.
// Workload: 4 openat("/dev/null", O_RDONLY|O_CLOEXEC|O_NOCTTY|O_NONBLOCK) calls.
// @workload open=4
// @trace 4 parity-open
TRACEPOINT_PROBE(syscalls, sys_enter_openat) {
    if ((bpf_get_current_pid_tgid() >> 32) != TEST_PID || args->flags != 0x80900)
        return 0;
    char name[16] = {};
    bpf_probe_read_user_str(name, sizeof(name), args->filename);
    bpf_trace_printk("parity-open %s flags=%x\n", name, args->flags);
    return 0;
}
