package parity_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/gobcc/gobcc/internal/testutil"
)

// pyOutput is what run_bcc.py prints.
type pyOutput struct {
	PID         int               `json:"pid"`
	Comm        string            `json:"comm"`
	Programs    []*pyProgram      `json:"programs"`
	Ksym        [][3]string       `json:"ksym"`
	KsymName    []json.Number     `json:"ksymname"`
	Sym         [][3]string       `json:"sym"`
	TraceFields []json.RawMessage `json:"trace_fields"`
	byName      map[string]*pyProgram
}

type pyProgram struct {
	Name               string               `json:"name"`
	Stage              string               `json:"stage"`
	Error              string               `json:"error"`
	Stderr             string               `json:"stderr"`
	Isolated           bool                 `json:"isolated"`
	ExitStatus         int                  `json:"exit_status"`
	Loaded             map[string]int       `json:"loaded"`
	Functions          []string             `json:"functions"`
	ProgFDs            int                  `json:"prog_fds"`
	NumOpenTracepoints int                  `json:"num_open_tracepoints"`
	NumOpenRawTP       int                  `json:"num_open_raw_tracepoints"`
	NumOpenUprobes     int                  `json:"num_open_uprobes"`
	NumOpenKprobes     int                  `json:"num_open_kprobes"`
	NumOpenPerfEvents  int                  `json:"num_open_perf_events"`
	NumPerfEventFDs    int                  `json:"num_perf_event_fds"`
	Tables             []*pyTable           `json:"tables"`
	Trace              []pyTraceLine        `json:"trace"`
	Records            map[string]pyRecords `json:"records"`
	LoadedExplicitJSON map[string]int       `json:"loaded_explicit"`
}

type pyTable struct {
	Name       string     `json:"name"`
	Type       int        `json:"type"`
	KeyDesc    string     `json:"key_desc"`
	LeafDesc   string     `json:"leaf_desc"`
	KeySize    int        `json:"key_size"`
	LeafSize   int        `json:"leaf_size"`
	MaxEntries int        `json:"max_entries"`
	Flags      int        `json:"flags"`
	Error      string     `json:"error"`
	Items      []pyItem   `json:"items"`
	Stacks     [][]string `json:"stacks"`
	Keys       []string   `json:"keys"`
	Popped     []any      `json:"popped"`
	PoppedHex  []string   `json:"popped_hex"`
	HistText   *string    `json:"hist_text"`
}

type pyItem struct {
	KeyHex    string   `json:"key_hex"`
	Key       any      `json:"key"`
	LeafHex   string   `json:"leaf_hex"`
	Leaf      any      `json:"leaf"`
	PerCPU    []any    `json:"percpu"`
	PerCPUHex []string `json:"percpu_hex"`
}

type pyTraceLine struct {
	Task  string  `json:"task"`
	PID   int     `json:"pid"`
	CPU   int     `json:"cpu"`
	Flags string  `json:"flags"`
	TS    float64 `json:"ts"`
	Msg   string  `json:"msg"`
}

// pyPlan is the input of run_bcc.py.
type pyPlan struct {
	Programs   []*program `json:"programs"`
	KsymAddrs  []uint64   `json:"ksym_addrs"`
	KsymNames  []string   `json:"ksym_names"`
	TraceLines []string   `json:"trace_lines"`
	SymPID     int        `json:"sym_pid,omitempty"`
	SymAddrs   []uint64   `json:"sym_addrs,omitempty"`
}

// pythonRun runs BCC Python over the whole plan once, in the background from
// TestMain, so that it compiles while the Go side compiles (2 cores).
type pythonRun struct {
	once sync.Once
	done chan struct{}
	out  *pyOutput
	err  error
	dur  time.Duration
}

var python = &pythonRun{done: make(chan struct{})}

func (r *pythonRun) start(plan *pyPlan) {
	r.once.Do(func() {
		go func() {
			defer close(r.done)
			start := time.Now()
			r.out, r.err = runPython(plan)
			r.dur = time.Since(start)
		}()
	})
}

// wait returns BCC Python's results once it has finished.
func (r *pythonRun) wait() (*pyOutput, error) {
	<-r.done
	return r.out, r.err
}

func runPython(plan *pyPlan) (*pyOutput, error) {
	f, err := os.CreateTemp("", "parity-plan-*.json")
	if err != nil {
		return nil, err
	}
	defer os.Remove(f.Name())
	if err := json.NewEncoder(f).Encode(plan); err != nil {
		f.Close()
		return nil, err
	}
	f.Close()
	script, err := filepath.Abs(filepath.Join(programDir, "run_bcc.py"))
	if err != nil {
		return nil, err
	}
	cmd := exec.Command("/usr/bin/python3", script, f.Name())
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("BCC Python runner: %w\n%s", err, lastLines(stderr.String(), 30))
	}
	dec := json.NewDecoder(&stdout)
	dec.UseNumber()
	var out pyOutput
	if err := dec.Decode(&out); err != nil {
		return nil, fmt.Errorf("BCC Python runner output: %w", err)
	}
	out.byName = map[string]*pyProgram{}
	for _, p := range out.Programs {
		out.byName[p.Name] = p
	}
	return &out, nil
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// opSize is the size of the i-th write or read, as run_bcc.py computes it.
func opSize(i int) int { return (i*131)%4000 + 1 }

// setupWorkloadFDs puts /dev/null at writeFD and /dev/zero at readFD, as
// run_bcc.py does, so that programs can filter on the descriptor.
func setupWorkloadFDs() error {
	for _, s := range []struct {
		path string
		flag int
		fd   int
	}{{"/dev/null", unix.O_WRONLY, writeFD}, {"/dev/zero", unix.O_RDONLY, readFD}} {
		fd, err := unix.Open(s.path, s.flag|unix.O_CLOEXEC, 0)
		if err != nil {
			return err
		}
		if err := unix.Dup3(fd, s.fd, unix.O_CLOEXEC); err != nil {
			return err
		}
		unix.Close(fd)
	}
	return nil
}

// runWorkload makes the same system calls as run_bcc.py's run_workload, from
// this process.
func runWorkload(ops []workloadOp) error {
	buf := make([]byte, 4001)
	for _, op := range ops {
		switch op.Op {
		case "getpid":
			for range op.N {
				syscall.Getpid()
			}
		case "write":
			for i := range op.N {
				if _, err := unix.Write(writeFD, buf[:opSize(i)]); err != nil {
					return err
				}
			}
		case "read":
			for i := range op.N {
				if _, err := unix.Read(readFD, buf[:opSize(i)]); err != nil {
					return err
				}
			}
		case "open":
			for range op.N {
				fd, err := unix.Open("/dev/null", openFlags, 0)
				if err != nil {
					return err
				}
				unix.Close(fd)
			}
		case "lseek":
			for i := range op.N {
				if _, err := unix.Seek(readFD, int64(i)*4096, 0); err != nil {
					return err
				}
			}
		case "uname":
			var u unix.Utsname
			for range op.N {
				if err := unix.Uname(&u); err != nil {
					return err
				}
			}
		case "kill":
			// Ignored for the rest of the test binary: restoring Go's handler
			// in between left a signal pending on the next run of the
			// workload (the programs run cold and warm).
			signal.Ignore(syscall.SIGUSR1)
			for range op.N {
				if err := unix.Kill(os.Getpid(), unix.SIGUSR1); err != nil {
					return err
				}
			}
		case "spawn":
			for range op.N {
				if err := exec.Command("/bin/true").Run(); err != nil {
					return err
				}
			}
		case "busy":
			end := time.Now().Add(time.Duration(op.N) * time.Millisecond)
			x := 0
			for time.Now().Before(end) {
				x++
			}
		default:
			return fmt.Errorf("unknown workload op %q", op.Op)
		}
	}
	return nil
}

// countFDs counts this process's descriptors of one anonymous inode kind
// ("bpf-prog", "bpf-map", "bpf_link", "perf_event").
func countFDs(kind string) int { return testutil.CountFDsOfKind(kind) }

// bpfFDs counts every kind of descriptor a BPF object may own.
func bpfFDs() map[string]int {
	m := map[string]int{}
	for _, k := range []string{"bpf-prog", "bpf-map", "bpf_link", "perf_event", "[perf_event]"} {
		m[k] = countFDs(k)
	}
	return m
}

// progTypeOf reads a program descriptor's type from /proc/self/fdinfo.
func progTypeOf(fd int) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/self/fdinfo/%d", fd))
	if err != nil {
		return -1
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "prog_type:"); ok {
			var n int
			fmt.Sscan(strings.TrimSpace(v), &n)
			return n
		}
	}
	return -1
}

// pyRecords is what one perf or ring buffer delivered to BCC Python.
type pyRecords struct {
	Records []string `json:"records"`
	Lost    uint64   `json:"lost"`
}
