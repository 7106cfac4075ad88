package main

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"

	"github.com/gobcc/gobcc/cmd/gobcc/cli"
	"github.com/gobcc/gobcc/cmd/gobcc/doctor"
)

type jsonVersion struct {
	Type   string `json:"type"`
	Gobcc  string `json:"gobcc"`
	Go     string `json:"go"`
	Libbcc string `json:"libbcc"`
	Kernel string `json:"kernel"`
}

// gobccVersion is the module version the binary was built from, "devel"
// for a build from a work tree.
func gobccVersion() string {
	info, ok := debug.ReadBuildInfo()
	if !ok || info.Main.Version == "" || info.Main.Version == "(devel)" {
		return "devel"
	}
	return info.Main.Version
}

func newVersionCommand(g *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the versions of gobcc, libbcc and the kernel",
		Long: `version prints gobcc's version, the libbcc it will compile with and the
running kernel's release.

` + exitCodesHelp,
		Example: `  gobcc version
  gobcc version -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return printVersion(cmd, g) },
	}
}

// printVersion prints what "gobcc version" and "gobcc --version" show.
func printVersion(cmd *cobra.Command, g *globalOptions) error {
	_, lib, err := doctor.LibbccVersion()
	if err != nil {
		lib = "not found"
	}
	v := jsonVersion{Type: "version", Gobcc: gobccVersion(), Go: runtime.Version(), Libbcc: lib, Kernel: doctor.KernelRelease()}
	w := cmd.OutOrStdout()
	if g.json() {
		return cli.WriteJSON(w, v)
	}
	fmt.Fprintf(w, "gobcc  %s (%s)\nlibbcc %s\nkernel %s\n", v.Gobcc, v.Go, v.Libbcc, v.Kernel)
	return nil
}
