package tracefs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/gobcc/gobcc/internal/testutil"
)

// hangGuard bounds a test that would otherwise hang on a kernel that never
// delivers; it is not a speed requirement.
const hangGuard = 30 * time.Second

// openGlobalPipe opens the machine's trace_pipe, waiting while another
// reader (another test run, a BCC tool) holds it.
func openGlobalPipe(tb testing.TB) *Pipe {
	tb.Helper()
	requireTracefs(tb)
	giveUp := time.Now().Add(hangGuard)
	for {
		pipe, err := OpenPipe()
		if err == nil {
			tb.Cleanup(func() { _ = pipe.Close() })
			return pipe
		}
		if !errors.Is(err, ErrPipeBusy) || time.Now().After(giveUp) {
			tb.Fatalf("OpenPipe: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// openInstancePipe opens the trace_pipe of a fresh tracefs instance and
// returns it with the instance's trace_marker path.
func openInstancePipe(tb testing.TB) (pipe *Pipe, markerPath string) {
	tb.Helper()
	instance := newInstance(tb)
	pipe, err := openPipeAt(filepath.Join(instance, "trace_pipe"))
	if err != nil {
		tb.Fatal(err)
	}
	// Registered after newInstance's cleanup, so it runs first: the
	// instance cannot be removed while its pipe is open.
	tb.Cleanup(func() { _ = pipe.Close() })
	return pipe, filepath.Join(instance, "trace_marker")
}

// writeMarkers writes each message to trace_marker in one write, from one
// locked OS thread, and returns that thread's ID.
func writeMarkers(tb testing.TB, markerPath string, messages []string) (tid int) {
	tb.Helper()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	marker, err := os.OpenFile(markerPath, os.O_WRONLY, 0)
	if err != nil {
		tb.Fatalf("open trace_marker: %v", err)
	}
	defer marker.Close()
	for _, message := range messages {
		if _, err := marker.WriteString(message); err != nil {
			tb.Fatalf("write trace_marker: %v", err)
		}
	}
	return unix.Gettid()
}

func uniqueMarkers(prefix string, n int) []string {
	nonce := time.Now().UnixNano()
	messages := make([]string, n)
	for i := range messages {
		messages[i] = fmt.Sprintf("gobcc-tracefs-%s-%d-%d-%03d", prefix, os.Getpid(), nonce, i)
	}
	return messages
}

func TestPipeReadsMarkers(t *testing.T) {
	pipe := openGlobalPipe(t)

	_, err := OpenPipe()
	if !errors.Is(err, ErrPipeBusy) || !errors.Is(err, unix.EBUSY) {
		t.Errorf("second OpenPipe error = %v, want ErrPipeBusy wrapping EBUSY", err)
	} else if !strings.HasPrefix(err.Error(), "another process is reading trace_pipe: ") {
		t.Errorf("second OpenPipe error %q does not start with the explanation", err)
	}

	dir, err := Dir()
	if err != nil {
		t.Fatal(err)
	}
	markers := uniqueMarkers("global", 20)
	tid := writeMarkers(t, filepath.Join(dir, "trace_marker"), markers)
	comm, err := os.ReadFile(fmt.Sprintf("/proc/self/task/%d/comm", tid))
	if err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), hangGuard)
	defer cancel()
	// The global pipe carries everybody's lines: skip those that are not
	// ours, and expect ours in the order written.
	var previous time.Duration
	for next := 0; next < len(markers); {
		ev, err := pipe.ReadEvent(ctx)
		if err != nil {
			t.Fatalf("ReadEvent after %d of %d markers: %v", next, len(markers), err)
		}
		if ev.Lost > 0 {
			t.Fatalf("kernel lost %d events on CPU %d before marker %d", ev.Lost, ev.LostCPU, next)
		}
		if !strings.Contains(ev.Raw, "gobcc-tracefs-global-"+fmt.Sprint(os.Getpid())) {
			continue
		}
		if !ev.Parsed || ev.Message != markers[next] || ev.Function != "tracing_mark_write" {
			t.Fatalf("marker %d: got %+v, want tracing_mark_write: %s", next, ev, markers[next])
		}
		if ev.PID != tid {
			t.Errorf("marker %d from %s-%d, want %s-%d", next, ev.Task, ev.PID, strings.TrimSpace(string(comm)), tid)
		}
		testutil.CheckTraceTask(t, fmt.Sprintf("marker %d", next), ev.Task, strings.TrimSpace(string(comm)))
		if ev.CPU < 0 || ev.CPU >= runtime.NumCPU() || ev.Timestamp < previous || ev.Timestamp == 0 {
			t.Errorf("marker %d: cpu %d, timestamp %v after %v", next, ev.CPU, ev.Timestamp, previous)
		}
		previous = ev.Timestamp
		next++
	}
}

func TestOpenPipeBusy(t *testing.T) {
	instance := newInstance(t)
	first, err := openPipeAt(filepath.Join(instance, "trace_pipe"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = openPipeAt(filepath.Join(instance, "trace_pipe"))
	if !errors.Is(err, ErrPipeBusy) {
		t.Errorf("second open error = %v, want ErrPipeBusy", err)
	}
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	// Once the first reader is gone, the pipe opens again.
	again, err := openPipeAt(filepath.Join(instance, "trace_pipe"))
	if err != nil {
		t.Fatalf("open after Close: %v", err)
	}
	if err := again.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestInstancePipeReadsMarkers(t *testing.T) {
	pipe, markerPath := openInstancePipe(t)
	markers := uniqueMarkers("instance", 50)
	tid := writeMarkers(t, markerPath, markers)
	ctx, cancel := context.WithTimeout(context.Background(), hangGuard)
	defer cancel()
	// A private buffer holds only our lines, so every line must be the next
	// marker.
	for i, want := range markers {
		ev, err := pipe.ReadEvent(ctx)
		if err != nil {
			t.Fatalf("ReadEvent %d: %v", i, err)
		}
		if !ev.Parsed || ev.Message != want || ev.PID != tid {
			t.Fatalf("line %d = %+v, want marker %q from %d", i, ev, want, tid)
		}
	}
}

func TestReadLineContextCancel(t *testing.T) {
	// A fresh instance receives no lines, so the read can only end by
	// cancellation.
	pipe, markerPath := openInstancePipe(t)
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		time.Sleep(50 * time.Millisecond)
		cancel()
	}()
	line, err := pipe.ReadLine(ctx)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("ReadLine = %q, %v; want context.Canceled", line, err)
	}

	deadlineCtx, cancelDeadline := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancelDeadline()
	if _, err := pipe.ReadLine(deadlineCtx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("ReadLine with deadline: %v, want context.DeadlineExceeded", err)
	}

	// The cancelled reads leave the Pipe usable.
	markers := uniqueMarkers("after-cancel", 1)
	writeMarkers(t, markerPath, markers)
	ctx, cancel = context.WithTimeout(context.Background(), hangGuard)
	defer cancel()
	ev, err := pipe.ReadEvent(ctx)
	if err != nil || ev.Message != markers[0] {
		t.Fatalf("ReadEvent after cancellations = %+v, %v; want marker %q", ev, err, markers[0])
	}
}

func TestReadLineCancelledContext(t *testing.T) {
	pipe, _ := openInstancePipe(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := pipe.ReadLine(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("ReadLine(cancelled context) error = %v, want context.Canceled", err)
	}
}

func TestCloseUnblocksRead(t *testing.T) {
	pipe, _ := openInstancePipe(t)
	result := make(chan error, 1)
	go func() {
		_, err := pipe.ReadLine(context.Background())
		result <- err
	}()
	time.Sleep(50 * time.Millisecond)
	if err := pipe.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-result:
		if !errors.Is(err, os.ErrClosed) {
			t.Fatalf("ReadLine after Close = %v, want os.ErrClosed", err)
		}
	case <-time.After(hangGuard):
		t.Fatal("Close did not unblock ReadLine")
	}
	if _, err := pipe.ReadLine(context.Background()); !errors.Is(err, os.ErrClosed) {
		t.Fatalf("ReadLine on a closed Pipe = %v, want os.ErrClosed", err)
	}
}

func TestNoGoroutineLeak(t *testing.T) {
	before := runtime.NumGoroutine()
	func() {
		pipe, markerPath := openInstancePipe(t)
		for range 20 {
			ctx, cancel := context.WithTimeout(context.Background(), time.Millisecond)
			_, err := pipe.ReadLine(ctx)
			cancel()
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("ReadLine = %v, want context.DeadlineExceeded", err)
			}
		}
		writeMarkers(t, markerPath, uniqueMarkers("leak", 5))
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		for range 5 {
			if _, err := pipe.ReadLine(ctx); err != nil {
				t.Fatal(err)
			}
		}
		done := make(chan struct{})
		go func() {
			defer close(done)
			_, _ = pipe.ReadLine(ctx)
		}()
		time.Sleep(20 * time.Millisecond)
		if err := pipe.Close(); err != nil {
			t.Fatal(err)
		}
		<-done
	}()
	// Goroutines take a moment to be counted as gone once they return.
	giveUp := time.Now().Add(hangGuard)
	for runtime.NumGoroutine() > before && time.Now().Before(giveUp) {
		time.Sleep(10 * time.Millisecond)
	}
	if after := runtime.NumGoroutine(); after > before {
		t.Errorf("%d goroutines before, %d after", before, after)
	}
}

// newOSPipe returns a Pipe reading from an os.Pipe, which the runtime
// poller also handles, to test buffering without the kernel's trace format
// limits.
func newOSPipe(t *testing.T) (*Pipe, *os.File) {
	t.Helper()
	reader, writer, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = reader.Close(); _ = writer.Close() })
	return &Pipe{file: reader, buf: make([]byte, 16)}, writer
}

func TestReadLineSplitAndLongLines(t *testing.T) {
	pipe, writer := newOSPipe(t)
	long := strings.Repeat("x", 1000)
	go func() {
		for _, chunk := range []string{"first", " line\nsec", "ond\n", long[:300], long[300:] + "\n", "\n", "last\n"} {
			_, _ = writer.WriteString(chunk)
			time.Sleep(time.Millisecond)
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), hangGuard)
	defer cancel()
	for _, want := range []string{"first line", "second", long, "", "last"} {
		got, err := pipe.ReadLine(ctx)
		if err != nil || got != want {
			t.Fatalf("ReadLine = %q (%d bytes), %v; want %d bytes", got, len(got), err, len(want))
		}
	}
}

func TestReadEventUnparsedLine(t *testing.T) {
	pipe, writer := newOSPipe(t)
	if _, err := writer.WriteString("not a trace line\nCPU:1 [LOST 145 EVENTS]\n"); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	ev, err := pipe.ReadEvent(ctx)
	if err != nil || ev.Parsed || ev.Raw != "not a trace line" {
		t.Errorf("ReadEvent(garbage) = %+v, %v; want unparsed event with Raw", ev, err)
	}
	ev, err = pipe.ReadEvent(ctx)
	if err != nil || !ev.Parsed || ev.Lost != 145 || ev.LostCPU != 1 {
		t.Errorf("ReadEvent(lost line) = %+v, %v", ev, err)
	}
}

func TestReadLineEOF(t *testing.T) {
	pipe, writer := newOSPipe(t)
	if err := writer.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := pipe.ReadLine(context.Background()); !errors.Is(err, io.EOF) {
		t.Errorf("ReadLine at end of file = %v, want io.EOF", err)
	}
}

// BenchmarkPipeDrain measures reading and parsing alone: each round fills a
// private instance buffer through trace_marker with the timer stopped, then
// drains it with ReadEvent.
func BenchmarkPipeDrain(b *testing.B) {
	pipe, markerPath := openInstancePipe(b)
	const round = 5000
	messages := uniqueMarkers("drain", round)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for read := 0; read < b.N; {
		b.StopTimer()
		n := min(round, b.N-read)
		writeMarkers(b, markerPath, messages[:n])
		b.StartTimer()
		for range n {
			ev, err := pipe.ReadEvent(ctx)
			if err != nil || !ev.Parsed || ev.Lost > 0 {
				b.Fatalf("ReadEvent = %+v, %v", ev, err)
			}
		}
		read += n
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lines/s")
}

// BenchmarkPipeMarkers measures a real trace_pipe while a goroutine writes
// b.N markers to trace_marker as fast as it can. "global" is the machine's
// buffer: at its unexpanded 7 KiB per CPU the writer outruns the reader's
// wake-ups and the kernel drops lines (lost/op is the fraction of markers
// lost). "instance" is a private buffer of the default expanded size.
func BenchmarkPipeMarkers(b *testing.B) {
	b.Run("global", func(b *testing.B) {
		pipe := openGlobalPipe(b)
		dir, err := Dir()
		if err != nil {
			b.Fatal(err)
		}
		benchmarkMarkers(b, pipe, filepath.Join(dir, "trace_marker"))
	})
	b.Run("instance", func(b *testing.B) {
		pipe, markerPath := openInstancePipe(b)
		benchmarkMarkers(b, pipe, markerPath)
	})
}

func benchmarkMarkers(b *testing.B, pipe *Pipe, markerPath string) {
	prefix := fmt.Sprintf("gobcc-tracefs-bench-%d-%d-", os.Getpid(), time.Now().UnixNano())
	endMarker := prefix + "end"
	stop := make(chan struct{})
	writerDone := make(chan error, 1)
	b.ResetTimer()
	go func() {
		writerDone <- func() error {
			marker, err := os.OpenFile(markerPath, os.O_WRONLY, 0)
			if err != nil {
				return err
			}
			defer marker.Close()
			line := []byte(prefix)
			for i := range b.N {
				line = fmt.Appendf(line[:len(prefix)], "%d", i)
				if _, err := marker.Write(line); err != nil {
					return err
				}
			}
			// The end marker may itself be lost: repeat it until the reader
			// has seen it.
			for {
				if _, err := marker.WriteString(endMarker); err != nil {
					return err
				}
				select {
				case <-stop:
					return nil
				case <-time.After(time.Millisecond):
				}
			}
		}()
	}()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	received, lost := 0, 0
	for {
		ev, err := pipe.ReadEvent(ctx)
		if err != nil {
			b.Fatal(err)
		}
		lost += ev.Lost
		if !strings.HasPrefix(ev.Message, prefix) {
			continue
		}
		if ev.Message == endMarker {
			break
		}
		received++
	}
	b.StopTimer()
	close(stop)
	if err := <-writerDone; err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(received)/b.Elapsed().Seconds(), "lines/s")
	b.ReportMetric(float64(lost)/float64(b.N), "lost/op")
}
