// Benchmark table: the seed's callers table, sized for 100k call sites.
BPF_HASH(callers, u64, u64, 131072);
