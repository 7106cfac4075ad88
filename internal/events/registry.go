package events

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"iter"
	"sync"
	"time"

	"github.com/gobcc/gobcc/internal/bpfsys"
)

// Errors of the registry and its buffers.
var (
	// ErrPageCount means a perf buffer's page count is not a power of two.
	ErrPageCount = errors.New("perf buffer page count must be a power of two")
	// ErrReaderOpen means the map already has an open reader: a perf or
	// ring buffer map has one consumer.
	ErrReaderOpen = errors.New("table already has an open reader")
	// ErrNoBuffers means a poll found no buffer of its kind open.
	ErrNoBuffers = errors.New("no buffers open")
)

// Kind is a kind of buffer: each kind is polled by its own shared poller,
// as BCC's perf_buffer_poll and ring_buffer_poll are separate.
type Kind int

// The kinds of buffer.
const (
	Perf Kind = iota // BPF_PERF_OUTPUT: a perf ring per CPU
	Ring             // BPF_RINGBUF_OUTPUT: a BPF ring buffer
)

func (k Kind) String() string {
	if k == Perf {
		return "perf"
	}
	return "ring buffer"
}

// Target is the map a buffer reads, as the registry sees it.
type Target struct {
	// Key identifies the map: one reader per key.
	Key any
	// Name is the map's name, for errors.
	Name string
	// MapFD returns the map's descriptor, or -1 once it is closed.
	MapFD func() int
	// MaxEntries is the map's max_entries: the highest CPU + 1 for a perf
	// map, the ring's size for a ring buffer.
	MaxEntries int
}

// Registry holds a BPF object's buffers: the shared pollers of each kind
// and every open reader, so that Close can stop them all. The zero value
// is ready.
type Registry struct {
	mu      sync.Mutex
	closed  bool
	pollers [2]*Poller
	readers map[any]io.Closer
}

// shared returns the shared poller of kind k, creating it.
func (r *Registry) shared(k Kind) (*Poller, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil, ErrClosed
	}
	if r.pollers[k] == nil {
		p, err := NewPoller()
		if err != nil {
			return nil, err
		}
		r.pollers[k] = p
	}
	return r.pollers[k], nil
}

// register records c as key's reader; a map has at most one.
func (r *Registry) register(t Target, c io.Closer) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return ErrClosed
	}
	if r.readers == nil {
		r.readers = make(map[any]io.Closer)
	}
	if _, busy := r.readers[t.Key]; busy {
		return fmt.Errorf("table %s: %w", t.Name, ErrReaderOpen)
	}
	r.readers[t.Key] = c
	return nil
}

func (r *Registry) unregister(t Target, c io.Closer) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.readers[t.Key] == c {
		delete(r.readers, t.Key)
	}
}

// active returns the shared poller of kind k, or ErrClosed after Close,
// or ErrNoBuffers when no buffer of that kind is open.
func (r *Registry) active(k Kind) (*Poller, error) {
	r.mu.Lock()
	p, closed := r.pollers[k], r.closed
	r.mu.Unlock()
	if closed {
		return nil, ErrClosed
	}
	if p == nil || p.Empty() {
		return nil, fmt.Errorf("%s: %w", k, ErrNoBuffers)
	}
	return p, nil
}

// Poll waits up to timeout (negative: no limit) for records in the
// buffers of kind k and reads them (BCC's perf_buffer_poll,
// ring_buffer_poll).
func (r *Registry) Poll(k Kind, timeout time.Duration) (int, error) {
	p, err := r.active(k)
	if err != nil {
		return 0, err
	}
	return p.Poll(timeout)
}

// Consume reads every buffer of kind k without waiting.
func (r *Registry) Consume(k Kind) (int, error) {
	p, err := r.active(k)
	if err != nil {
		return 0, err
	}
	return p.ConsumeAll()
}

// Close closes every reader and poller; later opens and polls fail with
// ErrClosed. It must run before the caller takes locks a callback may
// need, so that a running callback can finish.
func (r *Registry) Close() error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil
	}
	r.closed = true
	readers := make([]io.Closer, 0, len(r.readers))
	for _, c := range r.readers {
		readers = append(readers, c)
	}
	pollers := r.pollers
	r.mu.Unlock()
	// Wake pollers first so that a poll blocked with no limit returns.
	for _, p := range pollers {
		if p != nil {
			p.Shutdown()
		}
	}
	var errs []error
	for _, c := range readers {
		errs = append(errs, c.Close())
	}
	for _, p := range pollers {
		if p != nil {
			p.Close()
		}
	}
	return errors.Join(errs...)
}

// buffer is what perf and ring buffers share: registration, the poller,
// and a Close that waits for the opening to finish.
type buffer struct {
	reg       *Registry
	target    Target
	poller    *Poller
	ownPoller bool       // a private poller (Events) that Close also closes
	setup     sync.Mutex // held while opening, so that Close waits
	closeOnce sync.Once
	closeErr  error
}

// open registers b and runs start with setup held: once registered, the
// registry's Close may close b at any time, and setup makes that Close
// wait until b is complete. A failed start closes b.
func (b *buffer) open(self io.Closer, start func() error) error {
	b.setup.Lock()
	if err := b.reg.register(b.target, self); err != nil {
		b.setup.Unlock()
		if b.ownPoller {
			b.poller.Close()
		}
		return err
	}
	err := start()
	b.setup.Unlock()
	if err != nil {
		self.Close()
		if errors.Is(err, ErrClosed) {
			return err
		}
		return fmt.Errorf("table %s: %w", b.target.Name, err)
	}
	return nil
}

// close runs free once, with setup held, then unregisters b.
func (b *buffer) close(self io.Closer, free func() error) error {
	b.closeOnce.Do(func() {
		b.setup.Lock()
		defer b.setup.Unlock()
		b.closeErr = free()
		if b.ownPoller {
			b.poller.Close()
		}
		b.reg.unregister(b.target, self)
	})
	return b.closeErr
}

// Poll waits up to timeout for records in the buffer's poller, which also
// reads the other buffers sharing it.
func (b *buffer) Poll(timeout time.Duration) (int, error) { return b.poller.Poll(timeout) }

// PerfBuffer is a PerfReader whose rings are stored in a BPF_PERF_OUTPUT
// map, each at its CPU's index.
type PerfBuffer struct {
	buffer
	reader *PerfReader
	cpus   []int
}

// OpenPerf opens a ring per CPU for t (cfg.CPUs, or every online CPU when
// nil), stores them in the map and starts reading them with the shared
// perf poller. cfg.Pages 0 means 8 (BCC's page_cnt).
func (r *Registry) OpenPerf(t Target, cfg PerfConfig) (*PerfBuffer, error) {
	p, err := r.shared(Perf)
	if err != nil {
		return nil, err
	}
	return r.openPerf(t, cfg, p, false)
}

func (r *Registry) openPerf(t Target, cfg PerfConfig, p *Poller, ownPoller bool) (*PerfBuffer, error) {
	fail := func(err error) (*PerfBuffer, error) {
		if ownPoller {
			p.Close()
		}
		return nil, err
	}
	if cfg.Pages == 0 {
		cfg.Pages = 8
	}
	if cfg.Pages < 0 || cfg.Pages&(cfg.Pages-1) != 0 {
		return fail(fmt.Errorf("table %s: PageCount %d: %w", t.Name, cfg.Pages, ErrPageCount))
	}
	if cfg.WakeupEvents < 0 {
		return fail(fmt.Errorf("table %s: WakeupEvents %d is negative", t.Name, cfg.WakeupEvents))
	}
	online := cfg.CPUs
	if online == nil {
		var err error
		if online, err = bpfsys.OnlineCPUs(); err != nil {
			return fail(err)
		}
	}
	for _, cpu := range online {
		if cpu >= t.MaxEntries {
			return fail(fmt.Errorf("table %s: CPU %d is beyond its %d entries", t.Name, cpu, t.MaxEntries))
		}
	}
	cfg.CPUs = online
	pb := &PerfBuffer{buffer: buffer{reg: r, target: t, poller: p, ownPoller: ownPoller}, cpus: online}
	if err := pb.open(pb, func() error { return pb.start(cfg) }); err != nil {
		return nil, err
	}
	return pb, nil
}

// start opens the rings, stores them in the map and starts reading.
func (pb *PerfBuffer) start(cfg PerfConfig) error {
	var err error
	pb.reader, err = OpenPerfReader(cfg)
	if err != nil {
		return err
	}
	fd := pb.target.MapFD()
	if fd < 0 {
		return ErrClosed
	}
	for _, ring := range pb.reader.Rings() {
		// The key is the CPU number itself, not the ring's position in
		// the list: bpf_perf_event_output(BPF_F_CURRENT_CPU) indexes the
		// map with the CPU it runs on.
		key := binary.NativeEndian.AppendUint32(nil, uint32(ring.CPU))
		val := binary.NativeEndian.AppendUint32(nil, uint32(ring.FD))
		if err := bpfsys.MapUpdate(fd, key, val, 0); err != nil {
			return fmt.Errorf("store CPU %d's ring: %w", ring.CPU, err)
		}
	}
	return pb.reader.Start(pb.poller) // ErrClosed if the registry closed first
}

// CPUs lists the CPUs that have a ring, ascending.
func (pb *PerfBuffer) CPUs() []int { return append([]int(nil), pb.cpus...) }

// LostCount is the number of records the kernel reported lost.
func (pb *PerfBuffer) LostCount() uint64 { return pb.reader.LostCount() }

// ReceivedCount is the number of records handed to the callback.
func (pb *PerfBuffer) ReceivedCount() uint64 { return pb.reader.ReceivedCount() }

// Consume reads every record in the buffer's rings without waiting.
func (pb *PerfBuffer) Consume() (int, error) { return pb.reader.Consume() }

// Close stops reading, removes the rings from the map and frees them,
// after any running callback has finished. It is idempotent.
func (pb *PerfBuffer) Close() error {
	return pb.close(pb, func() error {
		if pb.reader == nil {
			return nil
		}
		var errs []error
		// The map holds a reference to each perf event: drop it so the
		// ring is really freed and the program's output fails cleanly.
		if fd := pb.target.MapFD(); fd >= 0 {
			for _, ring := range pb.reader.Rings() {
				key := binary.NativeEndian.AppendUint32(nil, uint32(ring.CPU))
				if err := bpfsys.MapDelete(fd, key); err != nil && !errors.Is(err, bpfsys.ErrKeyNotExist) {
					errs = append(errs, fmt.Errorf("table %s: remove CPU %d's ring: %w", pb.target.Name, ring.CPU, err))
				}
			}
		}
		return errors.Join(append(errs, pb.reader.Close())...)
	})
}

// RingBuffer is a RingReader registered with a Registry.
type RingBuffer struct {
	buffer
	reader *RingReader
}

// OpenRing maps t's ring buffer and starts reading it with the shared
// ring buffer poller. cfg.MapFD and cfg.Size are t's.
func (r *Registry) OpenRing(t Target, cfg RingConfig) (*RingBuffer, error) {
	p, err := r.shared(Ring)
	if err != nil {
		return nil, err
	}
	return r.openRing(t, cfg, p, false)
}

func (r *Registry) openRing(t Target, cfg RingConfig, p *Poller, ownPoller bool) (*RingBuffer, error) {
	rb := &RingBuffer{buffer: buffer{reg: r, target: t, poller: p, ownPoller: ownPoller}}
	err := rb.open(rb, func() error {
		if cfg.MapFD = t.MapFD(); cfg.MapFD < 0 {
			return ErrClosed
		}
		cfg.Size = t.MaxEntries
		var err error
		if rb.reader, err = OpenRingReader(cfg); err != nil {
			return err
		}
		return rb.reader.Start(p) // ErrClosed if the registry closed first
	})
	if err != nil {
		return nil, err
	}
	return rb, nil
}

// ReceivedCount is the number of records handed to the callback.
func (rb *RingBuffer) ReceivedCount() uint64 { return rb.reader.ReceivedCount() }

// Consume reads every record of the ring without waiting.
func (rb *RingBuffer) Consume() (int, error) { return rb.reader.Consume() }

// Close stops reading and unmaps the ring, after any running callback has
// finished. It is idempotent.
func (rb *RingBuffer) Close() error {
	return rb.close(rb, func() error {
		if rb.reader != nil {
			rb.reader.Close()
		}
		return nil
	})
}

// Event is one record read by Events.
type Event struct {
	// CPU is the CPU whose perf ring held the record; -1 for ring buffers
	// and losses.
	CPU int
	// Data is the record's bytes, owned by the receiver.
	Data []byte
	// Lost, when not zero, reports records the kernel dropped.
	Lost uint64
}

// Events reads t's buffer of kind k with its own reader and poller until
// ctx is done or the loop stops, and frees both when the loop ends. cfg
// applies to perf buffers; of it only MaxBatchDelay and NoSpin to ring
// buffers; its callbacks are replaced. When ctx is done the iteration ends
// without an error; any other end is an error yielded to the loop
// (ErrClosed when the registry closes). No goroutine outlives the loop.
func (r *Registry) Events(ctx context.Context, t Target, k Kind, cfg PerfConfig) iter.Seq2[Event, error] {
	return func(yield func(Event, error) bool) {
		var pending []Event
		p, err := NewPoller()
		if err != nil {
			yield(Event{}, err)
			return
		}
		var reader io.Closer
		if k == Perf {
			cfg.Lost = chainLost(cfg.Lost, func(n uint64) { pending = append(pending, Event{CPU: -1, Lost: n}) })
			cfg.Sample = func(cpu int, data []byte) {
				pending = append(pending, Event{CPU: cpu, Data: append([]byte(nil), data...)})
			}
			reader, err = r.openPerf(t, cfg, p, true)
		} else {
			reader, err = r.openRing(t, RingConfig{MaxBatchDelay: cfg.MaxBatchDelay, NoSpin: cfg.NoSpin, Record: func(data []byte) {
				pending = append(pending, Event{CPU: -1, Data: append([]byte(nil), data...)})
			}}, p, true)
		}
		if err != nil {
			yield(Event{}, err)
			return
		}
		defer reader.Close()
		stop := context.AfterFunc(ctx, p.Wake)
		defer stop()
		for {
			if ctx.Err() != nil {
				return
			}
			_, err := p.Poll(-1)
			for i, ev := range pending {
				pending[i] = Event{}
				if !yield(ev, nil) {
					return
				}
			}
			pending = pending[:0]
			if err != nil && !errors.Is(err, ErrWoken) {
				yield(Event{}, fmt.Errorf("table %s: %w", t.Name, err))
				return
			}
		}
	}
}

func chainLost(user, own func(uint64)) func(uint64) {
	if user == nil {
		return own
	}
	return func(n uint64) { user(n); own(n) }
}
