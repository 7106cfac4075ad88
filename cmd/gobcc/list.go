package main

import (
	"errors"
	"fmt"
	"io"
	"path"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/gobcc/gobcc/bcc"
	"github.com/gobcc/gobcc/bcc/usdt"
)

// probeKinds maps bpftrace's probe type names and aliases to ours.
var probeKinds = map[string]string{
	"tracepoint": "tracepoint", "t": "tracepoint",
	"rawtracepoint": "rawtracepoint", "rt": "rawtracepoint",
	"kprobe": "kprobe", "k": "kprobe", "kretprobe": "kprobe", "kr": "kprobe",
	"uprobe": "uprobe", "u": "uprobe", "uretprobe": "uprobe", "ur": "uprobe",
	"usdt": "usdt", "U": "usdt",
}

// jsonProbe is one line of `gobcc list -o json`.
type jsonProbe struct {
	Type  string `json:"type"` // "probe"
	Kind  string `json:"kind"`
	Probe string `json:"probe"`
	// Fields are a tracepoint's args (with -v).
	Fields []jsonField `json:"fields,omitempty"`
	// Arguments are a USDT probe's arguments at its first location (with -v).
	Arguments []string `json:"arguments,omitempty"`
}

type jsonField struct {
	Type   string `json:"type"`
	Name   string `json:"name"`
	Offset int    `json:"offset"`
	Size   int    `json:"size"`
	Signed bool   `json:"signed"`
}

// probeLister collects and prints probes as they are found.
type probeLister struct {
	w       io.Writer
	json    bool
	verbose bool
	count   int
}

func (l *probeLister) emit(p jsonProbe, details []string) error {
	l.count++
	p.Type = "probe"
	if l.json {
		return writeJSON(l.w, p)
	}
	if _, err := fmt.Fprintln(l.w, p.Probe); err != nil {
		return err
	}
	for _, d := range details {
		if _, err := fmt.Fprintln(l.w, "    "+d); err != nil {
			return err
		}
	}
	return nil
}

func newListCommand(g *globalOptions) *cobra.Command {
	var verbose bool
	cmd := &cobra.Command{
		Use:   "list [SPEC]",
		Short: "List probes: tracepoints, raw tracepoints, kernel functions, uprobes, USDT (bpftrace -l)",
		Long: `list prints the probes SPEC names, one per line, as bpftrace -l does. SPEC is
KIND:PATTERN with shell globs (*, ?, [...]):

  tracepoint:CATEGORY:EVENT       tracepoint:sched:*      (alias t:)
  rawtracepoint:EVENT             rawtracepoint:sched_*   (alias rt:)
  kprobe:FUNCTION                 kprobe:vfs_*            (alias k:; from available_filter_functions)
  uprobe:PATH_OR_LIB:FUNCTION     uprobe:c:malloc*        (alias u:)
  usdt:PATH_OR_PID:[PROVIDER:]NAME usdt:/usr/bin/python3:*  (alias U:)

A bare PATTERN (no KIND) searches tracepoints ("CATEGORY:EVENT" or the event
name), raw tracepoints and kernel functions. No SPEC lists all of those.
With -v, a tracepoint's fields are printed as the program sees them in args
(libbcc's view: "__data_loc char[] filename" is "int data_loc_filename"), and a
USDT probe's arguments. Kernel functions are listed even where kprobes cannot
attach (this kernel has no kprobes); list says so on standard error.

` + exitCodesHelp,
		Example: `  gobcc list 'tracepoint:sched:*'
  gobcc list -v tracepoint:sched:sched_process_exec
  gobcc list 'uprobe:/usr/lib/x86_64-linux-gnu/libc.so.6:malloc*'
  gobcc list 'usdt:1234:*'
  gobcc list -o json 'sched_process_*'`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			spec := ""
			if len(args) == 1 {
				spec = args[0]
			}
			l := &probeLister{w: cmd.OutOrStdout(), json: g.json(), verbose: verbose}
			return listProbes(l, cmd.ErrOrStderr(), spec)
		},
	}
	cmd.Flags().BoolVarP(&verbose, "verbose", "v", false, "print tracepoint fields and USDT arguments")
	return cmd
}

func listProbes(l *probeLister, stderr io.Writer, spec string) error {
	kindName, rest, hasKind := strings.Cut(spec, ":")
	kind, known := probeKinds[kindName]
	if !hasKind || !known {
		return listBare(l, stderr, spec)
	}
	switch kind {
	case "tracepoint":
		return listTracepoints(l, rest)
	case "rawtracepoint":
		return listRawTracepoints(l, rest)
	case "kprobe":
		return listKprobes(l, stderr, rest)
	case "uprobe":
		bin, glob, _ := strings.Cut(rest, ":")
		if bin == "" {
			return usageErrorf("uprobe: want uprobe:PATH_OR_LIB:PATTERN")
		}
		return listUprobes(l, bin, glob)
	default: // usdt
		target, glob, _ := strings.Cut(rest, ":")
		if target == "" {
			return usageErrorf("usdt: want usdt:PATH_OR_PID:PATTERN")
		}
		return listUSDT(l, target, glob)
	}
}

func listBare(l *probeLister, stderr io.Writer, pattern string) error {
	if err := listTracepoints(l, pattern); err != nil {
		return err
	}
	if strings.Contains(pattern, ":") {
		return nil // a CATEGORY:EVENT pattern names tracepoints only
	}
	if err := listRawTracepoints(l, pattern); err != nil {
		return err
	}
	if err := listKprobes(l, stderr, pattern); err != nil {
		if !errors.Is(err, bcc.ErrNotSupported) {
			return err
		}
		fmt.Fprintf(stderr, "gobcc: note: no kernel functions listed: %v\n", err)
	}
	return nil
}

func listTracepoints(l *probeLister, pattern string) error {
	tps, err := bcc.ListTracepoints(pattern)
	if err != nil {
		return patternError(err)
	}
	for _, tp := range tps {
		p := jsonProbe{Kind: "tracepoint", Probe: "tracepoint:" + tp}
		var details []string
		if l.verbose {
			fields, err := bcc.TracepointFields(tp)
			if err != nil {
				return err
			}
			for _, f := range fields {
				p.Fields = append(p.Fields, jsonField{Type: f.Type, Name: f.Name, Offset: f.Offset, Size: f.Size, Signed: f.Signed})
				details = append(details, f.String())
			}
		}
		if err := l.emit(p, details); err != nil {
			return err
		}
	}
	return nil
}

func listRawTracepoints(l *probeLister, pattern string) error {
	names, err := bcc.ListRawTracepoints(pattern)
	if err != nil {
		return patternError(err)
	}
	for _, n := range names {
		if err := l.emit(jsonProbe{Kind: "rawtracepoint", Probe: "rawtracepoint:" + n}, nil); err != nil {
			return err
		}
	}
	return nil
}

func listKprobes(l *probeLister, stderr io.Writer, pattern string) error {
	fns, err := bcc.ListKernelFunctions(pattern)
	kprobeErr := bcc.KprobesSupported()
	if err != nil {
		if kprobeErr != nil {
			// Here: no kprobes, and lockdown hides available_filter_functions.
			return fmt.Errorf("kprobe: %w (and the kernel's function list is unreadable: %v)", kprobeErr, err)
		}
		return patternError(err)
	}
	if len(fns) > 0 && kprobeErr != nil {
		fmt.Fprintf(stderr, "gobcc: note: these kernel functions cannot be probed here: %v\n", kprobeErr)
	}
	for _, fn := range fns {
		if err := l.emit(jsonProbe{Kind: "kprobe", Probe: "kprobe:" + fn}, nil); err != nil {
			return err
		}
	}
	return nil
}

func listUprobes(l *probeLister, bin, pattern string) error {
	path, fns, err := bcc.ListUserFunctions(bin, pattern)
	if err != nil {
		return patternError(err)
	}
	for _, fn := range fns {
		if err := l.emit(jsonProbe{Kind: "uprobe", Probe: "uprobe:" + path + ":" + fn}, nil); err != nil {
			return err
		}
	}
	return nil
}

func listUSDT(l *probeLister, target, pattern string) error {
	if pattern == "" {
		pattern = "*"
	}
	u := usdt.ForPath(target)
	if pid, err := strconv.Atoi(target); err == nil && pid > 0 {
		u = usdt.ForPID(pid)
	}
	probes, err := u.Probes()
	if err != nil {
		return err
	}
	for _, p := range probes {
		name := p.Name
		if strings.Contains(pattern, ":") {
			name = p.Provider + ":" + p.Name
		}
		ok, err := matchPattern(pattern, name)
		if err != nil {
			return err
		}
		if !ok {
			continue
		}
		jp := jsonProbe{Kind: "usdt", Probe: "usdt:" + p.BinPath + ":" + p.Provider + ":" + p.Name}
		var details []string
		if l.verbose && len(p.Locations) > 0 {
			for i, a := range p.Locations[0].Arguments {
				jp.Arguments = append(jp.Arguments, a.String())
				details = append(details, fmt.Sprintf("arg%d: %s", i, a))
			}
		}
		if err := l.emit(jp, details); err != nil {
			return err
		}
	}
	return nil
}

// matchPattern is bcc's glob matching: a bad pattern is a usage error.
func matchPattern(pattern, s string) (bool, error) {
	ok, err := pathMatch(pattern, s)
	if err != nil {
		return false, usageErrorf("pattern %q: %w", pattern, err)
	}
	return ok, nil
}

// patternError turns a malformed glob into a usage error.
func patternError(err error) error {
	if strings.Contains(err.Error(), "syntax error in pattern") {
		return usageErrorf("%w", err)
	}
	return err
}

func pathMatch(pattern, s string) (bool, error) { return path.Match(pattern, s) }
