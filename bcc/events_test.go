package bcc

import (
	"context"
	"encoding/binary"
	"errors"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/gobcc/gobcc/internal/bpfsys"
	engine "github.com/gobcc/gobcc/internal/events"
	"github.com/gobcc/gobcc/internal/testutil"
)

// eventProg sends one 32-byte record per getpid of the thread in target
// (see produceFromThisThread: the Go runtime calls getpid itself) through a
// perf buffer, and counts in stats: [0] submissions that succeeded, [1]
// those that failed (ring full, or no ring at this CPU's index), [2] the
// sequence number.
const eventProg = `
struct data_t { u32 pid; u32 cpu; u64 seq; char comm[16]; };
BPF_PERF_OUTPUT(events);
BPF_ARRAY(stats, u64, 4);
BPF_ARRAY(target, u32, 1);
TRACEPOINT_PROBE(syscalls, sys_enter_getpid) {
    int zero = 0;
    u32 *tid = target.lookup(&zero);
    if (!tid || (u32)bpf_get_current_pid_tgid() != *tid)
        return 0;
    struct data_t d = {};
    d.pid = bpf_get_current_pid_tgid() >> 32;
    d.cpu = bpf_get_smp_processor_id();
    int k = 2;
    u64 *seq = stats.lookup(&k);
    if (!seq)
        return 0;
    d.seq = __sync_fetch_and_add(seq, 1);
    bpf_get_current_comm(&d.comm, sizeof(d.comm));
    k = events.perf_submit(args, &d, sizeof(d)) == 0 ? 0 : 1;
    u64 *c = stats.lookup(&k);
    if (c)
        __sync_fetch_and_add(c, 1);
    return 0;
}
`

// ringProg sends the same record through two ring buffers: rb1 with
// ringbuf_output, rb2 with reserve and then submit (even sequence numbers)
// or discard (odd ones). stats: [0] rb1 outputs that succeeded, [1] rb1
// outputs that failed, [2] sequence, [3] rb2 submits, [4] rb2 discards,
// [5] rb2 reservations that failed (the overflow-count pattern of
// docs/api-events.md).
const ringProg = `
struct data_t { u32 pid; u32 cpu; u64 seq; char comm[16]; };
BPF_RINGBUF_OUTPUT(rb1, 1);
BPF_RINGBUF_OUTPUT(rb2, 1);
BPF_ARRAY(stats, u64, 8);
BPF_ARRAY(target, u32, 1);
static void count(int k) {
    u64 *c = stats.lookup(&k);
    if (c)
        __sync_fetch_and_add(c, 1);
}
TRACEPOINT_PROBE(syscalls, sys_enter_getpid) {
    int zero = 0;
    u32 *tid = target.lookup(&zero);
    if (!tid || (u32)bpf_get_current_pid_tgid() != *tid)
        return 0;
    struct data_t d = {};
    d.pid = bpf_get_current_pid_tgid() >> 32;
    d.cpu = bpf_get_smp_processor_id();
    int k = 2;
    u64 *seq = stats.lookup(&k);
    if (!seq)
        return 0;
    d.seq = __sync_fetch_and_add(seq, 1);
    bpf_get_current_comm(&d.comm, sizeof(d.comm));
    count(rb1.ringbuf_output(&d, sizeof(d), 0) == 0 ? 0 : 1);
    struct data_t *p = rb2.ringbuf_reserve(sizeof(struct data_t));
    if (!p) {
        count(5);
        return 0;
    }
    __builtin_memcpy(p, &d, sizeof(d));
    if (d.seq & 1) {
        rb2.ringbuf_discard(p, 0);
        count(4);
    } else {
        rb2.ringbuf_submit(p, 0);
        count(3);
    }
    return 0;
}
`

// goEvent is data_t in Go.
type goEvent struct {
	PID  uint32
	CPU  uint32
	Seq  uint64
	Comm [16]byte
}

func newEventBPF(t testing.TB, src string) *BPF {
	t.Helper()
	testutil.RequireRoot(t)
	b, err := New(Options{Text: src})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// produceFromThisThread locks the goroutine to its thread and makes the
// program send events for this thread's getpid calls only, until the
// returned function is called: the Go runtime calls getpid itself (to
// signal threads), so filtering by process would count its calls too.
func produceFromThisThread(t testing.TB, b *BPF) func() {
	t.Helper()
	runtime.LockOSThread()
	target, err := TableOf[uint32, uint32](mustTable(t, b, "target"))
	if err == nil {
		err = target.Update(0, uint32(unix.Gettid()))
	}
	if err != nil {
		runtime.UnlockOSThread()
		t.Fatal(err)
	}
	return func() {
		target.Update(0, 0)
		runtime.UnlockOSThread()
	}
}

func stat(t testing.TB, b *BPF, i uint32) uint64 {
	t.Helper()
	st, err := TableOf[uint32, uint64](mustTable(t, b, "stats"))
	if err != nil {
		t.Fatal(err)
	}
	v, err := st.Lookup(i)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// pinToCPU runs the calling goroutine on cpu only, until the returned
// function undoes it.
func pinToCPU(t *testing.T, cpu int) func() {
	t.Helper()
	runtime.LockOSThread()
	var old, set unix.CPUSet
	if err := unix.SchedGetaffinity(0, &old); err != nil {
		t.Fatal(err)
	}
	set.Set(cpu)
	if err := unix.SchedSetaffinity(0, &set); err != nil {
		runtime.UnlockOSThread()
		t.Fatalf("pin to CPU %d: %v", cpu, err)
	}
	return func() {
		unix.SchedSetaffinity(0, &old)
		runtime.UnlockOSThread()
	}
}

func onlineCPUs(t *testing.T) []int {
	t.Helper()
	cpus, err := bpfsys.OnlineCPUs()
	if err != nil {
		t.Fatal(err)
	}
	return cpus
}

// Every record submitted arrives once, on the CPU that sent it, with its
// bytes intact, decodable by EventOf, Event and the C event type.
func TestPerfBufferDeliversEverything(t *testing.T) {
	b := newEventBPF(t, eventProg)
	events := mustTable(t, b, "events")
	dec, err := EventOf[goEvent](events)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[uint64]bool{}
	pid := uint32(os.Getpid()) // not in the callback: getpid makes events
	var badCPU, badPID int
	var lastValue Value
	pb, err := events.OpenPerfBuffer(func(cpu int, data []byte) {
		ev, err := dec.Decode(data)
		if err != nil {
			t.Error(err)
			return
		}
		if int(ev.CPU) != cpu {
			badCPU++
		}
		if ev.PID != pid {
			badPID++
		}
		seen[ev.Seq] = true
		if lastValue, err = events.Event(data); err != nil {
			t.Error(err)
		}
	}, PerfBufferOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := pb.CPUs(), onlineCPUs(t); !slices.Equal(got, want) {
		t.Errorf("rings on CPUs %v, want the online CPUs %v", got, want)
	}
	defer produceFromThisThread(t, b)()
	const n = 5000
	for i := 0; i < n; i++ {
		syscall.Getpid()
		if i%100 == 99 {
			if _, err := b.PerfBufferPoll(0); err != nil {
				t.Fatal(err)
			}
		}
	}
	for len(seen) < n {
		got, err := b.PerfBufferPoll(time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if got == 0 {
			break
		}
	}
	// The Go runtime may call getpid on this thread too: BPF's count,
	// not n, is what must arrive.
	sent := stat(t, b, 0)
	if uint64(len(seen)) != sent || sent < n || stat(t, b, 1) != 0 {
		t.Errorf("received %d distinct records; BPF sent %d, failed %d; want %d", len(seen), sent, stat(t, b, 1), n)
	}
	if pb.LostCount() != 0 || pb.ReceivedCount() != sent {
		t.Errorf("LostCount %d, ReceivedCount %d", pb.LostCount(), pb.ReceivedCount())
	}
	if badCPU != 0 || badPID != 0 {
		t.Errorf("%d records on another CPU's ring, %d with a wrong pid", badCPU, badPID)
	}
	if v, _ := lastValue.Field("pid"); v.Uint64() != uint64(pid) {
		t.Errorf("Event(data).pid = %v", v)
	}
	if comm, _ := lastValue.Field("comm"); comm.Str() == "" {
		t.Errorf("Event(data).comm is empty: %v", lastValue)
	}
}

func TestPerfBufferOptionsAndMisuse(t *testing.T) {
	b := newEventBPF(t, eventProg)
	defer produceFromThisThread(t, b)()
	events := mustTable(t, b, "events")
	nop := func(int, []byte) {}
	for _, pages := range []int{3, 6, -2} {
		if _, err := events.OpenPerfBuffer(nop, PerfBufferOptions{PageCount: pages}); !errors.Is(err, ErrPageCount) {
			t.Errorf("PageCount %d: %v, want ErrPageCount", pages, err)
		}
	}
	if _, err := b.PerfBufferPoll(0); !errors.Is(err, ErrNoBuffers) {
		t.Errorf("poll with no buffers: %v", err)
	}
	if _, err := b.RingBufferPoll(0); !errors.Is(err, ErrNoBuffers) {
		t.Errorf("ring poll with no buffers: %v", err)
	}
	if _, err := mustTable(t, b, "stats").OpenPerfBuffer(nop, PerfBufferOptions{}); !errors.Is(err, ErrWrongTableType) {
		t.Errorf("perf buffer on an array: %v", err)
	}
	if _, err := events.OpenRingBuffer(func([]byte) {}); !errors.Is(err, ErrWrongTableType) {
		t.Errorf("ring buffer on a perf table: %v", err)
	}
	if _, err := events.Items(); !errors.Is(err, ErrWrongTableType) {
		t.Errorf("Items on a perf table: %v", err)
	}
	pb, err := events.OpenPerfBuffer(nop, PerfBufferOptions{PageCount: 16, WakeupEvents: 4})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := events.OpenPerfBuffer(nop, PerfBufferOptions{}); !errors.Is(err, ErrReaderOpen) {
		t.Errorf("second reader: %v", err)
	}
	// With WakeupEvents 4, 3 records wake nobody; Consume reads them, and
	// so does a poll that times out (BCC's poll would leave them).
	for i := 0; i < 3; i++ {
		syscall.Getpid()
	}
	if n, err := b.PerfBufferConsume(); uint64(n) != stat(t, b, 0) || n < 3 || err != nil {
		t.Errorf("PerfBufferConsume = %d, %v; want the %d sent", n, err, stat(t, b, 0))
	}
	for i := 0; i < 3; i++ {
		syscall.Getpid()
	}
	if n, err := b.PerfBufferPoll(time.Millisecond); n < 3 || err != nil {
		t.Errorf("PerfBufferPoll = %d, %v; want the 3 records below WakeupEvents", n, err)
	}
	if err := pb.Close(); err != nil {
		t.Fatal(err)
	}
	// Closed: the table is free again and the program's output fails.
	syscall.Getpid()
	if stat(t, b, 1) < 1 {
		t.Errorf("after Close, perf_submit failures = %d, want 1", stat(t, b, 1))
	}
	pb2, err := events.OpenPerfBuffer(nop, PerfBufferOptions{})
	if err != nil {
		t.Fatalf("reopen after Close: %v", err)
	}
	pb2.Close()
}

// A full ring loses records; every loss is reported, exactly: the lost
// callback's sum, LostCount and the BPF side's failed submissions agree,
// and received plus lost is what was sent.
func TestPerfBufferLossIsCountedExactly(t *testing.T) {
	b := newEventBPF(t, eventProg)
	events := mustTable(t, b, "events")
	var received, lostCB uint64
	pb, err := events.OpenPerfBuffer(func(int, []byte) { received++ },
		PerfBufferOptions{PageCount: 1, LostCallback: func(n uint64) { lostCB += n }})
	if err != nil {
		t.Fatal(err)
	}
	cpu := onlineCPUs(t)[0]
	unpin := pinToCPU(t, cpu)
	defer produceFromThisThread(t, b)()
	const n = 2000 // a 4 KiB ring holds about 90 of these records
	for i := 0; i < n; i++ {
		syscall.Getpid()
	}
	b.PerfBufferConsume()
	// The kernel writes the lost record before the next record that fits.
	syscall.Getpid()
	unpin()
	b.PerfBufferConsume()
	sent, failed := stat(t, b, 0), stat(t, b, 1)
	if sent+failed < n+1 {
		t.Fatalf("BPF counted %d+%d submissions, want %d", sent, failed, n+1)
	}
	if failed == 0 {
		t.Fatalf("a 1-page ring took %d records without loss", n)
	}
	if received != sent || pb.LostCount() != failed || lostCB != failed {
		t.Errorf("received %d (BPF sent %d), LostCount %d, lost callbacks %d (BPF failed %d)",
			received, sent, pb.LostCount(), lostCB, failed)
	}
	t.Logf("%d sent: %d received, %d lost", n+1, received, pb.LostCount())
}

// Rings go to the map at the CPU's own index, not at the position in the
// online list: with a (fake) online list holding only CPU 1, CPU 1's
// records arrive tagged CPU 1 and CPU 0's find no ring.
func TestPerfBufferRingAtCPUIndex(t *testing.T) {
	b := newEventBPF(t, eventProg)
	defer produceFromThisThread(t, b)()
	if len(onlineCPUs(t)) < 2 {
		testutil.RequireKernel(t, "needs two online CPUs")
	}
	events := mustTable(t, b, "events")
	var cpus []int
	pb, err := b.events.OpenPerf(events.eventTarget(), engine.PerfConfig{CPUs: []int{1}, Sample: func(cpu int, data []byte) {
		cpus = append(cpus, cpu, int(binary.NativeEndian.Uint32(data[4:8])))
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer pb.Close()
	unpin := pinToCPU(t, 1)
	syscall.Getpid()
	unpin()
	unpin = pinToCPU(t, 0)
	syscall.Getpid()
	unpin()
	b.PerfBufferConsume()
	if !slices.Equal(cpus, []int{1, 1}) {
		t.Errorf("records (ring CPU, sending CPU) = %v, want [1 1]", cpus)
	}
	if stat(t, b, 0) != 1 || stat(t, b, 1) != 1 {
		t.Errorf("BPF: %d sent, %d failed; want CPU 1's sent and CPU 0's failed", stat(t, b, 0), stat(t, b, 1))
	}
}

// With CPU 1 really offline, the perf buffer opens a ring for CPU 0 only
// and CPU 0's records arrive. It changes the machine, so it runs only with
// GOBCC_TEST_CPU_HOTPLUG=1 and restores CPU 1.
func TestPerfBufferWithCPUOffline(t *testing.T) {
	const path = "/sys/devices/system/cpu/cpu1/online"
	if os.Getenv("GOBCC_TEST_CPU_HOTPLUG") != "1" {
		t.Skip("set GOBCC_TEST_CPU_HOTPLUG=1 to take CPU 1 offline for this test")
	}
	b := newEventBPF(t, eventProg)
	defer produceFromThisThread(t, b)()
	if err := os.WriteFile(path, []byte("0"), 0); err != nil {
		testutil.RequireKernel(t, "cannot take CPU 1 offline: %v", err)
	}
	defer func() {
		if err := os.WriteFile(path, []byte("1"), 0); err != nil {
			t.Errorf("CPU 1 NOT RESTORED: %v", err)
		}
	}()
	events := mustTable(t, b, "events")
	var got []int
	pb, err := events.OpenPerfBuffer(func(cpu int, _ []byte) { got = append(got, cpu) }, PerfBufferOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer pb.Close()
	if slices.Contains(pb.CPUs(), 1) {
		t.Errorf("ring for offline CPU 1: %v", pb.CPUs())
	}
	syscall.Getpid()
	b.PerfBufferConsume()
	if len(got) != 1 {
		t.Errorf("got %v", got)
	}
}

// One RingBufferPoll serves two ring buffers; output, reserve+submit and
// reserve+discard all behave: discarded records never reach the callback.
func TestRingBufferSubmitReserveDiscard(t *testing.T) {
	b := newEventBPF(t, ringProg)
	defer produceFromThisThread(t, b)()
	dec, err := EventOf[goEvent](mustTable(t, b, "rb1"))
	if err != nil {
		t.Fatal(err)
	}
	var got1, got2 []uint64
	var sizes = map[int]int{}
	_, err = mustTable(t, b, "rb1").OpenRingBuffer(func(data []byte) {
		sizes[len(data)]++
		ev, err := dec.Decode(data)
		if err != nil {
			t.Error(err)
		}
		got1 = append(got1, ev.Seq)
	})
	if err != nil {
		t.Fatal(err)
	}
	_, err = mustTable(t, b, "rb2").OpenRingBuffer(func(data []byte) {
		got2 = append(got2, binary.NativeEndian.Uint64(data[8:16]))
	})
	if err != nil {
		t.Fatal(err)
	}
	const n = 1000
	for i := 0; i < n; i++ {
		syscall.Getpid()
		if i%20 == 19 {
			if _, err := b.RingBufferPoll(-1); err != nil {
				t.Fatal(err)
			}
		}
	}
	b.RingBufferConsume()
	if stat(t, b, 1) != 0 || stat(t, b, 5) != 0 {
		t.Fatalf("BPF counted %d failed outputs, %d failed reservations", stat(t, b, 1), stat(t, b, 5))
	}
	sent := stat(t, b, 0)
	if uint64(len(got1)) != sent || sent < n || !slices.IsSorted(got1) {
		t.Errorf("rb1: %d records (want %d, in order)", len(got1), sent)
	}
	if len(sizes) != 1 || uint64(sizes[32]) != sent {
		t.Errorf("record sizes %v, want exactly 32 bytes each", sizes)
	}
	if uint64(len(got2)) != stat(t, b, 3) || stat(t, b, 3)+stat(t, b, 4) != sent || stat(t, b, 4) < n/2 {
		t.Errorf("rb2: %d records, BPF submitted %d, discarded %d", len(got2), stat(t, b, 3), stat(t, b, 4))
	}
	for _, s := range got2 {
		if s%2 != 0 {
			t.Fatalf("discarded record %d delivered", s)
		}
	}
}

// A ring buffer that is not read fills up; the program's count of failed
// outputs and reservations accounts for every record not received.
func TestRingBufferOverflowCountedFromBPF(t *testing.T) {
	b := newEventBPF(t, ringProg)
	defer produceFromThisThread(t, b)()
	var got1, got2 uint64
	mustTable(t, b, "rb1").OpenRingBuffer(func([]byte) { got1++ })
	mustTable(t, b, "rb2").OpenRingBuffer(func([]byte) { got2++ })
	const n = 1000 // a 4 KiB ring holds 102 of these 40-byte records
	for i := 0; i < n; i++ {
		syscall.Getpid()
	}
	b.RingBufferConsume()
	if stat(t, b, 1) == 0 || got1 != stat(t, b, 0) || got1+stat(t, b, 1) < n {
		t.Errorf("rb1: received %d + failed %d, want %d with some failed", got1, stat(t, b, 1), n)
	}
	if got2+stat(t, b, 4)+stat(t, b, 5) != got1+stat(t, b, 1) || got2 != stat(t, b, 3) {
		t.Errorf("rb2: received %d, submitted %d, discarded %d, reservations failed %d",
			got2, stat(t, b, 3), stat(t, b, 4), stat(t, b, 5))
	}
}

func TestEventsIterator(t *testing.T) {
	for _, tc := range []struct{ src, table string }{{eventProg, "events"}, {ringProg, "rb1"}} {
		t.Run(tc.table, func(t *testing.T) {
			b := newEventBPF(t, tc.src)
			before := runtime.NumGoroutine()
			fdsBefore := openFDs(t)
			tb := mustTable(t, b, tc.table)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			const n = 300
			// Produce from another goroutine until the loop has n records;
			// what is sent before the loop opens its reader goes nowhere.
			var stopProducing atomic.Bool
			produced := make(chan struct{})
			go func() {
				defer close(produced) // after the target is reset, below
				defer produceFromThisThread(t, b)()
				for !stopProducing.Load() {
					syscall.Getpid()
				}
			}()
			var seqs []uint64
			var lost uint64
			for ev, err := range tb.Events(ctx, PerfBufferOptions{}) {
				if err != nil {
					t.Fatal(err)
				}
				lost += ev.Lost
				if ev.Lost == 0 {
					seqs = append(seqs, binary.NativeEndian.Uint64(ev.Data[8:16]))
				}
				if len(seqs) == n {
					// Cancel from inside: the next wait ends at once.
					cancel()
				}
			}
			stopProducing.Store(true)
			<-produced
			slices.Sort(seqs)
			seqs = slices.Compact(seqs)
			if len(seqs) < n {
				t.Errorf("got %d distinct records, want at least %d", len(seqs), n)
			}
			t.Logf("%d records, %d reported lost", len(seqs), lost)
			// The reader is gone: the table takes a new one.
			ctx2, cancel2 := context.WithCancel(context.Background())
			done := make(chan int)
			go func() {
				k := 0
				for range tb.Events(ctx2, PerfBufferOptions{}) {
					k++
				}
				done <- k
			}()
			// Cancel from outside while the loop waits with no record.
			time.Sleep(50 * time.Millisecond)
			cancel2()
			// It ends (a ring buffer may still hold records sent after the
			// first loop stopped).
			t.Logf("second iteration: %d records", <-done)
			if g := settledGoroutines(before); g > before {
				t.Errorf("%d goroutines after the loops, %d before", g, before)
			}
			if f := openFDs(t); f != fdsBefore {
				t.Errorf("%d descriptors after the loops, %d before", f, fdsBefore)
			}
		})
	}
}

// Close stops a poll blocked with no limit, waits for the running
// callback, and leaves no descriptor, mapping or goroutine behind.
func TestCloseStopsReaders(t *testing.T) {
	testutil.RequireRoot(t)
	goroutines := runtime.NumGoroutine()
	fds := openFDs(t)
	b, err := New(Options{Text: eventProg})
	if err != nil {
		t.Fatal(err)
	}
	unlock := produceFromThisThread(t, b)
	defer unlock()
	entered := make(chan struct{})
	release := make(chan struct{})
	var finished atomic.Bool
	var once sync.Once
	if _, err := mustTable(t, b, "events").OpenPerfBuffer(func(int, []byte) {
		once.Do(func() {
			close(entered)
			<-release
			finished.Store(true)
		})
	}, PerfBufferOptions{}); err != nil {
		t.Fatal(err)
	}
	pollErr := make(chan error, 1)
	go func() {
		for {
			if _, err := b.PerfBufferPoll(-1); err != nil {
				pollErr <- err
				return
			}
		}
	}()
	syscall.Getpid()
	<-entered
	closed := make(chan bool)
	go func() {
		b.Close()
		closed <- finished.Load()
	}()
	time.Sleep(20 * time.Millisecond) // let Close start waiting
	close(release)
	if !<-closed {
		t.Error("Close returned while a callback was running")
	}
	if err := <-pollErr; !errors.Is(err, ErrClosed) {
		t.Errorf("blocked poll ended with %v, want ErrClosed", err)
	}
	if _, err := b.PerfBufferPoll(0); !errors.Is(err, ErrClosed) {
		t.Errorf("poll after Close: %v", err)
	}
	if g := settledGoroutines(goroutines); g > goroutines {
		t.Errorf("%d goroutines after Close, %d before New", g, goroutines)
	}
	if f := openFDs(t); f != fds {
		t.Errorf("%d descriptors after Close, %d before New", f, fds)
	}
	maps, _ := os.ReadFile("/proc/self/maps")
	if n := strings.Count(string(maps), "anon_inode:[perf_event]") + strings.Count(string(maps), "anon_inode:bpf-map"); n != 0 {
		t.Errorf("%d ring mappings left after Close", n)
	}
}

func TestEventOfSizeCheck(t *testing.T) {
	b := newEventBPF(t, eventProg)
	events := mustTable(t, b, "events")
	typ, err := events.EventType()
	if err != nil {
		t.Fatal(err)
	}
	if typ.Size != 32 || len(typ.Fields) != 4 || typ.Fields[2].Offset != 8 {
		t.Errorf("event type %v: size %d, fields %v", typ, typ.Size, typ.Fields)
	}
	if _, err := EventOf[struct{ PID, CPU uint32 }](events); !errors.Is(err, ErrTypeMismatch) {
		t.Errorf("8-byte struct for a 32-byte event: %v", err)
	}
	if _, err := EventOf[[]byte](events); !errors.Is(err, ErrTypeMismatch) {
		t.Errorf("slice type: %v", err)
	}
	d, err := EventOf[goEvent](events)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Decode(make([]byte, 31)); !errors.Is(err, ErrTypeMismatch) {
		t.Errorf("short record: %v", err)
	}
	// A struct with a bool decodes field by field, to the same values.
	type withBool struct {
		PID  uint32
		CPU  uint32
		Seq  uint64
		Comm [15]byte
		Ok   bool
	}
	db, err := EventOf[withBool](events)
	if err != nil {
		t.Fatal(err)
	}
	rec := make([]byte, 32)
	binary.NativeEndian.PutUint64(rec[8:], 77)
	rec[31] = 1
	v, err := db.Decode(rec)
	if err != nil || v.Seq != 77 || !v.Ok {
		t.Errorf("Decode = %+v, %v", v, err)
	}
}

// settledGoroutines returns the goroutine count once it is at most want,
// or after a second: a goroutine that has just delivered its last value
// on a channel may not have returned yet when the receiver runs on.
func settledGoroutines(want int) int {
	deadline := time.Now().Add(time.Second)
	for {
		g := runtime.NumGoroutine()
		if g <= want || time.Now().After(deadline) {
			return g
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Optional options are zero or one value: more is an error, before
// anything is opened.
func TestOptionsAtMostOne(t *testing.T) {
	tb := &Table{name: "events"}
	if _, err := tb.OpenPerfBuffer(func(int, []byte) {}, PerfBufferOptions{}, PerfBufferOptions{}); !errors.Is(err, ErrTooManyOptions) {
		t.Errorf("OpenPerfBuffer with two options: %v", err)
	}
	if _, err := tb.OpenRingBuffer(func([]byte) {}, RingBufferOptions{}, RingBufferOptions{}); !errors.Is(err, ErrTooManyOptions) {
		t.Errorf("OpenRingBuffer with two options: %v", err)
	}
	n := 0
	for _, err := range tb.Events(context.Background(), PerfBufferOptions{}, PerfBufferOptions{}) {
		n++
		if !errors.Is(err, ErrTooManyOptions) {
			t.Errorf("Events with two options: %v", err)
		}
	}
	if n != 1 {
		t.Errorf("Events with two options yielded %d times, want once", n)
	}
}
