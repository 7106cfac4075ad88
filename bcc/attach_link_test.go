package bcc

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/gobcc/gobcc/internal/testutil"
	"github.com/gobcc/gobcc/perf"
)

// Counts this thread's calls in hits[0].
const linkCountProg = `
BPF_ARRAY(hits, u64, 1);
int on_event(void *ctx) {
	if ((u32)bpf_get_current_pid_tgid() != TEST_TID) return 0;
	int k = 0;
	u64 *v = hits.lookup(&k);
	if (v) __sync_fetch_and_add(v, 1);
	return 0;
}
`

// newThreadCounter compiles linkCountProg for the calling thread, which
// the test must keep (runtime.LockOSThread).
func newThreadCounter(t *testing.T) *BPF {
	t.Helper()
	b, err := New(Options{Text: linkCountProg, CFlags: []string{"-DTEST_TID=" + strconv.Itoa(syscall.Gettid())}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// fdOpen reports whether descriptor fd is open in this process.
func fdOpen(fd int) bool {
	_, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0)
	return err == nil
}

// checkLinkCloses closes l and checks what every Link promises: it is no
// longer attached, its descriptor is closed, a second Close is a no-op,
// and the by-name Detach no longer finds it.
func checkLinkCloses(t *testing.T, l *Link, detachByName func() error) {
	t.Helper()
	fd := l.FD()
	if !l.Attached() {
		t.Fatalf("%v: not attached before Close", l)
	}
	if err := l.Close(); err != nil {
		t.Fatalf("%v: Close: %v", l, err)
	}
	if l.Attached() || l.FD() != -1 {
		t.Errorf("%v: after Close Attached = %v, FD = %d", l, l.Attached(), l.FD())
	}
	if fd >= 0 && fdOpen(fd) {
		// The descriptor may have been reused by another goroutine, but
		// nothing else in these tests opens files concurrently.
		t.Errorf("%v: descriptor %d still open after Close", l, fd)
	}
	if err := l.Close(); err != nil {
		t.Errorf("%v: second Close: %v", l, err)
	}
	if detachByName != nil {
		if err := detachByName(); !errors.Is(err, ErrNotAttached) {
			t.Errorf("%v: Detach after Link.Close: %v, want ErrNotAttached", l, err)
		}
	}
}

func TestLinkTracepoint(t *testing.T) {
	testutil.RequireRoot(t)
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	b := newThreadCounter(t)
	l, err := b.AttachTracepoint("syscalls:sys_enter_getppid", "on_event")
	if err != nil {
		t.Fatal(err)
	}
	if l.Kind() != LinkTracepoint || l.Target() != "syscalls:sys_enter_getppid" || l.Function() != "on_event" {
		t.Errorf("link describes itself as %v (kind %d)", l, l.Kind())
	}
	if got := l.String(); got != "tracepoint syscalls:sys_enter_getppid <- on_event" {
		t.Errorf("String = %q", got)
	}
	if l.FD() < 0 {
		t.Errorf("FD = %d", l.FD())
	}
	if got := b.Links(); len(got) != 1 || got[0] != l {
		t.Errorf("Links = %v", got)
	}
	syscall.Getppid()
	if got := tableUint(t, b, "hits", 0); got != 1 {
		t.Fatalf("hits = %d before Close, want 1", got)
	}
	perfBefore := perfFDs(t)
	checkLinkCloses(t, l, func() error { return b.DetachTracepoint("syscalls:sys_enter_getppid") })
	if got := perfFDs(t); got != perfBefore-1 {
		t.Errorf("perf fds %d -> %d, want one fewer", perfBefore, got)
	}
	syscall.Getppid()
	if got := tableUint(t, b, "hits", 0); got != 1 {
		t.Errorf("hits = %d after Link.Close, want still 1", got)
	}
	if n := b.NumOpenTracepoints(); n != 0 {
		t.Errorf("NumOpenTracepoints = %d after Link.Close", n)
	}
	if len(b.Links()) != 0 {
		t.Errorf("Links after Close = %v", b.Links())
	}
	// The same attachment can be made again once closed.
	l2, err := b.AttachTracepoint("syscalls:sys_enter_getppid", "on_event")
	if err != nil {
		t.Fatalf("attach after Link.Close: %v", err)
	}
	syscall.Getppid()
	if got := tableUint(t, b, "hits", 0); got != 2 {
		t.Errorf("hits = %d after re-attach, want 2", got)
	}
	if err := b.DetachTracepoint("syscalls:sys_enter_getppid", "on_event"); err != nil {
		t.Fatal(err)
	}
	// Detached by name: the Link knows, and its Close is a no-op.
	if l2.Attached() {
		t.Error("Link still attached after DetachTracepoint")
	}
	if err := l2.Close(); err != nil {
		t.Errorf("Close after DetachTracepoint: %v", err)
	}
}

func TestLinkRawTracepoint(t *testing.T) {
	testutil.RequireRoot(t)
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	b := newThreadCounter(t)
	l, err := b.AttachRawTracepoint("sys_enter", "on_event")
	if err != nil {
		t.Fatal(err)
	}
	if l.Kind() != LinkRawTracepoint || l.Target() != "sys_enter" {
		t.Errorf("link = %v", l)
	}
	syscall.Getppid()
	before := tableUint(t, b, "hits", 0)
	if before == 0 {
		t.Fatal("raw tracepoint did not fire")
	}
	checkLinkCloses(t, l, func() error { return b.DetachRawTracepoint("sys_enter") })
	after := tableUint(t, b, "hits", 0)
	for i := 0; i < 10; i++ {
		syscall.Getppid()
	}
	if got := tableUint(t, b, "hits", 0); got != after {
		t.Errorf("hits %d -> %d after Link.Close, want no change", after, got)
	}
	if n := b.NumOpenTracepoints(); n != 0 {
		t.Errorf("NumOpenTracepoints = %d", n)
	}
}

func TestLinkPerfEvent(t *testing.T) {
	testutil.RequireRoot(t)
	b, err := New(Options{Text: "int on_sample(void *ctx) { return 0; }\n"})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	perfBefore := perfFDs(t)
	l, err := b.AttachPerfEvent(perf.TypeSoftware, perf.SWCPUClock, "on_sample", PerfEventOptions{SamplePeriod: 1 << 40})
	if err != nil {
		t.Fatal(err)
	}
	cpus, _ := onlineCPUCount()
	if got := b.NumOpenPerfEvents(); got != cpus {
		t.Errorf("NumOpenPerfEvents = %d, want %d", got, cpus)
	}
	if cpus > 1 && l.FD() != -1 {
		t.Errorf("FD = %d for %d events, want -1", l.FD(), cpus)
	}
	checkLinkCloses(t, l, func() error { return b.DetachPerfEvent(perf.TypeSoftware, perf.SWCPUClock) })
	if got := perfFDs(t); got != perfBefore {
		t.Errorf("perf fds %d after Link.Close, want %d", got, perfBefore)
	}
	if got := b.NumOpenPerfEvents(); got != 0 {
		t.Errorf("NumOpenPerfEvents = %d after Link.Close", got)
	}
	// One CPU: one descriptor, which FD gives.
	cpu := 0
	l, err = b.AttachPerfEventRaw(perf.Attr{Type: perf.TypeSoftware, Config: perf.SWCPUClock, SamplePeriod: 1 << 40, Flags: perf.ExcludeIdle},
		"on_sample", PerfEventOptions{CPU: &cpu})
	if err != nil {
		t.Fatal(err)
	}
	if l.FD() < 0 || b.NumOpenPerfEvents() != 1 {
		t.Errorf("FD = %d, NumOpenPerfEvents = %d", l.FD(), b.NumOpenPerfEvents())
	}
	checkLinkCloses(t, l, nil)
}

func TestPerfEventOptionsChecked(t *testing.T) {
	testutil.RequireRoot(t)
	b, err := New(Options{Text: "int on_sample(void *ctx) { return 0; }\n"})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	cpu := -1
	for name, err := range map[string]error{
		"two options":       attachErr(b.AttachPerfEvent(perf.TypeSoftware, perf.SWCPUClock, "on_sample", PerfEventOptions{SampleFreq: 1}, PerfEventOptions{SampleFreq: 1})),
		"negative CPU":      attachErr(b.AttachPerfEvent(perf.TypeSoftware, perf.SWCPUClock, "on_sample", PerfEventOptions{SampleFreq: 1, CPU: &cpu})),
		"raw with sampling": attachErr(b.AttachPerfEventRaw(perf.Attr{Type: perf.TypeSoftware, SampleFreq: 1}, "on_sample", PerfEventOptions{SampleFreq: 1})),
		"period and freq":   attachErr(b.AttachPerfEventRaw(perf.Attr{Type: perf.TypeSoftware, SampleFreq: 1, SamplePeriod: 1}, "on_sample")),
		"unknown flag":      attachErr(b.AttachPerfEventRaw(perf.Attr{Type: perf.TypeSoftware, SamplePeriod: 1, Flags: 1 << 10}, "on_sample")),
	} {
		if err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if n := b.NumOpenPerfEvents(); n != 0 {
		t.Errorf("NumOpenPerfEvents = %d after refused attaches", n)
	}
}

func TestLinkUprobe(t *testing.T) {
	testutil.RequireRoot(t)
	bins := buildUprobeTargets(t)
	b, err := New(Options{Text: uprobeCountProg})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	probesBefore := OpenProbes()
	entry, err := b.AttachUprobe(bins.pie, "gobcc_target", "on_entry")
	if err != nil {
		t.Fatal(err)
	}
	ret, err := b.AttachUretprobe(bins.pie, "gobcc_target", "on_return")
	if err != nil {
		t.Fatal(err)
	}
	if entry.Kind() != LinkUprobe || ret.Kind() != LinkUretprobe || !strings.HasPrefix(entry.Target(), "p_") {
		t.Errorf("links: %v, %v", entry, ret)
	}
	if OpenProbes() != probesBefore+2 || b.NumOpenUprobes() != 2 {
		t.Errorf("OpenProbes = %d (was %d), NumOpenUprobes = %d", OpenProbes(), probesBefore, b.NumOpenUprobes())
	}
	ch := testutil.StartChild(t, bins.pie, "5")
	ch.Run(t)
	if got := tableUint(t, b, "hits", uint32(0)); got != 5 {
		t.Fatalf("entries = %d, want 5", got)
	}
	checkLinkCloses(t, entry, func() error { return b.DetachUprobe(bins.pie, "gobcc_target") })
	if OpenProbes() != probesBefore+1 || b.NumOpenUprobes() != 1 {
		t.Errorf("after Close: OpenProbes = %d (was %d), NumOpenUprobes = %d", OpenProbes(), probesBefore, b.NumOpenUprobes())
	}
	ch2 := testutil.StartChild(t, bins.pie, "5")
	ch2.Run(t)
	if got := tableUint(t, b, "hits", uint32(0)); got != 5 {
		t.Errorf("entries = %d after the uprobe's Link.Close, want still 5", got)
	}
	if got := tableUint(t, b, "hits", uint32(1)); got != 10 {
		t.Errorf("returns = %d, want 10 (the uretprobe stays)", got)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if OpenProbes() != probesBefore {
		t.Errorf("OpenProbes = %d after Close, want %d", OpenProbes(), probesBefore)
	}
	if ret.Attached() {
		t.Error("uretprobe Link attached after BPF.Close")
	}
	if err := ret.Close(); err != nil {
		t.Errorf("Link.Close after BPF.Close: %v", err)
	}
}

func TestUprobeOptionsChecked(t *testing.T) {
	testutil.RequireRoot(t)
	bins := buildUprobeTargets(t)
	b, err := New(Options{Text: uprobeCountProg})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	for name, err := range map[string]error{
		"two options":       attachErr(b.AttachUprobe(bins.pie, "gobcc_target", "on_entry", UprobeOptions{}, UprobeOptions{})),
		"no symbol or addr": attachErr(b.AttachUprobe(bins.pie, "", "on_entry")),
		"addr and sym_off":  attachErr(b.AttachUprobe(bins.pie, "", "on_entry", UprobeOptions{Addr: 0x1000, SymOff: 4})),
		"two detach opts":   b.DetachUprobe(bins.pie, "gobcc_target", UprobeOptions{}, UprobeOptions{}),
	} {
		if err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := b.AttachKprobe("vfs_read", "on_entry", KprobeOptions{}, KprobeOptions{}); err == nil {
		t.Error("AttachKprobe with two options accepted")
	}
	if b.NumOpenUprobes() != 0 {
		t.Errorf("NumOpenUprobes = %d", b.NumOpenUprobes())
	}
}

// Links returned by a regexp attach close one by one.
func TestLinkTracepointRe(t *testing.T) {
	testutil.RequireRoot(t)
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	b := newThreadCounter(t)
	links, err := b.AttachTracepointRe(`syscalls:sys_enter_get(pid|ppid)$`, "on_event")
	if err != nil {
		t.Fatal(err)
	}
	if len(links) != 2 {
		t.Fatalf("%d links, want 2", len(links))
	}
	var ppid *Link
	for _, l := range links {
		if l.Target() == "syscalls:sys_enter_getppid" {
			ppid = l
		}
	}
	if ppid == nil {
		t.Fatalf("no link for getppid among %v", links)
	}
	if err := ppid.Close(); err != nil {
		t.Fatal(err)
	}
	if n := b.NumOpenTracepoints(); n != 1 {
		t.Errorf("NumOpenTracepoints = %d, want 1", n)
	}
	syscall.Getpid()
	syscall.Getppid()
	if got := tableUint(t, b, "hits", 0); got != 1 {
		t.Errorf("hits = %d, want 1 (getpid only)", got)
	}
}

// A Link closed by hand is not detached again by BPF.Close: its
// descriptor number, reused by a file opened since, stays open.
func TestLinkClosedNotDetachedAgain(t *testing.T) {
	testutil.RequireRoot(t)
	b, err := New(Options{Text: "int on_event(void *ctx) { return 0; }\n"})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	l, err := b.AttachRawTracepoint("sys_enter", "on_event")
	if err != nil {
		t.Fatal(err)
	}
	fd := l.FD()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	// The lowest free descriptor is the one the Link released.
	f, err := os.Open("/dev/null")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if int(f.Fd()) != fd {
		t.Skipf("descriptor %d was not reused (got %d)", fd, f.Fd())
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if !fdOpen(fd) {
		t.Errorf("BPF.Close closed descriptor %d a second time", fd)
	}
	if err := l.Close(); err != nil {
		t.Errorf("Link.Close after BPF.Close: %v", err)
	}
}

// Many goroutines closing Links while the object closes: each attachment
// is detached once (checked by -race and by the probe counters).
func TestLinkCloseConcurrent(t *testing.T) {
	testutil.RequireRoot(t)
	b, err := New(Options{Text: "int on_event(void *ctx) { return 0; }\n"})
	if err != nil {
		t.Fatal(err)
	}
	var links []*Link
	for _, tp := range []string{"sys_enter", "sys_exit", "sched_switch", "sched_wakeup"} {
		l, err := b.AttachRawTracepoint(tp, "on_event")
		if err != nil {
			t.Fatal(err)
		}
		links = append(links, l)
	}
	done := make(chan error, len(links))
	for _, l := range links {
		go func() { done <- l.Close() }()
	}
	closeErr := b.Close()
	for range links {
		if err := <-done; err != nil {
			t.Errorf("Link.Close: %v", err)
		}
	}
	if closeErr != nil {
		t.Errorf("BPF.Close: %v", closeErr)
	}
	for _, l := range links {
		if l.Attached() {
			t.Errorf("%v still attached", l)
		}
	}
}

func TestLinkKindString(t *testing.T) {
	for k := LinkTracepoint; k <= LinkProgAttach; k++ {
		if s := k.String(); s == "" || strings.HasPrefix(s, "LinkKind(") {
			t.Errorf("kind %d has no name", int(k))
		}
	}
	if got := LinkKind(99).String(); got != fmt.Sprintf("LinkKind(%d)", 99) {
		t.Errorf("unknown kind = %q", got)
	}
}
