// Package compiler turns BPF C text into loaded programs and maps through
// libbcc, either in a helper process (the default) or in the caller's
// process.
//
// The helper is the calling executable itself, re-executed with
// GOBCC_COMPILE_HELPER set: this package's init function notices the
// variable and runs the helper loop instead of the program's main, so any Go
// program importing gobcc (a test binary too) can isolate compiles without
// changes to its main. The helper loads libbcc, compiles, and hands the
// module's map descriptors back over a unix socket (SCM_RIGHTS) with the
// table descriptions and function instructions. It then stays to serve
// loads (bcc_func_load, which passes the module's BTF so verifier logs carry
// source lines) until its Session is closed. LLVM and clang thus never enter
// the caller's address space, and a libbcc crash or an LLVM abort kills only
// the helper and comes back as an error.
package compiler

import (
	"context"
	"errors"
	"fmt"
)

// ErrCompile means libbcc rejected the program; Result.Output holds clang's
// diagnostics.
var ErrCompile = errors.New("compile failed")

// ErrHelperCrashed means the helper process died; the error names the
// signal or exit status and carries the helper's last output.
var ErrHelperCrashed = errors.New("compile helper crashed")

// ErrClosed is returned by a Session used after Close.
var ErrClosed = errors.New("compile session closed")

// Request is one compilation.
type Request struct {
	Text       string   `json:"text"`
	CFlags     []string `json:"cflags"`
	DebugFlags uint     `json:"debug_flags"`
	// USDT are BCC's usdt_contexts: their argument code is prepended to
	// Text and their uprobes come back in Result.USDTUprobes.
	USDT []USDTContext `json:"usdt,omitempty"`
	// KernelSource, when set, is the kernel header tree libbcc compiles
	// against: it becomes BCC_KERNEL_SOURCE in the helper's environment
	// (in-process, in this process's environment for the compile).
	KernelSource string `json:"kernel_source,omitempty"`
}

// kernelSourceEnv is the variable libbcc reads its kernel tree from.
const kernelSourceEnv = "BCC_KERNEL_SOURCE"

// Function is one compiled BPF function.
type Function struct {
	Name  string `json:"name"`
	Insns []byte `json:"insns"`
}

// Table describes one map of the module. FD is owned by the receiver of the
// Result; ModuleFD is the number the module's instructions refer to (the
// helper's descriptor), needed to relocate instructions loaded elsewhere.
type Table struct {
	Name       string   `json:"name"`
	FD         int      `json:"-"`
	ModuleFD   int      `json:"module_fd"`
	Type       int      `json:"type"`
	MaxEntries int      `json:"max_entries"`
	Flags      int      `json:"flags"`
	KeyDesc    string   `json:"key_desc"`
	LeafDesc   string   `json:"leaf_desc"`
	KeySize    int      `json:"key_size"`
	LeafSize   int      `json:"leaf_size"`
	Fields     []string `json:"fields,omitempty"`
}

// Result is what a successful compile returns.
type Result struct {
	LibPath     string     `json:"lib_path"`
	LibVersion  string     `json:"lib_version"`
	License     string     `json:"license"`
	KernVersion uint32     `json:"kern_version"`
	Functions   []Function `json:"functions"`
	Tables      []Table    `json:"tables"`
	// Output is what libbcc and clang wrote while compiling: warnings and
	// the output of debug flags.
	Output string `json:"output"`
	// USDTUprobes are the uprobes the Request's USDT probes need.
	USDTUprobes []USDTUprobe `json:"usdt_uprobes,omitempty"`
	// TypeSubset is the directory of the kernel type subset the program
	// was compiled through ("" for the whole header tree).
	TypeSubset string `json:"type_subset,omitempty"`
	// SubsetFallback is true when the compile failed through the type
	// subset and passed through the whole tree.
	SubsetFallback bool `json:"subset_fallback,omitempty"`
	// SubsetWarning says why a generated tree was used whole (a fallback,
	// an unusable type index), for BPF.Warnings.
	SubsetWarning string `json:"subset_warning,omitempty"`
}

// LoadRequest asks for one function to be loaded through the verifier.
type LoadRequest struct {
	Name       string `json:"name"`
	ProgType   int    `json:"prog_type"`
	AttachType int    `json:"attach_type"`
	LogLevel   int    `json:"log_level"`
}

// LoadResult is the outcome of a load. FD is -1 when the kernel refused the
// program, with Errno and the verifier Log saying why.
type LoadResult struct {
	FD    int    `json:"-"`
	Log   string `json:"log"`
	Errno int    `json:"errno"`
	// Output is anything libbcc wrote to stderr during the load.
	Output string `json:"output"`
}

// Session is a compiled module that can still load functions. Close frees
// the module (and ends the helper); descriptors already returned stay valid.
type Session interface {
	Result() *Result
	Load(LoadRequest) (LoadResult, error)
	Close() error
}

// Error is a failed compile: Output holds clang's diagnostics as libbcc
// printed them (file names are libbcc's, "/virtual/main.c").
type Error struct {
	Output string
	// Err is ErrCompile or wraps ErrHelperCrashed.
	Err error
}

// Error is the cause followed by clang's output.
func (e *Error) Error() string {
	if e.Output == "" {
		return e.Err.Error()
	}
	return fmt.Sprintf("%v:\n%s", e.Err, e.Output)
}

// Unwrap returns ErrCompile or the crash error.
func (e *Error) Unwrap() error { return e.Err }

// Compile compiles req in a helper process when isolate is true, else in
// this process.
//
// When ctx ends during a helper's compile, the helper is killed and reaped
// and the error wraps ctx.Err(). libbcc cannot interrupt a compile in this
// process, so there ctx is only checked before and after it.
func Compile(ctx context.Context, req Request, isolate bool) (Session, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("compile: %w", err)
	}
	if isolate {
		return compileWithSubset(ctx, req, func(r Request) (Session, error) { return compileInHelper(ctx, r) })
	}
	s, err := compileWithSubset(ctx, req, compileInProcess)
	if err == nil && ctx.Err() != nil {
		closeTables(s.Result().Tables)
		s.Close()
		return nil, fmt.Errorf("compile: %w", ctx.Err())
	}
	return s, err
}
