// Exercises: TRACEPOINT_PROBE on a tracepoint that does not exist: libbcc
// has no format to build the args struct from.
// Workload: none.
// @expect compile
TRACEPOINT_PROBE(nosuchcategory, nosuchevent) {
    return args->missing_field;
}
