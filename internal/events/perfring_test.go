package events

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// alignedBytes returns n zero bytes starting at an 8-byte boundary, as
// mapped pages do.
func alignedBytes(n int) []byte {
	words := make([]uint64, (n+7)/8)
	return unsafe.Slice((*byte)(unsafe.Pointer(&words[0])), n)
}

// perfWriter plays the kernel's side of a perf ring held in Go memory: it
// writes records at its head, wrapping around the end byte by byte, and
// publishes data_head when told.
type perfWriter struct {
	t    testing.TB
	meta *unix.PerfEventMmapPage
	data []byte
	head uint64 // written so far, published or not
	ring *PerfRing
}

func newPerfWriter(t testing.TB, size int) *perfWriter {
	t.Helper()
	meta := alignedBytes(int(unsafe.Sizeof(unix.PerfEventMmapPage{})))
	data := alignedBytes(size)
	ring, err := NewPerfRing(3, meta, data)
	if err != nil {
		t.Fatal(err)
	}
	return &perfWriter{t: t, meta: (*unix.PerfEventMmapPage)(unsafe.Pointer(&meta[0])), data: data, ring: ring}
}

// put writes b at position pos of the endless stream.
func (w *perfWriter) put(pos uint64, b []byte) {
	for i, c := range b {
		w.data[(pos+uint64(i))%uint64(len(w.data))] = c
	}
}

// record writes a record of type typ and the given size (header
// included) with body after the header.
func (w *perfWriter) record(typ uint32, size uint16, body []byte) {
	hdr := make([]byte, 8)
	binary.NativeEndian.PutUint32(hdr[0:4], typ)
	binary.NativeEndian.PutUint16(hdr[6:8], size)
	w.put(w.head, hdr)
	w.put(w.head+8, body)
	w.head += uint64(size)
}

// sample writes a PERF_RECORD_SAMPLE of payload padded as the kernel pads
// raw data: to a multiple of 8 bytes minus the 4 of the size field.
func (w *perfWriter) sample(payload []byte) {
	raw := (len(payload)+4+7)&^7 - 4
	body := make([]byte, 4+raw)
	binary.NativeEndian.PutUint32(body[0:4], uint32(raw))
	copy(body[4:], payload)
	w.record(perfRecordSample, uint16(8+len(body)), body)
}

// lost writes a PERF_RECORD_LOST of n records.
func (w *perfWriter) lost(n uint64) {
	body := make([]byte, 16)
	binary.NativeEndian.PutUint64(body[0:8], 42) // id
	binary.NativeEndian.PutUint64(body[8:16], n)
	w.record(perfRecordLost, 24, body)
}

func (w *perfWriter) publish()     { w.meta.Data_head = w.head }
func (w *perfWriter) tail() uint64 { return w.meta.Data_tail }

// perfRead is what one Read handed on.
type perfRead struct {
	samples [][]byte // copies
	lost    []uint64
	records int
	bytes   int
	err     error
}

func (w *perfWriter) read() perfRead {
	var r perfRead
	r.records, r.bytes, r.err = w.ring.Read(func(cpu int, data []byte) {
		if cpu != 3 {
			w.t.Errorf("sample from CPU %d, want the ring's CPU 3", cpu)
		}
		r.samples = append(r.samples, bytes.Clone(data))
	}, func(n uint64) { r.lost = append(r.lost, n) })
	return r
}

// payload i is i repeated, 1 to 20 bytes long: records of 16 to 32 bytes.
func payload(i int) []byte { return bytes.Repeat([]byte{byte(i)}, 1+i%20) }

// checkSample says whether data is payload i, padded with zeros.
func checkSample(t *testing.T, data []byte, i int) {
	t.Helper()
	want := payload(i)
	if len(data) != (len(want)+4+7)&^7-4 || !bytes.Equal(data[:len(want)], want) {
		t.Errorf("sample %d = %v, want %v padded", i, data, want)
	}
}

func TestNewPerfRingChecksMemory(t *testing.T) {
	meta := alignedBytes(int(unsafe.Sizeof(unix.PerfEventMmapPage{})))
	for _, tc := range []struct {
		name       string
		meta, data []byte
	}{
		{"short metadata", meta[:100], alignedBytes(64)},
		{"misaligned metadata", alignedBytes(len(meta) + 8)[4 : len(meta)+4], alignedBytes(64)},
		{"data not a power of two", meta, alignedBytes(96)},
		{"no data", meta, nil},
	} {
		if _, err := NewPerfRing(0, tc.meta, tc.data); err == nil {
			t.Errorf("%s: accepted", tc.name)
		}
	}
}

// Records are read in order, each once, and data_tail ends at data_head.
func TestPerfRingReadsInOrder(t *testing.T) {
	w := newPerfWriter(t, 4096)
	for i := 0; i < 50; i++ {
		w.sample(payload(i))
	}
	w.publish()
	r := w.read()
	if r.err != nil || r.records != 50 || len(r.samples) != 50 || r.bytes != int(w.head) {
		t.Fatalf("read %d records (%d samples), %d bytes, %v; want 50, %d bytes", r.records, len(r.samples), r.bytes, r.err, w.head)
	}
	for i, s := range r.samples {
		checkSample(t, s, i)
	}
	if w.tail() != w.head {
		t.Errorf("data_tail %d, want data_head %d", w.tail(), w.head)
	}
	if r := w.read(); r.records != 0 || r.bytes != 0 || r.err != nil {
		t.Errorf("second read: %+v, want nothing", r)
	}
}

// Over many laps of a small ring, records land at every offset, some split
// over the end; each arrives whole and in order.
func TestPerfRingWrapsAround(t *testing.T) {
	w := newPerfWriter(t, 64)
	next, split := 0, 0
	for lap := 0; lap < 200; lap++ {
		// Two records of 16-32 bytes at most fill 64 bytes.
		start := next
		for k := 0; k < 1+lap%2; k++ {
			off := w.head % 64
			w.sample(payload(next))
			if off+uint64(8+4+len(payload(next))+7)&^7 > 64 {
				split++
			}
			next++
		}
		w.publish()
		r := w.read()
		if r.err != nil || r.records != next-start {
			t.Fatalf("lap %d: %d records, %v; want %d", lap, r.records, r.err, next-start)
		}
		for k, s := range r.samples {
			checkSample(t, s, start+k)
		}
		if w.tail() != w.head {
			t.Fatalf("lap %d: data_tail %d, data_head %d", lap, w.tail(), w.head)
		}
	}
	if split == 0 {
		t.Fatal("no record was split over the end: the test proves nothing")
	}
	t.Logf("%d records, %d split over the end", next, split)
}

// PERF_RECORD_LOST counts arrive exactly, in order with the samples, and
// are not counted as records.
func TestPerfRingLostCounts(t *testing.T) {
	w := newPerfWriter(t, 256)
	var want uint64
	for i := 0; i < 30; i++ {
		w.sample(payload(i))
		w.lost(uint64(i * 7))
		want += uint64(i * 7)
		if i%3 == 2 {
			w.publish()
			r := w.read()
			if r.err != nil || r.records != 3 || len(r.lost) != 3 {
				t.Fatalf("read %d records, %d losses, %v; want 3 and 3", r.records, len(r.lost), r.err)
			}
			for k, n := range r.lost {
				if j := i - 2 + k; n != uint64(j*7) {
					t.Errorf("loss %d = %d, want %d", j, n, j*7)
				}
				want -= n
			}
		}
	}
	if want != 0 {
		t.Errorf("%d lost records not reported", want)
	}
}

// data_tail moves past each record as it is handed on, not at the end of
// the read, so the kernel may reuse the space at once; and a read hands on
// only what data_head covers.
func TestPerfRingTailFollowsEachRecord(t *testing.T) {
	w := newPerfWriter(t, 1024)
	var ends []uint64
	for i := 0; i < 5; i++ {
		w.sample(payload(i))
		ends = append(ends, w.head)
	}
	w.publish()
	w.sample(payload(5)) // written, not yet published
	var tails []uint64
	n, _, err := w.ring.Read(func(int, []byte) { tails = append(tails, w.tail()) }, nil)
	if err != nil || n != 5 {
		t.Fatalf("read %d, %v; want the 5 published", n, err)
	}
	for i, tail := range tails {
		start := uint64(0)
		if i > 0 {
			start = ends[i-1]
		}
		if tail != start {
			t.Errorf("during record %d data_tail = %d, want %d (its start)", i, tail, start)
		}
	}
	if w.tail() != ends[4] {
		t.Errorf("data_tail %d after the read, want %d", w.tail(), ends[4])
	}
	w.publish()
	r := w.read()
	if r.records != 1 || w.tail() != w.head {
		t.Errorf("next read: %d records, data_tail %d, data_head %d", r.records, w.tail(), w.head)
	}
	checkSample(t, r.samples[0], 5)
}

// A record published while a read runs is read by the same read, once:
// a producer that keeps writing cannot keep Read from returning.
func TestPerfRingRereadsHeadOnce(t *testing.T) {
	w := newPerfWriter(t, 4096)
	w.sample(payload(0))
	w.publish()
	var got int
	n, _, err := w.ring.Read(func(int, []byte) {
		got++
		w.sample(payload(got)) // the producer writes one more each time
		w.publish()
	}, nil)
	if err != nil || n != 2 {
		t.Fatalf("read %d, %v; want the first record and the one written during it", n, err)
	}
	if r := w.read(); r.records != 1 {
		t.Errorf("the next read found %d records, want the one left", r.records)
	}
}

// A corrupt header ends the read with ErrCorrupt after the good records
// before it, skips to data_head and leaves the ring usable.
func TestPerfRingCorruptHeaders(t *testing.T) {
	for _, tc := range []struct {
		name  string
		write func(w *perfWriter)
	}{
		{"size 0", func(w *perfWriter) { w.record(perfRecordSample, 0, nil); w.head += 16 }},
		{"size below the header", func(w *perfWriter) { w.record(perfRecordSample, 4, nil); w.head += 12 }},
		{"size not a multiple of 8", func(w *perfWriter) { w.record(perfRecordSample, 20, make([]byte, 12)); w.head += 4 }},
		{"size past data_head", func(w *perfWriter) { w.record(perfRecordSample, 64, make([]byte, 8)); w.head -= 48 }},
		{"size larger than the ring", func(w *perfWriter) { w.record(perfRecordSample, 4096, nil); w.head -= 4096 - 32 }},
		{"data_head more than a ring ahead", func(w *perfWriter) { w.head += 2048 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newPerfWriter(t, 1024)
			w.sample(payload(0))
			w.sample(payload(1))
			w.publish()
			first := w.head
			if r := w.read(); r.records != 2 {
				t.Fatalf("good records: %d", r.records)
			}
			// Not at offset 0, so that a corrupt size could run off the
			// end of the ring.
			tc.write(w)
			w.publish()
			r := w.read()
			if !errors.Is(r.err, ErrCorrupt) {
				t.Fatalf("read: %v, want ErrCorrupt", r.err)
			}
			if r.records != 0 || w.tail() != w.head || r.bytes != int(w.head-first) {
				t.Errorf("read %d records, %d bytes, data_tail %d; want none, %d bytes, data_head %d", r.records, r.bytes, w.tail(), w.head-first, w.head)
			}
			w.head = (w.head + 7) &^ 7
			w.sample(payload(2))
			w.publish()
			if r := w.read(); r.err != nil || r.records != 1 {
				t.Fatalf("after the corrupt record: %d records, %v", r.records, r.err)
			} else {
				checkSample(t, r.samples[0], 2)
			}
		})
	}
}

// A data_head behind data_tail is reported and moves nothing.
func TestPerfRingHeadBehindTail(t *testing.T) {
	w := newPerfWriter(t, 1024)
	w.sample(payload(0))
	w.publish()
	w.read()
	tail := w.tail()
	w.meta.Data_head = tail - 8
	if r := w.read(); !errors.Is(r.err, ErrCorrupt) || w.tail() != tail || r.bytes != 0 {
		t.Errorf("read: %v, data_tail %d (was %d), %d bytes", r.err, w.tail(), tail, r.bytes)
	}
}

// Sample and loss records too short for their contents are skipped
// alone, with ErrCorrupt; the records around them arrive.
func TestPerfRingShortRecords(t *testing.T) {
	for _, tc := range []struct {
		name  string
		write func(w *perfWriter)
	}{
		{"raw size past the record", func(w *perfWriter) {
			body := make([]byte, 8)
			binary.NativeEndian.PutUint32(body, 100)
			w.record(perfRecordSample, 16, body)
		}},
		{"sample without a raw size", func(w *perfWriter) { w.record(perfRecordSample, 8, nil) }},
		{"short loss record", func(w *perfWriter) { w.record(perfRecordLost, 16, make([]byte, 8)) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newPerfWriter(t, 1024)
			w.sample(payload(0))
			tc.write(w)
			w.record(99, 16, make([]byte, 8)) // unknown types are skipped silently
			w.sample(payload(1))
			w.publish()
			r := w.read()
			if !errors.Is(r.err, ErrCorrupt) || r.records != 2 || len(r.lost) != 0 || w.tail() != w.head {
				t.Fatalf("read %d records, %d losses, %v, data_tail %d of %d", r.records, len(r.lost), r.err, w.tail(), w.head)
			}
			checkSample(t, r.samples[0], 0)
			checkSample(t, r.samples[1], 1)
		})
	}
}

func ExamplePerfRing() {
	meta := alignedBytes(int(unsafe.Sizeof(unix.PerfEventMmapPage{})))
	data := alignedBytes(4096)
	ring, _ := NewPerfRing(0, meta, data)
	// The kernel would write records and data_head here.
	n, _, err := ring.Read(func(cpu int, data []byte) { fmt.Println(cpu, data) }, func(uint64) {})
	fmt.Println(n, err)
	// Output: 0 <nil>
}
