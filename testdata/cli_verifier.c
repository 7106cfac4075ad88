// gobcc CLI test: compiles, but the verifier rejects it: the map lookup's
// result is dereferenced without the NULL check the verifier demands.
BPF_HASH(counts, u32, u64);

TRACEPOINT_PROBE(sched, sched_process_exec) {
    u32 key = 0;
    u64 *value = counts.lookup(&key);
    *value += 1;
    return 0;
}
