package events

import (
	"encoding/binary"
	"runtime"
	"testing"

	"golang.org/x/sys/unix"
)

// The parsers' cost per record (ns/op), on rings in Go memory filled once
// and read again and again: 48-byte perf records (32-byte payloads, as
// BPF_PERF_OUTPUT sends a 32-byte struct) and 40-byte ring buffer
// records, in 64 KiB rings (cache-resident: the parser's cost, not the
// memory's).
const benchRing = 64 << 10

func BenchmarkPerfRingRead(b *testing.B) {
	w := newPerfWriter(b, benchRing)
	p := make([]byte, 32)
	for w.head+48 <= benchRing {
		w.sample(p)
	}
	w.publish()
	perRead := int(w.head / 48)
	var got int
	sample := func(int, []byte) { got++ }
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	cpu0 := threadCPU()
	b.ResetTimer()
	for done := 0; done < b.N; done += perRead {
		w.meta.Data_tail = 0
		w.ring.Read(sample, nil)
	}
	b.StopTimer()
	b.ReportMetric(float64(threadCPU()-cpu0)/float64(b.N), "cpu-ns/op")
	if got < b.N {
		b.Fatalf("%d records read, want %d", got, b.N)
	}
}

func BenchmarkRingBufRead(b *testing.B) {
	w := newRingWriter(b, benchRing)
	p := make([]byte, 32)
	for w.prod+40 <= benchRing {
		w.output(p)
	}
	perRead := int(w.prod / 40)
	var got int
	record := func([]byte) { got++ }
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	cpu0 := threadCPU()
	b.ResetTimer()
	for done := 0; done < b.N; done += perRead {
		binary.NativeEndian.PutUint64(w.consumer, 0)
		w.ring.Read(record)
	}
	b.StopTimer()
	b.ReportMetric(float64(threadCPU()-cpu0)/float64(b.N), "cpu-ns/op")
	if got < b.N {
		b.Fatalf("%d records read, want %d", got, b.N)
	}
}

// threadCPU is the calling thread's CPU time in nanoseconds: unlike ns/op,
// it does not grow when other work on the machine takes the CPU.
func threadCPU() int64 {
	var ts unix.Timespec
	unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts)
	return ts.Nano()
}
