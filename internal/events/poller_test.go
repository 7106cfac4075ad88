package events

import (
	"errors"
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// fakeSource is a ring that always holds records, arriving at a steady
// rate (records per second, 48 bytes each) however late it is read: it
// drives a poller into its batching path without a kernel, and a reader
// delayed by a busy machine measures the same rate.
type fakeSource struct {
	rate  int
	last  time.Time // guarded by the poller's dispatch
	reads atomic.Int64
}

func (f *fakeSource) consume() (int, int, error) {
	f.reads.Add(1)
	now := time.Now()
	n := 0
	if f.rate > 0 && !f.last.IsZero() {
		n = max(1, int(now.Sub(f.last).Seconds()*float64(f.rate)))
	}
	f.last = now
	return n, 48 * n, nil
}

func (f *fakeSource) pacing() sourcePacing {
	return sourcePacing{capacity: 32 << 10, maxDelay: batchLimit(32<<10, 0)}
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
			p, err := NewPoller()
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
			// 40k records of 48 bytes per second: a 32 KiB ring fills in
			// 17 ms, so the poller sleeps; at 400k/s it fills in under
			// 8 ms, so it spins.
			src := &fakeSource{rate: 40_000}
			if spin {
				src.rate = 400_000
			}
			if _, err := p.add(efd, src); err != nil {
				t.Fatal(err)
			}
			p.dispatch.Lock()
			start := time.Now().Add(-time.Millisecond)
			p.pace.observe(start, 0, 0)
			src.last = start
			p.consumeSources()
			delay, spinning := p.pace.delay, p.pace.spin
			p.dispatch.Unlock()
			if delay == 0 || spinning != wantSpin {
				t.Fatalf("after a busy read: delay %v, spin %v; want a delay, spin %v", delay, spinning, wantSpin)
			}
			for i := 0; i < 20; i++ {
				// Only a batch can read the source: epoll never reports
				// it and there is no flush interval, so a poll waiting
				// for the kernel would time out with nothing.
				n, err := p.Poll(10 * time.Second)
				if err != nil || n == 0 {
					t.Fatalf("poll %d = %d, %v; want records from a batch", i, n, err)
				}
			}
			done := make(chan error, 1)
			go func() {
				for {
					if _, err := p.Poll(-1); err != nil {
						done <- err
						return
					}
				}
			}()
			time.Sleep(5 * time.Millisecond)
			p.Close()
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

// Polls may run concurrently (BPF's methods are safe for concurrent use):
// each has its own epoll buffer, and close wakes every one of them, also
// one sleeping for a batch, because a poll that sees close leaves the
// wake eventfd readable for the others.
func TestConcurrentPollsAllStopAtClose(t *testing.T) {
	p, err := NewPoller()
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
				if _, err := p.Poll(-1); err != nil {
					done <- err
					return
				}
			}
		}()
	}
	time.Sleep(20 * time.Millisecond) // let them block
	closed := make(chan struct{})
	go func() { p.Close(); close(closed) }()
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

// corruptSource is a ring whose every read finds some records and then a
// corrupt one.
type corruptSource struct{}

func (corruptSource) consume() (int, int, error) {
	return 2, 96, fmt.Errorf("%w: test", ErrCorrupt)
}
func (corruptSource) pacing() sourcePacing { return sourcePacing{capacity: 4096} }

// A corrupt ring's error reaches the caller of Poll and ConsumeAll, with
// the records read, and the other rings are still read.
func TestPollReportsCorruptRing(t *testing.T) {
	p, err := NewPoller()
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	var fds [2]int
	for i := range fds {
		if fds[i], err = unix.Eventfd(0, unix.EFD_CLOEXEC); err != nil {
			t.Fatal(err)
		}
		defer unix.Close(fds[i])
	}
	good := &fakeSource{rate: 1000, last: time.Now().Add(-time.Second)}
	if _, err := p.add(fds[0], corruptSource{}); err != nil {
		t.Fatal(err)
	}
	if _, err := p.add(fds[1], good); err != nil {
		t.Fatal(err)
	}
	n, err := p.Poll(0)
	if !errors.Is(err, ErrCorrupt) || n < 2+1 {
		t.Errorf("Poll = %d, %v; want the records of both rings and ErrCorrupt", n, err)
	}
	n, err = p.ConsumeAll()
	if !errors.Is(err, ErrCorrupt) || n < 2 {
		t.Errorf("ConsumeAll = %d, %v; want ErrCorrupt", n, err)
	}
	if good.reads.Load() != 2 {
		t.Errorf("the good ring was read %d times, want 2", good.reads.Load())
	}
}
