package events

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// ErrClosed means the poller was closed: every poll, present and future,
// returns it.
var ErrClosed = errors.New("poller closed")

// ErrWoken is returned by Poll when Wake interrupted it before it read
// anything.
var ErrWoken = errors.New("poll woken")

// source is one readable ring: a perf ring of one CPU or a BPF ring
// buffer.
type source interface {
	// consume reads every record available now, calling the source's
	// callbacks, and returns how many records it handed on and how many
	// bytes of the ring they took; err reports a corrupt ring, whose
	// records up to the producer's position were skipped.
	consume() (records, bytes int, err error)
	// pacing says how the ring may be waited for (see pacer).
	pacing() sourcePacing
}

// watched is a source and the descriptor whose readiness means it has
// records.
type watched struct {
	fd  int
	src source
}

// Poller waits on many rings with one epoll descriptor, as libbcc's
// perf_reader_poll and ring_buffer__poll do. Polling runs on the caller's
// goroutine: the poller starts none of its own. Readers (PerfReader,
// RingReader) join it with their Start method and leave it when closed.
// The creator of a Poller owns it and must Close it, after or before its
// readers: it frees only its own descriptors.
//
// Locking: life is read-held by every poll and consume for their whole
// duration, and write-held by close, so close waits for them to return
// and nothing touches the epoll descriptor or a ring after it is freed.
// dispatch is held while rings are read and callbacks run, and by add and
// remove, so a source removed (and then unmapped) is never being read.
type Poller struct {
	life     sync.RWMutex
	dispatch sync.Mutex
	epfd     int
	wakeFD   int // eventfd: wakes epoll_wait for close and cancellation
	closed   atomic.Bool
	freed    bool // descriptors closed; guarded by life
	sources  map[uint64]watched
	nextID   uint64 // ids stay below 2^31: they travel in epoll's 32-bit Fd
	pace     pacer  // guarded by dispatch
}

// wakeID is the epoll data of the wake eventfd; sources count from 1.
const wakeID = 0

// NewPoller makes an empty poller. The caller must Close it.
func NewPoller() (*Poller, error) {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("epoll_create1: %w", err)
	}
	wakeFD, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		unix.Close(epfd)
		return nil, fmt.Errorf("eventfd: %w", err)
	}
	p := &Poller{epfd: epfd, wakeFD: wakeFD, sources: make(map[uint64]watched), nextID: 1}
	if err := p.epollAdd(wakeFD, wakeID); err != nil {
		unix.Close(wakeFD)
		unix.Close(epfd)
		return nil, err
	}
	return p, nil
}

func (p *Poller) epollAdd(fd int, id uint64) error {
	ev := unix.EpollEvent{Events: unix.EPOLLIN}
	ev.Fd = int32(id) // the id, not a descriptor: epoll hands it back as is
	if err := unix.EpollCtl(p.epfd, unix.EPOLL_CTL_ADD, fd, &ev); err != nil {
		return fmt.Errorf("epoll_ctl add: %w", err)
	}
	return nil
}

// add registers fd, whose readiness means src has records, and returns the
// id that remove takes.
func (p *Poller) add(fd int, src source) (uint64, error) {
	unlock, err := p.lockOpen()
	if err != nil {
		return 0, err
	}
	defer unlock()
	id := p.nextID
	p.nextID++
	if err := p.epollAdd(fd, id); err != nil {
		return 0, err
	}
	p.sources[id] = watched{fd, src}
	p.repace()
	return id, nil
}

// repace gives the pacer the sources' pacing; the caller holds dispatch.
func (p *Poller) repace() {
	all := make([]sourcePacing, 0, len(p.sources))
	for _, w := range p.sources {
		all = append(all, w.src.pacing())
	}
	p.pace.setSources(all)
}

// remove stops watching the sources with these ids and then runs done,
// under dispatch: it returns once no callback of theirs runs, and no
// consume starts after done.
func (p *Poller) remove(ids []uint64, done func()) {
	p.life.RLock()
	defer p.life.RUnlock()
	p.dispatch.Lock()
	defer p.dispatch.Unlock()
	if !p.freed {
		for _, id := range ids {
			if w, ok := p.sources[id]; ok {
				// The descriptor may already be closed (a ring buffer's
				// map): epoll then forgot it by itself.
				unix.EpollCtl(p.epfd, unix.EPOLL_CTL_DEL, w.fd, nil)
				delete(p.sources, id)
			}
		}
		p.repace()
	}
	done()
}

// exclusive runs fn under dispatch: no ring is read meanwhile.
func (p *Poller) exclusive(fn func()) {
	p.dispatch.Lock()
	defer p.dispatch.Unlock()
	fn()
}

// Empty reports whether no ring is watched.
func (p *Poller) Empty() bool {
	p.dispatch.Lock()
	defer p.dispatch.Unlock()
	return len(p.sources) == 0
}

// Poll waits up to timeout (negative: no limit; zero: do not wait) for
// rings with records, reads them all and returns how many records were
// handed to callbacks. It returns ErrClosed once the poller is closed,
// ErrWoken when Wake interrupted it before it read anything, and an error
// wrapping ErrCorrupt (with the records it did read) when a ring held a
// record no kernel writes. Polls may run concurrently.
//
// How it waits depends on the pacer: while records arrive fast it waits
// a short batching delay (asleep, or on the CPU) and reads whatever came;
// otherwise it waits in epoll_wait for the kernel's wake-up, reading the
// rings every flush interval if some ring does not wake it per record.
func (p *Poller) Poll(timeout time.Duration) (int, error) {
	p.life.RLock()
	defer p.life.RUnlock()
	if p.closed.Load() {
		return 0, ErrClosed
	}
	start := time.Now()
	p.dispatch.Lock()
	delay, spin := p.pace.delay, p.pace.spin
	p.dispatch.Unlock()
	if timeout >= 0 {
		delay = min(delay, timeout)
	}
	if delay > 0 {
		n, err := p.batch(delay, spin)
		if n > 0 || err != nil {
			return n, err
		}
		// The rate dropped: wait for the kernel below.
	}
	// On the stack, so that concurrent polls do not share it.
	var events [64]unix.EpollEvent
	for {
		wait := time.Duration(-1)
		if timeout >= 0 {
			wait = max(0, timeout-time.Since(start))
		}
		p.dispatch.Lock()
		flush := p.pace.flushWait()
		p.dispatch.Unlock()
		flushing := flush > 0 && (wait < 0 || wait > flush)
		if flushing {
			wait = flush
		}
		n, err := p.epollWait(events[:], wait)
		if err != nil {
			return 0, err
		}
		if p.closed.Load() {
			// Leave the wake eventfd readable: other polls must see it.
			return 0, ErrClosed
		}
		woken := false
		for i := 0; i < n; i++ {
			if uint64(uint32(events[i].Fd)) == wakeID {
				p.drainWake()
				woken = true
			}
		}
		// Read every ring, not only those epoll named: an empty ring
		// costs one atomic load, and records below a perf buffer's
		// wake-up threshold (or written while we slept) are delivered
		// now rather than stranded. This is where gobcc differs from
		// perf_reader_poll.
		p.dispatch.Lock()
		total, err := p.consumeSources()
		if flushing && n == 0 && total == 0 {
			p.pace.quiet++
		}
		p.dispatch.Unlock()
		switch {
		case total > 0 || err != nil:
			return total, err
		case woken:
			return 0, ErrWoken
		case n > 0 || (timeout >= 0 && time.Since(start) >= timeout):
			// A wake-up with nothing to read (another reader got there
			// first) or the caller's time is up.
			return 0, nil
		}
	}
}

// batch waits delay, on the CPU if spin, then reads every ring. It
// returns ErrWoken if wake interrupted it before anything was read.
func (p *Poller) batch(delay time.Duration, spin bool) (int, error) {
	var woken bool
	if spin {
		woken = spinUntil(time.Now().Add(delay), p.closed.Load)
	} else {
		var err error
		if woken, err = sleepOrWake(p.wakeFD, delay); err != nil {
			return 0, fmt.Errorf("ppoll: %w", err)
		}
	}
	if p.closed.Load() {
		// Leave the wake eventfd readable: other polls must see it.
		return 0, ErrClosed
	}
	if woken {
		p.drainWake() // spinning stops only for close, handled above
	}
	p.dispatch.Lock()
	total, err := p.consumeSources()
	p.dispatch.Unlock()
	if total == 0 && woken && err == nil {
		return 0, ErrWoken
	}
	return total, err
}

// epollWait waits up to wait (negative: no limit) and returns how many
// events it put in events.
func (p *Poller) epollWait(events []unix.EpollEvent, wait time.Duration) (int, error) {
	ms := -1
	if wait >= 0 {
		// Round up so that a sub-millisecond wait still waits.
		ms = int((wait + time.Millisecond - 1) / time.Millisecond)
	}
	for {
		n, err := unix.EpollWait(p.epfd, events, ms)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return 0, fmt.Errorf("epoll_wait: %w", err)
		}
		return n, nil
	}
}

// ConsumeAll reads every ring whether or not epoll says it is ready (BCC's
// perf_reader_consume and ring_buffer__consume) and returns how many
// records it handed to callbacks; errors as Poll's.
func (p *Poller) ConsumeAll() (int, error) {
	unlock, err := p.lockOpen()
	if err != nil {
		return 0, err
	}
	defer unlock()
	return p.consumeSources()
}

// consumeSources reads every ring and tells the pacer what it found; the
// caller holds dispatch. A corrupt ring does not stop the others.
func (p *Poller) consumeSources() (int, error) {
	records, bytes := 0, 0
	var errs []error
	for _, w := range p.sources {
		n, b, err := w.src.consume()
		records += n
		bytes += b
		if err != nil {
			errs = append(errs, err)
		}
	}
	p.pace.observe(time.Now(), records, bytes)
	return records, errors.Join(errs...)
}

// drainWake resets the wake eventfd after it woke a wait.
func (p *Poller) drainWake() {
	var buf [8]byte
	unix.Read(p.wakeFD, buf[:])
}

// lockOpen takes life (shared, so Close waits) then dispatch, the order
// every user of both keeps, unless the poller is closed. The returned
// function releases both.
func (p *Poller) lockOpen() (unlock func(), err error) {
	p.life.RLock()
	if p.closed.Load() {
		p.life.RUnlock()
		return nil, ErrClosed
	}
	p.dispatch.Lock()
	return func() {
		p.dispatch.Unlock()
		p.life.RUnlock()
	}, nil
}

// Wake makes a blocked poll return (with ErrWoken if it read nothing).
// It is safe to call at any time, also after Close.
func (p *Poller) Wake() {
	p.life.RLock()
	defer p.life.RUnlock()
	if p.freed {
		return
	}
	p.wakeLocked()
}

func (p *Poller) wakeLocked() {
	var one [8]byte
	binary.NativeEndian.PutUint64(one[:], 1)
	unix.Write(p.wakeFD, one[:])
}

// Shutdown makes every poll, present and future, return ErrClosed soon,
// without waiting for them.
func (p *Poller) Shutdown() {
	p.closed.Store(true)
	p.Wake()
}

// Close shuts the poller down, waits for every poll and callback to finish
// and frees the poller's descriptors. The readers are freed by their
// owners. It is idempotent.
func (p *Poller) Close() {
	p.Shutdown()
	p.life.Lock()
	defer p.life.Unlock()
	if p.freed {
		return
	}
	p.freed = true
	unix.Close(p.epfd)
	unix.Close(p.wakeFD)
	p.sources = nil
}
