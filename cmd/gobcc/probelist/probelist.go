// Package probelist lists the probes a program can attach to, as gobcc
// list (and bpftrace -l) prints them: tracepoints with their fields, raw
// tracepoints, kernel functions, a binary's functions and its USDT probes,
// selected by KIND:PATTERN globs.
package probelist

import (
	"errors"
	"fmt"
	"io"
	"path"
	"strconv"
	"strings"

	"github.com/gobcc/gobcc/bcc"
	"github.com/gobcc/gobcc/bcc/usdt"
	"github.com/gobcc/gobcc/cmd/gobcc/cli"
	"github.com/gobcc/gobcc/features"
	"github.com/gobcc/gobcc/probes"
	"github.com/gobcc/gobcc/symbols"
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

// Lister prints probes as they are found.
type Lister struct {
	// W receives one probe a line, or JSON lines.
	W    io.Writer
	JSON bool
	// Verbose adds tracepoint fields and USDT arguments.
	Verbose bool
	count   int
}

// Count is how many probes the Lister printed.
func (l *Lister) Count() int { return l.count }

func (l *Lister) emit(p jsonProbe, details []string) error {
	l.count++
	p.Type = "probe"
	if l.JSON {
		return cli.WriteJSON(l.W, p)
	}
	if _, err := fmt.Fprintln(l.W, p.Probe); err != nil {
		return err
	}
	for _, d := range details {
		if _, err := fmt.Fprintln(l.W, "    "+d); err != nil {
			return err
		}
	}
	return nil
}

// List prints the probes spec names (KIND:PATTERN, or a bare PATTERN for
// tracepoints, raw tracepoints and kernel functions); notes on what
// cannot be probed here go to stderr. A malformed spec or glob is a usage
// error (cli.ErrUsage).
func (l *Lister) List(stderr io.Writer, spec string) error {
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
			return cli.UsageErrorf("uprobe: want uprobe:PATH_OR_LIB:PATTERN")
		}
		return listUprobes(l, bin, glob)
	default: // usdt
		target, glob, _ := strings.Cut(rest, ":")
		if target == "" {
			return cli.UsageErrorf("usdt: want usdt:PATH_OR_PID:PATTERN")
		}
		return listUSDT(l, target, glob)
	}
}

func listBare(l *Lister, stderr io.Writer, pattern string) error {
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

func listTracepoints(l *Lister, pattern string) error {
	tps, err := probes.ListTracepoints(pattern)
	if err != nil {
		return patternError(err)
	}
	for _, tp := range tps {
		p := jsonProbe{Kind: "tracepoint", Probe: "tracepoint:" + tp}
		var details []string
		if l.Verbose {
			fields, err := probes.TracepointFields(tp)
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

func listRawTracepoints(l *Lister, pattern string) error {
	names, err := probes.ListRawTracepoints(pattern)
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

func listKprobes(l *Lister, stderr io.Writer, pattern string) error {
	fns, err := probes.ListKernelFunctions(pattern)
	kprobeErr := features.KprobesSupported()
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

func listUprobes(l *Lister, bin, pattern string) error {
	path, fns, err := symbols.ListUserFunctions(bin, pattern)
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

func listUSDT(l *Lister, target, pattern string) error {
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
		if l.Verbose && len(p.Locations) > 0 {
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
		return false, cli.UsageErrorf("pattern %q: %w", pattern, err)
	}
	return ok, nil
}

// patternError turns a malformed glob into a usage error.
func patternError(err error) error {
	if strings.Contains(err.Error(), "syntax error in pattern") {
		return cli.UsageErrorf("%w", err)
	}
	return err
}

func pathMatch(pattern, s string) (bool, error) { return path.Match(pattern, s) }
