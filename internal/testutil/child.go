package testutil

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// Child is a test program driven through its stdin: each line it reads
// makes it do its work once and print one line; it exits when stdin
// closes. The uprobe and USDT tests trace such children.
type Child struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	out   *bufio.Reader
}

// StartChild starts path with args, and closes its stdin and waits for it
// when the test ends. It returns once the child has mapped libc (tests
// resolve its libraries through its mappings right away), or after 2 s for
// a static child, which never does.
func StartChild(tb testing.TB, path string, args ...string) *Child {
	tb.Helper()
	cmd := exec.Command(path, args...)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		tb.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	c := &Child{cmd: cmd, stdin: stdin, out: bufio.NewReader(stdout)}
	tb.Cleanup(func() {
		c.stdin.Close()
		c.cmd.Wait()
	})
	maps := fmt.Sprintf("/proc/%d/maps", cmd.Process.Pid)
	for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); time.Sleep(2 * time.Millisecond) {
		if b, err := os.ReadFile(maps); err == nil && strings.Contains(string(b), "/libc.so") {
			break
		}
	}
	return c
}

// PID is the child's process id.
func (c *Child) PID() int { return c.cmd.Process.Pid }

// Run tells the child to do its work once and returns the line it prints,
// without surrounding space.
func (c *Child) Run(tb testing.TB) string {
	tb.Helper()
	if _, err := io.WriteString(c.stdin, "go\n"); err != nil {
		tb.Fatal(err)
	}
	line, err := c.out.ReadString('\n')
	if err != nil {
		tb.Fatalf("child: %v", err)
	}
	return strings.TrimSpace(line)
}
