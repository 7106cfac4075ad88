// Package tooltest runs the ported BCC tools in their tests: it builds a
// tool and C workloads into the test's temporary directory, runs a tool
// while collecting its output, and finds BCC Python's original to compare
// against.
//
// Everything it starts is killed and reaped when the test ends
// (t.Cleanup), so a failing test leaves no process, probe or table behind.
package tooltest

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// StartTimeout bounds how long a tool may take to compile its program and
// print its header. It is a safeguard against a hung test, not a measure:
// compiles take 1-10 s on a busy machine.
const StartTimeout = 90 * time.Second

// goBinary finds the go command: $PATH, then the toolchain that built the
// test.
func goBinary() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	for _, p := range []string{"/usr/local/go/bin/go"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return "go"
}

// BuildTool builds the Go package in the current directory (the tool whose
// test is running) into the test's temporary directory and returns the
// binary's path.
func BuildTool(t testing.TB) string {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), filepath.Base(wd))
	cmd := exec.Command(goBinary(), "build", "-o", out, ".")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, b)
	}
	return out
}

// BuildC compiles a C program with gcc into the test's temporary directory
// and returns the binary's path. extra are gcc flags (libraries, -O0...).
func BuildC(t testing.TB, name, src string, extra ...string) string {
	t.Helper()
	if _, err := exec.LookPath("gcc"); err != nil {
		t.Skip("gcc not installed")
	}
	dir := t.TempDir()
	cfile := filepath.Join(dir, name+".c")
	if err := os.WriteFile(cfile, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, name)
	args := append([]string{"-g", "-fno-omit-frame-pointer", "-o", out, cfile}, extra...)
	if b, err := exec.Command("gcc", args...).CombinedOutput(); err != nil {
		t.Fatalf("gcc %s: %v\n%s", name, err, b)
	}
	return out
}

// Python returns the path of BCC Python's tool (/usr/sbin/NAME-bpfcc) and
// whether it is installed.
func Python(name string) (string, bool) {
	p := "/usr/sbin/" + name + "-bpfcc"
	_, err := os.Stat(p)
	return p, err == nil
}

// Proc is a running tool whose standard output is collected line by line.
type Proc struct {
	t    testing.TB
	name string
	cmd  *exec.Cmd

	mu     sync.Mutex
	lines  []string
	stderr bytes.Buffer
	cond   *sync.Cond
	done   bool
	err    error
	exited chan struct{}
}

// Start runs bin with args; its output is read until it exits. The test's
// cleanup kills it if it is still running.
func Start(t testing.TB, bin string, args ...string) *Proc {
	t.Helper()
	p := &Proc{t: t, name: filepath.Base(bin), exited: make(chan struct{})}
	p.cond = sync.NewCond(&p.mu)
	p.cmd = exec.Command(bin, args...)
	// BCC Python buffers stdout when it is a pipe; unbuffered, its header
	// arrives when printed, as on a terminal.
	p.cmd.Env = append(os.Environ(), "PYTHONUNBUFFERED=1")
	p.cmd.Stderr = &lockedWriter{mu: &p.mu, w: &p.stderr, cond: p.cond}
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stdout, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", bin, err)
	}
	go func() {
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			p.mu.Lock()
			p.lines = append(p.lines, sc.Text())
			p.cond.Broadcast()
			p.mu.Unlock()
		}
		err := p.cmd.Wait()
		p.mu.Lock()
		p.done, p.err = true, err
		p.cond.Broadcast()
		p.mu.Unlock()
		close(p.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-p.exited:
		default:
			_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
			<-p.exited
		}
	})
	return p
}

type lockedWriter struct {
	mu   *sync.Mutex
	w    *bytes.Buffer
	cond *sync.Cond
}

func (l *lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.cond != nil {
		l.cond.Broadcast()
	}
	return l.w.Write(b)
}

// WaitFor waits until a line of output contains substr (the tool's "Tracing
// ..." header, printed once its probes are attached). It fails the test if
// the tool exits first or StartTimeout passes.
func (p *Proc) WaitFor(substr string) {
	p.t.Helper()
	p.waitFor(substr, false)
}

// WaitForStderr is WaitFor for standard error, where tools whose standard
// output must stay machine-readable (folded stacks) say they are ready.
func (p *Proc) WaitForStderr(substr string) {
	p.t.Helper()
	p.waitFor(substr, true)
}

func (p *Proc) waitFor(substr string, stderr bool) {
	p.t.Helper()
	timer := time.AfterFunc(StartTimeout, func() {
		p.mu.Lock()
		p.cond.Broadcast()
		p.mu.Unlock()
	})
	defer timer.Stop()
	start := time.Now()
	p.mu.Lock()
	defer p.mu.Unlock()
	for {
		if stderr && strings.Contains(p.stderr.String(), substr) {
			return
		}
		for _, l := range p.lines {
			if !stderr && strings.Contains(l, substr) {
				return
			}
		}
		if p.done {
			p.t.Fatalf("%s exited (%v) before printing %q\nstdout:\n%s\nstderr:\n%s", p.name, p.err, substr, strings.Join(p.lines, "\n"), p.stderr.String())
		}
		if time.Since(start) >= StartTimeout {
			p.t.Fatalf("%s printed no %q within %v\nstdout:\n%s\nstderr:\n%s", p.name, substr, StartTimeout, strings.Join(p.lines, "\n"), p.stderr.String())
		}
		p.cond.Wait()
	}
}

// Interrupt sends SIGINT, as Ctrl-C would.
func (p *Proc) Interrupt() {
	_ = p.cmd.Process.Signal(os.Interrupt)
}

// Wait waits for the tool to exit (killing it after StartTimeout) and
// returns its standard output. A non-zero exit fails the test.
func (p *Proc) Wait() string {
	p.t.Helper()
	select {
	case <-p.exited:
	case <-time.After(StartTimeout):
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.exited
		p.t.Fatalf("%s did not exit; output:\n%s", p.name, p.Output())
	}
	p.mu.Lock()
	err := p.err
	p.mu.Unlock()
	if err != nil {
		p.t.Fatalf("%s: %v\nstdout:\n%s\nstderr:\n%s", p.name, err, p.Output(), p.Stderr())
	}
	return p.Output()
}

// Output is the standard output so far.
func (p *Proc) Output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.Join(p.lines, "\n") + "\n"
}

// Stderr is the standard error so far.
func (p *Proc) Stderr() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stderr.String()
}

// Workload is a C program started stopped at a gate: it reads one line from
// its standard input before doing its work, so that the tools tracing it
// can be started (and given its PID) first.
type Workload struct {
	Cmd   *exec.Cmd
	gate  *os.File
	lines chan string
	ended chan struct{}
	err   error
}

// StartWorkload starts bin with args, held at its gate.
func StartWorkload(t testing.TB, bin string, args ...string) *Workload {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	wl := &Workload{Cmd: exec.Command(bin, args...), gate: w, ended: make(chan struct{}), lines: make(chan string, 16)}
	wl.Cmd.Stdin = r
	wl.Cmd.Stderr = os.Stderr
	stdout, err := wl.Cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := wl.Cmd.Start(); err != nil {
		t.Fatal(err)
	}
	r.Close()
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			wl.lines <- sc.Text()
		}
		close(wl.lines)
	}()
	go func() {
		wl.err = wl.Cmd.Wait()
		close(wl.ended)
	}()
	t.Cleanup(func() {
		w.Close()
		select {
		case <-wl.ended:
		default:
			_ = wl.Cmd.Process.Kill()
			<-wl.ended
		}
	})
	return wl
}

// PID is the workload's process ID.
func (w *Workload) PID() int { return w.Cmd.Process.Pid }

// Step lets a workload that waits for a line at each step (instead of
// exiting when done) take its next step, and waits for the line it prints
// when the step is done. Such a workload stays alive for the tools to read
// its symbols; the test's cleanup ends it.
func (w *Workload) Step(t testing.TB) string {
	t.Helper()
	w.gate.Write([]byte("go\n"))
	select {
	case l, ok := <-w.lines:
		if !ok {
			<-w.ended
			t.Fatalf("workload exited: %v", w.err)
		}
		return l
	case <-time.After(StartTimeout):
		t.Fatal("workload did not finish its step")
	}
	return ""
}

// Open opens the gate and returns at once, for workloads that run until the
// test ends (the test's cleanup kills them).
func (w *Workload) Open() {
	w.gate.Write([]byte("go\n"))
	w.gate.Close()
}

// Release opens the gate and waits for the workload to exit; it returns the
// exit error (an *exec.ExitError for a non-zero code).
func (w *Workload) Release() error {
	w.gate.Write([]byte("go\n"))
	w.gate.Close()
	<-w.ended
	return w.err
}

// Counts parses rows of "NAME ... COUNT" into a map from the row's first
// field(s) (all fields but the last, joined by one space) to the last
// field as a number, for the lines that match re (nil: every line whose
// last field is an integer).
func Counts(out string, re *regexp.Regexp) map[string]int64 {
	m := map[string]int64{}
	for _, line := range strings.Split(out, "\n") {
		if re != nil && !re.MatchString(line) {
			continue
		}
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		n, err := strconv.ParseInt(f[len(f)-1], 10, 64)
		if err != nil {
			continue
		}
		m[strings.Join(f[:len(f)-1], " ")] += n
	}
	return m
}

// Within reports whether got is within tol (a fraction) of want.
func Within(got, want int64, tol float64) bool {
	d := float64(got - want)
	if d < 0 {
		d = -d
	}
	return d <= tol*float64(want)+0.5
}

// Describe formats a map for failure messages.
func Describe(m map[string]int64) string {
	var b strings.Builder
	for k, v := range m {
		fmt.Fprintf(&b, "  %q: %d\n", k, v)
	}
	return b.String()
}

var histRow = regexp.MustCompile(`^\s*(\d+) -> (\d+)\s*: (\d+)\s+\|`)

// HistTotal adds up the counts of every log2 histogram row ("a -> b : n
// |***|") in out.
func HistTotal(out string) int64 {
	var total int64
	for _, line := range strings.Split(out, "\n") {
		if m := histRow.FindStringSubmatch(line); m != nil {
			n, _ := strconv.ParseInt(m[3], 10, 64)
			total += n
		}
	}
	return total
}
