package exporter

// This file is the exporter's only contact with package bcc: compiling,
// attaching, describing and reading tables, symbols and events. The bcc
// API is still moving; keeping it here keeps the adaptation in one place.

import (
	"time"

	"github.com/gobcc/gobcc/bcc"
	"github.com/gobcc/gobcc/exporter/internal/rawfield"
	"github.com/gobcc/gobcc/symbols"
)

// value is a decoded key, leaf or event (bcc.Value).
type value = bcc.Value

// ctype is a table's key, leaf or event C type (bcc.CType).
type ctype = bcc.CType

// Kinds of C types, by the names bcc gives them (bcc exposes ctype.Kind
// only through its String method).
const (
	kindInt       = "int"
	kindUint      = "uint"
	kindBool      = "bool"
	kindChar      = "char"
	kindCharArray = "char-array"
	kindArray     = "array"
	kindStruct    = "struct"
	kindUnion     = "union"
)

func kindOf(t *ctype) string { return t.Kind.String() }

func isInteger(t *ctype) bool {
	k := kindOf(t)
	return (k == kindInt || k == kindUint || k == kindBool) && t.Size <= 8
}

// fieldIndex finds a struct member by name and returns its index among
// Fields (which Value.FieldAt takes).
func fieldIndex(t *ctype, name string) (int, bool) {
	for i, f := range t.Fields {
		if f.Name == name {
			return i, true
		}
	}
	return 0, false
}

// CompileOptions say how to compile a program.
type CompileOptions struct {
	// CFlags are extra clang flags (see package cflags).
	CFlags []string
	// InProcess compiles in this process instead of a helper process.
	InProcess bool
}

// compileProgram compiles and loads src without attaching anything: the
// configuration is checked against its tables first.
func compileProgram(src string, opts CompileOptions) (*bcc.BPF, error) {
	return bcc.New(bcc.Options{SrcFile: src, CFlags: opts.CFlags, InProcess: opts.InProcess, NoAutoAttach: true})
}

// attachProgram attaches the program's functions by their names, as
// bcc.New does without NoAutoAttach.
func attachProgram(b *bcc.BPF) (int, error) {
	links, err := b.AutoAttach()
	return len(links), err
}

// tableClass says how the exporter can use a table.
type tableClass int

const (
	classOther  tableClass = iota
	classRead              // hash or array types: read at scrape time
	classEvents            // perf output or ring buffer: event counters
	classStack             // stack traces: kstack/ustack
)

// tableDesc is what the configuration is checked against.
type tableDesc struct {
	name       string
	typeName   string
	class      tableClass
	perCPU     bool
	array      bool
	maxEntries int
	key, leaf  *ctype
	event      *ctype // events tables: the submitted struct (nil if unknown)
	eventErr   error
	table      *bcc.Table
}

func describeTables(b *bcc.BPF) map[string]*tableDesc {
	out := map[string]*tableDesc{}
	for _, t := range b.Tables() {
		d := &tableDesc{name: t.Name(), typeName: t.Type().String(), perCPU: t.Type().PerCPU(),
			array: t.Type().IsArray(), maxEntries: t.MaxEntries(), key: t.KeyType(), leaf: t.LeafType(), table: t}
		switch t.Type() {
		case bcc.MapHash, bcc.MapArray, bcc.MapPercpuHash, bcc.MapPercpuArray, bcc.MapLRUHash,
			bcc.MapLRUPercpuHash, bcc.MapLPMTrie:
			d.class = classRead
		case bcc.MapPerfEventArray, bcc.MapRingbuf:
			d.class = classEvents
			d.event, d.eventErr = t.EventType()
		case bcc.MapStackTrace:
			d.class = classStack
		}
		out[d.name] = d
	}
	return out
}

// entry is one table entry: a key and its value, or its per-CPU values.
type entry = bcc.Item

// readTable reads every entry with batch lookups (falling back to a key
// walk where the kernel has no batch operations).
func readTable(t *bcc.Table) ([]entry, error) { return t.Items() }

// symbolSource resolves kernel and user addresses and stacks.
type symbolSource struct {
	b     *bcc.BPF
	ksyms *symbols.Kernel
}

func newSymbols(b *bcc.BPF) (*symbolSource, error) {
	k, err := b.KernelSymbols()
	if err != nil {
		return nil, err
	}
	return &symbolSource{b: b, ksyms: k}, nil
}

func (s *symbolSource) ksym(addr uint64) string { return s.ksyms.Ksym(addr) }

func (s *symbolSource) usym(addr uint64, pid int) string { return s.b.Sym(addr, pid) }

func walkStack(t *bcc.Table, id int64) ([]uint64, error) { return t.Walk(id) }

// eventReader reads one events table: poll hands waiting records to the
// callbacks given to openEvents.
type eventReader struct {
	poll  func(timeout time.Duration) (int, error)
	close func() error
}

// openEvents opens a reader of a BPF_PERF_OUTPUT or BPF_RINGBUF_OUTPUT
// table at once: a perf buffer must be open before the program runs, or
// its records have nowhere to go. data is valid only during onData.
func openEvents(t *bcc.Table, onData func(data []byte), onLost func(n uint64)) (*eventReader, error) {
	if t.Type() == bcc.MapRingbuf {
		rb, err := t.OpenRingBuffer(onData)
		if err != nil {
			return nil, err
		}
		return &eventReader{poll: rb.Poll, close: rb.Close}, nil
	}
	pb, err := t.OpenPerfBuffer(func(cpu int, data []byte) { onData(data) },
		bcc.PerfBufferOptions{PageCount: 64, LostCallback: onLost})
	if err != nil {
		return nil, err
	}
	return &eventReader{poll: pb.Poll, close: pb.Close}, nil
}

// decodeEvent decodes one record with the table's event type.
func decodeEvent(t *bcc.Table, data []byte) (value, error) { return t.Event(data) }

// rawEntries is a table's entries as raw bytes, read into buffers kept
// between scrapes (bcc.RawEntries).
type rawEntries = bcc.RawEntries

// readRaw reads every entry into r's buffers: batch lookups, or a key walk
// where the kernel has none.
func readRaw(t *bcc.Table, r *rawEntries) error { return t.ReadRaw(r) }

// rawFieldOf locates the scalar at path (struct member indexes) in values
// of type t, for reading it straight from raw bytes; false when it is not
// a plain integer or float (a bitfield, an array, a char...), which is
// then decoded as a whole.
func rawFieldOf(t *ctype, path []int) (rawfield.Field, bool) {
	off := 0
	for _, i := range path {
		if t == nil || i >= len(t.Fields) || t.Fields[i].BitSize != 0 {
			return rawfield.Field{}, false
		}
		off += t.Fields[i].Offset
		t = t.Fields[i].Type
	}
	if t == nil {
		return rawfield.Field{}, false
	}
	var kind rawfield.Kind
	switch kindOf(t) {
	case kindInt:
		kind = rawfield.Signed
	case kindUint, kindBool:
		kind = rawfield.Unsigned
	case "float":
		kind = rawfield.Float
	default:
		return rawfield.Field{}, false
	}
	f, err := rawfield.New(off, t.Size, kind)
	return f, err == nil
}
