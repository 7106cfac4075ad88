// Command gobcc-vm runs commands and Go test binaries in a QEMU guest that
// boots one of Debian's kernel packages, with the host's file system visible
// read-only (under a writable tmpfs overlay). It lets gobcc's tests run on a
// kernel other than the host's, e.g. one with kprobes.
//
// Usage:
//
//	gobcc-vm run  [flags] -- CMD [ARGS...]
//	gobcc-vm test [flags] [PACKAGES...] [-- TEST FLAGS...]
//
// run executes CMD in the guest, in the current directory, and exits with
// its status. test builds each package's test binary on the host with
// `go test -c`, runs them one after the other in the guest, each from its
// package directory, and exits non-zero when one fails. Test flags may be
// given as go test spells them (-run, -v, -short, -count, -timeout, ...):
// they are passed to the binaries as -test.run and so on.
//
// --kernel may be repeated: the command then runs once on each kernel. The
// default is the kernel package Debian's linux-image-amd64 depends on.
// Environment variables named GOBCC_* are passed to the guest.
package main

import (
	"bufio"
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/gobcc/gobcc/internal/vm"
)

func main() {
	os.Exit(run(os.Args[1:]))
}

// listFlag is a flag that may be repeated.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

type options struct {
	kernels  listFlag
	env      listFlag
	cacheDir string
	timeout  time.Duration
	cpus     int
	memMB    int
	dir      string
}

func usage() {
	fmt.Fprint(os.Stderr, `usage:
  gobcc-vm run  [flags] -- CMD [ARGS...]
  gobcc-vm test [flags] [PACKAGES...] [-- TEST FLAGS...]
flags:
`)
}

func run(args []string) int {
	if len(args) == 0 || (args[0] != "run" && args[0] != "test") {
		usage()
		return 2
	}
	mode := args[0]
	fs := flag.NewFlagSet("gobcc-vm "+mode, flag.ContinueOnError)
	var o options
	fs.Var(&o.kernels, "kernel", "kernel package to boot, e.g. linux-image-6.1.0-57-amd64 (repeatable; default: the one linux-image-amd64 depends on)")
	fs.Var(&o.env, "env", "KEY=VALUE for the guest command (repeatable)")
	fs.StringVar(&o.cacheDir, "cache", vm.DefaultCacheDir, "directory for downloaded and unpacked kernel packages")
	fs.DurationVar(&o.timeout, "timeout", 30*time.Minute, "limit for each guest run, boot included")
	fs.IntVar(&o.cpus, "cpus", 1, "guest CPUs (TCG guests with 2 have soft-locked; see docs/testing.md)")
	fs.IntVar(&o.memMB, "mem", 1536, "guest memory in MiB")
	fs.StringVar(&o.dir, "dir", "", "guest directory for run (default: the current directory)")
	fs.Usage = func() { usage(); fs.PrintDefaults() }
	// Everything after the first "--" is the command or the test flags.
	before, after := args[1:], []string(nil)
	if i := indexOf(before, "--"); i >= 0 {
		before, after = before[:i], before[i+1:]
	}
	if err := fs.Parse(before); err != nil {
		return 2
	}
	positional := fs.Args()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	if len(o.kernels) == 0 {
		pkg, err := vm.DefaultKernelPackage(ctx)
		if err != nil {
			fmt.Fprintln(os.Stderr, "gobcc-vm:", err)
			return 1
		}
		o.kernels = listFlag{pkg}
	}
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "GOBCC_") {
			o.env = append(listFlag{kv}, o.env...)
		}
	}

	status := 0
	for _, pkg := range o.kernels {
		var rc int
		var err error
		switch mode {
		case "run":
			if len(positional) > 0 || len(after) == 0 {
				fmt.Fprintln(os.Stderr, "gobcc-vm run: the command goes after --")
				return 2
			}
			rc, err = runCommand(ctx, o, pkg, after)
		case "test":
			rc, err = runTests(ctx, o, pkg, positional, after)
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "gobcc-vm: %s: %v\n", pkg, err)
			if ctx.Err() != nil {
				return 1
			}
			status = 1
			continue
		}
		fmt.Fprintf(os.Stderr, "gobcc-vm: %s: exit status %d\n", pkg, rc)
		if rc != 0 && status == 0 {
			status = rc
		}
	}
	return status
}

func indexOf(s []string, v string) int {
	for i, x := range s {
		if x == v {
			return i
		}
	}
	return -1
}

func config(ctx context.Context, o options, pkg string) (vm.Config, error) {
	fmt.Fprintf(os.Stderr, "gobcc-vm: kernel package %s (cache %s)\n", pkg, o.cacheDir)
	k, err := vm.FetchKernel(ctx, o.cacheDir, pkg)
	if err != nil {
		return vm.Config{}, err
	}
	return vm.Config{
		Kernel: k, CPUs: o.cpus, MemoryMB: o.memMB, Timeout: o.timeout,
		Env: o.env, Stdout: os.Stdout,
	}, nil
}

func runCommand(ctx context.Context, o options, pkg string, argv []string) (int, error) {
	cfg, err := config(ctx, o, pkg)
	if err != nil {
		return -1, err
	}
	cfg.Dir = o.dir
	if cfg.Dir == "" {
		if cfg.Dir, err = os.Getwd(); err != nil {
			return -1, err
		}
	}
	return vm.Run(ctx, cfg, vm.Command{Args: argv})
}

// testPackage is a package with tests, as go list describes it.
type testPackage struct {
	importPath, dir, binary string
}

func runTests(ctx context.Context, o options, pkg string, patterns, testFlags []string) (int, error) {
	if len(patterns) == 0 {
		patterns = []string{"./..."}
	}
	cfg, err := config(ctx, o, pkg)
	if err != nil {
		return -1, err
	}
	share, err := vm.MkdirTemp("tests")
	if err != nil {
		return -1, err
	}
	defer os.RemoveAll(share)
	pkgs, err := buildTests(ctx, share, patterns)
	if err != nil {
		return -1, err
	}
	if len(pkgs) == 0 {
		return -1, fmt.Errorf("no test files in %s", strings.Join(patterns, " "))
	}
	cfg.ShareDir = share
	return vm.Run(ctx, cfg, vm.Command{Script: testScript(pkgs, testBinaryFlags(testFlags))})
}

// buildTests compiles the test binary of every package matching patterns
// into dir, skipping packages without test files.
func buildTests(ctx context.Context, dir string, patterns []string) ([]testPackage, error) {
	list := exec.CommandContext(ctx, "go", append([]string{"list", "-f",
		"{{.ImportPath}}\t{{.Dir}}\t{{len .TestGoFiles}}\t{{len .XTestGoFiles}}"}, patterns...)...)
	list.Stderr = os.Stderr
	out, err := list.Output()
	if err != nil {
		return nil, fmt.Errorf("go list %s: %w", strings.Join(patterns, " "), err)
	}
	var pkgs []testPackage
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		f := strings.Split(sc.Text(), "\t")
		if len(f) != 4 || (f[2] == "0" && f[3] == "0") {
			continue
		}
		p := testPackage{importPath: f[0], dir: f[1],
			binary: fmt.Sprintf("%02d-%s.test", len(pkgs), filepath.Base(f[1]))}
		fmt.Fprintf(os.Stderr, "gobcc-vm: go test -c %s\n", p.importPath)
		build := exec.CommandContext(ctx, "go", "test", "-c", "-o", filepath.Join(dir, p.binary), p.importPath)
		build.Stdout, build.Stderr = os.Stderr, os.Stderr
		if err := build.Run(); err != nil {
			return nil, fmt.Errorf("go test -c %s: %w", p.importPath, err)
		}
		pkgs = append(pkgs, p)
	}
	return pkgs, nil
}

// goTestFlags are the go test flags that test binaries take as -test.NAME.
var goTestFlags = map[string]bool{
	"bench": true, "benchmem": true, "benchtime": true, "count": true, "cpu": true,
	"failfast": true, "list": true, "parallel": true, "run": true, "short": true,
	"shuffle": true, "skip": true, "timeout": true, "v": true, "fullpath": true,
}

// testBinaryFlags rewrites -run, -v, ... as -test.run, -test.v, ...
func testBinaryFlags(flags []string) []string {
	out := make([]string, len(flags))
	for i, f := range flags {
		out[i] = f
		if name, ok := strings.CutPrefix(f, "-"); ok {
			name = strings.TrimPrefix(name, "-")
			base, _, _ := strings.Cut(name, "=")
			if goTestFlags[base] {
				out[i] = "-test." + name
			}
		}
	}
	return out
}

// testScript runs every test binary from its package directory, prints a
// go-test-like summary line for each, and exits 1 when one failed.
func testScript(pkgs []testPackage, flags []string) string {
	var b strings.Builder
	b.WriteString("failed=0\necho \"gobcc-vm: uname -r: $(uname -r)\"\n")
	quoted := make([]string, len(flags))
	for i, f := range flags {
		quoted[i] = shellQuote(f)
	}
	for _, p := range pkgs {
		fmt.Fprintf(&b, `cd %s || exit 125
start=$(cut -d' ' -f1 /proc/uptime)
%s/%s %s
rc=$?
end=$(cut -d' ' -f1 /proc/uptime)
if [ $rc -eq 0 ]; then echo "ok   %s ($start-${end}s uptime)"; else echo "FAIL %s (exit $rc)"; failed=1; fi
`, shellQuote(p.dir), vm.GuestShareDir, p.binary, strings.Join(quoted, " "), p.importPath, p.importPath)
	}
	b.WriteString("exit $failed\n")
	return b.String()
}

func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-./=:,+@") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
