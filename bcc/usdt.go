package bcc

import (
	"errors"
	"fmt"
	"strings"

	"github.com/gobcc/gobcc/internal/compiler"
	"github.com/gobcc/gobcc/internal/usym"
)

// ErrUSDT means a USDT context or probe could not be set up.
var ErrUSDT = errors.New("USDT")

// USDT is a set of USDT (user statically defined tracing) probes to enable,
// in a process or a binary: BCC Python's USDT object. Pass it to New in
// Options.USDTContexts; New has libbcc generate the code behind
// bpf_usdt_readarg in the compile helper, prepends it to the program as BCC
// does, and attaches a uprobe at each probe location.
//
// Semaphores: a probe guarded by a semaphore fires only while the
// semaphore is non-zero. gobcc passes each semaphore's file offset to the
// kernel with the uprobe (ref_ctr_offset, Linux 4.20+), so the kernel
// raises it in every process mapping the binary, processes started later
// included, for as long as the probe is attached, and lowers it on Close.
// (libbcc also raises it through /proc/PID/mem for process contexts, as
// BCC does; the helper undoes that when it ends.)
type USDT struct {
	pid    int
	path   string
	probes []compiler.USDTProbe
}

// NewUSDT is BCC's USDT(pid=, path=): the probes of process pid (pid > 0),
// optionally only those in binary path, or of binary path (pid 0).
func NewUSDT(pid int, path string) *USDT { return &USDT{pid: pid, path: path} }

// USDTForPID is NewUSDT(pid, "").
func USDTForPID(pid int) *USDT { return NewUSDT(pid, "") }

// USDTForPath is NewUSDT(0, path). path may also be a library name
// ("c") or an executable on $PATH, resolved as for uprobes.
func USDTForPath(path string) *USDT { return NewUSDT(0, path) }

// EnableProbe has probe run the BPF function fnName (BCC's
// enable_probe(probe=, fn_name=)). probe is "name" or "provider:name".
// The probe is looked up when New compiles the program.
func (u *USDT) EnableProbe(probe, fnName string) error {
	provider, name, ok := strings.Cut(probe, ":")
	if !ok {
		provider, name = "", probe
	}
	if name == "" || fnName == "" || strings.Contains(name, ":") {
		return fmt.Errorf("%w: probe %q for %q: want \"name\" or \"provider:name\" and a function", ErrUSDT, probe, fnName)
	}
	u.probes = append(u.probes, compiler.USDTProbe{Provider: provider, Name: name, FnName: fnName})
	return nil
}

// PID is the context's process, 0 for a binary context.
func (u *USDT) PID() int { return u.pid }

// Path is the context's binary, "" when it covers a whole process.
func (u *USDT) Path() string { return u.path }

func usdtRequests(ctxs []*USDT) ([]compiler.USDTContext, error) {
	var out []compiler.USDTContext
	for _, u := range ctxs {
		if u == nil {
			continue
		}
		if u.pid <= 0 && u.path == "" {
			return nil, fmt.Errorf("%w: a context needs a pid or a path", ErrUSDT)
		}
		path := u.path
		if path != "" {
			p, err := usym.FindBinary(path, u.pid)
			if err != nil {
				return nil, fmt.Errorf("%w: %w", ErrUSDT, err)
			}
			path = p
		}
		out = append(out, compiler.USDTContext{PID: u.pid, Path: path, Probes: u.probes})
	}
	return out, nil
}

// attachUSDT attaches the uprobes the compile helper found for the USDT
// contexts (BCC's USDT.attach_uprobes).
func (b *BPF) attachUSDT(ignorePID bool) error {
	for _, p := range b.result.USDTUprobes {
		pid := p.PID
		if ignorePID || pid <= 0 {
			pid = -1
		}
		// As BCC's attach_uprobe(addr=, pid=): a process's binary is
		// probed through /proc/PID/root.
		path, off, err := b.usyms.get().ResolveAddress(resolvePID(pid), p.BinPath, p.Addr)
		if err != nil {
			return fmt.Errorf("%w: probe for %s in %s: %w", ErrUSDT, p.FnName, p.BinPath, err)
		}
		if _, err := b.attachUprobeAt(path, off, p.FnName, pid, p.SemaphoreOffset, false); err != nil {
			return fmt.Errorf("%w: %w", ErrUSDT, err)
		}
	}
	return nil
}
