package parity_test

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"testing"

	"github.com/gobcc/gobcc/bcc"
	"github.com/gobcc/gobcc/internal/bpfsys"
)

// Glue to gobcc features beyond the core: extra attach kinds, queue/stack
// contents, histogram printing.

func attachGoExtra(b *bcc.BPF, at attachSpec) error {
	switch at.Kind {
	case "uprobe":
		_, err := b.AttachUprobe(at.Binary, at.Target, at.Fn)
		return err
	case "uretprobe":
		_, err := b.AttachUretprobe(at.Binary, at.Target, at.Fn)
		return err
	case "perf_event":
		// Every process on every CPU, as run_bcc.py: a pid would be one
		// thread (perf_event_open takes a tid), and the Go workload runs
		// on whichever thread the scheduler picks. The program filters.
		_, err := b.AttachPerfEvent(uint32(at.EvType), uint64(at.EvConfig), at.Fn,
			bcc.PerfEventOptions{SamplePeriod: uint64(at.SamplePeriod)})
		return err
	}
	return fmt.Errorf("attach kind %q not supported by the parity suite", at.Kind)
}

// popAll pops a queue or stack until it is empty, as BCC's
// QueueStack.values() does. gobcc has no Pop yet, so this pops with
// BPF_MAP_LOOKUP_AND_DELETE_ELEM (a NULL key) directly and decodes the
// values with the table's C type, which is what a Pop would return.
func popAll(tb *bcc.Table) ([]bcc.Value, error) {
	var out []bcc.Value
	for range tb.MaxEntries() {
		buf := make([]byte, tb.LeafSize())
		if err := bpfsys.MapLookupAndDelete(tb.FD(), nil, buf); err != nil {
			if errors.Is(err, bpfsys.ErrKeyNotExist) {
				break
			}
			return out, err
		}
		v, err := tb.LeafType().Decode(buf)
		if err != nil {
			return out, err
		}
		out = append(out, v)
	}
	return out, nil
}

// histText prints a histogram table with PrintLog2Hist or PrintLinearHist,
// with the same arguments run_bcc.py gives print_log2_hist and
// print_linear_hist.
func histText(t *testing.T, tb *bcc.Table, log2 bool, header string) *string {
	t.Helper()
	var buf bytes.Buffer
	// Sections come in the table's iteration order in both front ends,
	// which differs between batch and key-by-key reads: both runners sort.
	opts := bcc.HistOptions{SectionHeader: header, BucketSortFn: func(b []any) []any {
		sort.Slice(b, func(i, j int) bool { return fmt.Sprint(b[i]) < fmt.Sprint(b[j]) })
		return b
	}}
	var err error
	if log2 {
		err = tb.PrintLog2Hist(&buf, "value", opts)
	} else {
		err = tb.PrintLinearHist(&buf, "value", opts)
	}
	if err != nil {
		t.Errorf("printing %s: %v", tb.Name(), err)
		return nil
	}
	s := buf.String()
	return &s
}

func comparePopped(t *testing.T, pt *pyTable, gt *goTable) {
	t.Helper()
	if gt.err != nil {
		t.Fatalf("gobcc: popping %s: %v", gt.name, gt.err)
	}
	if len(gt.popped) != len(pt.PoppedHex) || len(gt.popped) == 0 {
		t.Fatalf("popped: gobcc %d values, BCC %d", len(gt.popped), len(pt.PoppedHex))
	}
	for i, v := range gt.popped {
		if h := hex.EncodeToString(v.Bytes()); h != pt.PoppedHex[i] {
			t.Errorf("pop %d bytes: gobcc %s, BCC %s", i, h, pt.PoppedHex[i])
		}
		if err := compareValue(pt.Popped[i], v); err != nil {
			t.Errorf("pop %d: %v", i, err)
		}
	}
}
