package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/gobcc/gobcc/bcc"
)

func newBuildCommand(g *globalOptions) *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:   "build PROG.c -o PROG.o",
		Short: "Compile a program into a BPF object file that runs without libbcc",
		Long: `build compiles PROG.c through libbcc, as run does, and writes the result as a
standard ELF BPF object: one section per function, map definitions and
relocations as libbpf and cilium/ebpf read them, and gobcc's table
descriptions in a section of its own. "gobcc run PROG.o" runs it on a machine
with the same kernel and no libbcc, LLVM or kernel headers; llvm-objdump -d
and bpftool read it too.

The file is written with mode 0644; gobcc refuses to load an object that is
writable by group or others or owned by another user than root or itself.

` + exitCodesHelp,
		Example: `  gobcc build testdata/kmalloc_callers.c -o kmalloc_callers.o
  gobcc run --ksym kmalloc_callers.o`,
		Args: exactProgramArg,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts, err := g.programOptions(cmd.InOrStdin(), args[0])
			if err != nil {
				return err
			}
			if opts.ObjectFile != "" {
				return usageErrorf("%s is already an object", args[0])
			}
			if out == "" {
				out = strings.TrimSuffix(filepath.Base(args[0]), filepath.Ext(args[0])) + ".o"
			}
			data, err := bcc.Build(cmd.Context(), opts)
			if err != nil {
				return err
			}
			if err := writeFileAtomic(out, data, 0o644); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "wrote %s (%d bytes)\n", out, len(data))
			return nil
		},
	}
	cmd.Flags().StringVarP(&out, "out", "o", "", "object file to write (default PROG.o in the current directory)")
	return cmd
}

// writeFileAtomic writes data to a temporary file beside path and renames
// it into place, so a reader never sees half an object.
func writeFileAtomic(path string, data []byte, mode os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
