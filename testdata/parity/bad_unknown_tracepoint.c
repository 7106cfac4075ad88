// Exercises: an explicit attach to a tracepoint this kernel does not have:
// the program loads, the attach fails in both front ends.
// Workload: none.
// @expect attach
// @attach tracepoint nosuchcategory:nosuchevent on_event
int on_event(void *ctx) {
    return 0;
}
