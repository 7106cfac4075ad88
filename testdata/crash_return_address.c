// BCC Python 0.26: process killed by SIGSEGV (exit 139) inside the LLVM BPF backend; no diagnostics printed (stderr empty).
int f(void *ctx) { return (long)__builtin_return_address(0); }
