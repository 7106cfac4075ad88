package bcc

import (
	"fmt"

	"github.com/gobcc/gobcc/internal/kallsyms"
)

// ErrAddressesHidden means /proc/kallsyms shows no addresses to this
// process (kernel.kptr_restrict, or not root).
var ErrAddressesHidden = kallsyms.ErrAddressesHidden

// KernelSymbols resolves kernel addresses to function names and back, from
// /proc/kallsyms read once. It is immutable and safe for concurrent use.
type KernelSymbols struct{ t *kallsyms.Table }

// LoadKernelSymbols reads /proc/kallsyms. It fails with ErrAddressesHidden
// when the kernel hides addresses from this process.
func LoadKernelSymbols() (*KernelSymbols, error) {
	t, err := kallsyms.Load()
	if err != nil {
		return nil, err
	}
	return &KernelSymbols{t: t}, nil
}

// KsymOptions select how Ksym, Sym and SymBuildID print a symbol: BCC's
// ksym(addr, show_module, show_offset) and sym(..., demangle). The zero
// value prints the bare name, demangled.
type KsymOptions struct {
	// ShowModule appends " [module]": the kernel module ("kernel" for
	// vmlinux) or the user-space file's base name (show_module=True).
	ShowModule bool
	// ShowOffset appends "+0xoff", the distance from the symbol's start
	// (show_offset=True).
	ShowOffset bool
	// NoDemangle leaves C++ names mangled (Sym's demangle=False). Kernel
	// names are never mangled: Ksym ignores it.
	NoDemangle bool
}

// ksymOptions picks the KsymOptions of a symbol function's opts. Those
// functions return strings and no error, as BCC's do, so misuse (more than
// one value) shows in the string, the way fmt shows a bad verb.
func ksymOptions(opts []KsymOptions) (KsymOptions, string) {
	o, err := oneOption(opts)
	if err != nil {
		return o, "[" + err.Error() + "]"
	}
	return o, ""
}

// Ksym names the kernel function containing addr: the nearest symbol at or
// below it. It returns "[unknown]" as BCC does when there is none. opts
// takes zero or one KsymOptions.
func (k *KernelSymbols) Ksym(addr uint64, opts ...KsymOptions) string {
	o, bad := ksymOptions(opts)
	if bad != "" {
		return bad
	}
	return k.t.Format(addr, o.ShowModule, o.ShowOffset)
}

// KernelSymbol is the kernel symbol containing an address, as Lookup finds
// it.
type KernelSymbol struct {
	// Name is the symbol name, e.g. "schedule".
	Name string
	// Module is the kernel module holding the symbol, or "kernel" for
	// vmlinux itself (as BCC's ksym(show_module=True) prints it).
	Module string
	// Addr is the symbol's start address.
	Addr uint64
	// Offset is how far the looked-up address lies past Addr.
	Offset uint64
}

// Lookup returns the symbol containing addr: the nearest at or below it.
// It reports false where BCC's ksym prints "[unknown]".
func (k *KernelSymbols) Lookup(addr uint64) (KernelSymbol, bool) {
	s, ok := k.t.Lookup(addr)
	if !ok {
		return KernelSymbol{}, false
	}
	return KernelSymbol{Name: s.Name, Module: s.Module, Addr: s.Addr, Offset: s.Offset}, true
}

// KsymName returns the address of a kernel symbol (BCC's ksymname).
func (k *KernelSymbols) KsymName(name string) (uint64, error) {
	a, ok := k.t.Address(name)
	if !ok {
		return 0, fmt.Errorf("kernel symbol %q: %w", name, ErrKeyNotExist)
	}
	return a, nil
}

// kernelSymbolsOnce loads kallsyms for a BPF object on first use and drops
// it on Close: no cache outlives the object.
type kernelSymbolsOnce struct{ kallsyms.Lazy }

func (o *kernelSymbolsOnce) get() (*KernelSymbols, error) {
	t, err := o.Get()
	if err != nil {
		return nil, err
	}
	return &KernelSymbols{t: t}, nil
}

func (o *kernelSymbolsOnce) release() { o.Release() }

// Ksym names the kernel function containing addr (BCC's
// b.ksym(addr, show_module, show_offset)): "[unknown]" when none does or
// kallsyms cannot be read. opts takes zero or one KsymOptions.
func (b *BPF) Ksym(addr uint64, opts ...KsymOptions) string {
	k, err := b.ksyms.get()
	if err != nil {
		return "[unknown]"
	}
	return k.Ksym(addr, opts...)
}

// KernelSymbols returns the object's kernel symbol table, loading it on
// first use.
func (b *BPF) KernelSymbols() (*KernelSymbols, error) { return b.ksyms.get() }

// KsymName returns the address of a kernel symbol (BCC's ksymname).
func (b *BPF) KsymName(name string) (uint64, error) {
	k, err := b.ksyms.get()
	if err != nil {
		return 0, err
	}
	return k.KsymName(name)
}
