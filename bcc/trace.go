package bcc

import (
	"context"
	"fmt"
	"io"
	"sync"

	"github.com/gobcc/gobcc/internal/tracefs"
)

// TraceEvent is one parsed trace_pipe line (BCC's trace_fields tuple, plus
// the flags, the lost-event count and the raw line).
type TraceEvent = tracefs.Event

// ErrPipeBusy means another process is reading trace_pipe, which admits one
// reader.
var ErrPipeBusy = tracefs.ErrPipeBusy

// tracePipeHolder opens trace_pipe on first use and closes it with the BPF
// object.
type tracePipeHolder struct {
	mu   sync.Mutex
	pipe *tracefs.Pipe
}

func (h *tracePipeHolder) get() (*tracefs.Pipe, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.pipe == nil {
		p, err := tracefs.OpenPipe()
		if err != nil {
			return nil, err
		}
		h.pipe = p
	}
	return h.pipe, nil
}

func (h *tracePipeHolder) close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.pipe != nil {
		h.pipe.Close()
		h.pipe = nil
	}
}

// TraceReadline returns the next trace_pipe line (BCC's trace_readline),
// blocking until there is one or ctx is done.
func (b *BPF) TraceReadline(ctx context.Context) (string, error) {
	p, err := b.trace.get()
	if err != nil {
		return "", err
	}
	return p.ReadLine(ctx)
}

// TraceFields returns the next trace_pipe line parsed (BCC's trace_fields).
// Unlike BCC it returns "CPU:N [LOST n EVENTS]" lines too (Lost > 0), and a
// line that does not parse comes back with Parsed false and Raw set.
func (b *BPF) TraceFields(ctx context.Context) (TraceEvent, error) {
	p, err := b.trace.get()
	if err != nil {
		return TraceEvent{}, err
	}
	return p.ReadEvent(ctx)
}

// TracePrint copies trace_pipe lines to w until ctx is done (BCC's
// trace_print). With a non-nil format, each parsed line is printed by it
// instead.
func (b *BPF) TracePrint(ctx context.Context, w io.Writer, format func(TraceEvent) string) error {
	p, err := b.trace.get()
	if err != nil {
		return err
	}
	for {
		ev, err := p.ReadEvent(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		line := ev.Raw
		if format != nil && ev.Parsed {
			line = format(ev)
		}
		if _, err := fmt.Fprintln(w, line); err != nil {
			return err
		}
	}
}

// SetTraceBufferSize sets the ftrace ring buffer that bpf_trace_printk
// writes to, in KiB per CPU (the kernel rounds up). While only
// bpf_trace_printk uses the buffer it stays at 7 KiB per CPU, and lines are
// lost in pages of about 145 once they come faster than a reader drains
// them; a larger buffer absorbs bursts. The setting is system-wide and
// outlives the process.
func SetTraceBufferSize(kbPerCPU int) error { return tracefs.SetBufferSizeKB(kbPerCPU) }

// TraceBufferSize returns the ftrace buffer size in KiB per CPU, and the
// size it will expand to when a tracer is enabled.
func TraceBufferSize() (kbPerCPU, expandedKB int, err error) { return tracefs.BufferSizeKB() }
