package hist

import (
	"encoding/hex"
	"fmt"
	"math/big"
)

// Point is one table entry as a histogram sees it: the bucket it belongs to
// (for tables with a struct key), its slot and its count.
type Point struct {
	Bucket any
	Slot   *big.Int
	Count  *big.Int
}

// Section is one histogram: the counts of every slot of one bucket.
type Section struct {
	Bucket any
	Title  string // the bucket as headings print it, set by the caller
	Counts []*big.Int
}

// Hexer is a bucket type identified by its bytes (a decoded C value).
type Hexer interface{ Bytes() []byte }

// Group files points into histograms of n slots as BCC's decode_c_struct
// does: one section per distinct bucket in order of first appearance, or,
// when sortBuckets is set, in the order it returns. When two points share
// a slot the later one wins (BCC assigns, it does not add). With keyed
// false there is exactly one section, even for no points. A slot outside
// [0, n) is an error wrapping outOfRange.
func Group(points []Point, n int, keyed bool, sortBuckets func([]any) []any, outOfRange error) ([]Section, error) {
	var sections []*Section
	index := map[string]*Section{}
	if !keyed {
		sections = append(sections, &Section{Counts: zeros(n)})
	}
	for _, p := range points {
		s := sections
		if keyed {
			id := bucketID(p.Bucket)
			if index[id] == nil {
				index[id] = &Section{Bucket: p.Bucket, Counts: zeros(n)}
				sections = append(sections, index[id])
			}
			s = []*Section{index[id]}
		}
		if p.Slot.Sign() < 0 || p.Slot.Cmp(big.NewInt(int64(n))) >= 0 {
			return nil, fmt.Errorf("histogram slot %s outside [0, %d): %w", p.Slot, n, outOfRange)
		}
		s[0].Counts[p.Slot.Int64()] = p.Count
	}
	if keyed && sortBuckets != nil {
		buckets := make([]any, len(sections))
		for i, s := range sections {
			buckets[i] = s.Bucket
		}
		sections = sections[:0]
		for _, b := range sortBuckets(buckets) {
			s, ok := index[bucketID(b)]
			if !ok {
				return nil, fmt.Errorf("the bucket sort function returned bucket %v, which the table does not have", b)
			}
			sections = append(sections, s)
		}
	}
	out := make([]Section, len(sections))
	for i, s := range sections {
		out[i] = *s
	}
	return out, nil
}

func zeros(n int) []*big.Int {
	vals := make([]*big.Int, n)
	for i := range vals {
		vals[i] = new(big.Int)
	}
	return vals
}

// bucketID is a comparable identity for a bucket of any Go type.
func bucketID(b any) string {
	switch x := b.(type) {
	case []byte:
		return "b:" + string(x)
	case Hexer:
		return fmt.Sprintf("%T:", b) + hex.EncodeToString(x.Bytes())
	}
	return fmt.Sprintf("%T:%#v", b, b)
}
