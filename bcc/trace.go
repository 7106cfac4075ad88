package bcc

import (
	"context"
	"io"

	"github.com/gobcc/gobcc/internal/tracefs"
	"github.com/gobcc/gobcc/tracepipe"
)

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
func (b *BPF) TraceFields(ctx context.Context) (tracepipe.Event, error) {
	p, err := b.trace.Get()
	if err != nil {
		return tracepipe.Event{}, err
	}
	ev, err := p.ReadEvent(ctx)
	return tracepipe.Event(ev), err
}

// TracePrint copies trace_pipe lines to w until ctx is done (BCC's
// trace_print). With a non-nil format, each parsed line is printed by it
// instead.
func (b *BPF) TracePrint(ctx context.Context, w io.Writer, format func(tracepipe.Event) string) error {
	p, err := b.trace.Get()
	if err != nil {
		return err
	}
	var f func(tracefs.Event) string
	if format != nil {
		f = func(ev tracefs.Event) string { return format(tracepipe.Event(ev)) }
	}
	return p.Print(ctx, w, f)
}
