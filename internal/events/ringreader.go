package events

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// RingConfig describes a RingReader.
type RingConfig struct {
	// MapFD is the BPF_MAP_TYPE_RINGBUF map's descriptor; the caller owns
	// it and keeps it open while the reader is.
	MapFD int
	// Size is the ring's size in bytes (the map's max_entries), a power
	// of two.
	Size int
	// MaxBatchDelay bounds a poll's batching delay: 0 picks
	// DefaultMaxBatchDelay, negative turns batching off.
	MaxBatchDelay time.Duration
	// NoSpin makes polls always wait asleep.
	NoSpin bool
	// Record receives each record's bytes, valid until it returns.
	Record func(data []byte)
}

// RingReader reads a BPF ring buffer map through its mapped pages. It owns
// the mappings (Close frees them), not the map.
type RingReader struct {
	ring     *RingBuf
	fd       int
	record   func([]byte)
	maxDelay time.Duration
	noSpin   bool
	consumer []byte // the consumer page, read-write
	producer []byte // the producer page and the data pages, mapped twice
	poller   *Poller
	id       uint64
	closed   bool // guarded by the poller's dispatch once started
	received atomic.Uint64
	once     sync.Once
}

// OpenRingReader maps the ring buffer. It is read once Start adds it to a
// poller. The caller must Close the reader.
func OpenRingReader(cfg RingConfig) (*RingReader, error) {
	if cfg.Record == nil {
		return nil, errors.New("ring buffer reader: nil record callback")
	}
	r := &RingReader{fd: cfg.MapFD, record: cfg.Record, maxDelay: cfg.MaxBatchDelay, noSpin: cfg.NoSpin}
	pageSize := os.Getpagesize()
	var err error
	r.consumer, err = unix.Mmap(cfg.MapFD, 0, pageSize, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		return nil, fmt.Errorf("mmap ring buffer consumer page: %w", err)
	}
	// The kernel maps the data pages twice in a row, so a record that
	// wraps around the end is still contiguous here.
	r.producer, err = unix.Mmap(cfg.MapFD, int64(pageSize), pageSize+2*cfg.Size, unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		r.Close()
		return nil, fmt.Errorf("mmap ring buffer data (%d bytes): %w", cfg.Size, err)
	}
	if r.ring, err = NewRingBuf(r.consumer, r.producer[:pageSize], r.producer[pageSize:]); err != nil {
		r.Close()
		return nil, err
	}
	return r, nil
}

func (r *RingReader) consume() (int, int, error) {
	n, bytes, err := r.ring.Read(r.record)
	r.received.Add(uint64(n))
	return n, bytes, err
}

func (r *RingReader) pacing() sourcePacing {
	size := r.ring.Size()
	return sourcePacing{capacity: size, maxDelay: batchLimit(size, r.maxDelay), noSpin: r.noSpin}
}

// Start adds the ring to p, whose polls then read it. A reader joins one
// poller, once.
func (r *RingReader) Start(p *Poller) error {
	if r.poller != nil {
		return errors.New("ring buffer reader already started")
	}
	r.poller = p
	id, err := p.add(r.fd, r)
	if err != nil {
		return err
	}
	r.id = id
	return nil
}

// Consume reads the ring without waiting and returns how many records it
// handed on; after Close it reads nothing.
func (r *RingReader) Consume() (n int, err error) {
	if r.poller == nil {
		return 0, nil // never started: nothing can be read yet
	}
	r.poller.exclusive(func() {
		if !r.closed {
			n, _, err = r.consume()
		}
	})
	return n, err
}

// ReceivedCount is the number of records handed to Record so far.
func (r *RingReader) ReceivedCount() uint64 { return r.received.Load() }

// Close removes the ring from its poller (waiting for a running callback)
// and unmaps it; the map stays open. It must not be called from a
// callback. It is idempotent.
func (r *RingReader) Close() error {
	r.once.Do(func() {
		if r.poller != nil {
			var ids []uint64
			if r.id != 0 {
				ids = append(ids, r.id)
			}
			r.poller.remove(ids, func() { r.closed = true })
		}
		if r.producer != nil {
			unix.Munmap(r.producer)
		}
		if r.consumer != nil {
			unix.Munmap(r.consumer)
		}
	})
	return nil
}
