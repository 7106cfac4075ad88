// BCC Python 0.26: LLVM aborts the process (SIGABRT, exit 134); stderr has "LLVM ERROR: Cannot select: ... i64 = sdiv ...", last line "In function: f".
int f(void *ctx) { volatile long a = bpf_ktime_get_ns(); volatile long b = bpf_get_prandom_u32() | 1; return (int)(a / b); }
