// Command events measures event delivery: a child process calls getpid at a
// target rate, a tracepoint program sends one 32-byte record per call
// through a perf buffer or a ring buffer and counts its submissions and
// failures in-kernel, and this process receives them. Each trial prints one
// JSON line. scripts/bench_events.sh runs it next to BCC Python's
// equivalent (scripts/bench_events_bcc.py), which uses this command's load
// mode as its producer.
//
//	events -mode load -rate R -dur D      the producer (waits for a byte on stdin)
//	events -transport perf|ring [-decode] [-pages N] [-ringbytes N] -rates R1,R2,... -dur D
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/gobcc/gobcc/bcc"
)

const prog = `
struct data_t { u32 pid; u32 cpu; u64 seq; u64 ts; char comm[8]; };
#ifdef RING_BYTES
BPF_RINGBUF_OUTPUT(events, RING_BYTES / 4096);
#else
BPF_PERF_OUTPUT(events);
#endif
BPF_PERCPU_ARRAY(stats, u64, 2);
BPF_ARRAY(target, u32, 1);
TRACEPOINT_PROBE(syscalls, sys_enter_getpid) {
    int zero = 0;
    u32 *tgid = target.lookup(&zero);
    if (!tgid || bpf_get_current_pid_tgid() >> 32 != *tgid)
        return 0;
    struct data_t d = {};
    d.pid = *tgid;
    d.cpu = bpf_get_smp_processor_id();
    d.ts = bpf_ktime_get_ns();
    bpf_get_current_comm(&d.comm, sizeof(d.comm));
#ifdef RING_BYTES
    int failed = events.ringbuf_output(&d, sizeof(d), 0) != 0;
#else
    int failed = events.perf_submit(args, &d, sizeof(d)) != 0;
#endif
    u64 *c = stats.lookup(&failed);
    if (c)
        (*c)++;
    return 0;
}
`

type event struct {
	PID  uint32
	CPU  uint32
	Seq  uint64
	TS   uint64
	Comm [8]byte
}

// Result is one trial.
type Result struct {
	Impl      string  `json:"impl"`
	Transport string  `json:"transport"`
	Size      int     `json:"buffer_bytes"`
	Decode    bool    `json:"decode"`
	Wakeup    int     `json:"wakeup_events,omitempty"`
	Target    int     `json:"target_rate"`
	Achieved  float64 `json:"achieved_rate"`
	Submitted uint64  `json:"submitted"` // attempts counted in-kernel
	Failed    uint64  `json:"failed"`    // attempts that failed in-kernel
	Received  uint64  `json:"received"`
	Lost      uint64  `json:"lost_reported"` // perf: PERF_RECORD_LOST total
	CPUSec    float64 `json:"consumer_cpu_s"`
	PerCPUSec float64 `json:"events_per_cpu_s"`
	ZeroLoss  bool    `json:"zero_loss"`
}

func main() {
	mode := flag.String("mode", "consume", "load or consume")
	rate := flag.Int("rate", 0, "load: calls per second, 0 for as fast as possible")
	dur := flag.Duration("dur", 3*time.Second, "trial length")
	transport := flag.String("transport", "perf", "perf or ring")
	decode := flag.Bool("decode", false, "decode each record into a struct")
	pages := flag.Int("pages", 8, "perf buffer pages per CPU")
	ringBytes := flag.Int("ringbytes", 64<<10, "ring buffer size")
	wakeup := flag.Int("wakeup", 1, "perf buffer WakeupEvents")
	rates := flag.String("rates", "50000,100000", "target rates to try, ascending")
	producerCPU := flag.Int("producer-cpu", 1, "CPU the producer runs on (-1: any)")
	consumerCPU := flag.Int("consumer-cpu", 0, "CPU this process runs on (-1: any)")
	flag.Parse()
	if *mode == "load" {
		load(*rate, *dur, *producerCPU)
		return
	}
	if err := consume(*transport, *decode, *pages, *wakeup, *ringBytes, *rates, *dur, *producerCPU, *consumerCPU); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// load waits for a byte on stdin, then calls getpid at rate for dur and
// prints how many calls it made.
func load(rate int, dur time.Duration, cpu int) {
	if cpu >= 0 {
		runtime.LockOSThread()
		var set unix.CPUSet
		set.Set(cpu)
		unix.SchedSetaffinity(0, &set)
	}
	var b [1]byte
	os.Stdin.Read(b[:])
	start := time.Now()
	end := start.Add(dur)
	n := 0
	for {
		for i := 0; i < 16; i++ {
			syscall.RawSyscall(syscall.SYS_GETPID, 0, 0, 0)
		}
		n += 16
		now := time.Now()
		if now.After(end) {
			break
		}
		if rate > 0 {
			// Ahead of schedule: spin until the schedule catches up.
			for float64(n) > float64(rate)*time.Since(start).Seconds() {
			}
		}
	}
	fmt.Println(n)
}

func cpuTime() float64 {
	var ru unix.Rusage
	unix.Getrusage(unix.RUSAGE_SELF, &ru)
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}

func consume(transport string, decode bool, pages, wakeup, ringBytes int, rates string, dur time.Duration, producerCPU, consumerCPU int) error {
	if consumerCPU >= 0 {
		runtime.LockOSThread()
		var set unix.CPUSet
		set.Set(consumerCPU)
		unix.SchedSetaffinity(0, &set)
	}
	var cflags []string
	size := pages * os.Getpagesize()
	if transport == "ring" {
		cflags = append(cflags, "-DRING_BYTES="+strconv.Itoa(ringBytes))
		size = ringBytes
	}
	b, err := bcc.New(bcc.Options{Text: prog, CFlags: cflags})
	if err != nil {
		return err
	}
	defer b.Close()
	events, _ := b.Table("events")
	stats, _ := b.Table("stats")
	target, _ := bcc.TableOf[uint32, uint32](mustTable(b, "target"))
	dec, err := bcc.EventOf[event](events)
	if err != nil {
		return err
	}
	var received uint64
	var ev event
	var seqSum uint64
	onData := func(data []byte) {
		received++
		if decode {
			dec.DecodeInto(data, &ev)
			seqSum += ev.TS // use the decoded value, as a tool would
		}
	}
	var pb *bcc.PerfBuffer
	poll := b.PerfBufferPoll
	if transport == "ring" {
		if _, err := events.OpenRingBuffer(onData); err != nil {
			return err
		}
		poll = b.RingBufferPoll
	} else {
		pb, err = events.OpenPerfBuffer(func(_ int, data []byte) { onData(data) }, bcc.PerfBufferOptions{PageCount: pages, WakeupEvents: wakeup})
		if err != nil {
			return err
		}
	}
	self, _ := os.Executable()
	lossy := 0
	for _, r := range strings.Split(rates, ",") {
		rate, _ := strconv.Atoi(r)
		if err := stats.Clear(); err != nil {
			return err
		}
		received = 0
		lostBefore := uint64(0)
		if pb != nil {
			lostBefore = pb.LostCount()
		}
		child := exec.Command(self, "-mode", "load", "-rate", r, "-dur", dur.String(), "-producer-cpu", strconv.Itoa(producerCPU))
		stdin, _ := child.StdinPipe()
		out := new(strings.Builder)
		child.Stdout = out
		if err := child.Start(); err != nil {
			return err
		}
		target.Update(0, uint32(child.Process.Pid))
		cpu0 := cpuTime()
		io.WriteString(stdin, "x")
		done := make(chan error, 1)
		go func() { done <- child.Wait() }()
		running := true
		for running {
			select {
			case <-done:
				running = false
			default:
			}
			poll(100 * time.Millisecond)
		}
		// Drain what is left.
		for {
			n, _ := poll(50 * time.Millisecond)
			if n == 0 {
				break
			}
		}
		if pb != nil {
			b.PerfBufferConsume()
		}
		cpuSec := cpuTime() - cpu0
		per, err := stats.LookupPerCPU(0)
		if err != nil {
			return err
		}
		var ok, failed uint64
		for _, v := range per {
			ok += v.Uint64()
		}
		per, _ = stats.LookupPerCPU(1)
		for _, v := range per {
			failed += v.Uint64()
		}
		calls, _ := strconv.Atoi(strings.TrimSpace(out.String()))
		res := Result{
			Impl: "gobcc", Transport: transport, Size: size, Decode: decode, Target: rate,
			Achieved: float64(calls) / dur.Seconds(), Submitted: ok + failed, Failed: failed,
			Received: received, CPUSec: cpuSec, PerCPUSec: float64(received) / cpuSec,
		}
		if pb != nil {
			res.Lost = pb.LostCount() - lostBefore
			res.Wakeup = wakeup
		}
		res.ZeroLoss = res.Failed == 0 && res.Received == res.Submitted && res.Lost == 0
		line, _ := json.Marshal(res)
		fmt.Println(string(line))
		if !res.ZeroLoss {
			lossy++
			if lossy == 2 {
				break
			}
		}
		if rate > 0 && res.Achieved < 0.9*float64(rate) {
			break // the producer cannot go faster
		}
	}
	_ = seqSum
	return nil
}

func mustTable(b *bcc.BPF, name string) *bcc.Table {
	t, err := b.Table(name)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	return t
}
