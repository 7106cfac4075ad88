package events

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// PerfConfig describes a PerfReader.
type PerfConfig struct {
	// CPUs are the CPUs to open a ring for.
	CPUs []int
	// Pages is each ring's data size in pages, a power of two.
	Pages int
	// WakeupEvents is how many records the kernel writes before it wakes
	// a poll; 0 wakes at an eighth of the ring (a byte watermark).
	WakeupEvents int
	// FlushInterval is how often a waiting poll reads the rings when the
	// kernel does not wake it per record: 0 picks DefaultFlushInterval,
	// negative never. Ignored with WakeupEvents 1.
	FlushInterval time.Duration
	// MaxBatchDelay bounds a poll's batching delay: 0 picks
	// DefaultMaxBatchDelay, negative turns batching off.
	MaxBatchDelay time.Duration
	// NoSpin makes polls always wait asleep.
	NoSpin bool
	// Sample receives each record's bytes, valid until it returns.
	Sample func(cpu int, data []byte)
	// Lost, if set, receives the count of each PERF_RECORD_LOST.
	Lost func(n uint64)
}

// PerfReader reads BPF output (PERF_COUNT_SW_BPF_OUTPUT) perf rings, one
// per CPU, each opened with perf_event_open and mapped. Storing each
// ring's descriptor in a BPF_PERF_OUTPUT map is the caller's business
// (Rings gives them); the reader owns the rings and Close frees them.
type PerfReader struct {
	sample   func(cpu int, data []byte)
	lost     func(n uint64) // counts, then calls the user's callback
	maxDelay time.Duration
	flush    time.Duration // 0: the kernel wakes a poll per record
	noSpin   bool
	rings    []*perfEventRing
	poller   *Poller // set by Start
	closed   bool    // guarded by the poller's dispatch once started
	lostN    atomic.Uint64
	received atomic.Uint64
	once     sync.Once
}

// perfEventRing is one CPU's perf event and its mapped ring.
type perfEventRing struct {
	*PerfRing
	reader *PerfReader
	fd     int
	mem    []byte
	id     uint64 // in the poller, once started
}

// PerfRingFD is a ring's CPU and perf event descriptor (owned by the
// reader).
type PerfRingFD struct {
	CPU, FD int
}

// OpenPerfReader opens and maps a ring for each of cfg.CPUs. The rings are
// read once Start adds them to a poller. The caller must Close the reader.
func OpenPerfReader(cfg PerfConfig) (*PerfReader, error) {
	if cfg.Pages <= 0 || cfg.Pages&(cfg.Pages-1) != 0 {
		return nil, fmt.Errorf("perf ring of %d pages: not a power of two", cfg.Pages)
	}
	if cfg.WakeupEvents < 0 {
		return nil, fmt.Errorf("WakeupEvents %d is negative", cfg.WakeupEvents)
	}
	if cfg.Sample == nil {
		return nil, errors.New("perf reader: nil sample callback")
	}
	r := &PerfReader{sample: cfg.Sample, maxDelay: cfg.MaxBatchDelay, noSpin: cfg.NoSpin}
	user := cfg.Lost
	r.lost = func(n uint64) {
		r.lostN.Add(n)
		if user != nil {
			user(n)
		}
	}
	if cfg.WakeupEvents != 1 {
		r.flush = cfg.FlushInterval
		if r.flush == 0 {
			r.flush = DefaultFlushInterval
		}
		r.flush = max(r.flush, 0)
	}
	for _, cpu := range cfg.CPUs {
		ring, err := openPerfEventRing(r, cpu, cfg.Pages, cfg.WakeupEvents)
		if err != nil {
			r.Close()
			return nil, err
		}
		r.rings = append(r.rings, ring)
	}
	return r, nil
}

// openPerfEventRing opens and maps one CPU's ring. wakeup is WakeupEvents;
// 0 wakes a poll when an eighth of the ring has filled (a byte watermark,
// so the ring cannot fill before a wake-up whatever the record size).
func openPerfEventRing(r *PerfReader, cpu, pages, wakeup int) (*perfEventRing, error) {
	pageSize := os.Getpagesize()
	attr := unix.PerfEventAttr{
		Type:        unix.PERF_TYPE_SOFTWARE,
		Config:      unix.PERF_COUNT_SW_BPF_OUTPUT,
		Size:        uint32(unsafe.Sizeof(unix.PerfEventAttr{})),
		Sample_type: unix.PERF_SAMPLE_RAW,
		Sample:      1,
		Wakeup:      uint32(wakeup),
	}
	if wakeup == 0 {
		attr.Bits |= unix.PerfBitWatermark
		attr.Wakeup = uint32(max(pages*pageSize/8, 1))
	}
	fd, err := unix.PerfEventOpen(&attr, -1, cpu, -1, unix.PERF_FLAG_FD_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("perf_event_open(BPF output, CPU %d): %w", cpu, err)
	}
	mem, err := unix.Mmap(fd, 0, (pages+1)*pageSize, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("mmap perf ring of CPU %d (%d pages): %w", cpu, pages, err)
	}
	ring, err := NewPerfRing(cpu, mem[:pageSize], mem[pageSize:])
	if err == nil {
		err = unix.IoctlSetInt(fd, unix.PERF_EVENT_IOC_ENABLE, 0)
		if err != nil {
			err = fmt.Errorf("enable perf ring of CPU %d: %w", cpu, err)
		}
	}
	if err != nil {
		unix.Munmap(mem)
		unix.Close(fd)
		return nil, err
	}
	return &perfEventRing{PerfRing: ring, reader: r, fd: fd, mem: mem}, nil
}

func (ring *perfEventRing) consume() (int, int, error) {
	r := ring.reader
	n, bytes, err := ring.Read(r.sample, r.lost)
	r.received.Add(uint64(n))
	return n, bytes, err
}

func (ring *perfEventRing) pacing() sourcePacing {
	r := ring.reader
	return sourcePacing{capacity: len(ring.data), maxDelay: batchLimit(len(ring.data), r.maxDelay), flush: r.flush, noSpin: r.noSpin}
}

// Rings lists the rings' CPUs, ascending as given to OpenPerfReader, and
// descriptors.
func (r *PerfReader) Rings() []PerfRingFD {
	out := make([]PerfRingFD, len(r.rings))
	for i, ring := range r.rings {
		out[i] = PerfRingFD{CPU: ring.cpu, FD: ring.fd}
	}
	return out
}

// Start adds the rings to p, whose polls then read them. A reader joins
// one poller, once.
func (r *PerfReader) Start(p *Poller) error {
	if r.poller != nil {
		return errors.New("perf reader already started")
	}
	r.poller = p
	for _, ring := range r.rings {
		id, err := p.add(ring.fd, ring)
		if err != nil {
			return err
		}
		ring.id = id
	}
	return nil
}

// Consume reads this reader's rings without waiting and returns how many
// records it handed on; after Close it reads nothing.
func (r *PerfReader) Consume() (int, error) {
	var total int
	var errs []error
	read := func() {
		if r.closed {
			return
		}
		for _, ring := range r.rings {
			n, _, err := ring.consume()
			total += n
			if err != nil {
				errs = append(errs, err)
			}
		}
	}
	if r.poller == nil {
		return 0, nil // never started: nothing can be read yet
	}
	r.poller.exclusive(read)
	return total, errors.Join(errs...)
}

// LostCount is the number of records the kernel reported lost so far.
func (r *PerfReader) LostCount() uint64 { return r.lostN.Load() }

// ReceivedCount is the number of records handed to Sample so far.
func (r *PerfReader) ReceivedCount() uint64 { return r.received.Load() }

// Close removes the rings from their poller (waiting for a running
// callback), unmaps them and closes their descriptors. It must not be
// called from a callback. It is idempotent.
func (r *PerfReader) Close() error {
	r.once.Do(func() {
		if r.poller != nil {
			ids := make([]uint64, 0, len(r.rings))
			for _, ring := range r.rings {
				if ring.id != 0 {
					ids = append(ids, ring.id)
				}
			}
			r.poller.remove(ids, func() { r.closed = true })
		}
		for _, ring := range r.rings {
			unix.Munmap(ring.mem)
			unix.Close(ring.fd)
		}
	})
	return nil
}
