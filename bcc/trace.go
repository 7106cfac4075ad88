package bcc

import (
	"context"
	"io"
	"time"

	"github.com/gobcc/gobcc/internal/tracefs"
)

// TraceEvent is one parsed trace_pipe line: BCC's trace_fields tuple
// (task, pid, cpu, flags, ts, msg), plus the TGID, the function, the
// lost-event count and the raw line.
//
// Numeric fields a line does not carry are -1: TGID without the
// record-tgid option, PID and CPU on a lost-events line or an unparsed
// line, LostCPU on every line but a lost-events line. The string fields
// are substrings of Raw.
type TraceEvent struct {
	// Task is the command name (comm) of the task that wrote the line, as
	// the kernel remembered it: "<...>" when it did not, "<idle>" for the
	// idle task. It may contain spaces and dashes.
	Task string
	// PID is the thread ID of the task.
	PID int
	// TGID is the process ID, or -1 when the line has no TGID column.
	TGID int
	// CPU is the CPU the line was written on.
	CPU int
	// Flags is the irq-info column, such as "d..1.", or "" when the
	// noirq-info option hides it.
	Flags string
	// Timestamp is the trace clock reading; zero for counter clocks, which
	// print a bare count, not seconds.
	Timestamp time.Duration
	// TimestampRaw is the timestamp as printed, such as "1399.148350".
	TimestampRaw string
	// Function is the word before the message: "bpf_trace_printk",
	// "tracing_mark_write", an event name, or "" when the kernel printed
	// nothing there.
	Function string
	// Message is everything after "<function>: ", kept as written.
	Message string
	// Raw is the whole line without its trailing newline.
	Raw string
	// Lost is the number of events the kernel dropped, from a
	// "CPU:N [LOST n EVENTS]" line; 0 on every other line.
	Lost int
	// LostCPU is the CPU whose events were dropped, from a lost-events
	// line; -1 on every other line.
	LostCPU int
	// Parsed reports whether the line matched the trace_pipe format. When
	// false, only Raw is meaningful.
	Parsed bool
}

// ParseTraceLine takes apart one trace_pipe line (with or without its
// newline), as TraceFields does. It reports false for a line it does not
// recognize, and then returns a TraceEvent whose Raw holds the line.
func ParseTraceLine(line string) (TraceEvent, bool) {
	ev, ok := tracefs.ParseLine(line)
	return TraceEvent(ev), ok
}

// ErrPipeBusy means another process is reading trace_pipe, which admits one
// reader.
var ErrPipeBusy = tracefs.ErrPipeBusy

// TracePipe reads the kernel's trace_pipe, where bpf_trace_printk writes,
// without a BPF object: for a tool that only prints trace output. Reading
// consumes the lines: no other reader sees them. Reads are not safe for
// concurrent use, but Close may be called from any goroutine to end a
// pending read.
type TracePipe struct{ p *tracefs.Pipe }

// OpenTracePipe opens trace_pipe. The caller owns the TracePipe and must
// Close it. trace_pipe admits one reader machine-wide: if another holds it,
// the error wraps ErrPipeBusy.
func OpenTracePipe() (*TracePipe, error) {
	p, err := tracefs.OpenPipe()
	if err != nil {
		return nil, err
	}
	return &TracePipe{p: p}, nil
}

// ReadLine returns the next line without its newline (BCC's
// trace_readline), waiting until there is one or ctx ends; then it returns
// ctx.Err(). Lines already read from the kernel are returned even after
// ctx ends: no line is dropped.
func (t *TracePipe) ReadLine(ctx context.Context) (string, error) { return t.p.ReadLine(ctx) }

// ReadFields returns the next line parsed (BCC's trace_fields). A line
// that does not parse comes back with Parsed false and Raw set; the error
// is only for failures to read.
func (t *TracePipe) ReadFields(ctx context.Context) (TraceEvent, error) {
	ev, err := t.p.ReadEvent(ctx)
	return TraceEvent(ev), err
}

// Close closes trace_pipe, ending any pending read, and lets another
// reader open it.
func (t *TracePipe) Close() error { return t.p.Close() }

// tracePipeHolder opens trace_pipe on first use and closes it with the
// BPF object.
type tracePipeHolder = tracefs.LazyPipe

// TraceReadline returns the next trace_pipe line (BCC's trace_readline),
// blocking until there is one or ctx is done.
func (b *BPF) TraceReadline(ctx context.Context) (string, error) {
	p, err := b.trace.Get()
	if err != nil {
		return "", err
	}
	return p.ReadLine(ctx)
}

// TraceFields returns the next trace_pipe line parsed (BCC's trace_fields).
// Unlike BCC it returns "CPU:N [LOST n EVENTS]" lines too (Lost > 0), and a
// line that does not parse comes back with Parsed false and Raw set.
func (b *BPF) TraceFields(ctx context.Context) (TraceEvent, error) {
	p, err := b.trace.Get()
	if err != nil {
		return TraceEvent{}, err
	}
	ev, err := p.ReadEvent(ctx)
	return TraceEvent(ev), err
}

// TracePrint copies trace_pipe lines to w until ctx is done (BCC's
// trace_print). With a non-nil format, each parsed line is printed by it
// instead.
func (b *BPF) TracePrint(ctx context.Context, w io.Writer, format func(TraceEvent) string) error {
	p, err := b.trace.Get()
	if err != nil {
		return err
	}
	var f func(tracefs.Event) string
	if format != nil {
		f = func(ev tracefs.Event) string { return format(TraceEvent(ev)) }
	}
	return p.Print(ctx, w, f)
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
