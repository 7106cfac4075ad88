// Package libbcc binds the parts of libbcc's C API that gobcc needs.
//
// libbcc is not linked at build time: Open finds libbcc.so.0 with dlopen and
// resolves each function with dlsym, so a gobcc binary starts on a machine
// without libbcc and says clearly what is missing when it needs it. Open also
// learns libbcc's version from the real file name of the library it loaded
// and calls each function with that version's signature: bcc_func_load gained
// an attach_type argument in 0.25, and calling it with the old signature is
// how gobpf broke.
//
// libbcc pulls in LLVM and clang; a process that loads it keeps well over
// 100 MB. gobcc therefore uses this package inside a short-lived helper
// process by default (see internal/compiler).
package libbcc

/*
#cgo LDFLAGS: -ldl
#define _GNU_SOURCE
#include <dlfcn.h>
#include <link.h>
#include <stdlib.h>
#include <stdbool.h>
#include <stddef.h>
#include <errno.h>

static void *gobcc_dlopen(const char *name) { return dlopen(name, RTLD_NOW | RTLD_LOCAL); }
static const char *gobcc_dlerror(void) { return dlerror(); }
static void *gobcc_dlsym(void *h, const char *name) { return dlsym(h, name); }
static const char *gobcc_dlpath(void *h) {
	struct link_map *lm = NULL;
	if (dlinfo(h, RTLD_DI_LINKMAP, &lm) != 0 || lm == NULL) return NULL;
	return lm->l_name;
}

typedef void *(*create_from_string_fn)(const char *, unsigned, const char **, int, bool, const char *);
static void *gobcc_create_from_string(void *f, const char *text, unsigned flags, const char **cflags, int n, const char *dev) {
	return ((create_from_string_fn)f)(text, flags, cflags, n, true, dev);
}

typedef void (*ptr_fn)(void *);
static void gobcc_call_ptr(void *f, void *p) { ((ptr_fn)f)(p); }

typedef size_t (*size_fn)(void *);
static size_t gobcc_call_size(void *f, void *p) { return ((size_fn)f)(p); }

typedef unsigned (*uint_fn)(void *);
static unsigned gobcc_call_uint(void *f, void *p) { return ((uint_fn)f)(p); }

typedef char *(*str_fn)(void *);
static char *gobcc_call_str(void *f, void *p) { return ((str_fn)f)(p); }

typedef const char *(*str_id_fn)(void *, size_t);
static const char *gobcc_call_str_id(void *f, void *p, size_t id) { return ((str_id_fn)f)(p, id); }

typedef void *(*ptr_id_fn)(void *, size_t);
static void *gobcc_call_ptr_id(void *f, void *p, size_t id) { return ((ptr_id_fn)f)(p, id); }

typedef size_t (*size_id_fn)(void *, size_t);
static size_t gobcc_call_size_id(void *f, void *p, size_t id) { return ((size_id_fn)f)(p, id); }

typedef int (*int_id_fn)(void *, size_t);
static int gobcc_call_int_id(void *f, void *p, size_t id) { return ((int_id_fn)f)(p, id); }

typedef size_t (*size_name_fn)(void *, const char *);
static size_t gobcc_call_size_name(void *f, void *p, const char *name) { return ((size_name_fn)f)(p, name); }

typedef const char *(*str_name_idx_fn)(void *, const char *, size_t);
static const char *gobcc_call_str_name_idx(void *f, void *p, const char *name, size_t i) { return ((str_name_idx_fn)f)(p, name, i); }

// bcc_func_load before libbcc 0.25: no attach_type.
typedef int (*func_load_v0_fn)(void *, int, const char *, const void *, int, const char *, unsigned, int, char *, unsigned, const char *);
// bcc_func_load from libbcc 0.25 on.
typedef int (*func_load_v1_fn)(void *, int, const char *, const void *, int, const char *, unsigned, int, char *, unsigned, const char *, int);

static int gobcc_func_load(void *f, int with_attach_type, void *mod, int prog_type, const char *name,
		const void *insns, int insns_len, const char *license, unsigned kver, int log_level,
		char *log_buf, unsigned log_size, int attach_type) {
	errno = 0;
	if (with_attach_type)
		return ((func_load_v1_fn)f)(mod, prog_type, name, insns, insns_len, license, kver, log_level, log_buf, log_size, NULL, attach_type);
	return ((func_load_v0_fn)f)(mod, prog_type, name, insns, insns_len, license, kver, log_level, log_buf, log_size, NULL);
}
*/
import "C"

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"unsafe"
)

// ErrNotFound is returned by Open when libbcc cannot be loaded.
var ErrNotFound = errors.New("libbcc not found (install libbpfcc, e.g. `apt-get install libbpfcc-dev`, or run scripts/setup.sh)")

// ErrCompile is returned when libbcc fails to compile a program. The
// diagnostics themselves are written by clang to the process's stderr.
var ErrCompile = errors.New("libbcc could not compile the program")

// Version is a libbcc release number.
type Version struct{ Major, Minor, Patch int }

func (v Version) String() string {
	if v == (Version{}) {
		return "unknown"
	}
	return fmt.Sprintf("%d.%d.%d", v.Major, v.Minor, v.Patch)
}

// AtLeast reports whether v is major.minor or newer. An unknown version
// counts as the newest, because libbcc's file name is versioned on every
// distribution we know and an unversioned one is most likely a fresh build.
func (v Version) AtLeast(major, minor int) bool {
	if v == (Version{}) {
		return true
	}
	return v.Major > major || (v.Major == major && v.Minor >= minor)
}

// Library is a loaded libbcc. It is safe for concurrent use as far as
// libbcc itself is: callers serialise compiles.
type Library struct {
	// Path is the real path of the loaded library file.
	Path string
	// Version is parsed from Path's file name (libbcc.so.0.26.0).
	Version Version

	handle unsafe.Pointer
	fn     map[string]unsafe.Pointer
}

// The libbcc functions gobcc calls. Each must resolve for Open to succeed.
var symbols = []string{
	"bpf_module_create_c_from_string",
	"bpf_module_destroy",
	"bpf_module_license",
	"bpf_module_kern_version",
	"bpf_num_functions",
	"bpf_function_name",
	"bpf_function_start_id",
	"bpf_function_size_id",
	"bpf_num_tables",
	"bpf_table_name",
	"bpf_table_fd_id",
	"bpf_table_type_id",
	"bpf_table_max_entries_id",
	"bpf_table_flags_id",
	"bpf_table_key_desc_id",
	"bpf_table_leaf_desc_id",
	"bpf_table_key_size_id",
	"bpf_table_leaf_size_id",
	"bpf_perf_event_fields",
	"bpf_perf_event_field",
	"bcc_func_load",
}

var (
	openOnce sync.Once
	openLib  *Library
	openErr  error
)

// Open loads libbcc once per process and returns it. The environment
// variable GOBCC_LIBBCC names another file to load instead of libbcc.so.0.
func Open() (*Library, error) {
	openOnce.Do(func() { openLib, openErr = open() })
	return openLib, openErr
}

func open() (*Library, error) {
	name := os.Getenv("GOBCC_LIBBCC")
	if name == "" {
		name = "libbcc.so.0"
	}
	cname := C.CString(name)
	defer C.free(unsafe.Pointer(cname))
	h := C.gobcc_dlopen(cname)
	if h == nil {
		return nil, fmt.Errorf("%w: dlopen(%s): %s", ErrNotFound, name, C.GoString(C.gobcc_dlerror()))
	}
	lib := &Library{handle: h, fn: make(map[string]unsafe.Pointer, len(symbols))}
	if p := C.gobcc_dlpath(h); p != nil {
		lib.Path = C.GoString(p)
		if real, err := filepath.EvalSymlinks(lib.Path); err == nil {
			lib.Path = real
		}
	}
	lib.Version = ParseVersion(filepath.Base(lib.Path))
	for _, s := range symbols {
		cs := C.CString(s)
		f := C.gobcc_dlsym(h, cs)
		C.free(unsafe.Pointer(cs))
		if f == nil {
			return nil, fmt.Errorf("%w: %s has no symbol %s (libbcc %s too old?)", ErrNotFound, lib.Path, s, lib.Version)
		}
		lib.fn[s] = f
	}
	return lib, nil
}

// ParseVersion reads a version from a library file name such as
// "libbcc.so.0.26.0". It returns the zero Version when there is none.
func ParseVersion(file string) Version {
	i := strings.Index(file, ".so.")
	if i < 0 {
		return Version{}
	}
	// libbcc's file name carries its release (libbcc.so.0.26.0 is 0.26.0);
	// the soname libbcc.so.0 happens to share the major number.
	parts := strings.Split(file[i+len(".so."):], ".")
	if len(parts) < 2 {
		return Version{}
	}
	var v [3]int
	for j := 0; j < 3 && j < len(parts); j++ {
		n, err := strconv.Atoi(parts[j])
		if err != nil {
			return Version{}
		}
		v[j] = n
	}
	return Version{v[0], v[1], v[2]}
}

// FuncLoadHasAttachType reports whether bcc_func_load takes the attach_type
// argument added in libbcc 0.25.
func (l *Library) FuncLoadHasAttachType() bool { return l.Version.AtLeast(0, 25) }

// Module is a compiled BPF module (libbcc's BPFModule). Its maps exist in
// the kernel from the moment it is created.
type Module struct {
	lib *Library
	p   unsafe.Pointer
}

// Compile compiles C text. flags are BCC's debug flags; cflags go to clang.
// On failure clang's diagnostics are on stderr and the error wraps
// ErrCompile.
func (l *Library) Compile(text string, debugFlags uint, cflags []string) (*Module, error) {
	ctext := C.CString(text)
	defer C.free(unsafe.Pointer(ctext))
	var cargs **C.char
	if len(cflags) > 0 {
		arr := C.malloc(C.size_t(len(cflags)) * C.size_t(unsafe.Sizeof(uintptr(0))))
		defer C.free(arr)
		s := unsafe.Slice((**C.char)(arr), len(cflags))
		for i, f := range cflags {
			s[i] = C.CString(f)
			defer C.free(unsafe.Pointer(s[i]))
		}
		cargs = (**C.char)(arr)
	}
	p := C.gobcc_create_from_string(l.fn["bpf_module_create_c_from_string"], ctext, C.uint(debugFlags), cargs, C.int(len(cflags)), nil)
	if p == nil {
		return nil, ErrCompile
	}
	return &Module{lib: l, p: p}, nil
}

// Close frees the module. Map fds that were duplicated or passed on stay valid.
func (m *Module) Close() {
	if m.p != nil {
		C.gobcc_call_ptr(m.lib.fn["bpf_module_destroy"], m.p)
		m.p = nil
	}
}

// License is the program's license string (from BPF_LICENSE or "GPL").
func (m *Module) License() string {
	s := C.gobcc_call_str(m.lib.fn["bpf_module_license"], m.p)
	if s == nil {
		return ""
	}
	return C.GoString(s)
}

// KernVersion is the kernel version libbcc compiled for.
func (m *Module) KernVersion() uint32 {
	return uint32(C.gobcc_call_uint(m.lib.fn["bpf_module_kern_version"], m.p))
}

// Function is a compiled BPF function: its name and its instructions.
type Function struct {
	Name  string
	Insns []byte
}

// Functions lists the module's functions with copies of their instructions.
func (m *Module) Functions() []Function {
	n := int(C.gobcc_call_size(m.lib.fn["bpf_num_functions"], m.p))
	out := make([]Function, 0, n)
	for i := 0; i < n; i++ {
		id := C.size_t(i)
		name := C.GoString(C.gobcc_call_str_id(m.lib.fn["bpf_function_name"], m.p, id))
		start := C.gobcc_call_ptr_id(m.lib.fn["bpf_function_start_id"], m.p, id)
		size := C.gobcc_call_size_id(m.lib.fn["bpf_function_size_id"], m.p, id)
		var insns []byte
		if start != nil && size > 0 {
			insns = C.GoBytes(start, C.int(size))
		}
		out = append(out, Function{Name: name, Insns: insns})
	}
	return out
}

// Table describes one of the module's maps as libbcc knows it.
type Table struct {
	Name       string
	FD         int
	Type       int
	MaxEntries int
	Flags      int
	KeyDesc    string
	LeafDesc   string
	KeySize    int
	LeafSize   int
	// Fields is libbcc's field list for the leaf when the table is a perf
	// or ring buffer output of a struct ("type name" strings), else nil.
	Fields []string
}

// Tables lists the module's maps. FDs belong to the module: duplicate them
// to keep them past Close.
func (m *Module) Tables() []Table {
	n := int(C.gobcc_call_size(m.lib.fn["bpf_num_tables"], m.p))
	out := make([]Table, 0, n)
	for i := 0; i < n; i++ {
		id := C.size_t(i)
		t := Table{
			Name:       C.GoString(C.gobcc_call_str_id(m.lib.fn["bpf_table_name"], m.p, id)),
			FD:         int(C.gobcc_call_int_id(m.lib.fn["bpf_table_fd_id"], m.p, id)),
			Type:       int(C.gobcc_call_int_id(m.lib.fn["bpf_table_type_id"], m.p, id)),
			MaxEntries: int(C.gobcc_call_size_id(m.lib.fn["bpf_table_max_entries_id"], m.p, id)),
			Flags:      int(C.gobcc_call_int_id(m.lib.fn["bpf_table_flags_id"], m.p, id)),
			KeySize:    int(C.gobcc_call_size_id(m.lib.fn["bpf_table_key_size_id"], m.p, id)),
			LeafSize:   int(C.gobcc_call_size_id(m.lib.fn["bpf_table_leaf_size_id"], m.p, id)),
		}
		if s := C.gobcc_call_str_id(m.lib.fn["bpf_table_key_desc_id"], m.p, id); s != nil {
			t.KeyDesc = C.GoString(s)
		}
		if s := C.gobcc_call_str_id(m.lib.fn["bpf_table_leaf_desc_id"], m.p, id); s != nil {
			t.LeafDesc = C.GoString(s)
		}
		t.Fields = m.perfEventFields(t.Name)
		out = append(out, t)
	}
	return out
}

func (m *Module) perfEventFields(table string) []string {
	cname := C.CString(table)
	defer C.free(unsafe.Pointer(cname))
	n := int(C.gobcc_call_size_name(m.lib.fn["bpf_perf_event_fields"], m.p, cname))
	if n <= 0 {
		return nil
	}
	out := make([]string, n)
	for i := range out {
		out[i] = C.GoString(C.gobcc_call_str_name_idx(m.lib.fn["bpf_perf_event_field"], m.p, cname, C.size_t(i)))
	}
	return out
}

// LoadResult is the outcome of loading one function through the verifier.
type LoadResult struct {
	FD  int
	Log string
	// Errno is the errno of a failed load (0 on success).
	Errno int
}

// maxLogSize bounds the verifier log buffer; the kernel accepts up to
// UINT_MAX>>2 but a log beyond this is of no use to a reader.
const maxLogSize = 1 << 30

// LoadFunc loads a function through libbcc's bcc_func_load, which also
// passes the module's BTF (so verifier logs carry source lines). logLevel is
// the verifier log level; when a load fails at level 0 it is retried at
// level 1 so the caller always gets the verifier's reason. The log buffer
// grows while the kernel reports ENOSPC.
func (m *Module) LoadFunc(name string, insns []byte, progType, attachType, logLevel int) LoadResult {
	cname := C.CString(name)
	defer C.free(unsafe.Pointer(cname))
	clicense := C.CString(m.License())
	defer C.free(unsafe.Pointer(clicense))
	cinsns := C.CBytes(insns)
	defer C.free(cinsns)
	withAttach := C.int(0)
	if m.lib.FuncLoadHasAttachType() {
		withAttach = 1
	}
	size := 64 * 1024
	level := logLevel
	for {
		var buf unsafe.Pointer
		var bufSize C.uint
		if level > 0 {
			buf = C.calloc(C.size_t(size), 1)
			bufSize = C.uint(size)
		}
		fd, errno := C.gobcc_func_load(m.lib.fn["bcc_func_load"], withAttach, m.p, C.int(progType), cname,
			cinsns, C.int(len(insns)), clicense, C.uint(m.KernVersion()), C.int(level),
			(*C.char)(buf), bufSize, C.int(attachType))
		var log string
		if buf != nil {
			log = C.GoString((*C.char)(buf))
			C.free(buf)
		}
		if fd >= 0 {
			return LoadResult{FD: int(fd), Log: log}
		}
		en := errnoOf(errno)
		if en == int(C.ENOSPC) && level > 0 && size < maxLogSize {
			size *= 4
			continue
		}
		if level == 0 {
			// Fetch the verifier's reason; the retry fails the same way.
			level = 1
			continue
		}
		return LoadResult{FD: -1, Log: log, Errno: en}
	}
}
