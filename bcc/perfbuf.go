package bcc

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/gobcc/gobcc/internal/bpfsys"
	"github.com/gobcc/gobcc/internal/events"
)

// ErrPageCount means a perf buffer's PageCount is not a power of two.
var ErrPageCount = errors.New("perf buffer page count must be a power of two")

// ErrReaderOpen means the table already has an open reader (a perf buffer,
// a ring buffer or an Events iteration): a perf or ring buffer map has one
// consumer.
var ErrReaderOpen = errors.New("table already has an open reader")

// ErrNoBuffers means PerfBufferPoll or RingBufferPoll was called with no
// buffer of that kind open.
var ErrNoBuffers = errors.New("no buffers open")

// ErrCorruptRing means a poll found a record header no kernel writes in a
// perf ring or ring buffer (a size of zero or past the written data). The
// reader skipped what had been written up to then, so those records are
// lost; the poll reports the records it did read along with the error.
var ErrCorruptRing = events.ErrCorrupt

// DefaultMaxBatchDelay is how long, at most, a poll lets records gather in
// a busy ring before it reads them, unless the options say otherwise (see
// the pacing notes in docs/design-events.md).
const DefaultMaxBatchDelay = events.DefaultMaxBatchDelay

// DefaultFlushInterval is how often a waiting poll reads perf rings that
// have not woken it, when the kernel does not wake it for every record
// (PerfBufferOptions.WakeupEvents other than 1): the longest a lone record
// waits before its callback runs. After reads that find nothing the
// interval doubles, up to 8 times (80 ms by default), and it returns to
// the set value as soon as a read finds records.
const DefaultFlushInterval = events.DefaultFlushInterval

// PerfBufferOptions are open_perf_buffer's keyword arguments.
type PerfBufferOptions struct {
	// PageCount is the size of each CPU's ring in pages, a power of two;
	// default 8 (BCC's page_cnt).
	PageCount int
	// LostCallback, if set, receives the number of records the kernel
	// dropped because a ring was full, each time it reports a loss (BCC's
	// lost_cb). Losses are counted in LostCount either way.
	LostCallback func(lost uint64)
	// WakeupEvents is how many records the kernel writes to a CPU's ring
	// before it wakes a waiting poll. 0, the default, lets gobcc choose:
	// the kernel wakes a poll when an eighth of a ring has filled, and a
	// waiting poll also reads the rings every FlushInterval, so a lone
	// record waits at most that long (8 times that after a quiet spell).
	// 1 is BCC's setting (wakeup_events 1): a wake-up per record, so each
	// is read at once, but each costs the CPU that wrote it an interrupt — on the test VM about 5 µs, which
	// held the traced program to 141k records/s against 593k/s with 64.
	// Above 1, the kernel wakes a poll every WakeupEvents records, and
	// FlushInterval reads the rest.
	WakeupEvents int
	// FlushInterval is how often a waiting poll reads rings that have not
	// woken it, when WakeupEvents is not 1; default DefaultFlushInterval
	// (10 ms), stretched up to 8 times while reads find nothing.
	// Negative: never, leaving records below the wake-up threshold to
	// PerfBufferConsume as BCC does.
	FlushInterval time.Duration
	// MaxBatchDelay bounds how long a poll may let records gather while
	// they arrive fast (over 5000/s) before reading them in one batch;
	// default DefaultMaxBatchDelay (1 ms), lowered further so that a
	// small ring cannot fill meanwhile. While the rings would fill within
	// a few milliseconds the poll waits on the CPU rather than asleep
	// (see the pacing notes in docs/design-events.md). Negative turns
	// batching off: every poll waits for the kernel's wake-up, as BCC's
	// does. Records arriving slowly are read as soon as the kernel reports
	// them either way.
	MaxBatchDelay time.Duration
	// NoSpin makes polls always wait asleep, never on the CPU: less CPU
	// at high rates, at the price of loss when the machine wakes the
	// reader late (see DefaultMaxBatchDelay).
	NoSpin bool
}

// PerfBuffer reads a BPF_PERF_OUTPUT table: one ring per online CPU, each
// stored in the table at its CPU's index. Records arrive through the
// callback from BPF.PerfBufferPoll, PerfBufferConsume, or the buffer's own
// Poll and Consume. The BPF object owns it: BPF.Close closes it, and the
// caller may Close it earlier.
type PerfBuffer struct {
	table     *Table
	reader    *events.PerfReader
	poller    *events.Poller
	ownPoller bool // a private poller (Events) that Close also closes
	cpus      []int
	setup     sync.Mutex // held while opening, so that Close waits
	closeOnce sync.Once
	closeErr  error
}

// OpenPerfBuffer opens one ring per online CPU for a BPF_PERF_OUTPUT table
// (BCC's table.open_perf_buffer). callback receives the CPU and the
// record's bytes, which are valid only until it returns (they are the
// ring's memory); the length is the kernel's, a multiple of 8 bytes minus
// 4, so it may exceed what the program submitted by up to 7 bytes.
//
// The buffer is polled with the BPF object's PerfBufferPoll and
// PerfBufferConsume, alongside every other perf buffer of the object. The
// caller may Close it; BPF.Close closes it otherwise. Callbacks run on the
// goroutine that polls, never concurrently; they must not Close the
// buffer or the BPF object (Close waits for callbacks to finish).
//
// opts, at most one (more wraps ErrTooManyOptions), tunes the buffer; the
// zero value is the default.
func (t *Table) OpenPerfBuffer(callback func(cpu int, data []byte), opts ...PerfBufferOptions) (*PerfBuffer, error) {
	if callback == nil {
		return nil, fmt.Errorf("table %s: OpenPerfBuffer: nil callback", t.name)
	}
	o, err := oneOptions(t, "OpenPerfBuffer", opts)
	if err != nil {
		return nil, err
	}
	p, err := t.b.events.poller(&t.b.events.perf)
	if err != nil {
		return nil, err
	}
	online, err := bpfsys.OnlineCPUs()
	if err != nil {
		return nil, err
	}
	return t.openPerfBuffer(callback, o, p, false, online)
}

func (t *Table) openPerfBuffer(callback func(int, []byte), opts PerfBufferOptions, p *events.Poller, ownPoller bool, online []int) (*PerfBuffer, error) {
	if t.mapType != MapPerfEventArray {
		return nil, fmt.Errorf("table %s is a %s, not a perf_event_array (BPF_PERF_OUTPUT): %w", t.name, t.mapType, ErrWrongTableType)
	}
	if opts.PageCount == 0 {
		opts.PageCount = 8
	}
	if opts.PageCount < 0 || opts.PageCount&(opts.PageCount-1) != 0 {
		return nil, fmt.Errorf("table %s: PageCount %d: %w", t.name, opts.PageCount, ErrPageCount)
	}
	if opts.WakeupEvents < 0 {
		return nil, fmt.Errorf("table %s: WakeupEvents %d is negative", t.name, opts.WakeupEvents)
	}
	for _, cpu := range online {
		if cpu >= t.maxEntries {
			return nil, fmt.Errorf("table %s: CPU %d is beyond its %d entries", t.name, cpu, t.maxEntries)
		}
	}
	pb := &PerfBuffer{table: t, poller: p, ownPoller: ownPoller, cpus: online}
	// Registered, the buffer can be closed by BPF.Close at any time:
	// setup keeps that Close waiting until the buffer is complete.
	pb.setup.Lock()
	if err := t.b.events.register(t, pb); err != nil {
		pb.setup.Unlock()
		return nil, err
	}
	err := pb.open(opts, callback)
	pb.setup.Unlock()
	if err != nil {
		pb.Close()
		return nil, fmt.Errorf("table %s: %w", t.name, err)
	}
	return pb, nil
}

// open opens the rings, stores them in the table and starts reading.
func (pb *PerfBuffer) open(opts PerfBufferOptions, callback func(int, []byte)) error {
	var err error
	pb.reader, err = events.OpenPerfReader(events.PerfConfig{
		CPUs: pb.cpus, Pages: opts.PageCount, WakeupEvents: opts.WakeupEvents,
		FlushInterval: opts.FlushInterval, MaxBatchDelay: opts.MaxBatchDelay, NoSpin: opts.NoSpin,
		Sample: callback, Lost: opts.LostCallback,
	})
	if err != nil {
		return err
	}
	fd := pb.table.fdIfOpen()
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
	return pollErr(pb.reader.Start(pb.poller)) // ErrClosed if BPF.Close came first
}

// CPUs lists the CPUs that have a ring, ascending.
func (pb *PerfBuffer) CPUs() []int { return append([]int(nil), pb.cpus...) }

// LostCount is the number of records the kernel dropped so far because a
// ring was full, as reported in its PERF_RECORD_LOST records.
func (pb *PerfBuffer) LostCount() uint64 { return pb.reader.LostCount() }

// ReceivedCount is the number of records handed to the callback so far.
func (pb *PerfBuffer) ReceivedCount() uint64 { return pb.reader.ReceivedCount() }

// Poll waits up to timeout (negative: no limit) for records in this
// buffer's rings and reads them; it returns how many it read. The
// BPF-wide PerfBufferPoll is the usual way; Poll also reads the object's
// other perf buffers, which share one wait.
func (pb *PerfBuffer) Poll(timeout time.Duration) (int, error) {
	n, err := pb.poller.Poll(timeout)
	return n, pollErr(err)
}

// Consume reads every record in this buffer's rings without waiting. A
// corrupt ring's error (wrapping ErrCorruptRing) is dropped here: poll to
// see it.
func (pb *PerfBuffer) Consume() int {
	n, _ := pb.reader.Consume()
	return n
}

// Close stops reading, removes the rings from the table and frees them.
// It returns after any running callback has finished; it must not be
// called from a callback. It is idempotent.
func (pb *PerfBuffer) Close() error {
	pb.closeOnce.Do(func() {
		pb.setup.Lock()
		defer pb.setup.Unlock()
		var errs []error
		if pb.reader != nil {
			// The map holds a reference to each perf event: drop it so
			// the ring is really freed and the program's output fails
			// cleanly.
			if fd := pb.table.fdIfOpen(); fd >= 0 {
				for _, ring := range pb.reader.Rings() {
					key := binary.NativeEndian.AppendUint32(nil, uint32(ring.CPU))
					if err := bpfsys.MapDelete(fd, key); err != nil && !errors.Is(err, ErrKeyNotExist) {
						errs = append(errs, fmt.Errorf("table %s: remove CPU %d's ring: %w", pb.table.name, ring.CPU, err))
					}
				}
			}
			errs = append(errs, pb.reader.Close())
		}
		if pb.ownPoller {
			pb.poller.Close()
		}
		pb.table.b.events.unregister(pb.table, pb)
		pb.closeErr = errors.Join(errs...)
	})
	return pb.closeErr
}

// PerfBufferPoll waits up to timeout (negative: no limit) for records in
// any of the object's perf buffers and hands them to their callbacks
// (BCC's perf_buffer_poll, whose timeout is in milliseconds). It returns
// how many records it read; with no perf buffer open it returns
// ErrNoBuffers at once.
func (b *BPF) PerfBufferPoll(timeout time.Duration) (int, error) {
	return b.events.pollKind(&b.events.perf, timeout, "perf")
}

// PerfBufferConsume reads every perf buffer whether or not the kernel
// woke it (BCC's perf_buffer_consume): the way to collect the records
// left below WakeupEvents.
func (b *BPF) PerfBufferConsume() (int, error) {
	return b.events.consumeKind(&b.events.perf, "perf")
}
