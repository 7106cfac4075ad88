package tracefs

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// ErrPipeBusy means another reader holds trace_pipe open; the kernel admits
// one at a time.
var ErrPipeBusy = errors.New("another process is reading trace_pipe")

// pipeBufferSize holds many kernel reads' worth of lines: one read returns
// at most a page of text, about 50 lines.
const pipeBufferSize = 64 << 10

// Pipe reads trace_pipe line by line. Reading consumes the lines: no other
// reader sees them. A Pipe is not safe for concurrent reads, but Close may
// be called from any goroutine to end a pending read.
type Pipe struct {
	file *os.File
	// buf[start:end] holds read but not yet returned bytes.
	buf        []byte
	start, end int
}

// OpenPipe opens trace_pipe for reading. If another reader holds it, the
// error wraps ErrPipeBusy.
func OpenPipe() (*Pipe, error) {
	dir, err := Dir()
	if err != nil {
		return nil, err
	}
	return openPipeAt(filepath.Join(dir, "trace_pipe"))
}

func openPipeAt(path string) (*Pipe, error) {
	file, err := os.Open(path)
	if errors.Is(err, syscall.EBUSY) {
		return nil, fmt.Errorf("%w: it admits one reader at a time (find the reader with: fuser -v %s; "+
			"it may also be another Pipe in this process): %w", ErrPipeBusy, path, err)
	}
	if err != nil {
		return nil, fmt.Errorf("open trace_pipe: %w", err)
	}
	// trace_pipe supports poll, so Go's runtime poller takes it and read
	// deadlines work; cancellation and Close rely on that. Should a kernel
	// refuse, fail now rather than hand out reads that cannot be stopped.
	if err := file.SetReadDeadline(time.Time{}); err != nil {
		_ = file.Close()
		return nil, fmt.Errorf("open trace_pipe: %s cannot be polled, so reads could not be cancelled: %w", path, err)
	}
	return &Pipe{file: file, buf: make([]byte, pipeBufferSize)}, nil
}

// ReadLine returns the next trace_pipe line without its newline, waiting
// for one if none is buffered. It returns ctx.Err() when ctx ends before a
// line arrives, and an error wrapping os.ErrClosed once the Pipe is closed.
// Lines already read from the kernel are returned even after ctx ends: ctx
// only bounds the wait, and no line is dropped.
func (p *Pipe) ReadLine(ctx context.Context) (string, error) {
	line, err := p.readLine(ctx)
	if err != nil {
		return "", err
	}
	return string(line), nil
}

// ReadEvent reads the next line and parses it with ParseLine. A line that
// does not parse is still returned, with Parsed false and Raw set; the error
// is only for failures to read.
func (p *Pipe) ReadEvent(ctx context.Context) (Event, error) {
	line, err := p.ReadLine(ctx)
	if err != nil {
		return Event{}, err
	}
	ev, _ := ParseLine(line)
	return ev, nil
}

// Close closes trace_pipe, ending any pending read, and lets another reader
// open it.
func (p *Pipe) Close() error {
	if err := p.file.Close(); err != nil {
		return fmt.Errorf("close trace_pipe: %w", err)
	}
	return nil
}

// readLine returns the next line as a slice of p.buf, valid until the next
// read.
func (p *Pipe) readLine(ctx context.Context) ([]byte, error) {
	for {
		if i := bytes.IndexByte(p.buf[p.start:p.end], '\n'); i >= 0 {
			line := p.buf[p.start : p.start+i]
			p.start += i + 1
			return line, nil
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if err := p.fill(ctx); err != nil {
			return nil, err
		}
	}
}

// fill reads once from trace_pipe into p.buf, keeping any partial line.
func (p *Pipe) fill(ctx context.Context) error {
	if p.start > 0 {
		p.end = copy(p.buf, p.buf[p.start:p.end])
		p.start = 0
	}
	if p.end == len(p.buf) {
		// A line longer than the buffer: grow rather than split it.
		p.buf = append(p.buf, make([]byte, len(p.buf))...)
	}

	stopCancel, cancelled := p.cancelReadWhenDone(ctx)
	n, err := p.file.Read(p.buf[p.end:])
	p.end += n
	if !stopCancel() {
		// The cancel callback started: wait for it, so that its deadline
		// cannot land after the reset below and break the next read.
		<-cancelled
		_ = p.file.SetReadDeadline(time.Time{})
	}

	switch {
	case err == nil:
		return nil
	case errors.Is(err, os.ErrDeadlineExceeded) && ctx.Err() != nil:
		return ctx.Err()
	case errors.Is(err, io.EOF):
		// The fd is non-blocking, where the kernel reports "no data" as
		// EAGAIN, so EOF means the file really ended; retrying would spin.
		return fmt.Errorf("read trace_pipe: unexpected end of file: %w", err)
	default:
		return fmt.Errorf("read trace_pipe: %w", err)
	}
}

// cancelReadWhenDone arranges for a pending Read to return when ctx ends,
// by moving the read deadline into the past. stop reports false if the
// callback already started, which then closes cancelled when done.
func (p *Pipe) cancelReadWhenDone(ctx context.Context) (stop func() bool, cancelled <-chan struct{}) {
	if ctx.Done() == nil {
		return func() bool { return true }, nil
	}
	done := make(chan struct{})
	stop = context.AfterFunc(ctx, func() {
		defer close(done)
		// Fails only on a closed file, whose Read returns anyway.
		_ = p.file.SetReadDeadline(time.Unix(1, 0))
	})
	return stop, done
}
