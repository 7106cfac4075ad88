// Package attach holds a loaded BPF program in place: it opens
// attachments (tracepoints, raw tracepoints, kprobes and uprobes through
// their PMUs or tracefs probe events, perf events, fentry/fexit/LSM links,
// XDP, raw sockets, BPF_PROG_ATTACH) and keeps them in a Registry that the
// bcc package's by-name Detach*, NumOpen* and Close use.
//
// Every opener is a function from a program descriptor to a Handle, the
// kernel objects that hold the attachment; the Registry records each as a
// Link and detaches it once, whichever of Link.Close, Registry.Detach or
// Registry.Close comes first. The process-wide probe quota (BCC's
// BCC_PROBE_LIMIT) is counted here too, as are the rules that turn a
// function's name into what it attaches to (AutoTarget).
package attach
