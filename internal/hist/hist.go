// Package hist formats histograms as BCC Python's table.py does
// (_print_log2_hist, _print_linear_hist, _print_json_hist), byte for byte,
// and prints bucket values as Python's %r would. The formatting knows
// nothing of tables (callers give it the counts of each slot); FromTable
// groups a table's decoded entries (internal/maps) into histograms as
// BCC's print_*_hist functions read them, for bcc.Table.Histogram.
package hist

import (
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"strings"
)

// BCC's limits: a log2 histogram has slots 0..64, which holds any 64-bit
// value, a linear one 0..1024.
const (
	Log2Slots   = 65
	LinearSlots = 1025
	starsMax    = 40
)

// Log2Bounds returns the values log2 slot i counts (bpf_log2l): 0 for slot
// 0, 2^(i-1) to 2^i-1 for the others, 2^63 to 2^64-1 for slot 64.
func Log2Bounds(i int) (low, high uint64) {
	if i <= 0 {
		return 0, 0
	}
	low = uint64(1) << (i - 1)
	return low, low<<1 - 1 // wraps to 2^64-1 at i=64
}

// scan finds the last positive slot and the largest count.
func scan(vals []*big.Int) (idxMax int, valMax *big.Int) {
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

// LastSlot returns the last slot with a positive count, -1 if none.
func LastSlot(vals []*big.Int) int {
	i, _ := scan(vals)
	return i
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

// PrintLog2 prints vals as _print_log2_hist does: slots 1 to the last
// positive one (slot 1 shown as "0 -> 1"), wider columns when a slot above
// 32 is used; with strip, the empty slots before the first non-empty one
// are left out.
func PrintLog2(w io.Writer, vals []*big.Int, valType string, strip bool) {
	idxMax, valMax := scan(vals)
	header := fmt.Sprintf("     %-19s : count     distribution", valType)
	lowW, width := 10, starsMax
	if idxMax > 32 {
		header = fmt.Sprintf("               %-29s : count     distribution", valType)
		lowW, width = 20, starsMax/2
	}
	if idxMax > 0 {
		fmt.Fprintln(w, header)
	}
	for i := 1; i <= idxMax; i++ {
		low, high := Log2Bounds(i)
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

// PrintLinear prints vals as _print_linear_hist does: one line per slot
// from 0 to the last positive one.
func PrintLinear(w io.Writer, vals []*big.Int, valType string, strip bool) {
	idxMax, valMax := scan(vals)
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

// JSONLine formats one log2 histogram as the dict _print_json_hist prints,
// in JSON with Python's json.dumps separators: "ts", "val_type", "data"
// (slots 1 to the last non-zero one, slot i covering 2^(i-1) to 2^i-1 and
// slot 1 starting at 0), then, when header is not "", header with the
// section's value. The line ends with a newline.
func JSONLine(ts, valType string, vals []*big.Int, header string, section any) string {
	var b strings.Builder
	b.WriteString(`{"ts": `)
	writeJSON(&b, ts)
	b.WriteString(`, "val_type": `)
	writeJSON(&b, valType)
	b.WriteString(`, "data": [`)
	last := 0
	for i, v := range vals {
		if v.Sign() != 0 {
			last = i
		}
	}
	prev := uint64(0)
	for i := 1; i <= last; i++ {
		_, high := Log2Bounds(i)
		if i > 1 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, `{"interval-start": %d, "interval-end": %d, "count": %s}`, prev, high, vals[i])
		prev = high + 1
	}
	b.WriteString("]")
	if header != "" {
		b.WriteString(", ")
		writeJSON(&b, header)
		b.WriteString(": ")
		writeJSON(&b, section)
	}
	b.WriteString("}\n")
	return b.String()
}

func writeJSON(b *strings.Builder, v any) {
	out, err := json.Marshal(v)
	if err != nil {
		// Only a user's bucket type can fail to marshal: print it as text.
		out, _ = json.Marshal(fmt.Sprint(v))
	}
	b.Write(out)
}
