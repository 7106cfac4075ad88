package bcc

import (
	"os"

	"github.com/gobcc/gobcc/internal/compiler"
	"github.com/gobcc/gobcc/internal/kheaders"
)

// Header policies for Options.Headers and ResolveHeaders. Any other value
// is a directory holding a kernel header tree (what BCC_KERNEL_SOURCE
// takes).
const (
	// HeadersAuto uses the installed headers
	// (/lib/modules/$(uname -r)/build) only when they are the running
	// kernel's: same release, and a probe compiled through them lays out
	// task_struct and mm_struct as the kernel's BTF does. Otherwise it uses
	// HeadersBTF.
	HeadersAuto = kheaders.PolicyAuto
	// HeadersBTF compiles against a header tree generated from the running
	// kernel's BTF (/sys/kernel/btf), cached under
	// $GOBCC_CACHE_DIR/headers (default /var/cache/gobcc/headers).
	HeadersBTF = kheaders.PolicyBTF
	// HeadersInstalled compiles against /lib/modules/$(uname -r)/build as
	// BCC does, whichever kernel those headers belong to.
	HeadersInstalled = kheaders.PolicyInstalled
)

// HeadersEnv names the environment variable that gives the header policy
// when Options.Headers is empty.
const HeadersEnv = "GOBCC_HEADERS"

// ErrNoKernelHeaders means the header policy found no tree to compile
// against: no installed headers (HeadersInstalled), a directory without
// include/, or, for HeadersAuto, neither BTF nor installed headers.
var ErrNoKernelHeaders = kheaders.ErrNoHeaders

// ErrNoBTF means the kernel has no BTF (/sys/kernel/btf/vmlinux) to
// generate headers from.
var ErrNoBTF = kheaders.ErrNoBTF

// HeaderTree is the kernel header tree a compile uses, and why.
type HeaderTree struct {
	// Dir is the tree's directory ("" when no installed headers exist).
	Dir string
	// Kind is "installed", "btf" or "path".
	Kind string
	// Reason explains the choice, for people.
	Reason string
	// Release is the kernel release the tree is for, when known.
	Release string
	// Generated is true when resolving wrote the BTF tree (the cache had
	// none): that compile pays for the generation.
	Generated bool
	// Warnings are what New adds to BPF.Warnings for this tree.
	Warnings []string
}

// ResolveHeaders says which kernel header tree a compile with the given
// policy (Options.Headers: "", HeadersAuto, HeadersBTF, HeadersInstalled
// or a directory) would use and why. With HeadersAuto or HeadersBTF it may
// generate the BTF tree into the cache, as New would; it needs the
// privileges New needs to write the cache.
func ResolveHeaders(policy string) (HeaderTree, error) {
	t, err := resolveHeaders(policy)
	return HeaderTree{
		Dir: t.Dir, Kind: string(t.Kind), Reason: t.Reason, Release: t.Release,
		Generated: t.Generated, Warnings: t.Warnings,
	}, err
}

// resolveHeaders resolves policy, or the HeadersEnv variable's when it is
// empty, checking installed headers' layout with DefaultLayoutFields.
func resolveHeaders(policy string) (kheaders.Tree, error) {
	if policy == "" {
		policy = os.Getenv(HeadersEnv)
	}
	return compiler.ResolveHeaders(policy, layoutFields(DefaultLayoutFields))
}

// compileHeaders resolves the policy for New: the BCC_KERNEL_SOURCE value
// for the compile ("" for libbcc's own choice) and the warnings to keep.
func compileHeaders(policy string) (string, []string, error) {
	t, err := resolveHeaders(policy)
	if err != nil {
		return "", nil, err
	}
	return compiler.KernelSource(t), t.Warnings, nil
}

// LayoutField is a struct member whose offset ProbeLayout measures.
type LayoutField struct {
	Struct, Member string
}

// DefaultLayoutFields are the members the layout check of HeadersAuto and
// `gobcc doctor` compare: those BCC tools read most.
var DefaultLayoutFields = []LayoutField{
	{"task_struct", "pid"},
	{"task_struct", "tgid"},
	{"task_struct", "comm"},
	{"task_struct", "real_parent"},
	{"task_struct", "mm"},
	{"task_struct", "exit_code"},
	{"task_struct", "signal"},
	{"mm_struct", "arg_start"},
}

// FieldOffset is a member's offset as compiled through a header tree and
// as the kernel's BTF says.
type FieldOffset struct {
	LayoutField
	// Compiled is the offset through the headers; BTF the kernel's (-1
	// when BTF has no such member).
	Compiled, BTF int
}

// Match says whether the headers agree with the kernel.
func (f FieldOffset) Match() bool { return f.Compiled == f.BTF }

// ProbeLayout compiles a probe that includes <linux/sched.h> against the
// headers policy chooses and returns the offsets of fields (default
// DefaultLayoutFields) as compiled and as the kernel's BTF says. The probe
// creates one small array map per field, closed before it returns.
func ProbeLayout(policy string, fields []LayoutField) ([]FieldOffset, HeaderTree, error) {
	tree, err := ResolveHeaders(policy)
	if err != nil {
		return nil, tree, err
	}
	if len(fields) == 0 {
		fields = DefaultLayoutFields
	}
	offs, err := compiler.ProbeLayout(compiler.KernelSource(kheaders.Tree{Kind: kheaders.Kind(tree.Kind), Dir: tree.Dir}), layoutFields(fields))
	if err != nil {
		return nil, tree, err
	}
	out := make([]FieldOffset, len(offs))
	for i, o := range offs {
		out[i] = FieldOffset{LayoutField: LayoutField(o.LayoutField), Compiled: o.Compiled, BTF: o.BTF}
	}
	return out, tree, nil
}

func layoutFields(fields []LayoutField) []compiler.LayoutField {
	out := make([]compiler.LayoutField, len(fields))
	for i, f := range fields {
		out[i] = compiler.LayoutField(f)
	}
	return out
}
