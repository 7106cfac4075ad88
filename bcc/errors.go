package bcc

import (
	"errors"
	"fmt"
	"strings"
	"syscall"

	"github.com/gobcc/gobcc/internal/bpfsys"
	"github.com/gobcc/gobcc/internal/compiler"
	"github.com/gobcc/gobcc/internal/libbcc"
	"github.com/gobcc/gobcc/internal/maps"
	"github.com/gobcc/gobcc/internal/optarg"
	"github.com/gobcc/gobcc/internal/srcmap"
	"github.com/gobcc/gobcc/internal/tracefs"
)

// Sentinel errors. Errors returned by this package wrap one of these where
// it applies, so callers can test with errors.Is.
var (
	// ErrNotSupported means the running kernel refuses a feature (kprobes
	// on a kernel built without CONFIG_KPROBES, fentry under lockdown, ...).
	ErrNotSupported = bpfsys.ErrNotSupported
	// ErrCompile means libbcc could not compile the program; the error is a
	// *CompileError with clang's diagnostics.
	ErrCompile = compiler.ErrCompile
	// ErrHelperCrashed means libbcc or LLVM crashed the compile helper
	// process; this process lives on.
	ErrHelperCrashed = compiler.ErrHelperCrashed
	// ErrLibbccNotFound means libbcc (libbcc.so.0) could not be loaded.
	ErrLibbccNotFound = libbcc.ErrNotFound
	// ErrVerifier means the kernel's verifier refused a program; the error
	// is a *VerifierError holding the log.
	ErrVerifier = errors.New("verifier rejected the program")
	// ErrTableNotFound means the program declares no table of that name.
	ErrTableNotFound = errors.New("no such table")
	// ErrFunctionNotFound means the program has no function of that name.
	ErrFunctionNotFound = errors.New("no such function")
	// ErrTracepointNotFound means the kernel has no such tracepoint.
	ErrTracepointNotFound = tracefs.ErrTracepointNotFound
	// ErrKeyNotExist means a table has no entry for the key.
	ErrKeyNotExist = bpfsys.ErrKeyNotExist
	// ErrTypeMismatch means Go and C types or sizes disagree.
	ErrTypeMismatch = maps.ErrTypeMismatch
	// ErrWrongTableType means the operation does not apply to the table's
	// map type.
	ErrWrongTableType = maps.ErrWrongTableType
	// ErrClosed means the BPF object was closed.
	ErrClosed = maps.ErrClosed
	// ErrPermission means the process lacks the privileges BPF needs.
	ErrPermission = errors.New("insufficient privileges for BPF (run as root or with CAP_BPF and CAP_PERFMON)")
	// ErrNoSource means Options had neither Text nor SrcFile.
	ErrNoSource = errors.New("no program: set Options.Text or Options.SrcFile")
	// ErrTooManyOptions means a trailing opts ...XxxOptions parameter got
	// more than one value: it takes none (the defaults) or one.
	ErrTooManyOptions = optarg.ErrTooMany
)

// Diagnostic is one message from clang, located in the user's file.
type Diagnostic struct {
	File     string // the user's file name (SrcFile, or "<text>")
	Line     int    // 1-based
	Column   int    // 1-based
	Severity string // "error", "warning", "note" or "fatal error"
	Message  string
	// Source is the offending source line and the caret line clang printed
	// under it, if any.
	Source string
}

// String formats the diagnostic as clang does: "file:line:col: severity: message".
func (d Diagnostic) String() string {
	return fmt.Sprintf("%s:%d:%d: %s: %s", d.File, d.Line, d.Column, d.Severity, d.Message)
}

// CompileError is returned when a program does not compile, or when libbcc
// crashed while compiling it (then it also wraps ErrHelperCrashed).
type CompileError struct {
	// File is the user's file name (Options.SrcFile, Options.Name or
	// "<text>").
	File string
	// Diagnostics are clang's errors, warnings and notes in order.
	Diagnostics []Diagnostic
	// Output is everything libbcc and clang printed, with libbcc's internal
	// file name replaced by File.
	Output string
	// Err is ErrCompile, or an error wrapping ErrHelperCrashed.
	Err error
}

// Error names the file and the number of errors, followed by clang's output.
func (e *CompileError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %v", e.File, e.Err)
	if n := len(e.Errors()); n > 0 {
		fmt.Fprintf(&b, " (%d error(s))", n)
	}
	if out := strings.TrimRight(e.Output, "\n"); out != "" {
		b.WriteString(":\n")
		b.WriteString(out)
	}
	return b.String()
}

// Unwrap returns the cause: ErrCompile, or an error wrapping
// ErrHelperCrashed.
func (e *CompileError) Unwrap() error { return e.Err }

// Errors returns only the error diagnostics.
func (e *CompileError) Errors() []Diagnostic {
	var out []Diagnostic
	for _, d := range e.Diagnostics {
		if d.Severity == "error" || d.Severity == "fatal error" {
			out = append(out, d)
		}
	}
	return out
}

// VerifierError is returned when the kernel refuses to load a function.
type VerifierError struct {
	// Function is the C function the kernel refused.
	Function string
	// ProgType is the program type it was loaded as.
	ProgType ProgType
	// Errno is the bpf() error (EACCES for a verifier rejection, EPERM,
	// EINVAL, E2BIG, ...).
	Errno syscall.Errno
	// Log is the verifier's log, with libbcc's source references mapped to
	// the user's file and lines.
	Log string
	// Hint is libbcc's explanation of a common rejection, if it had one.
	Hint string
}

// Error names the function, its program type and the errno, followed by the
// log's last lines and libbcc's hint.
func (e *VerifierError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "load %s as %s: %v", e.Function, e.ProgType, e.Errno)
	if e.Errno == syscall.EACCES || e.Errno == syscall.EINVAL {
		b.WriteString(" (verifier rejected the program)")
	}
	if tail := e.LastLines(8); tail != "" {
		b.WriteString(":\n")
		b.WriteString(tail)
	}
	if e.Hint != "" {
		b.WriteString("\n")
		b.WriteString(e.Hint)
	}
	return b.String()
}

// Unwrap lets errors.Is match ErrVerifier, the errno, and ErrPermission or
// ErrNotSupported when the kernel said EPERM with no log.
func (e *VerifierError) Unwrap() []error {
	errs := []error{ErrVerifier, e.Errno}
	if e.Errno == syscall.EPERM && strings.TrimSpace(e.Log) == "" {
		errs = append(errs, ErrNotSupported)
	}
	return errs
}

// LastLines returns the last n non-empty lines of the log.
func (e *VerifierError) LastLines(n int) string { return srcmap.LastLines(e.Log, n) }

// newCompileError turns the compiler's failure into a *CompileError in
// terms of the user's file.
func newCompileError(err error, file string, m *srcmap.Mapper) error {
	var ce *compiler.Error
	if !errors.As(err, &ce) {
		return err
	}
	diags, out := m.CompilerOutput(ce.Output)
	e := &CompileError{File: file, Output: out, Err: ce.Err}
	for _, d := range diags {
		e.Diagnostics = append(e.Diagnostics, Diagnostic(d))
	}
	return e
}
