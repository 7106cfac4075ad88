// Exercises: a kprobe on this kernel, built without CONFIG_KPROBES:
// BCC Python raises an Exception at attach, gobcc returns an error wrapping
// ErrNotSupported; neither leaves anything attached.
// Workload: none.
// @expect attach
int kprobe__do_sys_openat2(struct pt_regs *ctx) {
    return 0;
}
