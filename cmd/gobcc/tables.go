package main

import (
	"github.com/spf13/cobra"

	"github.com/gobcc/gobcc/cmd/gobcc/tableprint"
)

func newTablesCommand(g *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "tables PROG.c",
		Short: "List a program's tables: name, map type, key and leaf types, max entries",
		Long: `tables compiles PROG.c, creates its tables without loading or attaching
any function, and lists each table: name, map type, key and leaf C types with
their sizes in bytes, and the maximum number of entries.

` + exitCodesHelp,
		Example: `  gobcc tables testdata/kmalloc_callers.c
  gobcc tables -o json prog.c`,
		Args: exactProgramArg,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts, err := g.programOptions(cmd.InOrStdin(), args[0])
			if err != nil {
				return err
			}
			opts.NoAutoAttach = true
			b, err := compile(cmd.Context(), opts)
			if err != nil {
				return err
			}
			defer b.Close()
			if err := tableprint.WriteInfo(cmd.OutOrStdout(), b, g.json()); err != nil {
				return err
			}
			return b.Close()
		},
	}
}
