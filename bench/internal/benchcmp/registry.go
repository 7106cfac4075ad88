// Package benchcmp measures gobcc against BCC Python on the same machine in
// the same run. It holds a registry of named measurements, each with a gobcc
// side (a Go func run in a fresh probe process) and a BCC Python side (a
// script under scripts/bench run by /usr/bin/python3), and a runner that
// collects at least five samples of each, interleaved, for the report.
//
// To add a benchmark group (events, tables, symbols, ...), add a file to this
// package whose init calls Register, and a script to scripts/bench; see
// docs/api-bench.md.
package benchcmp

import (
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"sync"
)

// Unit is what a measurement's samples count, which also says whether
// lower or higher is better.
type Unit string

// Units of measurements.
const (
	// Seconds: a duration; lower is better.
	Seconds Unit = "s"
	// PerSecond: a rate (lookups/s, events/s); higher is better.
	PerSecond Unit = "/s"
	// Megabytes: memory (RSS, MiB); lower is better.
	Megabytes Unit = "MB"
)

// HigherIsBetter reports whether larger samples mean a better result.
func (u Unit) HigherIsBetter() bool { return u == PerSecond }

// Measurement is one row of the comparison: the same work done through gobcc
// and through BCC Python.
type Measurement struct {
	// Name identifies the row on command lines and in the probe protocol:
	// lower case, words separated by '/', e.g. "items/100k/items".
	Name string
	// Group gathers rows in the report: "compile", "process", "tables",
	// "symbols", "memory", "events", ...
	Group string
	// Title is the row's label in the report.
	Title string
	// Unit of both sides' samples.
	Unit Unit
	// Gobcc does the work once through gobcc in a fresh probe process and
	// returns the sample. With WallTime, its result is ignored: the runner
	// times the whole probe process instead.
	Gobcc func(p Params) (float64, error)
	// Python is the BCC Python script, relative to scripts/bench, that does
	// the same work and prints its sample (see scripts/bench/benchlib.py).
	Python string
	// Args are passed to both sides as key=value (Params for Gobcc, argv
	// for Python). Both sides must interpret them alike.
	Args map[string]string
	// QuickArgs override Args in quick mode, to keep the smoke run short.
	QuickArgs map[string]string
	// WallTime makes the sample the wall time of the whole process (start to
	// exit), measured by the runner for both sides; Unit must be Seconds.
	WallTime bool
	// Note is a footnote for the report: what exactly is compared.
	Note string
	// Warmup runs one untimed gobcc sample before the timed ones (to fill
	// the compile cache for the warm rows).
	Warmup bool
	// Probe, when set, names the probe binary that runs the gobcc side, in
	// the directory of Config.Probe; empty means Config.Probe itself. A row
	// whose code links much more than bcc (the exporter: net/http,
	// client_golang) gets its own probe, so that linking it does not grow
	// every other row's process: the memory rows measure a program that
	// links bcc and nothing else.
	Probe string
	// Nice, when not zero, runs both sides' processes at this nice value
	// (through nice(1)), for measurements that other work on the machine
	// would otherwise disturb more than the code measured.
	Nice int
}

// Params are a measurement's arguments as the gobcc side receives them.
type Params struct {
	// Quick is set in the smoke run, where timing does not matter.
	Quick  bool
	values map[string]string
}

// NewParams returns Params holding values.
func NewParams(quick bool, values map[string]string) Params {
	return Params{Quick: quick, values: maps.Clone(values)}
}

// String returns the argument name, or def when it is absent.
func (p Params) String(name, def string) string {
	if v, ok := p.values[name]; ok {
		return v
	}
	return def
}

// Int returns the integer argument name, or def when it is absent.
func (p Params) Int(name string, def int) (int, error) {
	v, ok := p.values[name]
	if !ok {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, fmt.Errorf("argument %s=%q: %w", name, v, err)
	}
	return n, nil
}

// args returns the measurement's arguments for the mode.
func (m *Measurement) args(quick bool) map[string]string {
	a := maps.Clone(m.Args)
	if a == nil {
		a = map[string]string{}
	}
	if quick {
		maps.Copy(a, m.QuickArgs)
	}
	return a
}

// ErrUnknownMeasurement means no measurement is registered under a name.
var ErrUnknownMeasurement = errors.New("no such measurement")

// ErrBadMeasurement means a registered measurement is malformed or its
// name is taken; Check returns it.
var ErrBadMeasurement = errors.New("bad measurement")

var (
	registryMu  sync.Mutex
	registry    []*Measurement
	registerErr []error
	validName   = regexp.MustCompile(`^[a-z0-9][a-z0-9_.-]*(/[a-z0-9_.-]+)*$`)
)

// Register adds m to the registry; it is meant for init functions. A
// malformed or duplicate measurement is left out and remembered: Check
// reports it, and the runner and probe refuse to start, so a mistake cannot
// produce a silently incomplete report.
func Register(m Measurement) {
	registryMu.Lock()
	defer registryMu.Unlock()
	if err := m.validate(); err != nil {
		registerErr = append(registerErr, fmt.Errorf("%w: %w", ErrBadMeasurement, err))
		return
	}
	for _, r := range registry {
		if r.Name == m.Name {
			registerErr = append(registerErr, fmt.Errorf("%w: %q registered twice", ErrBadMeasurement, m.Name))
			return
		}
	}
	registry = append(registry, &m)
}

// Check returns the errors of every Register call that was refused.
func Check() error {
	registryMu.Lock()
	defer registryMu.Unlock()
	return errors.Join(registerErr...)
}

func (m *Measurement) validate() error {
	switch {
	case !validName.MatchString(m.Name):
		return fmt.Errorf("bad measurement name %q", m.Name)
	case m.Title == "" || m.Group == "":
		return fmt.Errorf("%s: Title and Group are required", m.Name)
	case m.Gobcc == nil || m.Python == "":
		return fmt.Errorf("%s: both Gobcc and Python are required", m.Name)
	case m.Unit != Seconds && m.Unit != PerSecond && m.Unit != Megabytes:
		return fmt.Errorf("%s: unknown unit %q", m.Name, m.Unit)
	case m.Args["quick"] != "" || m.QuickArgs["quick"] != "":
		return fmt.Errorf("%s: the argument name quick is reserved", m.Name)
	case m.WallTime && m.Unit != Seconds:
		return fmt.Errorf("%s: WallTime needs Unit Seconds", m.Name)
	}
	return nil
}

// groupOrder sorts the report; groups not listed come after, by name.
var groupOrder = []string{"compile", "process", "memory", "tables", "symbols", "events", "trace"}

// Measurements returns every registered measurement, ordered by group and
// then by registration order within a group.
func Measurements() []*Measurement {
	registryMu.Lock()
	defer registryMu.Unlock()
	out := slices.Clone(registry)
	rank := func(g string) int {
		if i := slices.Index(groupOrder, g); i >= 0 {
			return i
		}
		return len(groupOrder)
	}
	slices.SortStableFunc(out, func(a, b *Measurement) int {
		if ra, rb := rank(a.Group), rank(b.Group); ra != rb {
			return ra - rb
		}
		if rank(a.Group) == len(groupOrder) && a.Group != b.Group {
			if a.Group < b.Group {
				return -1
			}
			return 1
		}
		return 0
	})
	return out
}

// Lookup returns the measurement registered under name.
func Lookup(name string) (*Measurement, error) {
	for _, m := range Measurements() {
		if m.Name == name {
			return m, nil
		}
	}
	return nil, fmt.Errorf("%w: %q", ErrUnknownMeasurement, name)
}
