// Test program: getppid() calls of one process (TARGET) by kernel and user
// stack, cgroup and the user address the call returns to.
#include <asm/ptrace.h>

struct key_t {
    u32 pid;
    int kstack;
    int ustack;
    u64 cgroup;
    u64 ip;
};
BPF_STACK_TRACE(stacks, 1024);
BPF_HASH(calls, struct key_t, u64);

RAW_TRACEPOINT_PROBE(sys_enter)
{
    u64 id = bpf_get_current_pid_tgid();
    if (ctx->args[1] != GETPPID_NR || (id >> 32) != TARGET)
        return 0;
    struct pt_regs *regs = (struct pt_regs *)ctx->args[0];
    struct key_t key = {};
    key.pid = id >> 32;
    key.kstack = stacks.get_stackid(ctx, 0);
    key.ustack = stacks.get_stackid(ctx, BPF_F_USER_STACK);
    key.cgroup = bpf_get_current_cgroup_id();
    bpf_probe_read_kernel(&key.ip, sizeof(key.ip), &regs->ip);
    calls.increment(key);
    return 0;
}
