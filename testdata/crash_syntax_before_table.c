// BCC Python 0.26: process killed by SIGSEGV (exit 139); last stderr line is a clang caret "^" after "error: variable has incomplete type 'struct counts_table_t'".
int x(
BPF_HASH(counts, u32, u64);
int kprobe__foo(void *ctx) { return 0; }
