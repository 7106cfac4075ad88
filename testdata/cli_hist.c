// gobcc CLI test: a log2 histogram of kmalloc request sizes, printed by
// `gobcc run` as BCC's print_log2_hist does.
BPF_HISTOGRAM(dist);

TRACEPOINT_PROBE(kmem, kmalloc) {
    dist.increment(bpf_log2l(args->bytes_req));
    return 0;
}
