package bcc

import (
	"bufio"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/gobcc/gobcc/internal/ctype"
)

// BCC's limits: a log2 histogram has slots 0..64, which holds any 64-bit
// value, a linear one 0..1024.
const (
	log2IndexMax   = 65
	linearIndexMax = 1025
	starsMax       = 40
)

// HistOptions are the keyword arguments of BCC's print_log2_hist,
// print_linear_hist and print_json_hist. The zero value is BCC's defaults.
//
// Tables with a struct key hold one histogram per bucket: the key's first
// member is the bucket and its second the slot (BCC's decode_c_struct). A
// bucket reaches the functions below as int64 (signed integer member),
// uint64 (unsigned), []byte (char array, as Python's bytes) or Value
// (anything else), or as whatever BucketFn returned.
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
	// (strip_leading_zero).
	StripLeadingZero bool
}

// histSection is one bucket's slots.
type histSection struct {
	bucket any
	vals   []*big.Int
}

// histSections reads the table into histograms: one without a bucket for
// integer keys, one per bucket for struct keys. slots is the number of
// slots a histogram has.
func (t *Table) histSections(slots int, opts *HistOptions) ([]histSection, bool, error) {
	items, err := t.Items()
	if err != nil {
		return nil, false, err
	}
	if t.keyType.Kind != ctype.Struct {
		if !t.keyType.IsInteger() {
			return nil, false, fmt.Errorf("table %s: a histogram needs an integer or struct key, not %s: %w", t.name, t.keyType, ErrTypeMismatch)
		}
		vals := newSlots(slots)
		for _, it := range items {
			if err := t.setSlot(vals, it.Key, it); err != nil {
				return nil, false, err
			}
		}
		return []histSection{{vals: vals}}, false, nil
	}
	if len(t.keyType.Fields) < 2 {
		return nil, false, fmt.Errorf("table %s: a histogram struct key needs a bucket and a slot member: %w", t.name, ErrTypeMismatch)
	}
	var sections []*histSection
	index := map[string]*histSection{}
	for _, it := range items {
		bucket := bucketOf(it.Key.FieldAt(0))
		if opts.BucketFn != nil {
			bucket = opts.BucketFn(bucket)
		}
		id := bucketID(bucket)
		s, ok := index[id]
		if !ok {
			s = &histSection{bucket: bucket, vals: newSlots(slots)}
			index[id] = s
			sections = append(sections, s)
		}
		slot := it.Key.FieldAt(1)
		if !slot.Type().IsInteger() {
			return nil, false, fmt.Errorf("table %s: slot member %s is not an integer: %w", t.name, slot.Type(), ErrTypeMismatch)
		}
		if err := t.setSlot(s.vals, slot, it); err != nil {
			return nil, false, err
		}
	}
	if opts.BucketSortFn != nil {
		buckets := make([]any, len(sections))
		for i, s := range sections {
			buckets[i] = s.bucket
		}
		sorted := opts.BucketSortFn(buckets)
		out := make([]histSection, 0, len(sorted))
		for _, b := range sorted {
			s, ok := index[bucketID(b)]
			if !ok {
				return nil, false, fmt.Errorf("table %s: BucketSortFn returned bucket %v, which the table does not have", t.name, b)
			}
			out = append(out, *s)
		}
		return out, true, nil
	}
	out := make([]histSection, len(sections))
	for i, s := range sections {
		out[i] = *s
	}
	return out, true, nil
}

func newSlots(n int) []*big.Int {
	vals := make([]*big.Int, n)
	for i := range vals {
		vals[i] = new(big.Int)
	}
	return vals
}

// setSlot stores the item's value in slot index (BCC assigns, it does not
// add, when two keys land in one slot). Per-CPU values are summed.
func (t *Table) setSlot(vals []*big.Int, index Value, it Item) error {
	i := index.Big()
	if i.Sign() < 0 || i.Cmp(big.NewInt(int64(len(vals)))) >= 0 {
		return fmt.Errorf("table %s: histogram slot %s outside [0, %d): %w", t.name, i, len(vals), ErrKeyNotExist)
	}
	if !t.leafType.IsInteger() {
		return fmt.Errorf("table %s: histogram counts must be integers, not %s: %w", t.name, t.leafType, ErrTypeMismatch)
	}
	v := new(big.Int)
	if it.PerCPU != nil {
		for _, c := range it.PerCPU {
			v.Add(v, c.Big())
		}
	} else {
		v.Set(it.Value.Big())
	}
	vals[i.Int64()] = v
	return nil
}

// bucketOf gives a bucket member the Go form Python would give it.
func bucketOf(v Value) any {
	switch {
	case v.Kind() == ctype.CharArray:
		return []byte(v.Str())
	case v.Type().IsInteger() && v.Type().Size <= 8:
		if v.Type().IsSigned() {
			return v.Int64()
		}
		return v.Uint64()
	}
	return v
}

// bucketID is a comparable identity for a bucket of any Go type.
func bucketID(b any) string {
	switch x := b.(type) {
	case []byte:
		return "b:" + string(x)
	case Value:
		return "v:" + hex.EncodeToString(x.Bytes())
	}
	return fmt.Sprintf("%T:%#v", b, b)
}

// pyRepr formats a bucket as Python's %r formats the value BCC has.
func pyRepr(b any) string {
	switch x := b.(type) {
	case []byte:
		return "b" + pyQuote(string(x), true)
	case string:
		return pyQuote(x, false)
	case bool:
		if x {
			return "True"
		}
		return "False"
	case float64:
		if x == float64(int64(x)) && x < 1e16 && x > -1e16 {
			return strconv.FormatFloat(x, 'f', 1, 64)
		}
		return strconv.FormatFloat(x, 'g', -1, 64)
	case nil:
		return "None"
	}
	return fmt.Sprint(b)
}

// pyQuote quotes s as Python's repr does for bytes (asBytes) or str.
func pyQuote(s string, asBytes bool) string {
	quote := byte('\'')
	if strings.IndexByte(s, '\'') >= 0 && strings.IndexByte(s, '"') < 0 {
		quote = '"'
	}
	var b strings.Builder
	b.WriteByte(quote)
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == quote || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c == '\t':
			b.WriteString(`\t`)
		case c == '\n':
			b.WriteString(`\n`)
		case c == '\r':
			b.WriteString(`\r`)
		case c < 0x20 || c == 0x7f || (asBytes && c >= 0x80):
			fmt.Fprintf(&b, `\x%02x`, c)
		case c >= 0x80:
			r, size := utf8.DecodeRuneInString(s[i:])
			switch {
			case r == utf8.RuneError && size == 1:
				fmt.Fprintf(&b, `\udc%02x`, c) // Python's surrogateescape
			case unicode.IsPrint(r):
				b.WriteString(s[i : i+size])
			case r <= 0xff:
				fmt.Fprintf(&b, `\x%02x`, r)
			case r <= 0xffff:
				fmt.Fprintf(&b, `\u%04x`, r)
			default:
				fmt.Fprintf(&b, `\U%08x`, r)
			}
			i += size
			continue
		default:
			b.WriteByte(c)
		}
		i++
	}
	b.WriteByte(quote)
	return b.String()
}

func (o *HistOptions) header() string {
	if o.SectionHeader == "" {
		return "Bucket ptr"
	}
	return o.SectionHeader
}

func (o *HistOptions) sectionTitle(bucket any) string {
	if o.SectionPrintFn != nil {
		return o.SectionPrintFn(bucket)
	}
	return pyRepr(bucket)
}

func histArgs(valType string, opts *HistOptions) (string, *HistOptions) {
	if valType == "" {
		valType = "value"
	}
	if opts == nil {
		opts = &HistOptions{}
	}
	return valType, opts
}

// PrintLog2Hist prints the table as log2 histograms, byte for byte as BCC
// Python's print_log2_hist(val_type, ...) prints the same table: slot i
// counts values from 2^(i-1) to 2^i-1, and when a slot above 32 is used the
// columns widen. valType heads the value column ("" means "value"); opts
// may be nil. The key is the slot (an integer), or a struct whose first
// member is a bucket and second the slot, giving one histogram per bucket
// under a "\n<SectionHeader> = <bucket>" heading. Counts must be integers;
// per-CPU counts are summed (BCC cannot print per-CPU tables).
func (t *Table) PrintLog2Hist(w io.Writer, valType string, opts *HistOptions) error {
	return t.printHist(w, valType, opts, log2IndexMax, printLog2)
}

// PrintLinearHist prints the table as linear histograms, one line per
// slot, as BCC Python's print_linear_hist does; see PrintLog2Hist for the
// key forms and options. Slots go up to 1024 (BCC stops struct keys at 64).
func (t *Table) PrintLinearHist(w io.Writer, valType string, opts *HistOptions) error {
	return t.printHist(w, valType, opts, linearIndexMax, printLinear)
}

// printHist prints each section of the table (one per bucket of a struct
// key) with printSection, under a heading when the key has buckets.
func (t *Table) printHist(w io.Writer, valType string, opts *HistOptions, indexMax int, printSection func(io.Writer, []*big.Int, string, bool)) error {
	valType, opts = histArgs(valType, opts)
	sections, titled, err := t.histSections(indexMax, opts)
	if err != nil {
		return err
	}
	bw := bufio.NewWriter(w)
	for _, s := range sections {
		if titled {
			fmt.Fprintf(bw, "\n%s = %s\n", opts.header(), opts.sectionTitle(s.bucket))
		}
		printSection(bw, s.vals, valType, opts.StripLeadingZero)
	}
	return bw.Flush()
}

// JSONHistInterval is one slot of a JSON histogram.
type JSONHistInterval struct {
	Start uint64 `json:"interval-start"`
	End   uint64 `json:"interval-end"`
	// Count is a json.Number so that counts of any width stay exact.
	Count json.Number `json:"count"`
}

// PrintJSONHist prints each log2 histogram of the table as one line of JSON
// with BCC's print_json_hist fields in its order: "ts" (local time,
// "2006-01-02 15:04:05"), "val_type", "data" (the slots from 1 to the last
// non-empty one as interval-start, interval-end and count) and, for struct
// keys, the section header with the bucket (SectionPrintFn's text, or the
// bucket: integers as numbers, char arrays as strings). BCC prints a Python
// dict instead of JSON; each line here is what Python's json.dumps gives
// for that dict, separators included.
// StripLeadingZero does not apply, as in BCC.
func (t *Table) PrintJSONHist(w io.Writer, valType string, opts *HistOptions) error {
	valType, opts = histArgs(valType, opts)
	sections, titled, err := t.histSections(log2IndexMax, opts)
	if err != nil {
		return err
	}
	bw := bufio.NewWriter(w)
	for _, s := range sections {
		var line strings.Builder
		line.WriteString(`{"ts": `)
		writeJSON(&line, time.Now().Format("2006-01-02 15:04:05"))
		line.WriteString(`, "val_type": `)
		writeJSON(&line, valType)
		line.WriteString(`, "data": [`)
		for i, iv := range jsonIntervals(s.vals) {
			if i > 0 {
				line.WriteString(", ")
			}
			fmt.Fprintf(&line, `{"interval-start": %d, "interval-end": %d, "count": %s}`, iv.Start, iv.End, iv.Count)
		}
		line.WriteString("]")
		if titled {
			line.WriteString(", ")
			writeJSON(&line, opts.header())
			line.WriteString(": ")
			if opts.SectionPrintFn != nil {
				writeJSON(&line, opts.SectionPrintFn(s.bucket))
			} else if b, ok := s.bucket.([]byte); ok {
				writeJSON(&line, string(b))
			} else {
				writeJSON(&line, s.bucket)
			}
		}
		line.WriteString("}\n")
		bw.WriteString(line.String())
	}
	return bw.Flush()
}

func writeJSON(b *strings.Builder, v any) {
	out, err := json.Marshal(v)
	if err != nil {
		// Only a user's bucket type can fail to marshal: print it as text.
		out, _ = json.Marshal(fmt.Sprint(v))
	}
	b.Write(out)
}

// jsonIntervals follows BCC's _print_json_hist: slot 0 is skipped and slot
// i covers [2^(i-1), 2^i - 1], with slot 1 starting at 0.
func jsonIntervals(vals []*big.Int) []JSONHistInterval {
	maxNonzero := 0
	for i, v := range vals {
		if v.Sign() != 0 {
			maxNonzero = i
		}
	}
	out := []JSONHistInterval{}
	index, prev := uint64(1), uint64(0)
	for i := 1; i <= maxNonzero; i++ {
		index *= 2 // wraps to 0 at slot 64, so that End is 2^64-1
		out = append(out, JSONHistInterval{Start: prev, End: index - 1, Count: json.Number(vals[i].String())})
		prev = index
	}
	return out
}

// histScan finds the last positive slot and the largest count.
func histScan(vals []*big.Int) (idxMax int, valMax *big.Int) {
	idxMax, valMax = -1, new(big.Int)
	for i, v := range vals {
		if v.Sign() > 0 {
			idxMax = i
		}
		if v.Cmp(valMax) > 0 {
			valMax = v
		}
	}
	return idxMax, valMax
}

// stars is BCC's _stars: width*val/valMax stars (Python's true division,
// correctly rounded), at most width, the last one '+' if val > valMax.
func stars(val, valMax *big.Int, width int) string {
	if valMax.Sign() == 0 {
		return ""
	}
	num := new(big.Int).Mul(big.NewInt(int64(width)), val)
	q, _ := new(big.Rat).SetFrac(num, valMax).Float64()
	n := 0
	for !(float64(n) > q-1) && !(n > width-1) {
		n++
	}
	text := strings.Repeat("*", n)
	if val.Cmp(valMax) > 0 && n > 0 {
		text = text[:n-1] + "+"
	}
	return text
}

// padRight is %-Nd for big integers.
func padRight(s string, n int) string {
	if len(s) >= n {
		return s
	}
	return s + strings.Repeat(" ", n-len(s))
}

func printLog2(w io.Writer, vals []*big.Int, valType string, strip bool) {
	idxMax, valMax := histScan(vals)
	var header string
	lowW, width := 10, starsMax
	if idxMax <= 32 {
		header = fmt.Sprintf("     %-19s : count     distribution", valType)
	} else {
		header = fmt.Sprintf("               %-29s : count     distribution", valType)
		lowW, width = 20, starsMax/2
	}
	if idxMax > 0 {
		fmt.Fprintln(w, header)
	}
	for i := 1; i <= idxMax; i++ {
		low := uint64(1) << (i - 1)
		high := low<<1 - 1 // 2^64-1 at i=64 by wrapping
		if low == high {
			low--
		}
		val := vals[i]
		if strip {
			if val.Sign() == 0 {
				continue
			}
			strip = false
		}
		fmt.Fprintf(w, "%*d -> %-*d : %s |%-*s|\n", lowW, low, lowW, high, padRight(val.String(), 8), width, stars(val, valMax, width))
	}
}

func printLinear(w io.Writer, vals []*big.Int, valType string, strip bool) {
	idxMax, valMax := histScan(vals)
	if idxMax >= 0 {
		fmt.Fprintf(w, "     %-13s : count     distribution\n", valType)
	}
	for i := 0; i <= idxMax; i++ {
		val := vals[i]
		if strip {
			if val.Sign() == 0 {
				continue
			}
			strip = false
		}
		fmt.Fprintf(w, "        %-10d : %s |%-*s|\n", i, padRight(val.String(), 8), starsMax, stars(val, valMax, starsMax))
	}
}
