// gobcc CLI test: a program that compiles and passes the verifier, with a
// tracepoint function and a plain function that check loads as kprobe.
BPF_HASH(counts, u32, u64);

TRACEPOINT_PROBE(sched, sched_process_exec) {
    u32 key = 0;
    counts.increment(key);
    return 0;
}

int count_any(void *ctx) {
    u32 key = 1;
    counts.increment(key);
    return 0;
}
