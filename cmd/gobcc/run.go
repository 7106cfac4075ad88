package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/gobcc/gobcc/bcc"
)

type runOptions struct {
	interval time.Duration
	duration time.Duration
	ksym     tableSelection
	top      int
	trace    bool
	clear    bool
	log2     tableSelection
	linear   tableSelection
}

func newRunCommand(g *globalOptions) *cobra.Command {
	o := &runOptions{}
	cmd := &cobra.Command{
		Use:   "run PROG.c",
		Short: "Compile, load and attach a program, then print its tables every interval",
		Long: `run compiles PROG.c (or standard input for -), loads and attaches every
function whose name says where it belongs (TRACEPOINT_PROBE, RAW_TRACEPOINT_PROBE,
kprobe__, kretprobe__, kfunc__, lsm__), as BCC's BPF(text=...) does, and then
prints every table each --interval until Ctrl-C, SIGTERM or --duration.

Hash tables print one "key value" line per entry sorted by value, the largest
last; arrays print their non-zero slots in index order. Struct keys and values
print by field name. --ksym shows u64 keys as kernel function names, as
b.ksym(k.value) does. Tables named *hist* or *dist* with integer keys, tables
keyed by a struct ending in "slot", and those named by --log2 or --linear
print as BCC's print_log2_hist and print_linear_hist.

On Ctrl-C or SIGTERM the tables print one last time, everything is detached
and gobcc exits 0; a second Ctrl-C exits at once (status 130).

` + exitCodesHelp,
		Example: `  gobcc run --ksym --duration 5s testdata/kmalloc_callers.c
  gobcc run --ksym=callers --top 10 --interval 2s prog.c
  gobcc run --trace --clear prog.c
  cat prog.c | gobcc run -o json -
  gobcc run -D MAX_ENTRIES=1024 --cflags "-Wno-unused" prog.c`,
		Args: exactProgramArg,
		RunE: func(cmd *cobra.Command, args []string) error {
			if o.interval <= 0 {
				return usageErrorf("--interval must be positive, got %s", o.interval)
			}
			if o.top < 0 {
				return usageErrorf("--top must not be negative")
			}
			if o.duration < 0 {
				return usageErrorf("--duration must not be negative, got %s (0 runs until Ctrl-C)", o.duration)
			}
			return runProgram(cmd, g, o, args[0])
		},
	}
	f := cmd.Flags()
	f.DurationVar(&o.interval, "interval", time.Second, "time between table prints")
	f.DurationVar(&o.duration, "duration", 0, "stop after this long (0: until Ctrl-C)")
	f.Var(&o.ksym, "ksym", "show u64 keys as kernel symbols: in every table, or only in the tables named (--ksym=TABLE,...)")
	f.Lookup("ksym").NoOptDefVal = "*"
	f.IntVar(&o.top, "top", 0, "print only the N largest entries of each table (0: all)")
	f.BoolVar(&o.trace, "trace", false, "also stream bpf_trace_printk output")
	f.BoolVar(&o.clear, "clear", false, "clear the tables after each print")
	f.Var(&o.log2, "log2", "print these tables as log2 histograms (TABLE,...)")
	f.Var(&o.linear, "linear", "print these tables as linear histograms (TABLE,...)")
	return cmd
}

// signalContext is cancelled by the first SIGINT or SIGTERM; a second one
// ends the process at once, for a clean-up that hangs.
func signalContext(parent context.Context) (context.Context, func()) {
	ctx, cancel := context.WithCancel(parent)
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		select {
		case <-sigs:
			cancel()
		case <-done:
			return
		}
		select {
		case <-sigs:
			fmt.Fprintln(os.Stderr, "gobcc: interrupted again, exiting without clean-up")
			os.Exit(exitInterrupted)
		case <-done:
		}
	}()
	return ctx, func() {
		signal.Stop(sigs)
		close(done)
		cancel()
	}
}

func runProgram(cmd *cobra.Command, g *globalOptions, o *runOptions, prog string) error {
	opts, err := g.programOptions(cmd.InOrStdin(), prog)
	if err != nil {
		return err
	}
	ctx, stop := signalContext(context.Background())
	defer stop()
	b, err := compile(ctx, opts)
	if err != nil {
		if ctx.Err() != nil && errors.Is(err, ctx.Err()) {
			return nil // Ctrl-C while compiling: stopped, as after it
		}
		return err
	}
	defer b.Close()
	for _, w := range b.Warnings() {
		fmt.Fprintf(os.Stderr, "gobcc: warning: %s\n", w)
	}
	if err := checkTableNames(b, o); err != nil {
		return err
	}
	if o.duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, o.duration)
		defer cancel()
	}
	var mu sync.Mutex
	out := cmd.OutOrStdout()
	p := &tablePrinter{mu: &mu, w: out, json: g.json(), b: b, ksym: o.ksym, top: o.top, log2: o.log2, linear: o.linear}
	if !g.json() {
		fmt.Fprintf(os.Stderr, "gobcc: %s attached; printing tables every %s, Ctrl-C to stop\n", programName(opts), o.interval)
	}
	var traceErr error
	var wg sync.WaitGroup
	if o.trace {
		wg.Add(1)
		go func() {
			defer wg.Done()
			traceErr = streamTrace(ctx, b, &mu, out, g.json())
		}()
	}
	printOnce := func() error {
		if err := p.printAll(time.Now()); err != nil {
			return err
		}
		if o.clear {
			for _, t := range b.Tables() {
				if readableMap(t.Type()) {
					if err := t.Clear(); err != nil {
						return fmt.Errorf("clear %s: %w", t.Name(), err)
					}
				}
			}
		}
		return nil
	}
	deadline, hasDeadline := ctx.Deadline()
	ticker := time.NewTicker(o.interval)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			err := printOnce()
			wg.Wait()
			err = errors.Join(err, b.Close())
			if traceErr != nil && !errors.Is(traceErr, context.Canceled) && !errors.Is(traceErr, context.DeadlineExceeded) {
				err = errors.Join(err, traceErr)
			}
			return err
		case <-ticker.C:
			// The final print is near: let it stand for this one, so
			// --duration 2s prints twice, not three times.
			if hasDeadline && time.Until(deadline) < o.interval/4 {
				continue
			}
			if err := printOnce(); err != nil {
				return err
			}
		}
	}
}

// programName is the program's name for messages.
func programName(opts bcc.Options) string {
	if opts.SrcFile != "" {
		return opts.SrcFile
	}
	return opts.Name
}

// checkTableNames rejects --ksym, --log2 and --linear names the program does
// not declare: a typo would otherwise silently print nothing different.
func checkTableNames(b *bcc.BPF, o *runOptions) error {
	for flag, sel := range map[string]tableSelection{"--ksym": o.ksym, "--log2": o.log2, "--linear": o.linear} {
		for name := range sel.names {
			if _, err := b.Table(name); err != nil {
				return usageErrorf("%s %s: %w", flag, name, err)
			}
		}
	}
	return nil
}
