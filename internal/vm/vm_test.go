package vm

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gobcc/gobcc/internal/testutil"
)

// The archive is read back by busybox's cpio, an independent reader.
func TestCPIOWriterReadBack(t *testing.T) {
	bb, err := exec.LookPath("busybox")
	if err != nil {
		testutil.RequireKernel(t, "no busybox to read the archive back: %v", err)
	}
	var buf bytes.Buffer
	c := newCPIOWriter(&buf)
	for _, step := range []error{
		c.Dir("d", 0o755),
		c.File("d/a", 0o644, []byte("hello")),
		c.File("d/odd", 0o600, []byte("xyz")), // data length not a multiple of 4
		c.Symlink("d/link", "a"),
		c.Close(),
	} {
		if step != nil {
			t.Fatal(step)
		}
	}
	if buf.Len()%4 != 0 {
		t.Errorf("archive length %d is not 4-byte aligned", buf.Len())
	}
	dir := t.TempDir()
	cmd := exec.Command(bb, "cpio", "-i", "-d")
	cmd.Dir, cmd.Stdin = dir, &buf
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("busybox cpio -i: %v: %s", err, out)
	}
	for name, want := range map[string]string{"d/a": "hello", "d/odd": "xyz"} {
		got, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil || string(got) != want {
			t.Errorf("%s = %q, %v; want %q", name, got, err, want)
		}
	}
	if target, err := os.Readlink(filepath.Join(dir, "d/link")); err != nil || target != "a" {
		t.Errorf("d/link -> %q, %v", target, err)
	}
}

func TestParseKernelDepends(t *testing.T) {
	out := []byte("linux-image-amd64\n  Depends: linux-image-6.1.0-9-amd64\n  Depends: linux-image-6.1.0-57-amd64\n  Depends: foo\n")
	if got := parseKernelDepends(out); got != "linux-image-6.1.0-57-amd64" {
		t.Errorf("got %q", got)
	}
	if got := parseKernelDepends([]byte("linux-image-amd64\n")); got != "" {
		t.Errorf("no depends: got %q", got)
	}
}

func TestModuleDepends(t *testing.T) {
	ko := []byte("\x7fELF...\x00license=GPL\x00depends=virtio,virtio_ring\x00name=virtio_pci\x00")
	if got := strings.Join(moduleDepends(ko), ","); got != "virtio,virtio_ring" {
		t.Errorf("depends = %q", got)
	}
	if got := moduleDepends([]byte("\x00depends=\x00")); len(got) != 0 {
		t.Errorf("empty depends = %q", got)
	}
}

func TestGuestScriptQuotes(t *testing.T) {
	s := guestScript(Config{Dir: "/a b", Env: []string{"X=it's"}}, Command{Args: []string{"echo", "$HOME", "a'b"}})
	for _, want := range []string{`export X='it'\''s'`, `cd '/a b' || exit 125`, `exec echo '$HOME' 'a'\''b'`} {
		if !strings.Contains(s, want) {
			t.Errorf("script lacks %q:\n%s", want, s)
		}
	}
}

// cachedKernel returns the default kernel package from the cache,
// downloading it if needed; tests that boot need root (9p passthrough) and
// qemu.
func cachedKernel(t *testing.T) *Kernel {
	t.Helper()
	testutil.RequireRoot(t)
	if _, err := exec.LookPath("qemu-system-x86_64"); err != nil {
		testutil.RequireKernel(t, "no qemu-system-x86_64 (scripts/setup.sh installs it): %v", err)
	}
	ctx := context.Background()
	pkg, err := DefaultKernelPackage(ctx)
	if err != nil {
		testutil.RequireKernel(t, "no kernel package: %v", err)
	}
	k, err := FetchKernel(ctx, DefaultCacheDir, pkg)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestModuleLoadOrder(t *testing.T) {
	k := cachedKernel(t)
	order, err := moduleLoadOrder(k.ModulesDir(), guestModules)
	if err != nil {
		t.Fatal(err)
	}
	pos := make(map[string]int)
	for i, p := range order {
		pos[strings.TrimSuffix(moduleFileName(p), ".ko")] = i
	}
	// Each module comes after what it depends on.
	for _, p := range order {
		ko, err := readModule(p)
		if err != nil {
			t.Fatal(err)
		}
		name := strings.TrimSuffix(moduleFileName(p), ".ko")
		for _, dep := range moduleDepends(ko) {
			if i, ok := pos[dep]; ok && i > pos[name] {
				t.Errorf("%s loads before its dependency %s", name, dep)
			}
		}
	}
	if _, ok := pos["9p"]; !ok {
		t.Errorf("9p missing from %v", order)
	}
}

// TestRunInGuest boots the guest: the command's output and exit status come
// back, the guest sees this directory, and a command that outlives the
// timeout is killed with no qemu and no temporary directory left.
func TestRunInGuest(t *testing.T) {
	if testing.Short() {
		t.Skip("boots a guest")
	}
	k := cachedKernel(t)
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	rc, err := Run(context.Background(), Config{Kernel: k, Dir: wd, Stdout: &out, Timeout: 5 * time.Minute},
		Command{Script: "uname -r; test -f vm_test.go && echo saw-tree; exit 7"})
	if err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	if rc != 7 || !strings.Contains(out.String(), k.Release+"\n") || !strings.Contains(out.String(), "saw-tree") {
		t.Errorf("rc %d, output:\n%s", rc, out.String())
	}

	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	ctx, cancel := context.WithCancel(context.Background())
	var slow lockedBuffer
	done := make(chan error, 1)
	go func() {
		_, err := Run(ctx, Config{Kernel: k, Stdout: &slow}, Command{Script: "echo started; sleep 600"})
		done <- err
	}()
	for !strings.Contains(slow.String(), "started") {
		select {
		case err := <-done:
			t.Fatalf("guest ended early: %v\n%s", err, slow.String())
		case <-time.After(100 * time.Millisecond):
		}
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("canceled run: %v", err)
	}
	if kids := childProcesses(t); len(kids) > 0 {
		t.Errorf("processes left running: %q", kids)
	}
	if ents, _ := os.ReadDir(tmp); len(ents) > 0 {
		t.Errorf("temporary files left: %v", ents)
	}
}

// childProcesses lists the commands of this process's children.
func childProcesses(t *testing.T) []string {
	t.Helper()
	stats, err := filepath.Glob("/proc/[0-9]*/stat")
	if err != nil {
		t.Fatal(err)
	}
	var kids []string
	for _, p := range stats {
		b, err := os.ReadFile(p)
		if err != nil {
			continue // exited meanwhile
		}
		// pid (comm) state ppid ...; comm may hold spaces.
		s := string(b)
		end := strings.LastIndexByte(s, ')')
		if end < 0 {
			continue
		}
		f := strings.Fields(s[end+1:])
		if len(f) > 1 && f[1] == strconv.Itoa(os.Getpid()) {
			kids = append(kids, s[:end+1])
		}
	}
	return kids
}

// lockedBuffer is a bytes.Buffer written by qemu's output copier while the
// test reads it.
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
