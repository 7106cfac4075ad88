package bcc

import (
	"io"
	"math/big"
	"time"

	"github.com/gobcc/gobcc/internal/ctype"
	"github.com/gobcc/gobcc/internal/hist"
)

// HistOptions are the keyword arguments of BCC's print_log2_hist,
// print_linear_hist and print_json_hist. The zero value is BCC's defaults.
//
// A table with a struct key holds one histogram per bucket: as BCC's
// decode_c_struct, the key's first member is the bucket and its second the
// slot (libbcc's padding members are not members here, which is BCC's
// "__pad_1" special case). A bucket reaches the functions below as int64
// (signed integer member), uint64 (unsigned), []byte (char array, as
// Python's bytes) or Value (anything else), or as whatever BucketFn
// returned.
type HistOptions struct {
	// SectionHeader names the bucket in each section's heading; default
	// "Bucket ptr".
	SectionHeader string
	// SectionPrintFn formats a bucket for its heading (section_print_fn).
	// Without it the bucket is printed as Python's %r would.
	SectionPrintFn func(bucket any) string
	// BucketFn maps each key's bucket to the bucket it is counted in
	// (bucket_fn); keys mapped to the same bucket share one histogram.
	BucketFn func(bucket any) any
	// BucketSortFn orders the buckets (bucket_sort_fn); without it they
	// come in the order the table yields them.
	BucketSortFn func(buckets []any) []any
	// StripLeadingZero omits the empty slots before the first non-empty one
	// when printing (strip_leading_zero).
	StripLeadingZero bool
}

// HistScale says which values a histogram slot counts.
type HistScale int

const (
	// Log2Scale: slot 0 counts 0 and slot i counts 2^(i-1) to 2^i-1, as
	// bpf_log2l(v) files them (BPF_HISTOGRAM with bpf_log2l, print_log2_hist).
	// Slots go up to 64.
	Log2Scale HistScale = iota
	// LinearScale: slot i counts the value i (print_linear_hist). Slots go
	// up to 1024.
	LinearScale
)

// HistSlot is one slot of a histogram: the values it counts and how many
// there were (summed over CPUs for per-CPU tables; exact at any width).
type HistSlot struct {
	Low, High uint64
	Count     *big.Int
}

// HistSection is one histogram of a table: the whole table for an integer
// key, one bucket of a struct key otherwise.
type HistSection struct {
	// Bucket is the section's bucket (see HistOptions), nil for a table
	// with an integer key.
	Bucket any
	// Title is the bucket as BCC's heading prints it: SectionPrintFn's text,
	// or Python's %r of the bucket; "" for a table with an integer key.
	Title string
	// Slots are slots 0 to the last one with a positive count (none when
	// the histogram is empty).
	Slots []HistSlot
}

// Histogram reads the table as BCC's print_*_hist functions do and returns
// its histograms: one for an integer key (the slot), one per bucket for a
// struct key of (bucket, slot), in the order BucketSortFn gives or else in
// table order. Counts must be integers (per-CPU counts are summed); a slot
// beyond the scale's last is an error wrapping ErrKeyNotExist, as BCC
// raises IndexError. opts takes zero or one HistOptions.
func (t *Table) Histogram(scale HistScale, opts ...HistOptions) ([]HistSection, error) {
	o, err := oneOption(opts)
	if err != nil {
		return nil, err
	}
	grouped, _, err := t.histSections(scale, &o)
	if err != nil {
		return nil, err
	}
	out := make([]HistSection, len(grouped))
	for i, g := range grouped {
		out[i] = HistSection{Bucket: g.Bucket, Title: g.Title}
		for _, slot := range g.Slots(scale == Log2Scale) {
			out[i].Slots = append(out[i].Slots, HistSlot(slot))
		}
	}
	return out, nil
}

// histSections reads the table's histograms with their titles.
func (t *Table) histSections(scale HistScale, o *HistOptions) ([]hist.Section, bool, error) {
	slots := hist.Log2Slots
	if scale == LinearScale {
		slots = hist.LinearSlots
	}
	sections, keyed, err := hist.FromTable(t.name, t.m.Key(), t.m.Leaf(), t.m.Entries, slots,
		hist.TableOptions{BucketFn: o.BucketFn, BucketSortFn: o.BucketSortFn, SectionTitleFn: o.SectionPrintFn},
		func(v ctype.Value) any { return Value{v} })
	return sections, keyed, err
}

// printHist prints the table's histograms through hist.Print.
func (t *Table) printHist(w io.Writer, valType string, opts []HistOptions, scale HistScale, json bool) error {
	o, err := oneOption(opts)
	if err != nil {
		return err
	}
	sections, keyed, err := t.histSections(scale, &o)
	if err != nil {
		return err
	}
	header := o.SectionHeader
	if header == "" {
		header = "Bucket ptr"
	}
	return hist.Print(w, sections, hist.PrintOptions{Keyed: keyed, Header: header, ValType: valType,
		Strip: o.StripLeadingZero, Linear: scale == LinearScale, JSON: json, Now: time.Now(), Titled: o.SectionPrintFn != nil})
}

// PrintLog2Hist prints the table as log2 histograms, byte for byte as BCC
// Python's print_log2_hist(val_type, ...) prints the same table: slot i
// counts values from 2^(i-1) to 2^i-1, and when a slot above 32 is used the
// columns widen. valType heads the value column ("" means "value"); opts
// takes zero or one HistOptions. The key is the slot, or a struct of
// bucket and slot giving one histogram per bucket under a
// "\n<SectionHeader> = <bucket>" heading (see Histogram). Per-CPU counts
// are summed (BCC cannot print per-CPU tables).
func (t *Table) PrintLog2Hist(w io.Writer, valType string, opts ...HistOptions) error {
	return t.printHist(w, valType, opts, Log2Scale, false)
}

// PrintLinearHist prints the table as linear histograms, one line per
// slot, as BCC Python's print_linear_hist does; see PrintLog2Hist for the
// key forms and options. Slots go up to 1024 (BCC stops struct keys at 64).
func (t *Table) PrintLinearHist(w io.Writer, valType string, opts ...HistOptions) error {
	return t.printHist(w, valType, opts, LinearScale, false)
}

// PrintJSONHist prints each log2 histogram of the table as one line of JSON
// with BCC's print_json_hist fields in its order: "ts" (local time,
// "2006-01-02 15:04:05"), "val_type", "data" (the slots from 1 to the last
// non-empty one as interval-start, interval-end and count) and, for struct
// keys, the section header with the bucket (SectionPrintFn's text, or the
// bucket: integers as numbers, char arrays as strings). BCC prints a Python
// dict instead of JSON; each line here is what Python's json.dumps gives
// for that dict, separators included. StripLeadingZero does not apply, as
// in BCC.
func (t *Table) PrintJSONHist(w io.Writer, valType string, opts ...HistOptions) error {
	return t.printHist(w, valType, opts, Log2Scale, true)
}
