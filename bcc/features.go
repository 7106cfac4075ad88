package bcc

import "github.com/gobcc/gobcc/internal/features"

// Feature is one attach mechanism and whether the running kernel allows it,
// as ProbeFeatures reports it.
type Feature struct {
	// Name is the mechanism: "tracefs", "BTF", "kprobes", "uprobes",
	// "tracepoints", "raw tracepoints", "fentry/kfunc", "LSM",
	// "perf events", "XDP", "batch map ops", "ring buffer".
	Name string
	// Supported reports whether the kernel allowed a minimal program or
	// map of that kind to load and attach (for tracefs, whether it is
	// mounted; for tracepoints, whether tracefs lists them; for kprobes
	// offered through tracefs only, whether kprobe_events exists).
	Supported bool
	// Detail says how it was found out (for tracefs, "mounted at DIR") or
	// why it is refused.
	Detail string
	// Err is why the feature is not supported (it wraps ErrNotSupported
	// when the kernel refused); nil when Supported.
	Err error
}

// SupportKfunc reports whether the kernel loads and attaches fentry/fexit
// programs (BCC's support_kfunc). Unlike BCC, which only looks for a kernel
// symbol, it loads and attaches a minimal program, so it answers false on a
// kernel under lockdown, which refuses them. The answer is computed once
// per process.
func SupportKfunc() bool { return features.Kfunc() == nil }

// SupportLSM reports whether the kernel loads and attaches BPF LSM programs
// (BCC's support_lsm), by trying a minimal one, once per process.
func SupportLSM() bool { return features.LSM() == nil }

// SupportRawTracepoint reports whether the kernel loads and attaches raw
// tracepoint programs (BCC's support_raw_tracepoint), once per process.
func SupportRawTracepoint() bool { return features.RawTracepoint() == nil }

// uprobeSupport explains a failed uprobe attach: nil, or why this kernel
// has no uprobes.
func uprobeSupport() error { return features.Uprobe() }

// ProbeFeatures reports which attach mechanisms and map features the
// running kernel allows, for `gobcc doctor`. Each entry that is not
// supported carries the reason; programs and maps are created and attached
// for a moment and closed again, so that a kernel under lockdown reports
// fentry and LSM refused. It needs the privileges BPF needs (tracefs and
// BTF excepted).
func ProbeFeatures() []Feature {
	results := features.All()
	out := make([]Feature, 0, len(results))
	for _, r := range results {
		out = append(out, Feature{Name: r.Name, Supported: r.Err == nil, Detail: r.Detail, Err: r.Err})
	}
	return out
}

// The feature probes under their old names, for the attach code.
func kfuncSupport() error         { return features.Kfunc() }
func lsmSupport() error           { return features.LSM() }
func rawTracepointSupport() error { return features.RawTracepoint() }
