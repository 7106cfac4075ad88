package benchcmp

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Config says how to run the comparison.
type Config struct {
	// Root is the repository's root: the working directory of every probe
	// and script, so that paths such as testdata/kmalloc_callers.c resolve.
	Root string
	// Probe is the gobcc probe binary (bench/cmd/benchprobe). Rows with
	// Measurement.Probe run the binary of that name in the same directory.
	Probe string
	// Python is the interpreter with the bcc module; default
	// /usr/bin/python3.
	Python string
	// Runs is the number of samples per side; default 5.
	Runs int
	// Quick is the smoke run: small sizes, timing not meaningful.
	Quick bool
	// Filter, when set, keeps only measurements whose name matches.
	Filter *regexp.Regexp
	// Timeout bounds each process; default 10 minutes.
	Timeout time.Duration
	// Log receives one progress line per sample; may be nil.
	Log io.Writer
}

// ErrSideFailed means a probe process or Python script failed; the Result's
// Series holds it.
var ErrSideFailed = errors.New("benchmark process failed")

// Run measures every registered measurement (or those matching
// cfg.Filter): cfg.Runs samples per side, each in a fresh process, gobcc and
// Python interleaved so that drift in the machine's state hits both alike.
// Python samples of identical script and arguments are taken once and
// shared between rows. A failing side is recorded in its Result and the run
// goes on; the returned error joins every failure.
func Run(ctx context.Context, cfg Config) ([]Result, error) {
	if err := Check(); err != nil {
		return nil, err
	}
	if cfg.Python == "" {
		cfg.Python = "/usr/bin/python3"
	}
	if cfg.Runs <= 0 {
		cfg.Runs = 5
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Minute
	}
	if cfg.Log == nil {
		cfg.Log = io.Discard
	}
	// Python scripts that need a gobcc-built helper (the events producer)
	// find the probe through ProbeEnv; the processes run in cfg.Root.
	probe := cfg.Probe
	if probe != "" && !filepath.IsAbs(probe) {
		probe = filepath.Join(cfg.Root, probe)
	}
	if abs, err := filepath.Abs(probe); err == nil && probe != "" {
		probe = abs
	}
	env := append(os.Environ(), ProbeEnv+"="+probe)
	pythonDone := map[string]Series{}
	var results []Result
	var errs []error
	for _, m := range Measurements() {
		if cfg.Filter != nil && !cfg.Filter.MatchString(m.Name) {
			continue
		}
		args := m.args(cfg.Quick)
		if cfg.Quick {
			args["quick"] = "1"
		}
		argv := argList(args)
		pyKey := m.Python + " " + strings.Join(argv, " ")
		py, shared := pythonDone[pyKey]
		gobccProbe := cfg.Probe
		if m.Probe != "" {
			gobccProbe = filepath.Join(filepath.Dir(cfg.Probe), m.Probe)
		}
		r := Result{Measurement: m}
		if m.Warmup {
			_, err := runSample(ctx, cfg, env, m, gobccProbe, append([]string{m.Name}, argv...))
			logSample(cfg.Log, m, "gobcc", -1, 0, err)
			if err != nil {
				r.Gobcc.Err = err
			}
		}
		for i := 0; i < cfg.Runs; i++ {
			if r.Gobcc.Err == nil {
				v, err := runSample(ctx, cfg, env, m, gobccProbe, append([]string{m.Name}, argv...))
				logSample(cfg.Log, m, "gobcc", i, v, err)
				if err != nil {
					r.Gobcc.Err = err
				} else {
					r.Gobcc.Samples = append(r.Gobcc.Samples, v)
				}
			}
			if !shared && py.Err == nil {
				script := filepath.Join("scripts", "bench", m.Python)
				v, err := runSample(ctx, cfg, env, m, cfg.Python, append([]string{script}, argv...))
				logSample(cfg.Log, m, "python", i, v, err)
				if err != nil {
					py.Err = err
				} else {
					py.Samples = append(py.Samples, v)
				}
			}
		}
		if !shared {
			pythonDone[pyKey] = py
		}
		r.Python = py
		for side, s := range map[string]Series{"gobcc": r.Gobcc, "BCC Python": r.Python} {
			if s.Err != nil {
				errs = append(errs, fmt.Errorf("%s, %s: %w", m.Name, side, s.Err))
			}
		}
		results = append(results, r)
		if err := ctx.Err(); err != nil {
			return results, err
		}
	}
	return results, errors.Join(errs...)
}

// argList renders args as sorted key=value words.
func argList(args map[string]string) []string {
	var out []string
	for k, v := range args {
		out = append(out, k+"="+v)
	}
	slices.Sort(out)
	return out
}

// runSample runs one process and returns its sample: the BENCH line it
// printed, or for WallTime measurements the seconds from start to exit.
func runSample(ctx context.Context, cfg Config, env []string, m *Measurement, name string, args []string) (float64, error) {
	ctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	if m.Nice != 0 {
		args = append([]string{"-n", strconv.Itoa(m.Nice), name}, args...)
		name = "nice"
	}
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = cfg.Root
	cmd.Env = env
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	start := time.Now()
	err := cmd.Run()
	wall := time.Since(start).Seconds()
	if err != nil {
		return 0, fmt.Errorf("%w: %s %s: %w%s", ErrSideFailed, name, strings.Join(args, " "), err, tail(stderr.String()))
	}
	if m.WallTime {
		if stdout.Len() == 0 {
			return 0, fmt.Errorf("%w: %s printed nothing", ErrSideFailed, name)
		}
		return wall, nil
	}
	v, err := parseSample(stdout.String())
	if err != nil {
		return 0, fmt.Errorf("%w: %s %s: %w%s", ErrSideFailed, name, strings.Join(args, " "), err, tail(stderr.String()))
	}
	return v, nil
}

// tail keeps the end of a process's stderr for an error message.
func tail(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return ""
	}
	lines := strings.Split(s, "\n")
	if len(lines) > 8 {
		lines = lines[len(lines)-8:]
	}
	return "\n\t" + strings.Join(lines, "\n\t")
}

func logSample(w io.Writer, m *Measurement, side string, i int, v float64, err error) {
	if err != nil {
		fmt.Fprintf(w, "%-34s %-6s run %d: %v\n", m.Name, side, i+1, err)
		return
	}
	fmt.Fprintf(w, "%-34s %-6s run %d: %s\n", m.Name, side, i+1, FormatValue(v, m.Unit))
}

// FormatValue prints a sample with its unit, to three significant digits.
func FormatValue(v float64, u Unit) string {
	switch u {
	case Seconds:
		switch {
		case v < 1e-3:
			return fmt.Sprintf("%.3g µs", v*1e6)
		case v < 1:
			return fmt.Sprintf("%.3g ms", v*1e3)
		}
		return fmt.Sprintf("%.3g s", v)
	case PerSecond:
		switch {
		case v >= 1e6:
			return fmt.Sprintf("%.3gM/s", v/1e6)
		case v >= 1e3:
			return fmt.Sprintf("%.3gk/s", v/1e3)
		}
		return fmt.Sprintf("%.3g/s", v)
	case Megabytes:
		return fmt.Sprintf("%.3g MB", v)
	}
	return fmt.Sprintf("%g %s", v, u)
}
