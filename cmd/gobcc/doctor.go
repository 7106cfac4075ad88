package main

import (
	"github.com/spf13/cobra"

	"github.com/gobcc/gobcc/cmd/gobcc/doctor"
)

func newDoctorCommand(g *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "doctor",
		Short: "Check what this machine supports for BCC programs, and explain what to do",
		Long: `doctor checks privileges, libbcc, the kernel and its headers, tracefs,
kprobes, uprobes, fentry, LSM, raw tracepoints, perf events, XDP, BTF,
batch map operations, ring buffers and kptr_restrict. Support is probed by
trying (creating a map, loading and attaching a tiny program, through
features.All), not inferred from kernel config or symbols.

doctor says which kernel header tree compiles use (--headers, default auto:
the installed headers when they are the running kernel's, else a tree
generated from the kernel's BTF) and why, then compiles a probe through that
tree and compares struct member offsets (task_struct.pid, tgid, comm, ...)
with the running kernel's BTF: when they differ, programs that read kernel
structs (exitsnoop, tcplife, ...) silently read the wrong fields.

Each line says ok, warn or fail and what to do. doctor exits 0 when it could
run its checks, whatever it found; use -o json to act on the findings.

` + exitCodesHelp,
		Example: `  gobcc doctor
  gobcc doctor -o json | jq 'select(.status != "ok")'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			w := cmd.OutOrStdout()
			doctor.Run(doctor.Options{CompilerFlags: g.compilerFlags, InProcess: g.noIsolate, Headers: g.headers}, func(f doctor.Finding) {
				doctor.Print(w, f, g.json())
			})
			return nil
		},
	}
}
