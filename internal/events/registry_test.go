package events

import (
	"errors"
	"testing"
)

type closer struct{ n int }

func (c *closer) Close() error { c.n++; return nil }

// TestRegistry covers the bookkeeping that needs no kernel map: one
// reader per key, ErrNoBuffers before any buffer, and Close closing the
// readers once and refusing everything afterwards.
func TestRegistry(t *testing.T) {
	var r Registry
	a, b := Target{Key: 1, Name: "a"}, Target{Key: 2, Name: "b"}
	ca, cb := &closer{}, &closer{}
	if err := r.register(a, ca); err != nil {
		t.Fatal(err)
	}
	if err := r.register(a, cb); !errors.Is(err, ErrReaderOpen) {
		t.Errorf("second reader of a: %v", err)
	}
	if err := r.register(b, cb); err != nil {
		t.Fatal(err)
	}
	r.unregister(a, cb) // not a's reader: no effect
	if _, err := r.Poll(Perf, 0); !errors.Is(err, ErrNoBuffers) {
		t.Errorf("poll with no perf buffer: %v", err)
	}
	if _, err := r.shared(Ring); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Consume(Ring); !errors.Is(err, ErrNoBuffers) {
		t.Errorf("consume of an empty poller: %v", err)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if ca.n != 1 || cb.n != 1 {
		t.Errorf("Close closed the readers %d and %d times, want once", ca.n, cb.n)
	}
	r.Close()
	if ca.n != 1 {
		t.Error("a second Close closed again")
	}
	if _, err := r.Poll(Perf, 0); !errors.Is(err, ErrClosed) {
		t.Errorf("poll after Close: %v", err)
	}
	if err := r.register(Target{Key: 3}, &closer{}); !errors.Is(err, ErrClosed) {
		t.Errorf("register after Close: %v", err)
	}
	if _, err := r.OpenPerf(Target{Key: 4}, PerfConfig{}); !errors.Is(err, ErrClosed) {
		t.Errorf("OpenPerf after Close: %v", err)
	}
}

// TestOpenPerfChecksBeforeOpening rejects bad options and a map too small
// for the CPUs before any ring is opened or registered.
func TestOpenPerfChecksBeforeOpening(t *testing.T) {
	var r Registry
	defer r.Close()
	tgt := Target{Key: 1, Name: "events", MaxEntries: 1, MapFD: func() int { return -1 }}
	if _, err := r.OpenPerf(tgt, PerfConfig{Pages: 3}); !errors.Is(err, ErrPageCount) {
		t.Errorf("3 pages: %v", err)
	}
	if _, err := r.OpenPerf(tgt, PerfConfig{WakeupEvents: -1}); err == nil {
		t.Error("negative WakeupEvents accepted")
	}
	if _, err := r.OpenPerf(tgt, PerfConfig{CPUs: []int{0, 1}}); err == nil {
		t.Error("CPU 1 in a 1-entry map accepted")
	}
	if len(r.readers) != 0 {
		t.Errorf("rejected opens left readers: %v", r.readers)
	}
}
