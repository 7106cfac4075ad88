// Package probes lists what the running kernel offers to attach to:
// tracepoints and their fields, raw tracepoints, and kernel functions.
// It serves `gobcc list` (bpftrace -l) and programs that choose probes at
// run time, and holds BCC's static helpers of the same kind
// (get_kprobe_functions, get_tracepoints, tracepoint_exists). Whether the
// kernel allows a kind of probe at all is package features' question;
// user-space functions are package symbols'.
//
// The List functions take shell globs (path.Match: *, ?, [...]); the Get
// functions take regular expressions matched at the name's start, as
// BCC's do.
package probes

import (
	"fmt"
	"regexp"

	"github.com/gobcc/gobcc/internal/attach"
	"github.com/gobcc/gobcc/internal/tracefs"
)

// ErrTracepointNotFound means the kernel has no such tracepoint (the same
// value as bcc.ErrTracepointNotFound).
var ErrTracepointNotFound = tracefs.ErrTracepointNotFound

// ListTracepoints returns "category:event" for every tracepoint whose
// name matches pattern, sorted. pattern is "category:event" with globs
// in either part ("sched:*", "*:sys_enter_open*"), or a glob for the
// event alone ("sched_process_*").
func ListTracepoints(pattern string) ([]string, error) { return tracefs.ListTracepoints(pattern) }

// TracepointField is one field of a tracepoint's record as a
// TRACEPOINT_PROBE sees it in args: libbcc turns "__data_loc char[]
// filename" into "int data_loc_filename" (read it with
// TP_DATA_LOC_READ), and leaves the common_ fields out.
type TracepointField struct {
	// Type and Name as the program declares them: "pid_t", "pid";
	// "char", "comm[16]" is given as Type "char", Name "comm[16]".
	Type, Name string
	// Decl is the field as the format file declares it.
	Decl         string
	Offset, Size int
	Signed       bool
}

// String is the declaration as args has it: "pid_t pid".
func (f TracepointField) String() string { return f.Type + " " + f.Name }

// TracepointFields returns the fields of tracepoint "category:event"
// from its format file, as the program sees them in args. A missing
// tracepoint is an error wrapping ErrTracepointNotFound.
func TracepointFields(tp string) ([]TracepointField, error) {
	fields, err := tracefs.TracepointFields(tp)
	var out []TracepointField
	for _, f := range fields {
		out = append(out, TracepointField(f))
	}
	return out, err
}

// ListRawTracepoints returns the names raw tracepoints attach to (every
// trace event's name, as AttachRawTracepoint takes it) that match
// pattern, sorted and without duplicates.
func ListRawTracepoints(pattern string) ([]string, error) {
	return tracefs.ListRawTracepoints(pattern)
}

// ListKernelFunctions returns the kernel functions whose names match
// pattern, from tracefs available_filter_functions: what kprobes could
// attach to, sorted and without duplicates. Whether the kernel has
// kprobes at all is features.KprobesSupported's question (this kernel lists
// functions but has no kprobes).
func ListKernelFunctions(pattern string) ([]string, error) {
	return tracefs.ListKernelFunctions(pattern)
}

// GetKprobeFunctions lists, sorted and without duplicates, the kernel
// functions that eventRe matches at their start (Python's re.match, as BCC
// 0.26's get_kprobe_functions) and that a kprobe may probe: text symbols
// outside the init and irqentry sections, not in the kprobe blacklist,
// and not perf, __SCT__, _kbl_addr_ or .cold symbols. A missing blacklist
// file (a kernel without kprobes) counts as an empty list, where BCC
// raises.
func GetKprobeFunctions(eventRe string) ([]string, error) {
	return attach.KprobeFunctions(eventRe)
}

// GetTracepoints lists the tracepoints, "category:event", whose name tpRe
// matches at its start (BCC's get_tracepoints, which uses re.match).
func GetTracepoints(tpRe string) ([]string, error) {
	re, err := regexp.Compile(tpRe)
	if err != nil {
		return nil, fmt.Errorf("tracepoint regexp: %w", err)
	}
	return tracefs.Tracepoints(re)
}

// TracepointExists reports whether the kernel has the tracepoint
// category:event (BCC's tracepoint_exists).
func TracepointExists(category, event string) bool {
	return tracefs.TracepointExists(category, event)
}
