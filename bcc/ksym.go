package bcc

import (
	"sync"

	"github.com/gobcc/gobcc/internal/optarg"
	"github.com/gobcc/gobcc/symbols"
)

// ksymOptions picks the symbols.Options of a symbol method's opts. Those
// methods return strings and no error, as BCC's do, so misuse (more than
// one value) shows in the string.
func ksymOptions(opts []symbols.Options) (symbols.Options, string) {
	return optarg.OneOrComplaint(opts)
}

// kernelSymbolsOnce loads kallsyms for a BPF object on first use and drops
// it on Close: no table outlives the object. A failed load is remembered
// until then.
type kernelSymbolsOnce struct {
	mu  sync.Mutex
	k   *symbols.Kernel
	err error
}

func (o *kernelSymbolsOnce) get() (*symbols.Kernel, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.k == nil && o.err == nil {
		o.k, o.err = symbols.LoadKernel()
	}
	return o.k, o.err
}

func (o *kernelSymbolsOnce) release() {
	o.mu.Lock()
	o.k, o.err = nil, nil
	o.mu.Unlock()
}

// Ksym names the kernel function containing addr (BCC's
// b.ksym(addr, show_module, show_offset)): "[unknown]" when none does or
// kallsyms cannot be read. opts takes zero or one symbols.Options.
func (b *BPF) Ksym(addr uint64, opts ...symbols.Options) string {
	o, bad := ksymOptions(opts)
	if bad != "" {
		return bad
	}
	k, err := b.ksyms.get()
	if err != nil {
		return "[unknown]"
	}
	return k.Ksym(addr, o)
}

// KernelSymbols returns the object's kernel symbol table, loading it on
// first use.
func (b *BPF) KernelSymbols() (*symbols.Kernel, error) { return b.ksyms.get() }

// KsymName returns the address of a kernel symbol (BCC's ksymname).
func (b *BPF) KsymName(name string) (uint64, error) {
	k, err := b.ksyms.get()
	if err != nil {
		return 0, err
	}
	return k.KsymName(name)
}
