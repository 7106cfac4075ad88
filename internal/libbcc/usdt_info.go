package libbcc

/*
#include <stdlib.h>
#include <stdint.h>

// struct bcc_usdt_location and struct bcc_usdt_argument from bcc_usdt.h
// (libbcc 0.26).
struct gobcc_usdt_location {
	uint64_t address;
	const char *bin_path;
};

struct gobcc_usdt_argument {
	int size;
	int valid;
	long long constant;
	int deref_offset;
	const char *deref_ident;
	const char *base_register_name;
	const char *index_register_name;
	int scale;
};

// struct bcc_usdt, repeated here: cgo preambles are per file.
struct gobcc_usdt_probe {
	const char *provider;
	const char *name;
	const char *bin_path;
	uint64_t semaphore;
	int num_locations;
	int num_arguments;
	uint64_t semaphore_offset;
};

typedef int (*usdt_get_location_fn)(void *, const char *, const char *, int, struct gobcc_usdt_location *);
typedef int (*usdt_get_argument_fn)(void *, const char *, const char *, int, int, struct gobcc_usdt_argument *);
typedef const char *(*usdt_argctype_fn)(void *, const char *, int);
typedef const char *(*usdt_argctype_full_fn)(void *, const char *, const char *, int);
typedef void (*usdt_probe_cb)(struct gobcc_usdt_probe *);
typedef void (*usdt_foreach_probe_fn)(void *, usdt_probe_cb);

static int gobcc_usdt_get_location(void *f, void *u, const char *prov, const char *name, int i, struct gobcc_usdt_location *loc) {
	return ((usdt_get_location_fn)f)(u, prov, name, i, loc);
}
static int gobcc_usdt_get_argument(void *f, void *u, const char *prov, const char *name, int loc, int arg, struct gobcc_usdt_argument *a) {
	return ((usdt_get_argument_fn)f)(u, prov, name, loc, arg, a);
}
static const char *gobcc_usdt_argctype(void *f, void *u, const char *name, int i) {
	return ((usdt_argctype_fn)f)(u, name, i);
}
static const char *gobcc_usdt_argctype_full(void *f, void *u, const char *prov, const char *name, int i) {
	return ((usdt_argctype_full_fn)f)(u, prov, name, i);
}

// The argument counts of bcc_usdt_foreach, in call order; usdtMu
// serialises the calls.
static int *gobcc_nargs;
static int gobcc_nnargs, gobcc_capnargs;
static void gobcc_nargs_cb(struct gobcc_usdt_probe *p) {
	if (gobcc_nnargs == gobcc_capnargs) {
		int cap = gobcc_capnargs ? gobcc_capnargs * 2 : 16;
		int *n = realloc(gobcc_nargs, cap * sizeof *n);
		if (!n) return;
		gobcc_nargs = n;
		gobcc_capnargs = cap;
	}
	gobcc_nargs[gobcc_nnargs++] = p->num_arguments;
}
static void gobcc_usdt_foreach_nargs(void *f, void *u) {
	gobcc_nnargs = 0;
	((usdt_foreach_probe_fn)f)(u, gobcc_nargs_cb);
}
static int gobcc_nargs_len(void) { return gobcc_nnargs; }
static int gobcc_nargs_at(int i) { return gobcc_nargs[i]; }
*/
import "C"

import (
	"fmt"
	"unsafe"
)

// USDT argument flags: which fields of a USDTArgument are set
// (BCC_USDT_ARGUMENT_*).
const (
	USDTArgConstant          = 0x1
	USDTArgDerefOffset       = 0x2
	USDTArgDerefIdent        = 0x4
	USDTArgBaseRegisterName  = 0x8
	USDTArgIndexRegisterName = 0x10
	USDTArgScale             = 0x20
)

// USDTLocation is one place a probe fires (struct bcc_usdt_location).
type USDTLocation struct {
	Address uint64
	BinPath string
}

// USDTArgument is one argument at one location, as libbcc parsed its
// assembler operand (struct bcc_usdt_argument). Valid says which fields
// are set.
type USDTArgument struct {
	Size, Valid                                     int
	Constant                                        int64
	DerefOffset                                     int
	DerefIdent, BaseRegisterName, IndexRegisterName string
	Scale                                           int
}

func cstrings(ss ...string) ([]*C.char, func()) {
	out := make([]*C.char, len(ss))
	for i, s := range ss {
		out[i] = C.CString(s)
	}
	return out, func() {
		for _, p := range out {
			C.free(unsafe.Pointer(p))
		}
	}
}

// Location returns location index of probe provider:name
// (bcc_usdt_get_location).
func (u *USDTContext) Location(provider, name string, index int) (USDTLocation, error) {
	usdtMu.Lock()
	defer usdtMu.Unlock()
	if u.p == nil {
		return USDTLocation{}, fmt.Errorf("%w: context closed", ErrUSDT)
	}
	f, err := u.lib.usdtSymbol("bcc_usdt_get_location")
	if err != nil {
		return USDTLocation{}, err
	}
	cs, free := cstrings(provider, name)
	defer free()
	var loc C.struct_gobcc_usdt_location
	if rc := C.gobcc_usdt_get_location(f, u.p, cs[0], cs[1], C.int(index), &loc); rc != 0 {
		return USDTLocation{}, fmt.Errorf("%w: error retrieving probe %s:%s location %d", ErrUSDT, provider, name, index)
	}
	return USDTLocation{Address: uint64(loc.address), BinPath: C.GoString(loc.bin_path)}, nil
}

// Argument returns argument arg at location loc of probe provider:name
// (bcc_usdt_get_argument).
func (u *USDTContext) Argument(provider, name string, loc, arg int) (USDTArgument, error) {
	usdtMu.Lock()
	defer usdtMu.Unlock()
	if u.p == nil {
		return USDTArgument{}, fmt.Errorf("%w: context closed", ErrUSDT)
	}
	f, err := u.lib.usdtSymbol("bcc_usdt_get_argument")
	if err != nil {
		return USDTArgument{}, err
	}
	cs, free := cstrings(provider, name)
	defer free()
	var a C.struct_gobcc_usdt_argument
	if rc := C.gobcc_usdt_get_argument(f, u.p, cs[0], cs[1], C.int(loc), C.int(arg), &a); rc != 0 {
		return USDTArgument{}, fmt.Errorf("%w: error retrieving probe %s:%s argument %d location %d", ErrUSDT, provider, name, arg, loc)
	}
	str := func(p *C.char) string {
		if p == nil {
			return ""
		}
		return C.GoString(p)
	}
	return USDTArgument{
		Size: int(a.size), Valid: int(a.valid), Constant: int64(a.constant), DerefOffset: int(a.deref_offset),
		DerefIdent: str(a.deref_ident), BaseRegisterName: str(a.base_register_name),
		IndexRegisterName: str(a.index_register_name), Scale: int(a.scale),
	}, nil
}

// ArgCType returns the C type of argument index of probe (in provider
// when not empty), "" when there is no such probe or argument
// (bcc_usdt_get_probe_argctype and its fully specified form).
func (u *USDTContext) ArgCType(provider, probe string, index int) (string, error) {
	usdtMu.Lock()
	defer usdtMu.Unlock()
	if u.p == nil {
		return "", fmt.Errorf("%w: context closed", ErrUSDT)
	}
	var s *C.char
	if provider == "" {
		f, err := u.lib.usdtSymbol("bcc_usdt_get_probe_argctype")
		if err != nil {
			return "", err
		}
		cs, free := cstrings(probe)
		defer free()
		s = C.gobcc_usdt_argctype(f, u.p, cs[0], C.int(index))
	} else {
		f, err := u.lib.usdtSymbol("bcc_usdt_get_fully_specified_probe_argctype")
		if err != nil {
			return "", err
		}
		cs, free := cstrings(provider, probe)
		defer free()
		s = C.gobcc_usdt_argctype_full(f, u.p, cs[0], cs[1], C.int(index))
	}
	if s == nil {
		return "", nil
	}
	return C.GoString(s), nil
}

// ArgumentCounts returns each probe's argument count, in the order Probes
// lists the probes (both walk bcc_usdt_foreach).
func (u *USDTContext) ArgumentCounts() ([]int, error) {
	usdtMu.Lock()
	defer usdtMu.Unlock()
	if u.p == nil {
		return nil, fmt.Errorf("%w: context closed", ErrUSDT)
	}
	f, err := u.lib.usdtSymbol("bcc_usdt_foreach")
	if err != nil {
		return nil, err
	}
	C.gobcc_usdt_foreach_nargs(f, u.p)
	out := make([]int, int(C.gobcc_nargs_len()))
	for i := range out {
		out[i] = int(C.gobcc_nargs_at(C.int(i)))
	}
	return out, nil
}
