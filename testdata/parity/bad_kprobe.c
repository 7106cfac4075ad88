// Exercises: a kprobe on do_sys_openat2. On a kernel built without
// CONFIG_KPROBES BCC Python raises an Exception at attach and gobcc returns
// an error wrapping ErrNotSupported; neither leaves anything attached. Where
// kprobes exist (the `make vmtest` guest) both attach it.
// Workload: none.
// @kprobes
int kprobe__do_sys_openat2(struct pt_regs *ctx) {
    return 0;
}
