// Command stackcount counts events and the stack traces that led to them:
// BCC's stackcount (tools/stackcount.py) in Go, with its options and
// output.
//
//	# stackcount t:sched:sched_fork        # count stacks for sched_fork tracepoint
//	# stackcount -K t:sched:sched_switch   # kernel stacks only
//	# stackcount -U t:sched:sched_switch   # user stacks only
//	# stackcount -p 185 c:malloc           # count stacks for malloc in PID 185
//	# stackcount -Ti 5 't:block:*'         # output every 5 seconds, with timestamps
//	# stackcount -f -P t:raw_syscalls:sys_enter  # folded, per process
//	# stackcount submit_bio                # kernel function (needs kprobes)
//
// Patterns are BCC's: func (kprobes), lib:func or /path:func (uprobes),
// t:cat:event (tracepoints); USDT patterns (u:lib:probe) are not offered.
// -c filters on bpf_get_smp_processor_id() where BCC reads task->cpu.
package main

import (
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"sort"
	"strings"
	"time"

	"github.com/gobcc/gobcc/examples/tools/internal/toolflags"
	"github.com/gobcc/gobcc/symbols"

	"github.com/gobcc/gobcc/bcc"
)

const bpfText = `#include <uapi/linux/ptrace.h>
#include <linux/sched.h>

struct key_t {
    // no pid (thread ID) so that we do not needlessly split this key
    u32 tgid;
    int kernel_stack_id;
    int user_stack_id;
    char name[TASK_COMM_LEN];
};

BPF_HASH(counts, struct key_t);
BPF_STACK_TRACE(stack_traces, 1024);

int trace_count(void *ctx) {
    FILTER
    struct key_t key = {};
    key.tgid = GET_TGID;
    STORE_COMM
    GET_STACKS
    counts.atomic_increment(key);
    return 0;
}
`

func main() {
	// Ctrl-C is handled from the start: a test (or a user) may press it
	// as soon as the "Tracing..." line appears.
	interrupt := make(chan os.Signal, 1)
	signal.Notify(interrupt, os.Interrupt)
	var (
		pid, cpu                                              int
		interval, duration                                    string
		timestamp, useRegex, offset, perPID                   bool
		kernelOnly, userOnly, verbose, delimited, folded, dbg bool
	)
	intFlag := func(p *int, short, long string, def int, usage string) {
		flag.IntVar(p, short, def, usage)
		flag.IntVar(p, long, def, usage)
	}
	strFlag := func(p *string, short, long, usage string) {
		flag.StringVar(p, short, "", usage)
		flag.StringVar(p, long, "", usage)
	}
	boolFlag := func(p *bool, short, long, usage string) {
		flag.BoolVar(p, short, false, usage)
		flag.BoolVar(p, long, false, usage)
	}
	intFlag(&pid, "p", "pid", 0, "trace this PID only")
	intFlag(&cpu, "c", "cpu", -1, "trace this CPU only")
	strFlag(&interval, "i", "interval", "summary interval, seconds")
	strFlag(&duration, "D", "duration", "total duration of trace, seconds")
	boolFlag(&timestamp, "T", "timestamp", "include timestamp on output")
	boolFlag(&useRegex, "r", "regexp", `use regular expressions. Default is "*" wildcards only.`)
	boolFlag(&offset, "s", "offset", "show address offsets")
	boolFlag(&perPID, "P", "perpid", "display stacks separately for each process")
	boolFlag(&kernelOnly, "K", "kernel-stacks-only", "kernel stack only")
	boolFlag(&userOnly, "U", "user-stacks-only", "user stack only")
	boolFlag(&verbose, "v", "verbose", "show raw addresses")
	boolFlag(&delimited, "d", "delimited", "insert delimiter between kernel/user stacks")
	boolFlag(&folded, "f", "folded", "output folded format")
	flag.BoolVar(&dbg, "debug", false, "print BPF program before starting (for debugging purposes)")
	flag.Parse()
	log.SetFlags(0)
	if flag.NArg() != 1 {
		log.Fatal("usage: stackcount [-h] [-p PID] [-c CPU] [-i INTERVAL] [-D DURATION] [-T] [-r] [-s] [-P] [-K] [-U] [-v] [-d] [-f] [--debug] pattern")
	}
	pattern := flag.Arg(0)
	intervalS, durationS, err := toolflags.IntervalDuration(interval, duration)
	if err != nil {
		log.Fatal(err)
	}
	if kernelOnly && userOnly {
		fmt.Println("ERROR: -K and -U are mutually exclusive. If you want both stacks, that is the default.")
		return
	}
	kernelStack, userStack := true, true
	if kernelOnly || userOnly {
		kernelStack, userStack = kernelOnly, userOnly
	}
	if pid > 0 {
		perPID = true
	}
	needDelimiter := delimited && !(kernelOnly || userOnly)

	// The probe, parsed as BCC's Probe.__init__ does.
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
			log.Fatalf("Type must be 'p' or 't', but got %s", parts[0])
		}
	default:
		log.Fatalf("Too many ':'-separated components in pattern %s", pattern)
	}
	kind, library, re := parts[0], parts[1], parts[2]
	if !useRegex {
		re = "^" + strings.ReplaceAll(re, "*", ".*") + "$"
	}
	isKernelProbe := kind == "t" || (kind == "p" && library == "")

	// load
	stackTrace := "key.user_stack_id = -1;"
	if userStack {
		stackTrace = "key.user_stack_id = stack_traces.get_stackid(ctx, BPF_F_USER_STACK);"
	}
	if kernelStack {
		stackTrace += "\n    key.kernel_stack_id = stack_traces.get_stackid(ctx, 0);"
	} else {
		stackTrace += "\n    key.kernel_stack_id = -1;"
	}
	var filter []string
	if isKernelProbe && pid != 0 {
		filter = append(filter, fmt.Sprintf("u32 pid; pid = bpf_get_current_pid_tgid() >> 32; if (pid != %d) { return 0; }", pid))
	}
	if isKernelProbe && cpu >= 0 {
		filter = append(filter, fmt.Sprintf("if (bpf_get_smp_processor_id() != %d) { return 0; }", cpu))
	}
	program := strings.ReplaceAll(bpfText, "FILTER", strings.Join(filter, "\n    "))
	program = strings.ReplaceAll(program, "GET_STACKS", stackTrace)
	if perPID {
		program = strings.ReplaceAll(program, "GET_TGID", "bpf_get_current_pid_tgid() >> 32")
		program = strings.ReplaceAll(program, "STORE_COMM", "bpf_get_current_comm(&key.name, sizeof(key.name));")
	} else {
		program = strings.ReplaceAll(program, "GET_TGID", "0xffffffff")
		program = strings.ReplaceAll(program, "STORE_COMM", "")
	}
	if dbg {
		fmt.Println(program)
	}
	b, err := bcc.New(bcc.Options{Text: program})
	if err != nil {
		log.Fatal(err)
	}
	defer b.Close()

	// attach
	var links []*bcc.Link
	switch {
	case kind == "t":
		links, err = b.AttachTracepointRe(re, "trace_count")
	case library != "":
		links, err = b.AttachUprobeRe(library, re, "trace_count", bcc.UprobeOptions{PID: pid})
	default:
		links, err = b.AttachKprobeRe(re, "trace_count")
	}
	if err != nil {
		log.Fatal(err)
	}
	if len(links) == 0 {
		log.Fatalf("No functions matched by pattern %s", re)
	}
	header := fmt.Sprintf("Tracing %d functions for \"%s\"... Hit Ctrl-C to end.\n", len(links), pattern)
	if folded {
		// BCC prints nothing: folded output goes to flame graph scripts.
		// Standard error still says when tracing has begun.
		fmt.Fprint(os.Stderr, header)
	} else {
		fmt.Print(header)
	}

	counts, err := b.Table("counts")
	if err != nil {
		log.Fatal(err)
	}
	stackTraces, err := b.Table("stack_traces")
	if err != nil {
		log.Fatal(err)
	}
	ksym := func(addr uint64) string {
		return b.Ksym(addr, symbols.Options{ShowOffset: offset})
	}
	usym := func(addr uint64, pid int) string {
		return b.Sym(addr, pid, symbols.Options{ShowOffset: offset})
	}
	printFrame := func(addr uint64, name string) {
		fmt.Print("  ")
		if verbose {
			fmt.Printf("%-16x ", addr)
		}
		fmt.Println(name)
	}

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
		if !folded {
			fmt.Println()
		}
		if timestamp {
			fmt.Printf("%-8s\n", time.Now().Format("15:04:05"))
		}
		items, err := counts.Items()
		if err != nil {
			log.Fatal(err)
		}
		sort.SliceStable(items, func(i, j int) bool { return items[i].Value.Uint64() < items[j].Value.Uint64() })
		for _, it := range items {
			field := func(n string) bcc.Value { v, _ := it.Key.Field(n); return v }
			tgid := field("tgid").Uint64()
			name := cString(field("name").Bytes())
			var ustack, kstack []uint64
			if id := field("user_stack_id").Int64(); id >= 0 {
				ustack, _ = stackTraces.Walk(id)
			}
			if id := field("kernel_stack_id").Int64(); id >= 0 {
				kstack, _ = stackTraces.Walk(id)
			}
			if folded {
				line := []string{name}
				for i := len(ustack) - 1; i >= 0; i-- {
					line = append(line, b.Sym(ustack[i], int(tgid)))
				}
				if needDelimiter {
					line = append(line, "-")
				}
				for i := len(kstack) - 1; i >= 0; i-- {
					line = append(line, b.Ksym(kstack[i]))
				}
				fmt.Printf("%s %d\n", strings.Join(line, ";"), it.Value.Uint64())
				continue
			}
			for _, addr := range kstack {
				printFrame(addr, ksym(addr))
			}
			if needDelimiter {
				fmt.Println("    --")
			}
			for _, addr := range ustack {
				printFrame(addr, usym(addr, int(tgid)))
			}
			if pid == 0 && tgid != 0xffffffff {
				fmt.Printf("    %s [%d]\n", name, tgid)
			}
			fmt.Printf("    %d\n\n", it.Value.Uint64())
		}
		if err := counts.Clear(); err != nil {
			log.Fatal(err)
		}
		if exiting {
			if !folded {
				fmt.Println("Detaching...")
			}
			return
		}
	}
}

// cString is a char array up to its first NUL.
func cString(b []byte) string {
	for i, c := range b {
		if c == 0 {
			return string(b[:i])
		}
	}
	return string(b)
}
