package usym

/*
#cgo LDFLAGS: -ldl
#define _GNU_SOURCE
#include <dlfcn.h>
#include <link.h>
#include <stdint.h>
#include <stdlib.h>

// gobcc_ifunc_impl resolves sym in the shared object path the way the
// dynamic linker does for callers, running its IFUNC resolver, and returns
// the implementation's address relative to the object's load base.
static int gobcc_ifunc_impl(const char *path, const char *sym, uint64_t *rel) {
	void *h = dlopen(path, RTLD_LAZY | RTLD_LOCAL);
	if (!h) return -1;
	void *addr = dlsym(h, sym);
	struct link_map *lm = NULL;
	int ok = addr && dlinfo(h, RTLD_DI_LINKMAP, &lm) == 0 && lm;
	if (ok) *rel = (uint64_t)(uintptr_t)addr - (uint64_t)lm->l_addr;
	dlclose(h);
	return ok ? 0 : -1;
}
*/
import "C"

import (
	"debug/elf"
	"errors"
	"fmt"
	"unsafe"
)

// ErrIFUNCUnresolved means an IFUNC symbol's implementation could not be
// found; a probe on the symbol would hit only its resolver.
var ErrIFUNCUnresolved = errors.New("IFUNC implementation not resolved")

// ResolveIFUNC finds the implementation an IFUNC symbol of a shared object
// resolves to, by loading the object into this process and asking the
// dynamic linker, which runs the resolver. The resolver picks by CPU
// features, which a traced process on the same machine shares, so the
// answer is the implementation that process calls. It returns the
// implementation's symbol (named when a symbol table has it) with its
// file offset. Executables cannot be loaded this way. (libbcc probes the
// resolver; BCC Python's tools work around that by hand.)
func ResolveIFUNC(path, sym string) (SymbolAddress, error) {
	syms, f, err := symbolsInOrder(path, isFuncType, DebugOptions{})
	if err != nil {
		return SymbolAddress{}, err
	}
	defer f.Close()
	if f.Type != elf.ET_DYN {
		return SymbolAddress{}, fmt.Errorf("%s in %s: %w: not a shared object", sym, path, ErrIFUNCUnresolved)
	}
	cpath, csym := C.CString(path), C.CString(sym)
	defer C.free(unsafe.Pointer(cpath))
	defer C.free(unsafe.Pointer(csym))
	var rel C.uint64_t
	if C.gobcc_ifunc_impl(cpath, csym, &rel) != 0 {
		return SymbolAddress{}, fmt.Errorf("%s in %s: %w: dlopen/dlsym failed", sym, path, ErrIFUNCUnresolved)
	}
	vaddr := uint64(rel)
	off, err := execFileOffset(f, vaddr)
	if err != nil {
		return SymbolAddress{}, fmt.Errorf("%s in %s: %w: %w", sym, path, ErrIFUNCUnresolved, err)
	}
	impl := SymbolAddress{Name: sym, Value: vaddr, FileOffset: off}
	// Name it after the implementation when a function symbol starts there.
	for _, s := range syms {
		if s.Value == vaddr && s.Type == elf.STT_FUNC {
			impl.Name = s.Name
			break
		}
	}
	return impl, nil
}
