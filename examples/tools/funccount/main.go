// Command funccount counts function calls and tracepoint hits matching a
// pattern: BCC's funccount (tools/funccount.py) in Go, with its options and
// output.
//
//	# funccount 'vfs_*'             # count kernel fns starting with "vfs"
//	# funccount -r '^vfs.*'         # same as above, using regular expressions
//	# funccount -Ti 5 'vfs_*'       # output every 5 seconds, with timestamps
//	# funccount -d 10 'vfs_*'       # trace for 10 seconds only
//	# funccount -p 185 'vfs_*'      # count vfs calls for PID 181 only
//	# funccount t:sched:sched_fork  # count calls to the sched_fork tracepoint
//	# funccount 't:sched:sched_*'   # count every sched tracepoint
//	# funccount c:malloc            # count all malloc() calls in libc
//	# funccount ./test:read*        # count "read*" calls in the ./test binary
//	# funccount -c 1 'vfs_*'        # count vfs calls on CPU 1 only
//
// Patterns are BCC's: func (kernel function, kprobes), lib:func or
// /path:func (uprobes), p::func and p:lib:func, t:cat:event (tracepoints).
// USDT patterns (u:lib:probe) are not offered here: see ucalls. Kernel
// functions need kprobes, which some kernels lack; tracepoints and uprobes
// do not.
package main

import (
	"errors"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/gobcc/gobcc/examples/tools/internal/toolflags"
	"github.com/gobcc/gobcc/probes"
	"github.com/gobcc/gobcc/symbols"

	"github.com/gobcc/gobcc/bcc"
)

// probe is one pattern's functions, numbered by location as in BCC.
type probe struct {
	kind, library, pattern string
	pid, cpu               int
	traceFunctions         []string // location -> function or tracepoint
}

// newProbe parses a pattern as BCC's Probe.__init__ does.
func newProbe(pattern string, useRegex bool, pid, cpu int) (*probe, error) {
	parts := strings.Split(pattern, ":")
	switch len(parts) {
	case 1:
		parts = []string{"p", "", parts[0]}
	case 2:
		parts = []string{"p", parts[0], parts[1]}
	case 3:
		if parts[0] == "t" {
			parts = []string{"t", "", parts[1] + ":" + parts[2]}
		}
		if parts[0] != "p" && parts[0] != "t" {
			return nil, fmt.Errorf("Type must be 'p' or 't', but got %s", parts[0])
		}
	default:
		return nil, fmt.Errorf("Too many ':'-separated components in pattern %s", pattern)
	}
	p := &probe{kind: parts[0], library: parts[1], pattern: parts[2], pid: pid, cpu: cpu}
	if !useRegex {
		p.pattern = "^" + strings.ReplaceAll(p.pattern, "*", ".*") + "$"
	}
	return p, nil
}

func (p *probe) isUprobe() bool { return p.kind == "p" && p.library != "" }

// functions lists what the pattern matches.
func (p *probe) functions() ([]string, error) {
	switch {
	case p.kind == "t":
		return probes.GetTracepoints(p.pattern)
	case p.isUprobe():
		return symbols.GetUserFunctions(p.library, p.pattern)
	default:
		return probes.GetKprobeFunctions(p.pattern)
	}
}

const traceCountText = `
int PROBE_FUNCTION(void *ctx) {
    FILTERPID
    FILTERCPU
    int loc = LOCATION;
    counts.atomic_increment(loc);
    return 0;
}
`

// program is BCC's Probe.load text: one counting function per location.
func (p *probe) program() string {
	fn := traceCountText
	if p.pid != 0 {
		fn = strings.ReplaceAll(fn, "FILTERPID", fmt.Sprintf("u32 pid = bpf_get_current_pid_tgid() >> 32;\n    if (pid != %d) { return 0; }", p.pid))
	} else {
		fn = strings.ReplaceAll(fn, "FILTERPID", "")
	}
	if p.cpu >= 0 {
		fn = strings.ReplaceAll(fn, "FILTERCPU", fmt.Sprintf("u32 cpu = bpf_get_smp_processor_id();\n    if (cpu != %d) { return 0; }", p.cpu))
	} else {
		fn = strings.ReplaceAll(fn, "FILTERCPU", "")
	}
	var b strings.Builder
	fmt.Fprintf(&b, "#include <uapi/linux/ptrace.h>\n\nBPF_ARRAY(counts, u64, %d);\n", len(p.traceFunctions))
	for i := range p.traceFunctions {
		t := strings.ReplaceAll(fn, "PROBE_FUNCTION", fmt.Sprintf("trace_count_%d", i))
		b.WriteString(strings.ReplaceAll(t, "LOCATION", strconv.Itoa(i)))
	}
	return b.String()
}

// attach attaches each location's function. Two symbols at one address
// (aliases such as malloc and __libc_malloc) can hold one uprobe only, as
// in BCC, which keeps the first; here the second attach fails and its
// location is dropped.
func (p *probe) attach(b *bcc.BPF) (int, error) {
	matched := 0
	for i, function := range p.traceFunctions {
		fnName := fmt.Sprintf("trace_count_%d", i)
		var err error
		switch {
		case p.kind == "t":
			_, err = b.AttachTracepoint(function, fnName)
		case p.isUprobe():
			_, err = b.AttachUprobe(p.library, function, fnName, bcc.UprobeOptions{PID: p.pid})
			if err != nil && len(p.traceFunctions) > 1 {
				p.traceFunctions[i] = "" // an alias of an attached function
				continue
			}
		default:
			_, err = b.AttachKprobe(function, fnName)
		}
		if err != nil {
			return matched, err
		}
		matched++
	}
	return matched, nil
}

func main() {
	// Ctrl-C is handled from the start: a test (or a user) may press it
	// as soon as the "Tracing..." line appears.
	interrupt := make(chan os.Signal, 1)
	signal.Notify(interrupt, os.Interrupt)
	var (
		pid, cpu                     int
		interval, duration           string
		timestamp, useRegex, debugOn bool
	)
	flag.IntVar(&pid, "p", 0, "trace this PID only")
	flag.IntVar(&pid, "pid", 0, "trace this PID only")
	flag.StringVar(&interval, "i", "", "summary interval, seconds")
	flag.StringVar(&interval, "interval", "", "summary interval, seconds")
	flag.StringVar(&duration, "d", "", "total duration of trace, seconds")
	flag.StringVar(&duration, "duration", "", "total duration of trace, seconds")
	flag.BoolVar(&timestamp, "T", false, "include timestamp on output")
	flag.BoolVar(&timestamp, "timestamp", false, "include timestamp on output")
	flag.BoolVar(&useRegex, "r", false, `use regular expressions. Default is "*" wildcards only.`)
	flag.BoolVar(&useRegex, "regexp", false, `use regular expressions. Default is "*" wildcards only.`)
	flag.BoolVar(&debugOn, "D", false, "print BPF program before starting (for debugging purposes)")
	flag.BoolVar(&debugOn, "debug", false, "print BPF program before starting (for debugging purposes)")
	flag.IntVar(&cpu, "c", -1, "trace this CPU only")
	flag.IntVar(&cpu, "cpu", -1, "trace this CPU only")
	flag.Parse()
	log.SetFlags(0)
	if flag.NArg() != 1 {
		log.Fatal("usage: funccount [-h] [-p PID] [-i INTERVAL] [-d DURATION] [-T] [-r] [-D] [-c CPU] pattern")
	}
	pattern := flag.Arg(0)
	intervalS, durationS, err := toolflags.IntervalDuration(interval, duration)
	if err != nil {
		log.Fatal(err)
	}

	p, err := newProbe(pattern, useRegex, pid, cpu)
	if err != nil {
		log.Fatal(err)
	}
	p.traceFunctions, err = p.functions()
	if err != nil {
		log.Fatal(err)
	}
	if len(p.traceFunctions) > 1000 {
		log.Fatalf("Possibly more than 1000 probes would be attached (%d); try a narrower pattern", len(p.traceFunctions))
	}
	if len(p.traceFunctions) == 0 {
		log.Fatalf("No functions matched by pattern %s", p.pattern)
	}
	program := p.program()
	if debugOn {
		fmt.Println(program)
	}
	b, err := bcc.New(bcc.Options{Text: program})
	if err != nil {
		log.Fatal(err)
	}
	defer b.Close()
	matched, err := p.attach(b)
	if err != nil {
		log.Fatal(err)
	}
	counts, err := b.Table("counts")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("Tracing %d functions for \"%s\"... Hit Ctrl-C to end.\n", matched, pattern)

	elapsed := 0
	for {
		exiting := false
		select {
		case <-time.After(time.Duration(intervalS) * time.Second):
			elapsed += intervalS
		case <-interrupt:
			exiting = true
		}
		if durationS > 0 && elapsed >= durationS {
			exiting = true
		}
		fmt.Println()
		if timestamp {
			fmt.Printf("%-8s\n", time.Now().Format("15:04:05"))
		}
		fmt.Printf("%-36s %8s\n", "FUNC", "COUNT")
		items, err := counts.Items()
		if err != nil {
			log.Fatal(err)
		}
		sort.SliceStable(items, func(i, j int) bool { return items[i].Value.Uint64() < items[j].Value.Uint64() })
		for _, it := range items {
			loc := int(it.Key.Uint64())
			if it.Value.Uint64() == 0 || loc >= len(p.traceFunctions) {
				continue
			}
			fmt.Printf("%-36s %8d\n", p.traceFunctions[loc], it.Value.Uint64())
		}
		if exiting {
			fmt.Println("Detaching...")
			return
		}
		if err := counts.Clear(); err != nil && !errors.Is(err, bcc.ErrKeyNotExist) {
			log.Fatal(err)
		}
	}
}
