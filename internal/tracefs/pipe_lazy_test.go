package tracefs

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
)

// TestPipePrint prints parsed lines through the format, others raw, and
// ends with the read's error (here end of file), not silently.
func TestPipePrint(t *testing.T) {
	pipe, writer := newOSPipe(t)
	line := "           <...>-1234    [001] d..31  1399.148350: bpf_trace_printk: hello"
	if _, err := writer.WriteString(line + "\nnot a trace line\n"); err != nil {
		t.Fatal(err)
	}
	writer.Close()
	var out strings.Builder
	err := pipe.Print(context.Background(), &out, func(ev Event) string { return ev.Task + ":" + ev.Message })
	if !errors.Is(err, io.EOF) {
		t.Errorf("Print at end of file = %v, want io.EOF", err)
	}
	if want := "<...>:hello\nnot a trace line\n"; out.String() != want {
		t.Errorf("printed %q, want %q", out.String(), want)
	}
}

// TestPipePrintStopsWithContext returns nil once ctx is done.
func TestPipePrintStopsWithContext(t *testing.T) {
	pipe, _ := newOSPipe(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := pipe.Print(ctx, io.Discard, nil); err != nil {
		t.Errorf("Print with a done context = %v, want nil", err)
	}
}

// TestLazyPipeCloseUnopened closes nothing when nothing was opened.
func TestLazyPipeCloseUnopened(t *testing.T) {
	var l LazyPipe
	if err := l.Close(); err != nil {
		t.Error(err)
	}
}
