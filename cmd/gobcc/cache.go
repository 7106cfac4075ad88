package main

import (
	"fmt"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/gobcc/gobcc/cache"
	"github.com/gobcc/gobcc/cmd/gobcc/cachelist"
)

func newCacheCommand(g *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "cache",
		Short: "List, clear or prune the compile cache",
		Long: `gobcc keeps every program it compiles in a compile cache (` + cache.Dir() + `,
or $GOBCC_CACHE_DIR/objects), keyed by everything that goes into the compile:
the program text, cflags, debug flags, the kernel header tree, the files that
-I directories make visible, libbcc's version and the architecture. A program
found there starts without libbcc, LLVM or a compile. --no-cache skips it.

The directory and its entries must be owned by the user running gobcc and be
inaccessible to others (mode 0700/0600); anything else is ignored with a
warning and recompiled.`,
		Args: cobra.NoArgs,
	}
	cmd.AddCommand(&cobra.Command{
		Use:   "ls",
		Short: "List cached programs, most recently used first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			entries, err := cache.Entries()
			if err != nil {
				return err
			}
			return cachelist.Write(cmd.OutOrStdout(), entries, cache.Dir(), g.json())
		},
	})
	cmd.AddCommand(&cobra.Command{
		Use:   "clear",
		Short: "Remove every cached program",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			n, err := cache.Clear()
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "removed %d entries\n", n)
			return nil
		},
	})
	cmd.AddCommand(&cobra.Command{
		Use:     "prune MAXBYTES",
		Short:   "Remove the least recently used programs until the cache holds at most MAXBYTES",
		Example: "  gobcc cache prune 10000000",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			max, err := strconv.ParseInt(args[0], 10, 64)
			if err != nil || max < 0 {
				return usageErrorf("prune: MAXBYTES %q is not a byte count", args[0])
			}
			removed, err := cache.Prune(max)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "removed %d entries\n", len(removed))
			return nil
		},
	})
	return cmd
}
