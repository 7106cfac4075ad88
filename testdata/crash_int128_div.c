// BCC Python 0.26: LLVM exits the process (exit 1, no Python exception); last stderr line "error: /virtual/main.c:...: in function f i32 (i8*): A call to built-in function '__udivti3' is not supported."
int f(void *ctx) { volatile unsigned __int128 a = bpf_ktime_get_ns(), b = bpf_get_prandom_u32() + 1; return (int)(a / b); }
