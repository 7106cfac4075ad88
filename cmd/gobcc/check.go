package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/gobcc/gobcc/bcc"
	"github.com/gobcc/gobcc/cmd/gobcc/cli"
	"github.com/gobcc/gobcc/debugflags"
)

// progTypeFor is the program type a function's name implies, as BCC's
// autoload prefixes and load_funcs' kprobe default have it.
func progTypeFor(name string) (bcc.ProgType, bcc.AttachType) {
	switch {
	case strings.HasPrefix(name, "tracepoint__"):
		return bcc.Tracepoint, bcc.AttachNone
	case strings.HasPrefix(name, "raw_tracepoint__"):
		return bcc.RawTracepoint, bcc.AttachNone
	case strings.HasPrefix(name, "kfunc__"):
		return bcc.Tracing, bcc.AttachTraceFentry
	case strings.HasPrefix(name, "kretfunc__"):
		return bcc.Tracing, bcc.AttachTraceFexit
	case strings.HasPrefix(name, "lsm__"):
		return bcc.LSM, bcc.AttachLSMMac
	}
	return bcc.Kprobe, bcc.AttachNone
}

// checkResult is one function's outcome, also its --output json form.
type checkResult struct {
	Type      string `json:"type"`
	Function  string `json:"function"`
	ProgType  string `json:"prog_type"`
	Status    string `json:"status"` // loaded, rejected or error
	Insns     int    `json:"insns,omitempty"`
	Processed int    `json:"processed,omitempty"`
	Errno     string `json:"errno,omitempty"`
	Log       string `json:"log,omitempty"`
	Hint      string `json:"hint,omitempty"`
	Error     string `json:"error,omitempty"`
}

func newCheckCommand(g *globalOptions) *cobra.Command {
	var typeOverrides []string
	cmd := &cobra.Command{
		Use:   "check PROG.c",
		Short: "Compile a program and load every function through the verifier, attaching nothing",
		Long: `check compiles PROG.c and loads each of its functions through the kernel's
verifier with the program type its name implies: tracepoint__ as tracepoint,
raw_tracepoint__ as raw_tracepoint, kprobe__ and kretprobe__ as kprobe, kfunc__
and kretfunc__ as tracing, lsm__ as lsm, anything else as kprobe, as BCC's
load_funcs does. --type NAME=TYPE overrides it. Nothing is attached.

One line per function: loaded, with its instruction count and the number of
instructions the verifier processed, or rejected, with the verifier's last
lines (the whole log with --debug). The exit status is 0 only if every
function loads.

` + exitCodesHelp,
		Example: `  gobcc check prog.c
  gobcc check --type my_filter=socket_filter prog.c
  gobcc check --debug prog.c        # the whole verifier log of every function
  gobcc check -o json prog.c`,
		Args: exactProgramArg,
		RunE: func(cmd *cobra.Command, args []string) error {
			overrides := map[string]bcc.ProgType{}
			for _, o := range typeOverrides {
				name, typ, ok := strings.Cut(o, "=")
				if !ok || name == "" {
					return usageErrorf("--type %q: want NAME=TYPE", o)
				}
				pt, err := bcc.ParseProgType(typ)
				if err != nil {
					return usageErrorf("--type %s: %w", o, err)
				}
				overrides[name] = pt
			}
			return checkProgram(cmd, g, args[0], overrides)
		},
	}
	cmd.Flags().StringArrayVar(&typeOverrides, "type", nil, "load function NAME as program TYPE (kprobe, tracepoint, raw_tracepoint, perf_event, socket_filter, xdp, ...; repeatable)")
	return cmd
}

func checkProgram(cmd *cobra.Command, g *globalOptions, prog string, overrides map[string]bcc.ProgType) error {
	opts, err := g.programOptions(cmd.InOrStdin(), prog)
	if err != nil {
		return err
	}
	opts.NoAutoAttach = true
	// The verifier log gives the processed-instruction count; it is shown
	// only when the user asked for it.
	userDebug := g.debug.VerifierLogLevel() > 0
	opts.Debug |= debugflags.BPF
	if !userDebug {
		opts.DebugWriter = io.Discard
	}
	b, err := compile(cmd.Context(), opts)
	if err != nil {
		return err
	}
	defer b.Close()
	for name := range overrides {
		found := false
		for _, f := range b.FunctionNames() {
			found = found || f == name
		}
		if !found {
			return usageErrorf("--type %s: %w (the program has %s)", name, bcc.ErrFunctionNotFound, strings.Join(b.FunctionNames(), ", "))
		}
	}
	w := cmd.OutOrStdout()
	names := b.FunctionNames()
	width := 0
	for _, n := range names {
		width = max(width, len(n))
	}
	worst := exitOK
	for _, name := range names {
		pt, at := progTypeFor(name)
		if o, ok := overrides[name]; ok {
			pt, at = o, bcc.AttachNone
		}
		res := checkResult{Type: "check", Function: name, ProgType: pt.String()}
		f, err := b.LoadFuncAttachType(name, pt, at)
		var ve *bcc.VerifierError
		switch {
		case err == nil:
			res.Status = "loaded"
			res.Insns = f.Insns
			res.Processed = verifiedInsns(f)
		case errors.As(err, &ve):
			res.Status = "rejected"
			res.Errno = ve.Errno.Error()
			res.Log = ve.LastLines(verifierTailLines)
			if userDebug {
				res.Log = strings.TrimRight(ve.Log, "\n")
			}
			res.Hint = ve.Hint
			worst = max(worst, exitCode(err))
		default:
			res.Status = "error"
			res.Error = err.Error()
			worst = max(worst, exitCode(err))
		}
		if g.json() {
			if err := cli.WriteJSON(w, res); err != nil {
				return err
			}
			continue
		}
		writeCheckResult(w, res, width)
	}
	if len(names) == 0 {
		fmt.Fprintf(os.Stderr, "gobcc: %s has no functions\n", programName(opts))
	}
	if worst != exitOK {
		return &silentError{code: worst}
	}
	return nil
}

// verifiedInsns is the verifier's "processed N insns"; 0 (printed "?")
// when neither the log nor the kernel says.
func verifiedInsns(f *bcc.Function) int {
	n, err := f.VerifiedInsns()
	if err != nil {
		return 0
	}
	return n
}

func writeCheckResult(w io.Writer, r checkResult, width int) {
	switch r.Status {
	case "loaded":
		processed := "?"
		if r.Processed > 0 {
			processed = strconv.Itoa(r.Processed)
		}
		fmt.Fprintf(w, "%-*s  %-14s loaded    %d insns, %s processed by the verifier\n", width, r.Function, r.ProgType, r.Insns, processed)
	case "rejected":
		fmt.Fprintf(w, "%-*s  %-14s rejected  %s\n", width, r.Function, r.ProgType, r.Errno)
		if r.Log != "" {
			fmt.Fprint(w, indent(indent(r.Log)))
		}
		if r.Hint != "" {
			fmt.Fprint(w, indent(indent(r.Hint)))
		}
	default:
		fmt.Fprintf(w, "%-*s  %-14s error     %s\n", width, r.Function, r.ProgType, strings.ReplaceAll(r.Error, "\n", "\n    "))
	}
}
