package attach

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/gobcc/gobcc/internal/usym"
)

// fakeHandle records its detach in log, and fails it when err is set.
type fakeHandle struct {
	name string
	log  *[]string
	err  error
	n    int
}

func (h *fakeHandle) Detach() error    { *h.log = append(*h.log, h.name); return h.err }
func (h *fakeHandle) FD() int          { return 100 }
func (h *fakeHandle) Descriptors() int { return h.n }

// fakeRequest attaches fn to target with a fakeHandle named target/fn.
func fakeRequest(kind Kind, target, fn string, dup Dup, log *[]string) Request {
	return Request{Kind: kind, Target: target, Fn: fn, Dup: dup, What: kind.String() + " " + target,
		Program: func() (int, error) { return 7, nil },
		Open: func(progFD int) (Handle, error) {
			if progFD != 7 {
				return nil, fmt.Errorf("progFD %d, want 7", progFD)
			}
			return &fakeHandle{name: target + "/" + fn, log: log, n: 2}, nil
		}}
}

// The duplicate rules, by-name detach, counts, and Close detaching the
// rest in reverse order, once each.
func TestRegistry(t *testing.T) {
	var log []string
	var r Registry
	mustAttach := func(req Request) *Link {
		t.Helper()
		l, err := r.Attach(req)
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	a := mustAttach(fakeRequest(Tracepoint, "sched:a", "f", DupTargetFunction, &log))
	mustAttach(fakeRequest(Tracepoint, "sched:a", "g", DupTargetFunction, &log))
	if _, err := r.Attach(fakeRequest(Tracepoint, "sched:a", "f", DupTargetFunction, &log)); !errors.Is(err, ErrAlreadyAttached) {
		t.Errorf("same function twice: %v", err)
	}
	mustAttach(fakeRequest(RawTracepoint, "x", "f", DupTarget, &log))
	if _, err := r.Attach(fakeRequest(RawTracepoint, "x", "g", DupTarget, &log)); !errors.Is(err, ErrAlreadyAttached) {
		t.Errorf("second function on a DupTarget target: %v", err)
	}
	mustAttach(fakeRequest(XDP, "lo", "f", DupNone, &log))
	mustAttach(fakeRequest(XDP, "lo", "f", DupNone, &log))
	pe := mustAttach(fakeRequest(PerfEvent, "perf:1:0", "f", DupTarget, &log))
	if got := r.Count(Tracepoint, RawTracepoint); got != 3 {
		t.Errorf("Count(tracepoints) = %d, want 3", got)
	}
	if got := r.Descriptors(PerfEvent); got != 2 {
		t.Errorf("Descriptors(PerfEvent) = %d, want 2", got)
	}
	if a.FD() != 100 || !a.Attached() || a.String() != "tracepoint sched:a <- f" {
		t.Errorf("link: fd %d attached %v %q", a.FD(), a.Attached(), a)
	}
	if err := r.Detach(Tracepoint, "sched:a", "g"); err != nil {
		t.Fatal(err)
	}
	if err := r.Detach(Tracepoint, "sched:a", "g"); !errors.Is(err, ErrNotAttached) {
		t.Errorf("second detach: %v", err)
	}
	if err := pe.Close(); err != nil || pe.Attached() || pe.FD() != -1 {
		t.Errorf("Link.Close: %v, attached %v, fd %d", err, pe.Attached(), pe.FD())
	}
	if err := pe.Close(); err != nil {
		t.Errorf("second Link.Close: %v", err)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	want := []string{"sched:a/g", "perf:1:0/f", "lo/f", "lo/f", "x/f", "sched:a/f"}
	if !slices.Equal(log, want) {
		t.Errorf("detached %q, want %q", log, want)
	}
	if a.Attached() || a.Close() != nil || r.Close() != nil || len(log) != len(want) {
		t.Errorf("after Close: attached %v, detaches %d", a.Attached(), len(log))
	}
	if _, err := r.Attach(fakeRequest(Tracepoint, "sched:b", "f", DupNone, &log)); !errors.Is(err, ErrClosed) {
		t.Errorf("attach after Close: %v", err)
	}
	if err := r.Detach(XDP, "lo", ""); !errors.Is(err, ErrClosed) {
		t.Errorf("detach after Close: %v", err)
	}
	if r.Links() != nil {
		t.Errorf("Links after Close: %v", r.Links())
	}
}

// A failed load or open records nothing, counts no probe, and names the
// attachment; a failed detach is reported with the Link's names.
func TestRegistryFailures(t *testing.T) {
	var log []string
	var r Registry
	defer r.Close()
	before := OpenProbes()
	req := fakeRequest(Kprobe, "vfs_read", "f", DupTarget, &log)
	req.Open = func(int) (Handle, error) { return nil, unix.ENOENT }
	if _, err := r.Attach(req); !errors.Is(err, unix.ENOENT) || !strings.Contains(err.Error(), "attach f to kprobe vfs_read") {
		t.Errorf("open failure: %v", err)
	}
	loadErr := errors.New("load failed")
	req.Program = func() (int, error) { return -1, loadErr }
	if _, err := r.Attach(req); !errors.Is(err, loadErr) {
		t.Errorf("load failure: %v", err)
	}
	if OpenProbes() != before || len(r.Links()) != 0 {
		t.Errorf("after failures: probes %d -> %d, links %v", before, OpenProbes(), r.Links())
	}
	l, err := r.Attach(fakeRequest(Uprobe, "p_x_0x10", "f", DupTarget, &log))
	if err != nil {
		t.Fatal(err)
	}
	if OpenProbes() != before+1 {
		t.Errorf("uprobe not counted: %d -> %d", before, OpenProbes())
	}
	l.reg.mu.Lock()
	l.h.(*fakeHandle).err = unix.EBADF
	l.reg.mu.Unlock()
	if err := l.Close(); !errors.Is(err, unix.EBADF) || !strings.Contains(err.Error(), "detach f from uprobe p_x_0x10") {
		t.Errorf("detach failure: %v", err)
	}
	if OpenProbes() != before {
		t.Errorf("uprobe still counted after Close: %d -> %d", before, OpenProbes())
	}
}

// AttachAll: all or nothing (closing what attached), or best effort.
func TestAttachAll(t *testing.T) {
	var log []string
	var r Registry
	defer r.Close()
	one := func(target string) (*Link, error) {
		if strings.HasPrefix(target, "bad") {
			return nil, fmt.Errorf("%s: %w", target, unix.ENOENT)
		}
		return r.Attach(fakeRequest(Tracepoint, target, "f", DupTarget, &log))
	}
	if _, err := AttachAll([]string{"a", "b", "bad1", "c"}, false, false, one); !errors.Is(err, unix.ENOENT) {
		t.Errorf("all or nothing: %v", err)
	}
	if n := len(r.Links()); n != 0 || !slices.Equal(log, []string{"b/f", "a/f"}) {
		t.Errorf("all or nothing left %d links, detached %q", n, log)
	}
	links, err := AttachAll([]string{"bad1", "a", "bad2"}, false, true, one)
	if err != nil || len(links) != 1 || links[0].Target() != "a" {
		t.Errorf("best effort: %v, %v", links, err)
	}
	if _, err := AttachAll([]string{"bad1", "bad2"}, false, true, one); !strings.Contains(fmt.Sprint(err), "bad1") || !strings.Contains(fmt.Sprint(err), "bad2") {
		t.Errorf("best effort, none attached: %v", err)
	}
	t.Setenv("BCC_PROBE_LIMIT", "1")
	if _, err := AttachAll([]string{"x", "y"}, true, true, one); !errors.Is(err, ErrProbeQuota) {
		t.Errorf("over the quota: %v", err)
	}
}

func TestProbeQuota(t *testing.T) {
	t.Setenv("BCC_PROBE_LIMIT", "3")
	if ProbeLimit() != 3 {
		t.Errorf("ProbeLimit = %d", ProbeLimit())
	}
	if err := CheckProbeQuota(4); !errors.Is(err, ErrProbeQuota) {
		t.Errorf("4 over a limit of 3: %v", err)
	}
	if err := CheckProbeQuota(3); err != nil {
		t.Errorf("3 within 3: %v", err)
	}
	t.Setenv("BCC_PROBE_LIMIT", "x")
	if ProbeLimit() != 1000 {
		t.Errorf("default ProbeLimit = %d", ProbeLimit())
	}
}

func TestKfuncTargetByVersion(t *testing.T) {
	for _, c := range []struct{ name, version, module, fn string }{
		{"kfunc__do_unlinkat", "0.26.0", "vmlinux", "do_unlinkat"},
		{"kfunc__vmlinux__do_unlinkat", "0.26.0", "vmlinux", "vmlinux__do_unlinkat"},
		{"kfunc__vmlinux__do_unlinkat", "0.28.0", "vmlinux", "do_unlinkat"},
		{"kretfunc__ext4__ext4_sync_fs", "0.29.1", "ext4", "ext4_sync_fs"},
		{"lsm__file_open", "0.29.1", "vmlinux", "file_open"},
	} {
		m, fn, ok := KfuncTarget(c.name, c.version)
		if !ok || m != c.module || fn != c.fn {
			t.Errorf("KfuncTarget(%q, %s) = %q, %q, %v", c.name, c.version, m, fn, ok)
		}
	}
	if _, _, ok := KfuncTarget("kprobe__x", "0.26.0"); ok {
		t.Error("kprobe__x taken for a kfunc")
	}
}

func TestAutoTarget(t *testing.T) {
	for _, c := range []struct {
		name   string
		kind   Kind
		target string
		ok     bool
	}{
		{"tracepoint__sched__sched_switch", Tracepoint, "sched:sched_switch", true},
		{"tracepoint__nocategory", 0, "", false},
		{"raw_tracepoint__sched_switch", RawTracepoint, "sched_switch", true},
		{"kprobe__sys_clone", Kprobe, "sys_clone", true},
		{"kretprobe__vfs_read", Kretprobe, "vfs_read", true},
		{"kfunc__do_unlinkat", Kfunc, "kfunc__do_unlinkat", true},
		{"kretfunc__do_unlinkat", Kretfunc, "kretfunc__do_unlinkat", true},
		{"lsm__file_open", LSM, "lsm__file_open", true},
		{"on_switch", 0, "", false},
	} {
		kind, target, ok := AutoTarget(c.name)
		if kind != c.kind || target != c.target || ok != c.ok {
			t.Errorf("AutoTarget(%q) = %v, %q, %v; want %v, %q, %v", c.name, kind, target, ok, c.kind, c.target, c.ok)
		}
	}
	if TracingName(Kfunc, "do_unlinkat") != "kfunc__do_unlinkat" || TracingName(LSM, "lsm__file_open") != "lsm__file_open" {
		t.Error("TracingName")
	}
}

func TestKind(t *testing.T) {
	for k := Tracepoint; k <= ProgAttach; k++ {
		if s := k.String(); s == "" || strings.HasPrefix(s, "LinkKind(") {
			t.Errorf("kind %d has no name", int(k))
		}
	}
	if Kind(99).String() != "LinkKind(99)" {
		t.Errorf("unknown kind: %s", Kind(99))
	}
	if ProbeKind(true, true) != Uretprobe || ProbeKind(false, false) != Kprobe || !Kretprobe.IsProbe() || XDP.IsProbe() {
		t.Error("ProbeKind/IsProbe")
	}
	if Uretprobe.Call() != "Uretprobe" || Kfunc.Call() != "kfunc" {
		t.Errorf("Call: %s %s", Uretprobe.Call(), Kfunc.Call())
	}
}

// BCC's _get_uprobe_evname, and one probe per address.
func TestUprobeNaming(t *testing.T) {
	if got := UprobeEventName(false, "/usr/lib/libc.so.6", 0x1234, -1); got != "p__usr_lib_libc_so_6_0x1234" {
		t.Errorf("uprobe name %q", got)
	}
	if got := UprobeEventName(true, "/bin/x", 16, 42); got != "r__bin_x_0x10_42" {
		t.Errorf("uretprobe name %q", got)
	}
	syms := []usym.SymbolAddress{
		{Name: "a", Value: 0x10}, {Name: "a_alias", Value: 0x10},
		{Name: "nooffset", Value: 0x20, FileOffsetErr: errors.New("no segment")}, {Name: "b", Value: 0x30},
	}
	var names []string
	for _, s := range ProbeAddresses(syms) {
		names = append(names, s.Name)
	}
	if !slices.Equal(names, []string{"a", "b"}) {
		t.Errorf("ProbeAddresses kept %q", names)
	}
	if ResolvePID(-1) != 0 || ResolvePID(42) != 42 {
		t.Error("ResolvePID")
	}
	if _, _, _, err := ResolveUprobe(nil, UprobeTarget{Name: "c", Sym: "malloc", Addr: 1}); err == nil {
		t.Error("symbol and address both given: want an error")
	}
}

// An fdHandle closes its descriptor on Detach.
func TestFDHandle(t *testing.T) {
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC); err != nil {
		t.Fatal(err)
	}
	defer unix.Close(p[1])
	h := &fdHandle{p[0]}
	if h.FD() != p[0] || h.Descriptors() != 1 {
		t.Errorf("fd %d descriptors %d", h.FD(), h.Descriptors())
	}
	if err := h.Detach(); err != nil {
		t.Fatal(err)
	}
	if _, err := unix.FcntlInt(uintptr(p[0]), unix.F_GETFD, 0); !errors.Is(err, unix.EBADF) {
		t.Errorf("descriptor still open after Detach: %v", err)
	}
}

// BCC's syscall prefix search and fix_syscall_fnname, on a synthetic
// symbol set.
func TestSyscallPrefix(t *testing.T) {
	arm := func(name string) bool { return name == "__arm64_sys_bpf" }
	if got := SyscallPrefix(SyscallPrefixes, arm); got != "__arm64_sys_" {
		t.Errorf("prefix %q", got)
	}
	if got := SyscallPrefix(SyscallPrefixes, func(string) bool { return false }); got != "sys_" {
		t.Errorf("no match: %q", got)
	}
	calls := 0
	prefix := func() string { calls++; return "__x64_sys_" }
	for name, want := range map[string]string{"sys_clone": "__x64_sys_clone", "__arm64_sys_read": "__x64_sys_read", "vfs_read": "vfs_read"} {
		if got := FixSyscallFnName(SyscallPrefixes, name, prefix); got != want {
			t.Errorf("FixSyscallFnName(%q) = %q, want %q", name, got, want)
		}
	}
	if calls != 2 {
		t.Errorf("prefix looked up %d times, want 2 (not for vfs_read)", calls)
	}
}

func TestPerfEventOpenerFor(t *testing.T) {
	cpu := -2
	if _, err := PerfEventOpenerFor(nil, 0, &cpu, 0); err == nil || !strings.Contains(err.Error(), "CPU -2") {
		t.Errorf("negative CPU: %v", err)
	}
	if PerfEventTarget(1, 0) != "perf:1:0" {
		t.Error(PerfEventTarget(1, 0))
	}
}

func TestTracingTypesAreTheKernels(t *testing.T) {
	// The kernel's enum bpf_prog_type and bpf_attach_type values.
	for kind, want := range map[Kind][2]int{Kfunc: {26, 24}, Kretfunc: {26, 25}, LSM: {29, 27}} {
		if p, a := TracingTypes(kind); p != want[0] || a != want[1] {
			t.Errorf("TracingTypes(%v) = %d, %d, want %d, %d", kind, p, a, want[0], want[1])
		}
	}
}
