package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/gobcc/gobcc/cmd/gobcc/eventprint"
	"github.com/gobcc/gobcc/tracepipe"
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
			pipe, err := tracepipe.Open()
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
				if err := eventprint.WriteTraceEvent(w, ev, g.json(), fields); err != nil {
					return err
				}
			}
		},
	}
	cmd.Flags().BoolVar(&fields, "fields", false, "print time, task, PID, CPU and message columns")
	return cmd
}
