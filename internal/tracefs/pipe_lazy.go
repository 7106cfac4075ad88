package tracefs

import (
	"context"
	"fmt"
	"io"
	"sync"
)

// LazyPipe opens trace_pipe on first use and closes it with its owner (a
// BPF object), so that an object that never reads trace output never
// holds the machine's one trace_pipe reader. The zero value is ready; Get
// and Close are safe for concurrent use.
type LazyPipe struct {
	mu   sync.Mutex
	pipe *Pipe
}

// Get returns the pipe, opening it on the first call (and after Close).
func (h *LazyPipe) Get() (*Pipe, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.pipe == nil {
		p, err := OpenPipe()
		if err != nil {
			return nil, err
		}
		h.pipe = p
	}
	return h.pipe, nil
}

// Close closes the pipe if it is open, ending any pending read.
func (h *LazyPipe) Close() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.pipe == nil {
		return nil
	}
	err := h.pipe.Close()
	h.pipe = nil
	return err
}

// Print copies lines to w until ctx is done, then returns nil (BCC's
// trace_print). With a non-nil format, each parsed line is printed by it
// instead; lines that do not parse are printed as they are.
func (p *Pipe) Print(ctx context.Context, w io.Writer, format func(Event) string) error {
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
