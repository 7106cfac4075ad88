package bcc

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/gobcc/gobcc/internal/bpfsys"
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
// Poll and Consume.
type PerfBuffer struct {
	table     *Table
	callback  func(cpu int, data []byte)
	lostCB    func(uint64)
	maxDelay  time.Duration
	noSpin    bool
	flush     time.Duration // 0: the kernel wakes a poll per record
	rings     []*perfRing
	poller    *poller
	ownPoller bool // a private poller (Events) that Close also closes
	lost      atomic.Uint64
	received  atomic.Uint64
	closeOnce sync.Once
	closeErr  error
}

// perfRing is one CPU's mmapped perf ring.
type perfRing struct {
	pb      *PerfBuffer
	cpu     int
	fd      int
	id      uint64 // poller id
	mem     []byte
	meta    *unix.PerfEventMmapPage
	data    []byte
	mask    uint64
	scratch []byte // a record that wraps around the end, made contiguous
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
func (t *Table) OpenPerfBuffer(callback func(cpu int, data []byte), opts PerfBufferOptions) (*PerfBuffer, error) {
	if callback == nil {
		return nil, fmt.Errorf("table %s: OpenPerfBuffer: nil callback", t.name)
	}
	p, err := t.b.events.poller(&t.b.events.perf)
	if err != nil {
		return nil, err
	}
	online, err := bpfsys.OnlineCPUs()
	if err != nil {
		return nil, err
	}
	return t.openPerfBuffer(callback, opts, p, false, online)
}

func (t *Table) openPerfBuffer(callback func(int, []byte), opts PerfBufferOptions, p *poller, ownPoller bool, online []int) (*PerfBuffer, error) {
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
	pb := &PerfBuffer{table: t, callback: callback, lostCB: opts.LostCallback, maxDelay: opts.MaxBatchDelay, noSpin: opts.NoSpin, poller: p, ownPoller: ownPoller}
	if opts.WakeupEvents != 1 {
		pb.flush = opts.FlushInterval
		if pb.flush == 0 {
			pb.flush = DefaultFlushInterval
		}
		pb.flush = max(pb.flush, 0)
	}
	if err := t.b.events.register(t, pb); err != nil {
		return nil, err
	}
	for _, cpu := range online {
		if cpu >= t.maxEntries {
			pb.Close()
			return nil, fmt.Errorf("table %s: CPU %d is beyond its %d entries", t.name, cpu, t.maxEntries)
		}
		r, err := openPerfRing(pb, cpu, opts.PageCount, opts.WakeupEvents)
		if err != nil {
			pb.Close()
			return nil, fmt.Errorf("table %s: %w", t.name, err)
		}
		pb.rings = append(pb.rings, r)
		// The key is the CPU number itself, not the ring's position in
		// the list: bpf_perf_event_output(BPF_F_CURRENT_CPU) indexes the
		// map with the CPU it runs on.
		key := binary.NativeEndian.AppendUint32(nil, uint32(cpu))
		val := binary.NativeEndian.AppendUint32(nil, uint32(r.fd))
		if err := bpfsys.MapUpdate(t.fd, key, val, 0); err != nil {
			pb.Close()
			return nil, fmt.Errorf("table %s: store CPU %d's ring: %w", t.name, cpu, err)
		}
		if r.id, err = p.add(r.fd, r); err != nil {
			pb.Close()
			return nil, fmt.Errorf("table %s: %w", t.name, err)
		}
	}
	return pb, nil
}

// openPerfRing opens and maps one CPU's ring. wakeup is WakeupEvents;
// 0 wakes a poll when an eighth of the ring has filled (a byte watermark,
// so the ring cannot fill before a wake-up whatever the record size).
func openPerfRing(pb *PerfBuffer, cpu, pages, wakeup int) (*perfRing, error) {
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
	if err := unix.IoctlSetInt(fd, unix.PERF_EVENT_IOC_ENABLE, 0); err != nil {
		unix.Munmap(mem)
		unix.Close(fd)
		return nil, fmt.Errorf("enable perf ring of CPU %d: %w", cpu, err)
	}
	return &perfRing{
		pb: pb, cpu: cpu, fd: fd, mem: mem,
		meta: (*unix.PerfEventMmapPage)(unsafe.Pointer(&mem[0])),
		data: mem[pageSize:],
		mask: uint64(pages*pageSize - 1),
	}, nil
}

// Record types of the perf ring (PERF_RECORD_*).
const (
	perfRecordLost   = 2
	perfRecordSample = 9
)

// consume reads every record in the ring. The kernel writes data_head
// after the records (release); we read it with an atomic load (acquire)
// and hand space back by storing data_tail after each record, so the
// kernel can reuse it while later records are still being read.
func (r *perfRing) consume() (records, bytes int) {
	n := 0
	head := atomic.LoadUint64(&r.meta.Data_head)
	tail := r.meta.Data_tail // only this reader writes it
	start := tail
	size := uint64(len(r.data))
	reloaded := false
	for tail < head {
		off := tail & r.mask
		// Records are 8-byte aligned, so the 8-byte header never wraps.
		hdr := r.data[off : off+8]
		typ := binary.NativeEndian.Uint32(hdr[0:4])
		recSize := uint64(binary.NativeEndian.Uint16(hdr[6:8]))
		if recSize < 8 || recSize > head-tail {
			// A corrupt header: drop everything rather than loop.
			tail = head
			break
		}
		var rec []byte
		if off+recSize <= size {
			rec = r.data[off : off+recSize]
		} else {
			if cap(r.scratch) < int(recSize) {
				r.scratch = make([]byte, recSize)
			}
			rec = r.scratch[:recSize]
			k := copy(rec, r.data[off:])
			copy(rec[k:], r.data[:recSize-uint64(k)])
		}
		switch typ {
		case perfRecordSample:
			if len(rec) >= 12 {
				raw := int(binary.NativeEndian.Uint32(rec[8:12]))
				if 12+raw <= len(rec) {
					r.pb.callback(r.cpu, rec[12:12+raw])
					n++
				}
			}
		case perfRecordLost:
			if len(rec) >= 24 {
				lost := binary.NativeEndian.Uint64(rec[16:24])
				r.pb.lost.Add(lost)
				if r.pb.lostCB != nil {
					r.pb.lostCB(lost)
				}
			}
		}
		tail += recSize
		atomic.StoreUint64(&r.meta.Data_tail, tail)
		if tail == head && !reloaded {
			// Catch records written while these were read, once, so that
			// a fast producer cannot keep a poll from returning.
			head = atomic.LoadUint64(&r.meta.Data_head)
			reloaded = true
		}
	}
	atomic.StoreUint64(&r.meta.Data_tail, tail)
	r.pb.received.Add(uint64(n))
	return n, int(tail - start)
}

func (r *perfRing) pacing() sourcePacing {
	return sourcePacing{capacity: len(r.data), maxDelay: batchLimit(len(r.data), r.pb.maxDelay), flush: r.pb.flush, noSpin: r.pb.noSpin}
}

func (r *perfRing) close() {
	if r.mem != nil {
		unix.Munmap(r.mem)
		r.mem = nil
	}
	if r.fd >= 0 {
		unix.Close(r.fd)
		r.fd = -1
	}
}

// CPUs lists the CPUs that have a ring, ascending.
func (pb *PerfBuffer) CPUs() []int {
	out := make([]int, len(pb.rings))
	for i, r := range pb.rings {
		out[i] = r.cpu
	}
	return out
}

// LostCount is the number of records the kernel dropped so far because a
// ring was full, as reported in its PERF_RECORD_LOST records.
func (pb *PerfBuffer) LostCount() uint64 { return pb.lost.Load() }

// ReceivedCount is the number of records handed to the callback so far.
func (pb *PerfBuffer) ReceivedCount() uint64 { return pb.received.Load() }

// Poll waits up to timeout (negative: no limit) for records in this
// buffer's rings and reads them; it returns how many it read. The
// BPF-wide PerfBufferPoll is the usual way; Poll also reads the object's
// other perf buffers, which share one wait.
func (pb *PerfBuffer) Poll(timeout time.Duration) (int, error) {
	n, err := pb.poller.poll(timeout)
	if errors.Is(err, errWoken) {
		err = nil
	}
	return n, err
}

// Consume reads every record in this buffer's rings without waiting.
func (pb *PerfBuffer) Consume() int {
	n := 0
	pb.poller.dispatch.Lock()
	defer pb.poller.dispatch.Unlock()
	for _, r := range pb.rings {
		if r.mem != nil {
			records, _ := r.consume()
			n += records
		}
	}
	return n
}

// Close stops reading, removes the rings from the table and frees them.
// It returns after any running callback has finished; it must not be
// called from a callback. It is idempotent.
func (pb *PerfBuffer) Close() error {
	pb.closeOnce.Do(func() {
		var errs []error
		for _, r := range pb.rings {
			if r.id != 0 {
				pb.poller.remove(r.fd, r.id)
			}
			// The map holds a reference to the perf event: drop it so the
			// ring is really freed and the program's output fails cleanly.
			if fd := pb.table.fdIfOpen(); fd >= 0 {
				key := binary.NativeEndian.AppendUint32(nil, uint32(r.cpu))
				if err := bpfsys.MapDelete(fd, key); err != nil && !errors.Is(err, ErrKeyNotExist) {
					errs = append(errs, fmt.Errorf("table %s: remove CPU %d's ring: %w", pb.table.name, r.cpu, err))
				}
			}
			r.close()
		}
		if pb.ownPoller {
			pb.poller.close()
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
