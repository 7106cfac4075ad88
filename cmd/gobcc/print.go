package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/gobcc/gobcc/bcc"
)

// histKind says how a table prints: as key/value lines or as one of BCC's
// histograms.
type histKind int

const (
	histNone histKind = iota
	histLog2
	histLinear
)

func (k histKind) String() string {
	switch k {
	case histLog2:
		return "log2"
	case histLinear:
		return "linear"
	}
	return "none"
}

// tableSelection names tables by flag: every table, or those listed.
type tableSelection struct {
	all   bool
	names map[string]bool
}

// Set adds comma-separated table names; "" or "*" selects every table.
func (s *tableSelection) Set(v string) error {
	if v == "" || v == "*" {
		s.all = true
		return nil
	}
	if s.names == nil {
		s.names = make(map[string]bool)
	}
	for _, n := range strings.Split(v, ",") {
		if n = strings.TrimSpace(n); n != "" {
			s.names[n] = true
		}
	}
	return nil
}

// String lists the selection for --help.
func (s *tableSelection) String() string {
	if s.all {
		return "*"
	}
	names := make([]string, 0, len(s.names))
	for n := range s.names {
		names = append(names, n)
	}
	sort.Strings(names)
	return strings.Join(names, ",")
}

// Type names the value in --help.
func (s *tableSelection) Type() string { return "tables" }

func (s *tableSelection) has(name string) bool { return s.all || s.names[name] }

// tablePrinter prints a program's tables as run's loop does. Its mutex is
// shared with the trace stream so that lines never interleave.
type tablePrinter struct {
	mu     *sync.Mutex
	w      io.Writer
	json   bool
	b      *bcc.BPF
	ksym   tableSelection
	top    int
	log2   tableSelection
	linear tableSelection
}

// readableMap reports whether a map holds key/value entries worth printing;
// perf buffers, ring buffers, program arrays and stacks do not.
func readableMap(t bcc.MapType) bool {
	switch t {
	case bcc.MapHash, bcc.MapArray, bcc.MapPercpuHash, bcc.MapPercpuArray,
		bcc.MapLRUHash, bcc.MapLRUPercpuHash, bcc.MapLPMTrie:
		return true
	}
	return false
}

// histogramKind decides whether a table prints as a histogram: by --log2 or
// --linear, or because it looks like BPF_HISTOGRAM's output of bpf_log2l:
// an integer-keyed table of integers named *hist* or *dist*, or a struct key
// whose second member is "slot" (BCC tools' keyed histograms; BCC takes the
// first member as the bucket and the second as the slot).
func (p *tablePrinter) histogramKind(t *bcc.Table) histKind {
	switch {
	case p.log2.has(t.Name()):
		return histLog2
	case p.linear.has(t.Name()):
		return histLinear
	}
	if !t.LeafType().IsInteger() {
		return histNone
	}
	key := t.KeyType()
	if key.IsInteger() {
		name := strings.ToLower(t.Name())
		if strings.Contains(name, "hist") || strings.Contains(name, "dist") {
			return histLog2
		}
		return histNone
	}
	if len(key.Fields) >= 2 && key.Fields[1].Name == "slot" {
		return histLog2
	}
	return histNone
}

// entry is one table entry ready to print.
type entry struct {
	key     bcc.Value
	keyText string
	ksym    string
	value   bcc.Value
	perCPU  []bcc.Value
	total   uint64 // integer value (summed over CPUs) for sorting
	numeric bool
	text    string
}

// valueOf sums integer values over CPUs, as BCC tools do with sum().
func valueOf(it bcc.Item) (total uint64, numeric bool, text string) {
	if it.Value.IsValid() {
		if it.Value.Type().IsInteger() {
			v := it.Value.Uint64()
			if it.Value.Type().IsSigned() {
				v = uint64(it.Value.Int64())
			}
			return v, true, it.Value.String()
		}
		return 0, false, it.Value.String()
	}
	if len(it.PerCPU) == 0 {
		return 0, false, ""
	}
	if !it.PerCPU[0].Type().IsInteger() {
		parts := make([]string, len(it.PerCPU))
		for i, v := range it.PerCPU {
			parts[i] = v.String()
		}
		return 0, false, "[" + strings.Join(parts, ", ") + "]"
	}
	signed := it.PerCPU[0].Type().IsSigned()
	var sum int64
	for _, v := range it.PerCPU {
		if signed {
			sum += v.Int64()
		} else {
			sum += int64(v.Uint64())
		}
	}
	if signed {
		return uint64(sum), true, fmt.Sprint(sum)
	}
	return uint64(sum), true, fmt.Sprint(uint64(sum))
}

// isZero reports whether an array slot was never written.
func isZero(e entry) bool {
	if e.numeric {
		return e.total == 0
	}
	if e.value.IsValid() {
		for _, c := range e.value.Bytes() {
			if c != 0 {
				return false
			}
		}
		return true
	}
	return false
}

// printAll prints every readable table once.
func (p *tablePrinter) printAll(now time.Time) error {
	for _, t := range p.b.Tables() {
		if !readableMap(t.Type()) {
			continue
		}
		if err := p.printTable(t, now); err != nil {
			return fmt.Errorf("table %s: %w", t.Name(), err)
		}
	}
	return nil
}

func (p *tablePrinter) printTable(t *bcc.Table, now time.Time) error {
	if kind := p.histogramKind(t); kind != histNone {
		return p.printHistogram(t, kind, now)
	}
	items, err := t.Items()
	if err != nil {
		return err
	}
	symbolize := p.ksym.has(t.Name()) && t.KeyType().IsInteger() && t.KeySize() == 8
	entries := make([]entry, 0, len(items))
	for _, it := range items {
		e := entry{key: it.Key, value: it.Value, perCPU: it.PerCPU}
		e.total, e.numeric, e.text = valueOf(it)
		if t.Type().IsArray() && isZero(e) {
			continue
		}
		e.keyText = it.Key.String()
		if symbolize {
			e.ksym = p.b.Ksym(it.Key.Uint64())
			e.keyText = e.ksym
		}
		entries = append(entries, e)
	}
	total := len(entries)
	if !t.Type().IsArray() {
		// The seed article's order: ascending by value, largest last,
		// nearest the prompt.
		sort.SliceStable(entries, func(i, j int) bool {
			a, b := entries[i], entries[j]
			if a.numeric && b.numeric && a.total != b.total {
				return a.total < b.total
			}
			if !a.numeric && a.text != b.text {
				return a.text < b.text
			}
			return a.keyText < b.keyText
		})
		if p.top > 0 && len(entries) > p.top {
			entries = entries[len(entries)-p.top:]
		}
	} else if p.top > 0 && len(entries) > p.top {
		entries = entries[:p.top]
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.json {
		return p.writeTableJSON(t, entries, total, now)
	}
	var sb strings.Builder
	shown := fmt.Sprintf("%d entries", total)
	if len(entries) < total {
		shown = fmt.Sprintf("top %d of %d entries", len(entries), total)
	}
	fmt.Fprintf(&sb, "%s %s (%s, %s)\n", now.Format("15:04:05"), t.Name(), t.Type(), shown)
	width := 0
	for _, e := range entries {
		width = max(width, len(e.keyText))
	}
	for _, e := range entries {
		fmt.Fprintf(&sb, "%-*s %s\n", width, e.keyText, e.text)
	}
	sb.WriteString("\n")
	_, err = io.WriteString(p.w, sb.String())
	return err
}

type jsonEntry struct {
	Key    bcc.Value   `json:"key"`
	Ksym   string      `json:"ksym,omitempty"`
	Value  any         `json:"value"`
	PerCPU []bcc.Value `json:"per_cpu,omitempty"`
}

type jsonTable struct {
	Type    string      `json:"type"`
	Time    time.Time   `json:"time"`
	Table   string      `json:"table"`
	MapType string      `json:"map_type"`
	Total   int         `json:"total"`
	Entries []jsonEntry `json:"entries"`
}

func (p *tablePrinter) writeTableJSON(t *bcc.Table, entries []entry, total int, now time.Time) error {
	out := jsonTable{Type: "table", Time: now, Table: t.Name(), MapType: t.Type().String(), Total: total, Entries: make([]jsonEntry, 0, len(entries))}
	for _, e := range entries {
		je := jsonEntry{Key: e.key, Ksym: e.ksym, PerCPU: e.perCPU}
		switch {
		case e.value.IsValid():
			je.Value = e.value
		case e.numeric:
			je.Value = e.total
		}
		out.Entries = append(out.Entries, je)
	}
	return writeJSON(p.w, out)
}

// writeJSON writes v as one line.
func writeJSON(w io.Writer, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode JSON: %w", err)
	}
	data = append(data, '\n')
	_, err = w.Write(data)
	return err
}

type jsonBucket struct {
	Low   uint64   `json:"low"`
	High  uint64   `json:"high"`
	Count *big.Int `json:"count"`
}

type jsonHistSection struct {
	Bucket  string       `json:"bucket,omitempty"`
	Buckets []jsonBucket `json:"buckets"`
}

type jsonHist struct {
	Type     string            `json:"type"`
	Time     time.Time         `json:"time"`
	Table    string            `json:"table"`
	Kind     string            `json:"kind"`
	Sections []jsonHistSection `json:"sections"`
}

// printHistogram prints a table as BCC's print_log2_hist or
// print_linear_hist text, or, in JSON mode, its bcc.Histogram sections with
// the non-empty slots.
func (p *tablePrinter) printHistogram(t *bcc.Table, kind histKind, now time.Time) error {
	scale := bcc.Log2Scale
	if kind == histLinear {
		scale = bcc.LinearScale
	}
	if p.json {
		sections, err := t.Histogram(scale)
		if err != nil {
			return err
		}
		out := jsonHist{Type: "histogram", Time: now, Table: t.Name(), Kind: kind.String()}
		for _, s := range sections {
			js := jsonHistSection{Bucket: s.Title, Buckets: []jsonBucket{}}
			for _, slot := range s.Slots {
				if slot.Count.Sign() != 0 {
					js.Buckets = append(js.Buckets, jsonBucket{Low: slot.Low, High: slot.High, Count: slot.Count})
				}
			}
			out.Sections = append(out.Sections, js)
		}
		p.mu.Lock()
		defer p.mu.Unlock()
		return writeJSON(p.w, out)
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, "%s %s (%s histogram)\n", now.Format("15:04:05"), t.Name(), kind)
	var err error
	if kind == histLog2 {
		err = t.PrintLog2Hist(&sb, "value")
	} else {
		err = t.PrintLinearHist(&sb, "value")
	}
	if err != nil {
		return err
	}
	sb.WriteString("\n")
	p.mu.Lock()
	defer p.mu.Unlock()
	_, err = io.WriteString(p.w, sb.String())
	return err
}
