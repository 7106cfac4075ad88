// Command gobcc-bench runs gobcc and BCC Python side by side on this machine
// and reports the ratios: the driver behind `make bench` (scripts/bench.sh).
// Each registered measurement (bench/internal/benchcmp and its exportbench)
// is sampled -runs times per side, each sample in a fresh process: the probe
// binary for gobcc (exportprobe, beside it, for the exporter rows),
// /usr/bin/python3 scripts/bench/*.py for BCC Python. It prints a table and,
// with -out, writes a Markdown report and a PNG chart of the ratios.
//
//	gobcc-bench -probe bin/benchprobe -out docs/benchmarks.md
//	gobcc-bench -quick -probe bin/benchprobe        # smoke run
//	gobcc-bench -list
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"time"

	"github.com/gobcc/gobcc/bench/internal/benchcmp"
	_ "github.com/gobcc/gobcc/bench/internal/benchcmp/exportbench" // the exporter rows, run by exportprobe
	"github.com/gobcc/gobcc/bench/internal/benchcmp/report"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "gobcc-bench:", err)
		os.Exit(1)
	}
}

func run() error {
	var (
		quick   = flag.Bool("quick", false, "smoke run: one sample per side, small sizes; checks that everything runs")
		runs    = flag.Int("runs", 5, "samples per side and measurement")
		probe   = flag.String("probe", "bin/benchprobe", "gobcc probe binary (cd bench && go build ./cmd/benchprobe)")
		python  = flag.String("python", "/usr/bin/python3", "Python interpreter with the bcc module")
		root    = flag.String("root", ".", "repository root (working directory of the probes and scripts)")
		out     = flag.String("out", "", "write the Markdown report here (and the chart beside it, see -png)")
		png     = flag.String("png", "", "chart file; default: benchmarks.png beside -out")
		filter  = flag.String("run", "", "only measurements whose name matches this regular expression")
		list    = flag.Bool("list", false, "list the measurements and exit")
		verbose = flag.Bool("v", true, "print each sample as it is taken (on stderr)")
	)
	flag.Parse()
	if flag.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q (flags only; see -h)", flag.Args())
	}
	if err := benchcmp.Check(); err != nil {
		return err
	}
	if *list {
		for _, m := range benchcmp.Measurements() {
			fmt.Printf("%-28s %-8s %s\n", m.Name, m.Group, m.Title)
		}
		return nil
	}
	if *quick {
		*runs = 1
	}
	cfg := benchcmp.Config{Root: *root, Probe: *probe, Python: *python, Runs: *runs, Quick: *quick}
	if abs, err := filepath.Abs(cfg.Probe); err == nil {
		cfg.Probe = abs
	}
	if *filter != "" {
		re, err := regexp.Compile(*filter)
		if err != nil {
			return fmt.Errorf("-run: %w", err)
		}
		cfg.Filter = re
	}
	if *verbose {
		cfg.Log = os.Stderr
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()

	start := time.Now()
	load := loadAverage()
	results, runErr := benchcmp.Run(ctx, cfg)
	if err := report.Text(os.Stdout, results); err != nil {
		return err
	}
	fmt.Printf("\n%d measurements, %d samples per side, in %s\n", len(results), cfg.Runs, time.Since(start).Round(time.Second))
	if *out != "" {
		if err := writeReport(*out, *png, cfg, load, results); err != nil {
			return err
		}
	}
	return runErr
}

func writeReport(out, png string, cfg benchcmp.Config, load string, results []benchcmp.Result) error {
	if png == "" {
		png = filepath.Join(filepath.Dir(out), "benchmarks.png")
	}
	chartRef := ""
	if err := report.Chart(png, results); err != nil {
		fmt.Fprintln(os.Stderr, "gobcc-bench:", err)
	} else if rel, err := filepath.Rel(filepath.Dir(out), png); err == nil {
		chartRef = rel
	} else {
		chartRef = png
	}
	command := "make bench"
	if cfg.Quick {
		command = "make bench ARGS=quick"
	}
	meta := report.Meta{
		Date:    time.Now().UTC().Format("2006-01-02 15:04 UTC"),
		Machine: fmt.Sprintf("%s, %d CPUs", cpuModel(), runtime.NumCPU()),
		Kernel:  firstLine(output("uname", "-r")),
		Libbcc:  "libbpfcc " + output("dpkg-query", "-W", "-f=${Version}", "libbpfcc"),
		Python:  firstLine(output(cfg.Python, "--version")) + ", python3-bpfcc " + output("dpkg-query", "-W", "-f=${Version}", "python3-bpfcc"),
		Go:      runtime.Version(),
		Load:    load,
		Runs:    cfg.Runs,
		Quick:   cfg.Quick,
		Command: command,
	}
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	if err := report.Markdown(f, meta, results, chartRef); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	fmt.Printf("wrote %s and %s\n", out, png)
	return nil
}

// output runs a command for the report's header; "unknown" if it fails.
func output(name string, args ...string) string {
	b, err := exec.Command(name, args...).Output()
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(string(b))
}

func firstLine(s string) string {
	first, _, _ := strings.Cut(s, "\n")
	return first
}

func cpuModel() string {
	data, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "unknown CPU"
	}
	for _, line := range strings.Split(string(data), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown CPU"
}

// loadAverage returns the 1, 5 and 15 minute load averages.
func loadAverage() string {
	data, err := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(data)); err == nil && len(f) >= 3 {
		return strings.Join(f[:3], " ")
	}
	return "unknown"
}
