// Exercises: a helper a tracepoint program may not call
// (bpf_skb_load_bytes): clang compiles it, the verifier refuses it.
// Workload: none.
// @expect load
TRACEPOINT_PROBE(syscalls, sys_enter_getpid) {
    char buf[4];
    bpf_skb_load_bytes(args, 0, buf, sizeof(buf));
    return 0;
}
