package exporter

import (
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

// TestRawScrapeManyEntries: a table of many entries read raw gives every
// series with its value, the same exposition scrape after scrape, and a
// scrape's allocations and the heap it leaves do not grow with repeated
// scrapes (buffers and series are kept between them).
func TestRawScrapeManyEntries(t *testing.T) {
	const n = 20000
	e, b := newTestExporter(t, "BPF_HASH(big, u64, u64, 32768);\n", `
metrics:
  counters:
    - name: big_total
      help: many entries
      table: big
      max_series: 50000
      labels:
        - name: key
          decoders: [uint]
`)
	tb, err := b.Table("big")
	if err != nil {
		t.Fatal(err)
	}
	keys, vals := make([]any, n), make([]any, n)
	for i := range n {
		keys[i], vals[i] = uint64(i*3), uint64(2*i+1)
	}
	if err := tb.ItemsUpdateBatch(keys, vals); err != nil {
		t.Fatal(err)
	}
	first := exposition(t, e)
	lines := strings.Count(first, "\nbig_total{")
	if lines != n {
		t.Fatalf("%d series, want %d", lines, n)
	}
	for _, i := range []int{0, 1, 4567, n - 1} {
		want := `big_total{key="` + strconv.Itoa(i*3) + `"} ` + strconv.Itoa(2*i+1) + "\n"
		if !strings.Contains(first, want) {
			t.Errorf("exposition lacks %q", want)
		}
	}
	if again := exposition(t, e); again != first {
		t.Error("a second scrape of the unchanged table differs from the first")
	}

	h := e.Handler()
	scrape := func() {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
		if rec.Code != http.StatusOK {
			t.Fatalf("/metrics: %d", rec.Code)
		}
		io.Copy(io.Discard, rec.Body)
	}
	scrape()
	// Fewer allocations than entries: nothing is allocated per entry.
	if allocs := testing.AllocsPerRun(5, scrape); allocs > n/4 {
		t.Errorf("%v allocations per scrape of %d entries, want at most %d", allocs, n, n/4)
	}
	heap := func() uint64 {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.HeapAlloc
	}
	after1 := heap()
	for range 20 {
		scrape()
	}
	if after := heap(); after > after1+after1/4+4<<20 {
		t.Errorf("live heap %d bytes after 20 more scrapes, %d after the first: it grows", after, after1)
	}
}
