// Package bpfobj writes and reads gobcc's compiled programs as standard ELF
// BPF object files: one section per function, BTF-defined maps (a ".maps"
// section described in ".BTF") with R_BPF_64_64 relocations, "license" and
// "version" sections, in the form libbpf 1.x (bpftool prog loadall),
// cilium/ebpf and llvm-objdump read. What BCC needs
// beyond that (the C type descriptions of table keys and leaves, the fields
// of perf output structs, the libbcc version) travels in a non-allocated
// section named "gobcc.meta", which other loaders ignore.
//
// Objects are checked on read: ELF class, byte order and machine, the
// format version, the architecture, a SHA-256 checksum over the whole file,
// and every relocation (it must point at a map symbol and land on the first
// half of a 64-bit immediate load). A failed check is an error wrapping
// ErrInvalid; nothing of a bad object reaches the kernel.
package bpfobj

import (
	"errors"
	"runtime"
)

// FormatVersion is the version of the gobcc.meta section's layout. Readers
// refuse other versions: a cache entry or object of another gobcc release is
// recompiled (cache) or rejected with a clear error (object file).
const FormatVersion = 1

// MetaSection is the name of gobcc's own section.
const MetaSection = "gobcc.meta"

// ErrInvalid means an object is malformed, corrupt, truncated, of another
// format version or another architecture.
var ErrInvalid = errors.New("invalid gobcc object")

// Object is a compiled BCC program: its functions with the maps they refer
// to, as libbcc produced them.
type Object struct {
	// License is the program's license (BPF_LICENSE or "GPL").
	License string
	// KernVersion is LINUX_VERSION_CODE as libbcc computed it.
	KernVersion uint32
	// Functions are the program's functions in libbcc's order.
	Functions []Function
	// Maps are the program's tables in libbcc's order.
	Maps []Map
	// LibbccVersion is the version of the libbcc that compiled it.
	LibbccVersion string
	// Arch is the GOARCH the object was compiled for (libbcc compiles for
	// the host: struct layouts follow its ABI).
	Arch string
	// KernelRelease is `uname -r` of the machine that compiled it; kernel
	// struct offsets in the code are that kernel's.
	KernelRelease string
	// Source names where the program came from (a file name), for messages.
	Source string
}

// Function is one compiled function.
type Function struct {
	// Name is the C function's name.
	Name string
	// Section is the ELF section it is written to: libbpf's name for its
	// program type where the BCC name says it (tracepoint/CAT/NAME,
	// raw_tracepoint/NAME, kprobe/FN, ...), else "gobcc/NAME".
	Section string
	// Insns are the instructions, 8 bytes each in host byte order. On
	// write, 64-bit immediate loads of a map descriptor (src_reg
	// BPF_PSEUDO_MAP_FD) must carry the map's ModuleFD; on read they carry
	// 0 and MapRefs says which map each refers to.
	Insns []byte
	// MapRefs are the map references found on read.
	MapRefs []MapRef
}

// MapRef is one instruction that loads a map's descriptor.
type MapRef struct {
	// Insn is the instruction's index (not byte offset).
	Insn int
	// Map is the index into Object.Maps.
	Map int
}

// Map is one table of the program.
type Map struct {
	Name       string   `json:"name"`
	Type       uint32   `json:"type"`
	KeySize    uint32   `json:"key_size"`
	ValueSize  uint32   `json:"value_size"`
	MaxEntries uint32   `json:"max_entries"`
	Flags      uint32   `json:"flags"`
	KeyDesc    string   `json:"key_desc"`
	LeafDesc   string   `json:"leaf_desc"`
	Fields     []string `json:"fields,omitempty"`
	// ModuleFD is the descriptor number the compiled instructions use for
	// this map (only meaningful on write; 0 after read).
	ModuleFD int `json:"-"`
}

// meta is the JSON content of the gobcc.meta section.
type meta struct {
	Format        int          `json:"format"`
	Arch          string       `json:"arch"`
	LibbccVersion string       `json:"libbcc_version"`
	KernelRelease string       `json:"kernel_release"`
	Source        string       `json:"source,omitempty"`
	Maps          []Map        `json:"maps"`
	Functions     []metaFunc   `json:"functions"`
	Checksum      checksumText `json:"sha256"`
}

type metaFunc struct {
	Name    string `json:"name"`
	Section string `json:"section"`
}

// hostArch is the architecture objects are written for and accepted from.
var hostArch = runtime.GOARCH
