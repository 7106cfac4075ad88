package bcc

import (
	"context"
	"errors"
	"fmt"
	"iter"

	"github.com/gobcc/gobcc/internal/ctype"
	"github.com/gobcc/gobcc/internal/events"
)

// eventState is a BPF object's event readers: the shared pollers of
// PerfBufferPoll and RingBufferPoll and every open reader, so that Close
// can stop them all.
type eventState = events.Registry

// eventTypeCache holds a table's EventType, built on first use.
type eventTypeCache = events.LazyType

// Event is one record read by Table.Events.
type Event struct {
	// CPU is the CPU whose perf ring held the record; -1 for ring buffers.
	CPU int
	// Data is the record's bytes, owned by the receiver.
	Data []byte
	// Lost, when not zero, reports records the kernel dropped because a
	// perf ring was full; such an Event has no Data.
	Lost uint64
}

// Events reads a BPF_PERF_OUTPUT or BPF_RINGBUF_OUTPUT table as a Go
// iterator, for code that prefers a loop to callbacks:
//
//	for ev, err := range table.Events(ctx) {
//		if err != nil { ... }
//		...
//	}
//
// It opens its own reader (opts, at most one, apply to perf buffers; of
// them only MaxBatchDelay and NoSpin to ring buffers), waits for records
// until ctx is done or the loop stops, and frees the reader when the loop
// ends. Losses arrive as Events with Lost set. When ctx is done the
// iteration ends without an error; any other end is an error yielded to
// the loop: one wrapping ErrClosed when the BPF object is closed, or the
// read's error (ErrCorruptRing, say). No goroutine outlives the loop.
func (t *Table) Events(ctx context.Context, opts ...PerfBufferOptions) iter.Seq2[Event, error] {
	return func(yield func(Event, error) bool) {
		kind := events.Ring
		if t.mapType == MapPerfEventArray {
			kind = events.Perf
		}
		o, err := bufferOptions(t, "Events", false, kind, opts)
		if err != nil {
			yield(Event{}, err)
			return
		}
		for ev, err := range t.b.events.Events(ctx, t.eventTarget(), kind, o.config()) {
			if !yield(Event(ev), pollErr(err)) {
				return
			}
		}
	}
}

// bufferOptions checks the arguments of a call that opens a reader: the
// callback, the options (at most one) and the table's type.
func bufferOptions[O any](t *Table, call string, nilCallback bool, kind events.Kind, opts []O) (O, error) {
	o, err := oneOption(opts)
	switch {
	case nilCallback:
		return o, fmt.Errorf("table %s: %s: nil callback", t.name, call)
	case err != nil:
		return o, fmt.Errorf("table %s: %s: %w", t.name, call, err)
	}
	// Events reads either kind: its kind follows the map's type.
	return o, t.m.CheckEventBuffer(call == "Events" || kind == events.Perf, call == "Events" || kind == events.Ring)
}

// eventTarget is the table as the event engine sees it.
func (t *Table) eventTarget() events.Target {
	return events.Target{Key: t, Name: t.name, MaxEntries: t.maxEntries, MapFD: func() int {
		t.b.mu.Lock() // the descriptor, or -1 once the object closed it
		defer t.b.mu.Unlock()
		return t.m.FD()
	}}
}

// pollErr turns the engine's errors into bcc's: a closed poller is
// ErrClosed, a poll that Wake interrupted no error; others (a corrupt
// ring, wrapping ErrCorruptRing; a failed system call) pass.
func pollErr(err error) error {
	switch {
	case err == nil || errors.Is(err, events.ErrWoken):
		return nil
	case errors.Is(err, events.ErrClosed):
		return ErrClosed
	}
	return err
}

// EventType is the C struct of the table's events, as libbcc saw it passed
// to perf_submit or ringbuf_output, laid out as C would (BCC builds the
// same from bpf_perf_event_fields in table.event). It fails, wrapping
// ErrTypeMismatch, when the program submits no struct or a field's type is
// one BCC's list does not know (a nested struct, say).
func (t *Table) EventType() (*CType, error) {
	// describe once, so that Value.Type only reads it.
	typ, err := t.event.Get(t.fields, func(typ *ctype.Type) { describe(typ) })
	if err != nil {
		return nil, fmt.Errorf("table %s: event type: %w", t.name, errors.Join(ErrTypeMismatch, err))
	}
	return describe(typ), nil
}

// Event decodes one record with the table's EventType (BCC's
// table.event(data)). The Value owns a copy of the bytes.
func (t *Table) Event(data []byte) (Value, error) {
	typ, err := t.EventType()
	if err != nil {
		return Value{}, err
	}
	if len(data) < typ.Size {
		return Value{}, fmt.Errorf("table %s: %d-byte record for a %d-byte event: %w", t.name, len(data), typ.Size, ErrTypeMismatch)
	}
	return typ.Decode(append([]byte(nil), data[:typ.Size]...))
}
