// Exercises: the signal:signal_generate tracepoint (BCC's killsnoop/trace
// style), keyed by a struct of signal number and result.
// Workload: 5 kill(self, SIGUSR1) calls with SIGUSR1 ignored.
// @workload kill=5
struct sig_key_t {
    s32 sig;
    s32 result;
};
BPF_HASH(sigs, struct sig_key_t, u64);

TRACEPOINT_PROBE(signal, signal_generate) {
    if ((bpf_get_current_pid_tgid() >> 32) != TEST_PID || args->pid != TEST_PID || args->sig != 10)
        return 0;
    struct sig_key_t key = {.sig = args->sig, .result = args->result};
    sigs.increment(key);
    return 0;
}
