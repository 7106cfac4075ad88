// Package exportbench registers the exporter rows of the benchmark
// comparison (export/scrape100k/*). They live apart from package benchcmp
// because the exporter links net/http and client_golang: the probe that runs
// them (bench/cmd/exportprobe) is an exporter, while bench/cmd/benchprobe
// stays a program that links only bcc, so its memory rows measure what a
// gobcc tool costs.
package exportbench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"syscall"
	"time"

	"github.com/gobcc/gobcc/bench/internal/benchcmp"
	"github.com/gobcc/gobcc/exporter"
	"github.com/gobcc/gobcc/symbols"
)

// The exporter rows: a scrape of a 100k-entry table with a ksym label,
// gobcc export's /metrics (in this process, over loopback HTTP) against
// BCC Python's items(), ksym() and the same exposition text.

func init() {
	note := "Both sides load exporter/testdata/bench_callers.c (`BPF_HASH(callers, u64, u64, 131072)`) and fill it from user space " +
		"with 100,000 call sites spread evenly over the kernel's text (_stext.._etext from /proc/kallsyms), values i%97+1, in one batch update. " +
		"gobcc: an Exporter with exporter/testdata/bench_callers.yaml (a counter with a ksym label), GET /metrics over loopback " +
		"(text format, no gzip), body read to the end; BCC Python (scripts/bench/export_scrape.py): items(), b.ksym() per key, " +
		"call sites of one function summed, the same exposition text joined in memory. One untimed scrape first on both sides. "
	for _, r := range []struct {
		what, title string
		unit        benchcmp.Unit
		scrapes     string
		extra       string
	}{
		{"wall", "Scrape of a 100k-entry table with a ksym label, wall time", benchcmp.Seconds, "5",
			"Median wall time of 5 scrapes after the first."},
		{"cpu", "Scrape of a 100k-entry table with a ksym label, CPU time", benchcmp.Seconds, "5",
			"Mean CPU time (user+system, whole process: gobcc's includes its HTTP client) of 5 scrapes after the first."},
		{"rss-first", "Exporter RSS after the first scrape of the 100k-entry table", benchcmp.Megabytes, "0",
			"VmRSS after the first scrape."},
		{"rss-after-100", "Exporter RSS after 100 more scrapes of the 100k-entry table", benchcmp.Megabytes, "100",
			"VmRSS after the first scrape and 100 more, back to back: equal to rss-first when memory stays flat."},
	} {
		benchcmp.Register(benchcmp.Measurement{
			Name:      "export/scrape100k/" + r.what,
			Group:     "exporter",
			Title:     r.title,
			Unit:      r.unit,
			Probe:     Probe,
			Gobcc:     measureExportScrape,
			Python:    "export_scrape.py",
			Args:      map[string]string{"what": r.what, "scrapes": r.scrapes, "entries": "100000"},
			QuickArgs: map[string]string{"scrapes": "1", "entries": "2000"},
			Note:      note + r.extra,
		})
	}
}

// Probe is the name of the probe binary that runs these rows, beside
// benchprobe (scripts/bench.sh builds both into one directory).
const Probe = "exportprobe"

// ErrExportBench means the exporter benchmark's setup or a scrape failed.
var ErrExportBench = errors.New("exporter benchmark")

// kernelTextBounds returns _stext and _etext, as export_scrape.py reads
// them from /proc/kallsyms.
func kernelTextBounds() (start, end uint64, err error) {
	ks, err := symbols.LoadKernel()
	if err != nil {
		return 0, 0, err
	}
	if start, err = ks.KsymName("_stext"); err != nil {
		return 0, 0, err
	}
	if end, err = ks.KsymName("_etext"); err != nil {
		return 0, 0, err
	}
	if end <= start {
		return 0, 0, fmt.Errorf("%w: /proc/kallsyms: _stext %#x, _etext %#x", ErrExportBench, start, end)
	}
	return start, end, nil
}

func cpuSeconds() float64 {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

func measureExportScrape(p benchcmp.Params) (float64, error) {
	what := p.String("what", "wall")
	scrapes, err := p.Int("scrapes", 5)
	if err != nil {
		return 0, err
	}
	entries, err := p.Int("entries", 100000)
	if err != nil {
		return 0, err
	}
	cfg, err := exporter.LoadConfig("exporter/testdata/bench_callers.yaml")
	if err != nil {
		return 0, err
	}
	e := exporter.New(exporter.Options{NoProcessMetrics: true})
	defer e.Close()
	if err := e.AddProgram("bench", "exporter/testdata/bench_callers.c", cfg); err != nil {
		return 0, err
	}
	t, err := e.Table("bench", "callers")
	if err != nil {
		return 0, err
	}
	start, end, err := kernelTextBounds()
	if err != nil {
		return 0, err
	}
	step := (end - start) / uint64(entries)
	keys, vals := make([]any, entries), make([]any, entries)
	for i := range entries {
		keys[i], vals[i] = start+uint64(i)*step, uint64(i%97+1)
	}
	if err := t.ItemsUpdateBatch(keys, vals); err != nil {
		return 0, err
	}
	keys, vals = nil, nil

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- e.Serve(ctx, ln) }()
	defer func() { cancel(); <-served }()
	client := &http.Client{Transport: &http.Transport{DisableCompression: true}}
	url := "http://" + ln.Addr().String() + "/metrics"
	scrape := func() error {
		req, err := http.NewRequest("GET", url, nil)
		if err != nil {
			return err
		}
		req.Header.Set("Accept", "text/plain")
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("%w: /metrics: %s", ErrExportBench, resp.Status)
		}
		_, err = io.Copy(io.Discard, resp.Body)
		return err
	}
	if err := scrape(); err != nil {
		return 0, err
	}
	if what == "rss-first" || what == "rss-after-100" {
		for range scrapes {
			if err := scrape(); err != nil {
				return 0, err
			}
		}
		kb, err := benchcmp.StatusKB("VmRSS")
		return float64(kb) / 1024, err
	}
	walls := make([]float64, 0, scrapes)
	cpu0 := cpuSeconds()
	for range max(scrapes, 1) {
		t0 := time.Now()
		if err := scrape(); err != nil {
			return 0, err
		}
		walls = append(walls, time.Since(t0).Seconds())
	}
	switch what {
	case "wall":
		slices.Sort(walls)
		return walls[len(walls)/2], nil
	case "cpu":
		return (cpuSeconds() - cpu0) / float64(len(walls)), nil
	}
	return 0, fmt.Errorf("what=%q: want wall, cpu, rss-first or rss-after-100", what)
}
