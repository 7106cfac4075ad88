package main

import (
	"github.com/spf13/cobra"

	"github.com/gobcc/gobcc/cmd/gobcc/probelist"
)

func newListCommand(g *globalOptions) *cobra.Command {
	var verbose bool
	cmd := &cobra.Command{
		Use:   "list [SPEC]",
		Short: "List probes: tracepoints, raw tracepoints, kernel functions, uprobes, USDT (bpftrace -l)",
		Long: `list prints the probes SPEC names, one per line, as bpftrace -l does. SPEC is
KIND:PATTERN with shell globs (*, ?, [...]):

  tracepoint:CATEGORY:EVENT       tracepoint:sched:*      (alias t:)
  rawtracepoint:EVENT             rawtracepoint:sched_*   (alias rt:)
  kprobe:FUNCTION                 kprobe:vfs_*            (alias k:; from available_filter_functions)
  uprobe:PATH_OR_LIB:FUNCTION     uprobe:c:malloc*        (alias u:)
  usdt:PATH_OR_PID:[PROVIDER:]NAME usdt:/usr/bin/python3:*  (alias U:)

A bare PATTERN (no KIND) searches tracepoints ("CATEGORY:EVENT" or the event
name), raw tracepoints and kernel functions. No SPEC lists all of those.
With -v, a tracepoint's fields are printed as the program sees them in args
(libbcc's view: "__data_loc char[] filename" is "int data_loc_filename"), and a
USDT probe's arguments. Kernel functions are listed even where kprobes cannot
attach (this kernel has no kprobes); list says so on standard error.

` + exitCodesHelp,
		Example: `  gobcc list 'tracepoint:sched:*'
  gobcc list -v tracepoint:sched:sched_process_exec
  gobcc list 'uprobe:/usr/lib/x86_64-linux-gnu/libc.so.6:malloc*'
  gobcc list 'usdt:1234:*'
  gobcc list -o json 'sched_process_*'`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			spec := ""
			if len(args) == 1 {
				spec = args[0]
			}
			l := &probelist.Lister{W: cmd.OutOrStdout(), JSON: g.json(), Verbose: verbose}
			return l.List(cmd.ErrOrStderr(), spec)
		},
	}
	cmd.Flags().BoolVarP(&verbose, "verbose", "v", false, "print tracepoint fields and USDT arguments")
	return cmd
}
