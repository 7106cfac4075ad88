package benchcmp

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/gobcc/gobcc/internal/tracefs"
)

// The trace_pipe row: lines per second parsed by gobcc's TraceFields and by
// BCC's trace_fields, draining the same number of pre-written lines from a
// private tracefs instance.

func init() {
	Register(Measurement{
		Name:      "trace/fields",
		Group:     "trace",
		Title:     "trace_pipe lines/s parsed (TraceFields vs trace_fields), pre-filled buffer",
		Unit:      PerSecond,
		Gobcc:     measureTraceFields,
		Python:    "trace_fields.py",
		Args:      map[string]string{"n": "100000"},
		QuickArgs: map[string]string{"n": "1000"},
		Note: "Each side creates a private tracefs instance (instances/gobcc_bench_PID, buffer sized for n lines), writes n markers " +
			"to its trace_marker (untimed), then times reading and parsing n lines from its trace_pipe: gobcc with the tracefs Pipe's ReadEvent, " +
			"which is all TraceFields does after opening the pipe; BCC with its own trace_fields() after pointing b.tracefile at the instance's " +
			"trace_pipe, opened as trace_open opens the global one. The global trace buffer is untouched, and both sides read the same kernel text.",
	})
}

// traceMessage is the n-th marker the trace row writes, as
// scripts/bench/trace_fields.py's.
func traceMessage(i int) string { return fmt.Sprintf("gobcc-bench-%08d", i) }

// ErrTraceLines means the trace row read other lines than it wrote.
var ErrTraceLines = errors.New("trace_pipe returned unexpected lines")

// newTraceInstance creates a private tracefs instance with per-CPU buffers
// large enough for n marker lines; remove deletes it.
func newTraceInstance(n int) (dir string, remove func() error, err error) {
	root, err := tracefsDir()
	if err != nil {
		return "", nil, err
	}
	dir = filepath.Join(root, "instances", "gobcc_bench_"+strconv.Itoa(os.Getpid()))
	if err := os.Mkdir(dir, 0o700); err != nil {
		return "", nil, fmt.Errorf("create tracefs instance: %w", err)
	}
	remove = func() error { return os.Remove(dir) }
	// A marker line takes well under 128 bytes of ring buffer.
	kb := max(1408, n/8+1024)
	if err := os.WriteFile(filepath.Join(dir, "buffer_size_kb"), []byte(strconv.Itoa(kb)), 0); err != nil {
		remove()
		return "", nil, fmt.Errorf("size the instance buffer: %w", err)
	}
	return dir, remove, nil
}

func writeTraceMarkers(path string, n int) error {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	for i := range n {
		if _, err := f.WriteString(traceMessage(i)); err != nil {
			f.Close()
			return err
		}
	}
	return f.Close()
}

func measureTraceFields(p Params) (float64, error) {
	n, err := p.Int("n", 100000)
	if err != nil {
		return 0, err
	}
	dir, remove, err := newTraceInstance(n)
	if err != nil {
		return 0, err
	}
	defer remove()
	if err := writeTraceMarkers(filepath.Join(dir, "trace_marker"), n); err != nil {
		return 0, err
	}
	pipe, err := tracefs.OpenPipeAt(filepath.Join(dir, "trace_pipe"))
	if err != nil {
		return 0, err
	}
	defer pipe.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var last tracefs.Event
	start := time.Now()
	for range n {
		if last, err = pipe.ReadEvent(ctx); err != nil {
			return 0, err
		}
	}
	elapsed := time.Since(start)
	if !last.Parsed || last.Lost > 0 || last.Message != traceMessage(n-1) {
		return 0, fmt.Errorf("%w: last line %q, want message %q", ErrTraceLines, last.Raw, traceMessage(n-1))
	}
	if err := pipe.Close(); err != nil {
		return 0, err
	}
	return float64(n) / elapsed.Seconds(), remove()
}
