// Command syscount summarizes system call counts and latencies: BCC's
// syscount (tools/syscount.py) in Go, with the same options and output.
// It counts raw_syscalls:sys_exit by syscall (or by process with -P),
// optionally with the time between sys_enter and sys_exit (-L).
//
//	# syscount -d 5            # top 10 syscalls over 5 seconds
//	# syscount -p 181 -L -m    # one process, with latency in ms
//	# syscount -x -P           # failed syscalls, by process
//
// Unlike BCC it has no -c/--ppid: BCC reads task->real_parent->tgid,
// whose offset depends on kernel headers matching the running kernel.
package main

import (
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/gobcc/gobcc/bcc"
	"github.com/gobcc/gobcc/bcc/syscalls"
)

const text = `
#ifdef LATENCY
struct data_t {
    u64 count;
    u64 total_ns;
};

BPF_HASH(start, u64, u64);
BPF_HASH(data, u32, struct data_t);
#else
BPF_HASH(data, u32, u64);
#endif

#ifdef LATENCY
TRACEPOINT_PROBE(raw_syscalls, sys_enter) {
    u64 pid_tgid = bpf_get_current_pid_tgid();
    u32 pid = pid_tgid >> 32;
    u32 tid = (u32)pid_tgid;

#ifdef FILTER_SYSCALL_NR
    if (args->id != FILTER_SYSCALL_NR)
        return 0;
#endif
#ifdef FILTER_PID
    if (pid != FILTER_PID)
        return 0;
#endif
#ifdef FILTER_TID
    if (tid != FILTER_TID)
        return 0;
#endif

    u64 t = bpf_ktime_get_ns();
    start.update(&pid_tgid, &t);
    return 0;
}
#endif

TRACEPOINT_PROBE(raw_syscalls, sys_exit) {
    u64 pid_tgid = bpf_get_current_pid_tgid();
    u32 pid = pid_tgid >> 32;
    u32 tid = (u32)pid_tgid;

#ifdef FILTER_SYSCALL_NR
    if (args->id != FILTER_SYSCALL_NR)
        return 0;
#endif
#ifdef FILTER_PID
    if (pid != FILTER_PID)
        return 0;
#endif
#ifdef FILTER_TID
    if (tid != FILTER_TID)
        return 0;
#endif
#ifdef FILTER_FAILED
    if (args->ret >= 0)
        return 0;
#endif
#ifdef FILTER_ERRNO
    if (args->ret != -FILTER_ERRNO)
        return 0;
#endif

#ifdef BY_PROCESS
    u32 key = pid_tgid >> 32;
#else
    u32 key = args->id;
#endif

#ifdef LATENCY
    struct data_t *val, zero = {};
    u64 *start_ns = start.lookup(&pid_tgid);
    if (!start_ns)
        return 0;

    val = data.lookup_or_try_init(&key, &zero);
    if (val) {
        lock_xadd(&val->count, 1);
        lock_xadd(&val->total_ns, bpf_ktime_get_ns() - *start_ns);
    }
#else
    u64 *val, zero = 0;
    val = data.lookup_or_try_init(&key, &zero);
    if (val) {
        lock_xadd(val, 1);
    }
#endif
    return 0;
}
`

// errnoValue reads -e's argument as BCC's handle_errno does: a number
// (its sign ignored) or a name such as EPERM.
func errnoValue(s string) (int, error) {
	if n, err := strconv.Atoi(s); err == nil {
		if n < 0 {
			n = -n
		}
		return n, nil
	}
	for e := syscall.Errno(1); e < 4096; e++ {
		if unix.ErrnoName(e) == s {
			return int(e), nil
		}
	}
	return 0, fmt.Errorf("couldn't map %s to an errno", s)
}

func main() {
	// Ctrl-C is handled from the start: a test (or a user) may press it
	// as soon as the "Tracing..." line appears.
	interrupt := make(chan os.Signal, 1)
	signal.Notify(interrupt, os.Interrupt)
	var (
		pid, tid, interval, duration, top int
		failures, latency, ms, process    bool
		list, ebpf                        bool
		errnoArg, syscallName             string
	)
	intFlag := func(p *int, short, long string, def int, usage string) {
		flag.IntVar(p, short, def, usage)
		flag.IntVar(p, long, def, usage)
	}
	boolFlag := func(p *bool, short, long, usage string) {
		flag.BoolVar(p, short, false, usage)
		flag.BoolVar(p, long, false, usage)
	}
	intFlag(&pid, "p", "pid", 0, "trace only this pid")
	intFlag(&tid, "t", "tid", 0, "trace only this tid")
	intFlag(&interval, "i", "interval", 0, "print summary at this interval (seconds)")
	intFlag(&duration, "d", "duration", 0, "total duration of trace, in seconds")
	intFlag(&top, "T", "top", 10, "print only the top syscalls by count or latency")
	boolFlag(&failures, "x", "failures", "trace only failed syscalls (return < 0)")
	flag.StringVar(&errnoArg, "e", "", "trace only syscalls that return this error (numeric or EPERM, etc.)")
	flag.StringVar(&errnoArg, "errno", "", "trace only syscalls that return this error (numeric or EPERM, etc.)")
	boolFlag(&latency, "L", "latency", "collect syscall latency")
	boolFlag(&ms, "m", "milliseconds", "display latency in milliseconds (default: microseconds)")
	boolFlag(&process, "P", "process", "count by process and not by syscall")
	boolFlag(&list, "l", "list", "print list of recognized syscalls and exit")
	flag.StringVar(&syscallName, "syscall", "", "trace this syscall only (use option -l to get all recognized syscalls)")
	flag.BoolVar(&ebpf, "ebpf", false, "print the BPF program and exit")
	flag.Parse()
	log.SetFlags(0)

	if duration > 0 && interval == 0 {
		interval = duration
	}
	if interval == 0 {
		interval = 99999999
	}
	syscallNr := -1
	if syscallName != "" {
		nr, ok := syscalls.Number(syscallName)
		if !ok {
			fmt.Printf("Error: syscall '%s' not found. Exiting.\n", syscallName)
			os.Exit(1)
		}
		syscallNr = nr
	}
	if list {
		printList()
		return
	}

	var defines []string
	switch {
	case pid != 0:
		defines = append(defines, fmt.Sprintf("#define FILTER_PID %d", pid))
	case tid != 0:
		defines = append(defines, fmt.Sprintf("#define FILTER_TID %d", tid))
	}
	if failures {
		defines = append(defines, "#define FILTER_FAILED")
	}
	if errnoArg != "" {
		e, err := errnoValue(errnoArg)
		if err != nil {
			log.Fatal(err)
		}
		defines = append(defines, fmt.Sprintf("#define FILTER_ERRNO %d", e))
	}
	if latency {
		defines = append(defines, "#define LATENCY")
	}
	if process {
		defines = append(defines, "#define BY_PROCESS")
	}
	if syscallNr >= 0 {
		defines = append(defines, fmt.Sprintf("#define FILTER_SYSCALL_NR %d", syscallNr))
	}
	program := strings.Join(defines, "\n") + "\n" + text
	if ebpf {
		fmt.Println(program)
		return
	}

	b, err := bcc.New(bcc.Options{Text: program})
	if err != nil {
		log.Fatal(err)
	}
	defer b.Close()
	data, err := b.Table("data")
	if err != nil {
		log.Fatal(err)
	}

	aggColname := "SYSCALL"
	if process {
		aggColname = "PID    COMM"
	}
	timeColname := "TIME (us)"
	if ms {
		timeColname = "TIME (ms)"
	}
	aggColval := func(key uint64) string {
		if process {
			return fmt.Sprintf("%-6d %-15s", key, commForPID(int(key)))
		}
		return syscalls.Name(int(key))
	}
	printStats := func() {
		items, err := data.Items()
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("[%s]\n", time.Now().Format("15:04:05"))
		if latency {
			fmt.Printf("%-22s %8s %16s\n", aggColname, "COUNT", timeColname)
			total := func(it bcc.Item) uint64 { f, _ := it.Value.Field("total_ns"); return f.Uint64() }
			sort.SliceStable(items, func(i, j int) bool { return total(items[i]) > total(items[j]) })
		} else {
			fmt.Printf("%-22s %8s\n", aggColname, "COUNT")
			sort.SliceStable(items, func(i, j int) bool { return items[i].Value.Uint64() > items[j].Value.Uint64() })
		}
		if len(items) > top {
			items = items[:top]
		}
		for _, it := range items {
			if it.Key.Uint64() == 0xFFFFFFFF {
				continue // happens occasionally, we don't need it
			}
			if latency {
				count, _ := it.Value.Field("count")
				totalNs, _ := it.Value.Field("total_ns")
				if ms {
					fmt.Printf("%-22s %8d %16.6f\n", aggColval(it.Key.Uint64()), count.Uint64(), float64(totalNs.Uint64())/1e6)
				} else {
					fmt.Printf("%-22s %8d %16.3f\n", aggColval(it.Key.Uint64()), count.Uint64(), float64(totalNs.Uint64())/1e3)
				}
			} else {
				fmt.Printf("%-22s %8d\n", aggColval(it.Key.Uint64()), it.Value.Uint64())
			}
		}
		fmt.Println()
		if err := data.Clear(); err != nil {
			log.Fatal(err)
		}
	}

	failed := ""
	if failures {
		failed = "failed "
	}
	if syscallName != "" {
		fmt.Printf("Tracing %ssyscall '%s'... Ctrl+C to quit.\n", failed, syscallName)
	} else {
		fmt.Printf("Tracing %ssyscalls, printing top %d... Ctrl+C to quit.\n", failed, top)
	}

	seconds := 0
	for {
		exiting := false
		select {
		case <-time.After(time.Duration(interval) * time.Second):
			seconds += interval
		case <-interrupt:
			exiting = true
		}
		if duration > 0 && seconds >= duration {
			exiting = true
		}
		printStats()
		if exiting {
			fmt.Println("Detaching...")
			return
		}
	}
}

// commForPID is the process's command name, as BCC's comm_for_pid.
func commForPID(pid int) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
	if err != nil {
		return "[unknown]"
	}
	return strings.TrimSpace(string(b))
}

// printList prints the known syscalls four to a line, sorted, as -l does in
// BCC.
func printList() {
	var names []string
	for _, n := range syscalls.All() {
		names = append(names, n)
	}
	sort.Strings(names)
	for i := 0; i < len(names); i += 4 {
		var row []string
		for _, n := range names[i:min(i+4, len(names))] {
			row = append(row, fmt.Sprintf("%-22s", n))
		}
		fmt.Println(strings.Join(row, "   "))
	}
}
