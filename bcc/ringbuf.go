package bcc

import (
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// RingBuffer reads a BPF_RINGBUF_OUTPUT table (a BPF ring buffer shared by
// all CPUs). Records arrive through the callback from BPF.RingBufferPoll,
// RingBufferConsume, or the buffer's own Poll and Consume.
type RingBuffer struct {
	table     *Table
	callback  func(data []byte)
	maxDelay  time.Duration
	noSpin    bool
	poller    *poller
	ownPoller bool
	id        uint64
	consumer  []byte // the consumer page, read-write
	producer  []byte // the producer page and the data pages, mapped twice
	consPos   *uint64
	prodPos   *uint64
	data      []byte
	mask      uint64
	received  atomic.Uint64
	closeOnce sync.Once
}

// Header bits of a ring buffer record (BPF_RINGBUF_*).
const (
	ringbufBusyBit    = 1 << 31
	ringbufDiscardBit = 1 << 30
	ringbufHeaderSize = 8
)

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
// opts, at most one, tunes the reader; the zero value is the default.
func (t *Table) OpenRingBuffer(callback func(data []byte), opts ...RingBufferOptions) (*RingBuffer, error) {
	if callback == nil {
		return nil, fmt.Errorf("table %s: OpenRingBuffer: nil callback", t.name)
	}
	p, err := t.b.events.poller(&t.b.events.ring)
	if err != nil {
		return nil, err
	}
	var o RingBufferOptions
	switch len(opts) {
	case 0:
	case 1:
		o = opts[0]
	default:
		return nil, fmt.Errorf("table %s: OpenRingBuffer: %d option values, want at most 1", t.name, len(opts))
	}
	return t.openRingBuffer(callback, o, p, false)
}

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

func (t *Table) openRingBuffer(callback func([]byte), opts RingBufferOptions, p *poller, ownPoller bool) (*RingBuffer, error) {
	if t.mapType != MapRingbuf {
		return nil, fmt.Errorf("table %s is a %s, not a ringbuf (BPF_RINGBUF_OUTPUT): %w", t.name, t.mapType, ErrWrongTableType)
	}
	fd := t.fdIfOpen()
	if fd < 0 {
		return nil, ErrClosed
	}
	rb := &RingBuffer{table: t, callback: callback, maxDelay: opts.MaxBatchDelay, noSpin: opts.NoSpin, poller: p, ownPoller: ownPoller}
	if err := t.b.events.register(t, rb); err != nil {
		return nil, err
	}
	pageSize := os.Getpagesize()
	var err error
	rb.consumer, err = unix.Mmap(fd, 0, pageSize, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		rb.Close()
		return nil, fmt.Errorf("table %s: mmap ring buffer consumer page: %w", t.name, err)
	}
	// The kernel maps the data pages twice in a row, so a record that
	// wraps around the end is still contiguous here.
	rb.producer, err = unix.Mmap(fd, int64(pageSize), pageSize+2*t.maxEntries, unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		rb.Close()
		return nil, fmt.Errorf("table %s: mmap ring buffer data (%d bytes): %w", t.name, t.maxEntries, err)
	}
	rb.consPos = (*uint64)(unsafe.Pointer(&rb.consumer[0]))
	rb.prodPos = (*uint64)(unsafe.Pointer(&rb.producer[0]))
	rb.data = rb.producer[pageSize:]
	rb.mask = uint64(t.maxEntries - 1)
	if rb.id, err = p.add(fd, rb); err != nil {
		rb.Close()
		return nil, fmt.Errorf("table %s: %w", t.name, err)
	}
	return rb, nil
}

// consume reads every committed record. The kernel publishes a record by
// clearing its busy bit (release) and advances producer_pos when reserving;
// records are consumed in order, so reading stops at the first busy one.
// consumer_pos is stored after each record, as libbpf does, so the space
// is reusable at once.
func (rb *RingBuffer) consume() (records, bytes int) {
	if rb.data == nil {
		return 0, 0
	}
	n := 0
	cons := atomic.LoadUint64(rb.consPos)
	start := cons
	for {
		prod := atomic.LoadUint64(rb.prodPos)
		if cons >= prod {
			break
		}
		progress := false
		for cons < prod {
			hdr := (*uint32)(unsafe.Pointer(&rb.data[cons&rb.mask]))
			l := atomic.LoadUint32(hdr)
			if l&ringbufBusyBit != 0 {
				break
			}
			size := uint64(l &^ (ringbufBusyBit | ringbufDiscardBit))
			if l&ringbufDiscardBit == 0 {
				start := cons&rb.mask + ringbufHeaderSize
				rb.callback(rb.data[start : start+size])
				n++
			}
			cons += (size + ringbufHeaderSize + 7) &^ 7
			atomic.StoreUint64(rb.consPos, cons)
			progress = true
		}
		if !progress {
			break
		}
	}
	rb.received.Add(uint64(n))
	return n, int(cons - start)
}

func (rb *RingBuffer) pacing() sourcePacing {
	capacity := len(rb.data) / 2 // the data pages are mapped twice
	return sourcePacing{capacity: capacity, maxDelay: batchLimit(capacity, rb.maxDelay), noSpin: rb.noSpin}
}

// ReceivedCount is the number of records handed to the callback so far.
func (rb *RingBuffer) ReceivedCount() uint64 { return rb.received.Load() }

// Poll waits up to timeout (negative: no limit) for records and reads
// them, together with the object's other ring buffers, which share one
// wait; it returns how many it read.
func (rb *RingBuffer) Poll(timeout time.Duration) (int, error) {
	n, err := rb.poller.poll(timeout)
	if err == errWoken {
		err = nil
	}
	return n, err
}

// Consume reads every record of this ring buffer without waiting.
func (rb *RingBuffer) Consume() int {
	rb.poller.dispatch.Lock()
	defer rb.poller.dispatch.Unlock()
	n, _ := rb.consume()
	return n
}

// Close stops reading and unmaps the ring; the table stays usable. It
// returns after any running callback has finished; it must not be called
// from a callback. It is idempotent.
func (rb *RingBuffer) Close() error {
	rb.closeOnce.Do(func() {
		if rb.id != 0 {
			rb.poller.remove(rb.table.fdIfOpen(), rb.id)
		}
		rb.data = nil
		if rb.producer != nil {
			unix.Munmap(rb.producer)
			rb.producer = nil
		}
		if rb.consumer != nil {
			unix.Munmap(rb.consumer)
			rb.consumer = nil
		}
		if rb.ownPoller {
			rb.poller.close()
		}
		rb.table.b.events.unregister(rb.table, rb)
	})
	return nil
}

// RingBufferPoll waits up to timeout (negative: no limit) for records in
// any of the object's ring buffers and hands them to their callbacks
// (BCC's ring_buffer_poll, whose timeout is in milliseconds). It returns
// how many records it read; with no ring buffer open it returns
// ErrNoBuffers, as BCC raises "No ring buffers to poll".
func (b *BPF) RingBufferPoll(timeout time.Duration) (int, error) {
	return b.events.pollKind(&b.events.ring, timeout, "ring buffer")
}

// RingBufferConsume reads every ring buffer without waiting (BCC's
// ring_buffer_consume).
func (b *BPF) RingBufferConsume() (int, error) {
	return b.events.consumeKind(&b.events.ring, "ring buffer")
}
