package benchcmp_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gobcc/gobcc/bench/internal/benchcmp"
	// The exporter rows register here too, so the quick run below checks
	// them, as gobcc-bench (which imports them the same way) runs them.
	_ "github.com/gobcc/gobcc/bench/internal/benchcmp/exportbench"
)

// TestBenchprobeLinksOnlyBcc guards the memory rows: they measure the
// benchprobe process, which must be what a gobcc tool is, a program linking
// bcc. Linking the exporter into it (net/http, client_golang) once grew
// rss/peak/helper from 9.4 to 15.5 MB; its rows run in exportprobe instead.
func TestBenchprobeLinksOnlyBcc(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "../../../bench/cmd/benchprobe").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	deps := strings.Fields(string(out))
	for _, bad := range []string{"github.com/gobcc/gobcc/exporter", "net/http", "github.com/prometheus/client_golang/prometheus", "gonum.org/v1/plot"} {
		if slices.Contains(deps, bad) {
			t.Errorf("benchprobe links %s", bad)
		}
	}
	if !slices.Contains(deps, "github.com/gobcc/gobcc/bcc") {
		t.Errorf("benchprobe does not link bcc: go list printed %d packages", len(deps))
	}
	var exportRows int
	for _, m := range benchcmp.Measurements() {
		if strings.HasPrefix(m.Name, "export/") {
			exportRows++
			if m.Probe != "exportprobe" {
				t.Errorf("%s runs in probe %q, want exportprobe", m.Name, m.Probe)
			}
		}
	}
	if exportRows == 0 {
		t.Error("no export/ rows registered")
	}
}

// TestQuickBench runs `scripts/bench.sh quick`, what `make bench ARGS=quick`
// runs: every measurement once per side with small sizes. It checks that
// the run completes and that the table, the Markdown report and the chart
// have every row. It times nothing.
func TestQuickBench(t *testing.T) {
	benchcmp.RequireRoot(t)
	if testing.Short() {
		t.Skip("-short: the quick benchmark run takes about a minute")
	}
	if err := exec.Command("/usr/bin/python3", "-c", "import bcc").Run(); err != nil {
		benchcmp.RequireKernel(t, "BCC Python is not usable: %v", err)
	}
	dir := t.TempDir()
	cmd := exec.Command("bash", "scripts/bench.sh", "quick", "-v=false")
	cmd.Dir = "../../.."
	cmd.Env = append(os.Environ(), "BENCH_BIN="+filepath.Join(dir, "bin"), "BENCH_OUT="+filepath.Join(dir, "out"))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("bench.sh quick: %v\n%s", err, out)
	}
	md, err := os.ReadFile(filepath.Join(dir, "out", "benchmarks.md"))
	if err != nil {
		t.Fatal(err)
	}
	png, err := os.ReadFile(filepath.Join(dir, "out", "benchmarks.png"))
	if err != nil || !strings.HasPrefix(string(png), "\x89PNG") {
		t.Errorf("chart: %d bytes, %v", len(png), err)
	}
	rows := map[string]bool{}
	for _, line := range strings.Split(string(out), "\n") {
		if f := strings.Fields(line); len(f) >= 7 {
			rows[f[0]] = !strings.Contains(line, "failed") && !strings.Contains(line, " - ")
		}
	}
	for _, m := range benchcmp.Measurements() {
		ok, printed := rows[m.Name]
		switch {
		case !printed:
			t.Errorf("row %s not printed", m.Name)
		case !ok:
			t.Errorf("row %s has no result on a side", m.Name)
		}
		if !strings.Contains(string(md), "`"+m.Name+"`") {
			t.Errorf("row %s missing from benchmarks.md", m.Name)
		}
	}
	if t.Failed() {
		t.Logf("output:\n%s", out)
	}
}
