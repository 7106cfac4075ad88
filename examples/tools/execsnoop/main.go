// Command execsnoop traces new processes through exec() syscalls: BCC's
// execsnoop (tools/execsnoop.py) in Go, with its options and output.
//
//	# execsnoop           # trace all exec() syscalls
//	# execsnoop -x        # include failed exec()s
//	# execsnoop -T -U     # include time and UID
//	# execsnoop -P 181    # only new processes whose parent PID is 181
//	# execsnoop -n main   # only commands whose name matches "main"
//	# execsnoop -l tpkg   # only commands whose arguments match "tpkg"
//
// BCC probes the execve function with a kprobe and a kretprobe and reads
// the parent from task->real_parent. This kernel has no kprobes, so the
// program uses the syscalls:sys_enter_execve and sys_exit_execve
// tracepoints and a ring buffer (whose single ring keeps a process's
// records in order, where BCC's per-CPU perf rings can print a command
// without its arguments), and learns each process's parent from sched:sched_process_fork
// (falling back to /proc/PID/status, as BCC does, for processes forked
// before it started). --cgroupmap and --mntnsmap are not supported.
package main

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"os/user"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/gobcc/gobcc/bcc"
)

const text = `
#include <uapi/linux/ptrace.h>
#include <linux/sched.h>

#define ARGSIZE  128

enum event_type {
    EVENT_ARG,
    EVENT_RET,
};

struct data_t {
    u32 pid;  // PID as in the userspace term (i.e. task->tgid in kernel)
    u32 ppid; // Parent PID as in the userspace term
    u32 uid;
    char comm[TASK_COMM_LEN];
    enum event_type type;
    char argv[ARGSIZE];
    int retval;
};

// A ring buffer, not BCC's perf buffer: one ring for all CPUs keeps each
// process's argument records ahead of its return record, which per-CPU perf
// rings do not when exec moves the process to another CPU.
BPF_RINGBUF_OUTPUT(events, 64);
// Parent of each process forked since the tool started.
BPF_HASH(parents, u32, u32, 10240);

static int __submit_arg(void *ctx, const void *ptr, struct data_t *data)
{
    bpf_probe_read_user(data->argv, sizeof(data->argv), ptr);
    events.ringbuf_output(data, sizeof(struct data_t), 0);
    return 1;
}

static int submit_arg(void *ctx, const void *ptr, struct data_t *data)
{
    const char *argp = NULL;
    bpf_probe_read_user(&argp, sizeof(argp), ptr);
    if (argp) {
        return __submit_arg(ctx, (const void *)(argp), data);
    }
    return 0;
}

static u32 parent_of(u32 pid)
{
    u32 *ppid = parents.lookup(&pid);
    return ppid ? *ppid : 0;
}

TRACEPOINT_PROBE(sched, sched_process_fork) {
    u32 child = args->child_pid, parent = args->parent_pid;
    // Threads share the process's parent; only processes are keyed.
    if (child == parent)
        return 0;
    parents.update(&child, &parent);
    return 0;
}

TRACEPOINT_PROBE(sched, sched_process_exit) {
    u64 pid_tgid = bpf_get_current_pid_tgid();
    u32 pid = pid_tgid >> 32;
    if (pid == (u32)pid_tgid)
        parents.delete(&pid);
    return 0;
}

TRACEPOINT_PROBE(syscalls, sys_enter_execve) {
    u32 uid = bpf_get_current_uid_gid() & 0xffffffff;

    UID_FILTER

    // create data here and pass to submit_arg to save stack space (#555)
    struct data_t data = {};

    data.pid = bpf_get_current_pid_tgid() >> 32;
    data.ppid = parent_of(data.pid);

    PPID_FILTER

    bpf_get_current_comm(&data.comm, sizeof(data.comm));
    data.type = EVENT_ARG;

    __submit_arg(args, args->filename, &data);

    // skip first arg, as we submitted filename
    #pragma unroll
    for (int i = 1; i < MAXARG; i++) {
        if (submit_arg(args, (const void *)&args->argv[i], &data) == 0)
             goto out;
    }

    // handle truncated argument list
    char ellipsis[] = "...";
    __submit_arg(args, (void *)ellipsis, &data);
out:
    return 0;
}

TRACEPOINT_PROBE(syscalls, sys_exit_execve) {
    struct data_t data = {};
    u32 uid = bpf_get_current_uid_gid() & 0xffffffff;

    UID_FILTER

    data.pid = bpf_get_current_pid_tgid() >> 32;
    data.uid = uid;
    data.ppid = parent_of(data.pid);

    PPID_FILTER

    bpf_get_current_comm(&data.comm, sizeof(data.comm));
    data.type = EVENT_RET;
    data.retval = args->ret;
    events.ringbuf_output(&data, sizeof(data), 0);

    return 0;
}
`

const (
	eventArg = 0
	eventRet = 1
)

// parseUID reads -u as BCC's parse_uid: a number or a user name.
func parseUID(s string) (int, error) {
	if n, err := strconv.Atoi(s); err == nil {
		return n, nil
	}
	u, err := user.Lookup(s)
	if err != nil {
		return 0, fmt.Errorf("%q is not valid UID: %w", s, err)
	}
	return strconv.Atoi(u.Uid)
}

// getPPID is BCC's best-effort fallback: the parent as /proc shows it, 0 when
// the process is gone.
func getPPID(pid uint64) uint64 {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "PPid:"); ok {
			n, _ := strconv.ParseUint(strings.TrimSpace(rest), 10, 32)
			return n
		}
	}
	return 0
}

func main() {
	// Ctrl-C is handled from the start: a test (or a user) may press it
	// as soon as the "Tracing..." line appears.
	interrupt := make(chan os.Signal, 1)
	signal.Notify(interrupt, os.Interrupt)
	var (
		showTime, timestamp, fails, quote, printUID, ebpf bool
		uidArg, name, line, ppidArg                       string
		maxArgs                                           int
	)
	boolFlag := func(p *bool, short, long, usage string) {
		flag.BoolVar(p, short, false, usage)
		flag.BoolVar(p, long, false, usage)
	}
	strFlag := func(p *string, short, long, usage string) {
		flag.StringVar(p, short, "", usage)
		flag.StringVar(p, long, "", usage)
	}
	boolFlag(&showTime, "T", "time", "include time column on output (HH:MM:SS)")
	boolFlag(&timestamp, "t", "timestamp", "include timestamp on output")
	boolFlag(&fails, "x", "fails", "include failed exec()s")
	strFlag(&uidArg, "u", "uid", "trace this UID only")
	boolFlag(&quote, "q", "quote", `Add quotemarks (") around arguments.`)
	strFlag(&name, "n", "name", "only print commands matching this name (regex), any arg")
	strFlag(&line, "l", "line", "only print commands where arg contains this line (regex)")
	boolFlag(&printUID, "U", "print-uid", "print UID column")
	flag.IntVar(&maxArgs, "max-args", 20, "maximum number of arguments parsed and displayed")
	strFlag(&ppidArg, "P", "ppid", "trace this parent PID only")
	flag.BoolVar(&ebpf, "ebpf", false, "print the BPF program and exit")
	flag.Parse()
	log.SetFlags(0)

	var nameRe, lineRe *regexp.Regexp
	if name != "" {
		nameRe = regexp.MustCompile(name)
	}
	if line != "" {
		lineRe = regexp.MustCompile(line)
	}

	program := strings.ReplaceAll(text, "MAXARG", strconv.Itoa(maxArgs))
	if uidArg != "" {
		uid, err := parseUID(uidArg)
		if err != nil {
			log.Fatal(err)
		}
		program = strings.ReplaceAll(program, "UID_FILTER", fmt.Sprintf("if (uid != %d) { return 0; }", uid))
	} else {
		program = strings.ReplaceAll(program, "UID_FILTER", "")
	}
	if ppidArg != "" {
		ppid, err := strconv.Atoi(ppidArg)
		if err != nil {
			log.Fatalf("bad PPID %q", ppidArg)
		}
		program = strings.ReplaceAll(program, "PPID_FILTER", fmt.Sprintf("if (data.ppid != %d) { return 0; }", ppid))
	} else {
		program = strings.ReplaceAll(program, "PPID_FILTER", "")
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
	events, err := b.Table("events")
	if err != nil {
		log.Fatal(err)
	}

	// header
	if showTime {
		fmt.Printf("%-9s", "TIME")
	}
	if timestamp {
		fmt.Printf("%-8s", "TIME(s)")
	}
	if printUID {
		fmt.Printf("%-6s", "UID")
	}
	fmt.Printf("%-16s %-7s %-7s %3s %s\n", "PCOMM", "PID", "PPID", "RET", "ARGS")

	start := time.Now()
	argv := map[uint64][][]byte{}
	out := bufio.NewWriter(os.Stdout)
	printEvent := func(data []byte) {
		event, err := events.Event(data)
		if err != nil {
			log.Print(err)
			return
		}
		field := func(n string) bcc.Value { v, _ := event.Field(n); return v }
		pid := field("pid").Uint64()
		switch field("type").Uint64() {
		case eventArg:
			argv[pid] = append(argv[pid], cString(field("argv").Bytes()))
		case eventRet:
			retval := field("retval").Int64()
			comm := cString(field("comm").Bytes())
			skip := retval != 0 && !fails
			if nameRe != nil && !nameRe.Match(comm) {
				skip = true
			}
			if lineRe != nil && !lineRe.Match(bytes.Join(argv[pid], []byte(" "))) {
				skip = true
			}
			if quote {
				for i, arg := range argv[pid] {
					argv[pid][i] = []byte(`"` + strings.ReplaceAll(string(arg), `"`, `\"`) + `"`)
				}
			}
			if !skip {
				if showTime {
					fmt.Fprintf(out, "%-9s", time.Now().Format("15:04:05"))
				}
				if timestamp {
					fmt.Fprintf(out, "%-8.3f", time.Since(start).Seconds())
				}
				if printUID {
					fmt.Fprintf(out, "%-6d", field("uid").Uint64())
				}
				ppid := field("ppid").Uint64()
				if ppid == 0 {
					ppid = getPPID(pid)
				}
				ppidText := "?"
				if ppid > 0 {
					ppidText = strconv.FormatUint(ppid, 10)
				}
				argvText := bytes.ReplaceAll(bytes.Join(argv[pid], []byte(" ")), []byte("\n"), []byte(`\n`))
				fmt.Fprintf(out, "%-16s %-7d %-7s %3d %s\n", comm, pid, ppidText, retval, argvText)
			}
			delete(argv, pid)
		}
	}

	// loop with callback to print_event
	if _, err := events.OpenRingBuffer(printEvent); err != nil {
		log.Fatal(err)
	}
	for {
		select {
		case <-interrupt:
			// Records still in the rings are printed before exiting.
			if _, err := b.RingBufferConsume(); err != nil {
				log.Print(err)
			}
			out.Flush()
			return
		default:
		}
		if _, err := b.RingBufferPoll(100 * time.Millisecond); err != nil && !errors.Is(err, bcc.ErrClosed) {
			log.Fatal(err)
		}
		out.Flush()
	}
}

// cString is a char array up to its first NUL.
func cString(b []byte) []byte {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	return append([]byte(nil), b...)
}
