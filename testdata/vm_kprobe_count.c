// A kprobe and a kretprobe counting read_zero calls and bytes, for
// `gobcc run` in the `make vmtest` guest (scripts/vmtest_cli.sh reads
// /dev/zero while it runs).
#include <uapi/linux/ptrace.h>

BPF_ARRAY(read_zero_calls, u64, 1);
BPF_ARRAY(read_zero_bytes, u64, 1);

int kprobe__read_zero(struct pt_regs *ctx) {
    read_zero_calls.increment(0);
    return 0;
}

int kretprobe__read_zero(struct pt_regs *ctx) {
    long ret = PT_REGS_RC(ctx);
    if (ret > 0)
        read_zero_bytes.increment(0, ret);
    return 0;
}
