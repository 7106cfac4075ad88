package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/spf13/cobra"

	"github.com/gobcc/gobcc/bcc"
)

func newTraceCommand(g *globalOptions) *cobra.Command {
	var fields bool
	cmd := &cobra.Command{
		Use:   "trace",
		Short: "Print trace_pipe lines (bpf_trace_printk output) until Ctrl-C",
		Long: `trace prints the kernel's trace_pipe, where bpf_trace_printk writes, until
Ctrl-C or SIGTERM, as BCC's trace_print does. --fields splits each line into
time, task, PID, CPU and message columns, as trace_fields does. trace_pipe
admits one reader at a time; a second one gets an error.

` + exitCodesHelp,
		Example: `  gobcc trace
  gobcc trace --fields
  gobcc trace -o json | jq .message`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, stop := signalContext(cmd.Context())
			defer stop()
			pipe, err := bcc.OpenTracePipe()
			if err != nil {
				return fmt.Errorf("open trace_pipe: %w", err)
			}
			defer pipe.Close()
			w := cmd.OutOrStdout()
			if fields && !g.json() {
				fmt.Fprintf(w, "%-18s %-16s %-7s %-3s %s\n", "TIME(s)", "COMM", "PID", "CPU", "MESSAGE")
			}
			for {
				ev, err := pipe.ReadFields(ctx)
				if err != nil {
					if ctx.Err() != nil {
						return nil
					}
					return fmt.Errorf("read trace_pipe: %w", err)
				}
				if ev.Raw == "" {
					continue
				}
				if err := writeTraceEvent(w, ev, g.json(), fields); err != nil {
					return err
				}
			}
		},
	}
	cmd.Flags().BoolVar(&fields, "fields", false, "print time, task, PID, CPU and message columns")
	return cmd
}

// jsonTrace is one trace_pipe line in --output json.
type jsonTrace struct {
	Type     string  `json:"type"`
	Task     string  `json:"task,omitempty"`
	PID      int     `json:"pid"`
	TGID     int     `json:"tgid,omitempty"`
	CPU      int     `json:"cpu"`
	Flags    string  `json:"flags,omitempty"`
	TS       float64 `json:"ts"`
	Function string  `json:"function,omitempty"`
	Message  string  `json:"message"`
	Lost     int     `json:"lost,omitempty"`
	Raw      string  `json:"raw"`
}

func writeTraceEvent(w io.Writer, ev bcc.TraceEvent, asJSON, fields bool) error {
	if asJSON {
		tgid := ev.TGID
		if tgid < 0 {
			tgid = 0
		}
		return writeJSON(w, jsonTrace{
			Type: "trace", Task: ev.Task, PID: ev.PID, TGID: tgid, CPU: ev.CPU, Flags: ev.Flags,
			TS: ev.Timestamp.Seconds(), Function: ev.Function, Message: ev.Message, Lost: ev.Lost, Raw: ev.Raw,
		})
	}
	var err error
	if fields && ev.Parsed && ev.Lost == 0 {
		_, err = fmt.Fprintf(w, "%-18s %-16s %-7d %-3d %s\n", ev.TimestampRaw, ev.Task, ev.PID, ev.CPU, ev.Message)
	} else {
		_, err = fmt.Fprintln(w, ev.Raw)
	}
	return err
}

// streamTrace copies bpf_trace_printk output for run --trace until ctx
// ends, holding mu per line so table prints stay whole.
func streamTrace(ctx context.Context, b *bcc.BPF, mu *sync.Mutex, w io.Writer, asJSON bool) error {
	for {
		ev, err := b.TraceFields(ctx)
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, bcc.ErrClosed) {
				return nil
			}
			return fmt.Errorf("read trace_pipe: %w", err)
		}
		if ev.Raw == "" {
			// A message ending in "\n" leaves an empty line behind it.
			continue
		}
		mu.Lock()
		err = writeTraceEvent(w, ev, asJSON, false)
		mu.Unlock()
		if err != nil {
			return err
		}
	}
}
