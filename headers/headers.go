// Package headers chooses and checks the kernel header tree that gobcc
// compiles programs against.
//
// BCC compiles against /lib/modules/$(uname -r)/build. When those headers
// belong to another kernel, or are missing, programs that read kernel
// structs compile anyway and read them at wrong offsets. gobcc can instead
// compile against headers generated from the running kernel's BTF. A
// policy picks the tree: bcc.Options.Headers, the GOBCC_HEADERS variable
// (Env), or Auto by default. Resolve says which tree a policy picks and
// why; ProbeLayout measures whether a tree lays out kernel structs as the
// running kernel does. docs/headers.md tells the whole story.
package headers

import (
	"errors"
	"fmt"

	"github.com/gobcc/gobcc/internal/bpfsys"
	"github.com/gobcc/gobcc/internal/compiler"
	"github.com/gobcc/gobcc/internal/kbtf"
	"github.com/gobcc/gobcc/internal/kheaders"
)

// Header policies for bcc.Options.Headers and Resolve. Any other value is
// a directory holding a kernel header tree (what BCC_KERNEL_SOURCE takes).
const (
	// Auto uses the installed headers (/lib/modules/$(uname -r)/build)
	// only when they are the running kernel's: same release, and a probe
	// compiled through them lays out task_struct and mm_struct as the
	// kernel's BTF does. Otherwise it uses BTF.
	Auto = kheaders.PolicyAuto
	// BTF compiles against a header tree generated from the running
	// kernel's BTF (/sys/kernel/btf), cached under
	// $GOBCC_CACHE_DIR/headers (default /var/cache/gobcc/headers).
	BTF = kheaders.PolicyBTF
	// Installed compiles against /lib/modules/$(uname -r)/build as BCC
	// does, whichever kernel those headers belong to.
	Installed = kheaders.PolicyInstalled
)

// Env names the environment variable that gives the policy when
// bcc.Options.Headers (or Resolve's argument) is empty.
const Env = compiler.HeadersEnv

// ErrNoKernelHeaders means the policy found no tree to compile against: no
// installed headers (Installed), a directory without include/, or, for
// Auto, neither BTF nor installed headers.
var ErrNoKernelHeaders = kheaders.ErrNoHeaders

// ErrNoBTF means the kernel has no BTF (/sys/kernel/btf/vmlinux) to
// generate headers from.
var ErrNoBTF = kheaders.ErrNoBTF

// Tree is the kernel header tree a compile uses, and why.
type Tree struct {
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
	// Warnings are what bcc.New adds to BPF.Warnings for this tree.
	Warnings []string
}

// Resolve says which kernel header tree a compile with policy ("", Auto,
// BTF, Installed or a directory) would use and why. With Auto or BTF it
// may generate the BTF tree into the cache, as bcc.New would; it needs
// the privileges bcc.New needs to write the cache.
func Resolve(policy string) (Tree, error) {
	t, err := compiler.ResolveHeaders(policy)
	return Tree{
		Dir: t.Dir, Kind: string(t.Kind), Reason: t.Reason, Release: t.Release,
		Generated: t.Generated, Warnings: t.Warnings,
	}, err
}

// LayoutField is a struct member whose offset ProbeLayout measures.
type LayoutField struct {
	Struct, Member string
}

// DefaultLayoutFields are the members the layout check of Auto and
// `gobcc doctor` compare: those BCC tools read most.
var DefaultLayoutFields = func() []LayoutField {
	out := make([]LayoutField, len(compiler.DefaultLayoutFields))
	for i, f := range compiler.DefaultLayoutFields {
		out[i] = LayoutField(f)
	}
	return out
}()

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
// tree policy chooses and returns the offsets of fields (default
// DefaultLayoutFields) as compiled and as the kernel's BTF says. The probe
// creates one small array map per field, closed before it returns.
func ProbeLayout(policy string, fields []LayoutField) ([]FieldOffset, Tree, error) {
	tree, err := Resolve(policy)
	if err != nil {
		return nil, tree, err
	}
	if len(fields) == 0 {
		fields = DefaultLayoutFields
	}
	in := make([]compiler.LayoutField, len(fields))
	for i, f := range fields {
		in[i] = compiler.LayoutField(f)
	}
	offs, err := compiler.ProbeLayout(compiler.KernelSource(kheaders.Tree{Kind: kheaders.Kind(tree.Kind), Dir: tree.Dir}), in)
	if err != nil {
		return nil, tree, err
	}
	out := make([]FieldOffset, len(offs))
	for i, o := range offs {
		out[i] = FieldOffset{LayoutField: LayoutField(o.LayoutField), Compiled: o.Compiled, BTF: o.BTF}
	}
	return out, tree, nil
}

// KernelStructHasField reports whether the running kernel's struct
// structName has a member fieldName (BCC's kernel_struct_has_field), from
// the kernel's BTF. Tools use it to pick between code for kernel versions.
// Without kernel BTF the error wraps bcc.ErrNotSupported; an unknown
// struct is an error too (BCC returns -1 for both).
func KernelStructHasField(structName, fieldName string) (bool, error) {
	has, err := kbtf.StructHasField(structName, fieldName)
	if errors.Is(err, kbtf.ErrNoKernelBTF) {
		return false, fmt.Errorf("%w: %w", bpfsys.ErrNotSupported, err)
	}
	return has, err
}

// GenerateAutoIncludes returns the #include lines BCC's
// generate_auto_includes derives from the words of a program (tools such
// as trace and argdist build programs from user expressions): a header is
// included when one of its keywords occurs within a word, e.g. "bio" in
// "struct bio *b" brings "#include <linux/blkdev.h>\n".
func GenerateAutoIncludes(programWords []string) string {
	return compiler.AutoIncludes(programWords)
}
