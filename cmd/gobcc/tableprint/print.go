// Package tableprint prints a BPF program's tables as gobcc run and gobcc
// tables show them: key/value lines sorted by value, BCC's log2 and linear
// histograms (through bcc's own print_log2_hist and print_linear_hist,
// Table.PrintLog2Hist and Histogram), a table's C types, or the same as JSON
// lines.
package tableprint

import (
	"fmt"
	"io"
	"math/big"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/gobcc/gobcc/bcc"
	"github.com/gobcc/gobcc/cmd/gobcc/cli"
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

// Printer prints a program's tables as run's loop does.
type Printer struct {
	// Mu is held while writing, shared with the event and trace streams
	// so that lines never interleave.
	Mu *sync.Mutex
	// W receives the output; JSON selects JSON lines.
	W    io.Writer
	JSON bool
	// BPF is the program whose tables print.
	BPF *bcc.BPF
	// Ksym shows the u64 keys of these tables as kernel symbols.
	Ksym cli.TableSelection
	// Top prints only the N largest entries of each table (0: all).
	Top int
	// Log2 and Linear print these tables as histograms.
	Log2, Linear cli.TableSelection
}

// Readable reports whether a map holds key/value entries worth printing;
// perf buffers, ring buffers, program arrays and stacks do not.
func Readable(t bcc.MapType) bool {
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
func (p *Printer) histogramKind(t *bcc.Table) histKind {
	switch {
	case p.Log2.Has(t.Name()):
		return histLog2
	case p.Linear.Has(t.Name()):
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

// PrintAll prints every readable table once, stamped with now.
func (p *Printer) PrintAll(now time.Time) error {
	for _, t := range p.BPF.Tables() {
		if !Readable(t.Type()) {
			continue
		}
		if err := p.printTable(t, now); err != nil {
			return fmt.Errorf("table %s: %w", t.Name(), err)
		}
	}
	return nil
}

func (p *Printer) printTable(t *bcc.Table, now time.Time) error {
	if kind := p.histogramKind(t); kind != histNone {
		return p.printHistogram(t, kind, now)
	}
	items, err := t.Items()
	if err != nil {
		return err
	}
	symbolize := p.Ksym.Has(t.Name()) && t.KeyType().IsInteger() && t.KeySize() == 8
	entries := make([]entry, 0, len(items))
	for _, it := range items {
		e := entry{key: it.Key, value: it.Value, perCPU: it.PerCPU}
		e.total, e.numeric, e.text = valueOf(it)
		if t.Type().IsArray() && isZero(e) {
			continue
		}
		e.keyText = it.Key.String()
		if symbolize {
			e.ksym = p.BPF.Ksym(it.Key.Uint64())
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
		if p.Top > 0 && len(entries) > p.Top {
			entries = entries[len(entries)-p.Top:]
		}
	} else if p.Top > 0 && len(entries) > p.Top {
		entries = entries[:p.Top]
	}
	p.Mu.Lock()
	defer p.Mu.Unlock()
	if p.JSON {
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
	_, err = io.WriteString(p.W, sb.String())
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

func (p *Printer) writeTableJSON(t *bcc.Table, entries []entry, total int, now time.Time) error {
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
	return cli.WriteJSON(p.W, out)
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
func (p *Printer) printHistogram(t *bcc.Table, kind histKind, now time.Time) error {
	scale := bcc.Log2Scale
	if kind == histLinear {
		scale = bcc.LinearScale
	}
	if p.JSON {
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
		p.Mu.Lock()
		defer p.Mu.Unlock()
		return cli.WriteJSON(p.W, out)
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
	p.Mu.Lock()
	defer p.Mu.Unlock()
	_, err = io.WriteString(p.W, sb.String())
	return err
}
