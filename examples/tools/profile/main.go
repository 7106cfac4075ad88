// Command profile samples stack traces at a timed interval and prints how
// often each was seen: BCC's profile (tools/profile.py) in Go, with its
// options and output. It runs a BPF program on a software CPU-clock perf
// event on every CPU (or one, -C) and counts (process, user stack, kernel
// stack) keys.
//
//	# profile             # profile stack traces at 49 Hertz until Ctrl-C
//	# profile -F 99       # profile stack traces at 99 Hertz
//	# profile -c 1000000  # profile stack traces every 1 in a million events
//	# profile 5           # profile at 49 Hertz for 5 seconds only
//	# profile -f 5        # output in folded format for flame graphs
//	# profile -p 185      # only profile process with PID 185
//	# profile -L 185      # only profile thread with TID 185
//	# profile -U          # only show user space stacks (no kernel)
//	# profile -K          # only show kernel space stacks (no user)
//
// --cgroupmap and --mntnsmap are not offered. The kernel frame the sample
// interrupted is recognized by its address in the upper half of the
// x86-64 address space, where BCC compares with the kernel's PAGE_OFFSET.
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

	"github.com/gobcc/gobcc/bcc"
	"github.com/gobcc/gobcc/perf"
)

const text = `
#include <uapi/linux/ptrace.h>
#include <uapi/linux/bpf_perf_event.h>
#include <linux/sched.h>

struct key_t {
    u32 pid;
    u64 kernel_ip;
    int user_stack_id;
    int kernel_stack_id;
    char name[TASK_COMM_LEN];
};
BPF_HASH(counts, struct key_t);
BPF_STACK_TRACE(stack_traces, STACK_STORAGE_SIZE);

// This code gets a bit complex. Probably not suitable for casual hacking.

int do_perf_event(struct bpf_perf_event_data *ctx) {
    u64 id = bpf_get_current_pid_tgid();
    u32 tgid = id >> 32;
    u32 pid = id;

    if (IDLE_FILTER)
        return 0;

    if (!(THREAD_FILTER))
        return 0;

    // create map key: zeroed whole, padding included, since a hash key's
    // padding is hashed too (BCC's designated initializer leaves it to
    // chance, and splits one stack into several rows)
    struct key_t key = {};
    key.pid = tgid;
    bpf_get_current_comm(&key.name, sizeof(key.name));

    // get stacks
    key.user_stack_id = USER_STACK_GET;
    key.kernel_stack_id = KERNEL_STACK_GET;

    if (key.kernel_stack_id >= 0) {
        // populate extras to fix the kernel stack
        u64 ip = PT_REGS_IP(&ctx->regs);

        // if ip isn't sane, leave key ips as zero for later checking:
        // kernel addresses are the upper half of x86-64's address space
        if (ip > 0xffff800000000000ULL) {
            key.kernel_ip = ip;
        }
    }

    counts.increment(key);
    return 0;
}
`

// positiveIntList parses -p and -L: comma-separated positive integers.
func positiveIntList(s string) ([]int, error) {
	var r []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("must be positive: %q", f)
		}
		r = append(r, n)
	}
	return r, nil
}

// pyList prints a list as Python's repr does: [1, 2].
func pyList(l []int) string {
	s := make([]string, len(l))
	for i, n := range l {
		s[i] = strconv.Itoa(n)
	}
	return "[" + strings.Join(s, ", ") + "]"
}

// stackIDErr is BCC's stack_id_err: a failed stack lookup, other than a
// fault while reading it (EFAULT), which only means there was no stack.
func stackIDErr(id int64) bool {
	return id < 0 && id != -int64(syscall.EFAULT)
}

func main() {
	// Ctrl-C is handled from the start: a test (or a user) may press it
	// as soon as the "Tracing..." line appears.
	interrupt := make(chan os.Signal, 1)
	signal.Notify(interrupt, os.Interrupt)
	var (
		pidArg, tidArg                              string
		userOnly, kernelOnly, delimited, annotate   bool
		includeIdle, folded, ebpf                   bool
		frequency, count, stackStorageSize, cpuFlag int
	)
	strFlag := func(p *string, short, long, usage string) {
		flag.StringVar(p, short, "", usage)
		flag.StringVar(p, long, "", usage)
	}
	boolFlag := func(p *bool, short, long, usage string) {
		flag.BoolVar(p, short, false, usage)
		flag.BoolVar(p, long, false, usage)
	}
	intFlag := func(p *int, short, long string, def int, usage string) {
		flag.IntVar(p, short, def, usage)
		flag.IntVar(p, long, def, usage)
	}
	strFlag(&pidArg, "p", "pid", "profile process with one or more comma separated PIDs only")
	strFlag(&tidArg, "L", "tid", "profile thread with one or more comma separated TIDs only")
	boolFlag(&userOnly, "U", "user-stacks-only", "show stacks from user space only (no kernel space stacks)")
	boolFlag(&kernelOnly, "K", "kernel-stacks-only", "show stacks from kernel space only (no user space stacks)")
	intFlag(&frequency, "F", "frequency", 0, "sample frequency, Hertz")
	intFlag(&count, "c", "count", 0, "sample period, number of events")
	boolFlag(&delimited, "d", "delimited", "insert delimiter between kernel/user stacks")
	boolFlag(&annotate, "a", "annotations", "add _[k] annotations to kernel frames")
	boolFlag(&includeIdle, "I", "include-idle", "include CPU idle stacks")
	boolFlag(&folded, "f", "folded", "output folded format, one line per stack (for flame graphs)")
	flag.IntVar(&stackStorageSize, "stack-storage-size", 16384, "the number of unique stack traces that can be stored and displayed")
	intFlag(&cpuFlag, "C", "cpu", -1, "cpu number to run profile on")
	flag.BoolVar(&ebpf, "ebpf", false, "print the BPF program and exit")
	flag.Parse()
	log.SetFlags(0)

	switch {
	case pidArg != "" && tidArg != "":
		log.Fatal("argument -L/--tid: not allowed with argument -p/--pid")
	case userOnly && kernelOnly:
		log.Fatal("argument -K/--kernel-stacks-only: not allowed with argument -U/--user-stacks-only")
	case frequency != 0 && count != 0:
		log.Fatal("argument -c/--count: not allowed with argument -F/--frequency")
	case frequency < 0 || count < 0 || stackStorageSize <= 0:
		log.Fatal("values must be positive")
	}
	duration := 99999999
	if flag.NArg() > 0 {
		n, err := strconv.Atoi(flag.Arg(0))
		if err != nil || n <= 0 {
			log.Fatalf("invalid duration %q: must be a positive integer", flag.Arg(0))
		}
		duration = n
	}
	needDelimiter := delimited && !(kernelOnly || userOnly)

	program := text
	idleFilter := "pid == 0"
	if includeIdle {
		idleFilter = "0"
	}
	program = strings.ReplaceAll(program, "IDLE_FILTER", idleFilter)

	var threadContext, threadFilter string
	switch {
	case pidArg != "":
		pids, err := positiveIntList(pidArg)
		if err != nil {
			log.Fatal(err)
		}
		threadContext = "PID " + pyList(pids)
		var conds []string
		for _, p := range pids {
			conds = append(conds, fmt.Sprintf("tgid == %d", p))
		}
		threadFilter = strings.Join(conds, " || ")
	case tidArg != "":
		tids, err := positiveIntList(tidArg)
		if err != nil {
			log.Fatal(err)
		}
		threadContext = "TID " + pyList(tids)
		var conds []string
		for _, p := range tids {
			conds = append(conds, fmt.Sprintf("pid == %d", p))
		}
		threadFilter = strings.Join(conds, " || ")
	default:
		threadContext = "all threads"
		threadFilter = "1"
	}
	program = strings.ReplaceAll(program, "THREAD_FILTER", threadFilter)
	program = strings.ReplaceAll(program, "STACK_STORAGE_SIZE", strconv.Itoa(stackStorageSize))

	kernelStackGet := "stack_traces.get_stackid(&ctx->regs, 0)"
	userStackGet := "stack_traces.get_stackid(&ctx->regs, BPF_F_USER_STACK)"
	stackContext := "user + kernel"
	if userOnly {
		stackContext = "user"
		kernelStackGet = "-1"
	} else if kernelOnly {
		stackContext = "kernel"
		userStackGet = "-1"
	}
	program = strings.ReplaceAll(program, "USER_STACK_GET", userStackGet)
	program = strings.ReplaceAll(program, "KERNEL_STACK_GET", kernelStackGet)

	var sampleFreq, samplePeriod uint64
	switch {
	case frequency > 0:
		sampleFreq = uint64(frequency)
	case count > 0:
		samplePeriod = uint64(count)
	default:
		sampleFreq = 49
	}
	sampleContext := fmt.Sprintf("%d Hertz", sampleFreq)
	if sampleFreq == 0 {
		sampleContext = fmt.Sprintf("every %d events", samplePeriod)
	}
	if !folded {
		fmt.Printf("Sampling at %s of %s by %s stack", sampleContext, threadContext, stackContext)
		if cpuFlag >= 0 {
			fmt.Printf(" on CPU#%d", cpuFlag)
		}
		if duration < 99999999 {
			fmt.Printf(" for %d secs.\n", duration)
		} else {
			fmt.Println("... Hit Ctrl-C to end.")
		}
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
	opts := bcc.PerfEventOptions{SampleFreq: sampleFreq, SamplePeriod: samplePeriod}
	if cpuFlag >= 0 {
		opts.CPU = &cpuFlag
	}
	if _, err := b.AttachPerfEvent(perf.TypeSoftware, perf.SWCPUClock, "do_perf_event", opts); err != nil {
		log.Fatal(err)
	}

	select {
	case <-time.After(time.Duration(duration) * time.Second):
	case <-interrupt:
		fmt.Println()
	}
	if !folded {
		fmt.Println()
	}

	aksym := func(addr uint64) string {
		if annotate {
			return b.Ksym(addr) + "_[k]"
		}
		return b.Ksym(addr)
	}
	counts, err := b.Table("counts")
	if err != nil {
		log.Fatal(err)
	}
	stackTraces, err := b.Table("stack_traces")
	if err != nil {
		log.Fatal(err)
	}
	items, err := counts.Items()
	if err != nil {
		log.Fatal(err)
	}
	sort.SliceStable(items, func(i, j int) bool { return items[i].Value.Uint64() < items[j].Value.Uint64() })

	missingStacks := 0
	hasCollision := false
	for _, it := range items {
		field := func(n string) bcc.Value { v, _ := it.Key.Field(n); return v }
		pid := int(field("pid").Uint64())
		userStackID := field("user_stack_id").Int64()
		kernelStackID := field("kernel_stack_id").Int64()
		kernelIP := field("kernel_ip").Uint64()
		name := cString(field("name").Bytes())
		if !userOnly && stackIDErr(kernelStackID) {
			missingStacks++
			hasCollision = hasCollision || kernelStackID == -int64(syscall.EEXIST)
		}
		if !kernelOnly && stackIDErr(userStackID) {
			missingStacks++
			hasCollision = hasCollision || userStackID == -int64(syscall.EEXIST)
		}
		var userStack, kernelStack []uint64
		if userStackID >= 0 {
			userStack, _ = stackTraces.Walk(userStackID)
		}
		if kernelStackID >= 0 {
			kernelStack, _ = stackTraces.Walk(kernelStackID)
			if kernelIP != 0 {
				kernelStack = append([]uint64{kernelIP}, kernelStack...)
			}
		}

		if folded {
			line := []string{name}
			if !kernelOnly {
				if stackIDErr(userStackID) {
					line = append(line, "[Missed User Stack]")
				} else {
					for i := len(userStack) - 1; i >= 0; i-- {
						line = append(line, b.Sym(userStack[i], pid))
					}
				}
			}
			if !userOnly {
				if needDelimiter && kernelStackID >= 0 && userStackID >= 0 {
					line = append(line, "-")
				}
				if stackIDErr(kernelStackID) {
					line = append(line, "[Missed Kernel Stack]")
				} else {
					for i := len(kernelStack) - 1; i >= 0; i-- {
						line = append(line, aksym(kernelStack[i]))
					}
				}
			}
			fmt.Printf("%s %d\n", strings.Join(line, ";"), it.Value.Uint64())
			continue
		}
		if !userOnly {
			if stackIDErr(kernelStackID) {
				fmt.Println("    [Missed Kernel Stack]")
			} else {
				for _, addr := range kernelStack {
					fmt.Printf("    %s\n", aksym(addr))
				}
			}
		}
		if !kernelOnly {
			if needDelimiter && userStackID >= 0 && kernelStackID >= 0 {
				fmt.Println("    --")
			}
			if stackIDErr(userStackID) {
				fmt.Println("    [Missed User Stack]")
			} else {
				for _, addr := range userStack {
					fmt.Printf("    %s\n", b.Sym(addr, pid))
				}
			}
		}
		fmt.Printf("    %-16s %s (%d)\n", "-", name, pid)
		fmt.Printf("        %d\n\n", it.Value.Uint64())
	}

	if missingStacks > 0 {
		enomem := ""
		if hasCollision {
			enomem = " Consider increasing --stack-storage-size."
		}
		fmt.Fprintf(os.Stderr, "WARNING: %d stack traces could not be displayed.%s\n", missingStacks, enomem)
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
