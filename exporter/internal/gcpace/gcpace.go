// Package gcpace returns a process's freed memory to the kernel in the
// background, at most once per interval. An exporter kicks it after every
// scrape: a scrape of a large table allocates its exposition at once, and
// without a release the runtime keeps the heap at its high-water mark;
// releasing after every scrape (a full GC and scavenge each time) would
// cost more CPU than the scrape itself when Prometheus scrapes often.
package gcpace

import (
	"runtime/debug"
	"sync"
	"time"
)

// Pacer runs release (debug.FreeOSMemory by default) after kicks, at most
// once per interval, never two at a time. The zero Pacer is not usable;
// call New. Stop it before the process is done with it.
type Pacer struct {
	interval time.Duration
	release  func()

	mu      sync.Mutex
	last    time.Time   // when the last release started
	timer   *time.Timer // pending release
	stopped bool
	wg      sync.WaitGroup
}

// New returns a pacer releasing at most once per interval; release nil
// means debug.FreeOSMemory.
func New(interval time.Duration, release func()) *Pacer {
	if release == nil {
		release = debug.FreeOSMemory
	}
	return &Pacer{interval: interval, release: release}
}

// Kick asks for a release: at once (in the background) when none ran in
// the last interval, else at the end of the interval. Kicks while one is
// pending add nothing.
func (p *Pacer) Kick() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stopped || p.timer != nil {
		return
	}
	delay := max(p.interval-time.Since(p.last), 0)
	p.wg.Add(1)
	p.timer = time.AfterFunc(delay, p.run)
}

func (p *Pacer) run() {
	defer p.wg.Done()
	p.mu.Lock()
	if p.stopped {
		p.mu.Unlock()
		return
	}
	p.last = time.Now()
	p.mu.Unlock()
	p.release()
	p.mu.Lock()
	p.timer = nil
	p.mu.Unlock()
}

// Stop cancels a pending release and waits for one running to end.
func (p *Pacer) Stop() {
	p.mu.Lock()
	p.stopped = true
	if p.timer != nil && p.timer.Stop() {
		p.wg.Done() // its run will not happen
	}
	p.mu.Unlock()
	p.wg.Wait()
}
