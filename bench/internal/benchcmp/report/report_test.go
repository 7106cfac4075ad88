package report

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gobcc/gobcc/bench/internal/benchcmp"
)

func fakeResults() []benchcmp.Result {
	mk := func(name, group string, unit benchcmp.Unit, gobcc, python []float64, err error) benchcmp.Result {
		return benchcmp.Result{
			Measurement: &benchcmp.Measurement{Name: name, Group: group, Title: "title of " + name, Unit: unit, Python: name + ".py", Note: "note of " + name},
			Gobcc:       benchcmp.Series{Samples: gobcc},
			Python:      benchcmp.Series{Samples: python, Err: err},
		}
	}
	return []benchcmp.Result{
		mk("new/seed", "compile", benchcmp.Seconds, []float64{0.6, 0.5, 0.7}, []float64{0.4, 0.45, 0.5}, nil),
		mk("rss/peak", "memory", benchcmp.Megabytes, []float64{6, 6}, []float64{130, 129}, nil),
		mk("ksymname", "symbols", benchcmp.PerSecond, []float64{2e6}, []float64{9}, nil),
		mk("broken", "symbols", benchcmp.Seconds, []float64{1}, nil, errors.New("exit status 1\ntraceback")),
	}
}

func TestMarkdownAndText(t *testing.T) {
	var md strings.Builder
	if err := Markdown(&md, Meta{Runs: 3, Command: "make bench"}, fakeResults(), "benchmarks.png"); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"| title of new/seed <br>`new/seed` [1] | s | 500 ms | 600 ms | 400 ms | 450 ms | 1.33 | 1.33x slower |",
		"| 6 MB | 6 MB | 129 MB | 130 MB | 0.0463 | 21.6x smaller |",
		"| 2M/s | 2M/s | 9/s | 9/s | 2.22e+05 | 222222x faster |",
		"| failed | failed | - | - |",
		"![", "(benchmarks.png)", "note of ksymname",
		"- `broken`, BCC Python: exit status 1\n",
		"3. `ksymname` (gobcc measurement vs `scripts/bench/ksymname.py`): note of ksymname\n",
	} {
		if !strings.Contains(md.String(), want) {
			t.Errorf("Markdown lacks %q:\n%s", want, md.String())
		}
	}
	var txt strings.Builder
	if err := Text(&txt, fakeResults()); err != nil {
		t.Fatal(err)
	}
	if lines := strings.Split(strings.TrimSpace(txt.String()), "\n"); len(lines) != 5 {
		t.Errorf("text table has %d lines, want header + 4:\n%s", len(lines), txt.String())
	}
}

// Rows with the same script and note share one note, printed once.
func TestMarkdownNotesOnce(t *testing.T) {
	results := fakeResults()
	shared := *results[0].Measurement
	shared.Name = "new/seed/other"
	results = append(results, benchcmp.Result{Measurement: &shared, Gobcc: results[0].Gobcc, Python: results[0].Python})
	var md strings.Builder
	if err := Markdown(&md, Meta{Runs: 3}, results, ""); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(md.String(), "note of new/seed"); n != 1 {
		t.Errorf("shared note printed %d times, want once:\n%s", n, md.String())
	}
	for _, want := range []string{"`new/seed/other` [1] |", "1. `new/seed`, `new/seed/other` (gobcc"} {
		if !strings.Contains(md.String(), want) {
			t.Errorf("Markdown lacks %q:\n%s", want, md.String())
		}
	}
}

func TestChart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "chart.png")
	if err := Chart(path, fakeResults()); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil || !strings.HasPrefix(string(data), "\x89PNG") || len(data) < 1000 {
		t.Fatalf("chart: %d bytes, %v", len(data), err)
	}
	if dst := os.Getenv("GOBCC_CHART_COPY"); dst != "" {
		os.WriteFile(dst, data, 0o644)
	}
	if err := Chart(path, fakeResults()[3:]); err == nil {
		t.Error("chart of no complete result: no error")
	}
}
