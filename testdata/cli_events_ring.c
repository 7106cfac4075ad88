// gobcc CLI test: one ring buffer event per getppid call, for `gobcc run`'s
// event streaming. count numbers a process's calls from 1.
#include <linux/sched.h>

struct event {
    u32 pid;
    u64 count;
    char comm[TASK_COMM_LEN];
};

BPF_RINGBUF_OUTPUT(ring, 8);
BPF_HASH(calls, u32, u64);

TRACEPOINT_PROBE(syscalls, sys_enter_getppid) {
    struct event ev = {};
    u64 zero = 0, *n;

    ev.pid = bpf_get_current_pid_tgid() >> 32;
    n = calls.lookup_or_try_init(&ev.pid, &zero);
    if (n) {
        ev.count = __sync_fetch_and_add(n, 1) + 1;
    }
    bpf_get_current_comm(&ev.comm, sizeof(ev.comm));
    ring.ringbuf_output(&ev, sizeof(ev), 0);
    return 0;
}
