package exporter

import (
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gobcc/gobcc/bcc"
	itestutil "github.com/gobcc/gobcc/internal/testutil"
)

// benchEntries is the table size of the scrape benchmark.
const benchEntries = 100000

// fillCallers puts benchEntries call sites, spread evenly over the
// kernel's text, into the callers table (scripts/bench/export_scrape.py
// fills BCC Python's table the same way).
func fillCallers(tb testing.TB, b *bcc.BPF) {
	tb.Helper()
	start, err := b.KsymName("_stext")
	if err != nil {
		tb.Fatal(err)
	}
	end, err := b.KsymName("_etext")
	if err != nil {
		tb.Fatal(err)
	}
	t, err := b.Table("callers")
	if err != nil {
		tb.Fatal(err)
	}
	step := (end - start) / benchEntries
	keys := make([]any, benchEntries)
	vals := make([]any, benchEntries)
	for i := range benchEntries {
		keys[i] = start + uint64(i)*step
		vals[i] = uint64(i%97 + 1)
	}
	if err := t.ItemsUpdateBatch(keys, vals); err != nil {
		tb.Fatal(err)
	}
}

// rssKB is this process's resident set size.
func rssKB(tb testing.TB) float64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		tb.Fatal(err)
	}
	for line := range strings.SplitSeq(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			if err != nil {
				tb.Fatal(err)
			}
			return kb
		}
	}
	tb.Fatal("no VmRSS")
	return 0
}

// cpuTime is the CPU time this process used, user and system: on a
// shared machine it says more than the wall clock.
func cpuTime(tb testing.TB) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkScrape100kKsym is one GET /metrics of a 100k-entry table whose
// u64 keys become ksym labels: batch read, symbol names, aggregation of
// call sites in one function, text exposition. It reports the series
// exported, the CPU time per scrape, and RSS after the first scrape, at
// its peak and after the last (run with -benchtime=100x for the
// 100-scrape figure).
func BenchmarkScrape100kKsym(b *testing.B) {
	itestutil.RequireRoot(b)
	cfg, err := LoadConfig("testdata/bench_callers.yaml")
	if err != nil {
		b.Fatal(err)
	}
	e := New(Options{NoProcessMetrics: true})
	defer e.Close()
	if err := e.AddProgram("bench", "testdata/bench_callers.c", cfg); err != nil {
		b.Fatal(err)
	}
	fillCallers(b, e.programs[0].b)
	h := e.Handler()
	scrape := func() int {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
		if rec.Code != 200 {
			b.Fatalf("/metrics: %d", rec.Code)
		}
		return strings.Count(rec.Body.String(), "\nkmalloc_calls_total{")
	}
	series := scrape()
	rss0 := rssKB(b)
	peak := rss0
	cpu0 := cpuTime(b)
	b.ResetTimer()
	for b.Loop() {
		scrape()
		b.StopTimer()
		peak = max(peak, rssKB(b))
		b.StartTimer()
	}
	b.StopTimer()
	b.ReportMetric((cpuTime(b)-cpu0).Seconds()*1000/float64(b.N), "cpu-ms/op")
	b.ReportMetric(float64(series), "series")
	b.ReportMetric(rss0/1024, "rss-MB")
	b.ReportMetric(peak/1024, "rss-peak-MB")
	b.ReportMetric(rssKB(b)/1024, "rss-last-MB")
}
