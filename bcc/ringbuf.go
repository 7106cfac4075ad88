package bcc

import (
	"time"

	"github.com/gobcc/gobcc/internal/events"
)

// RingBuffer reads a BPF_RINGBUF_OUTPUT table (a BPF ring buffer shared by
// all CPUs). Records arrive through the callback from BPF.RingBufferPoll,
// RingBufferConsume, or the buffer's own Poll and Consume. The BPF object
// owns it: BPF.Close closes it, and the caller may Close it earlier.
type RingBuffer struct{ rb *events.RingBuffer }

// RingBufferOptions tune a ring buffer's reader.
type RingBufferOptions struct {
	// MaxBatchDelay bounds how long a poll may let records gather while
	// they arrive fast (over 5000/s) before reading them in one batch;
	// default DefaultMaxBatchDelay (1 ms), lowered further so that a
	// small ring cannot fill meanwhile. Negative turns batching off: every
	// poll waits for the kernel's wake-up, as BCC's does.
	MaxBatchDelay time.Duration
	// NoSpin makes polls always wait asleep, never on the CPU (see
	// PerfBufferOptions.NoSpin).
	NoSpin bool
}

// OpenRingBuffer starts reading a BPF_RINGBUF_OUTPUT table (BCC's
// table.open_ring_buffer). callback receives each record's bytes, exactly
// as submitted, valid only until it returns (they are the ring's memory).
// Records the program discarded are skipped.
//
// Every ring buffer of the object is polled together by RingBufferPoll
// (BCC's bpf_add_ringbuf). The caller may Close the buffer; BPF.Close
// closes it otherwise. Callbacks run on the goroutine that polls, never
// concurrently; they must not Close the buffer or the BPF object.
//
// The kernel counts no losses for ring buffers: a full ring makes the
// program's bpf_ringbuf_output fail or bpf_ringbuf_reserve return NULL,
// and only the program can count that (see docs/api-events.md).
//
// opts, at most one (more wraps ErrTooManyOptions), tunes the reader; the
// zero value is the default.
func (t *Table) OpenRingBuffer(callback func(data []byte), opts ...RingBufferOptions) (*RingBuffer, error) {
	o, err := bufferOptions(t, "OpenRingBuffer", callback == nil, events.Ring, opts)
	if err != nil {
		return nil, err
	}
	rb, err := t.b.events.OpenRing(t.eventTarget(), events.RingConfig{MaxBatchDelay: o.MaxBatchDelay, NoSpin: o.NoSpin, Record: callback})
	if err != nil {
		return nil, pollErr(err)
	}
	return &RingBuffer{rb}, nil
}

// ReceivedCount is the number of records handed to the callback so far.
func (rb *RingBuffer) ReceivedCount() uint64 { return rb.rb.ReceivedCount() }

// Poll waits up to timeout (negative: no limit) for records and reads
// them, together with the object's other ring buffers, which share one
// wait; it returns how many it read.
func (rb *RingBuffer) Poll(timeout time.Duration) (int, error) {
	n, err := rb.rb.Poll(timeout)
	return n, pollErr(err)
}

// Consume reads every record of this ring buffer without waiting. A
// corrupt ring's error (wrapping ErrCorruptRing) is dropped here: poll to
// see it.
func (rb *RingBuffer) Consume() int {
	n, _ := rb.rb.Consume()
	return n
}

// Close stops reading and unmaps the ring; the table stays usable. It
// returns after any running callback has finished; it must not be called
// from a callback. It is idempotent.
func (rb *RingBuffer) Close() error { return rb.rb.Close() }

// RingBufferPoll waits up to timeout (negative: no limit) for records in
// any of the object's ring buffers and hands them to their callbacks
// (BCC's ring_buffer_poll, whose timeout is in milliseconds). It returns
// how many records it read; with no ring buffer open it returns
// ErrNoBuffers, as BCC raises "No ring buffers to poll".
func (b *BPF) RingBufferPoll(timeout time.Duration) (int, error) {
	n, err := b.events.Poll(events.Ring, timeout)
	return n, pollErr(err)
}

// RingBufferConsume reads every ring buffer without waiting (BCC's
// ring_buffer_consume).
func (b *BPF) RingBufferConsume() (int, error) {
	n, err := b.events.Consume(events.Ring)
	return n, pollErr(err)
}
