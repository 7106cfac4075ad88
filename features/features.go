// Package features asks the running kernel what it allows: kprobes,
// fentry, LSM, raw tracepoints and the rest, each found out by loading and
// attaching a minimal program for a moment (as cilium/ebpf's features
// package does), not by reading the kernel version. Answers are computed
// once per process. `gobcc doctor` prints All.
//
// bcc's Attach methods run the same checks when the kernel refuses an
// attach, so their errors say why and wrap ErrNotSupported.
package features

import (
	"github.com/gobcc/gobcc/internal/bpfsys"
	ifeatures "github.com/gobcc/gobcc/internal/features"
	"github.com/gobcc/gobcc/internal/kallsyms"
)

// ErrNotSupported means the running kernel refuses a feature (the same
// value as bcc.ErrNotSupported).
var ErrNotSupported = bpfsys.ErrNotSupported

// Feature is one attach mechanism and whether the running kernel allows it,
// as All reports it.
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
func SupportKfunc() bool { return ifeatures.Kfunc() == nil }

// SupportLSM reports whether the kernel loads and attaches BPF LSM programs
// (BCC's support_lsm), by trying a minimal one, once per process.
func SupportLSM() bool { return ifeatures.LSM() == nil }

// SupportRawTracepoint reports whether the kernel loads and attaches raw
// tracepoint programs (BCC's support_raw_tracepoint), once per process.
func SupportRawTracepoint() bool { return ifeatures.RawTracepoint() == nil }

// All reports which attach mechanisms and map features the
// running kernel allows, for `gobcc doctor`. Each entry that is not
// supported carries the reason; programs and maps are created and attached
// for a moment and closed again, so that a kernel under lockdown reports
// fentry and LSM refused. It needs the privileges BPF needs (tracefs and
// BTF excepted).
func All() []Feature {
	results := ifeatures.All()
	out := make([]Feature, 0, len(results))
	for _, r := range results {
		out = append(out, Feature{Name: r.Name, Supported: r.Err == nil, Detail: r.Detail, Err: r.Err})
	}
	return out
}

// KprobesSupported returns nil when kprobes can be attached (through the
// kprobe PMU or tracefs kprobe_events), else an error wrapping
// ErrNotSupported that says why (CONFIG_KPROBES unset, say).
func KprobesSupported() error {
	_, err := ifeatures.Kprobe()
	return err
}

// SupportRawTracepointInModule reports whether raw tracepoints defined in
// kernel modules can be attached (Linux 5.0+), as BCC's
// support_raw_tracepoint_in_module decides: the kernel symbol
// bpf_trace_modules exists.
func SupportRawTracepointInModule() (bool, error) {
	return kallsyms.Has("/proc/kallsyms", "bpf_trace_modules")
}
