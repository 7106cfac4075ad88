package bcc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"github.com/gobcc/gobcc/internal/bpfsys"
	"github.com/gobcc/gobcc/internal/ctype"
	"github.com/gobcc/gobcc/internal/events"
)

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
		o, err := oneOptions(t, "Events", opts)
		if err != nil {
			yield(Event{}, err)
			return
		}
		var pending []Event
		p, err := events.NewPoller()
		if err != nil {
			yield(Event{}, err)
			return
		}
		var reader interface{ Close() error }
		switch t.mapType {
		case MapPerfEventArray:
			o.LostCallback = chainLost(o.LostCallback, func(n uint64) { pending = append(pending, Event{CPU: -1, Lost: n}) })
			online, err := bpfsys.OnlineCPUs()
			if err == nil {
				reader, err = t.openPerfBuffer(func(cpu int, data []byte) {
					pending = append(pending, Event{CPU: cpu, Data: append([]byte(nil), data...)})
				}, o, p, true, online)
			}
			if err != nil {
				p.Close()
				yield(Event{}, err)
				return
			}
		case MapRingbuf:
			reader, err = t.openRingBuffer(func(data []byte) {
				pending = append(pending, Event{CPU: -1, Data: append([]byte(nil), data...)})
			}, RingBufferOptions{MaxBatchDelay: o.MaxBatchDelay, NoSpin: o.NoSpin}, p, true)
			if err != nil {
				p.Close()
				yield(Event{}, err)
				return
			}
		default:
			p.Close()
			yield(Event{}, fmt.Errorf("table %s is a %s, not a perf or ring buffer: %w", t.name, t.mapType, ErrWrongTableType))
			return
		}
		defer reader.Close()
		stop := context.AfterFunc(ctx, p.Wake)
		defer stop()
		for {
			if ctx.Err() != nil {
				return
			}
			_, err := p.Poll(-1)
			for i, ev := range pending {
				pending[i] = Event{}
				if !yield(ev, nil) {
					return
				}
			}
			pending = pending[:0]
			if err = pollErr(err); err != nil {
				yield(Event{}, fmt.Errorf("table %s: %w", t.name, err))
				return
			}
		}
	}
}

// oneOptions is oneOption with the table and call named in its error.
func oneOptions[O any](t *Table, call string, opts []O) (O, error) {
	o, err := oneOption(opts)
	if err != nil {
		return o, fmt.Errorf("table %s: %s: %w", t.name, call, err)
	}
	return o, nil
}

func chainLost(user, own func(uint64)) func(uint64) {
	if user == nil {
		return own
	}
	return func(n uint64) { user(n); own(n) }
}

// eventFieldTypes maps the type names libbcc reports in an event's field
// list (bpf_perf_event_field: "name#type") to ctype's builtin spellings.
// It holds what BCC's _get_event_class maps and the kernel's and libc's
// common fixed-size typedefs.
var eventFieldTypes = map[string]string{
	"char": "char", "s8": "signed char", "__s8": "signed char", "int8_t": "signed char", "signed char": "signed char",
	"unsigned char": "unsigned char", "u8": "unsigned char", "__u8": "unsigned char", "uint8_t": "unsigned char",
	"_Bool": "_Bool", "bool": "_Bool",
	"short": "short", "s16": "short", "__s16": "short", "int16_t": "short",
	"unsigned short": "unsigned short", "u16": "unsigned short", "__u16": "unsigned short", "uint16_t": "unsigned short",
	"__be16": "unsigned short", "__le16": "unsigned short",
	"int": "int", "s32": "int", "__s32": "int", "int32_t": "int", "pid_t": "int", "enum": "int",
	"unsigned int": "unsigned int", "u32": "unsigned int", "__u32": "unsigned int", "uint32_t": "unsigned int",
	"uid_t": "unsigned int", "gid_t": "unsigned int", "dev_t": "unsigned int", "__be32": "unsigned int", "__le32": "unsigned int",
	"long": "long", "ssize_t": "long", "loff_t": "long long",
	"unsigned long": "unsigned long", "size_t": "unsigned long",
	"long long": "long long", "s64": "long long", "__s64": "long long", "int64_t": "long long",
	"unsigned long long": "unsigned long long", "u64": "unsigned long long", "__u64": "unsigned long long",
	"uint64_t": "unsigned long long", "__be64": "unsigned long long", "__le64": "unsigned long long",
	"__int128": "__int128", "unsigned __int128": "unsigned __int128",
	"float": "float", "double": "double",
}

var eventArrayType = regexp.MustCompile(`^(.*?) ?((?:\[[0-9]+\])+)$`)

// eventMember turns one "name#type" field into a ctype member description.
func eventMember(field string) ([]any, error) {
	i := strings.LastIndexByte(field, '#')
	if i < 0 {
		return nil, fmt.Errorf("field %q is not name#type", field)
	}
	name, typ := field[:i], strings.TrimSpace(field[i+1:])
	var dims []int
	if m := eventArrayType.FindStringSubmatch(typ); m != nil {
		typ = m[1]
		for _, d := range strings.Split(strings.Trim(m[2], "[]"), "][") {
			n, err := strconv.Atoi(d)
			if err != nil {
				return nil, fmt.Errorf("field %q: %w", field, err)
			}
			dims = append(dims, n)
		}
	}
	var c string
	switch {
	case strings.HasSuffix(typ, "*"):
		c = "unsigned long long" // a pointer, as libbcc describes them in tables
	case strings.HasPrefix(typ, "enum "):
		c = "int"
	default:
		var ok bool
		if c, ok = eventFieldTypes[strings.TrimPrefix(typ, "const ")]; !ok {
			return nil, fmt.Errorf("field %q: type %q not recognized: decode it with EventOf and a Go struct", name, typ)
		}
	}
	if len(dims) == 0 {
		return []any{name, c}, nil
	}
	// ctype takes one dimension; inner ones become nested arrays of a
	// one-member struct only if needed, so flatten: a[2][3] is a[6].
	total := 1
	for _, d := range dims {
		total *= d
	}
	return []any{name, c, []any{total}}, nil
}

// eventTypeFromFields builds the event struct libbcc saw passed to
// perf_submit or ringbuf_output, laid out as C lays out a struct.
func eventTypeFromFields(fields []string) (*ctype.Type, error) {
	if len(fields) == 0 {
		return nil, errors.New("libbcc reported no event struct (the program submits no struct through this table)")
	}
	members := make([]any, 0, len(fields))
	for _, f := range fields {
		m, err := eventMember(f)
		if err != nil {
			return nil, err
		}
		members = append(members, m)
	}
	desc, err := json.Marshal([]any{"", members, "struct"})
	if err != nil {
		return nil, err
	}
	return ctype.Parse(string(desc), 0)
}

// eventTypeCache holds a table's EventType, built on first use.
type eventTypeCache struct {
	once sync.Once
	typ  *ctype.Type
	err  error
}

// EventType is the C struct of the table's events, as libbcc saw it passed
// to perf_submit or ringbuf_output, laid out as C would (BCC builds the
// same from bpf_perf_event_fields in table.event). It fails, wrapping
// ErrTypeMismatch, when the program submits no struct or a field's type is
// one BCC's list does not know (a nested struct, say).
func (t *Table) EventType() (*CType, error) {
	t.event.once.Do(func() {
		t.event.typ, t.event.err = eventTypeFromFields(t.fields)
		describe(t.event.typ) // once, so that Value.Type only reads it
		if t.event.err != nil {
			t.event.err = fmt.Errorf("table %s: event type: %w", t.name, errors.Join(ErrTypeMismatch, t.event.err))
		}
	})
	return describe(t.event.typ), t.event.err
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
