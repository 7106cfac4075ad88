package usdt

import (
	"bufio"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gobcc/gobcc/internal/testutil"
)

// TestMain fails the package's run when its tests leave a descriptor,
// goroutine or child process behind.
func TestMain(m *testing.M) { testutil.LeakCheckMain(m) }

// gcc builds testdata/usdt_target.c (shared with bcc's USDT tests) into
// dir/out with flags, and returns the binary's path.
func gcc(t *testing.T, dir, out string, flags ...string) string {
	t.Helper()
	outPath := filepath.Join(dir, out)
	args := append([]string{"-O1", "-g", "-o", outPath, "../../testdata/usdt_target.c"}, flags...)
	if b, err := exec.Command("gcc", args...).CombinedOutput(); err != nil {
		t.Fatalf("gcc %v: %v\n%s", args, err, b)
	}
	return outPath
}

// child is the running target: it fires its probes for each line on stdin
// and answers with one line.
type child struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	out   *bufio.Reader
}

func startChild(t *testing.T, path string, args ...string) *child {
	t.Helper()
	cmd := exec.Command(path, args...)
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
	c := &child{cmd: cmd, stdin: stdin, out: bufio.NewReader(stdout)}
	t.Cleanup(func() {
		c.stdin.Close()
		c.cmd.Wait()
	})
	return c
}

// run tells the child to go and returns its line: once it answers, it has
// mapped its libraries.
func (c *child) run(t *testing.T) string {
	t.Helper()
	if _, err := io.WriteString(c.stdin, "go\n"); err != nil {
		t.Fatal(err)
	}
	line, err := c.out.ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSuffix(line, "\n")
}
