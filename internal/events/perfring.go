package events

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// ErrCorrupt means a ring held a record header no kernel writes (a size
// of zero, past the written data or off the 8-byte grid). The reader skips
// everything written up to that moment, so that it cannot loop or read
// outside the ring, and reports it: those records are lost.
var ErrCorrupt = errors.New("corrupt ring record")

// Record types of the perf ring (PERF_RECORD_*).
const (
	perfRecordLost   = 2
	perfRecordSample = 9
)

// Layout of the records this package reads (include/uapi/linux/perf_event.h).
const (
	perfHeaderSize = 8  // struct perf_event_header: u32 type, u16 misc, u16 size
	perfRawOffset  = 12 // PERF_SAMPLE_RAW: u32 size after the header, then the bytes
	perfLostSize   = 24 // PERF_RECORD_LOST: header, u64 id, u64 lost
)

// PerfRing parses one perf ring in place: the metadata page's data_head
// and data_tail and the data area behind it, a power of two in size. It
// works on any memory: the kernel's mapping (PerfReader) or a plain byte
// slice in tests. It holds no resources; whoever provides the memory
// frees it, after the last Read.
type PerfRing struct {
	cpu     int
	head    *uint64 // data_head: written by the kernel
	tail    *uint64 // data_tail: written by us
	data    []byte
	mask    uint64
	scratch []byte // a record that wraps around the end, made contiguous
}

// NewPerfRing reads the ring of cpu whose metadata page is meta (at least
// a struct perf_event_mmap_page, 8-byte aligned) and whose data area is
// data (a power of two, at least 8 bytes).
func NewPerfRing(cpu int, meta, data []byte) (*PerfRing, error) {
	if len(meta) < int(unsafe.Sizeof(unix.PerfEventMmapPage{})) || uintptr(unsafe.Pointer(unsafe.SliceData(meta)))%8 != 0 {
		return nil, fmt.Errorf("perf ring metadata: %d bytes, want an 8-byte aligned perf_event_mmap_page", len(meta))
	}
	if n := len(data); n < perfHeaderSize || n&(n-1) != 0 {
		return nil, fmt.Errorf("perf ring data: %d bytes, want a power of two", n)
	}
	page := (*unix.PerfEventMmapPage)(unsafe.Pointer(&meta[0]))
	return &PerfRing{cpu: cpu, head: &page.Data_head, tail: &page.Data_tail, data: data, mask: uint64(len(data) - 1)}, nil
}

// CPU is the CPU whose records the ring holds.
func (r *PerfRing) CPU() int { return r.cpu }

// Read hands every record written so far to sample (the raw bytes of a
// PERF_RECORD_SAMPLE, valid until it returns) or lost (the count of a
// PERF_RECORD_LOST) and returns how many samples it handed on and how
// many bytes of the ring it consumed. Other record types are skipped.
//
// The kernel stores data_head after writing the records (release); Read
// loads it atomically (acquire) and hands space back by storing
// data_tail after each record, so the kernel can reuse it while later
// records are read. Records are read in place; one that wraps around the
// end of the ring is copied into a scratch buffer.
//
// A corrupt record ends the read with an error wrapping ErrCorrupt after
// moving data_tail to data_head (see ErrCorrupt); a sample or loss record
// too short for its contents is skipped alone, with the same error.
func (r *PerfRing) Read(sample func(cpu int, data []byte), lost func(n uint64)) (records, bytes int, err error) {
	head := atomic.LoadUint64(r.head)
	tail := *r.tail // only this reader writes it
	start := tail
	size := uint64(len(r.data))
	reloaded := false
	// The first bad record seen; its error is built after the loop, out
	// of the way of the common path.
	var bad badPerfRecord
	if head-tail > size {
		bad = badPerfRecord{what: badHead, head: head, tail: tail}
		tail = max(head, tail)
	}
	for tail < head {
		off := tail & r.mask
		// Records are 8-byte aligned, so the 8-byte header never wraps.
		hdr := r.data[off : off+perfHeaderSize]
		typ := binary.NativeEndian.Uint32(hdr[0:4])
		recSize := uint64(binary.NativeEndian.Uint16(hdr[6:8]))
		if recSize < perfHeaderSize || recSize%8 != 0 || recSize > head-tail {
			bad = badPerfRecord{what: badSize, size: recSize, head: head, tail: tail}
			tail = head
			break
		}
		var rec []byte
		if off+recSize <= size {
			rec = r.data[off : off+recSize]
		} else {
			if uint64(cap(r.scratch)) < recSize {
				r.scratch = make([]byte, recSize)
			}
			rec = r.scratch[:recSize]
			k := copy(rec, r.data[off:])
			copy(rec[k:], r.data[:recSize-uint64(k)])
		}
		switch typ {
		case perfRecordSample:
			if len(rec) < perfRawOffset {
				bad = badPerfRecord{what: badSample, size: recSize, tail: tail}
				break
			}
			raw := int(binary.NativeEndian.Uint32(rec[perfHeaderSize:perfRawOffset]))
			if perfRawOffset+raw > len(rec) {
				bad = badPerfRecord{what: badSample, size: recSize, raw: uint64(raw), tail: tail}
				break
			}
			sample(r.cpu, rec[perfRawOffset:perfRawOffset+raw])
			records++
		case perfRecordLost:
			if len(rec) < perfLostSize {
				bad = badPerfRecord{what: badLost, size: recSize, tail: tail}
				break
			}
			lost(binary.NativeEndian.Uint64(rec[16:24]))
		}
		tail += recSize
		atomic.StoreUint64(r.tail, tail)
		if tail == head && !reloaded {
			// Catch records written while these were read, once, so that
			// a fast producer cannot keep a poll from returning.
			head = atomic.LoadUint64(r.head)
			reloaded = true
			if head-tail > size {
				bad = badPerfRecord{what: badHead, head: head, tail: tail}
				tail = max(head, tail)
			}
		}
	}
	atomic.StoreUint64(r.tail, tail)
	if bad.what != 0 {
		err = bad.error(r.cpu, size)
	}
	return records, int(tail - start), err
}

// badPerfRecord describes what a Read found wrong.
type badPerfRecord struct {
	what                  int // one of the bad* constants; 0: nothing
	size, raw, head, tail uint64
}

const (
	badHead   = iota + 1 // data_head behind data_tail or more than the ring ahead
	badSize              // a record's size is impossible
	badSample            // a sample too short for its raw data
	badLost              // a loss record too short for its count
)

func (b badPerfRecord) error(cpu int, ring uint64) error {
	var what string
	switch b.what {
	case badHead:
		what = fmt.Sprintf("data_head %d, data_tail %d, in a %d-byte ring", b.head, b.tail, ring)
	case badSize:
		what = fmt.Sprintf("record of %d bytes at %d, %d bytes written", b.size, b.tail, b.head-b.tail)
	case badSample:
		what = fmt.Sprintf("sample record of %d bytes at %d holds %d raw bytes", b.size, b.tail, b.raw)
	case badLost:
		what = fmt.Sprintf("loss record of %d bytes at %d", b.size, b.tail)
	}
	return fmt.Errorf("%w: perf ring of CPU %d: %s", ErrCorrupt, cpu, what)
}
