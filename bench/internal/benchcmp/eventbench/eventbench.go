// Package eventbench measures event delivery through perf buffers and ring
// buffers: a producer process calls getpid at a target rate, a tracepoint
// program sends one 32-byte record per call and counts its submissions and
// failures in-kernel, and a Consumer receives the records. A Trial says
// whether every submitted record arrived; Climb searches for the highest
// rate with zero loss.
//
// It is shared by the make bench rows events/perf and events/ring
// (internal/benchcmp) and by the detailed sweep of scripts/bench_events.sh
// (bench/cmd/eventbench). BCC Python's side (scripts/bench_events_bcc.py)
// runs the same program, producer, trial and climb.
//
// The producer is this package's own binary re-executed: a process whose
// environment holds ProducerEnv runs the producer from this package's init
// and exits, so any binary linking the package (the benchmark probe, the
// events command) can serve as the producer, for BCC Python's side too.
package eventbench

import (
	_ "embed"
	"errors"
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

// Program is the tracepoint program (events.bcc), which
// scripts/bench_events_bcc.py loads too.
//
//go:embed events.bcc
var Program string

// Event is the record the program sends (struct data_t).
type Event struct {
	PID  uint32
	CPU  uint32
	Seq  uint64
	TS   uint64
	Comm [8]byte
}

// ProducerEnv, in a process's environment, makes it the producer: its value
// is "RATE,DURATION,CPU" (calls per second, 0 for as fast as possible; a Go
// duration; the CPU to pin to, -1 for any). The producer waits for a byte on
// stdin, calls getpid for DURATION and prints how many calls it made.
const ProducerEnv = "GOBCC_BENCH_EVENTS_PRODUCER"

func init() {
	spec, ok := os.LookupEnv(ProducerEnv)
	if !ok {
		return
	}
	if err := runProducer(spec); err != nil {
		fmt.Fprintln(os.Stderr, "events producer:", err)
		os.Exit(1)
	}
	os.Exit(0)
}

func runProducer(spec string) error {
	f := strings.Split(spec, ",")
	if len(f) != 3 {
		return fmt.Errorf("%s=%q: want RATE,DURATION,CPU", ProducerEnv, spec)
	}
	rate, err1 := strconv.Atoi(f[0])
	dur, err2 := time.ParseDuration(f[1])
	cpu, err3 := strconv.Atoi(f[2])
	if err := errors.Join(err1, err2, err3); err != nil {
		return fmt.Errorf("%s=%q: %w", ProducerEnv, spec, err)
	}
	produce(rate, dur, cpu)
	return nil
}

// produce waits for a byte on stdin, then calls getpid at rate for dur and
// prints how many calls it made.
func produce(rate int, dur time.Duration, cpu int) {
	if cpu >= 0 {
		pinThread(cpu)
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
		if time.Now().After(end) {
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

// pinThread locks the calling goroutine to its OS thread and that thread
// to cpu, so that producer and consumer do not share a CPU.
func pinThread(cpu int) {
	runtime.LockOSThread()
	var set unix.CPUSet
	set.Set(cpu)
	_ = unix.SchedSetaffinity(0, &set)
}

// Config describes a consumer.
type Config struct {
	// Transport is "perf" or "ring".
	Transport string
	// Decode decodes each record into an Event and uses a field, as a tool
	// would; otherwise records are only counted.
	Decode bool
	// Pages is the perf buffer's pages per CPU (default 8).
	Pages int
	// Wakeup is the perf buffer's WakeupEvents (0: gobcc's default).
	Wakeup int
	// MaxBatchDelay is the reader's MaxBatchDelay (0: gobcc's default;
	// negative: no batching, a wake-up per record as BCC Python has).
	MaxBatchDelay time.Duration
	// NoSpin is the reader's NoSpin: polls never wait on the CPU.
	NoSpin bool
	// RingBytes is the ring buffer's size (default 64 KiB).
	RingBytes int
	// ProducerCPU and ConsumerCPU pin the two sides; -1 leaves one free.
	ProducerCPU, ConsumerCPU int
	// Producer is the binary to run as the producer (see ProducerEnv);
	// default this executable.
	Producer string
}

// settings names the reader settings that differ from gobcc's defaults.
func (cfg Config) settings() string {
	var s []string
	if cfg.Wakeup != 0 {
		s = append(s, fmt.Sprintf("WakeupEvents %d", cfg.Wakeup))
	}
	switch {
	case cfg.MaxBatchDelay < 0:
		s = append(s, "no batching")
	case cfg.MaxBatchDelay > 0:
		s = append(s, fmt.Sprintf("MaxBatchDelay %v", cfg.MaxBatchDelay))
	}
	if cfg.NoSpin {
		s = append(s, "NoSpin")
	}
	return strings.Join(s, ", ")
}

// Result is one trial, in the JSON form scripts/bench_events.sh collects.
type Result struct {
	Impl      string  `json:"impl"`
	Transport string  `json:"transport"`
	Size      int     `json:"buffer_bytes"`
	Decode    bool    `json:"decode"`
	Wakeup    int     `json:"wakeup_events,omitempty"`
	Settings  string  `json:"settings,omitempty"` // gobcc's reader settings when not the defaults
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

// Consumer holds the loaded program and an open buffer; it runs trials one
// after the other. Close releases everything.
type Consumer struct {
	cfg      Config
	size     int
	b        *bcc.BPF
	stats    *bcc.Table
	target   *bcc.TypedTable[uint32, uint32]
	pb       *bcc.PerfBuffer
	poll     func(time.Duration) (int, error)
	received uint64
	sum      uint64
}

// ErrBadConfig means a Config names an unknown transport.
var ErrBadConfig = errors.New("bad event benchmark configuration")

// NewConsumer pins the calling thread to cfg.ConsumerCPU, compiles and
// loads Program and opens the buffer. The caller must Close it.
func NewConsumer(cfg Config) (*Consumer, error) {
	if cfg.Pages <= 0 {
		cfg.Pages = 8
	}
	if cfg.RingBytes <= 0 {
		cfg.RingBytes = 64 << 10
	}
	if cfg.Producer == "" {
		self, err := os.Executable()
		if err != nil {
			return nil, err
		}
		cfg.Producer = self
	}
	if cfg.ConsumerCPU >= 0 {
		pinThread(cfg.ConsumerCPU)
	}
	c := &Consumer{cfg: cfg, size: cfg.Pages * os.Getpagesize()}
	var cflags []string
	switch cfg.Transport {
	case "perf":
	case "ring":
		cflags = append(cflags, "-DRING_BYTES="+strconv.Itoa(cfg.RingBytes))
		c.size = cfg.RingBytes
	default:
		return nil, fmt.Errorf("%w: transport %q: want perf or ring", ErrBadConfig, cfg.Transport)
	}
	b, err := bcc.New(bcc.Options{Text: Program, CFlags: cflags})
	if err != nil {
		return nil, err
	}
	c.b = b
	if err := c.open(); err != nil {
		b.Close()
		return nil, err
	}
	return c, nil
}

func (c *Consumer) open() error {
	events, err := c.b.Table("events")
	if err != nil {
		return err
	}
	if c.stats, err = c.b.Table("stats"); err != nil {
		return err
	}
	targetTable, err := c.b.Table("target")
	if err != nil {
		return err
	}
	if c.target, err = bcc.TableOf[uint32, uint32](targetTable); err != nil {
		return err
	}
	dec, err := bcc.EventOf[Event](events)
	if err != nil {
		return err
	}
	var ev Event
	onData := func(data []byte) {
		c.received++
		if c.cfg.Decode {
			dec.DecodeInto(data, &ev)
			c.sum += ev.TS // use the decoded value, as a tool would
		}
	}
	if c.cfg.Transport == "ring" {
		if _, err := events.OpenRingBuffer(onData, bcc.RingBufferOptions{MaxBatchDelay: c.cfg.MaxBatchDelay, NoSpin: c.cfg.NoSpin}); err != nil {
			return err
		}
		c.poll = c.b.RingBufferPoll
		return nil
	}
	c.pb, err = events.OpenPerfBuffer(func(_ int, data []byte) { onData(data) },
		bcc.PerfBufferOptions{PageCount: c.cfg.Pages, WakeupEvents: c.cfg.Wakeup, MaxBatchDelay: c.cfg.MaxBatchDelay, NoSpin: c.cfg.NoSpin})
	c.poll = c.b.PerfBufferPoll
	return err
}

// Close detaches the program and frees the buffer.
func (c *Consumer) Close() error { return c.b.Close() }

func cpuTime() float64 {
	var ru unix.Rusage
	_ = unix.Getrusage(unix.RUSAGE_SELF, &ru)
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}

// Trial runs the producer at rate for dur, receives until the buffer is
// drained and compares what arrived with what the program submitted.
func (c *Consumer) Trial(rate int, dur time.Duration) (Result, error) {
	if err := c.stats.Clear(); err != nil {
		return Result{}, err
	}
	c.received = 0
	var lostBefore uint64
	if c.pb != nil {
		lostBefore = c.pb.LostCount()
	}
	child := exec.Command(c.cfg.Producer)
	if c.cfg.ProducerCPU >= 0 {
		// Every thread of the producer, not only the one that calls
		// getpid: its Go runtime's other threads would otherwise run on
		// the consumer's CPU now and then.
		child = exec.Command("taskset", "-c", strconv.Itoa(c.cfg.ProducerCPU), c.cfg.Producer)
	}
	child.Env = append(os.Environ(), fmt.Sprintf("%s=%d,%s,%d", ProducerEnv, rate, dur, c.cfg.ProducerCPU))
	stdin, err := child.StdinPipe()
	if err != nil {
		return Result{}, err
	}
	out := new(strings.Builder)
	child.Stdout = out
	child.Stderr = os.Stderr
	if err := child.Start(); err != nil {
		return Result{}, err
	}
	if err := c.target.Update(0, uint32(child.Process.Pid)); err != nil {
		child.Process.Kill()
		child.Wait()
		return Result{}, err
	}
	cpu0 := cpuTime()
	io.WriteString(stdin, "x")
	done := make(chan error, 1)
	go func() { done <- child.Wait() }()
	var waitErr error
	for running := true; running; {
		select {
		case waitErr = <-done:
			running = false
		default:
		}
		if _, err := c.poll(100 * time.Millisecond); err != nil {
			return Result{}, err
		}
	}
	if waitErr != nil {
		return Result{}, fmt.Errorf("producer: %w", waitErr)
	}
	// Drain what is left: poll until a poll finds nothing.
	for {
		n, err := c.poll(50 * time.Millisecond)
		if err != nil {
			return Result{}, err
		}
		if n == 0 {
			break
		}
	}
	if c.pb != nil {
		c.b.PerfBufferConsume()
	}
	cpuSec := cpuTime() - cpu0
	ok, err := c.sumPerCPU(0)
	if err != nil {
		return Result{}, err
	}
	failed, err := c.sumPerCPU(1)
	if err != nil {
		return Result{}, err
	}
	calls, err := strconv.Atoi(strings.TrimSpace(out.String()))
	if err != nil {
		return Result{}, fmt.Errorf("producer printed %q: %w", out.String(), err)
	}
	res := Result{
		Impl: "gobcc", Transport: c.cfg.Transport, Size: c.size, Decode: c.cfg.Decode, Target: rate,
		Achieved: float64(calls) / dur.Seconds(), Submitted: ok + failed, Failed: failed,
		Received: c.received, CPUSec: cpuSec,
	}
	if cpuSec > 0 {
		res.PerCPUSec = float64(c.received) / cpuSec
	}
	if c.pb != nil {
		res.Lost = c.pb.LostCount() - lostBefore
		res.Wakeup = c.cfg.Wakeup
	}
	res.Settings = c.cfg.settings()
	res.ZeroLoss = res.Failed == 0 && res.Received == res.Submitted && res.Lost == 0
	return res, nil
}

func (c *Consumer) sumPerCPU(key uint32) (uint64, error) {
	per, err := c.stats.LookupPerCPU(key)
	if err != nil {
		return 0, err
	}
	var sum uint64
	for _, v := range per {
		sum += v.Uint64()
	}
	return sum, nil
}

// ClimbConfig bounds a search for the highest zero-loss rate.
type ClimbConfig struct {
	// Start is the first target rate (events/s).
	Start int
	// Trials is the most trials to run.
	Trials int
	// Resolution stops the search once the gap between the highest
	// lossless and the lowest lossy target is below this fraction of the
	// latter (default 0.1).
	Resolution float64
}

// ErrNoZeroLossRate means every trial of a climb lost records.
var ErrNoZeroLossRate = errors.New("no trial was free of loss")

// Climb searches for the highest rate at which trial loses nothing: it
// doubles the target rate from cfg.Start while trials are lossless, then
// bisects between the highest lossless and the lowest lossy target. It
// stops when the gap is within cfg.Resolution, after cfg.Trials trials, or
// when the producer falls short of the target (the consumer then kept up
// with all the producer could do). It returns the best lossless trial's
// achieved rate and every trial. scripts/bench_events_bcc.py's climb is the
// same algorithm.
func Climb(cfg ClimbConfig, trial func(rate int) (Result, error)) (best float64, trials []Result, err error) {
	if cfg.Resolution <= 0 {
		cfg.Resolution = 0.1
	}
	lo, hi := 0, 0 // highest lossless and lowest lossy target; 0: none yet
	rate := cfg.Start
	for len(trials) < cfg.Trials {
		res, err := trial(rate)
		if err != nil {
			return best, trials, err
		}
		trials = append(trials, res)
		if res.ZeroLoss {
			best = max(best, res.Achieved)
			lo = rate
			if res.Achieved < 0.9*float64(rate) {
				break // the producer cannot go faster
			}
		} else {
			hi = rate
		}
		if hi == 0 {
			rate *= 2
		} else {
			if float64(hi-lo) <= cfg.Resolution*float64(hi) {
				break
			}
			rate = (lo + hi) / 2
		}
	}
	if best == 0 {
		return 0, trials, fmt.Errorf("%w: %d trials from %d/s", ErrNoZeroLossRate, len(trials), cfg.Start)
	}
	return best, trials, nil
}
