package compiler

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"

	"github.com/cilium/ebpf/btf"
	"golang.org/x/sys/unix"

	"github.com/gobcc/gobcc/internal/kbtf"
	"github.com/gobcc/gobcc/internal/kheaders"
)

// LayoutField is a struct member whose offset ProbeLayout measures.
type LayoutField struct {
	Struct, Member string
}

// FieldOffset is a member's offset as compiled through a header tree and
// as the kernel's BTF says (-1 when BTF has no such member).
type FieldOffset struct {
	LayoutField
	Compiled, BTF int
}

// ProbeLayout compiles, in a helper process, a probe that includes
// <linux/sched.h> through kernelSource ("" for libbcc's own choice) and
// returns the offsets of fields as compiled and as the kernel's BTF says.
// The probe creates one small array map per field, closed before it
// returns. Without kernel BTF the error wraps kheaders.ErrNoBTF.
func ProbeLayout(kernelSource string, fields []LayoutField) ([]FieldOffset, error) {
	var b strings.Builder
	b.WriteString("#include <linux/sched.h>\n#include <linux/mm_types.h>\n")
	for i, f := range fields {
		// A leaf one byte longer than the offset: offset 0 stays legal C.
		fmt.Fprintf(&b, "struct gobcc_off%d { char b[offsetof(struct %s, %s) + 1]; };\nBPF_ARRAY(off%d, struct gobcc_off%d, 1);\n", i, f.Struct, f.Member, i, i)
	}
	s, err := Compile(context.Background(), Request{Text: b.String(), KernelSource: kernelSource}, true)
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
		return nil, fmt.Errorf("%w: %w", kheaders.ErrNoBTF, err)
	}
	out := make([]FieldOffset, len(fields))
	for i, f := range fields {
		out[i] = FieldOffset{LayoutField: f, Compiled: sizes[fmt.Sprintf("off%d", i)] - 1, BTF: -1}
		if off, err := kbtf.MemberOffset(spec, f.Struct, f.Member); err == nil {
			out[i].BTF = off
		}
	}
	return out, nil
}

// installedLayout remembers, per process, the layout check of installed
// header trees: it costs a compile.
var installedLayout struct {
	sync.Mutex
	checked map[string]error
}

// checkInstalledLayout is the auto policy's check that the installed
// headers in dir, of the running release, lay out fields as the BTF does.
func checkInstalledLayout(dir string, fields []LayoutField) error {
	installedLayout.Lock()
	defer installedLayout.Unlock()
	if err, ok := installedLayout.checked[dir]; ok {
		return err
	}
	err := func() error {
		offs, err := ProbeLayout("", fields)
		if err != nil {
			return fmt.Errorf("probe compile: %w", err)
		}
		var bad []string
		for _, o := range offs {
			if o.BTF >= 0 && o.Compiled != o.BTF {
				bad = append(bad, fmt.Sprintf("%s.%s at %d, kernel %d", o.Struct, o.Member, o.Compiled, o.BTF))
			}
		}
		if len(bad) > 0 {
			return fmt.Errorf("%w: %s", kheaders.ErrLayoutMismatch, strings.Join(bad, "; "))
		}
		return nil
	}()
	if errors.Is(err, kheaders.ErrNoBTF) {
		// Nothing to compare with: trust the release.
		err = nil
	}
	if installedLayout.checked == nil {
		installedLayout.checked = map[string]error{}
	}
	installedLayout.checked[dir] = err
	return err
}

// HeadersEnv names the environment variable that gives the header policy
// when a compile names none.
const HeadersEnv = "GOBCC_HEADERS"

// DefaultLayoutFields are the members whose offsets the layout check of
// the auto policy and `gobcc doctor` compare: those BCC tools read most.
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

// ResolveHeaders picks the header tree for policy, or for HeadersEnv's
// value when policy is empty (kheaders.Config.Resolve), checking installed
// headers of the running release by compiling a probe of
// DefaultLayoutFields, and warns when installed headers are another
// release's.
func ResolveHeaders(policy string) (kheaders.Tree, error) {
	if policy == "" {
		policy = os.Getenv(HeadersEnv)
	}
	layoutFields := DefaultLayoutFields
	check := func(dir string) error { return checkInstalledLayout(dir, layoutFields) }
	t, err := kheaders.Config{LayoutCheck: check}.Resolve(policy)
	if err != nil {
		return t, fmt.Errorf("kernel headers: %w", err)
	}
	if t.Kind == kheaders.KindInstalled && t.Release != "" && t.Release != KernelRelease() {
		t.Warnings = append(t.Warnings, fmt.Sprintf("compiled against kernel headers %s, not the running kernel %s: tracepoint arguments are safe, but kernel struct offsets (task_struct and others) may differ; use Options.Headers = headers.BTF (gobcc --headers btf), and `gobcc doctor` measures them", t.Release, KernelRelease()))
	}
	return t, nil
}

// KernelSource is the BCC_KERNEL_SOURCE value that compiles through tree:
// "" (libbcc's own choice) for installed headers.
func KernelSource(tree kheaders.Tree) string {
	if tree.Kind == kheaders.KindInstalled {
		return ""
	}
	return tree.Dir
}

// KernelRelease is the running kernel's release ("" when unreadable).
func KernelRelease() string {
	r, _ := os.ReadFile("/proc/sys/kernel/osrelease")
	return strings.TrimSpace(string(r))
}
