// gobcc CLI test: a syntax error on line 6 (an undeclared identifier).
BPF_HASH(counts, u32, u64);

TRACEPOINT_PROBE(sched, sched_process_exec) {
    u32 key = 0;
    counts.increment(undeclared_key);
    return 0;
}
