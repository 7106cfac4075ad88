// gobcc CLI test: one perf buffer event per getppid call, for `gobcc run`'s
// event streaming. count numbers a process's calls from 1; addr is KADDR
// (a kernel function's address the test passes with -D, for --ksym) and
// uaddr the user address the call came from (for --usym).
#include <linux/sched.h>

#ifndef KADDR
#define KADDR 0
#endif

struct event {
    u32 pid;
    u32 tid;
    u64 count;
    u64 addr;
    u64 uaddr;
    char comm[TASK_COMM_LEN];
};

BPF_PERF_OUTPUT(events);
BPF_HASH(calls, u32, u64);

TRACEPOINT_PROBE(syscalls, sys_enter_getppid) {
    struct event ev = {};
    u64 id = bpf_get_current_pid_tgid();
    u64 zero = 0, *n;
    u64 stack[1] = {};

    ev.pid = id >> 32;
    ev.tid = (u32)id;
    n = calls.lookup_or_try_init(&ev.pid, &zero);
    if (n) {
        ev.count = __sync_fetch_and_add(n, 1) + 1;
    }
    ev.addr = KADDR;
    if (bpf_get_stack(args, stack, sizeof(stack), BPF_F_USER_STACK) > 0) {
        ev.uaddr = stack[0];
    }
    bpf_get_current_comm(&ev.comm, sizeof(ev.comm));
    events.perf_submit(args, &ev, sizeof(ev));
    return 0;
}
