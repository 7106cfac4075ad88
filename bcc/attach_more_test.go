package bcc

import (
	"errors"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/gobcc/gobcc/features"
	"github.com/gobcc/gobcc/internal/testutil"
	"github.com/gobcc/gobcc/perf"
	"github.com/gobcc/gobcc/probes"
)

// A cpu-clock sampling program counts samples per pid; a busy child gets
// samples, and Close leaves no perf event open.
func TestPerfEventCPUClock(t *testing.T) {
	testutil.RequireRoot(t)
	src := `
#include <uapi/linux/bpf_perf_event.h>
BPF_HASH(samples, u32, u64);
int on_sample(struct bpf_perf_event_data *ctx) {
	u32 pid = bpf_get_current_pid_tgid() >> 32;
	samples.increment(pid);
	return 0;
}
`
	perfBefore := perfFDs(t)
	b, err := New(Options{Text: src})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if _, err := b.AttachPerfEvent(unix.PERF_TYPE_SOFTWARE, unix.PERF_COUNT_SW_CPU_CLOCK, "on_sample"); err == nil {
		t.Error("attached with neither sample period nor frequency")
	}
	if _, err := b.AttachPerfEvent(unix.PERF_TYPE_SOFTWARE, unix.PERF_COUNT_SW_CPU_CLOCK, "on_sample", PerfEventOptions{SampleFreq: 1000}); err != nil {
		t.Fatal(err)
	}
	cpus, _ := onlineCPUCount()
	if got := b.NumOpenPerfEvents(); got != cpus {
		t.Errorf("NumOpenPerfEvents = %d, want one per online CPU (%d)", got, cpus)
	}
	if got := perfFDs(t) - perfBefore; got != cpus {
		t.Errorf("%d perf fds opened, want %d", got, cpus)
	}
	// A child that spins for 300 ms of CPU time gets about 300 samples at
	// 1000 Hz; ask for a few.
	busy := exec.Command("/bin/sh", "-c", "i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done")
	if err := busy.Run(); err != nil {
		t.Fatal(err)
	}
	pid := uint32(busy.ProcessState.Pid())
	n := tableUint(t, b, "samples", pid)
	if n < 3 {
		t.Errorf("busy child %d got %d samples", pid, n)
	}
	t.Logf("busy child got %d samples", n)
	ids := progIDs(t, b)
	if err := b.DetachPerfEvent(unix.PERF_TYPE_SOFTWARE, unix.PERF_COUNT_SW_CPU_CLOCK); err != nil {
		t.Fatal(err)
	}
	if got := perfFDs(t); got != perfBefore {
		t.Errorf("after detach %d perf fds, want %d", got, perfBefore)
	}
	if err := b.DetachPerfEvent(unix.PERF_TYPE_SOFTWARE, unix.PERF_COUNT_SW_CPU_CLOCK); !errors.Is(err, ErrNotAttached) {
		t.Errorf("second detach: %v", err)
	}
	// Raw form, one CPU, then Close.
	attr := perf.Attr{Type: perf.TypeSoftware, Config: perf.SWCPUClock, SamplePeriod: 1000000}
	cpu0 := 0
	if _, err := b.AttachPerfEventRaw(attr, "on_sample", PerfEventOptions{CPU: &cpu0}); err != nil {
		t.Fatal(err)
	}
	if got := b.NumOpenPerfEvents(); got != 1 {
		t.Errorf("raw on CPU 0: NumOpenPerfEvents = %d", got)
	}
	b.Close()
	if got := perfFDs(t); got != perfBefore {
		t.Errorf("after Close %d perf fds, want %d", got, perfBefore)
	}
	requireProgsGone(t, ids)
}

func onlineCPUCount() (int, error) {
	data, err := os.ReadFile("/sys/devices/system/cpu/online")
	if err != nil {
		return 0, err
	}
	n := 0
	for _, r := range strings.Split(strings.TrimSpace(string(data)), ",") {
		var lo, hi int
		if strings.Contains(r, "-") {
			_, err = fmtSscanf(r, "%d-%d", &lo, &hi)
		} else {
			_, err = fmtSscanf(r, "%d", &lo)
			hi = lo
		}
		if err != nil {
			return 0, err
		}
		n += hi - lo + 1
	}
	return n, nil
}

func TestTracepointRe(t *testing.T) {
	testutil.RequireRoot(t)
	tps, err := probes.GetTracepoints(`syscalls:sys_enter_get(pid|ppid)$`)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(tps, ",") != "syscalls:sys_enter_getpid,syscalls:sys_enter_getppid" {
		t.Fatalf("probes.GetTracepoints = %v", tps)
	}
	if !probes.TracepointExists("syscalls", "sys_enter_getpid") || probes.TracepointExists("syscalls", "sys_enter_nope") {
		t.Error("probes.TracepointExists wrong")
	}
	// Count only this thread's calls: the Go runtime itself calls getpid
	// (from other threads) when it preempts goroutines.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	src := `
BPF_ARRAY(hits, u64, 1);
int on_tp(void *ctx) {
	if ((u32)bpf_get_current_pid_tgid() != TEST_TID) return 0;
	int k = 0;
	u64 *v = hits.lookup(&k);
	if (v) __sync_fetch_and_add(v, 1);
	return 0;
}
`
	b, err := New(Options{Text: src, CFlags: []string{"-DTEST_TID=" + strconv.Itoa(syscall.Gettid())}})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if _, err := b.AttachTracepointRe(`syscalls:sys_enter_get(pid|ppid)$`, "on_tp"); err != nil {
		t.Fatal(err)
	}
	if b.NumOpenTracepoints() != 2 {
		t.Errorf("NumOpenTracepoints = %d, want 2", b.NumOpenTracepoints())
	}
	syscall.Getpid()
	syscall.Getppid()
	if got := tableUint(t, b, "hits", 0); got != 2 {
		t.Errorf("hits = %d, want 2", got)
	}
	if _, err := b.AttachTracepointRe(`nosuchcat:`, "on_tp"); !errors.Is(err, ErrTracepointNotFound) {
		t.Errorf("no match: %v", err)
	}
}

// Every kprobe call on this kernel fails with ErrNotSupported naming
// CONFIG_KPROBES; nothing is left attached or counted.
func TestKprobeCallsNotSupported(t *testing.T) {
	testutil.RequireRoot(t)
	if _, err := kprobeSupport(); err == nil {
		t.Skip("this kernel has kprobes")
	}
	b, err := New(Options{Text: "int probe(void *ctx) { return 0; }\n"})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	calls := map[string]error{
		"AttachKprobe":          attachErr(b.AttachKprobe("vfs_read", "probe")),
		"AttachKprobe+offset":   attachErr(b.AttachKprobe("vfs_read", "probe", KprobeOptions{EventOffset: 4})),
		"AttachKretprobe":       attachErr(b.AttachKretprobe("vfs_read", "probe", KprobeOptions{MaxActive: 8})),
		"AttachKprobeRe":        attachErr(b.AttachKprobeRe("vfs_rea.*", "probe")),
		"AttachKretprobeRe":     attachErr(b.AttachKretprobeRe("vfs_rea.*", "probe")),
		"AttachKprobe(syscall)": attachErr(b.AttachKprobe(b.GetSyscallFnName("clone"), "probe")),
	}
	for name, err := range calls {
		if !errors.Is(err, ErrNotSupported) || !strings.Contains(err.Error(), "CONFIG_KPROBES") || !strings.Contains(err.Error(), "kprobe_events") {
			t.Errorf("%s: want ErrNotSupported naming kprobe_events and CONFIG_KPROBES, got %v", name, err)
		}
	}
	if b.NumOpenKprobes() != 0 || OpenProbes() != 0 {
		t.Errorf("NumOpenKprobes = %d, OpenProbes = %d", b.NumOpenKprobes(), OpenProbes())
	}
	if err := b.DetachKprobe("vfs_read"); !errors.Is(err, ErrNotAttached) {
		t.Errorf("DetachKprobe: %v", err)
	}
	// kprobe__sys_* auto-attach is rewritten to this kernel's prefix first.
	_, err = New(Options{Text: "int kprobe__sys_clone(void *ctx) { return 0; }\n"})
	if !errors.Is(err, ErrNotSupported) || !strings.Contains(err.Error(), b.GetSyscallFnName("clone")) {
		t.Errorf("kprobe__sys_clone: %v", err)
	}
}

func TestSyscallFnName(t *testing.T) {
	testutil.RequireRoot(t)
	b, err := New(Options{Text: "int f(void *ctx) { return 0; }\n", NoAutoAttach: true})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	k, err := b.KernelSymbols()
	if err != nil {
		t.Fatal(err)
	}
	prefix := b.GetSyscallPrefix()
	if _, err := k.KsymName(prefix + "bpf"); err != nil {
		t.Errorf("prefix %q: %sbpf is not a kernel symbol", prefix, prefix)
	}
	if runtime_GOARCH == "amd64" && prefix != "__x64_sys_" {
		t.Errorf("x86-64 prefix = %q", prefix)
	}
	if got := b.GetSyscallFnName("clone"); got != prefix+"clone" {
		t.Errorf("GetSyscallFnName(clone) = %q", got)
	}
	for in, want := range map[string]string{
		"sys_clone":              prefix + "clone",
		"__x64_sys_clone":        prefix + "clone",
		"__arm64_sys_openat":     prefix + "openat",
		"__ia32_compat_sys_read": prefix + "read",
		"vfs_read":               "vfs_read",
	} {
		if got := b.FixSyscallFnName(in); got != want {
			t.Errorf("FixSyscallFnName(%q) = %q, want %q", in, got, want)
		}
	}
}

func BenchmarkGetSyscallFnName(b *testing.B) {
	testutil.RequireRoot(b)
	bp, err := New(Options{Text: "int f(void *ctx) { return 0; }\n", NoAutoAttach: true})
	if err != nil {
		b.Fatal(err)
	}
	defer bp.Close()
	bp.GetSyscallFnName("clone") // loads kallsyms once
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		bp.GetSyscallFnName("clone")
	}
}

// The uprobe quota counts for real: with a limit of 1, a regexp matching two
// functions is refused and nothing is attached.
func TestUprobeQuota(t *testing.T) {
	testutil.RequireRoot(t)
	bins := buildUprobeTargets(t)
	t.Setenv("BCC_PROBE_LIMIT", "1")
	b, err := New(Options{Text: uprobeCountProg})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if _, err := b.AttachUprobeRe(bins.pie, "(gobcc_target|main)$", "on_entry"); !errors.Is(err, ErrProbeQuota) {
		t.Errorf("two probes over a limit of 1: %v", err)
	}
	if _, err := b.AttachUprobe(bins.pie, "main", "on_entry"); err != nil {
		t.Fatal(err)
	}
	if OpenProbes() != 1 {
		t.Errorf("OpenProbes = %d", OpenProbes())
	}
	if _, err := b.AttachUprobe(bins.pie, "gobcc_target", "on_entry"); !errors.Is(err, ErrProbeQuota) {
		t.Errorf("second probe over a limit of 1: %v", err)
	}
	b.Close()
	if OpenProbes() != 0 {
		t.Errorf("after Close OpenProbes = %d", OpenProbes())
	}
}

// kfunc, kretfunc and LSM: where the kernel refuses them (lockdown), the
// error wraps ErrNotSupported, says what was refused, and does not blame
// privileges; Support* agree with what happens.
func TestKfuncLSM(t *testing.T) {
	testutil.RequireRoot(t)
	src := `
KFUNC_PROBE(do_unlinkat) { return 0; }
KRETFUNC_PROBE(do_rmdir) { return 0; }
LSM_PROBE(file_open) { return 0; }
`
	b, err := New(Options{Text: src, NoAutoAttach: true})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	names := b.FunctionNames()
	t.Logf("libbcc %s names: %v", b.LibbccVersion(), names)
	for _, n := range names {
		if _, fn, ok := KfuncTarget(n, b.LibbccVersion()); !ok || (fn != "do_unlinkat" && fn != "do_rmdir" && fn != "file_open") {
			t.Errorf("KfuncTarget(%q) = %q, %v", n, fn, ok)
		}
	}
	checks := []struct {
		supported bool
		attach    func() error
		what      string
	}{
		{features.SupportKfunc(), func() error { return attachErr(b.AttachKfunc(names[0])) }, "fentry"},
		{features.SupportKfunc(), func() error { return attachErr(b.AttachKretfunc(names[1])) }, "fexit"},
		{features.SupportLSM(), func() error { return attachErr(b.AttachLSM(names[2])) }, "LSM"},
	}
	for _, c := range checks {
		err := c.attach()
		if c.supported {
			if err != nil {
				t.Errorf("%s: Support says yes, attach failed: %v", c.what, err)
			}
			continue
		}
		if err == nil {
			t.Errorf("%s: Support says no, attach worked", c.what)
			continue
		}
		msg := err.Error()
		if !errors.Is(err, ErrNotSupported) || !strings.Contains(msg, c.what) || !strings.Contains(msg, "refused") ||
			strings.Contains(strings.ToLower(msg), "privilege") || strings.Contains(strings.ToLower(msg), "super-user") {
			t.Errorf("%s refusal: %v", c.what, err)
		}
		t.Log(err)
	}
	if !features.SupportRawTracepoint() {
		t.Error("features.SupportRawTracepoint = false on a kernel with raw tracepoints")
	}
}

func TestProbeFeatures(t *testing.T) {
	testutil.RequireRoot(t)
	got := map[string]features.Feature{}
	perfBefore := perfFDs(t)
	all := features.All()
	if n := perfFDs(t); n != perfBefore {
		t.Errorf("features.All left perf events open: %d before, %d after", perfBefore, n)
	}
	for _, f := range all {
		got[f.Name] = f
		t.Logf("%-16s %-5v %s", f.Name, f.Supported, f.Detail)
	}
	for _, name := range []string{"BTF", "kprobes", "uprobes", "tracepoints", "raw tracepoints", "fentry/kfunc", "LSM", "perf events", "XDP", "batch map ops", "ring buffer"} {
		if _, ok := got[name]; !ok {
			t.Errorf("no %s entry", name)
		}
	}
	_, kerr := kprobeSupport()
	if got["kprobes"].Supported != (kerr == nil) || got["fentry/kfunc"].Supported != features.SupportKfunc() || got["LSM"].Supported != features.SupportLSM() {
		t.Error("features.All disagrees with the Support functions")
	}
	if !strings.Contains(got["uprobes"].Detail, "attached to a uprobe") || !strings.Contains(got["BTF"].Detail, "task_struct is") {
		t.Errorf("uprobes and BTF are probed by attaching and reading: %+v, %+v", got["uprobes"], got["BTF"])
	}
	for _, name := range []string{"BTF", "uprobes", "tracepoints", "raw tracepoints", "perf events", "XDP", "batch map ops", "ring buffer"} {
		if !got[name].Supported {
			t.Errorf("%s reported unsupported on this kernel: %s", name, got[name].Detail)
		}
	}
}
