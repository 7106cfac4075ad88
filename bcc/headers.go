package bcc

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"

	"github.com/cilium/ebpf/btf"
	"golang.org/x/sys/unix"

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

func resolveHeaders(policy string) (kheaders.Tree, error) {
	if policy == "" {
		policy = os.Getenv(HeadersEnv)
	}
	t, err := kheaders.Config{LayoutCheck: checkInstalledLayout}.Resolve(policy)
	if err != nil {
		return t, fmt.Errorf("kernel headers: %w", err)
	}
	if t.Kind == kheaders.KindInstalled && t.Release != "" && t.Release != kernelRelease() {
		t.Warnings = append(t.Warnings, fmt.Sprintf("compiled against kernel headers %s, not the running kernel %s: tracepoint arguments are safe, but kernel struct offsets (task_struct and others) may differ; use Options.Headers = bcc.HeadersBTF (gobcc --headers btf), and `gobcc doctor` measures them", t.Release, kernelRelease()))
	}
	return t, nil
}

// compileHeaders resolves the policy for New: the BCC_KERNEL_SOURCE value
// for the compile ("" for libbcc's own choice) and the warnings to keep.
func compileHeaders(policy string) (string, []string, error) {
	t, err := resolveHeaders(policy)
	if err != nil {
		return "", nil, err
	}
	if t.Kind == kheaders.KindInstalled {
		return "", t.Warnings, nil
	}
	return t.Dir, t.Warnings, nil
}

func kernelRelease() string {
	r, _ := os.ReadFile("/proc/sys/kernel/osrelease")
	return strings.TrimSpace(string(r))
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
	src := ""
	if tree.Kind != string(kheaders.KindInstalled) {
		src = tree.Dir
	}
	offs, err := probeLayout(src, fields)
	return offs, tree, err
}

func probeLayout(kernelSource string, fields []LayoutField) ([]FieldOffset, error) {
	if len(fields) == 0 {
		fields = DefaultLayoutFields
	}
	var b strings.Builder
	b.WriteString("#include <linux/sched.h>\n#include <linux/mm_types.h>\n")
	for i, f := range fields {
		// A leaf one byte longer than the offset: offset 0 stays legal C.
		fmt.Fprintf(&b, "struct gobcc_off%d { char b[offsetof(struct %s, %s) + 1]; };\nBPF_ARRAY(off%d, struct gobcc_off%d, 1);\n", i, f.Struct, f.Member, i, i)
	}
	s, err := compiler.Compile(context.Background(), compiler.Request{Text: b.String(), KernelSource: kernelSource}, true)
	if err != nil {
		return nil, err
	}
	res := s.Result()
	sizes := map[string]int{}
	for _, t := range res.Tables {
		sizes[t.Name] = t.LeafSize
		if t.FD >= 0 {
			unix.Close(t.FD)
		}
	}
	s.Close()
	spec, err := btf.LoadKernelSpec()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNoBTF, err)
	}
	out := make([]FieldOffset, len(fields))
	for i, f := range fields {
		out[i] = FieldOffset{LayoutField: f, Compiled: sizes[fmt.Sprintf("off%d", i)] - 1, BTF: -1}
		if off, err := btfMemberOffset(spec, f.Struct, f.Member); err == nil {
			out[i].BTF = off
		}
	}
	return out, nil
}

// btfMemberOffset finds a member's byte offset, looking inside anonymous
// structs and unions as C does.
func btfMemberOffset(spec *btf.Spec, structName, member string) (int, error) {
	var s *btf.Struct
	if err := spec.TypeByName(structName, &s); err != nil {
		return 0, err
	}
	if off, ok := findBTFMember(s.Members, member, 0); ok {
		return int(off / 8), nil
	}
	return 0, fmt.Errorf("struct %s has no member %s", structName, member)
}

func findBTFMember(members []btf.Member, name string, base btf.Bits) (btf.Bits, bool) {
	for _, m := range members {
		if m.Name == name {
			return base + m.Offset, true
		}
		if m.Name != "" {
			continue
		}
		switch t := btf.UnderlyingType(m.Type).(type) {
		case *btf.Struct:
			if off, ok := findBTFMember(t.Members, name, base+m.Offset); ok {
				return off, true
			}
		case *btf.Union:
			if off, ok := findBTFMember(t.Members, name, base+m.Offset); ok {
				return off, true
			}
		}
	}
	return 0, false
}

// installedLayout remembers, per process, the layout check of installed
// header trees: it costs a compile.
var installedLayout struct {
	sync.Mutex
	checked map[string]error
}

// checkInstalledLayout is HeadersAuto's check that installed headers of the
// running release lay out kernel structs as the BTF does.
func checkInstalledLayout(dir string) error {
	installedLayout.Lock()
	defer installedLayout.Unlock()
	if err, ok := installedLayout.checked[dir]; ok {
		return err
	}
	err := func() error {
		offs, err := probeLayout("", nil)
		if err != nil {
			return fmt.Errorf("probe compile: %w", err)
		}
		var bad []string
		for _, o := range offs {
			if o.BTF >= 0 && !o.Match() {
				bad = append(bad, fmt.Sprintf("%s.%s at %d, kernel %d", o.Struct, o.Member, o.Compiled, o.BTF))
			}
		}
		if len(bad) > 0 {
			return fmt.Errorf("%w: %s", kheaders.ErrLayoutMismatch, strings.Join(bad, "; "))
		}
		return nil
	}()
	if errors.Is(err, ErrNoBTF) {
		// Nothing to compare with: trust the release.
		err = nil
	}
	if installedLayout.checked == nil {
		installedLayout.checked = map[string]error{}
	}
	installedLayout.checked[dir] = err
	return err
}
