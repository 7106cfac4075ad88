package main

import (
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"
)

type jsonTableInfo struct {
	Type       string `json:"type"`
	Name       string `json:"name"`
	MapType    string `json:"map_type"`
	Key        string `json:"key"`
	KeySize    int    `json:"key_size"`
	Leaf       string `json:"leaf"`
	LeafSize   int    `json:"leaf_size"`
	MaxEntries int    `json:"max_entries"`
}

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
			w := cmd.OutOrStdout()
			if g.json() {
				for _, t := range b.Tables() {
					info := jsonTableInfo{
						Type: "table_info", Name: t.Name(), MapType: t.Type().String(),
						Key: t.KeyType().String(), KeySize: t.KeySize(),
						Leaf: t.LeafType().String(), LeafSize: t.LeafSize(), MaxEntries: t.MaxEntries(),
					}
					if err := writeJSON(w, info); err != nil {
						return err
					}
				}
				return b.Close()
			}
			tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tTYPE\tKEY\tLEAF\tMAX ENTRIES")
			for _, t := range b.Tables() {
				fmt.Fprintf(tw, "%s\t%s\t%s (%d)\t%s (%d)\t%d\n", t.Name(), t.Type(),
					t.KeyType(), t.KeySize(), t.LeafType(), t.LeafSize(), t.MaxEntries())
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			return b.Close()
		},
	}
}
