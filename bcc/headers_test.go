package bcc

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/cilium/ebpf/btf"
	"golang.org/x/sys/unix"

	"github.com/gobcc/gobcc/headers"
	"github.com/gobcc/gobcc/internal/cache"
	"github.com/gobcc/gobcc/internal/compiler"
	"github.com/gobcc/gobcc/internal/testutil"
)

// hideHeadersEnv makes a test, run as a child of TestHeadersWithoutKernelTrees
// in its own mount namespace, cover /usr/src and /lib/modules with empty
// tmpfs mounts first: a host without any headers package.
const hideHeadersEnv = "GOBCC_TEST_HIDE_HEADERS"

// headersForTest hides the installed headers when asked, and returns the
// policy the test compiles with.
func headersForTest(t *testing.T) string {
	t.Helper()
	testutil.RequireRoot(t)
	if _, err := os.Stat("/sys/kernel/btf/vmlinux"); err != nil {
		testutil.RequireKernel(t, "no kernel BTF: %v", err)
	}
	if os.Getenv(hideHeadersEnv) != "1" {
		return headers.BTF
	}
	for _, dir := range []string{"/usr/src", "/lib/modules"} {
		if err := unix.Mount("tmpfs", dir, "tmpfs", 0, "mode=0755"); err != nil {
			t.Fatalf("mount tmpfs on %s: %v", dir, err)
		}
		entries, err := os.ReadDir(dir)
		if err != nil || len(entries) != 0 {
			t.Fatalf("%s is not empty: %v %v", dir, entries, err)
		}
	}
	tree, err := headers.Resolve(headers.Auto)
	if err != nil {
		t.Fatalf("headers.Resolve(auto) without installed headers: %v", err)
	}
	if tree.Kind != "btf" {
		t.Fatalf("auto without installed headers chose %q (%s), want btf", tree.Kind, tree.Reason)
	}
	return headers.Auto
}

// taskInfo is struct task_info of taskFieldsProgram.
type taskInfo struct {
	Pid, Tgid, ParentTgid, _ uint32
	ArgStart                 uint64
	Comm                     [16]byte
}

const taskFieldsProgram = `
#include <linux/sched.h>
#include <linux/mm_types.h>

struct task_info {
	u32 pid, tgid, parent_tgid, pad;
	u64 arg_start;
	char comm[TASK_COMM_LEN];
};
BPF_HASH(seen, u32, struct task_info);

TRACEPOINT_PROBE(syscalls, sys_enter_getppid) {
	u32 tgid = bpf_get_current_pid_tgid() >> 32;
	if (tgid != WANT_TGID)
		return 0;
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct task_info info = {};
	info.pid = task->pid;
	info.tgid = task->tgid;
	info.parent_tgid = task->real_parent->tgid;
	info.arg_start = task->mm->arg_start;
	bpf_probe_read_kernel(&info.comm, sizeof(info.comm), task->comm);
	seen.update(&info.pid, &info);
	return 0;
}
`

// procArgStart reads arg_start (field 48) of /proc/self/stat.
func procArgStart(t *testing.T) uint64 {
	data, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		t.Fatal(err)
	}
	s := string(data)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	// fields[0] is field 3 (state).
	v, err := strconv.ParseUint(fields[48-3], 10, 64)
	if err != nil {
		t.Fatalf("arg_start in /proc/self/stat: %v", err)
	}
	return v
}

// TestHeadersBTFTaskFields reads task_struct members of the current task
// through <linux/sched.h> and compares them with what the process knows:
// with headers of another kernel they come out wrong.
func TestHeadersBTFTaskFields(t *testing.T) {
	policy := headersForTest(t)
	text := strings.ReplaceAll(taskFieldsProgram, "WANT_TGID", strconv.Itoa(os.Getpid()))
	b, err := New(Options{Text: text, Name: "task_fields.c", Headers: policy})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	for _, w := range b.Warnings() {
		t.Logf("warning: %s", w)
	}
	checkTaskFields(t, b)
}

// exitInfo is struct exit_info of exitProgram.
type exitInfo struct {
	Pid, Tgid, ParentTgid, ExitCode uint32
}

// exitProgram is what BCC's exitsnoop reads on sched:sched_process_exit.
const exitProgram = `
#include <linux/sched.h>

struct exit_info {
	u32 pid, tgid, parent_tgid, exit_code;
};
BPF_HASH(exits, u32, struct exit_info);

TRACEPOINT_PROBE(sched, sched_process_exit) {
	struct task_struct *task = (typeof(task))bpf_get_current_task();
	if (task->pid != task->tgid)
		return 0;
	struct exit_info info = {};
	info.pid = task->pid;
	info.tgid = task->tgid;
	info.parent_tgid = task->real_parent->tgid;
	info.exit_code = task->exit_code >> 8;
	exits.update(&info.tgid, &info);
	return 0;
}
`

// TestHeadersBTFExit is exitsnoop's case: a child exiting with code 3.
func TestHeadersBTFExit(t *testing.T) {
	policy := headersForTest(t)
	b, err := New(Options{Text: exitProgram, Name: "exit.c", Headers: policy})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	table, err := b.Table("exits")
	if err != nil {
		t.Fatal(err)
	}
	exits, err := TableOf[uint32, exitInfo](table)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("/bin/sh", "-c", "exit 3")
	err = cmd.Run()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 3 {
		t.Fatalf("child: %v", err)
	}
	pid := uint32(cmd.Process.Pid)
	got, err := exits.Lookup(pid)
	if err != nil {
		t.Fatalf("no exit recorded for child %d: %v", pid, err)
	}
	want := exitInfo{Pid: pid, Tgid: pid, ParentTgid: uint32(os.Getpid()), ExitCode: 3}
	if got != want {
		t.Errorf("exit read through the headers: got %+v, want %+v", got, want)
	}
}

// TestHeadersWithoutKernelTrees runs the two tests above in a mount
// namespace where /usr/src and /lib/modules are empty, with a fresh header
// cache: a host without any kernel headers package.
func TestHeadersWithoutKernelTrees(t *testing.T) {
	testutil.RequireRoot(t)
	if os.Getenv(hideHeadersEnv) == "1" {
		t.Skip("already inside the namespace")
	}
	cmd := exec.Command(os.Args[0], "-test.run", "^(TestHeadersBTFTaskFields|TestHeadersBTFExit)$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), hideHeadersEnv+"=1", "GOBCC_CACHE_DIR="+t.TempDir())
	cmd.SysProcAttr = &syscall.SysProcAttr{Unshareflags: syscall.CLONE_NEWNS}
	out, err := cmd.CombinedOutput()
	t.Logf("child:\n%s", out)
	if err != nil {
		t.Fatalf("tests without kernel header trees: %v", err)
	}
	for _, name := range []string{"TestHeadersBTFTaskFields", "TestHeadersBTFExit"} {
		if !bytes.Contains(out, []byte("--- PASS: "+name)) {
			t.Errorf("%s did not pass in the namespace", name)
		}
	}
}

// TestHeadersInProcess compiles through the BTF tree in this process: the
// tree reaches libbcc through this process's environment for the compile
// only.
func TestHeadersInProcess(t *testing.T) {
	policy := headersForTest(t)
	old, had := os.LookupEnv("BCC_KERNEL_SOURCE")
	text := strings.ReplaceAll(taskFieldsProgram, "WANT_TGID", strconv.Itoa(os.Getpid()))
	b, err := New(Options{Text: text, Name: "task_fields.c", Headers: policy, InProcess: true})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	now, has := os.LookupEnv("BCC_KERNEL_SOURCE")
	if has != had || now != old {
		t.Errorf("BCC_KERNEL_SOURCE after the compile: %q (set %v), before: %q (set %v)", now, has, old, had)
	}
	offs, tree, err := headers.ProbeLayout(policy, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range offs {
		if !o.Match() {
			t.Errorf("%s.%s compiled at %d through the %s tree, BTF says %d", o.Struct, o.Member, o.Compiled, tree.Kind, o.BTF)
		}
	}
}

// checkTaskFields makes the thread call getppid and compares what
// taskFieldsProgram, loaded as b, read with what the process knows.
func checkTaskFields(t *testing.T, b *BPF) {
	t.Helper()
	table, err := b.Table("seen")
	if err != nil {
		t.Fatal(err)
	}
	seen, err := TableOf[uint32, taskInfo](table)
	if err != nil {
		t.Fatal(err)
	}
	runtime.LockOSThread()
	tid := unix.Gettid()
	unix.Getppid()
	runtime.UnlockOSThread()
	got, err := seen.Lookup(uint32(tid))
	if err != nil {
		t.Fatalf("no record for thread %d: %v", tid, err)
	}
	comm, err := os.ReadFile("/proc/self/task/" + strconv.Itoa(tid) + "/comm")
	if err != nil {
		t.Fatal(err)
	}
	want := taskInfo{Pid: uint32(tid), Tgid: uint32(os.Getpid()), ParentTgid: uint32(os.Getppid()), ArgStart: procArgStart(t)}
	copy(want.Comm[:], bytes.TrimSpace(comm))
	if got != want {
		t.Errorf("read through the headers:\n got  pid %d tgid %d parent %d arg_start %#x comm %q\n want pid %d tgid %d parent %d arg_start %#x comm %q",
			got.Pid, got.Tgid, got.ParentTgid, got.ArgStart, bytes.TrimRight(got.Comm[:], "\x00"),
			want.Pid, want.Tgid, want.ParentTgid, want.ArgStart, bytes.TrimRight(want.Comm[:], "\x00"))
	}
}

// pastedTypeProgram names struct super_block only through token pasting,
// which the subset's identifier scan cannot see: the compile through the
// subset fails (sizeof of an incomplete type) and must pass through the
// whole tree.
const pastedTypeProgram = `
#include <linux/fs.h>
#define PASTE(a, b) a##b
BPF_ARRAY(sizes, u64, 1);
TRACEPOINT_PROBE(syscalls, sys_enter_getppid) {
	int zero = 0;
	u64 size = sizeof(struct PASTE(super_, block));
	sizes.update(&zero, &size);
	return 0;
}
`

// TestHeadersSubset compiles through per-program type subsets of the BTF
// tree: exact task_struct values through a subset, a type the scanner
// cannot see through the fallback to the whole tree, and a corrupt or
// missing type index through the whole tree with a warning.
func TestHeadersSubset(t *testing.T) {
	headersForTest(t)
	t.Setenv(cache.EnvDir, t.TempDir())
	tree, err := headers.Resolve(headers.BTF)
	if err != nil {
		t.Fatal(err)
	}

	text := strings.ReplaceAll(taskFieldsProgram, "WANT_TGID", strconv.Itoa(os.Getpid()))
	b, err := New(Options{Text: text, Name: "task_fields.c", Headers: headers.BTF, NoCache: true})
	if err != nil {
		t.Fatal(err)
	}
	sub := b.result.TypeSubset
	if sub == "" || b.result.SubsetFallback || len(b.Warnings()) != 0 {
		t.Errorf("task fields: subset %q, fallback %v, warnings %q", sub, b.result.SubsetFallback, b.Warnings())
	}
	checkTaskFields(t, b)
	b.Close()
	for _, dir := range []string{filepath.Dir(sub), sub} {
		fi, err := os.Lstat(dir)
		if err != nil {
			t.Fatal(err)
		}
		st := fi.Sys().(*syscall.Stat_t)
		if !fi.IsDir() || fi.Mode().Perm() != 0o700 || int(st.Uid) != os.Geteuid() {
			t.Errorf("%s: mode %v, uid %d; want a directory of uid %d, mode 0700", dir, fi.Mode(), st.Uid, os.Geteuid())
		}
	}
	header, err := os.ReadFile(filepath.Join(sub, "gobcc_program_types.h"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"struct task_struct {", "struct mm_struct {"} {
		if !bytes.Contains(header, []byte(want)) {
			t.Errorf("the subset lacks %q", want)
		}
	}
	if bytes.Contains(header, []byte("struct super_block {")) {
		t.Error("the task program's subset defines struct super_block, which it cannot reach")
	}

	spec, err := btf.LoadKernelSpec()
	if err != nil {
		t.Fatal(err)
	}
	var sb *btf.Struct
	if err := spec.TypeByName("super_block", &sb); err != nil {
		t.Fatal(err)
	}
	fallbacks := compiler.SubsetFallbacks()
	for round := range 2 {
		b, err := New(Options{Text: pastedTypeProgram, Name: "pasted.c", Headers: headers.BTF, NoCache: true})
		if err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		// The first compile falls back and marks the subset; the second
		// goes to the whole tree at once.
		wantFallback := round == 0
		if b.result.SubsetFallback != wantFallback || b.result.TypeSubset != "" {
			t.Errorf("round %d: fallback %v, subset %q", round, b.result.SubsetFallback, b.result.TypeSubset)
		}
		warned := strings.Contains(strings.Join(b.Warnings(), "\n"), "whole header tree")
		if warned != wantFallback {
			t.Errorf("round %d: warnings %q", round, b.Warnings())
		}
		sizes, err := b.Table("sizes")
		if err != nil {
			t.Fatal(err)
		}
		arr, err := TableOf[uint32, uint64](sizes)
		if err != nil {
			t.Fatal(err)
		}
		unix.Getppid()
		if got, err := arr.Lookup(0); err != nil || got != uint64(sb.Size) {
			t.Errorf("round %d: sizeof(struct super_block) %d (%v), BTF says %d", round, got, err, sb.Size)
		}
		b.Close()
	}
	if got := compiler.SubsetFallbacks() - fallbacks; got != 1 {
		t.Errorf("%d fallbacks counted, want 1", got)
	}

	index := filepath.Join(tree.Dir, "gobcc-types.idx")
	for _, spoil := range []func() error{
		func() error { return os.WriteFile(index, []byte("not a gob"), 0o600) },
		func() error { return os.Remove(index) },
	} {
		if err := spoil(); err != nil {
			t.Fatal(err)
		}
		// A program no subset was made for yet.
		text := strings.ReplaceAll(taskFieldsProgram, "WANT_TGID", strconv.Itoa(os.Getpid())) + "\n// another program\n"
		b, err := New(Options{Text: text, Name: "task_fields.c", Headers: headers.BTF, NoCache: true})
		if err != nil {
			t.Fatal(err)
		}
		if b.result.TypeSubset != "" || !strings.Contains(strings.Join(b.Warnings(), "\n"), "type index unusable") {
			t.Errorf("bad index: subset %q, warnings %q", b.result.TypeSubset, b.Warnings())
		}
		checkTaskFields(t, b)
		b.Close()
	}
}
