// System calls by number and error, counted at exit (raw_syscalls:sys_exit,
// which every architecture has; no kprobes needed).
struct key_t {
    u32 nr;
    u32 err;
};
BPF_HASH(syscalls, struct key_t, u64, 10240);

TRACEPOINT_PROBE(raw_syscalls, sys_exit)
{
    struct key_t key = {};
    long ret = args->ret;
    key.nr = args->id;
    key.err = (ret < 0 && ret > -4096) ? -ret : 0;
    syscalls.increment(key);
    return 0;
}
