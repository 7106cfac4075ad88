package bcc

import (
	"fmt"
	"sync"

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

// KsymOption adjusts Ksym's output.
type KsymOption func(*ksymFormat)

type ksymFormat struct{ module, offset, noDemangle bool }

// WithModule appends " [module]" for symbols in modules (show_module=True).
func WithModule() KsymOption { return func(f *ksymFormat) { f.module = true } }

// WithOffset appends "+0xoff" (show_offset=True).
func WithOffset() KsymOption { return func(f *ksymFormat) { f.offset = true } }

// Ksym names the kernel function containing addr: the nearest symbol at or
// below it. It returns "[unknown]" as BCC does when there is none.
func (k *KernelSymbols) Ksym(addr uint64, opts ...KsymOption) string {
	var f ksymFormat
	for _, o := range opts {
		o(&f)
	}
	return k.t.Format(addr, f.module, f.offset)
}

// Lookup returns the symbol containing addr.
func (k *KernelSymbols) Lookup(addr uint64) (kallsyms.Symbol, bool) { return k.t.Lookup(addr) }

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
type kernelSymbolsOnce struct {
	mu  sync.Mutex
	k   *KernelSymbols
	err error
}

func (o *kernelSymbolsOnce) get() (*KernelSymbols, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.k == nil && o.err == nil {
		o.k, o.err = LoadKernelSymbols()
	}
	return o.k, o.err
}

func (o *kernelSymbolsOnce) release() {
	o.mu.Lock()
	o.k, o.err = nil, nil
	o.mu.Unlock()
}

// Ksym names the kernel function containing addr (BCC's b.ksym(addr)):
// "[unknown]" when none does or kallsyms cannot be read.
func (b *BPF) Ksym(addr uint64, opts ...KsymOption) string {
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
