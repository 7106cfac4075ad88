package bcc

import (
	"github.com/gobcc/gobcc/internal/usym"
	"github.com/gobcc/gobcc/symbols"
)

// Sym names the function containing addr in process pid (BCC's
// b.sym(addr, pid, show_module, show_offset, demangle)): opts, zero or one
// symbols.Options, select the output; a pid below zero means the kernel, as
// Ksym. It returns "[unknown]" when nothing covers addr. It runs in Go:
// /proc/PID/maps, the mapped ELF files and their debug files, and
// /tmp/perf-PID.map; caches live until Close.
func (b *BPF) Sym(addr uint64, pid int, opts ...symbols.Options) string {
	f, bad := ksymOptions(opts)
	if bad != "" {
		return bad
	}
	if pid < 0 {
		k, err := b.ksyms.get()
		if err != nil {
			return "[unknown]"
		}
		return k.Ksym(addr, f)
	}
	return b.usyms.Get().Resolve(pid, addr).Format(usym.FormatOptions(f), true)
}

// ResolveUser resolves addr in process pid to its parts (BCC's
// SymbolCache(pid).resolve).
func (b *BPF) ResolveUser(addr uint64, pid int) symbols.UserSymbol {
	res := b.usyms.Get().Resolve(pid, addr)
	return symbols.UserSymbol{Name: res.Name, Demangled: res.Demangled(), Offset: res.Offset, Module: res.Module, IFUNC: res.IFUNC}
}

// SymName returns the run-time address of function name in process pid's
// module (BCC's SymbolCache(pid).resolve_name(module, name)): module is a
// path as /proc/PID/maps shows it, or a short library name ("c").
func (b *BPF) SymName(pid int, module, name string) (uint64, error) {
	if pid < 0 {
		return b.KsymName(name)
	}
	return b.usyms.Get().ResolveName(pid, module, name)
}

// FindLibrary returns the path of a library from its short name (BCC's
// BPF.find_library): "c" -> "/lib/x86_64-linux-gnu/libc.so.6", from
// /etc/ld.so.cache.
func (b *BPF) FindLibrary(name string) (string, error) {
	return b.usyms.Get().WhichSO(name, 0)
}

// AddModule registers an ELF file whose build id stacks taken with
// BPF_F_STACK_BUILD_ID may name (BCC's b.add_module(path)).
func (b *BPF) AddModule(path string) error {
	_, err := b.usyms.Get().AddBuildIDModule(path)
	return err
}

// SymBuildID names a build-id stack frame (BCC's b.sym(frame, pid) for a
// bpf_stack_build_id) from a module registered with AddModule. Frames the
// kernel could only give as an address ("IP" status) resolve as Sym does
// in process pid.
func (b *BPF) SymBuildID(frame StackBuildIDFrame, pid int, opts ...symbols.Options) string {
	f, bad := ksymOptions(opts)
	if bad != "" {
		return bad
	}
	if frame.Status != StackBuildIDValid {
		if frame.Status == StackBuildIDIP && pid >= 0 {
			return b.Sym(frame.IP, pid, opts...)
		}
		return "[unknown]"
	}
	return b.usyms.Get().ResolveBuildID(frame.BuildIDHex(), frame.Offset).Format(usym.FormatOptions(f), false)
}
