package hist

import (
	"bufio"
	"fmt"
	"io"
	"math/big"
	"time"

	"github.com/gobcc/gobcc/internal/bpfsys"
	"github.com/gobcc/gobcc/internal/ctype"
	"github.com/gobcc/gobcc/internal/maps"
)

// TableOptions are the keyword arguments of BCC's print_*_hist that decide
// how a table's entries are grouped (bcc.HistOptions' BucketFn and
// BucketSortFn).
type TableOptions struct {
	BucketFn     func(bucket any) any
	BucketSortFn func(buckets []any) []any
	// SectionTitleFn gives a keyed section's Title from its bucket
	// (section_print_fn); default PyRepr, as Python prints it.
	SectionTitleFn func(bucket any) string
}

// FromTable groups a table's entries into sections of n slots as BCC's
// print_*_hist functions read tables: an integer key is the slot; a struct
// key's first member is the bucket and its second the slot (BCC's
// decode_c_struct), giving one section per bucket (keyed true). Counts
// must be integers; per-CPU counts are summed. read is called after the
// types are checked. A bucket is given the Go form Python would give it:
// int64 or uint64 for integers, []byte for char arrays, wrap(v) otherwise.
func FromTable(table string, key, leaf *ctype.Type, read func() ([]maps.Entry, error), n int,
	o TableOptions, wrap func(ctype.Value) any) (sections []Section, keyed bool, err error) {
	if !leaf.IsInteger() {
		return nil, false, fmt.Errorf("table %s: histogram counts must be integers, not %s: %w", table, leaf, maps.ErrTypeMismatch)
	}
	keyed = key.Kind == ctype.Struct
	if !keyed && !key.IsInteger() {
		return nil, false, fmt.Errorf("table %s: a histogram needs an integer or struct key, not %s: %w", table, key, maps.ErrTypeMismatch)
	}
	if keyed && (len(key.Fields) < 2 || !key.Fields[1].Type.IsInteger()) {
		return nil, false, fmt.Errorf("table %s: a histogram struct key needs a bucket and an integer slot member: %w", table, maps.ErrTypeMismatch)
	}
	entries, err := read()
	if err != nil {
		return nil, false, err
	}
	points := make([]Point, len(entries))
	for i, e := range entries {
		points[i] = Point{Slot: e.Key.Big(), Count: count(e)}
		if keyed {
			points[i].Bucket, points[i].Slot = bucketOf(e.Key.FieldAt(0), wrap), e.Key.FieldAt(1).Big()
			if o.BucketFn != nil {
				points[i].Bucket = o.BucketFn(points[i].Bucket)
			}
		}
	}
	var sortFn func([]any) []any
	if keyed {
		sortFn = o.BucketSortFn
	}
	sections, err = Group(points, n, keyed, sortFn, bpfsys.ErrKeyNotExist)
	if err != nil {
		return nil, false, fmt.Errorf("table %s: %w", table, err)
	}
	for i := range sections {
		switch {
		case keyed && o.SectionTitleFn != nil:
			sections[i].Title = o.SectionTitleFn(sections[i].Bucket)
		case keyed:
			sections[i].Title = PyRepr(sections[i].Bucket)
		}
	}
	return sections, keyed, nil
}

// count is an entry's integer value, summed over CPUs for per-CPU tables.
func count(e maps.Entry) *big.Int {
	if e.PerCPU == nil {
		return e.Value.Big()
	}
	v := new(big.Int)
	for _, c := range e.PerCPU {
		v.Add(v, c.Big())
	}
	return v
}

// bucketOf gives a bucket member the Go form Python would give it.
func bucketOf(v ctype.Value, wrap func(ctype.Value) any) any {
	t := v.Type()
	switch {
	case v.Kind() == ctype.CharArray:
		return []byte(v.Str())
	case t.IsInteger() && t.Size <= 8:
		if t.IsSigned() {
			return v.Int64()
		}
		return v.Uint64()
	}
	return wrap(v)
}

// Slot is one slot of a histogram: the values it counts and how many
// there were.
type Slot struct {
	Low, High uint64
	Count     *big.Int
}

// Slots are the section's slots from 0 to the last one with a positive
// count, log2 slots (Log2Bounds) or linear ones (slot i counts i).
func (s Section) Slots(log2 bool) []Slot {
	var out []Slot
	for slot := range LastSlot(s.Counts) + 1 {
		low, high := uint64(slot), uint64(slot)
		if log2 {
			low, high = Log2Bounds(slot)
		}
		out = append(out, Slot{Low: low, High: high, Count: s.Counts[slot]})
	}
	return out
}

// PrintOptions say how Print prints sections.
type PrintOptions struct {
	Keyed   bool   // sections are buckets of a struct key: print headings
	Header  string // the heading's name of the bucket (section_header)
	ValType string // heads the value column; "" means "value"
	Strip   bool   // strip_leading_zero (text forms only)
	Linear  bool   // print_linear_hist instead of print_log2_hist
	// JSON prints print_json_hist's lines, stamped with Now, instead of text.
	JSON bool
	Now  time.Time
	// Titled gives JSON the section's Title (section_print_fn's text)
	// instead of its bucket.
	Titled bool
}

// Print prints sections as BCC's print_log2_hist, print_linear_hist or
// print_json_hist prints them: a "\n<Header> = <Title>" heading before
// each bucket's histogram, or one JSON line per section.
func Print(w io.Writer, sections []Section, o PrintOptions) error {
	if o.ValType == "" {
		o.ValType = "value"
	}
	bw := bufio.NewWriter(w)
	for _, s := range sections {
		switch {
		case o.JSON:
			header, section := "", any(nil)
			if o.Keyed {
				header, section = o.Header, s.Bucket
				if o.Titled {
					section = s.Title
				} else if b, ok := s.Bucket.([]byte); ok {
					section = string(b)
				}
			}
			bw.WriteString(JSONLine(o.Now.Format("2006-01-02 15:04:05"), o.ValType, s.Counts, header, section))
			continue
		case o.Keyed:
			fmt.Fprintf(bw, "\n%s = %s\n", o.Header, s.Title)
		}
		if o.Linear {
			PrintLinear(bw, s.Counts, o.ValType, o.Strip)
		} else {
			PrintLog2(bw, s.Counts, o.ValType, o.Strip)
		}
	}
	return bw.Flush()
}
