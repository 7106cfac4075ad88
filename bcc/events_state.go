package bcc

import (
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/gobcc/gobcc/internal/events"
)

// eventState tracks a BPF object's event readers: the shared pollers of
// PerfBufferPoll and RingBufferPoll and every open reader, so that Close
// can stop them all.
type eventState struct {
	mu      sync.Mutex
	closed  bool
	perf    *events.Poller
	ring    *events.Poller
	readers map[*Table]io.Closer
}

// poller returns the shared poller in *slot, creating it.
func (s *eventState) poller(slot **events.Poller) (*events.Poller, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, ErrClosed
	}
	if *slot == nil {
		p, err := events.NewPoller()
		if err != nil {
			return nil, err
		}
		*slot = p
	}
	return *slot, nil
}

// register records r as t's reader; a table has at most one.
func (s *eventState) register(t *Table, r io.Closer) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	if s.readers == nil {
		s.readers = make(map[*Table]io.Closer)
	}
	if _, busy := s.readers[t]; busy {
		return fmt.Errorf("table %s: %w", t.name, ErrReaderOpen)
	}
	s.readers[t] = r
	return nil
}

func (s *eventState) unregister(t *Table, r io.Closer) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.readers[t] == r {
		delete(s.readers, t)
	}
}

func (s *eventState) pollKind(slot **events.Poller, timeout time.Duration, kind string) (int, error) {
	p, err := s.activePoller(slot, kind)
	if err != nil {
		return 0, err
	}
	n, err := p.Poll(timeout)
	return n, pollErr(err)
}

func (s *eventState) consumeKind(slot **events.Poller, kind string) (int, error) {
	p, err := s.activePoller(slot, kind)
	if err != nil {
		return 0, err
	}
	n, err := p.ConsumeAll()
	return n, pollErr(err)
}

// pollErr turns the engine's errors into bcc's: a closed poller is
// ErrClosed, a poll that Wake interrupted no error; others (a corrupt
// ring, wrapping ErrCorruptRing; a failed system call) pass.
func pollErr(err error) error {
	switch {
	case err == nil || errors.Is(err, events.ErrWoken):
		return nil
	case errors.Is(err, events.ErrClosed):
		return ErrClosed
	}
	return err
}

// activePoller returns the poller in slot, or ErrClosed after Close, or
// ErrNoBuffers when no buffer of that kind is open.
func (s *eventState) activePoller(slot **events.Poller, kind string) (*events.Poller, error) {
	s.mu.Lock()
	p, closed := *slot, s.closed
	s.mu.Unlock()
	if closed {
		return nil, ErrClosed
	}
	if p == nil || p.Empty() {
		return nil, fmt.Errorf("%s: %w", kind, ErrNoBuffers)
	}
	return p, nil
}

// closeAll closes every reader and poller. It runs before the BPF object
// takes its own lock, so that a callback that uses the object can finish.
func (s *eventState) closeAll() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	readers := make([]io.Closer, 0, len(s.readers))
	for _, r := range s.readers {
		readers = append(readers, r)
	}
	perf, ring := s.perf, s.ring
	s.mu.Unlock()
	// Wake pollers first so that a poll blocked with no limit returns.
	for _, p := range []*events.Poller{perf, ring} {
		if p != nil {
			p.Shutdown()
		}
	}
	var errs []error
	for _, r := range readers {
		errs = append(errs, r.Close())
	}
	for _, p := range []*events.Poller{perf, ring} {
		if p != nil {
			p.Close()
		}
	}
	return errors.Join(errs...)
}

// fdIfOpen returns the table's descriptor, or -1 once the object closed it.
func (t *Table) fdIfOpen() int {
	t.b.mu.Lock()
	defer t.b.mu.Unlock()
	return t.m.FD()
}
