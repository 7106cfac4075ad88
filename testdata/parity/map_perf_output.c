// Exercises: BPF_PERF_OUTPUT read with open_perf_buffer / perf_buffer_poll:
// one event per getpid with a sequence number
// and the pid; a counter array says how many were submitted.
// Workload: 10 getpid() calls.
// @workload getpid=10
// @compare events keys
// @perfbuf events 10
struct event_t {
    u32 pid;
    u32 seq;
    char tag[8];
};
BPF_PERF_OUTPUT(events);
BPF_ARRAY(submitted, u64, 1);

TRACEPOINT_PROBE(syscalls, sys_enter_getpid) {
    u32 tgid = bpf_get_current_pid_tgid() >> 32;
    if (tgid != TEST_PID)
        return 0;
    int k = 0;
    u64 *n = submitted.lookup(&k);
    if (!n)
        return 0;
    struct event_t ev = {.pid = tgid, .seq = *n};
    __builtin_memcpy(ev.tag, "getpid", 7);
    *n += 1;
    events.perf_submit(args, &ev, sizeof(ev));
    return 0;
}
