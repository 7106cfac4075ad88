// Package eventprint prints what a running BPF program sends to user
// space, as gobcc run streams it: the records of its BPF_PERF_OUTPUT and
// BPF_RINGBUF_OUTPUT tables, one line each decoded by the submitted struct
// (name=value pairs, --columns, a --format template, or JSON), and the
// bpf_trace_printk lines of trace_pipe. Symbols for --ksym and --usym
// come from bcc's symbol caches.
package eventprint

import (
	"bufio"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/gobcc/gobcc/bcc"
	"github.com/gobcc/gobcc/cmd/gobcc/cli"
)

// eventPollTimeout bounds each wait of the event loops, so that they see
// the end of the run within that time.
const eventPollTimeout = 100 * time.Millisecond

// kernelSpaceStart is where x86-64 kernel addresses begin: a u64 event
// field at or above it is taken for a kernel address by --ksym.
const kernelSpaceStart = 0xffff800000000000

// Options are run's flags for perf and ring buffer events.
type Options struct {
	// Usym lists the fields (FIELD or TABLE.FIELD) printed as user
	// symbols of the event's process.
	Usym []string
	// PIDField is the field Usym takes the process from; "" picks pid,
	// then tgid.
	PIDField string
	// Columns prints a heading and aligned columns of these fields
	// (FIELD or FIELD:WIDTH).
	Columns []string
	// Format is a line template: text with {FIELD} or {FIELD:WIDTH}.
	Format string
	// PageCount sizes each CPU's perf ring in pages (0: BCC's 8).
	PageCount int
}

// eventTable is one BPF_PERF_OUTPUT or BPF_RINGBUF_OUTPUT table being
// streamed.
type eventTable struct {
	table *bcc.Table
	// typ is the submitted struct; nil when libbcc did not describe it
	// (records then print as hex bytes).
	typ *bcc.CType
	// ksymAll symbolizes every u64 field holding a kernel address;
	// ksym lists fields always printed as kernel symbols.
	ksymAll bool
	ksym    map[string]bool
	usym    map[string]bool
	pid     string // field giving the pid for usym, "" when none
}

// Stream prints the events of a program's perf and ring buffers as
// they arrive. Its mutex is shared with the table printer and the trace
// stream so that lines never interleave; w buffers the events of one poll
// and is flushed after it.
type Stream struct {
	mu      *sync.Mutex
	w       *bufio.Writer
	b       *bcc.BPF
	json    bool
	prefix  bool // name=value lines start with the table's name
	tables  []*eventTable
	layout  *eventLayout // --columns or --format; nil prints name=value
	readers []io.Closer
	perf    bool
	ring    bool
}

// eventTables lists the program's perf and ring buffer tables.
func eventTables(b *bcc.BPF) []*bcc.Table {
	var out []*bcc.Table
	for _, t := range b.Tables() {
		if t.Type() == bcc.MapPerfEventArray || t.Type() == bcc.MapRingbuf {
			out = append(out, t)
		}
	}
	return out
}

// splitTableField splits "TABLE.FIELD"; a name without a dot is a field of
// any table.
func splitTableField(s string) (table, field string) {
	if i := strings.IndexByte(s, '.'); i >= 0 {
		return s[:i], s[i+1:]
	}
	return "", s
}

// New prepares the event tables of b for printing and checks the field
// names the flags give (errors wrap cli.ErrUsage). It opens nothing; Open
// does. mu is shared with the other writers of w's destination; w buffers
// the events of one poll and is flushed after it.
func New(b *bcc.BPF, mu *sync.Mutex, w *bufio.Writer, asJSON bool, ksym cli.TableSelection, o *Options) (*Stream, error) {
	s := &Stream{mu: mu, w: w, b: b, json: asJSON}
	for _, t := range eventTables(b) {
		et := &eventTable{table: t, ksymAll: ksym.Has(t.Name()), ksym: map[string]bool{}, usym: map[string]bool{}}
		typ, err := t.EventType()
		if err != nil {
			// One line: the cause joins the sentinel with a newline.
			msg := strings.ReplaceAll(err.Error(), "\n", ": ")
			fmt.Fprintf(os.Stderr, "gobcc: warning: %s; its events print as hex bytes\n", msg)
		} else {
			et.typ = typ
		}
		s.tables = append(s.tables, et)
	}
	s.prefix = len(s.tables) > 1
	if len(s.tables) == 0 {
		for flag, set := range map[string]bool{"--usym": len(o.Usym) > 0, "--columns": o.Columns != nil, "--format": o.Format != ""} {
			if set {
				return nil, cli.UsageErrorf("%s: the program has no perf or ring buffer table (BPF_PERF_OUTPUT, BPF_RINGBUF_OUTPUT)", flag)
			}
		}
	}
	byName := map[string]*eventTable{}
	for _, et := range s.tables {
		byName[et.table.Name()] = et
	}
	// find lists the tables a FIELD or TABLE.FIELD names.
	find := func(flag, spec string) ([]*eventTable, string, error) {
		tname, field := splitTableField(spec)
		if field == "" {
			return nil, "", cli.UsageErrorf("%s %q: no field name", flag, spec)
		}
		var found []*eventTable
		for _, et := range s.tables {
			if tname != "" && et.table.Name() != tname {
				continue
			}
			if et.typ != nil {
				if _, ok := et.typ.FieldByName(field); ok {
					found = append(found, et)
				}
			}
		}
		if len(found) == 0 {
			if tname != "" && byName[tname] == nil {
				return nil, "", cli.UsageErrorf("%s %s: %q is not a perf or ring buffer table of the program (those: %s)", flag, spec, tname, s.TableNames())
			}
			return nil, "", cli.UsageErrorf("%s %s: no event has a field %q (fields: %s)", flag, spec, field, s.fieldNames(tname))
		}
		return found, field, nil
	}
	for name := range ksym.Names {
		if !strings.Contains(name, ".") {
			continue // a table name, checked with the others
		}
		tables, field, err := find("--ksym", name)
		if err != nil {
			return nil, err
		}
		for _, et := range tables {
			et.ksym[field] = true
		}
	}
	for _, spec := range o.Usym {
		tables, field, err := find("--usym", spec)
		if err != nil {
			return nil, err
		}
		for _, et := range tables {
			pid := o.PIDField
			if pid == "" {
				for _, cand := range []string{"pid", "tgid"} {
					if _, ok := et.typ.FieldByName(cand); ok {
						pid = cand
						break
					}
				}
			}
			if f, ok := et.typ.FieldByName(pid); pid == "" || !ok || !f.Type.IsInteger() {
				return nil, cli.UsageErrorf("--usym %s: the events of %s have no integer pid field (name it with --pid-field; fields: %s)", spec, et.table.Name(), s.fieldNames(et.table.Name()))
			}
			et.usym[field] = true
			et.pid = pid
		}
	}
	if o.Columns != nil || o.Format != "" {
		var fields []string
		var err error
		if o.Format != "" {
			s.layout, err = parseEventFormat(o.Format)
		} else {
			s.layout, err = newColumnLayout(o.Columns)
		}
		if err != nil {
			return nil, err
		}
		fields = s.layout.fields()
		for _, f := range fields {
			flag := "--columns"
			if o.Format != "" {
				flag = "--format"
			}
			if _, _, err := find(flag, f); err != nil {
				return nil, err
			}
		}
		s.layout.setWidths(s.tables)
	}
	return s, nil
}

// HasTables reports whether the program has perf or ring buffer tables.
func (s *Stream) HasTables() bool { return len(s.tables) > 0 }

// TableNames lists the event tables, comma-separated, for messages.
func (s *Stream) TableNames() string {
	var names []string
	for _, et := range s.tables {
		names = append(names, et.table.Name())
	}
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}

// fieldNames lists the event fields of one table ("" for all), for error
// messages.
func (s *Stream) fieldNames(table string) string {
	seen := map[string]bool{}
	var names []string
	for _, et := range s.tables {
		if et.typ == nil || (table != "" && et.table.Name() != table) {
			continue
		}
		for _, f := range et.typ.Fields {
			if !seen[f.Name] {
				seen[f.Name] = true
				names = append(names, f.Name)
			}
		}
	}
	if len(names) == 0 {
		return "none"
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

// Open starts reading every event table. The BPF object closes the readers
// if open fails half way.
func (s *Stream) Open(pageCount int) error {
	for _, et := range s.tables {
		et := et
		switch et.table.Type() {
		case bcc.MapPerfEventArray:
			pb, err := et.table.OpenPerfBuffer(func(cpu int, data []byte) {
				s.handle(et, cpu, data)
			}, bcc.PerfBufferOptions{PageCount: pageCount, LostCallback: func(n uint64) { s.lost(et, n) }})
			if err != nil {
				return fmt.Errorf("open perf buffer %s: %w", et.table.Name(), err)
			}
			s.readers = append(s.readers, pb)
			s.perf = true
		case bcc.MapRingbuf:
			rb, err := et.table.OpenRingBuffer(func(data []byte) {
				s.handle(et, -1, data)
			})
			if err != nil {
				return fmt.Errorf("open ring buffer %s: %w", et.table.Name(), err)
			}
			s.readers = append(s.readers, rb)
			s.ring = true
		}
	}
	return nil
}

// Header prints the --columns heading, in text mode.
func (s *Stream) Header() error {
	if s.json || s.layout == nil || !s.layout.columns {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.w.WriteString(s.layout.header())
	return s.w.Flush()
}

// Run polls the buffers until ctx ends, then reads what is left.
func (s *Stream) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	errs := make([]error, 2)
	loop := func(i int, kind string, poll func(time.Duration) (int, error)) {
		defer wg.Done()
		for ctx.Err() == nil {
			_, err := poll(eventPollTimeout)
			if ferr := s.flush(); err == nil {
				err = ferr
			}
			if err != nil {
				errs[i] = fmt.Errorf("poll %s buffers: %w", kind, err)
				return
			}
		}
	}
	if s.perf {
		wg.Add(1)
		go loop(0, "perf", s.b.PerfBufferPoll)
	}
	if s.ring {
		wg.Add(1)
		go loop(1, "ring", s.b.RingBufferPoll)
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	// Records that arrived since the last poll, and those below a perf
	// ring's wake-up threshold.
	if s.perf {
		if _, err := s.b.PerfBufferConsume(); err != nil {
			return fmt.Errorf("read perf buffers: %w", err)
		}
	}
	if s.ring {
		if _, err := s.b.RingBufferConsume(); err != nil {
			return fmt.Errorf("read ring buffers: %w", err)
		}
	}
	return s.flush()
}

// Close stops reading the buffers.
func (s *Stream) Close() error {
	var errs []error
	for _, r := range s.readers {
		errs = append(errs, r.Close())
	}
	s.readers = nil
	return errors.Join(errs...)
}

func (s *Stream) flush() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Flush()
}

// handle prints one record. It runs on a poll goroutine; a failed write
// shows at the next flush.
func (s *Stream) handle(et *eventTable, cpu int, data []byte) {
	now := time.Now()
	var ev bcc.Value
	if et.typ != nil {
		v, err := et.table.Event(data)
		if err == nil {
			ev = v
		}
	}
	var line []byte
	if s.json {
		line = s.eventJSON(et, cpu, now, ev, data)
	} else {
		line = s.eventText(et, ev, data)
	}
	s.mu.Lock()
	s.w.Write(line)
	s.mu.Unlock()
}

// lost reports records the kernel dropped from a perf buffer.
func (s *Stream) lost(et *eventTable, n uint64) {
	var line []byte
	if s.json {
		line, _ = cli.MarshalLine(jsonLost{Type: "lost", Time: time.Now(), Table: et.table.Name(), Count: n})
	} else {
		line = fmt.Appendf(nil, "lost %d events on %s\n", n, et.table.Name())
	}
	s.mu.Lock()
	s.w.Write(line)
	s.mu.Unlock()
}

// fieldText is how one field of an event prints in text: a kernel or user
// symbol when --ksym or --usym asks for one, char arrays as their text,
// numbers in decimal, anything else as bcc.Value prints it. sym reports a
// symbol.
func (s *Stream) fieldText(et *eventTable, ev bcc.Value, name string) (text string, sym bool) {
	v, ok := ev.Field(name)
	if !ok {
		return "-", false
	}
	if k, ok := s.ksymOf(et, name, v); ok {
		return k, true
	}
	if u, ok := s.usymOf(et, ev, name, v); ok {
		return u, true
	}
	switch v.Kind() {
	case bcc.KindChar, bcc.KindCharArray:
		return v.Str(), false
	case bcc.KindArray:
		parts := make([]string, v.Len())
		for i := range parts {
			parts[i] = v.Index(i).String()
		}
		return "[" + strings.Join(parts, ",") + "]", false
	}
	return v.String(), false
}

// isAddress reports whether v can hold an address: an 8-byte integer.
func isAddress(v bcc.Value) bool {
	return (v.Kind() == bcc.KindUint || v.Kind() == bcc.KindInt) && v.Type().Size == 8
}

// ksymOf names the kernel function at a field's value when --ksym applies
// to it: always for a field --ksym=TABLE.FIELD names, and for a u64 value
// in kernel space (found in kallsyms) when --ksym selects the whole table.
func (s *Stream) ksymOf(et *eventTable, name string, v bcc.Value) (string, bool) {
	if !isAddress(v) {
		return "", false
	}
	addr := v.Uint64()
	if et.ksym[name] {
		return s.b.Ksym(addr), true
	}
	if !et.ksymAll || addr < kernelSpaceStart {
		return "", false
	}
	syms, err := s.b.KernelSymbols()
	if err != nil {
		return "", false
	}
	if _, found := syms.Lookup(addr); !found {
		return "", false
	}
	return syms.Ksym(addr), true
}

// usymOf names the user function at a field's value in the process the
// event's pid field names, for the fields --usym names.
func (s *Stream) usymOf(et *eventTable, ev bcc.Value, name string, v bcc.Value) (string, bool) {
	if !et.usym[name] || !isAddress(v) {
		return "", false
	}
	pid, ok := ev.Field(et.pid)
	if !ok {
		return "", false
	}
	return s.b.Sym(v.Uint64(), int(pid.Int64())), true
}

// eventText formats one event as a text line: name=value pairs, or the
// --columns / --format layout.
func (s *Stream) eventText(et *eventTable, ev bcc.Value, data []byte) []byte {
	var sb strings.Builder
	if s.prefix && s.layout == nil {
		sb.WriteString(et.table.Name())
		sb.WriteString(": ")
	}
	switch {
	case !ev.IsValid():
		fmt.Fprintf(&sb, "data=%s", hex.EncodeToString(data))
	case s.layout != nil:
		s.layout.format(&sb, func(name string) string {
			text, _ := s.fieldText(et, ev, name)
			return text
		})
	default:
		for i, f := range et.typ.Fields {
			if i > 0 {
				sb.WriteByte(' ')
			}
			text, _ := s.fieldText(et, ev, f.Name)
			sb.WriteString(f.Name)
			sb.WriteByte('=')
			sb.WriteString(quoteIfNeeded(text))
		}
	}
	sb.WriteByte('\n')
	return []byte(sb.String())
}

// quoteIfNeeded quotes a value that would not read back as one word of a
// name=value line: empty, or holding spaces, quotes, '=' or unprintable
// bytes.
func quoteIfNeeded(s string) string {
	if s == "" {
		return `""`
	}
	for _, r := range s {
		if r <= ' ' || r == '"' || r == '=' || r == 0x7f || r == 0xfffd {
			return fmt.Sprintf("%q", s)
		}
	}
	return s
}
