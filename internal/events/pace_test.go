package events

import (
	"runtime"
	"testing"
	"time"
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
