package containers_test

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cilium/ebpf"

	"github.com/gobcc/gobcc/bcc"
	"github.com/gobcc/gobcc/bcc/containers"
	"github.com/gobcc/gobcc/internal/testutil"
)

func TestFilterTextWithoutMaps(t *testing.T) {
	text, err := containers.FilterText(containers.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"_cgroup_filter()", "_mntns_filter()", "container_should_be_filtered()"} {
		if !strings.Contains(text, s) {
			t.Errorf("missing %s in\n%s", s, text)
		}
	}
	if strings.Contains(text, "BPF_TABLE_PINNED") {
		t.Errorf("no maps asked for, but:\n%s", text)
	}
	if _, err := containers.FilterText(containers.Options{CgroupMap: `/sys/fs/bpf/a"b`}); err == nil {
		t.Error("a quote in a path: want ErrBadPath")
	}
	bccText, err := containers.MountNSFilterFromHeaders(containers.Options{MntnsMap: "/sys/fs/bpf/m"})
	if err != nil || !strings.Contains(bccText, `"/sys/fs/bpf/m"`) || !strings.Contains(bccText, "&current_task->nsproxy") {
		t.Errorf("BCC's text: %v\n%s", err, bccText)
	}
}

// pinnedHash creates a hash map u64 -> valueSize bytes pinned at path,
// as `bpftool map create` would for BCC's tools.
func pinnedHash(t *testing.T, path string, valueSize uint32, keys ...uint64) {
	t.Helper()
	m, err := ebpf.NewMap(&ebpf.MapSpec{Type: ebpf.Hash, KeySize: 8, ValueSize: valueSize, MaxEntries: 1024})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	os.Remove(path)
	if err := m.Pin(path); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Remove(path) })
	for _, k := range keys {
		if err := m.Put(k, make([]byte, valueSize)); err != nil {
			t.Fatal(err)
		}
	}
}

func addKey(t *testing.T, path string, valueSize int, key uint64) {
	t.Helper()
	m, err := ebpf.LoadPinnedMap(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if err := m.Put(key, make([]byte, valueSize)); err != nil {
		t.Fatal(err)
	}
}

// execCounter counts the execs that pass the container filter, by pid.
const execCounter = `
BPF_HASH(seen, u32, u64);
TRACEPOINT_PROBE(sched, sched_process_exec) {
	if (container_should_be_filtered())
		return 0;
	u32 pid = bpf_get_current_pid_tgid() >> 32;
	seen.increment(pid);
	return 0;
}
`

// waiter is a shell that waits for a line, then execs /bin/true.
type waiter struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
}

func startWaiter(t *testing.T, cmd *exec.Cmd) *waiter {
	t.Helper()
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stdin.Close(); cmd.Wait() })
	return &waiter{cmd: cmd, stdin: stdin}
}

func (w *waiter) finish(t *testing.T) {
	t.Helper()
	io.WriteString(w.stdin, "go\n")
	if err := w.cmd.Wait(); err != nil {
		t.Fatalf("%v: %v", w.cmd.Args, err)
	}
}

const waitThenExec = `read x; exec /bin/true`

func seenCounts(t *testing.T, b *bcc.BPF, pids ...int) []uint64 {
	t.Helper()
	seen, err := b.Table("seen")
	if err != nil {
		t.Fatal(err)
	}
	out := make([]uint64, len(pids))
	for i, pid := range pids {
		v, err := seen.Lookup(uint32(pid))
		if err == nil {
			out[i] = v.Uint64()
		}
	}
	return out
}

func cgroup2Mount(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile("/proc/self/mounts")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) > 2 && f[2] == "cgroup2" {
			return f[1]
		}
	}
	testutil.RequireKernel(t, "no cgroup2 mount")
	return ""
}

// TestCgroupMapFilters runs two children that exec: one in a new cgroup
// whose ID is in the pinned cgroup map, one in the test's cgroup. Only
// the first one's execs pass the filter.
func TestCgroupMapFilters(t *testing.T) {
	testutil.RequireRoot(t)
	cgDir := filepath.Join(cgroup2Mount(t), fmt.Sprintf("gobcc-containers-%d", os.Getpid()))
	if err := os.Mkdir(cgDir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Remove(cgDir) })
	id, err := containers.CgroupID(cgDir)
	if err != nil {
		t.Fatal(err)
	}
	mapPath := fmt.Sprintf("/sys/fs/bpf/gobcc_cgroupset_%d", os.Getpid())
	pinnedHash(t, mapPath, 8, id)

	text, err := containers.FilterText(containers.Options{CgroupMap: mapPath})
	if err != nil {
		t.Fatal(err)
	}
	b, err := bcc.New(bcc.Options{Text: text + execCounter})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()

	cg, err := os.Open(cgDir)
	if err != nil {
		t.Fatal(err)
	}
	defer cg.Close()
	in := exec.Command("/bin/sh", "-c", waitThenExec)
	in.SysProcAttr = &syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: int(cg.Fd())}
	inside := startWaiter(t, in)
	outside := startWaiter(t, exec.Command("/bin/sh", "-c", waitThenExec))
	inside.finish(t)
	outside.finish(t)

	got := seenCounts(t, b, inside.cmd.Process.Pid, outside.cmd.Process.Pid)
	// Inside: the exec of sh and of true; outside: none.
	if got[0] != 2 || got[1] != 0 {
		t.Errorf("execs that passed the filter: in the cgroup %d (want 2), outside %d (want 0)", got[0], got[1])
	}
}

// TestMountNamespaceMapFilters runs a child in a new mount namespace
// (unshare -m) and one in the test's; once the first has its namespace,
// its ID goes into the pinned map, and only its later exec passes.
func TestMountNamespaceMapFilters(t *testing.T) {
	testutil.RequireRoot(t)
	mapPath := fmt.Sprintf("/sys/fs/bpf/gobcc_mntns_%d", os.Getpid())
	pinnedHash(t, mapPath, 4)
	text, err := containers.FilterText(containers.Options{MntnsMap: mapPath})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(text, "TASK_NSPROXY_OFF") {
		t.Errorf("kernel BTF is present, but the filter does not use its offsets:\n%s", text)
	}
	b, err := bcc.New(bcc.Options{Text: text + execCounter})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()

	own, err := containers.MountNamespaceID(0)
	if err != nil {
		t.Fatal(err)
	}
	inside := startWaiter(t, exec.Command("unshare", "-m", "/bin/sh", "-c", waitThenExec))
	outside := startWaiter(t, exec.Command("/bin/sh", "-c", waitThenExec))
	// unshare(1) execs sh once it has the new namespace.
	var ns uint64
	for deadline := time.Now().Add(10 * time.Second); ; {
		ns, err = containers.MountNamespaceID(inside.cmd.Process.Pid)
		if err == nil && ns != own && procComm(inside.cmd.Process.Pid) == "sh" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("child never reached its own mount namespace (ns %d, ours %d, %v)", ns, own, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	addKey(t, mapPath, 4, ns)
	inside.finish(t)
	outside.finish(t)

	got := seenCounts(t, b, inside.cmd.Process.Pid, outside.cmd.Process.Pid)
	// Inside: the exec of true only (unshare and sh ran before the key
	// was added); outside: none.
	if got[0] != 1 || got[1] != 0 {
		t.Errorf("execs that passed the filter: in the namespace %d (want 1), outside %d (want 0)", got[0], got[1])
	}
}

func procComm(pid int) string {
	f, err := os.Open(fmt.Sprintf("/proc/%d/comm", pid))
	if err != nil {
		return ""
	}
	defer f.Close()
	s, _ := bufio.NewReader(f).ReadString('\n')
	return strings.TrimSpace(s)
}
