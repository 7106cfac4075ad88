// gobcc CLI test: bpf_trace_printk on every exec, for `gobcc run --trace`.
TRACEPOINT_PROBE(sched, sched_process_exec) {
    bpf_trace_printk("gobcc cli trace\n");
    return 0;
}
