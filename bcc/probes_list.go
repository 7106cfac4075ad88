package bcc

import (
	"github.com/gobcc/gobcc/internal/features"
	"github.com/gobcc/gobcc/internal/tracefs"
	"github.com/gobcc/gobcc/internal/usym"
)

// This file lists what can be probed, for `gobcc list` (bpftrace -l) and
// for programs that choose probes at run time. Patterns are shell globs
// (path.Match: *, ?, [...]).

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
// kprobes at all is KprobesSupported's question (this kernel lists
// functions but has no kprobes).
func ListKernelFunctions(pattern string) ([]string, error) {
	return tracefs.ListKernelFunctions(pattern)
}

// KprobesSupported returns nil when kprobes can be attached (through the
// kprobe PMU or tracefs kprobe_events), else an error wrapping
// ErrNotSupported that says why (here: CONFIG_KPROBES is not set).
func KprobesSupported() error {
	_, err := features.Kprobe() // wraps ErrNotSupported (the same sentinel)
	return err
}

// ListUserFunctions returns the distinct function names of binary name
// (a path, a library name such as "c", or an executable on $PATH) that
// match pattern, sorted, and the file they were found in.
func ListUserFunctions(name, pattern string) (string, []string, error) {
	return usym.ListFunctions(name, pattern)
}
