package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/gobcc/gobcc/bcc"
	"github.com/gobcc/gobcc/cmd/gobcc/cli"
	"github.com/gobcc/gobcc/cmd/gobcc/eventprint"
	"github.com/gobcc/gobcc/cmd/gobcc/tableprint"
)

type runOptions struct {
	interval time.Duration
	duration time.Duration
	ksym     cli.TableSelection
	top      int
	trace    bool
	clear    bool
	log2     cli.TableSelection
	linear   cli.TableSelection
	events   eventprint.Options
}

func newRunCommand(g *globalOptions) *cobra.Command {
	o := &runOptions{}
	cmd := &cobra.Command{
		Use:   "run PROG.c",
		Short: "Compile, load and attach a program, then stream its events and print its tables every interval",
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

Every BPF_PERF_OUTPUT and BPF_RINGBUF_OUTPUT table is read as its events
arrive, each printed on one line decoded by the struct the program submits:
"pid=42 comm=bash count=3" (char arrays as text, values with spaces
quoted, "TABLE: " first when the program has more than one), or with
-o json {"type":"event","table":...,"fields":{...}}.
--columns pid,comm prints a heading and aligned columns, as BCC's snoop
tools do; --format '{pid:-7} {comm}' any layout ({FIELD:WIDTH}, negative
widths align left). --ksym=TABLE.FIELD shows a field as a kernel symbol;
--ksym alone (or naming the table) does so for every u64 field holding a
kernel text address. --usym FIELD resolves a user address in the process
the event's pid field (--pid-field) names. Records a perf buffer dropped
print as "lost N events on TABLE" (JSON {"type":"lost",...}); the kernel
counts no ring buffer losses.

On Ctrl-C or SIGTERM the tables print one last time, everything is detached
and gobcc exits 0; a second Ctrl-C exits at once (status 130).

` + exitCodesHelp,
		Example: `  gobcc run --ksym --duration 5s testdata/kmalloc_callers.c
  gobcc run --ksym=callers --top 10 --interval 2s prog.c
  gobcc run --trace --clear prog.c
  gobcc run --columns pid,comm,count testdata/cli_events_perf.c
  gobcc run --format '{comm:-16} {pid:7} {count}' testdata/cli_events_ring.c
  gobcc run --ksym=events.addr --usym uaddr -o json testdata/cli_events_perf.c
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
			if o.events.PageCount < 0 || (o.events.PageCount&(o.events.PageCount-1)) != 0 {
				return usageErrorf("--page-count must be a power of two, got %d", o.events.PageCount)
			}
			if cmd.Flags().Changed("columns") && o.events.Format != "" {
				return usageErrorf("--columns and --format both give the event line's layout: use one")
			}
			if g.json() && o.events.Format != "" {
				return usageErrorf("--format shapes text lines; with -o json use --columns to choose the fields")
			}
			return runProgram(cmd, g, o, args[0])
		},
	}
	f := cmd.Flags()
	f.DurationVar(&o.interval, "interval", time.Second, "time between table prints")
	f.DurationVar(&o.duration, "duration", 0, "stop after this long (0: until Ctrl-C)")
	f.Var(&o.ksym, "ksym", "show u64 keys, and event fields holding kernel addresses, as kernel symbols: in every table, or only in the tables named (--ksym=TABLE,...), or only the event fields named (--ksym=TABLE.FIELD,...)")
	f.Lookup("ksym").NoOptDefVal = "*"
	f.IntVar(&o.top, "top", 0, "print only the N largest entries of each table (0: all)")
	f.BoolVar(&o.trace, "trace", false, "also stream bpf_trace_printk output")
	f.BoolVar(&o.clear, "clear", false, "clear the tables after each print")
	f.Var(&o.log2, "log2", "print these tables as log2 histograms (TABLE,...)")
	f.Var(&o.linear, "linear", "print these tables as linear histograms (TABLE,...)")
	f.StringSliceVar(&o.events.Usym, "usym", nil, "show these event fields (FIELD or TABLE.FIELD,...) as user symbols of the event's process")
	f.StringVar(&o.events.PIDField, "pid-field", "", "the event field --usym takes the process from (default: pid, else tgid)")
	f.StringSliceVar(&o.events.Columns, "columns", nil, "print events as a heading and aligned columns of these fields (FIELD or FIELD:WIDTH,...)")
	f.StringVar(&o.events.Format, "format", "", "print each event as this template: text with {FIELD} or {FIELD:WIDTH} (negative: left-aligned)")
	f.IntVar(&o.events.PageCount, "page-count", 0, "size of each CPU's perf buffer ring in pages, a power of two (0: 8, BCC's default)")
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
	// Events are written to bw and flushed after each poll; tables and
	// trace lines through out, which flushes bw at every write, so that
	// the order of lines is the order of their printing.
	bw := bufio.NewWriter(cmd.OutOrStdout())
	out := flushWriter{bw}
	p := &tableprint.Printer{Mu: &mu, W: out, JSON: g.json(), BPF: b, Ksym: o.ksym, Top: o.top, Log2: o.log2, Linear: o.linear}
	events, err := eventprint.New(b, &mu, bw, g.json(), o.ksym, &o.events)
	if err != nil {
		return err
	}
	if err := events.Open(o.events.PageCount); err != nil {
		return err
	}
	defer events.Close()
	// Also with -o json: standard error is for people, and a script can
	// wait for this line to know the probes are in place.
	what := "printing tables every " + o.interval.String()
	if events.HasTables() {
		what = fmt.Sprintf("streaming events of %s, %s", events.TableNames(), what)
	}
	fmt.Fprintf(os.Stderr, "gobcc: %s attached; %s, Ctrl-C to stop\n", programName(opts), what)
	if err := events.Header(); err != nil {
		return err
	}
	// A failing event stream ends the run as Ctrl-C does, with its error.
	ctx, endRun := context.WithCancel(ctx)
	defer endRun()
	var traceErr, eventsErr error
	var wg sync.WaitGroup
	if events.HasTables() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if eventsErr = events.Run(ctx); eventsErr != nil {
				endRun()
			}
		}()
	}
	if o.trace {
		wg.Add(1)
		go func() {
			defer wg.Done()
			traceErr = eventprint.StreamTrace(ctx, b, &mu, out, g.json())
		}()
	}
	printOnce := func() error {
		if err := p.PrintAll(time.Now()); err != nil {
			return err
		}
		if o.clear {
			for _, t := range b.Tables() {
				if tableprint.Readable(t.Type()) {
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
			wg.Wait()
			err := errors.Join(eventsErr, printOnce(), events.Close(), b.Close())
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
				endRun()
				wg.Wait()
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
	for flag, sel := range map[string]cli.TableSelection{"--ksym": o.ksym, "--log2": o.log2, "--linear": o.linear} {
		for name := range sel.Names {
			if flag == "--ksym" && strings.Contains(name, ".") {
				continue // TABLE.FIELD of an event: newEventStream checks it
			}
			if _, err := b.Table(name); err != nil {
				return usageErrorf("%s %s: %w", flag, name, err)
			}
		}
	}
	return nil
}

// flushWriter writes through a bufio.Writer and flushes it at once, so
// that what was buffered before goes out first.
type flushWriter struct{ w *bufio.Writer }

func (f flushWriter) Write(p []byte) (int, error) {
	n, err := f.w.Write(p)
	if err == nil {
		err = f.w.Flush()
	}
	return n, err
}
