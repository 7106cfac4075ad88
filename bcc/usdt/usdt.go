// Package usdt is BCC Python's USDT class: a set of USDT (user statically
// defined tracing) probes to enable in a process or a binary, passed to
// bcc.New in Options.USDTContexts, and the introspection of a binary's or
// process's probes (enumerate_probes, get_text, ...).
//
//	u := usdt.ForPID(pid)
//	if err := u.EnableProbe("gobcc:tick", "on_tick"); err != nil { ... }
//	b, err := bcc.New(bcc.Options{Text: prog, USDTContexts: []*usdt.Context{u}})
//
// bcc.New has libbcc generate the code behind bpf_usdt_readarg in the compile
// helper, prepends it to the program as BCC does, and attaches a uprobe at
// each probe location.
package usdt

import (
	"errors"
	"fmt"
	"strings"

	"github.com/gobcc/gobcc/internal/compiler"
	"github.com/gobcc/gobcc/internal/usdtreq"
	"github.com/gobcc/gobcc/internal/usym"
)

// ErrUSDT means a USDT context or probe could not be set up (BCC's
// USDTException); bcc.ErrUSDT is the same value.
var ErrUSDT = errors.New("USDT")

// Context is a set of USDT probes to enable, in a process or a binary:
// BCC Python's USDT object.
//
// Semaphores: a probe guarded by a semaphore fires only while the
// semaphore is non-zero. gobcc passes each semaphore's file offset to the
// kernel with the uprobe (ref_ctr_offset, Linux 4.20+), so the kernel
// raises it in every process mapping the binary, processes started later
// included, for as long as the probe is attached, and lowers it on Close.
// (libbcc also raises it through /proc/PID/mem for process contexts, as
// BCC does; the compile helper undoes that when it ends.)
type Context struct {
	pid    int
	path   string
	probes []compiler.USDTProbe
}

// New is BCC's USDT(pid=, path=): the probes of process pid (pid > 0),
// optionally only those in binary path, or of binary path (pid 0).
func New(pid int, path string) *Context { return &Context{pid: pid, path: path} }

// ForPID is New(pid, "").
func ForPID(pid int) *Context { return New(pid, "") }

// ForPath is New(0, path). path may also be a library name ("c") or an
// executable on $PATH, resolved as for uprobes.
func ForPath(path string) *Context { return New(0, path) }

// EnableProbe has probe run the BPF function fnName (BCC's
// enable_probe(probe=, fn_name=)). probe is "name" or "provider:name".
// The probe is looked up when bcc.New compiles the program.
func (u *Context) EnableProbe(probe, fnName string) error {
	provider, name := splitProbe(probe)
	if name == "" || fnName == "" || strings.Contains(name, ":") {
		return fmt.Errorf("%w: probe %q for %q: want \"name\" or \"provider:name\" and a function", ErrUSDT, probe, fnName)
	}
	u.probes = append(u.probes, compiler.USDTProbe{Provider: provider, Name: name, FnName: fnName})
	return nil
}

// PID is the context's process, 0 for a binary context.
func (u *Context) PID() int { return u.pid }

// Path is the context's binary, "" when it covers a whole process.
func (u *Context) Path() string { return u.path }

// splitProbe splits "provider:name" or "name" (any provider).
func splitProbe(probe string) (provider, name string) {
	provider, name, ok := strings.Cut(probe, ":")
	if !ok {
		return "", probe
	}
	return provider, name
}

// binary checks that the context names a process or a binary and returns
// the binary's full path ("" for a whole process).
func (u *Context) binary() (string, error) {
	if u.pid <= 0 && u.path == "" {
		return "", fmt.Errorf("%w: a context needs a pid or a binary path", ErrUSDT)
	}
	if u.path == "" {
		return "", nil
	}
	p, err := usym.FindBinary(u.path, u.pid)
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrUSDT, err)
	}
	return p, nil
}

func init() {
	usdtreq.Requests = func(contexts any) ([]compiler.USDTContext, error) {
		ctxs, ok := contexts.([]*Context)
		if !ok {
			return nil, fmt.Errorf("%w: contexts of type %T", ErrUSDT, contexts)
		}
		return requests(ctxs)
	}
}

// requests turns contexts into the compile helper's requests; nil
// contexts are skipped.
func requests(ctxs []*Context) ([]compiler.USDTContext, error) {
	var out []compiler.USDTContext
	for _, u := range ctxs {
		if u == nil {
			continue
		}
		path, err := u.binary()
		if err != nil {
			return nil, err
		}
		out = append(out, compiler.USDTContext{PID: u.pid, Path: path, Probes: u.probes})
	}
	return out, nil
}
