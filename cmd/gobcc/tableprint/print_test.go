package tableprint

import (
	"bytes"
	"encoding/json"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gobcc/gobcc/bcc"
	"github.com/gobcc/gobcc/internal/testutil"
)

func TestMain(m *testing.M) { testutil.LeakCheckMain(m) }

// tablesProg declares a hash, an array, a histogram and a perf buffer and
// attaches nothing: the test fills the tables from user space.
const tablesProg = `
BPF_HASH(counts, u32, u64);
BPF_ARRAY(slots, u64, 4);
BPF_HISTOGRAM(dist);
BPF_PERF_OUTPUT(events);
int unused(void *ctx) { return 0; }
`

// load compiles tablesProg and fills its tables.
func load(t *testing.T) *bcc.BPF {
	t.Helper()
	testutil.RequireRoot(t)
	b, err := bcc.New(bcc.Options{Text: tablesProg, NoAutoAttach: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	fill := map[string][][2]any{
		"counts": {{uint32(1), uint64(30)}, {uint32(2), uint64(10)}, {uint32(3), uint64(20)}},
		"slots":  {{uint32(2), uint64(7)}},
		"dist":   {{int32(3), uint64(5)}, {int32(4), uint64(1)}},
	}
	for name, kvs := range fill {
		tb, err := b.Table(name)
		if err != nil {
			t.Fatal(err)
		}
		for _, kv := range kvs {
			if err := tb.Update(kv[0], kv[1]); err != nil {
				t.Fatalf("%s[%v] = %v: %v", name, kv[0], kv[1], err)
			}
		}
	}
	return b
}

func TestPrintAllText(t *testing.T) {
	b := load(t)
	var out bytes.Buffer
	p := &Printer{Mu: &sync.Mutex{}, W: &out, BPF: b, Top: 2}
	if err := p.PrintAll(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)); err != nil {
		t.Fatal(err)
	}
	text := out.String()
	// Hash entries sorted by value, largest last; --top keeps the largest.
	if !strings.Contains(text, "03:04:05 counts (hash, top 2 of 3 entries)\n3 20\n1 30\n") {
		t.Errorf("counts not sorted by value with the top 2:\n%s", text)
	}
	// Arrays print their non-zero slots only.
	if !strings.Contains(text, "03:04:05 slots (array, 1 entries)\n2 7\n") {
		t.Errorf("slots:\n%s", text)
	}
	// dist prints as BCC's log2 histogram: slot 3 is 4 -> 7.
	if !regexp.MustCompile(`(?m)^\s+4 -> 7\s+: 5\s+\|\*+\|$`).MatchString(text) {
		t.Errorf("dist is not a log2 histogram:\n%s", text)
	}
	if strings.Contains(text, "events") {
		t.Errorf("the perf buffer printed:\n%s", text)
	}
}

func TestPrintAllJSONAndLinear(t *testing.T) {
	b := load(t)
	var out bytes.Buffer
	p := &Printer{Mu: &sync.Mutex{}, W: &out, JSON: true, BPF: b}
	if err := p.Linear.Set("dist"); err != nil {
		t.Fatal(err)
	}
	if err := p.PrintAll(time.Now()); err != nil {
		t.Fatal(err)
	}
	kinds := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		var v struct{ Type, Table, Kind string }
		if err := json.Unmarshal([]byte(line), &v); err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		kinds[v.Table] = v.Type + "/" + v.Kind
	}
	want := map[string]string{"counts": "table/", "slots": "table/", "dist": "histogram/linear"}
	for name, k := range want {
		if kinds[name] != k {
			t.Errorf("table %s printed as %q, want %q (all: %v)", name, kinds[name], k, kinds)
		}
	}
}

func TestWriteInfo(t *testing.T) {
	b := load(t)
	var out bytes.Buffer
	if err := WriteInfo(&out, b, false); err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`(?m)^counts\s+hash\s+unsigned int \(4\)\s+unsigned long long \(8\)\s+10240$`).MatchString(out.String()) {
		t.Errorf("tables:\n%s", out.String())
	}
}
