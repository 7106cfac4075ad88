package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/gobcc/gobcc/exporter"
)

type exportOptions struct {
	configs   []string
	configDir string
	listen    string
	keepGoing bool
}

func newExportCommand(g *globalOptions) *cobra.Command {
	o := &exportOptions{}
	cmd := &cobra.Command{
		Use:   "export [PROG.c --config PROG.yaml]... | --config-dir DIR",
		Short: "Serve programs' tables to Prometheus (/metrics, /healthz)",
		Long: `export compiles each PROG.c, checks its YAML configuration against the
program's tables (before attaching anything), attaches it as run does, and
serves the configured metrics on --listen: /metrics for Prometheus, /healthz
for probes. Tables are read with batch lookups when Prometheus scrapes;
counters of BPF_PERF_OUTPUT and ring buffer tables count events as they come.

Give programs as PROG.c arguments with one --config each, in the same order,
or --config-dir DIR holding NAME.c and NAME.yaml pairs. The configuration
reference is docs/exporter.md.

On SIGTERM or Ctrl-C the server stops and every program is detached.

` + exitCodesHelp,
		Example: `  gobcc export examples/exporter/kmalloc_callers.c --config examples/exporter/kmalloc_callers.yaml
  gobcc export a.c --config a.yaml b.c --config b.yaml --listen :9435
  gobcc export --config-dir /etc/gobcc/exporter`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runExport(cmd, g, o, args)
		},
	}
	f := cmd.Flags()
	f.StringArrayVar(&o.configs, "config", nil, "the YAML configuration of the program in the same position (repeatable)")
	f.StringVar(&o.configDir, "config-dir", "", "a directory of NAME.c programs with their NAME.yaml configurations")
	f.StringVar(&o.listen, "listen", "127.0.0.1:9435", "address to serve /metrics and /healthz on")
	f.BoolVar(&o.keepGoing, "keep-going", false, "export the programs that work when others fail to compile or attach (counted in gobcc_exporter_compile_errors_total)")
	return cmd
}

// exportPair is a program with its configuration file.
type exportPair struct{ prog, config string }

func exportPairs(o *exportOptions, args []string) ([]exportPair, error) {
	var pairs []exportPair
	if len(args) != len(o.configs) {
		return nil, usageErrorf("%d programs but %d --config files: give one --config per program", len(args), len(o.configs))
	}
	for i, a := range args {
		pairs = append(pairs, exportPair{a, o.configs[i]})
	}
	if o.configDir != "" {
		matches, err := filepath.Glob(filepath.Join(o.configDir, "*.yaml"))
		if err != nil {
			return nil, usageErrorf("--config-dir: %w", err)
		}
		sort.Strings(matches)
		for _, m := range matches {
			prog := strings.TrimSuffix(m, ".yaml") + ".c"
			if _, err := os.Stat(prog); err != nil {
				return nil, usageErrorf("--config-dir: %s has no program: %w", m, err)
			}
			pairs = append(pairs, exportPair{prog, m})
		}
		if len(matches) == 0 {
			return nil, usageErrorf("--config-dir %s holds no NAME.yaml", o.configDir)
		}
	}
	if len(pairs) == 0 {
		return nil, usageErrorf("nothing to export: give PROG.c --config PROG.yaml, or --config-dir")
	}
	return pairs, nil
}

func runExport(cmd *cobra.Command, g *globalOptions, o *exportOptions, args []string) error {
	pairs, err := exportPairs(o, args)
	if err != nil {
		return err
	}
	flags, err := g.compilerFlags()
	if err != nil {
		return err
	}
	// Every configuration is read before any program compiles: a typo in
	// the last file should not cost the compile time of the others.
	configs := make([]*exporter.Config, len(pairs))
	for i, p := range pairs {
		if configs[i], err = exporter.LoadConfig(p.config); err != nil {
			return fmt.Errorf("%w: %w", errUsage, err)
		}
	}
	ln, err := net.Listen("tcp", o.listen)
	if err != nil {
		return fmt.Errorf("--listen: %w", err)
	}
	defer ln.Close()
	ctx, stop := signalContext(context.Background())
	defer stop()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	e := exporter.New(exporter.Options{
		Compile: exporter.CompileOptions{CFlags: flags, InProcess: g.noIsolate},
		Logger:  log,
	})
	defer e.Close()
	for i, p := range pairs {
		name := strings.TrimSuffix(filepath.Base(p.prog), ".c")
		if err := e.AddProgram(name, p.prog, configs[i]); err != nil {
			if errors.Is(err, exporter.ErrConfig) {
				err = fmt.Errorf("%w: %w", errUsage, err)
			}
			if !o.keepGoing {
				return errors.Join(err, e.Close())
			}
			fmt.Fprintf(os.Stderr, "gobcc: %s\n", describeError(err, false))
			continue
		}
		if ctx.Err() != nil {
			return e.Close()
		}
	}
	if len(e.Programs()) == 0 {
		return errors.Join(fmt.Errorf("no program could be exported"), e.Close())
	}
	fmt.Fprintf(os.Stderr, "gobcc: exporting %s on http://%s/metrics\n", strings.Join(e.Programs(), ", "), ln.Addr())
	serveErr := e.Serve(ctx, ln)
	return errors.Join(serveErr, e.Close())
}
