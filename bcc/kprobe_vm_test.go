package bcc

import (
	"errors"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/gobcc/gobcc/internal/attach"
	"github.com/gobcc/gobcc/internal/testutil"
	"github.com/gobcc/gobcc/probes"
)

// The kprobe suite. It attaches and counts for real where the kernel has
// kprobes (`make vmtest` runs it in a QEMU guest of Debian's 6.1 kernel);
// on a kernel without kprobes, such as the CI host's, each test asserts the
// clear ErrNotSupported error instead, so that GOBCC_REQUIRE_KERNEL=1 runs
// never skip it silently.

// kprobeSuiteSrc counts, per slot, calls made by one thread (TEST_TID) so
// that the counts are exact whatever else runs on the machine. The plain
// kernel functions are write_null and read_zero, /dev/null's write and
// /dev/zero's read: unlike vfs_write they are called only by the test's own
// writes and reads (the Go runtime writes to its netpoll eventfd from any
// thread).
const kprobeSuiteSrc = `
BPF_ARRAY(hits, u64, 16);
static inline int hit(int k) {
	if ((u32)bpf_get_current_pid_tgid() != TEST_TID) return 0;
	u64 *v = hits.lookup(&k);
	if (v) __sync_fetch_and_add(v, 1);
	return 0;
}
int on_sys(void *ctx)        { return hit(0); }
int on_sys_ret(void *ctx)    { return hit(1); }
int on_fn(void *ctx)         { return hit(2); }
int on_fn_ret(void *ctx)     { return hit(3); }
int on_re(void *ctx)         { return hit(4); }
int on_off(void *ctx)        { return hit(5); }
int on_maxactive(void *ctx)  { return hit(6); }
int kprobe__sys_getppid(void *ctx) { return hit(7); }
int kretprobe__write_null(void *ctx) { return hit(8); }
`

const (
	slotSys = iota
	slotSysRet
	slotFn
	slotFnRet
	slotRe
	slotOffset
	slotMaxActive
	slotAutoKprobe
	slotAutoKretprobe
)

// requireKprobes reports whether the kernel has kprobes. Otherwise it
// checks that attaching one fails with the clear error, and the test ends
// there (passing: the error is what this kernel must give).
func requireKprobes(t *testing.T) bool {
	t.Helper()
	testutil.RequireRoot(t)
	if _, err := kprobeSupport(); err == nil {
		return true
	}
	b, err := New(Options{Text: "int probe(void *ctx) { return 0; }\n"})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	_, err = b.AttachKprobe("vfs_read", "probe")
	if !errors.Is(err, ErrNotSupported) || !strings.Contains(err.Error(), "CONFIG_KPROBES") {
		t.Fatalf("without kprobes: AttachKprobe: %v, want ErrNotSupported naming CONFIG_KPROBES", err)
	}
	t.Log("no kprobes on this kernel: checked the clear error (make vmtest runs this test on a kernel with kprobes)")
	return false
}

// kprobeState is what must come back to its earlier value after Close:
// this process's perf event, program and map descriptors, and the
// kprobe_events entries.
type kprobeState struct {
	fds    map[string]int
	events string
}

func kprobeSnapshot(t *testing.T) kprobeState {
	t.Helper()
	fds := bpfFDs(t)
	events, err := os.ReadFile("/sys/kernel/tracing/kprobe_events")
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	return kprobeState{
		fds:    map[string]int{"[perf_event]": fds["[perf_event]"], "bpf-prog": fds["bpf-prog"], "bpf-map": fds["bpf-map"]},
		events: string(events),
	}
}

func TestKprobeSuite(t *testing.T) {
	if !requireKprobes(t) {
		return
	}
	before := kprobeSnapshot(t)

	// Triggers run on this thread only; the program counts this thread.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	b, err := New(Options{Text: kprobeSuiteSrc, CFlags: []string{"-DTEST_TID=" + strconv.Itoa(syscall.Gettid())}})
	if err != nil {
		t.Fatal(err)
	}
	closed := false
	defer func() {
		if !closed {
			b.Close()
		}
	}()
	if n := b.NumOpenKprobes(); n != 2 {
		t.Errorf("after auto-attach of kprobe__sys_getppid and kretprobe__write_null: NumOpenKprobes = %d, want 2", n)
	}

	sysFn := b.GetSyscallFnName("getppid")
	if _, err := b.AttachKprobe(sysFn, "on_sys"); err != nil {
		t.Fatal(err)
	}
	if _, err := b.AttachKretprobe(sysFn, "on_sys_ret"); err != nil {
		t.Fatal(err)
	}
	if _, err := b.AttachKprobe("write_null", "on_fn"); err != nil {
		t.Fatal(err)
	}
	if _, err := b.AttachKretprobe("write_null", "on_fn_ret"); err != nil {
		t.Fatal(err)
	}
	reFns, err := probes.GetKprobeFunctions(`(read_zero|write_null)$`)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(reFns, ",") != "read_zero,write_null" && strings.Join(reFns, ",") != "write_null,read_zero" {
		t.Errorf("probes.GetKprobeFunctions((read_zero|write_null)$) = %q", reFns)
	}
	if _, err := b.AttachKprobeRe(`(read_zero|write_null)$`, "on_re"); err != nil {
		t.Fatal(err)
	}
	offset, err := attachAtFirstOffset(b, "read_zero", "on_off")
	if err != nil {
		t.Fatal(err)
	}
	wantOpen := 2 + 4 + len(reFns) + 1
	if n := b.NumOpenKprobes(); n != wantOpen {
		t.Errorf("NumOpenKprobes = %d, want %d", n, wantOpen)
	}

	const calls = 5
	devNull, err := unix.Open("/dev/null", unix.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(devNull)
	devZero, err := unix.Open("/dev/zero", unix.O_RDONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(devZero)
	// Counts are taken as differences: loading and attaching wrote to the
	// compiler helper's pipe from this thread.
	base := make(map[int]uint64)
	for slot := slotSys; slot <= slotAutoKretprobe; slot++ {
		base[slot] = tableUint(t, b, "hits", uint32(slot))
	}
	buf := make([]byte, 8)
	for i := 0; i < calls; i++ {
		syscall.Getppid()
		if _, err := unix.Write(devNull, buf); err != nil {
			t.Fatal(err)
		}
		if _, err := unix.Read(devZero, buf); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct {
		what string
		slot int
		want uint64
	}{
		{"kprobe " + sysFn, slotSys, calls},
		{"kretprobe " + sysFn, slotSysRet, calls},
		{"kprobe write_null", slotFn, calls},
		{"kretprobe write_null", slotFnRet, calls},
		{"AttachKprobeRe (read_zero|write_null)$", slotRe, 2 * calls},
		{"kprobe read_zero+" + strconv.FormatUint(offset, 10), slotOffset, calls},
		{"auto-attached kprobe__sys_getppid", slotAutoKprobe, calls},
		{"auto-attached kretprobe__write_null", slotAutoKretprobe, calls},
	} {
		got := tableUint(t, b, "hits", uint32(c.slot)) - base[c.slot]
		t.Logf("%s: %d hits", c.what, got)
		if got != c.want {
			t.Errorf("%s: %d hits, want %d", c.what, got, c.want)
		}
	}

	// DetachKprobe: the entry probe on the syscall stops counting, the
	// return probe on it keeps counting.
	if err := b.DetachKprobe(sysFn, "on_sys"); err != nil {
		t.Fatal(err)
	}
	if n := b.NumOpenKprobes(); n != wantOpen-1 {
		t.Errorf("after DetachKprobe: NumOpenKprobes = %d, want %d", n, wantOpen-1)
	}
	syscall.Getppid()
	if got := tableUint(t, b, "hits", uint32(slotSys)) - base[slotSys]; got != calls {
		t.Errorf("after DetachKprobe: %d hits, want still %d", got, calls)
	}
	if got := tableUint(t, b, "hits", uint32(slotSysRet)) - base[slotSysRet]; got != calls+1 {
		t.Errorf("kretprobe after the kprobe's detach: %d hits, want %d", got, calls+1)
	}
	if err := b.DetachKprobe(sysFn, "on_sys"); !errors.Is(err, ErrNotAttached) {
		t.Errorf("second DetachKprobe: %v, want ErrNotAttached", err)
	}

	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	closed = true
	if n := b.NumOpenKprobes(); n != 0 {
		t.Errorf("after Close: NumOpenKprobes = %d", n)
	}
	after := kprobeSnapshot(t)
	for kind, n := range before.fds {
		if after.fds[kind] != n {
			t.Errorf("after Close: %d %s descriptors, %d before", after.fds[kind], kind, n)
		}
	}
	if after.events != before.events {
		t.Errorf("after Close kprobe_events holds\n%s\nwas\n%s", after.events, before.events)
	}
}

// attachAtFirstOffset attaches fnName a few bytes into event: at the first
// of the usual instruction boundaries after the entry (endbr64 is 4 bytes,
// the fentry call 5) that the kernel accepts. The kernel refuses an offset
// inside an instruction with EILSEQ.
func attachAtFirstOffset(b *BPF, event, fnName string) (uint64, error) {
	var errs []error
	for _, off := range []uint64{4, 5, 9} {
		_, err := b.AttachKprobe(event, fnName, KprobeOptions{EventOffset: off})
		if err == nil {
			return off, nil
		}
		errs = append(errs, err)
	}
	return 0, errors.Join(errs...)
}

// TestKprobeMaxActive attaches a kretprobe with maxactive, which the kprobe
// PMU cannot express: it needs a kprobe_events entry ("r<N>:").
func TestKprobeMaxActive(t *testing.T) {
	if !requireKprobes(t) {
		return
	}
	before := kprobeSnapshot(t)
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	b, err := New(Options{Text: kprobeSuiteSrc, NoAutoAttach: true,
		CFlags: []string{"-DTEST_TID=" + strconv.Itoa(syscall.Gettid())}})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	_, err = b.AttachKretprobe("write_null", "on_maxactive", KprobeOptions{MaxActive: 16})
	if err != nil {
		t.Fatal(err)
	}
	devNull, err := unix.Open("/dev/null", unix.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(devNull)
	base := tableUint(t, b, "hits", uint32(slotMaxActive))
	if _, err := unix.Write(devNull, []byte("x")); err != nil {
		t.Fatal(err)
	}
	if got := tableUint(t, b, "hits", uint32(slotMaxActive)) - base; got != 1 {
		t.Errorf("kretprobe with maxactive 16: %d hits, want 1", got)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if after := kprobeSnapshot(t); after.events != before.events {
		t.Errorf("after Close kprobe_events holds\n%s\nwas\n%s", after.events, before.events)
	}
}

// TestKprobeForcedProbeEvents attaches a kprobe and a kretprobe through
// tracefs kprobe_events, the fallback for kernels without the kprobe PMU,
// forced where the PMU exists; they count, and Close removes the entries.
func TestKprobeForcedProbeEvents(t *testing.T) {
	if !requireKprobes(t) {
		return
	}
	attach.ForceProbeEvents.Store(true)
	t.Cleanup(func() { attach.ForceProbeEvents.Store(false) })
	before := kprobeSnapshot(t)
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	b, err := New(Options{Text: kprobeSuiteSrc, NoAutoAttach: true,
		CFlags: []string{"-DTEST_TID=" + strconv.Itoa(syscall.Gettid())}})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if _, err := b.AttachKprobe("write_null", "on_fn"); err != nil {
		t.Fatal(err)
	}
	if _, err := b.AttachKretprobe("write_null", "on_fn_ret"); err != nil {
		t.Fatal(err)
	}
	if during := kprobeSnapshot(t); strings.Count(during.events, "gobcc") < strings.Count(before.events, "gobcc")+2 {
		t.Errorf("kprobe_events holds no new gobcc entries:\n%s", during.events)
	}
	devNull, err := unix.Open("/dev/null", unix.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(devNull)
	for range 5 {
		unix.Write(devNull, []byte("x"))
	}
	for _, slot := range []int{slotFn, slotFnRet} {
		if got := tableUint(t, b, "hits", uint32(slot)); got != 5 {
			t.Errorf("slot %d: %d hits through kprobe_events, want 5", slot, got)
		}
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if after := kprobeSnapshot(t); after.events != before.events {
		t.Errorf("after Close kprobe_events holds\n%s\nwas\n%s", after.events, before.events)
	}
}

// TestKprobeBadTarget: a missing function and a blacklisted one are
// refused with an error naming them, and nothing stays attached.
func TestKprobeBadTarget(t *testing.T) {
	if !requireKprobes(t) {
		return
	}
	b, err := New(Options{Text: "int probe(void *ctx) { return 0; }\n"})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if _, err := b.AttachKprobe("gobcc_no_such_function", "probe"); err == nil || !strings.Contains(err.Error(), "gobcc_no_such_function") {
		t.Errorf("missing function: %v", err)
	}
	if _, err := b.AttachKprobeRe("gobcc_no_such_function_.*", "probe"); err == nil {
		t.Error("AttachKprobeRe with no match succeeded")
	}
	if n := b.NumOpenKprobes(); n != 0 {
		t.Errorf("NumOpenKprobes = %d after failed attaches", n)
	}
	if _, err := os.Stat("/proc/kallsyms"); err != nil {
		t.Fatal(err)
	}
}
