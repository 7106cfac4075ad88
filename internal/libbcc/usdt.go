package libbcc

/*
#include <dlfcn.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>

static void *gobcc_usdt_dlsym(void *h, const char *name) { return dlsym(h, name); }

// struct bcc_usdt from bcc_usdt.h (libbcc 0.26).
struct gobcc_bcc_usdt {
	const char *provider;
	const char *name;
	const char *bin_path;
	uint64_t semaphore;
	int num_locations;
	int num_arguments;
	uint64_t semaphore_offset;
};

typedef void *(*usdt_new_pid_fn)(int, const char *);
typedef void *(*usdt_new_path_fn)(const char *);
typedef void (*usdt_close_fn)(void *);
typedef int (*usdt_enable_fn)(void *, const char *, const char *);
typedef int (*usdt_enable_full_fn)(void *, const char *, const char *, const char *);
typedef const char *(*usdt_genargs_fn)(void **, int);
typedef void (*usdt_uprobe_cb)(const char *, const char *, uint64_t, int);
typedef void (*usdt_foreach_uprobe_fn)(void *, usdt_uprobe_cb);
typedef void (*usdt_cb)(struct gobcc_bcc_usdt *);
typedef void (*usdt_foreach_fn)(void *, usdt_cb);

static void *gobcc_usdt_new_pid(void *f, int pid, const char *path) { return ((usdt_new_pid_fn)f)(pid, path); }
static void *gobcc_usdt_new_path(void *f, const char *path) { return ((usdt_new_path_fn)f)(path); }
static void gobcc_usdt_close(void *f, void *u) { ((usdt_close_fn)f)(u); }
static int gobcc_usdt_enable(void *f, void *u, const char *probe, const char *fn) { return ((usdt_enable_fn)f)(u, probe, fn); }
static int gobcc_usdt_enable_full(void *f, void *u, const char *provider, const char *probe, const char *fn) {
	return ((usdt_enable_full_fn)f)(u, provider, probe, fn);
}
static const char *gobcc_usdt_genargs(void *f, void **ctxs, int n) { return ((usdt_genargs_fn)f)(ctxs, n); }

// libbcc reports through callbacks without a user pointer; the calls are
// serialised by the Go side (usdtMu), so one collector at a time suffices.
struct gobcc_usdt_item {
	char *a, *b, *c;
	uint64_t x, y;
	int n;
};
static struct gobcc_usdt_item *gobcc_items;
static int gobcc_nitems, gobcc_capitems;

static struct gobcc_usdt_item *gobcc_next_item(void) {
	if (gobcc_nitems == gobcc_capitems) {
		int cap = gobcc_capitems ? gobcc_capitems * 2 : 16;
		struct gobcc_usdt_item *p = realloc(gobcc_items, cap * sizeof *p);
		if (!p) return NULL;
		gobcc_items = p;
		gobcc_capitems = cap;
	}
	struct gobcc_usdt_item *it = &gobcc_items[gobcc_nitems++];
	memset(it, 0, sizeof *it);
	return it;
}

static void gobcc_uprobe_cb(const char *bin, const char *fn, uint64_t addr, int pid) {
	struct gobcc_usdt_item *it = gobcc_next_item();
	if (!it) return;
	it->a = strdup(bin ? bin : "");
	it->b = strdup(fn ? fn : "");
	it->x = addr;
	it->n = pid;
}

static void gobcc_probe_cb(struct gobcc_bcc_usdt *u) {
	struct gobcc_usdt_item *it = gobcc_next_item();
	if (!it) return;
	it->a = strdup(u->provider ? u->provider : "");
	it->b = strdup(u->name ? u->name : "");
	it->c = strdup(u->bin_path ? u->bin_path : "");
	it->x = u->semaphore;
	it->y = u->semaphore_offset;
	it->n = u->num_locations;
}

static void gobcc_usdt_foreach_uprobe(void *f, void *u) { ((usdt_foreach_uprobe_fn)f)(u, gobcc_uprobe_cb); }
static void gobcc_usdt_foreach(void *f, void *u) { ((usdt_foreach_fn)f)(u, gobcc_probe_cb); }

static void gobcc_items_reset(void) {
	for (int i = 0; i < gobcc_nitems; i++) {
		free(gobcc_items[i].a);
		free(gobcc_items[i].b);
		free(gobcc_items[i].c);
	}
	gobcc_nitems = 0;
}
static int gobcc_items_len(void) { return gobcc_nitems; }
static struct gobcc_usdt_item *gobcc_item(int i) { return &gobcc_items[i]; }
static const char *gobcc_str_or_empty(const char *s) { return s ? s : ""; }
*/
import "C"

import (
	"errors"
	"fmt"
	"sync"
	"unsafe"
)

// ErrUSDT means libbcc could not open a USDT context or enable a probe.
var ErrUSDT = errors.New("USDT")

// usdtMu serialises libbcc's USDT calls: the callbacks share one collector,
// and libbcc's USDT code is not meant for concurrent use. It also guards
// usdtSyms.
var usdtMu sync.Mutex

// usdtSyms holds the USDT functions resolved so far. It is apart from
// Library.fn, which Open fills and others read without a lock.
var usdtSyms = map[string]unsafe.Pointer{}

// usdtSymbol, called with usdtMu held, resolves a USDT function lazily, so that a libbcc without USDT
// support fails only when USDT is used.
func (l *Library) usdtSymbol(name string) (unsafe.Pointer, error) {
	if f, ok := usdtSyms[name]; ok {
		return f, nil
	}
	cs := C.CString(name)
	defer C.free(unsafe.Pointer(cs))
	f := C.gobcc_usdt_dlsym(l.handle, cs)
	if f == nil {
		return nil, fmt.Errorf("%w: %s has no symbol %s", ErrNotFound, l.Path, name)
	}
	usdtSyms[name] = f
	return f, nil
}

// USDTContext is libbcc's USDT context for a process or a binary.
type USDTContext struct {
	lib *Library
	p   unsafe.Pointer
}

// NewUSDTFromPID opens the USDT probes of process pid (optionally only
// those of binary path) (bcc_usdt_new_frompid).
func (l *Library) NewUSDTFromPID(pid int, path string) (*USDTContext, error) {
	usdtMu.Lock()
	defer usdtMu.Unlock()
	f, err := l.usdtSymbol("bcc_usdt_new_frompid")
	if err != nil {
		return nil, err
	}
	var cpath *C.char
	if path != "" {
		cpath = C.CString(path)
		defer C.free(unsafe.Pointer(cpath))
	}
	p := C.gobcc_usdt_new_pid(f, C.int(pid), cpath)
	if p == nil {
		return nil, fmt.Errorf("%w: no USDT context for process %d (not running, or no USDT probes)", ErrUSDT, pid)
	}
	return &USDTContext{lib: l, p: p}, nil
}

// NewUSDTFromPath opens the USDT probes of a binary (bcc_usdt_new_frompath).
func (l *Library) NewUSDTFromPath(path string) (*USDTContext, error) {
	usdtMu.Lock()
	defer usdtMu.Unlock()
	f, err := l.usdtSymbol("bcc_usdt_new_frompath")
	if err != nil {
		return nil, err
	}
	cpath := C.CString(path)
	defer C.free(unsafe.Pointer(cpath))
	p := C.gobcc_usdt_new_path(f, cpath)
	if p == nil {
		return nil, fmt.Errorf("%w: no USDT context for %s (missing, or no USDT probes)", ErrUSDT, path)
	}
	return &USDTContext{lib: l, p: p}, nil
}

// EnableProbe enables probe (in provider, when not empty) and has it run
// the BPF function fn (bcc_usdt_enable_probe and
// bcc_usdt_enable_fully_specified_probe). For a process context, libbcc
// also increments the probe's semaphore in the process; Close undoes it.
func (u *USDTContext) EnableProbe(provider, probe, fn string) error {
	usdtMu.Lock()
	defer usdtMu.Unlock()
	cprobe, cfn := C.CString(probe), C.CString(fn)
	defer C.free(unsafe.Pointer(cprobe))
	defer C.free(unsafe.Pointer(cfn))
	var rc C.int
	if provider == "" {
		f, err := u.lib.usdtSymbol("bcc_usdt_enable_probe")
		if err != nil {
			return err
		}
		rc = C.gobcc_usdt_enable(f, u.p, cprobe, cfn)
	} else {
		f, err := u.lib.usdtSymbol("bcc_usdt_enable_fully_specified_probe")
		if err != nil {
			return err
		}
		cprov := C.CString(provider)
		defer C.free(unsafe.Pointer(cprov))
		rc = C.gobcc_usdt_enable_full(f, u.p, cprov, cprobe, cfn)
	}
	if rc != 0 {
		name := probe
		if provider != "" {
			name = provider + ":" + probe
		}
		return fmt.Errorf("%w: failed to enable probe %s (no such probe; or it has a semaphore, which libbcc sets only in a process context (a pid), or could not set)", ErrUSDT, name)
	}
	return nil
}

// USDTGenArgs returns the C code that defines bpf_usdt_readarg for the
// enabled probes of ctxs (bcc_usdt_genargs); it is prepended to the program.
func (l *Library) USDTGenArgs(ctxs []*USDTContext) (string, error) {
	usdtMu.Lock()
	defer usdtMu.Unlock()
	f, err := l.usdtSymbol("bcc_usdt_genargs")
	if err != nil {
		return "", err
	}
	if len(ctxs) == 0 {
		return "", nil
	}
	arr := C.malloc(C.size_t(len(ctxs)) * C.size_t(unsafe.Sizeof(uintptr(0))))
	defer C.free(arr)
	s := unsafe.Slice((*unsafe.Pointer)(arr), len(ctxs))
	for i, c := range ctxs {
		s[i] = c.p
	}
	text := C.gobcc_usdt_genargs(f, (*unsafe.Pointer)(arr), C.int(len(ctxs)))
	if text == nil {
		return "", fmt.Errorf("%w: can't generate USDT probe arguments; possible cause is missing pid when a probe in a shared object has multiple locations", ErrUSDT)
	}
	return C.GoString(text), nil
}

// USDTUprobe is one place an enabled probe needs a uprobe.
type USDTUprobe struct {
	BinPath string
	FnName  string
	// Addr is the probe's address in the binary's layout.
	Addr uint64
	// PID is the context's process, or -1.
	PID int
}

// Uprobes lists the uprobes the enabled probes need
// (bcc_usdt_foreach_uprobe).
func (u *USDTContext) Uprobes() ([]USDTUprobe, error) {
	return collectUSDT(u, "bcc_usdt_foreach_uprobe",
		func(f unsafe.Pointer) { C.gobcc_usdt_foreach_uprobe(f, u.p) },
		func(it *C.struct_gobcc_usdt_item) USDTUprobe {
			return USDTUprobe{
				BinPath: C.GoString(C.gobcc_str_or_empty(it.a)), FnName: C.GoString(C.gobcc_str_or_empty(it.b)),
				Addr: uint64(it.x), PID: int(it.n),
			}
		})
}

// collectUSDT calls libbcc's foreach function sym through run, which
// gathers one C item per call of its callback, and converts the items.
// usdtMu guards the shared item list.
func collectUSDT[T any](u *USDTContext, sym string, run func(f unsafe.Pointer), conv func(*C.struct_gobcc_usdt_item) T) ([]T, error) {
	usdtMu.Lock()
	defer usdtMu.Unlock()
	f, err := u.lib.usdtSymbol(sym)
	if err != nil {
		return nil, err
	}
	C.gobcc_items_reset()
	defer C.gobcc_items_reset()
	run(f)
	out := make([]T, 0, int(C.gobcc_items_len()))
	for i := 0; i < int(C.gobcc_items_len()); i++ {
		out = append(out, conv(C.gobcc_item(C.int(i))))
	}
	return out, nil
}

// USDTProbe describes one probe of a context (struct bcc_usdt).
type USDTProbe struct {
	Provider, Name, BinPath string
	// Semaphore is the semaphore's address in the binary's layout, 0 when
	// the probe has none; SemaphoreOffset its file offset.
	Semaphore, SemaphoreOffset uint64
	NumLocations               int
}

// Probes lists every probe the context found (bcc_usdt_foreach).
func (u *USDTContext) Probes() ([]USDTProbe, error) {
	return collectUSDT(u, "bcc_usdt_foreach",
		func(f unsafe.Pointer) { C.gobcc_usdt_foreach(f, u.p) },
		func(it *C.struct_gobcc_usdt_item) USDTProbe {
			return USDTProbe{
				Provider: C.GoString(C.gobcc_str_or_empty(it.a)), Name: C.GoString(C.gobcc_str_or_empty(it.b)),
				BinPath: C.GoString(C.gobcc_str_or_empty(it.c)), Semaphore: uint64(it.x), SemaphoreOffset: uint64(it.y),
				NumLocations: int(it.n),
			}
		})
}

// Close frees the context; for a process context libbcc first decrements
// the semaphores EnableProbe incremented (bcc_usdt_close).
func (u *USDTContext) Close() {
	usdtMu.Lock()
	defer usdtMu.Unlock()
	if u.p == nil {
		return
	}
	if f, err := u.lib.usdtSymbol("bcc_usdt_close"); err == nil {
		C.gobcc_usdt_close(f, u.p)
	}
	u.p = nil
}
