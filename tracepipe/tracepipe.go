// Package tracepipe reads the kernel's trace_pipe, where
// bpf_trace_printk writes: BCC's trace_readline, trace_fields and
// trace_print without a BPF object, and the parser of its lines.
//
// A bcc.BPF object reads the same pipe through its TraceReadline,
// TraceFields and TracePrint methods; this package is for tools that only
// print trace output, or that parse lines read elsewhere.
package tracepipe

import (
	"context"
	"time"

	"github.com/gobcc/gobcc/internal/tracefs"
)

// Event is one parsed trace_pipe line: BCC's trace_fields tuple
// (task, pid, cpu, flags, ts, msg), plus the TGID, the function, the
// lost-event count and the raw line.
//
// Numeric fields a line does not carry are -1: TGID without the
// record-tgid option, PID and CPU on a lost-events line or an unparsed
// line, LostCPU on every line but a lost-events line. The string fields
// are substrings of Raw.
type Event struct {
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

// ParseLine takes apart one trace_pipe line (with or without its
// newline), as bcc.BPF.TraceFields does. It reports false for a line it
// does not recognize, and then returns an Event whose Raw holds the line.
func ParseLine(line string) (Event, bool) {
	ev, ok := tracefs.ParseLine(line)
	return Event(ev), ok
}

// ErrBusy means another process is reading trace_pipe, which admits one
// reader.
var ErrBusy = tracefs.ErrPipeBusy

// Pipe reads the kernel's trace_pipe, where bpf_trace_printk writes,
// without a BPF object: for a tool that only prints trace output. Reading
// consumes the lines: no other reader sees them. Reads are not safe for
// concurrent use, but Close may be called from any goroutine to end a
// pending read.
type Pipe struct{ p *tracefs.Pipe }

// Open opens trace_pipe. The caller owns the Pipe and must
// Close it. trace_pipe admits one reader machine-wide: if another holds it,
// the error wraps ErrBusy.
func Open() (*Pipe, error) {
	p, err := tracefs.OpenPipe()
	if err != nil {
		return nil, err
	}
	return &Pipe{p: p}, nil
}

// ReadLine returns the next line without its newline (BCC's
// trace_readline), waiting until there is one or ctx ends; then it returns
// ctx.Err(). Lines already read from the kernel are returned even after
// ctx ends: no line is dropped.
func (t *Pipe) ReadLine(ctx context.Context) (string, error) { return t.p.ReadLine(ctx) }

// ReadFields returns the next line parsed (BCC's trace_fields). A line
// that does not parse comes back with Parsed false and Raw set; the error
// is only for failures to read.
func (t *Pipe) ReadFields(ctx context.Context) (Event, error) {
	ev, err := t.p.ReadEvent(ctx)
	return Event(ev), err
}

// Close closes trace_pipe, ending any pending read, and lets another
// reader open it.
func (t *Pipe) Close() error { return t.p.Close() }

// SetBufferSize sets the ftrace ring buffer that bpf_trace_printk
// writes to, in KiB per CPU (the kernel rounds up). While only
// bpf_trace_printk uses the buffer it stays at 7 KiB per CPU, and lines are
// lost in pages of about 145 once they come faster than a reader drains
// them; a larger buffer absorbs bursts. The setting is system-wide and
// outlives the process.
func SetBufferSize(kbPerCPU int) error { return tracefs.SetBufferSizeKB(kbPerCPU) }

// BufferSize returns the ftrace buffer size in KiB per CPU, and the
// size it will expand to when a tracer is enabled.
func BufferSize() (kbPerCPU, expandedKB int, err error) { return tracefs.BufferSizeKB() }
