// The seed article's program: count kmalloc() call sites from the
// kmem:kmalloc tracepoint ("Some advanced BCC topics", LWN.net, 2018).
BPF_HASH(callers, u64, unsigned long);

TRACEPOINT_PROBE(kmem, kmalloc) {
    u64 ip = args->call_site;
    unsigned long *count;
    unsigned long c = 1;

    count = callers.lookup((u64 *)&ip);
    if (count != 0)
        c += *count;

    callers.update(&ip, &c);

    return 0;
}
