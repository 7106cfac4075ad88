package tracepipe_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/gobcc/gobcc/internal/testutil"
	"github.com/gobcc/gobcc/tracepipe"
)

func TestParseLine(t *testing.T) {
	ev, ok := tracepipe.ParseLine("           <...>-1234    [001] d..1.  1399.148350: bpf_trace_printk: hello world\n")
	if !ok || ev.PID != 1234 || ev.CPU != 1 || ev.Function != "bpf_trace_printk" || ev.Message != "hello world" ||
		ev.Timestamp != 1399148350*time.Microsecond || ev.Task != "<...>" {
		t.Fatalf("ParseLine = %+v, %v", ev, ok)
	}
	if ev, ok := tracepipe.ParseLine("garbage"); ok || ev.Raw != "garbage" {
		t.Fatalf("ParseLine(garbage) = %+v, %v", ev, ok)
	}
}

// TestPipeReadsMarker writes to trace_marker and reads the line back.
func TestPipeReadsMarker(t *testing.T) {
	testutil.RequireRoot(t)
	p, err := tracepipe.Open()
	if err != nil {
		testutil.RequireKernel(t, "trace_pipe: %v", err)
	}
	defer p.Close()
	if _, err := tracepipe.Open(); !errors.Is(err, tracepipe.ErrBusy) {
		t.Errorf("second Open = %v, want ErrBusy", err)
	}
	marker := fmt.Sprintf("gobcc-tracepipe-test-%d", os.Getpid())
	if err := os.WriteFile("/sys/kernel/tracing/trace_marker", []byte(marker), 0); err != nil {
		testutil.RequireKernel(t, "trace_marker: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for {
		ev, err := p.ReadFields(ctx)
		if err != nil {
			t.Fatalf("no line with %q: %v", marker, err)
		}
		if ev.Message == marker {
			if ev.PID != os.Getpid() && ev.TGID != -1 && ev.TGID != os.Getpid() {
				t.Errorf("marker line's PID %d, TGID %d; this process is %d", ev.PID, ev.TGID, os.Getpid())
			}
			return
		}
	}
}

func ExampleParseLine() {
	ev, _ := tracepipe.ParseLine("bash-42 [000] ..... 10.000001: bpf_trace_printk: hi")
	fmt.Println(ev.Task, ev.PID, ev.CPU, ev.Message)
	// Output: bash 42 0 hi
}
