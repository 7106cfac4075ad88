package bcc

import (
	"syscall"
	"testing"
)

// benchmarkConsume measures reading records already in the rings: per
// iteration, one record read and handed to a callback (its production,
// a getpid through the tracepoint program, is not timed). The rings hold
// 1 MiB, so a chunk of 8192 records (48 bytes in a perf ring, 40 in a
// ring buffer) never overflows them.
func benchmarkConsume(b *testing.B, src string, open func(*Table, func()) error, consume func(*BPF) (int, error)) {
	bp := newEventBPF(b, src)
	var got int
	if err := open(mustTable(b, bp, "events"), func() { got++ }); err != nil {
		b.Fatal(err)
	}
	unlock := produceFromThisThread(b, bp)
	defer unlock()
	const chunk = 8192
	b.ResetTimer()
	for done := 0; done < b.N; {
		n := min(chunk, b.N-done)
		b.StopTimer()
		for i := 0; i < n; i++ {
			syscall.RawSyscall(syscall.SYS_GETPID, 0, 0, 0)
		}
		b.StartTimer()
		k, err := consume(bp)
		if err != nil {
			b.Fatal(err)
		}
		if k < n {
			b.Fatalf("read %d records, sent %d", k, n)
		}
		done += k
	}
	b.StopTimer()
	if got < b.N {
		b.Fatalf("%d callbacks for %d records", got, b.N)
	}
}

func BenchmarkPerfBufferConsume(b *testing.B) {
	benchmarkConsume(b, eventProg, func(t *Table, cb func()) error {
		_, err := t.OpenPerfBuffer(func(int, []byte) { cb() }, PerfBufferOptions{PageCount: 256})
		return err
	}, (*BPF).PerfBufferConsume)
}

func BenchmarkRingBufferConsume(b *testing.B) {
	benchmarkConsume(b, ringEventProg, func(t *Table, cb func()) error {
		_, err := t.OpenRingBuffer(func([]byte) { cb() })
		return err
	}, (*BPF).RingBufferConsume)
}
