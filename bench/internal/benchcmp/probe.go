package benchcmp

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
)

// samplePrefix starts the line on which a probe process, Go or Python,
// reports its sample: "BENCH {"value": 1.5}". Everything else the process
// prints is ignored, so measurements may print what their users would.
const samplePrefix = "BENCH "

// sampleLine is the JSON after samplePrefix.
type sampleLine struct {
	Value float64 `json:"value"`
}

// ErrUsage means the probe's command line is malformed.
var ErrUsage = errors.New("usage: benchprobe NAME [key=value ...]")

// ProbeMain runs one gobcc measurement once, as the probe process the runner
// starts for every gobcc sample: args are the measurement's name and its
// key=value arguments ("quick=1" for the smoke run). It prints the sample on
// stdout as a "BENCH {...}" line and returns the process's exit code.
func ProbeMain(args []string, stdout, stderr io.Writer) int {
	if err := probe(args, stdout); err != nil {
		fmt.Fprintln(stderr, "benchprobe:", err)
		return 1
	}
	return 0
}

func probe(args []string, stdout io.Writer) error {
	if err := Check(); err != nil {
		return err
	}
	if len(args) == 0 {
		return ErrUsage
	}
	m, err := Lookup(args[0])
	if err != nil {
		return err
	}
	values, err := parseArgs(args[1:])
	if err != nil {
		return err
	}
	p := NewParams(values["quick"] == "1", values)
	v, err := m.Gobcc(p)
	if err != nil {
		return fmt.Errorf("%s: %w", m.Name, err)
	}
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return fmt.Errorf("%s: sample is %v", m.Name, v)
	}
	line, err := json.Marshal(sampleLine{Value: v})
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(stdout, "%s%s\n", samplePrefix, line)
	return err
}

func parseArgs(args []string) (map[string]string, error) {
	values := map[string]string{}
	for _, a := range args {
		k, v, ok := strings.Cut(a, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("%w: argument %q is not key=value", ErrUsage, a)
		}
		values[k] = v
	}
	return values, nil
}

// parseSample finds the sample line in a probe's output.
func parseSample(out string) (float64, error) {
	lines := strings.Split(out, "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		rest, ok := strings.CutPrefix(lines[i], samplePrefix)
		if !ok {
			continue
		}
		var s sampleLine
		if err := json.Unmarshal([]byte(rest), &s); err != nil {
			return 0, fmt.Errorf("bad sample line %q: %w", lines[i], err)
		}
		return s.Value, nil
	}
	return 0, ErrNoSample
}

// ErrNoSample means a probe process exited without printing its sample.
var ErrNoSample = errors.New("process printed no BENCH sample line")
