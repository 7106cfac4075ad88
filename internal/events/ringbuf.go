package events

import (
	"fmt"
	"sync/atomic"
	"unsafe"
)

// Header bits of a BPF ring buffer record (BPF_RINGBUF_*).
const (
	ringbufBusyBit    = 1 << 31
	ringbufDiscardBit = 1 << 30
	ringbufHeaderSize = 8
)

// RingBuf parses a BPF ring buffer in place: the consumer position (the
// first word of the consumer page), the producer position (the first word
// of the producer page) and the data area, which the kernel maps twice in
// a row so that a record that wraps around the end is contiguous. It works
// on any memory: the kernel's mapping (RingReader) or plain byte slices in
// tests, which then write each byte at both places. It holds no
// resources; whoever provides the memory frees it, after the last Read.
type RingBuf struct {
	cons *uint64 // consumer_pos: written by us
	prod *uint64 // producer_pos: written by the kernel
	data []byte  // twice the ring's size
	mask uint64
}

// NewRingBuf reads the ring whose consumer and producer pages start with
// consumer and producer (8-byte aligned) and whose data area, mapped
// twice, is data: 2 × a power of two bytes, 8-byte aligned.
func NewRingBuf(consumer, producer, data []byte) (*RingBuf, error) {
	for _, page := range [][]byte{consumer, producer} {
		if len(page) < 8 || !aligned8(page) {
			return nil, fmt.Errorf("ring buffer position: %d bytes, want an 8-byte aligned word", len(page))
		}
	}
	if n := len(data) / 2; n < ringbufHeaderSize || n&(n-1) != 0 || len(data)%2 != 0 || !aligned8(data) {
		return nil, fmt.Errorf("ring buffer data: %d bytes, want twice a power of two, 8-byte aligned", len(data))
	}
	return &RingBuf{
		cons: (*uint64)(unsafe.Pointer(&consumer[0])),
		prod: (*uint64)(unsafe.Pointer(&producer[0])),
		data: data,
		mask: uint64(len(data)/2 - 1),
	}, nil
}

func aligned8(b []byte) bool { return uintptr(unsafe.Pointer(unsafe.SliceData(b)))%8 == 0 }

// Size is the ring's size in bytes (half the data mapping).
func (r *RingBuf) Size() int { return len(r.data) / 2 }

// Read hands every committed record to record (its bytes, exactly as
// submitted, valid until it returns) and returns how many it handed on and
// how many bytes of the ring it consumed. Discarded records are skipped.
//
// The kernel publishes a record by clearing its busy bit (release) after
// advancing producer_pos when reserving; records are consumed in order, so
// reading stops at the first busy one. consumer_pos is stored after each
// record, as libbpf does, so the space is reusable at once.
//
// A record whose length reaches past producer_pos, or a producer_pos more
// than the ring ahead of consumer_pos, ends the read with an error
// wrapping ErrCorrupt after moving consumer_pos to producer_pos (see
// ErrCorrupt).
func (r *RingBuf) Read(record func(data []byte)) (records, bytes int, err error) {
	cons := atomic.LoadUint64(r.cons)
	start := cons
	size := uint64(len(r.data) / 2)
	for {
		prod := atomic.LoadUint64(r.prod)
		if cons >= prod {
			break
		}
		if prod-cons > size {
			err = fmt.Errorf("%w: ring buffer: producer_pos %d is %d bytes past consumer_pos %d, in a %d-byte ring", ErrCorrupt, prod, prod-cons, cons, size)
			cons = prod
			atomic.StoreUint64(r.cons, cons)
			break
		}
		progress := false
		for cons < prod {
			hdr := (*uint32)(unsafe.Pointer(&r.data[cons&r.mask]))
			l := atomic.LoadUint32(hdr)
			if l&ringbufBusyBit != 0 {
				break
			}
			n := uint64(l &^ (ringbufBusyBit | ringbufDiscardBit))
			if ringbufHeaderSize+n > prod-cons {
				err = fmt.Errorf("%w: ring buffer: record of %d bytes at %d, %d bytes reserved", ErrCorrupt, n, cons, prod-cons)
				cons = prod
				atomic.StoreUint64(r.cons, cons)
				return records, int(cons - start), err
			}
			if l&ringbufDiscardBit == 0 {
				off := cons&r.mask + ringbufHeaderSize
				record(r.data[off : off+n])
				records++
			}
			cons += (n + ringbufHeaderSize + 7) &^ 7
			atomic.StoreUint64(r.cons, cons)
			progress = true
		}
		if !progress {
			break
		}
	}
	return records, int(cons - start), err
}
