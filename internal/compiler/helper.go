package compiler

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/gobcc/gobcc/internal/libbcc"
)

// helperSession is the parent's side of a helper process.
type helperSession struct {
	mu     sync.Mutex
	cmd    *exec.Cmd
	c      *conn
	out    *outputCollector
	result *Result
	closed bool
}

func compileInHelper(ctx context.Context, req Request) (Session, error) {
	parent, child, err := socketPair()
	if err != nil {
		return nil, err
	}
	pr, pw, err := os.Pipe()
	if err != nil {
		parent.close()
		child.Close()
		return nil, fmt.Errorf("pipe: %w", err)
	}
	// /proc/self/exe re-executes this very binary even if its file was
	// replaced or removed since it started.
	cmd := exec.Command("/proc/self/exe")
	cmd.Args = []string{"gobcc-compile-helper"}
	// GOTRACEBACK=none: a crash inside libbcc then prints the signal and
	// no goroutine dump, which would only bury clang's last words.
	cmd.Env = append(os.Environ(), helperEnv+"=3", "GOTRACEBACK=none")
	if req.KernelSource != "" {
		// The last entry of a name wins in exec.Cmd's Env.
		cmd.Env = append(cmd.Env, kernelSourceEnv+"="+req.KernelSource)
	}
	cmd.ExtraFiles = []*os.File{child}
	cmd.Stdout = pw
	cmd.Stderr = pw
	// The helper must not outlive its parent.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	err = cmd.Start()
	child.Close()
	pw.Close()
	if err != nil {
		parent.close()
		pr.Close()
		return nil, fmt.Errorf("start compile helper: %w", err)
	}
	s := &helperSession{cmd: cmd, c: parent, out: newOutputCollector(pr)}
	// Cancelling kills the helper: the pending recv then fails, and fail
	// reaps the helper. The compile is the helper's only long wait; loads
	// take milliseconds and are not covered.
	stopKill := context.AfterFunc(ctx, func() { cmd.Process.Signal(syscall.SIGKILL) })
	m, fds, err := s.compileRoundTrip(&req)
	if !stopKill() {
		// Killed, perhaps after the answer arrived: nothing of this
		// compile can be used.
		closeFDs(fds)
		if err == nil {
			err = fmt.Errorf("helper killed")
		}
		s.fail(err)
		return nil, fmt.Errorf("compile: %w", ctx.Err())
	}
	if err != nil {
		return nil, s.fail(err)
	}
	output := s.out.next()
	if m.Result == nil {
		closeFDs(fds)
		s.shutdown()
		switch m.Op {
		case "compile":
			return nil, &Error{Output: output, Err: ErrCompile}
		case "nolib":
			return nil, fmt.Errorf("%w (in the compile helper: %s)", libbcc.ErrNotFound, m.Error)
		}
		return nil, fmt.Errorf("compile helper: %s%s", m.Error, withOutput(output))
	}
	res := m.Result
	res.Output = output
	i := 0
	for k := range res.Tables {
		res.Tables[k].FD = -1
		if res.Tables[k].ModuleFD >= 0 && i < len(fds) {
			res.Tables[k].FD = fds[i]
			i++
		}
	}
	closeFDs(fds[i:])
	s.result = res
	return s, nil
}

// compileRoundTrip sends the compile request and waits for its answer.
func (s *helperSession) compileRoundTrip(req *Request) (*message, []int, error) {
	if err := s.c.send(&message{Compile: req}, nil); err != nil {
		return nil, nil, err
	}
	return s.c.recv()
}

func withOutput(out string) string {
	if out = strings.TrimSpace(out); out == "" {
		return ""
	}
	return "\n" + out
}

// fail ends the helper after a transport error and explains how it died.
func (s *helperSession) fail(cause error) error {
	s.c.close()
	s.closed = true
	// A broken socket means the helper is gone or going; make sure.
	s.cmd.Process.Signal(syscall.SIGKILL)
	waitErr := s.cmd.Wait()
	output := s.out.rest()
	// The runtime's dump of the helper's goroutines says nothing about the
	// program being compiled.
	if i := strings.Index(output, "\ngoroutine "); i >= 0 {
		output = output[:i]
	}
	return &Error{Output: strings.TrimSpace(output), Err: crashError(s.cmd.ProcessState, waitErr, output, cause)}
}

// The Go runtime reports a signal in C code as "SIGSEGV: segmentation
// violation" at the start of a line, and one in Go code as
// "[signal SIGSEGV: segmentation violation code=...]".
var goSignalLine = regexp.MustCompile(`(?m)^(?:\[signal )?(SIG[A-Z]+)(: [a-z][a-z ]*[a-z])?`)

// crashError names what killed the helper. A crash inside C code is caught
// by the Go runtime, which prints "[signal SIGSEGV: ...]" and exits 2, so
// the signal is read from the output when the status does not carry one.
func crashError(ps *os.ProcessState, waitErr error, output string, cause error) error {
	if ps != nil {
		if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() && ws.Signal() != syscall.SIGKILL {
			return fmt.Errorf("%w: killed by signal %s (%v)", ErrHelperCrashed, unix.SignalName(ws.Signal()), ws.Signal())
		}
	}
	if m := goSignalLine.FindStringSubmatch(output); m != nil {
		return fmt.Errorf("%w: signal %s%s inside libbcc", ErrHelperCrashed, m[1], m[2])
	}
	if strings.Contains(output, "LLVM ERROR") {
		return fmt.Errorf("%w: LLVM aborted (%v)", ErrHelperCrashed, waitErr)
	}
	if waitErr != nil {
		return fmt.Errorf("%w: %v", ErrHelperCrashed, waitErr)
	}
	return fmt.Errorf("%w: %v", ErrHelperCrashed, cause)
}

func (s *helperSession) Result() *Result { return s.result }

func (s *helperSession) Load(req LoadRequest) (LoadResult, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return LoadResult{FD: -1}, ErrClosed
	}
	if err := s.c.send(&message{Load: &req}, nil); err != nil {
		return LoadResult{FD: -1}, s.fail(err)
	}
	m, fds, err := s.c.recv()
	if err != nil {
		return LoadResult{FD: -1}, s.fail(err)
	}
	output := s.out.next()
	if m.Loaded == nil {
		closeFDs(fds)
		return LoadResult{FD: -1}, fmt.Errorf("compile helper: %s", m.Error)
	}
	r := *m.Loaded
	r.Output = output
	r.FD = -1
	if len(fds) > 0 {
		r.FD = fds[0]
		closeFDs(fds[1:])
	}
	return r, nil
}

// Close ends the helper. Descriptors it handed over stay valid.
func (s *helperSession) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.shutdown()
	return nil
}

func (s *helperSession) shutdown() {
	s.closed = true
	s.c.send(&message{Op: "close"}, nil)
	s.c.close()
	s.cmd.Wait()
	s.out.rest()
}

// outputCollector reads the helper's stdout and stderr and splits it into
// the stretches that end with doneMarker.
type outputCollector struct {
	mu   sync.Mutex
	cond *sync.Cond
	buf  bytes.Buffer
	eof  bool
	r    io.ReadCloser
}

func newOutputCollector(r io.ReadCloser) *outputCollector {
	o := &outputCollector{r: r}
	o.cond = sync.NewCond(&o.mu)
	go o.run()
	return o
}

func (o *outputCollector) run() {
	b := make([]byte, 32*1024)
	for {
		n, err := o.r.Read(b)
		if err != nil {
			// Close before eof is visible: whoever waits for eof (Close,
			// through rest) must find the pipe already gone, or the
			// descriptor outlives the session it belongs to.
			o.r.Close()
		}
		o.mu.Lock()
		o.buf.Write(b[:n])
		if err != nil {
			o.eof = true
		}
		o.cond.Broadcast()
		o.mu.Unlock()
		if err != nil {
			return
		}
	}
}

// next returns the output up to the next doneMarker (or to the end, if the
// helper exits first).
func (o *outputCollector) next() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	for {
		if i := bytes.Index(o.buf.Bytes(), []byte(doneMarker)); i >= 0 {
			s := string(o.buf.Next(i))
			o.buf.Next(len(doneMarker))
			return s
		}
		if o.eof {
			s := o.buf.String()
			o.buf.Reset()
			return s
		}
		o.cond.Wait()
	}
}

// rest waits for the end of the output and returns what is left.
func (o *outputCollector) rest() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	for !o.eof {
		o.cond.Wait()
	}
	s := strings.ReplaceAll(o.buf.String(), doneMarker, "")
	o.buf.Reset()
	return s
}
