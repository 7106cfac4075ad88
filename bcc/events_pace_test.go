package bcc

import (
	"errors"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// A pacer fed a steady rate: the delay it asks for follows the ring's fill
// time, bounded by the limit, and it spins only when the ring fills fast.
func TestPacerDecisions(t *testing.T) {
	const perfRing = 32 << 10 // 8 pages
	for _, tc := range []struct {
		name      string
		capacity  int
		maxDelay  time.Duration
		noSpin    bool
		perSec    int // records per second, 48 bytes each
		wantDelay time.Duration
		wantSpin  bool
		delayUpTo bool // wantDelay is an upper bound (rounding)
		needsTwo  bool // the case needs more than one CPU
	}{
		{name: "slow: wait for the kernel", capacity: perfRing, perSec: 1000},
		{name: "just below the batching rate", capacity: perfRing, perSec: batchMinRate - 100},
		{name: "1 MiB ring at 100k/s sleeps up to the limit", capacity: 1 << 20, perSec: 100_000, wantDelay: time.Millisecond},
		{name: "the limit is an option", capacity: 1 << 20, maxDelay: 300 * time.Microsecond, perSec: 100_000, wantDelay: 300 * time.Microsecond},
		// 32 KiB at 50k/s x 48 B fills in 13.6 ms: sleep a quarter of it,
		// capped by what the ring absorbs at burst speed (977 µs).
		{name: "8-page perf ring at 50k/s sleeps", capacity: perfRing, perSec: 50_000, wantDelay: 977 * time.Microsecond, delayUpTo: true},
		{name: "no batching when disabled", capacity: 256 << 10, maxDelay: -1, perSec: 400_000},
		// 32 KiB at 400k/s fills in 1.7 ms: spin a sixteenth of it.
		{name: "8-page perf ring at 400k/s spins", capacity: perfRing, perSec: 400_000, wantDelay: 107 * time.Microsecond, wantSpin: true, delayUpTo: true, needsTwo: true},
		{name: "NoSpin sleeps instead", capacity: perfRing, noSpin: true, perSec: 400_000, wantDelay: 427 * time.Microsecond, delayUpTo: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var pc pacer
			pc.setSources([]sourcePacing{{capacity: tc.capacity, maxDelay: batchLimit(tc.capacity, tc.maxDelay), noSpin: tc.noSpin}})
			now := time.Unix(1000, 0)
			pc.observe(now, 0, 0)
			// Ten reads 500 µs apart at the given rate.
			step := 500 * time.Microsecond
			n := tc.perSec / 2000
			for i := 0; i < 10; i++ {
				now = now.Add(step)
				pc.observe(now, n, 48*n)
			}
			if tc.needsTwo && !canSpin() {
				// One CPU or GOMAXPROCS 1: the same rate must sleep.
				if pc.spin || pc.delay == 0 {
					t.Errorf("cannot spin here: spin %v, delay %v; want a sleep", pc.spin, pc.delay)
				}
				return
			}
			if pc.spin != tc.wantSpin {
				t.Errorf("spin = %v, want %v", pc.spin, tc.wantSpin)
			}
			switch {
			case tc.delayUpTo && (pc.delay > tc.wantDelay || pc.delay < tc.wantDelay*9/10):
				t.Errorf("delay = %v, want about %v", pc.delay, tc.wantDelay)
			case !tc.delayUpTo && pc.delay != tc.wantDelay:
				t.Errorf("delay = %v, want %v", pc.delay, tc.wantDelay)
			}
		})
	}
}

// One empty read in a burst does not end batching; a rate that stays
// down does, within rateDecay.
func TestPacerRateFallsSlowly(t *testing.T) {
	var pc pacer
	pc.setSources([]sourcePacing{{capacity: 1 << 20, maxDelay: time.Millisecond}})
	now := time.Unix(1000, 0)
	pc.observe(now, 0, 0)
	now = now.Add(time.Millisecond)
	pc.observe(now, 200, 200*48) // 200k/s
	if pc.delay == 0 {
		t.Fatal("200k records/s: no batching")
	}
	now = now.Add(time.Millisecond)
	pc.observe(now, 0, 0)
	if pc.delay == 0 {
		t.Error("one empty read ended batching")
	}
	for i := 0; i < 25 && pc.delay > 0; i++ {
		now = now.Add(time.Millisecond)
		pc.observe(now, 0, 0)
	}
	if pc.delay != 0 || pc.recordRate >= batchMinRate {
		t.Errorf("after %v without records: delay %v, rate %.0f/s", rateDecay+5*time.Millisecond, pc.delay, pc.recordRate)
	}
	// A long idle read resets at once.
	now = now.Add(time.Second)
	pc.observe(now, 1, 48)
	if pc.delay != 0 {
		t.Errorf("one record after 1 s idle: delay %v", pc.delay)
	}
}

func TestBatchLimit(t *testing.T) {
	if got := batchLimit(1<<20, 0); got != DefaultMaxBatchDelay {
		t.Errorf("1 MiB, default: %v", got)
	}
	if got := batchLimit(4096, 0); got >= 200*time.Microsecond || got <= 0 {
		t.Errorf("4 KiB ring: %v, want what it absorbs at %d B/s (~122 µs)", got, burstBytesPerSec)
	}
	if got := batchLimit(1<<20, -1); got != 0 {
		t.Errorf("disabled: %v", got)
	}
	all := []sourcePacing{
		{capacity: 1 << 20, maxDelay: time.Millisecond},
		{capacity: 4096, maxDelay: 100 * time.Microsecond, flush: 20 * time.Millisecond},
		{capacity: 8192, maxDelay: 500 * time.Microsecond, flush: 5 * time.Millisecond},
	}
	var pc pacer
	pc.setSources(all)
	if pc.capacity != 4096 || pc.limit != 100*time.Microsecond || pc.flush != 5*time.Millisecond || pc.noSpin {
		t.Errorf("tightest of %v: capacity %d, limit %v, flush %v, noSpin %v", all, pc.capacity, pc.limit, pc.flush, pc.noSpin)
	}
	pc.setSources(append(all, sourcePacing{capacity: 1 << 20, maxDelay: 0, noSpin: true}))
	if pc.limit != 0 || !pc.noSpin {
		t.Errorf("one source without batching: limit %v, noSpin %v", pc.limit, pc.noSpin)
	}
}

// fakeSource is a ring that always holds records: it drives a poller into
// its batching path without a kernel.
type fakeSource struct {
	records, bytes int
	reads          atomic.Int64
}

func (f *fakeSource) consume() (int, int) { f.reads.Add(1); return f.records, f.bytes }
func (f *fakeSource) pacing() sourcePacing {
	return sourcePacing{capacity: 32 << 10, maxDelay: batchLimit(32<<10, 0)}
}

// With GOMAXPROCS 1 a poll never spins: it would starve the program's
// other goroutines.
func TestNoSpinWithOneP(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	var pc pacer
	pc.setSources([]sourcePacing{{capacity: 32 << 10, maxDelay: batchLimit(32<<10, 0)}})
	now := time.Unix(1000, 0)
	pc.observe(now, 0, 0)
	pc.observe(now.Add(time.Millisecond), 400, 400*48) // 400k/s: would spin
	if pc.spin || pc.delay == 0 {
		t.Errorf("GOMAXPROCS 1: spin %v, delay %v; want a sleep", pc.spin, pc.delay)
	}
}

// A busy poller reads in batches without waiting for epoll, and close
// stops a poll that is batching, asleep or spinning, promptly.
func TestPollerBatchesAndClosesWhileBatching(t *testing.T) {
	for _, spin := range []bool{false, true} {
		name := "asleep"
		if spin {
			name = "spinning"
		}
		t.Run(name, func(t *testing.T) {
			wantSpin := spin && canSpin() // one CPU or GOMAXPROCS 1: it sleeps
			before := runtime.NumGoroutine()
			p, err := newPoller()
			if err != nil {
				t.Fatal(err)
			}
			// Readiness never comes from this eventfd: only batching or
			// the flush can read the source.
			efd, err := unix.Eventfd(0, unix.EFD_CLOEXEC)
			if err != nil {
				t.Fatal(err)
			}
			defer unix.Close(efd)
			// 40 records of 48 bytes per read every ~1 ms is 40k/s: a
			// 32 KiB ring fills in 17 ms, so the poller sleeps; 400 per
			// read fills it in under 8 ms, so it spins.
			src := &fakeSource{records: 40, bytes: 40 * 48}
			if spin {
				src.records, src.bytes = 400, 400*48
			}
			if _, err := p.add(efd, src); err != nil {
				t.Fatal(err)
			}
			p.dispatch.Lock()
			p.pace.observe(time.Now().Add(-time.Millisecond), 0, 0)
			p.consumeSources()
			delay, spinning := p.pace.delay, p.pace.spin
			p.dispatch.Unlock()
			if delay == 0 || spinning != wantSpin {
				t.Fatalf("after a busy read: delay %v, spin %v; want a delay, spin %v", delay, spinning, wantSpin)
			}
			for i := 0; i < 20; i++ {
				n, err := p.poll(-1)
				if err != nil || n != src.records {
					t.Fatalf("poll %d = %d, %v; want %d from a batch", i, n, err, src.records)
				}
			}
			done := make(chan error, 1)
			go func() {
				for {
					if _, err := p.poll(-1); err != nil {
						done <- err
						return
					}
				}
			}()
			time.Sleep(5 * time.Millisecond)
			p.close()
			select {
			case err := <-done:
				if !errors.Is(err, ErrClosed) {
					t.Errorf("poll ended with %v, want ErrClosed", err)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("close did not stop a batching poll")
			}
			if g := settledGoroutines(before); g > before {
				t.Errorf("%d goroutines after close, %d before", g, before)
			}
		})
	}
}

// ringEventProg is eventProg sending through a 1 MiB ring buffer.
var ringEventProg = strings.NewReplacer(
	"BPF_PERF_OUTPUT(events);", "BPF_RINGBUF_OUTPUT(events, 256);",
	"events.perf_submit(args, &d, sizeof(d))", "events.ringbuf_output(&d, sizeof(d), 0)",
).Replace(eventProg)

// Records sent as fast as one thread can call getpid all arrive, through
// both transports with their default settings, and polls read them in
// batches rather than one wake-up each. The rings are large (1 MiB per
// CPU, 35 ms or more at the producer's ~600k records/s) so that other work
// on the machine taking the reader's CPU for a few milliseconds cannot
// make the test lose records.
func TestBatchingUnderLoad(t *testing.T) {
	for _, tc := range []struct{ name, src string }{{"perf", eventProg}, {"ring", ringEventProg}} {
		t.Run(tc.name, func(t *testing.T) {
			b := newEventBPF(t, tc.src)
			events := mustTable(t, b, "events")
			var received atomic.Uint64
			var poll func(time.Duration) (int, error)
			var lost func() uint64
			if tc.name == "perf" {
				pb, err := events.OpenPerfBuffer(func(int, []byte) { received.Add(1) }, PerfBufferOptions{PageCount: 256})
				if err != nil {
					t.Fatal(err)
				}
				poll, lost = b.PerfBufferPoll, pb.LostCount
			} else {
				if _, err := events.OpenRingBuffer(func([]byte) { received.Add(1) }); err != nil {
					t.Fatal(err)
				}
				poll, lost = b.RingBufferPoll, func() uint64 { return 0 }
			}
			var polls, busyPolls int
			stop := make(chan struct{})
			var wg sync.WaitGroup
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					select {
					case <-stop:
						return
					default:
					}
					n, err := poll(50 * time.Millisecond)
					if err != nil {
						t.Error(err)
						return
					}
					polls++
					if n > 0 {
						busyPolls++
					}
				}
			}()
			unlock := produceFromThisThread(t, b)
			const n = 200_000
			for i := 0; i < n; i++ {
				syscall.RawSyscall(syscall.SYS_GETPID, 0, 0, 0)
			}
			unlock()
			sent := stat(t, b, 0)
			for deadline := time.Now().Add(5 * time.Second); received.Load() < sent && time.Now().Before(deadline); {
				time.Sleep(10 * time.Millisecond)
			}
			close(stop)
			wg.Wait()
			if got := received.Load(); got != sent || sent < n || stat(t, b, 1) != 0 || lost() != 0 {
				t.Fatalf("received %d of %d sent (%d failed in BPF, %d reported lost)", got, sent, stat(t, b, 1), lost())
			}
			// A reader woken per record would read a handful per poll.
			if perPoll := float64(sent) / float64(busyPolls); perPoll < 20 {
				t.Errorf("%d records in %d polls (%.1f each): not batching", sent, busyPolls, perPoll)
			}
			t.Logf("%d records in %d polls that read something (%.0f each), %d polls in all", sent, busyPolls, float64(sent)/float64(busyPolls), polls)
		})
	}
}

// By default a lone perf record, below the kernel's wake-up watermark,
// still reaches a poll waiting with no limit, through the flush interval;
// with the flush turned off it waits for PerfBufferConsume, as in BCC.
func TestPerfBufferFlushInterval(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts PerfBufferOptions
	}{
		{"default", PerfBufferOptions{}},
		{"WakeupEvents 1", PerfBufferOptions{WakeupEvents: 1}},
		{"WakeupEvents 16", PerfBufferOptions{WakeupEvents: 16, FlushInterval: 2 * time.Millisecond}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := sendOneRecord(t, tc.opts)
			got := make(chan int, 1)
			go func() {
				n, err := b.PerfBufferPoll(-1)
				if err != nil {
					t.Error(err)
				}
				got <- n
			}()
			select {
			case n := <-got:
				if uint64(n) != stat(t, b, 0) || n < 1 {
					t.Errorf("poll read %d records, BPF sent %d", n, stat(t, b, 0))
				}
			case <-time.After(10 * time.Second):
				t.Fatal("a lone record never reached PerfBufferPoll(-1)")
			}
		})
	}
	t.Run("flush off", func(t *testing.T) {
		b := sendOneRecord(t, PerfBufferOptions{FlushInterval: -1})
		got := make(chan error, 1)
		go func() {
			n, err := b.PerfBufferPoll(-1)
			if err == nil {
				t.Errorf("poll read %d records, want it to wait", n)
			}
			got <- err
		}()
		time.Sleep(300 * time.Millisecond)
		if n, err := b.PerfBufferConsume(); n < 1 || err != nil {
			t.Errorf("PerfBufferConsume = %d, %v; want the record below the watermark", n, err)
		}
		b.Close()
		if err := <-got; !errors.Is(err, ErrClosed) {
			t.Errorf("poll after Close: %v", err)
		}
	})
}

// sendOneRecord loads eventProg, opens its perf buffer with opts and
// makes the program send one record.
func sendOneRecord(t *testing.T, opts PerfBufferOptions) *BPF {
	t.Helper()
	b := newEventBPF(t, eventProg)
	if _, err := mustTable(t, b, "events").OpenPerfBuffer(func(int, []byte) {}, opts); err != nil {
		t.Fatal(err)
	}
	unlock := produceFromThisThread(t, b)
	syscall.Getpid()
	unlock()
	return b
}

func TestPerfBufferNegativeWakeup(t *testing.T) {
	b := newEventBPF(t, eventProg)
	if _, err := mustTable(t, b, "events").OpenPerfBuffer(func(int, []byte) {}, PerfBufferOptions{WakeupEvents: -1}); err == nil {
		t.Error("WakeupEvents -1 accepted")
	}
}

// A quiet poller reads the rings less and less often, up to 8 times the
// flush interval, and returns to the interval once records come.
func TestPacerFlushBackoff(t *testing.T) {
	var pc pacer
	pc.setSources([]sourcePacing{{capacity: 32 << 10, maxDelay: time.Millisecond, flush: 10 * time.Millisecond}})
	var got []time.Duration
	for i := 0; i < 6; i++ {
		got = append(got, pc.flushWait())
		pc.quiet++
	}
	want := []time.Duration{10, 20, 40, 80, 80, 80}
	for i := range want {
		if got[i] != want[i]*time.Millisecond {
			t.Fatalf("flush waits %v, want %v ms", got, want)
		}
	}
	pc.observe(time.Now(), 1, 48)
	if w := pc.flushWait(); w != 10*time.Millisecond {
		t.Errorf("after a record: %v", w)
	}
	pc.setSources([]sourcePacing{{capacity: 1 << 20}})
	if w := pc.flushWait(); w != 0 {
		t.Errorf("no flush needed: %v", w)
	}
}

// Polls may run concurrently (BPF's methods are safe for concurrent use):
// each has its own epoll buffer, and close wakes every one of them, also
// one sleeping for a batch, because a poll that sees close leaves the
// wake eventfd readable for the others.
func TestConcurrentPollsAllStopAtClose(t *testing.T) {
	p, err := newPoller()
	if err != nil {
		t.Fatal(err)
	}
	efd, err := unix.Eventfd(0, unix.EFD_CLOEXEC)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(efd)
	idle := &fakeSource{} // never has records: polls wait in epoll_wait
	if _, err := p.add(efd, idle); err != nil {
		t.Fatal(err)
	}
	const pollers = 4
	done := make(chan error, pollers)
	for i := 0; i < pollers; i++ {
		go func() {
			for {
				if _, err := p.poll(-1); err != nil {
					done <- err
					return
				}
			}
		}()
	}
	time.Sleep(20 * time.Millisecond) // let them block
	closed := make(chan struct{})
	go func() { p.close(); close(closed) }()
	for i := 0; i < pollers; i++ {
		select {
		case err := <-done:
			if !errors.Is(err, ErrClosed) {
				t.Errorf("poll ended with %v, want ErrClosed", err)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("%d of %d polls still blocked after close", pollers-i, pollers)
		}
	}
	<-closed
}
