// Command gobcc compiles, checks and runs BCC programs (BPF C text) from the
// shell, without writing Go or Python: the command-line face of package bcc.
//
// Run "gobcc --help" for the commands, their flags and the exit codes, and
// see docs/cli.md for examples.
package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/gobcc/gobcc/debugflags"
)

func main() {
	root, g := newRootCommand()
	root.SetArgs(normalizeArgs(os.Args[1:]))
	err := root.Execute()
	if err != nil && strings.HasPrefix(err.Error(), "unknown command ") {
		// cobra reports unknown subcommands as plain errors.
		err = usageErrorf("%w (see gobcc --help)", err)
	}
	os.Exit(reportError(os.Stderr, err, g.debug.VerifierLogLevel() > 0))
}

// normalizeArgs joins "--debug NAMES" into "--debug=NAMES". pflag lets an
// option with a default for the bare form (--debug alone means bpf) take a
// value only when joined with '=', so "--debug bpf prog.c" would otherwise
// read "bpf" as the program. The next word is taken as the value only when
// it parses as debug flags, so "--debug prog.c" still means bpf.
func normalizeArgs(args []string) []string {
	out := make([]string, 0, len(args))
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			out = append(out, args[i:]...)
			break
		}
		if a == "--debug" && i+1 < len(args) && !strings.HasPrefix(args[i+1], "-") {
			if _, err := debugflags.Parse(args[i+1]); err == nil {
				if _, statErr := os.Stat(args[i+1]); statErr != nil {
					out = append(out, fmt.Sprintf("--debug=%s", args[i+1]))
					i++
					continue
				}
			}
		}
		out = append(out, a)
	}
	return out
}
