// Exercises: kretprobe__ auto-attach and PT_REGS_RC: read_zero, /dev/zero's
// read, with its return values (bytes read) summed into a BPF_HASH keyed by
// process id.
// Workload: 30 read() calls of sizes (i*131)%4000+1 from fd 98 (/dev/zero).
// @kprobes
// @workload read=30
#include <uapi/linux/ptrace.h>

BPF_HASH(bytes, u32, u64);

int kretprobe__read_zero(struct pt_regs *ctx) {
    u32 tgid = bpf_get_current_pid_tgid() >> 32;
    if (tgid != TEST_PID)
        return 0;
    long ret = PT_REGS_RC(ctx);
    if (ret > 0)
        bytes.increment(tgid, ret);
    return 0;
}
