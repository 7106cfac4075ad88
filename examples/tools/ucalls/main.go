// Command ucalls summarizes method calls in high-level language runtimes
// through their USDT probes, and optionally system calls: BCC's ucalls
// (tools/lib/ucalls.py) in Go, with its options and output. The language
// is detected from the process (symbols.DetectLanguage) unless -l names it.
//
//	# ucalls -l java 185    # trace Java calls and print statistics on ^C
//	# ucalls -l python 2020 1  # trace Python calls and print every second
//	# ucalls -l java 185 -S # trace Java calls and syscalls
//	# ucalls 6712 -S        # trace only syscall counts
//	# ucalls -l ruby 1344 -T 10  # trace top 10 Ruby method calls
//	# ucalls -l ruby 1344 -L     # trace Ruby calls including latency
//	# ucalls -l php 443 -LS      # trace PHP calls and syscalls with latency
//	# ucalls -l python 2020 -mL  # trace Python calls including latency in ms
//
// Go's flag package wants options before the PID: "ucalls -L -l python
// 2020 1".
package main

import (
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/gobcc/gobcc/bcc"
	"github.com/gobcc/gobcc/bcc/syscalls"
	"github.com/gobcc/gobcc/bcc/usdt"
	"github.com/gobcc/gobcc/symbols"
)

var languages = []string{"java", "perl", "php", "python", "ruby", "tcl"}

const text = `
#include <linux/ptrace.h>

#define MAX_STRING_LENGTH 80
DEFINE_NOLANG
DEFINE_LATENCY
DEFINE_SYSCALLS

struct method_t {
    char clazz[MAX_STRING_LENGTH];
    char method[MAX_STRING_LENGTH];
};
struct entry_t {
    u64 pid;
    struct method_t method;
};
struct info_t {
    u64 num_calls;
    u64 total_ns;
};
struct syscall_entry_t {
    u64 timestamp;
    u64 id;
};

#ifndef LATENCY
  BPF_HASH(counts, struct method_t, u64);            // number of calls
  #ifdef SYSCALLS
    BPF_HASH(syscounts, u64, u64);                   // number of calls per IP
  #endif  // SYSCALLS
#else
  BPF_HASH(times, struct method_t, struct info_t);
  BPF_HASH(entry, struct entry_t, u64);              // timestamp at entry
  #ifdef SYSCALLS
    BPF_HASH(systimes, u64, struct info_t);          // latency per IP
    BPF_HASH(sysentry, u64, struct syscall_entry_t); // ts + IP at entry
  #endif  // SYSCALLS
#endif

#ifndef NOLANG
int trace_entry(struct pt_regs *ctx) {
    u64 clazz = 0, method = 0, val = 0;
    u64 *valp;
    struct entry_t data = {0};
#ifdef LATENCY
    u64 timestamp = bpf_ktime_get_ns();
    data.pid = bpf_get_current_pid_tgid();
#endif
    READ_CLASS
    READ_METHOD
    bpf_probe_read_user(&data.method.clazz, sizeof(data.method.clazz),
                   (void *)clazz);
    bpf_probe_read_user(&data.method.method, sizeof(data.method.method),
                   (void *)method);
#ifndef LATENCY
    valp = counts.lookup_or_try_init(&data.method, &val);
    if (valp) {
        ++(*valp);
    }
#endif
#ifdef LATENCY
    entry.update(&data, &timestamp);
#endif
    return 0;
}

#ifdef LATENCY
int trace_return(struct pt_regs *ctx) {
    u64 *entry_timestamp, clazz = 0, method = 0;
    struct info_t *info, zero = {};
    struct entry_t data = {};
    data.pid = bpf_get_current_pid_tgid();
    READ_CLASS
    READ_METHOD
    bpf_probe_read_user(&data.method.clazz, sizeof(data.method.clazz),
                   (void *)clazz);
    bpf_probe_read_user(&data.method.method, sizeof(data.method.method),
                   (void *)method);
    entry_timestamp = entry.lookup(&data);
    if (!entry_timestamp) {
        return 0;   // missed the entry event
    }
    info = times.lookup_or_try_init(&data.method, &zero);
    if (info) {
        info->num_calls += 1;
        info->total_ns += bpf_ktime_get_ns() - *entry_timestamp;
    }
    entry.delete(&data);
    return 0;
}
#endif  // LATENCY
#endif  // NOLANG

#ifdef SYSCALLS
TRACEPOINT_PROBE(raw_syscalls, sys_enter) {
    u64 pid = bpf_get_current_pid_tgid();
    u64 *valp, id = args->id, val = 0;
    PID_FILTER
#ifdef LATENCY
    struct syscall_entry_t data = {};
    data.timestamp = bpf_ktime_get_ns();
    data.id = id;
    sysentry.update(&pid, &data);
#endif
#ifndef LATENCY
    valp = syscounts.lookup_or_try_init(&id, &val);
    if (valp) {
        ++(*valp);
    }
#endif
    return 0;
}

#ifdef LATENCY
TRACEPOINT_PROBE(raw_syscalls, sys_exit) {
    struct syscall_entry_t *e;
    struct info_t *info, zero = {};
    u64 pid = bpf_get_current_pid_tgid(), id;
    PID_FILTER
    e = sysentry.lookup(&pid);
    if (!e) {
        return 0;   // missed the entry event
    }
    id = e->id;
    info = systimes.lookup_or_try_init(&id, &zero);
    if (info) {
        info->num_calls += 1;
        info->total_ns += bpf_ktime_get_ns() - e->timestamp;
    }
    sysentry.delete(&pid);
    return 0;
}
#endif  // LATENCY
#endif  // SYSCALLS
`

// row is one line of the summary: a method (class.method) or syscall, its
// calls, and its total time in ns (0 without -L).
type row struct {
	name  string
	calls uint64
	ns    uint64
}

func main() {
	// Ctrl-C is handled from the start: a test (or a user) may press it
	// as soon as the "Tracing..." line appears.
	interrupt := make(chan os.Signal, 1)
	signal.Notify(interrupt, os.Interrupt)
	var (
		language                       string
		top                            int
		latency, sys, verbose, ms, bpf bool
	)
	flag.StringVar(&language, "l", "", "language to trace (if none, trace syscalls only): "+strings.Join(append(slices.Clone(languages), "none"), ", "))
	flag.StringVar(&language, "language", "", "language to trace (if none, trace syscalls only)")
	flag.IntVar(&top, "T", 0, "number of most frequent/slow calls to print")
	flag.IntVar(&top, "top", 0, "number of most frequent/slow calls to print")
	flag.BoolVar(&latency, "L", false, "record method latency from enter to exit (except recursive calls)")
	flag.BoolVar(&latency, "latency", false, "record method latency from enter to exit (except recursive calls)")
	flag.BoolVar(&sys, "S", false, "record syscall latency (adds overhead)")
	flag.BoolVar(&sys, "syscalls", false, "record syscall latency (adds overhead)")
	flag.BoolVar(&verbose, "v", false, "verbose mode: print the BPF program (for debugging purposes)")
	flag.BoolVar(&verbose, "verbose", false, "verbose mode: print the BPF program (for debugging purposes)")
	flag.BoolVar(&ms, "m", false, "report times in milliseconds (default is microseconds)")
	flag.BoolVar(&ms, "milliseconds", false, "report times in milliseconds (default is microseconds)")
	flag.BoolVar(&bpf, "ebpf", false, "print the BPF program and exit")
	flag.Parse()
	log.SetFlags(0)
	if flag.NArg() < 1 {
		log.Fatal("usage: ucalls [-h] [-l LANGUAGE] [-T TOP] [-L] [-S] [-v] [-m] pid [interval]")
	}
	pid, err := strconv.Atoi(flag.Arg(0))
	if err != nil {
		log.Fatalf("invalid pid %q", flag.Arg(0))
	}
	interval := 0
	if flag.NArg() > 1 {
		if interval, err = strconv.Atoi(flag.Arg(1)); err != nil {
			log.Fatalf("invalid interval %q", flag.Arg(1))
		}
	}
	if language != "" && language != "none" && !slices.Contains(languages, language) {
		log.Fatalf("argument -l/--language: invalid choice: '%s'", language)
	}
	if language == "" {
		language, _ = symbols.DetectLanguage(languages, pid)
	}

	// We assume that the entry and return probes have the same arguments.
	var entryProbe, returnProbe, readClass, readMethod, extraMessage string
	switch language {
	case "java":
		entryProbe, returnProbe = "method__entry", "method__return"
		readClass, readMethod = "bpf_usdt_readarg(2, ctx, &clazz);", "bpf_usdt_readarg(4, ctx, &method);"
		extraMessage = "If you do not see any results, make sure you ran java with option -XX:+ExtendedDTraceProbes"
	case "perl":
		entryProbe, returnProbe = "sub__entry", "sub__return"
		readClass, readMethod = "bpf_usdt_readarg(2, ctx, &clazz);", "bpf_usdt_readarg(1, ctx, &method);"
	case "php":
		entryProbe, returnProbe = "function__entry", "function__return"
		readClass, readMethod = "bpf_usdt_readarg(4, ctx, &clazz);", "bpf_usdt_readarg(1, ctx, &method);"
		extraMessage = "If you do not see any results, make sure the environment variable USE_ZEND_DTRACE is set to 1"
	case "python":
		entryProbe, returnProbe = "function__entry", "function__return"
		readClass, readMethod = "bpf_usdt_readarg(1, ctx, &clazz);", "bpf_usdt_readarg(2, ctx, &method);"
	case "ruby":
		entryProbe, returnProbe = "method__entry", "method__return"
		readClass, readMethod = "bpf_usdt_readarg(1, ctx, &clazz);", "bpf_usdt_readarg(2, ctx, &method);"
	case "tcl":
		entryProbe, returnProbe = "proc__entry", "proc__return"
		readMethod = "bpf_usdt_readarg(1, ctx, &method);"
	default:
		if !sys {
			fmt.Println("Nothing to do; use -S to trace syscalls.")
			os.Exit(1)
		}
		language = ""
	}

	define := func(on bool, name string) string {
		if on {
			return "#define " + name
		}
		return ""
	}
	program := strings.NewReplacer(
		"READ_CLASS", readClass,
		"READ_METHOD", readMethod,
		"PID_FILTER", fmt.Sprintf("if ((pid >> 32) != %d) { return 0; }", pid),
		"DEFINE_NOLANG", define(language == "", "NOLANG"),
		"DEFINE_LATENCY", define(latency, "LATENCY"),
		"DEFINE_SYSCALLS", define(sys, "SYSCALLS"),
	).Replace(text)

	var contexts []*usdt.Context
	if language != "" {
		u := usdt.ForPID(pid)
		if err := u.EnableProbe(entryProbe, "trace_entry"); err != nil {
			log.Fatal(err)
		}
		if latency {
			if err := u.EnableProbe(returnProbe, "trace_return"); err != nil {
				log.Fatal(err)
			}
		}
		contexts = append(contexts, u)
	}
	if bpf || verbose {
		fmt.Println(program)
		if bpf {
			return
		}
	}
	b, err := bcc.New(bcc.Options{Text: program, USDTContexts: contexts})
	if err != nil {
		// BCC's enable_probe_or_bail prints the failure and exits.
		fmt.Println(err)
		os.Exit(1)
	}
	defer b.Close()
	if sys {
		fmt.Println("Attached kernel tracepoints for syscall tracing.")
	}

	table := func(name string) *bcc.Table {
		t, err := b.Table(name)
		if err != nil {
			log.Fatal(err)
		}
		return t
	}
	methodName := func(k bcc.Value) string {
		clazz, _ := k.Field("clazz")
		method, _ := k.Field("method")
		return cString(clazz.Bytes()) + "." + cString(method.Bytes())
	}
	info := func(v bcc.Value) (uint64, uint64) {
		n, _ := v.Field("num_calls")
		ns, _ := v.Field("total_ns")
		return n.Uint64(), ns.Uint64()
	}
	getData := func() []row {
		var data []row
		add := func(t *bcc.Table, name func(bcc.Value) string) {
			items, err := t.Items()
			if err != nil {
				log.Fatal(err)
			}
			for _, it := range items {
				if latency {
					n, ns := info(it.Value)
					data = append(data, row{name(it.Key), n, ns})
				} else {
					data = append(data, row{name(it.Key), it.Value.Uint64(), 0})
				}
			}
		}
		syscallName := func(k bcc.Value) string { return syscalls.Name(int(k.Uint64())) }
		if language != "" {
			if latency {
				add(table("times"), methodName)
			} else {
				add(table("counts"), methodName)
			}
		}
		if sys {
			if latency {
				add(table("systimes"), syscallName)
			} else {
				add(table("syscounts"), syscallName)
			}
		}
		sort.SliceStable(data, func(i, j int) bool {
			if latency {
				return data[i].ns < data[j].ns
			}
			return data[i].calls < data[j].calls
		})
		return data
	}
	clearData := func() {
		var names []string
		if language != "" {
			names = append(names, map[bool]string{true: "times", false: "counts"}[latency])
		}
		if sys {
			names = append(names, map[bool]string{true: "systimes", false: "syscounts"}[latency])
		}
		for _, n := range names {
			if err := table(n).Clear(); err != nil {
				log.Fatal(err)
			}
		}
	}

	shown := language
	if shown == "" {
		shown = "none"
	}
	fmt.Printf("Tracing calls in process %d (language: %s)... Ctrl-C to quit.\n", pid, shown)
	if extraMessage != "" {
		fmt.Println(extraMessage)
	}
	wait := time.Duration(interval) * time.Second
	if interval == 0 {
		wait = 99999999 * time.Second
	}
	for {
		exitSignaled := false
		select {
		case <-time.After(wait):
		case <-interrupt:
			exitSignaled = true
		}
		fmt.Println()
		data := getData()
		if latency {
			timeCol := "TIME (us)"
			if ms {
				timeCol = "TIME (ms)"
			}
			fmt.Printf("%-50s %8s %8s\n", "METHOD", "# CALLS", timeCol)
		} else {
			fmt.Printf("%-50s %8s\n", "METHOD", "# CALLS")
		}
		if top > 0 && len(data) > top {
			data = data[len(data)-top:]
		}
		for _, r := range data {
			if latency {
				t := float64(r.ns) / 1000
				if ms {
					t = float64(r.ns) / 1e6
				}
				fmt.Printf("%-50s %8d %6.2f\n", r.name, r.calls, t)
			} else {
				fmt.Printf("%-50s %8d\n", r.name, r.calls)
			}
		}
		if interval > 0 && !exitSignaled {
			clearData()
		} else {
			if sys {
				fmt.Println("Detaching kernel probes, please wait...")
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
