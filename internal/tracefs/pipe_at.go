package tracefs

// OpenPipeAt opens the trace_pipe file at path: that of a tracefs instance
// (DIR/instances/NAME/trace_pipe), whose private buffer other tracers do not
// see, or the global one. Errors are those of OpenPipe.
func OpenPipeAt(path string) (*Pipe, error) { return openPipeAt(path) }
