// Command runqlat summarizes scheduler run queue latency as a histogram:
// how long tasks spent waiting on a CPU's run queue before they ran. It is
// BCC's runqlat (tools/runqlat.py) in Go, with its options and output.
//
//	# runqlat            # summarize run queue latency as a histogram
//	# runqlat 1 10       # print 1 second summaries, 10 times
//	# runqlat -mT 1      # 1s summaries, milliseconds, and timestamps
//	# runqlat -P         # show each PID separately
//	# runqlat -p 185     # trace PID 185 only
//
// BCC reads the task_struct behind the sched_wakeup, sched_wakeup_new and
// sched_switch raw tracepoints, which needs kernel headers (or BTF) that
// match the running kernel. This port reads only the tracepoints' own
// fields, whose layout the kernel describes. They carry thread IDs, not
// process IDs, so the program learns each thread's process when the thread
// is switched out (it is then the current task) and keeps it in a map; a
// thread that has never run yet is taken to be its process's main thread.
// BCC's --pidnss (a histogram per PID namespace) needs the task_struct and
// is not offered.
package main

import (
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"time"

	"github.com/gobcc/gobcc/bcc"
)

const text = `
typedef struct pid_key {
    u32 id;
    u64 slot;
} pid_key_t;

BPF_HASH(start, u32);
// The process (tgid) of each thread seen leaving a CPU.
BPF_HASH(tgids, u32, u32, 65536);
STORAGE

static __always_inline u32 tgid_of(u32 pid)
{
    u32 *tgid = tgids.lookup(&pid);
    return tgid ? *tgid : pid;
}

// record enqueue timestamp
static __always_inline int trace_enqueue(u32 pid)
{
    u32 tgid = tgid_of(pid);
    if (FILTER || pid == 0)
        return 0;
    u64 ts = bpf_ktime_get_ns();
    start.update(&pid, &ts);
    return 0;
}

TRACEPOINT_PROBE(sched, sched_wakeup)
{
    return trace_enqueue(args->pid);
}

TRACEPOINT_PROBE(sched, sched_wakeup_new)
{
    return trace_enqueue(args->pid);
}

TRACEPOINT_PROBE(sched, sched_process_exit)
{
    u32 pid = bpf_get_current_pid_tgid();
    tgids.delete(&pid);
    return 0;
}

TRACEPOINT_PROBE(sched, sched_switch)
{
    u32 pid, tgid;
    u64 pid_tgid = bpf_get_current_pid_tgid();

    // The task leaving the CPU is still the current one: remember its
    // process for the wake-ups to come.
    pid = args->prev_pid;
    if (pid != 0 && pid == (u32)pid_tgid) {
        tgid = pid_tgid >> 32;
        tgids.update(&pid, &tgid);
    }

    // ivcsw: treat like an enqueue event and store timestamp. The
    // tracepoint reports a preempted task as TASK_REPORT_MAX (0x100) and a
    // runnable one as 0: either is still on the run queue.
    if ((args->prev_state & 0xff) == 0) {
        pid = args->prev_pid;
        tgid = tgid_of(pid);
        if (!(FILTER || pid == 0)) {
            u64 ts = bpf_ktime_get_ns();
            start.update(&pid, &ts);
        }
    }

    pid = args->next_pid;
    tgid = tgid_of(pid);
    if (FILTER || pid == 0)
        return 0;
    u64 *tsp, delta;

    // fetch timestamp and calculate delta
    tsp = start.lookup(&pid);
    if (tsp == 0) {
        return 0;   // missed enqueue
    }
    delta = bpf_ktime_get_ns() - *tsp;
    FACTOR

    // store as histogram
    STORE

    start.delete(&pid);
    return 0;
}
`

func main() {
	// Ctrl-C is handled from the start: a test (or a user) may press it
	// as soon as the "Tracing..." line appears.
	interrupt := make(chan os.Signal, 1)
	signal.Notify(interrupt, os.Interrupt)
	var (
		timestamp, ms, pids, tids, ebpf bool
		pid                             string
	)
	boolFlag := func(p *bool, short, long, usage string) {
		flag.BoolVar(p, short, false, usage)
		flag.BoolVar(p, long, false, usage)
	}
	boolFlag(&timestamp, "T", "timestamp", "include timestamp on output")
	boolFlag(&ms, "m", "milliseconds", "millisecond histogram")
	boolFlag(&pids, "P", "pids", "print a histogram per process ID")
	boolFlag(&tids, "L", "tids", "print a histogram per thread ID")
	flag.StringVar(&pid, "p", "", "trace this PID only")
	flag.StringVar(&pid, "pid", "", "trace this PID only")
	flag.BoolVar(&ebpf, "ebpf", false, "print the BPF program and exit")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: runqlat [-h] [-T] [-m] [-P] [-L] [-p PID] [interval] [count]\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	log.SetFlags(0)
	interval, count := 99999999, 99999999
	if flag.NArg() > 0 {
		n, err := strconv.Atoi(flag.Arg(0))
		if err != nil {
			log.Fatalf("invalid interval %q", flag.Arg(0))
		}
		interval = n
	}
	if flag.NArg() > 1 {
		n, err := strconv.Atoi(flag.Arg(1))
		if err != nil {
			log.Fatalf("invalid count %q", flag.Arg(1))
		}
		count = n
	}
	countdown := count

	program := text
	if pid != "" {
		if _, err := strconv.Atoi(pid); err != nil {
			log.Fatalf("invalid PID %q", pid)
		}
		program = strings.ReplaceAll(program, "FILTER", "tgid != "+pid)
	} else {
		program = strings.ReplaceAll(program, "FILTER", "0")
	}
	label := "usecs"
	if ms {
		program = strings.ReplaceAll(program, "FACTOR", "delta /= 1000000;")
		label = "msecs"
	} else {
		program = strings.ReplaceAll(program, "FACTOR", "delta /= 1000;")
	}
	section := ""
	// The key is zeroed whole before its fields are set: its padding is
	// hashed too, and BCC's designated initializer leaves it to chance.
	if pids || tids {
		section = "pid"
		id := "tgid"
		if tids {
			id = "pid"
			section = "tid"
		}
		program = strings.ReplaceAll(program, "STORAGE", "BPF_HISTOGRAM(dist, pid_key_t);")
		program = strings.ReplaceAll(program, "STORE",
			"pid_key_t key = {}; key.id = "+id+"; key.slot = bpf_log2l(delta); dist.increment(key);")
	} else {
		program = strings.ReplaceAll(program, "STORAGE", "BPF_HISTOGRAM(dist);")
		program = strings.ReplaceAll(program, "STORE", "dist.atomic_increment(bpf_log2l(delta));")
	}
	if ebpf {
		fmt.Println(program)
		return
	}

	b, err := bcc.New(bcc.Options{Text: program})
	if err != nil {
		log.Fatal(err)
	}
	defer b.Close()
	fmt.Println("Tracing run queue latency... Hit Ctrl-C to end.")

	dist, err := b.Table("dist")
	if err != nil {
		log.Fatal(err)
	}
	for {
		exiting := false
		select {
		case <-time.After(time.Duration(interval) * time.Second):
		case <-interrupt:
			exiting = true
		}
		fmt.Println()
		if timestamp {
			fmt.Printf("%-8s\n", time.Now().Format("15:04:05"))
		}
		opts := bcc.HistOptions{SectionHeader: section, SectionPrintFn: func(bucket any) string { return fmt.Sprint(bucket) }}
		if err := dist.PrintLog2Hist(os.Stdout, label, opts); err != nil {
			log.Fatal(err)
		}
		if err := dist.Clear(); err != nil {
			log.Fatal(err)
		}
		countdown--
		if exiting || countdown == 0 {
			return
		}
	}
}
