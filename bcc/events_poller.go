package bcc

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// ringSource is one readable ring: a perf buffer's ring for one CPU or a
// BPF ring buffer.
type ringSource interface {
	// consume reads every record available now, calling the source's
	// callbacks, and returns how many records it handed on and how many
	// bytes of the ring they took.
	consume() (records, bytes int)
	// pacing says how the ring may be waited for (see pacer).
	pacing() sourcePacing
}

// poller waits on many rings with one epoll descriptor, as libbcc's
// perf_reader_poll and ring_buffer__poll do. Polling runs on the caller's
// goroutine: the poller starts none of its own.
//
// Locking: life is read-held by every poll and consume for their whole
// duration, and write-held by close, so close waits for them to return
// and nothing touches the epoll descriptor or a ring after it is freed.
// dispatch is held while rings are read and callbacks run, and by add and
// remove, so a source removed (and then unmapped) is never being read.
type poller struct {
	life     sync.RWMutex
	dispatch sync.Mutex
	epfd     int
	wakeFD   int // eventfd: wakes epoll_wait for close and cancellation
	closed   atomic.Bool
	freed    bool // descriptors closed; guarded by life
	sources  map[uint64]ringSource
	nextID   uint64 // ids stay below 2^31: they travel in epoll's 32-bit Fd
	pace     pacer  // guarded by dispatch
}

// wakeID is the epoll data of the wake eventfd; sources count from 1.
const wakeID = 0

func newPoller() (*poller, error) {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("epoll_create1: %w", err)
	}
	wakeFD, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		unix.Close(epfd)
		return nil, fmt.Errorf("eventfd: %w", err)
	}
	p := &poller{epfd: epfd, wakeFD: wakeFD, sources: make(map[uint64]ringSource), nextID: 1}
	if err := p.epollAdd(wakeFD, wakeID); err != nil {
		unix.Close(wakeFD)
		unix.Close(epfd)
		return nil, err
	}
	return p, nil
}

func (p *poller) epollAdd(fd int, id uint64) error {
	ev := unix.EpollEvent{Events: unix.EPOLLIN}
	ev.Fd = int32(id) // the id, not a descriptor: epoll hands it back as is
	if err := unix.EpollCtl(p.epfd, unix.EPOLL_CTL_ADD, fd, &ev); err != nil {
		return fmt.Errorf("epoll_ctl add: %w", err)
	}
	return nil
}

// add registers fd, whose readiness means src has records, and returns the
// id that remove takes.
func (p *poller) add(fd int, src ringSource) (uint64, error) {
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
	p.sources[id] = src
	p.repace()
	return id, nil
}

// repace gives the pacer the sources' pacing; the caller holds dispatch.
func (p *poller) repace() {
	all := make([]sourcePacing, 0, len(p.sources))
	for _, src := range p.sources {
		all = append(all, src.pacing())
	}
	p.pace.setSources(all)
}

// remove stops watching fd. It returns once no callback of src runs.
func (p *poller) remove(fd int, id uint64) {
	p.life.RLock()
	defer p.life.RUnlock()
	p.dispatch.Lock()
	defer p.dispatch.Unlock()
	if p.closed.Load() {
		return
	}
	unix.EpollCtl(p.epfd, unix.EPOLL_CTL_DEL, fd, nil)
	delete(p.sources, id)
	p.repace()
}

func (p *poller) empty() bool {
	p.dispatch.Lock()
	defer p.dispatch.Unlock()
	return len(p.sources) == 0
}

// errWoken is returned by poll when wake interrupted it.
var errWoken = errors.New("poll woken")

// poll waits up to timeout (negative: no limit; zero: do not wait) for
// rings with records, reads them all and returns how many records were
// handed to callbacks.
//
// How it waits depends on the pacer: while records arrive fast it waits
// a short batching delay (asleep, or on the CPU) and reads whatever came;
// otherwise it waits in epoll_wait for the kernel's wake-up, reading the
// rings every flush interval if some ring does not wake it per record.
func (p *poller) poll(timeout time.Duration) (int, error) {
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
		total := p.consumeSources()
		if flushing && n == 0 && total == 0 {
			p.pace.quiet++
		}
		p.dispatch.Unlock()
		switch {
		case total > 0:
			return total, nil
		case woken:
			return 0, errWoken
		case n > 0 || (timeout >= 0 && time.Since(start) >= timeout):
			// A wake-up with nothing to read (another reader got there
			// first) or the caller's time is up.
			return 0, nil
		}
	}
}

// batch waits delay, on the CPU if spin, then reads every ring. It
// returns errWoken if wake interrupted it before anything was read.
func (p *poller) batch(delay time.Duration, spin bool) (int, error) {
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
	total := p.consumeSources()
	p.dispatch.Unlock()
	if total == 0 && woken {
		return 0, errWoken
	}
	return total, nil
}

// epollWait waits up to wait (negative: no limit) and returns how many
// events it put in events.
func (p *poller) epollWait(events []unix.EpollEvent, wait time.Duration) (int, error) {
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

// consumeAll reads every ring whether or not epoll says it is ready (BCC's
// perf_reader_consume and ring_buffer__consume).
func (p *poller) consumeAll() (int, error) {
	unlock, err := p.lockOpen()
	if err != nil {
		return 0, err
	}
	defer unlock()
	return p.consumeSources(), nil
}

// consumeSources reads every ring and tells the pacer what it found; the
// caller holds dispatch.
func (p *poller) consumeSources() int {
	records, bytes := 0, 0
	for _, src := range p.sources {
		n, b := src.consume()
		records += n
		bytes += b
	}
	p.pace.observe(time.Now(), records, bytes)
	return records
}

// drainWake resets the wake eventfd after it woke a wait.
func (p *poller) drainWake() {
	var buf [8]byte
	unix.Read(p.wakeFD, buf[:])
}

// lockOpen takes life (shared, so Close waits) then dispatch, the order
// every user of both keeps, unless the poller is closed. The returned
// function releases both.
func (p *poller) lockOpen() (unlock func(), err error) {
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

// wake makes a blocked poll return (with errWoken if it read nothing).
// It is safe to call at any time, also after close.
func (p *poller) wake() {
	p.life.RLock()
	defer p.life.RUnlock()
	if p.freed {
		return
	}
	p.wakeLocked()
}

func (p *poller) wakeLocked() {
	var one [8]byte
	binary.NativeEndian.PutUint64(one[:], 1)
	unix.Write(p.wakeFD, one[:])
}

// shutdown makes every poll, present and future, return ErrClosed soon,
// without waiting for them.
func (p *poller) shutdown() {
	p.closed.Store(true)
	p.wake()
}

// close shuts the poller down, waits for every poll and callback to finish
// and frees the descriptors. The sources are freed by their owners. It is
// idempotent.
func (p *poller) close() {
	p.shutdown()
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
