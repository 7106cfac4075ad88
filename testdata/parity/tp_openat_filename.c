// Exercises: reading a user-space string argument (openat's filename) with
// bpf_probe_read_user_str into a struct key with a char array, as opensnoop does.
// Workload: 20 openat("/dev/null", O_RDONLY|O_CLOEXEC|O_NOCTTY|O_NONBLOCK) calls.
// @workload open=20
struct name_t {
    char fname[32];
};
BPF_HASH(opens, struct name_t, u64);

TRACEPOINT_PROBE(syscalls, sys_enter_openat) {
    if ((bpf_get_current_pid_tgid() >> 32) != TEST_PID || args->flags != 0x80900)
        return 0;
    struct name_t key = {};
    bpf_probe_read_user_str(&key.fname, sizeof(key.fname), args->filename);
    opens.increment(key);
    return 0;
}
