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
// BPF ring buffer. consume reads every record available now, calling the
// source's callbacks, and returns how many records it handed on.
type ringSource interface {
	consume() int
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
	events   []unix.EpollEvent
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
	return id, nil
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
func (p *poller) poll(timeout time.Duration) (int, error) {
	p.life.RLock()
	defer p.life.RUnlock()
	if p.closed.Load() {
		return 0, ErrClosed
	}
	ms := -1
	if timeout >= 0 {
		// Round up so that a sub-millisecond timeout still waits.
		ms = int((timeout + time.Millisecond - 1) / time.Millisecond)
	}
	if p.events == nil {
		p.events = make([]unix.EpollEvent, 64)
	}
	var n int
	var err error
	for {
		n, err = unix.EpollWait(p.epfd, p.events, ms)
		if err != unix.EINTR {
			break
		}
	}
	if err != nil {
		return 0, fmt.Errorf("epoll_wait: %w", err)
	}
	if p.closed.Load() {
		return 0, ErrClosed
	}
	p.dispatch.Lock()
	defer p.dispatch.Unlock()
	woken := false
	for i := 0; i < n; i++ {
		if uint64(uint32(p.events[i].Fd)) == wakeID {
			var buf [8]byte
			unix.Read(p.wakeFD, buf[:])
			woken = true
		}
	}
	// Read every ring, not only those epoll named: an empty ring costs
	// one atomic load, and records below a perf buffer's WakeupEvents (or
	// written while we slept) are delivered now rather than stranded until
	// a Consume. This is where gobcc differs from perf_reader_poll.
	total := p.consumeSources()
	if woken && total == 0 {
		return 0, errWoken
	}
	return total, nil
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

// consumeSources reads every ring; the caller holds dispatch.
func (p *poller) consumeSources() int {
	total := 0
	for _, src := range p.sources {
		total += src.consume()
	}
	return total
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
