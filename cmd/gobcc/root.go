package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/gobcc/gobcc/bcc"
	"github.com/gobcc/gobcc/cflags"
	"github.com/gobcc/gobcc/debugflags"
	"github.com/gobcc/gobcc/headers"
)

const exitCodesHelp = `Exit status:
    0  success (also after Ctrl-C or SIGTERM ends "run" or "trace")
    1  runtime error (kernel, file or table access failed)
    2  usage error (unknown command or flag, bad flag value)
    3  the program did not compile (or libbcc crashed compiling it)
    4  the kernel's verifier rejected a function
    5  the kernel lacks something the program needs (tracepoint, kprobes, ...)
    6  insufficient privileges (run as root, or with CAP_BPF and CAP_PERFMON)
  130  a second Ctrl-C interrupted the clean-up`

// Output formats of --output.
const (
	outputText = "text"
	outputJSON = "json"
)

// globalOptions are the flags every command shares.
type globalOptions struct {
	cflags    string
	defines   []string
	includes  []string
	debug     debugflags.Flags
	output    string
	noIsolate bool
	noCache   bool
	headers   string
}

// json reports whether machine-readable output was asked for.
func (g *globalOptions) json() bool { return g.output == outputJSON }

// compilerFlags merges --cflags, -D and -I into one validated clang flag
// list.
func (g *globalOptions) compilerFlags() ([]string, error) {
	flags, err := cflags.Parse(g.cflags)
	if err != nil {
		return nil, usageErrorf("--cflags: %w", err)
	}
	for _, d := range g.defines {
		flags = append(flags, "-D"+d)
	}
	for _, dir := range g.includes {
		flags = append(flags, cflags.Include(dir))
	}
	if err := cflags.Validate(flags); err != nil {
		return nil, usageErrorf("compiler flags: %w", err)
	}
	return flags, nil
}

// programOptions builds bcc.Options for PROG.c, which may be "-" for
// standard input.
func (g *globalOptions) programOptions(stdin io.Reader, prog string) (bcc.Options, error) {
	flags, err := g.compilerFlags()
	if err != nil {
		return bcc.Options{}, err
	}
	opts := bcc.Options{
		CFlags:      flags,
		Debug:       g.debug,
		DebugWriter: os.Stderr,
		InProcess:   g.noIsolate,
		NoCache:     g.noCache,
		Headers:     g.headers,
	}
	if prog == "-" {
		text, err := io.ReadAll(stdin)
		if err != nil {
			return bcc.Options{}, fmt.Errorf("read program from standard input: %w", err)
		}
		if len(text) == 0 {
			return bcc.Options{}, usageErrorf("standard input held no program")
		}
		opts.Text = string(text)
		opts.Name = "<stdin>"
		return opts, nil
	}
	if _, err := os.Stat(prog); err != nil {
		return bcc.Options{}, fmt.Errorf("program: %w", err)
	}
	if isObjectFile(prog) {
		opts.ObjectFile, opts.Name = prog, prog
		return opts, nil
	}
	opts.SrcFile = prog
	return opts, nil
}

// compile runs bcc.New with a progress line on a terminal.
// compile is bcc.NewContext with a progress line: ending ctx (Ctrl-C in
// run) stops the compile at once.
func compile(ctx context.Context, opts bcc.Options) (*bcc.BPF, error) {
	name := opts.SrcFile
	if name == "" {
		name = opts.Name
	}
	stop := startProgress(os.Stderr, "compiling "+filepath.Base(name), 300*time.Millisecond)
	b, err := bcc.NewContext(ctx, opts)
	stop()
	return b, err
}

func newRootCommand() (*cobra.Command, *globalOptions) {
	g := &globalOptions{}
	root := &cobra.Command{
		Use:   "gobcc",
		Short: "Compile, check and run BCC programs (BPF C) from the shell",
		Long: `gobcc compiles BPF C programs written for BCC through libbcc, loads them
into the kernel, attaches them by their names (TRACEPOINT_PROBE, kprobe__...),
and prints their tables, as a BCC Python script would, without writing one.

` + exitCodesHelp,
		Example: `  gobcc run --ksym --duration 5s testdata/kmalloc_callers.c
  gobcc check prog.c
  gobcc doctor`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	var showVersion bool
	root.Flags().BoolVar(&showVersion, "version", false, "print the versions of gobcc, libbcc and the kernel (as gobcc version)")
	root.RunE = func(cmd *cobra.Command, args []string) error {
		if showVersion {
			return printVersion(cmd, g)
		}
		if len(args) > 0 {
			return usageErrorf("unknown command %q for gobcc (see gobcc --help)", args[0])
		}
		return cmd.Help()
	}
	root.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error {
		return usageErrorf("%w (see %s --help)", err, cmd.CommandPath())
	})
	pf := root.PersistentFlags()
	pf.StringVar(&g.cflags, "cflags", "", `extra clang flags as one shell-quoted string, e.g. "-DN=4 -Wno-unused"`)
	pf.StringArrayVarP(&g.defines, "define", "D", nil, "define a macro, NAME or NAME=VALUE (repeatable)")
	pf.StringArrayVarP(&g.includes, "include-dir", "I", nil, "add an include directory (repeatable)")
	pf.Var(&g.debug, "debug", "BCC debug output: "+fmt.Sprint(debugflags.Names())+", comma-separated; alone means bpf (verifier log)")
	pf.Lookup("debug").NoOptDefVal = "bpf"
	pf.BoolVar(&g.noIsolate, "no-isolate", false, "compile in this process instead of a helper process")
	pf.BoolVar(&g.noCache, "no-cache", false, "compile through libbcc even when the compile cache has the program, and store nothing")
	pf.StringVar(&g.headers, "headers", "", headersFlagHelp+" (default auto, or $"+headers.Env+")")
	root.PersistentPreRunE = func(cmd *cobra.Command, args []string) error {
		if g.output != outputText && g.output != outputJSON {
			return usageErrorf("--output %q: want text or json", g.output)
		}
		return nil
	}
	root.AddCommand(
		newRunCommand(g),
		newCheckCommand(g),
		newTraceCommand(g),
		newKsymCommand(g),
		newTablesCommand(g),
		newDoctorCommand(g),
		newHeadersCommand(g),
		newVersionCommand(g),
		newBuildCommand(g),
		newCacheCommand(g),
		newExportCommand(g),
		newGenDocsCommand(),
		newListCommand(g),
	)
	// --output/-o on every command but build, whose -o names the object
	// file it writes (as cc -o does).
	g.output = outputText
	for _, c := range root.Commands() {
		if c.Name() != "build" {
			c.PersistentFlags().StringVarP(&g.output, "output", "o", outputText, "output format: text or json (one JSON object per line)")
		}
	}
	return root, g
}

// isObjectFile reports whether path holds an ELF file (a BPF object from
// gobcc build) rather than C text.
func isObjectFile(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	var magic [4]byte
	_, err = io.ReadFull(f, magic[:])
	return err == nil && string(magic[:]) == "\x7fELF"
}

// exactProgramArg requires one PROG.c argument.
func exactProgramArg(cmd *cobra.Command, args []string) error {
	if len(args) != 1 {
		return usageErrorf("%s needs one program file (or - for standard input), got %d arguments", cmd.CommandPath(), len(args))
	}
	return nil
}
