package events

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"
)

// ringWriter plays the kernel's side of a BPF ring buffer held in Go
// memory. Like the kernel's double mapping, it writes every byte of the
// data area at both of its places, so a record that wraps around the end
// reads contiguously from the first.
type ringWriter struct {
	t        testing.TB
	consumer []byte
	producer []byte
	data     []byte
	size     uint64
	prod     uint64
	ring     *RingBuf
}

func newRingWriter(t testing.TB, size int) *ringWriter {
	t.Helper()
	w := &ringWriter{t: t, consumer: alignedBytes(8), producer: alignedBytes(8), data: alignedBytes(2 * size), size: uint64(size)}
	var err error
	if w.ring, err = NewRingBuf(w.consumer, w.producer, w.data); err != nil {
		t.Fatal(err)
	}
	return w
}

func (w *ringWriter) put(pos uint64, b []byte) {
	for i, c := range b {
		off := (pos + uint64(i)) % w.size
		w.data[off] = c
		w.data[off+w.size] = c
	}
}

func (w *ringWriter) header(pos uint64, l uint32) {
	w.put(pos, binary.NativeEndian.AppendUint32(nil, l))
}

// reserve takes room for n bytes as bpf_ringbuf_reserve does: a busy
// header, producer_pos advanced past the record rounded to 8 bytes. It
// returns the record's position.
func (w *ringWriter) reserve(n int) uint64 {
	pos := w.prod
	w.header(pos, uint32(n)|ringbufBusyBit)
	w.prod += (uint64(n) + ringbufHeaderSize + 7) &^ 7
	binary.NativeEndian.PutUint64(w.producer, w.prod)
	return pos
}

// commit fills the record at pos with data and clears its busy bit,
// marking it discarded if asked.
func (w *ringWriter) commit(pos uint64, data []byte, discard bool) {
	w.put(pos+ringbufHeaderSize, data)
	l := uint32(len(data))
	if discard {
		l |= ringbufDiscardBit
	}
	w.header(pos, l)
}

// output is bpf_ringbuf_output: reserve and commit.
func (w *ringWriter) output(data []byte) { w.commit(w.reserve(len(data)), data, false) }

func (w *ringWriter) cons() uint64 { return binary.NativeEndian.Uint64(w.consumer) }

type ringRead struct {
	records [][]byte
	n       int
	bytes   int
	err     error
}

func (w *ringWriter) read() ringRead {
	var r ringRead
	r.n, r.bytes, r.err = w.ring.Read(func(data []byte) { r.records = append(r.records, bytes.Clone(data)) })
	return r
}

func TestNewRingBufChecksMemory(t *testing.T) {
	pos := alignedBytes(8)
	for _, tc := range []struct {
		name                     string
		consumer, producer, data []byte
	}{
		{"short consumer page", pos[:4], pos, alignedBytes(128)},
		{"misaligned producer page", pos, alignedBytes(16)[4:12], alignedBytes(128)},
		{"data not twice a power of two", pos, pos, alignedBytes(96)},
		{"odd data", pos, pos, alignedBytes(129)},
		{"no data", pos, pos, nil},
	} {
		if _, err := NewRingBuf(tc.consumer, tc.producer, tc.data); err == nil {
			t.Errorf("%s: accepted", tc.name)
		}
	}
}

// Records arrive exactly as submitted (not padded), each once, in order;
// consumer_pos moves in 8-byte steps to producer_pos.
func TestRingBufReadsExactRecords(t *testing.T) {
	w := newRingWriter(t, 4096)
	for i := 0; i < 40; i++ {
		w.output(payload(i)) // 1 to 20 bytes
	}
	r := w.read()
	if r.err != nil || r.n != 40 || r.bytes != int(w.prod) || w.cons() != w.prod {
		t.Fatalf("read %d, %d bytes, %v, consumer_pos %d; want 40, %d bytes", r.n, r.bytes, r.err, w.cons(), w.prod)
	}
	for i, rec := range r.records {
		if !bytes.Equal(rec, payload(i)) {
			t.Errorf("record %d = %v, want %v", i, rec, payload(i))
		}
	}
	w.output(nil) // an empty record is a record
	if r := w.read(); r.n != 1 || len(r.records[0]) != 0 || r.bytes != 8 {
		t.Errorf("empty record: %d records, %d bytes", r.n, r.bytes)
	}
}

// Over many laps of a small ring, records land at every offset, some
// wrapping around the end; each arrives whole.
func TestRingBufWrapsAround(t *testing.T) {
	w := newRingWriter(t, 64)
	next, wrapped := 0, 0
	for lap := 0; lap < 200; lap++ {
		start := next
		for k := 0; k < 1+lap%2; k++ {
			p := payload(next)
			if w.prod%64+ringbufHeaderSize+uint64(len(p)) > 64 {
				wrapped++
			}
			w.output(p)
			next++
		}
		r := w.read()
		if r.err != nil || r.n != next-start {
			t.Fatalf("lap %d: %d records, %v; want %d", lap, r.n, r.err, next-start)
		}
		for k, rec := range r.records {
			if !bytes.Equal(rec, payload(start+k)) {
				t.Fatalf("lap %d: record %d = %v, want %v", lap, start+k, rec, payload(start+k))
			}
		}
	}
	if wrapped == 0 {
		t.Fatal("no record wrapped around the end: the test proves nothing")
	}
	t.Logf("%d records, %d wrapped around the end", next, wrapped)
}

// A reserved record not yet committed stops the read there, also when
// records after it are committed; once it is, all arrive in order.
// consumer_pos moves past each record as it is handed on.
func TestRingBufStopsAtBusyRecord(t *testing.T) {
	w := newRingWriter(t, 1024)
	w.output([]byte("one"))
	busy := w.reserve(5)
	w.output([]byte("three"))
	var consDuring []uint64
	n, _, err := w.ring.Read(func([]byte) { consDuring = append(consDuring, w.cons()) })
	if err != nil || n != 1 || w.cons() != busy {
		t.Fatalf("read %d, %v, consumer_pos %d; want 1 record and consumer_pos at the busy one (%d)", n, err, w.cons(), busy)
	}
	if len(consDuring) != 1 || consDuring[0] != 0 {
		t.Errorf("consumer_pos during the callback: %v, want [0]", consDuring)
	}
	if r := w.read(); r.n != 0 || r.bytes != 0 {
		t.Errorf("read while busy: %d records, %d bytes", r.n, r.bytes)
	}
	w.commit(busy, []byte("two!!"), false)
	r := w.read()
	if r.err != nil || r.n != 2 || string(r.records[0]) != "two!!" || string(r.records[1]) != "three" || w.cons() != w.prod {
		t.Errorf("after commit: %q, %v, consumer_pos %d of %d", r.records, r.err, w.cons(), w.prod)
	}
}

// Discarded records are skipped: not handed on, not counted as records,
// but their space is consumed.
func TestRingBufSkipsDiscarded(t *testing.T) {
	w := newRingWriter(t, 1024)
	for i := 0; i < 10; i++ {
		w.commit(w.reserve(len(payload(i))), payload(i), i%2 == 1)
	}
	r := w.read()
	if r.err != nil || r.n != 5 || r.bytes != int(w.prod) || w.cons() != w.prod {
		t.Fatalf("read %d, %d bytes, %v; want 5 records and every byte", r.n, r.bytes, r.err)
	}
	for k, rec := range r.records {
		if !bytes.Equal(rec, payload(2*k)) {
			t.Errorf("record %d = %v, want payload %d", k, rec, 2*k)
		}
	}
}

// A header whose length reaches past producer_pos, or a producer_pos more
// than a ring ahead, ends the read with ErrCorrupt and skips to
// producer_pos; the ring stays usable.
func TestRingBufCorrupt(t *testing.T) {
	for _, tc := range []struct {
		name  string
		write func(w *ringWriter)
	}{
		{"length past producer_pos", func(w *ringWriter) { w.commit(w.reserve(8), make([]byte, 8), false); w.header(w.prod-16, 9) }},
		{"length larger than the ring", func(w *ringWriter) { pos := w.reserve(8); w.header(pos, 1<<20) }},
		{"discarded length past producer_pos", func(w *ringWriter) { pos := w.reserve(8); w.header(pos, 100|ringbufDiscardBit) }},
		{"producer_pos more than a ring ahead", func(w *ringWriter) {
			w.prod += 2048
			binary.NativeEndian.PutUint64(w.producer, w.prod)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newRingWriter(t, 1024)
			w.output([]byte("good"))
			tc.write(w)
			r := w.read()
			if !errors.Is(r.err, ErrCorrupt) || w.cons() != w.prod || r.bytes != int(w.prod) {
				t.Fatalf("read: %v, consumer_pos %d, %d bytes; want ErrCorrupt, producer_pos %d", r.err, w.cons(), r.bytes, w.prod)
			}
			if tc.name != "producer_pos more than a ring ahead" && (r.n != 1 || string(r.records[0]) != "good") {
				t.Errorf("records before the corrupt one: %q", r.records)
			}
			w.output([]byte("after"))
			if r := w.read(); r.err != nil || r.n != 1 || string(r.records[0]) != "after" {
				t.Errorf("after the corrupt record: %q, %v", r.records, r.err)
			}
		})
	}
}
