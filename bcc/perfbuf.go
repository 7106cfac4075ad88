package bcc

import (
	"time"

	"github.com/gobcc/gobcc/internal/events"
)

// ErrPageCount means a perf buffer's PageCount is not a power of two.
var ErrPageCount = events.ErrPageCount

// ErrReaderOpen means the table already has an open reader (a perf buffer,
// a ring buffer or an Events iteration): a perf or ring buffer map has one
// consumer.
var ErrReaderOpen = events.ErrReaderOpen

// ErrNoBuffers means PerfBufferPoll or RingBufferPoll was called with no
// buffer of that kind open.
var ErrNoBuffers = events.ErrNoBuffers

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

// config is the engine's form of the options.
func (o PerfBufferOptions) config() events.PerfConfig {
	return events.PerfConfig{Pages: o.PageCount, WakeupEvents: o.WakeupEvents, FlushInterval: o.FlushInterval,
		MaxBatchDelay: o.MaxBatchDelay, NoSpin: o.NoSpin, Lost: o.LostCallback}
}

// PerfBuffer reads a BPF_PERF_OUTPUT table: one ring per online CPU, each
// stored in the table at its CPU's index. Records arrive through the
// callback from BPF.PerfBufferPoll, PerfBufferConsume, or the buffer's own
// Poll and Consume. The BPF object owns it: BPF.Close closes it, and the
// caller may Close it earlier.
type PerfBuffer struct{ pb *events.PerfBuffer }

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
	o, err := bufferOptions(t, "OpenPerfBuffer", callback == nil, events.Perf, opts)
	if err != nil {
		return nil, err
	}
	cfg := o.config()
	cfg.Sample = callback
	pb, err := t.b.events.OpenPerf(t.eventTarget(), cfg)
	if err != nil {
		return nil, pollErr(err)
	}
	return &PerfBuffer{pb}, nil
}

// CPUs lists the CPUs that have a ring, ascending.
func (pb *PerfBuffer) CPUs() []int { return pb.pb.CPUs() }

// LostCount is the number of records the kernel dropped so far because a
// ring was full, as reported in its PERF_RECORD_LOST records.
func (pb *PerfBuffer) LostCount() uint64 { return pb.pb.LostCount() }

// ReceivedCount is the number of records handed to the callback so far.
func (pb *PerfBuffer) ReceivedCount() uint64 { return pb.pb.ReceivedCount() }

// Poll waits up to timeout (negative: no limit) for records in this
// buffer's rings and reads them; it returns how many it read. The
// BPF-wide PerfBufferPoll is the usual way; Poll also reads the object's
// other perf buffers, which share one wait.
func (pb *PerfBuffer) Poll(timeout time.Duration) (int, error) {
	n, err := pb.pb.Poll(timeout)
	return n, pollErr(err)
}

// Consume reads every record in this buffer's rings without waiting. A
// corrupt ring's error (wrapping ErrCorruptRing) is dropped here: poll to
// see it.
func (pb *PerfBuffer) Consume() int {
	n, _ := pb.pb.Consume()
	return n
}

// Close stops reading, removes the rings from the table and frees them.
// It returns after any running callback has finished; it must not be
// called from a callback. It is idempotent.
func (pb *PerfBuffer) Close() error { return pb.pb.Close() }

// PerfBufferPoll waits up to timeout (negative: no limit) for records in
// any of the object's perf buffers and hands them to their callbacks
// (BCC's perf_buffer_poll, whose timeout is in milliseconds). It returns
// how many records it read; with no perf buffer open it returns
// ErrNoBuffers at once.
func (b *BPF) PerfBufferPoll(timeout time.Duration) (int, error) {
	n, err := b.events.Poll(events.Perf, timeout)
	return n, pollErr(err)
}

// PerfBufferConsume reads every perf buffer whether or not the kernel
// woke it (BCC's perf_buffer_consume): the way to collect the records
// left below WakeupEvents.
func (b *BPF) PerfBufferConsume() (int, error) {
	n, err := b.events.Consume(events.Perf)
	return n, pollErr(err)
}
