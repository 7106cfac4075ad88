package gcpace

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gobcc/gobcc/internal/testutil"
)

func TestMain(m *testing.M) { testutil.LeakCheckMain(m) }

func TestKicksCoalesce(t *testing.T) {
	var runs atomic.Int32
	done := make(chan struct{}, 10)
	p := New(time.Hour, func() { runs.Add(1); done <- struct{}{} })
	p.Kick() // none ran yet: at once
	<-done
	for range 100 {
		p.Kick() // within the hour: one pending release, not a hundred
	}
	p.Stop()
	if n := runs.Load(); n != 1 {
		t.Errorf("%d releases after 101 kicks within the interval, want 1 (the rest cancelled by Stop)", n)
	}
	p.Kick() // after Stop: nothing
	if n := runs.Load(); n != 1 {
		t.Errorf("a kick after Stop released (%d)", n)
	}
}

func TestReleasesAgainAfterInterval(t *testing.T) {
	var mu sync.Mutex
	var times []time.Time
	done := make(chan struct{}, 10)
	p := New(50*time.Millisecond, func() {
		mu.Lock()
		times = append(times, time.Now())
		mu.Unlock()
		done <- struct{}{}
	})
	defer p.Stop()
	p.Kick()
	<-done
	p.Kick()
	p.Kick()
	<-done
	mu.Lock()
	defer mu.Unlock()
	if len(times) != 2 {
		t.Fatalf("%d releases, want 2", len(times))
	}
	if gap := times[1].Sub(times[0]); gap < 25*time.Millisecond { // the interval, less the first release's start-up
		t.Errorf("second release %v after the first, want about the 50ms interval", gap)
	}
}
