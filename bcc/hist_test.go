package bcc

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/gobcc/gobcc/internal/testutil"
)

// histParityProg has one table per histogram shape. Struct-keyed hashes use
// BPF_F_ZERO_SEED so that gobcc's map and Python's, filled in the same
// order, iterate in the same order: without a bucket_sort_fn both print
// buckets in table order.
const histParityProg = `
struct skey { u32 bucket; u64 slot; };
struct ckey { char comm[16]; u32 slot; };
BPF_HISTOGRAM(h_empty);
BPF_HISTOGRAM(h_one);
BPF_HISTOGRAM(h_zero);
BPF_HISTOGRAM(h_wide, int, 65);
BPF_HISTOGRAM(h_lin, int, 1025);
BPF_ARRAY(h_arr, u64, 65);
BPF_F_TABLE("hash", struct skey, u64, h_struct, 1024, (1U << 6));
BPF_F_TABLE("hash", struct ckey, u64, h_comm, 1024, (1U << 6));
`

type histCall struct {
	Table   string `json:"table"`
	Kind    string `json:"kind"` // log2, linear or json
	ValType string `json:"val_type"`
	Py      string `json:"py"` // Python keyword arguments
	opts    HistOptions
}

func histEntries() map[string][][2]any {
	e := map[string][][2]any{
		"h_one":  {{5, 42}},
		"h_zero": {{0, 9}},
		"h_wide": {{3, 1}, {10, 100}, {40, 7}, {63, 1 << 60}, {64, uint64(1)<<63 + 12345}},
		"h_arr":  {{1, 3}, {2, 7}, {4, 40}, {6, 1}},
	}
	for i := 0; i <= 60; i += 3 {
		e["h_lin"] = append(e["h_lin"], [2]any{i, (i*7919)%97 + 1})
	}
	for _, bucket := range []int{7, 3, 12, 5, 4} {
		for slot := 1; slot < 12; slot += bucket%3 + 1 {
			e["h_struct"] = append(e["h_struct"], [2]any{map[string]any{"bucket": bucket, "slot": slot}, bucket*slot + 1})
		}
	}
	for i, comm := range []string{"bash", "it's", "sshd", `q"'x`} {
		for slot := 2; slot < 6; slot++ {
			e["h_comm"] = append(e["h_comm"], [2]any{map[string]any{"comm": comm, "slot": slot}, i*10 + slot})
		}
	}
	return e
}

func histCalls() []histCall {
	half := func(b any) any { return b.(uint64) / 2 }
	desc := func(bs []any) []any {
		out := append([]any(nil), bs...)
		sort.Slice(out, func(i, j int) bool { return out[i].(uint64) > out[j].(uint64) })
		return out
	}
	cpu := func(b any) string { return fmt.Sprintf("cpu%d", b) }
	var calls []histCall
	for _, kind := range []string{"log2", "linear", "json"} {
		calls = append(calls,
			histCall{Table: "h_empty", Kind: kind, ValType: "usecs"},
			histCall{Table: "h_one", Kind: kind, ValType: "bytes"},
			histCall{Table: "h_zero", Kind: kind, ValType: "value"},
			histCall{Table: "h_arr", Kind: kind, ValType: "kbytes"},
			histCall{Table: "h_struct", Kind: kind, ValType: "ms", Py: "section_header='disk'", opts: HistOptions{SectionHeader: "disk"}},
			histCall{Table: "h_struct", Kind: kind, ValType: "ms", Py: "section_print_fn=lambda b: 'cpu%d' % b", opts: HistOptions{SectionPrintFn: cpu}},
			histCall{Table: "h_struct", Kind: kind, ValType: "ms", Py: "bucket_sort_fn=lambda bs: sorted(bs, reverse=True)", opts: HistOptions{BucketSortFn: desc}},
			histCall{Table: "h_struct", Kind: kind, ValType: "ms", Py: "bucket_fn=lambda b: b // 2, bucket_sort_fn=sorted", opts: HistOptions{BucketFn: half, BucketSortFn: func(bs []any) []any {
				out := desc(bs)
				sort.Slice(out, func(i, j int) bool { return out[i].(uint64) < out[j].(uint64) })
				return out
			}}},
			histCall{Table: "h_comm", Kind: kind, ValType: "ns", Py: "section_header='comm'", opts: HistOptions{SectionHeader: "comm"}},
		)
		if kind != "linear" {
			calls = append(calls, histCall{Table: "h_wide", Kind: kind, ValType: "nsecs"})
		}
		if kind != "json" {
			calls = append(calls,
				histCall{Table: "h_one", Kind: kind, ValType: "bytes", Py: "strip_leading_zero=True", opts: HistOptions{StripLeadingZero: true}},
				histCall{Table: "h_struct", Kind: kind, ValType: "ms", Py: "strip_leading_zero=True", opts: HistOptions{StripLeadingZero: true}},
				histCall{Table: "h_wide", Kind: kind, ValType: "nsecs", Py: "strip_leading_zero=True", opts: HistOptions{StripLeadingZero: true}},
			)
		}
	}
	calls = append(calls,
		histCall{Table: "h_lin", Kind: "linear", ValType: "percent"},
		histCall{Table: "h_lin", Kind: "linear", ValType: "percent", Py: "strip_leading_zero=True", opts: HistOptions{StripLeadingZero: true}},
	)
	return calls
}

var tsField = regexp.MustCompile(`"ts": "\d{4}-\d\d-\d\d \d\d:\d\d:\d\d"`)

// TestHistogramParityWithBCC fills identical tables in gobcc and in BCC
// Python and diffs every print_*_hist output byte for byte.
func TestHistogramParityWithBCC(t *testing.T) {
	testutil.RequireRoot(t)
	if _, err := os.Stat("/usr/bin/python3"); err != nil {
		testutil.RequireKernel(t, "no /usr/bin/python3 for BCC Python")
	}
	b, err := New(Options{Text: histParityProg, NoAutoAttach: true})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	entries := histEntries()
	for name, es := range entries {
		tb := mustTable(t, b, name)
		for _, e := range es {
			if err := tb.Update(e[0], e[1]); err != nil {
				t.Fatalf("%s[%v] = %v: %v", name, e[0], e[1], err)
			}
		}
	}
	calls := histCalls()
	spec, err := json.Marshal(map[string]any{"text": histParityProg, "entries": entries, "calls": calls})
	if err != nil {
		t.Fatal(err)
	}
	specFile := filepath.Join(t.TempDir(), "spec.json")
	if err := os.WriteFile(specFile, spec, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("/usr/bin/python3", "../testdata/hist_parity.py", specFile)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	pyOut, err := cmd.Output()
	if err != nil {
		t.Fatalf("BCC Python: %v\n%s", err, stderr.String())
	}
	// GOBCC_DUMP_HIST=1 shows what BCC printed, for looking at the shapes.
	if os.Getenv("GOBCC_DUMP_HIST") != "" {
		os.Stdout.Write(pyOut)
	}
	pyParts := strings.Split(string(pyOut), "=====CALL ")[1:]
	if len(pyParts) != len(calls) {
		t.Fatalf("BCC Python printed %d outputs for %d calls", len(pyParts), len(calls))
	}
	same, nonEmpty := 0, 0
	for i, c := range calls {
		want := pyParts[i][strings.IndexByte(pyParts[i], '\n')+1:]
		var buf bytes.Buffer
		tb := mustTable(t, b, c.Table)
		switch c.Kind {
		case "log2":
			err = tb.PrintLog2Hist(&buf, c.ValType, c.opts)
		case "linear":
			err = tb.PrintLinearHist(&buf, c.ValType, c.opts)
		case "json":
			err = tb.PrintJSONHist(&buf, c.ValType, c.opts)
		}
		if err != nil {
			t.Errorf("call %d %s %s(%s): %v", i, c.Table, c.Kind, c.Py, err)
			continue
		}
		got := buf.String()
		if c.Kind == "json" {
			got = tsField.ReplaceAllString(got, `"ts": "TS"`)
		}
		if got != want {
			t.Errorf("call %d: %s print_%s_hist(%q, %s) differs from BCC Python\n--- gobcc\n%s--- BCC\n%s", i, c.Table, c.Kind, c.ValType, c.Py, got, want)
			continue
		}
		same++
		if want != "" {
			nonEmpty++
		}
	}
	t.Logf("%d of %d histogram outputs identical to BCC Python (%d non-empty)", same, len(calls), nonEmpty)
	if nonEmpty < 8 {
		t.Errorf("only %d non-empty outputs compared", nonEmpty)
	}
}

func TestHistogramErrors(t *testing.T) {
	testutil.RequireRoot(t)
	b, err := New(Options{Text: `typedef char c8[8]; BPF_HISTOGRAM(h, int, 100); BPF_HASH(s, u32, c8); struct k1 { u32 only; }; BPF_HASH(one, struct k1, u64);`, NoAutoAttach: true})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	h := mustTable(t, b, "h")
	if err := h.Update(65, 1); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	// BPF_HISTOGRAM is an array, so slots 65..99 exist: BCC's
	// print_log2_hist raises IndexError on it, print_linear_hist does not.
	if err := h.PrintLog2Hist(&buf, ""); !errors.Is(err, ErrKeyNotExist) {
		t.Errorf("log2 with slot 65: %v, %q", err, buf.String())
	}
	if err := h.PrintLinearHist(&buf, ""); err != nil {
		t.Errorf("linear slot 65: %v", err)
	}
	if !strings.Contains(buf.String(), "     value         : count     distribution") {
		t.Errorf("default val_type is not \"value\": %q", buf.String())
	}
	if err := mustTable(t, b, "s").Update(1, "abc"); err != nil {
		t.Fatal(err)
	}
	if err := mustTable(t, b, "s").PrintLog2Hist(&buf, ""); err == nil {
		t.Errorf("char[8] counts accepted")
	}
	if err := mustTable(t, b, "one").PrintLog2Hist(&buf, ""); err == nil {
		t.Errorf("one-member struct key accepted")
	}
}

// TestHistogramSections checks the data behind the printed histograms:
// BCC's grouping (first key member the bucket, second the slot, whatever
// follows ignored), slot bounds per scale, and the options rule.
func TestHistogramSections(t *testing.T) {
	testutil.RequireRoot(t)
	b, err := New(Options{Text: `struct key { u32 disk; u64 slot; u32 extra; };
BPF_HASH(byDisk, struct key, u64, 64); BPF_HISTOGRAM(dist);`, NoAutoAttach: true})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	byDisk, dist := mustTable(t, b, "byDisk"), mustTable(t, b, "dist")
	for _, e := range [][4]int{{1, 2, 0, 10}, {1, 4, 9, 3}, {2, 1, 0, 7}} {
		if err := byDisk.Update(map[string]any{"disk": e[0], "slot": e[1], "extra": e[2]}, e[3]); err != nil {
			t.Fatal(err)
		}
	}
	if err := dist.Update(3, 5); err != nil {
		t.Fatal(err)
	}
	sections, err := byDisk.Histogram(LinearScale, HistOptions{
		BucketSortFn: func(bs []any) []any {
			sort.Slice(bs, func(i, j int) bool { return bs[i].(uint64) < bs[j].(uint64) })
			return bs
		},
		SectionPrintFn: func(b any) string { return fmt.Sprintf("disk%d", b) },
	})
	if err != nil {
		t.Fatal(err)
	}
	got := ""
	for _, s := range sections {
		got += fmt.Sprintf("%v %s:", s.Bucket, s.Title)
		for _, slot := range s.Slots {
			got += fmt.Sprintf(" %d-%d=%s", slot.Low, slot.High, slot.Count)
		}
		got += ";"
	}
	if want := "1 disk1: 0-0=0 1-1=0 2-2=10 3-3=0 4-4=3;2 disk2: 0-0=0 1-1=7;"; got != want {
		t.Errorf("sections\n got %s\nwant %s", got, want)
	}
	sections, err = dist.Histogram(Log2Scale)
	if err != nil || len(sections) != 1 || sections[0].Bucket != nil || sections[0].Title != "" {
		t.Fatalf("dist: %+v, %v", sections, err)
	}
	if s := sections[0].Slots; len(s) != 4 || s[3].Low != 4 || s[3].High != 7 || s[3].Count.Int64() != 5 || s[1].Low != 1 || s[1].High != 1 {
		t.Errorf("dist slots %+v", s)
	}
	var buf bytes.Buffer
	if err := dist.PrintLog2Hist(&buf, "x", HistOptions{}, HistOptions{}); err == nil {
		t.Errorf("two HistOptions accepted")
	}
	if _, err := dist.Histogram(Log2Scale, HistOptions{}, HistOptions{}); err == nil {
		t.Errorf("two HistOptions accepted by Histogram")
	}
}
