package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gobcc/gobcc/symbols"
)

// getppidScript is the event tests' child: it calls getppid N times
// (pinned to CPU C unless C < 0), prints "done", and exits when its standard
// input closes, so that its address space is there while gobcc resolves its
// symbols. Python calls libc's getppid, a symbol --usym can name (go test
// strips its binaries' symbols).
const getppidScript = `
import os, sys
n, cpu = int(sys.argv[1]), int(sys.argv[2])
if cpu >= 0:
    os.sched_setaffinity(0, {cpu})
for _ in range(n):
    os.getppid()
print("done", flush=True)
sys.stdin.read()
`

// pythonPath is the Python BCC's packages install with, on every machine
// gobcc's tests run on.
const pythonPath = "/usr/bin/python3"

// getppidChild is a running child that has made its calls.
type getppidChild struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
}

// startGetppidChild runs the child and waits until it has made n calls.
// cpu < 0 leaves it unpinned.
func startGetppidChild(t *testing.T, n, cpu int) *getppidChild {
	t.Helper()
	cmd := exec.Command(pythonPath, "-c", getppidScript, strconv.Itoa(n), strconv.Itoa(cpu))
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, _ := bufio.NewReader(stdout).ReadString('\n')
	if line != "done\n" {
		stdin.Close()
		cmd.Wait()
		t.Fatalf("getppid child: want \"done\", got %q", line)
	}
	return &getppidChild{cmd: cmd, stdin: stdin}
}

func (c *getppidChild) pid() int { return c.cmd.Process.Pid }

func (c *getppidChild) stop() {
	c.stdin.Close()
	c.cmd.Wait()
}

// childComm is the child's comm.
func childComm() string { return filepath.Base(pythonPath) }

// gobccRun is a running "gobcc run".
type gobccRun struct {
	cmd    *exec.Cmd
	stdout io.ReadCloser
	stderr *lockedBuffer
}

type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// startRun starts gobcc run with args and waits until it has attached (its
// "attached" line on standard error). Its standard output is left to the
// caller to read.
func startRun(t *testing.T, args ...string) *gobccRun {
	t.Helper()
	cmd := exec.Command(gobccBinary, append([]string{"run"}, args...)...)
	cmd.Dir = repoRoot
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderrPipe, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	r := &gobccRun{cmd: cmd, stdout: stdout, stderr: &lockedBuffer{}}
	sc := bufio.NewScanner(stderrPipe)
	attached := false
	for sc.Scan() {
		fmt.Fprintln(r.stderr, sc.Text())
		if strings.Contains(sc.Text(), " attached; ") {
			attached = true
			break
		}
	}
	go io.Copy(r.stderr, stderrPipe)
	if !attached {
		out, _ := io.ReadAll(stdout)
		cmd.Wait()
		t.Fatalf("gobcc run %v did not attach:\nstdout:\n%s\nstderr:\n%s", args, out, r.stderr)
	}
	return r
}

// interrupt sends SIGINT and returns the rest of standard output once gobcc
// has exited 0.
func (r *gobccRun) interrupt(t *testing.T) string {
	t.Helper()
	if err := r.cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	out, _ := io.ReadAll(r.stdout)
	if err := r.cmd.Wait(); err != nil {
		t.Fatalf("gobcc run after SIGINT: %v\nstdout:\n%s\nstderr:\n%s", err, out, r.stderr)
	}
	return string(out)
}

// runWithChild runs gobcc run with args while a child makes n getppid
// calls, and returns gobcc's output and the child's pid. gobcc is stopped
// with SIGINT after the calls, so every event is in its buffers: the final
// read prints them.
func runWithChild(t *testing.T, n int, args ...string) (string, int) {
	t.Helper()
	requireRoot(t)
	r := startRun(t, args...)
	defer r.cmd.Process.Kill()
	var out []byte
	done := make(chan struct{})
	go func() {
		out, _ = io.ReadAll(r.stdout)
		close(done)
	}()
	child := startGetppidChild(t, n, -1)
	defer child.stop()
	if err := r.cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	<-done
	if err := r.cmd.Wait(); err != nil {
		t.Fatalf("gobcc run after SIGINT: %v\nstdout:\n%s\nstderr:\n%s", err, out, r.stderr)
	}
	return string(out), child.pid()
}

// kernelAddress is the address of a kernel function.
func kernelAddress(t *testing.T, name string) uint64 {
	t.Helper()
	requireRoot(t)
	syms, err := symbols.LoadKernel()
	if err != nil {
		t.Fatalf("kernel symbols: %v", err)
	}
	addr, err := syms.KsymName(name)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return addr
}

var kvPair = regexp.MustCompile(`(\w+)=("(?:[^"\\]|\\.)*"|\S*)`)

// parseKV reads a name=value event line.
func parseKV(line string) map[string]string {
	m := map[string]string{}
	for _, p := range kvPair.FindAllStringSubmatch(line, -1) {
		v := p[2]
		if uq, err := strconv.Unquote(v); err == nil {
			v = uq
		}
		m[p[1]] = v
	}
	return m
}

// checkCounts checks that counts are 1..n, each once.
func checkCounts(t *testing.T, counts []int, n int, out string) {
	t.Helper()
	if len(counts) != n {
		t.Fatalf("%d events of the child, want %d:\n%s", len(counts), n, out)
	}
	for i, c := range counts {
		if c != i+1 {
			t.Fatalf("event %d of the child has count %d, want %d (counts %v)", i, c, i+1, counts)
		}
	}
}

func TestRunPerfEventsText(t *testing.T) {
	const calls = 7
	out, pid := runWithChild(t, calls, "--interval", "1h", "-D", fmt.Sprintf("KADDR=0x%x", kernelAddress(t, "vfs_read")),
		"--ksym=events.addr", "--usym", "uaddr", "testdata/cli_events_perf.c")
	var counts []int
	for _, line := range strings.Split(out, "\n") {
		if !strings.HasPrefix(line, "pid=") {
			continue
		}
		ev := parseKV(line)
		if ev["pid"] != strconv.Itoa(pid) {
			continue
		}
		if ev["comm"] != childComm() {
			t.Errorf("comm %q, want %q: %s", ev["comm"], childComm(), line)
		}
		if ev["addr"] != "vfs_read" {
			t.Errorf("--ksym=events.addr: addr=%q, want vfs_read: %s", ev["addr"], line)
		}
		if u := ev["uaddr"]; u != "getppid" {
			t.Errorf("--usym uaddr: %q, want libc's getppid: %s", u, line)
		}
		c, err := strconv.Atoi(ev["count"])
		if err != nil {
			t.Fatalf("count in %q: %v", line, err)
		}
		counts = append(counts, c)
	}
	checkCounts(t, counts, calls, out)
	// The program's hash still prints as a table, the child's calls
	// counted.
	if !regexp.MustCompile(fmt.Sprintf(`(?m)^%d +%d$`, pid, calls)).MatchString(out) {
		t.Errorf("no \"%d %d\" line in the calls table:\n%s", pid, calls, out)
	}
	if strings.Contains(out, "lost ") {
		t.Errorf("lost events reported with nothing lost:\n%s", out)
	}
}

func TestRunPerfEventsJSON(t *testing.T) {
	const calls = 5
	// --ksym alone names the u64 fields holding kernel addresses: addr
	// (vfs_read's), not count or the user address uaddr.
	out, pid := runWithChild(t, calls, "-o", "json", "--interval", "1h", "-D", fmt.Sprintf("KADDR=0x%x", kernelAddress(t, "vfs_read")),
		"--ksym", "--usym", "uaddr", "testdata/cli_events_perf.c")
	var counts []int
	tables := 0
	for _, o := range jsonLines(t, out) {
		switch o["type"] {
		case "table":
			tables++
			continue
		case "event":
		default:
			t.Fatalf("unexpected object %v", o)
		}
		if o["table"] != "events" {
			t.Errorf("event of table %v, want events", o["table"])
		}
		if _, ok := o["cpu"].(float64); !ok {
			t.Errorf("perf event without its cpu: %v", o)
		}
		f, ok := o["fields"].(map[string]any)
		if !ok {
			t.Fatalf("event without fields: %v", o)
		}
		if f["pid"] != float64(pid) {
			continue
		}
		if f["comm"] != childComm() {
			t.Errorf("comm %v, want %q", f["comm"], childComm())
		}
		usym, _ := o["usym"].(map[string]any)
		if s, _ := usym["uaddr"].(string); s != "getppid" {
			t.Errorf("usym of uaddr %v in %v", usym["uaddr"], o)
		}
		if ksym, _ := o["ksym"].(map[string]any); len(ksym) != 1 || ksym["addr"] != "vfs_read" {
			t.Errorf("ksym %v, want {addr: vfs_read} alone", o["ksym"])
		}
		counts = append(counts, int(f["count"].(float64)))
	}
	checkCounts(t, counts, calls, out)
	if tables != 1 {
		t.Errorf("%d table objects, want the final print of calls", tables)
	}
}

func TestRunRingEventsColumns(t *testing.T) {
	const calls = 6
	out, pid := runWithChild(t, calls, "--interval", "1h", "--columns", "pid,comm,count", "testdata/cli_events_ring.c")
	lines := strings.Split(out, "\n")
	if lines[0] != "PID     COMM             COUNT" {
		t.Fatalf("heading %q, want BCC's layout \"PID     COMM             COUNT\"\n%s", lines[0], out)
	}
	commCol := strings.Index(lines[0], "COMM")
	countCol := strings.Index(lines[0], "COUNT")
	var counts []int
	for _, line := range lines[1:] {
		if strings.Contains(line, " calls (hash, ") {
			break // the table's final print follows the events
		}
		if !strings.HasPrefix(line, strconv.Itoa(pid)+" ") {
			continue
		}
		if len(line) <= countCol || line[commCol:commCol+len(childComm())] != childComm() {
			t.Fatalf("row %q: comm not under COMM", line)
		}
		c, err := strconv.Atoi(line[countCol:])
		if err != nil {
			t.Fatalf("row %q: count not under COUNT: %v", line, err)
		}
		counts = append(counts, c)
	}
	checkCounts(t, counts, calls, out)
	if strings.Contains(out, "lost ") {
		t.Errorf("lost events reported for a ring buffer:\n%s", out)
	}
}

func TestRunRingEventsFormat(t *testing.T) {
	const calls = 4
	out, pid := runWithChild(t, calls, "--interval", "1h", "--format", "{comm}|{pid:8}|{count:-3}|{{x}}", "testdata/cli_events_ring.c")
	want := regexp.MustCompile(fmt.Sprintf(`^%s\| *%d\|(\d+) *\|\{x\}$`, regexp.QuoteMeta(childComm()), pid))
	var counts []int
	for _, line := range strings.Split(out, "\n") {
		m := want.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		if len(line) != len(childComm())+1+8+1+3+4 {
			t.Errorf("line %q: widths 8 and 3 not kept", line)
		}
		c, _ := strconv.Atoi(m[1])
		counts = append(counts, c)
	}
	checkCounts(t, counts, calls, out)
}

// TestRunPerfEventsLost fills one-page perf rings while gobcc cannot write
// (its standard output is a pipe nobody reads), so the kernel drops
// records, and checks that gobcc reports them.
func TestRunPerfEventsLost(t *testing.T) {
	requireRoot(t)
	r := startRun(t, "--interval", "1h", "--page-count", "1", "testdata/cli_events_perf.c")
	defer r.cmd.Process.Kill()
	const calls = 50000
	child := startGetppidChild(t, calls, -1)
	defer child.stop()
	var out lockedBuffer
	done := make(chan struct{})
	go func() {
		io.Copy(&out, r.stdout)
		close(done)
	}()
	// The kernel writes a ring's lost record before the next record it
	// can store there: once a record made on each CPU after the drain has
	// been printed, every loss has been reported.
	for cpu := 0; cpu < runtime.NumCPU(); cpu++ {
		printed := false
		for try := 0; try < 100 && !printed; try++ {
			trigger := startGetppidChild(t, 1, cpu)
			trigger.stop()
			prefix := fmt.Sprintf("pid=%d ", trigger.pid())
			for wait := 0; wait < 50 && !printed; wait++ {
				printed = strings.Contains(out.String(), prefix)
				if !printed {
					time.Sleep(20 * time.Millisecond)
				}
			}
		}
		if !printed {
			t.Fatalf("no event of a getppid call on CPU %d printed after the drain:\n%s", cpu, r.stderr)
		}
	}
	if err := r.cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	<-done
	if err := r.cmd.Wait(); err != nil {
		t.Fatalf("gobcc run after SIGINT: %v\nstderr:\n%s", err, r.stderr)
	}
	lostLine := regexp.MustCompile(`(?m)^lost (\d+) events on events$`)
	var lost, received int
	for _, m := range lostLine.FindAllStringSubmatch(out.String(), -1) {
		n, _ := strconv.Atoi(m[1])
		lost += n
	}
	prefix := fmt.Sprintf("pid=%d ", child.pid())
	for _, line := range strings.Split(out.String(), "\n") {
		if strings.HasPrefix(line, prefix) {
			received++
		}
	}
	if lost == 0 {
		t.Fatalf("no \"lost N events on events\" line after %d records into 1-page rings read by a blocked writer (%d received)", calls, received)
	}
	if received+lost < calls {
		t.Errorf("%d received + %d lost < %d records made", received, lost, calls)
	}
}

func TestRunEventFlagErrors(t *testing.T) {
	requireRoot(t)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--columns", "pid,nosuch"}, `no event has a field "nosuch"`},
		{[]string{"--format", "{pid"}, "unclosed {"},
		{[]string{"--format", "{pid}", "--columns", "pid"}, "use one"},
		{[]string{"--usym", "comm", "--pid-field", "nosuch"}, "no integer pid field"},
		{[]string{"--ksym=nosuch.addr"}, "not a perf or ring buffer table"},
		{[]string{"--page-count", "3"}, "power of two"},
	} {
		r := gobcc(t, "", append(append([]string{"run", "--duration", "1s"}, tc.args...), "testdata/cli_events_perf.c")...)
		if r.code != exitUsage || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("gobcc run %v: status %d, stderr %q; want %d and %q", tc.args, r.code, r.stderr, exitUsage, tc.want)
		}
	}
	r := gobcc(t, "", "run", "--columns", "pid", "--duration", "1s", "testdata/cli_good.c")
	if r.code != exitUsage || !strings.Contains(r.stderr, "no perf or ring buffer table") {
		t.Errorf("--columns on a program without events: status %d, stderr %q", r.code, r.stderr)
	}
}
