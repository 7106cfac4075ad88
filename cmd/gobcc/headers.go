package main

import (
	"github.com/spf13/cobra"

	"github.com/gobcc/gobcc/cmd/gobcc/doctor"
	"github.com/gobcc/gobcc/headers"
)

// headersFlagHelp documents --headers.
const headersFlagHelp = `kernel headers to compile against: auto (the installed ones only when they are the running kernel's, else a tree generated from its BTF), btf, installed, or a directory`

func newHeadersCommand(g *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "headers",
		Short: "Say which kernel header tree a compile would use and why",
		Long: `headers resolves --headers (default auto) as a compile would, generating the
tree from the kernel's BTF into the cache if needed, and prints its kind,
directory and the reason. The directory can be given to BCC Python:
BCC_KERNEL_SOURCE=$(gobcc headers --headers btf --dir-only) python3 tool.py`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			dirOnly, _ := cmd.Flags().GetBool("dir-only")
			t, err := headers.Resolve(g.headers)
			if err != nil {
				return err
			}
			return doctor.WriteHeaderTree(cmd.OutOrStdout(), g.headers, t, dirOnly, g.json())
		},
	}
	cmd.Flags().Bool("dir-only", false, "print only the tree's directory")
	return cmd
}
