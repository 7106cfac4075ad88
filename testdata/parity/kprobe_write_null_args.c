// Exercises: kprobe__ auto-attach on a plain kernel function with its
// arguments named in the signature (BCC rewrites them to PT_REGS_PARMn):
// write_null, /dev/null's write, counted and its count argument summed.
// Workload: 40 write() calls of sizes (i*131)%4000+1 to fd 97 (/dev/null).
// @kprobes
// @workload write=40
#include <uapi/linux/ptrace.h>

BPF_ARRAY(stats, u64, 2);

struct file;
int kprobe__write_null(struct pt_regs *ctx, struct file *file, const char *buf, size_t count) {
    if ((bpf_get_current_pid_tgid() >> 32) != TEST_PID)
        return 0;
    int k0 = 0, k1 = 1;
    u64 *calls = stats.lookup(&k0);
    if (calls)
        __sync_fetch_and_add(calls, 1);
    u64 *bytes = stats.lookup(&k1);
    if (bytes)
        __sync_fetch_and_add(bytes, count);
    return 0;
}
