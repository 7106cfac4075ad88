package main

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/gobcc/gobcc/cmd/gobcc/cli"
	"github.com/gobcc/gobcc/symbols"
)

type jsonKsym struct {
	Type    string `json:"type"`
	Address string `json:"address"`
	Symbol  string `json:"symbol"`
	Found   bool   `json:"found"`
}

func newKsymCommand(g *globalOptions) *cobra.Command {
	var names []string
	cmd := &cobra.Command{
		Use:   "ksym ADDR... | ksym --name SYMBOL...",
		Short: "Resolve kernel addresses to symbols, or symbols to addresses",
		Long: `ksym names the kernel function containing each address (hexadecimal, with
or without 0x), with its offset and module, as BCC's b.ksym(addr,
show_module=True, show_offset=True) does; --name looks symbols up the other
way, as ksymname does. Reading /proc/kallsyms addresses needs root (or
kernel.kptr_restrict=0). Exit status 1 if any did not resolve.

` + exitCodesHelp,
		Example: `  gobcc ksym ffffffff81234567 0xffffffff8123abcd
  gobcc ksym --name vfs_read --name kmalloc_trace`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 && len(names) == 0 {
				return usageErrorf("ksym needs addresses or --name")
			}
			addrs := make([]uint64, len(args))
			for i, a := range args {
				v, err := strconv.ParseUint(strings.TrimPrefix(strings.ToLower(a), "0x"), 16, 64)
				if err != nil {
					return usageErrorf("address %q: want hexadecimal: %w", a, err)
				}
				addrs[i] = v
			}
			syms, err := symbols.LoadKernel()
			if err != nil {
				return fmt.Errorf("kernel symbols: %w", err)
			}
			w := cmd.OutOrStdout()
			missing := 0
			for _, addr := range addrs {
				_, found := syms.Lookup(addr)
				sym := syms.Ksym(addr, symbols.Options{ShowOffset: true, ShowModule: true})
				if !found {
					missing++
				}
				if g.json() {
					if err := cli.WriteJSON(w, jsonKsym{Type: "ksym", Address: fmt.Sprintf("0x%x", addr), Symbol: sym, Found: found}); err != nil {
						return err
					}
					continue
				}
				fmt.Fprintf(w, "0x%016x %s\n", addr, sym)
			}
			for _, name := range names {
				addr, err := syms.KsymName(name)
				found := err == nil
				if !found {
					missing++
				}
				if g.json() {
					a := ""
					if found {
						a = fmt.Sprintf("0x%x", addr)
					}
					if err := cli.WriteJSON(w, jsonKsym{Type: "ksym", Address: a, Symbol: name, Found: found}); err != nil {
						return err
					}
					continue
				}
				if found {
					fmt.Fprintf(w, "%s 0x%016x\n", name, addr)
				} else {
					fmt.Fprintf(w, "%s [unknown]\n", name)
				}
			}
			if missing > 0 {
				return &silentError{code: exitRuntime}
			}
			return nil
		},
	}
	cmd.Flags().StringArrayVar(&names, "name", nil, "look up the address of this symbol (repeatable)")
	return cmd
}
