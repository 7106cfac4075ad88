package parity_test

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/gobcc/gobcc/features"
)

// programDir holds the suite's C programs and the Python runner.
const programDir = "../testdata/parity"

// Workload descriptors as both runners make them. Each program filters on
// them so that only the runner's own calls count.
const (
	writeFD = 97 // /dev/null, dup2'ed into place by both runners
	readFD  = 98 // /dev/zero
	// openFlags are the flags of every workload openat (0x80900).
	openFlags = unix.O_RDONLY | unix.O_CLOEXEC | unix.O_NOCTTY | unix.O_NONBLOCK
)

// workloadOp is one kind of system call the runner repeats N times.
type workloadOp struct {
	Op string `json:"op"`
	N  int    `json:"n"`
}

type loadSpec struct {
	Fn   string `json:"fn"`
	Type string `json:"type"`
}

type attachSpec struct {
	Kind   string `json:"kind"`
	Target string `json:"target"`
	Fn     string `json:"fn"`
	Binary string `json:"binary,omitempty"`
	// perf events
	EvType       int `json:"ev_type,omitempty"`
	EvConfig     int `json:"ev_config,omitempty"`
	SamplePeriod int `json:"sample_period,omitempty"`
	SampleFreq   int `json:"sample_freq,omitempty"`
}

type progArraySpec struct {
	Table string `json:"table"`
	Index int    `json:"index"`
	Fn    string `json:"fn"`
	Type  string `json:"type"`
}

type mapInMapSpec struct {
	Table string `json:"table"`
	Index int    `json:"index"`
	Inner string `json:"inner"`
}

type traceSpec struct {
	Count int    `json:"count"`
	Match string `json:"match"`
}

// program is one file of testdata/parity with what its header asks for.
// Header lines have the form "// @key args..."; see docs/parity.md.
type program struct {
	Name       string            `json:"name"`
	Path       string            `json:"path"`
	Workload   []workloadOp      `json:"workload,omitempty"`
	Expect     string            `json:"-"` // ok, compile, load, attach, crash
	Loads      []loadSpec        `json:"loads,omitempty"`
	Attaches   []attachSpec      `json:"attaches,omitempty"`
	ProgArrays []progArraySpec   `json:"prog_arrays,omitempty"`
	MapInMaps  []mapInMapSpec    `json:"map_in_maps,omitempty"`
	Log2Hist   map[string]string `json:"log2_hist,omitempty"`
	LinearHist map[string]string `json:"linear_hist,omitempty"`
	Trace      *traceSpec        `json:"trace,omitempty"`
	// PerfBufs and RingBufs name BPF_PERF_OUTPUT and BPF_RINGBUF_OUTPUT
	// tables to read, with the number of records the workload submits.
	PerfBufs  map[string]int    `json:"perf_buffers,omitempty"`
	RingBufs  map[string]int    `json:"ring_buffers,omitempty"`
	Isolate   bool              `json:"isolate,omitempty"`
	CFlags    []string          `json:"cflags,omitempty"`
	Compare   map[string]string `json:"-"` // table -> exact|values|keys|nonempty
	Diffs     []string          `json:"-"` // deliberate differences the test checks
	Described bool              `json:"-"` // starts with an "Exercises:" comment
}

// kernelHasKprobes reports whether the running kernel offers kprobes (the
// CI host does not; the `make vmtest` guest does).
var kernelHasKprobes = sync.OnceValue(func() bool {
	for _, f := range features.All() {
		if f.Name == "kprobes" {
			return f.Supported
		}
	}
	return false
})

// loadPrograms parses the headers of every testdata/parity/*.c file.
func loadPrograms() ([]*program, error) {
	paths, err := filepath.Glob(filepath.Join(programDir, "*.c"))
	if err != nil {
		return nil, err
	}
	sort.Strings(paths)
	var out []*program
	for _, p := range paths {
		prog, err := parseProgram(p)
		if err != nil {
			return nil, err
		}
		out = append(out, prog)
	}
	return out, nil
}

func parseProgram(path string) (*program, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	p := &program{
		Name:       strings.TrimSuffix(filepath.Base(path), ".c"),
		Path:       abs,
		Expect:     "ok",
		Compare:    map[string]string{},
		Log2Hist:   map[string]string{},
		LinearHist: map[string]string{},
		PerfBufs:   map[string]int{},
		RingBufs:   map[string]int{},
	}
	sc := bufio.NewScanner(f)
	first := true
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "//") {
			break
		}
		if first {
			p.Described = strings.HasPrefix(line, "// Exercises: ")
			first = false
		}
		rest, ok := strings.CutPrefix(line, "// @")
		if !ok {
			continue
		}
		fields := strings.Fields(rest)
		key, args := fields[0], fields[1:]
		bad := func() error { return fmt.Errorf("%s: bad header line %q", path, line) }
		switch key {
		case "workload":
			for _, a := range args {
				op, n, ok := strings.Cut(a, "=")
				count, err := strconv.Atoi(n)
				if !ok || err != nil {
					return nil, bad()
				}
				p.Workload = append(p.Workload, workloadOp{Op: op, N: count})
			}
		case "expect":
			if len(args) != 1 {
				return nil, bad()
			}
			p.Expect = args[0]
		case "load":
			if len(args) != 2 {
				return nil, bad()
			}
			p.Loads = append(p.Loads, loadSpec{Fn: args[0], Type: args[1]})
		case "attach":
			if len(args) < 3 {
				return nil, bad()
			}
			a := attachSpec{Kind: args[0], Target: args[1], Fn: args[2]}
			switch {
			case a.Kind == "perf_event" && len(args) == 4:
				// @attach perf_event TYPE:CONFIG fn SAMPLE_PERIOD
				typ, cfg, ok := strings.Cut(a.Target, ":")
				t, err1 := strconv.Atoi(typ)
				c, err2 := strconv.Atoi(cfg)
				period, err3 := strconv.Atoi(args[3])
				if !ok || err1 != nil || err2 != nil || err3 != nil {
					return nil, bad()
				}
				a.EvType, a.EvConfig, a.SamplePeriod = t, c, period
			case len(args) == 4:
				// @attach uprobe|uretprobe SYM fn BINARY
				a.Binary = args[3]
			case len(args) > 4:
				return nil, bad()
			}
			p.Attaches = append(p.Attaches, a)
		case "progarray":
			if len(args) != 4 {
				return nil, bad()
			}
			i, err := strconv.Atoi(args[1])
			if err != nil {
				return nil, bad()
			}
			p.ProgArrays = append(p.ProgArrays, progArraySpec{Table: args[0], Index: i, Fn: args[2], Type: args[3]})
		case "mapinmap":
			if len(args) != 3 {
				return nil, bad()
			}
			i, err := strconv.Atoi(args[1])
			if err != nil {
				return nil, bad()
			}
			p.MapInMaps = append(p.MapInMaps, mapInMapSpec{Table: args[0], Index: i, Inner: args[2]})
		case "log2hist", "linearhist":
			if len(args) < 1 || len(args) > 2 {
				return nil, bad()
			}
			header := ""
			if len(args) == 2 {
				header = args[1]
			}
			if key == "log2hist" {
				p.Log2Hist[args[0]] = header
			} else {
				p.LinearHist[args[0]] = header
			}
		case "trace":
			if len(args) != 2 {
				return nil, bad()
			}
			n, err := strconv.Atoi(args[0])
			if err != nil {
				return nil, bad()
			}
			p.Trace = &traceSpec{Count: n, Match: args[1]}
		case "perfbuf", "ringbuf":
			if len(args) != 2 {
				return nil, bad()
			}
			n, err := strconv.Atoi(args[1])
			if err != nil {
				return nil, bad()
			}
			if key == "perfbuf" {
				p.PerfBufs[args[0]] = n
			} else {
				p.RingBufs[args[0]] = n
			}
		case "compare":
			if len(args) != 2 {
				return nil, bad()
			}
			p.Compare[args[0]] = args[1]
		case "diff":
			p.Diffs = append(p.Diffs, args...)
		case "isolate":
			p.Isolate = true
		case "kprobes":
			// The program attaches kprobes: where the kernel has none,
			// both front ends must fail at attach instead.
			if !kernelHasKprobes() {
				p.Expect = "attach"
			}
		case "cflags":
			p.CFlags = append(p.CFlags, args...)
		default:
			return nil, bad()
		}
	}
	return p, sc.Err()
}
