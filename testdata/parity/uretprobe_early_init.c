// Exercises: a uretprobe on libc's __libc_early_init, which ld.so calls
// once in every dynamically linked process: the return probe runs with
// PT_REGS_RC (whatever rax holds; the function is void), counted for the
// runner's children only.
// Workload: 3 runs of /bin/true as children of the runner.
// @workload spawn=3
// @attach uretprobe __libc_early_init on_return /lib/x86_64-linux-gnu/libc.so.6
// @compare children count
#include <uapi/linux/ptrace.h>
BPF_HASH(children, u32, u32);
BPF_ARRAY(returns, u64, 2);

TRACEPOINT_PROBE(task, task_newtask) {
    if ((bpf_get_current_pid_tgid() >> 32) != TEST_PID || (args->clone_flags & 0x00010000))
        return 0;
    u32 child = args->pid, one = 1;
    children.update(&child, &one);
    return 0;
}

int on_return(struct pt_regs *ctx) {
    u32 tgid = bpf_get_current_pid_tgid() >> 32;
    if (!children.lookup(&tgid))
        return 0;
    int k = PT_REGS_RC(ctx) != 0xdeadbeef; /* always 1: reads rax */
    returns.increment(k);
    return 0;
}
