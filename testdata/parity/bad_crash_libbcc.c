// Exercises: an input that crashes libbcc 0.26 (SIGSEGV in its front end:
// an unclosed "(" before BPF_HASH puts the table inside a parameter list).
// BCC Python's process dies (exit 139, no exception); gobcc compiles in a
// helper process and returns a CompileError wrapping ErrHelperCrashed with
// clang's diagnostics, and the test process lives on.
// Workload: none.
// @expect crash
// @isolate
int x(
BPF_HASH(counts, u32, u64);
int kprobe__foo(void *ctx) { return 0; }
