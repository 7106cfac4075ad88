// gobcc CLI test: attaches to a tracepoint no kernel has.
TRACEPOINT_PROBE(gobcc_nosuch, no_event) {
    return 0;
}
