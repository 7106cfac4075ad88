package bcc

import (
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
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
	var cpu time.Duration // the reading thread's, which ns/op counts with others' work
	b.ResetTimer()
	for done := 0; done < b.N; {
		n := min(chunk, b.N-done)
		b.StopTimer()
		for i := 0; i < n; i++ {
			syscall.RawSyscall(syscall.SYS_GETPID, 0, 0, 0)
		}
		b.StartTimer()
		cpu0 := threadCPUTime()
		k, err := consume(bp)
		cpu += threadCPUTime() - cpu0
		if err != nil {
			b.Fatal(err)
		}
		if k < n {
			b.Fatalf("read %d records, sent %d", k, n)
		}
		done += k
	}
	b.StopTimer()
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/op")
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

// threadCPUTime is the calling thread's CPU time (the benchmark runs
// locked to its thread, see produceFromThisThread).
func threadCPUTime() time.Duration {
	var ts unix.Timespec
	unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts)
	return time.Duration(ts.Nano())
}
