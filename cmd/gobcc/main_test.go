package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gobcc/gobcc/cmd/gobcc/doctor"
	"github.com/gobcc/gobcc/internal/bpfsys"
	"github.com/gobcc/gobcc/internal/testutil"
)

// gobccBinary is the command under test, built once by TestMain.
var gobccBinary string

// repoRoot is where the tests run the binary, so testdata paths read as a
// user would type them.
var repoRoot string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "gobcc-cli-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	gobccBinary = filepath.Join(dir, "gobcc")
	build := exec.Command("go", "build", "-o", gobccBinary, ".")
	build.Stdout, build.Stderr = os.Stdout, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build gobcc:", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	repoRoot, _ = filepath.Abs("../..")
	code := testutil.RunWithLeakCheck(m)
	os.RemoveAll(dir)
	os.Exit(code)
}

type result struct {
	stdout, stderr string
	code           int
}

// gobcc runs the binary from the repository root with stdin.
func gobcc(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	cmd := exec.Command(gobccBinary, args...)
	cmd.Dir = repoRoot
	cmd.Stdin = strings.NewReader(stdin)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	r := result{stdout: out.String(), stderr: errOut.String()}
	var exitErr *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exitErr):
		r.code = exitErr.ExitCode()
	default:
		t.Fatalf("gobcc %v: %v", args, err)
	}
	return r
}

func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		testutil.RequireKernel(t, "gobcc loads BPF programs: needs root")
	}
}

func wantCode(t *testing.T, r result, code int) {
	t.Helper()
	if r.code != code {
		t.Fatalf("exit status %d, want %d\nstdout:\n%s\nstderr:\n%s", r.code, code, r.stdout, r.stderr)
	}
}

var symbolLine = regexp.MustCompile(`^([A-Za-z_][A-Za-z0-9_.]*) +(\d+)$`)

func TestRunSeedProgramShowsKernelFunctions(t *testing.T) {
	requireRoot(t)
	r := gobcc(t, "", "run", "--ksym", "--duration", "2s", "testdata/kmalloc_callers.c")
	wantCode(t, r, exitOK)
	if !strings.Contains(r.stdout, "callers (hash,") {
		t.Fatalf("no table header in output:\n%s", r.stdout)
	}
	symbols := 0
	for _, line := range strings.Split(r.stdout, "\n") {
		m := symbolLine.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		if m[2] == "0" {
			t.Errorf("count 0 in %q: hash entries exist only once counted", line)
		}
		symbols++
	}
	if symbols == 0 {
		t.Fatalf("no \"kernel_function count\" line in output:\n%s", r.stdout)
	}
	if strings.Contains(r.stdout, "[unknown]") && symbols < 2 {
		t.Errorf("call sites did not resolve:\n%s", r.stdout)
	}
}

func TestRunTopLimitsRows(t *testing.T) {
	requireRoot(t)
	r := gobcc(t, "", "run", "--ksym", "--top", "3", "--duration", "1500ms", "testdata/kmalloc_callers.c")
	wantCode(t, r, exitOK)
	rows := 0
	for _, line := range strings.Split(r.stdout, "\n") {
		if symbolLine.MatchString(line) {
			rows++
		}
		if line == "" {
			if rows > 3 {
				t.Fatalf("%d rows in one print with --top 3:\n%s", rows, r.stdout)
			}
			rows = 0
		}
	}
}

func TestRunProgramFromStdin(t *testing.T) {
	requireRoot(t)
	src, err := os.ReadFile(filepath.Join(repoRoot, "testdata/kmalloc_callers.c"))
	if err != nil {
		t.Fatal(err)
	}
	r := gobcc(t, string(src), "run", "--duration", "1s", "-")
	wantCode(t, r, exitOK)
	if !strings.Contains(r.stdout, "callers (hash,") {
		t.Fatalf("no table printed for a program on stdin:\n%s\n%s", r.stdout, r.stderr)
	}
}

func TestRunHistogramPrintsAsBCC(t *testing.T) {
	requireRoot(t)
	r := gobcc(t, "", "run", "--duration", "1500ms", "testdata/cli_hist.c")
	wantCode(t, r, exitOK)
	if !strings.Contains(r.stdout, "     value               : count     distribution") {
		t.Fatalf("no print_log2_hist header:\n%s", r.stdout)
	}
	if !regexp.MustCompile(`(?m)^ +\d+ -> \d+ +: \d+ +\|\**\s*\|$`).MatchString(r.stdout) {
		t.Fatalf("no histogram row:\n%s", r.stdout)
	}
}

func TestCheckGoodProgram(t *testing.T) {
	requireRoot(t)
	r := gobcc(t, "", "check", "testdata/cli_good.c")
	wantCode(t, r, exitOK)
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`(?m)^count_any +kprobe +loaded +\d+ insns, [1-9]\d* processed by the verifier$`),
		regexp.MustCompile(`(?m)^tracepoint__sched__sched_process_exec +tracepoint +loaded +\d+ insns, [1-9]\d* processed`),
	} {
		if !want.MatchString(r.stdout) {
			t.Errorf("output does not match %s:\n%s", want, r.stdout)
		}
	}
}

func TestCheckTypeOverride(t *testing.T) {
	requireRoot(t)
	r := gobcc(t, "", "check", "--type", "count_any=tracepoint", "testdata/cli_good.c")
	wantCode(t, r, exitOK)
	if !regexp.MustCompile(`(?m)^count_any +tracepoint +loaded`).MatchString(r.stdout) {
		t.Errorf("--type did not apply:\n%s", r.stdout)
	}
	r = gobcc(t, "", "check", "--type", "nosuch=tracepoint", "testdata/cli_good.c")
	wantCode(t, r, exitUsage)
}

func TestCheckSyntaxError(t *testing.T) {
	requireRoot(t)
	r := gobcc(t, "", "check", "testdata/cli_syntax.c")
	wantCode(t, r, exitCompile)
	for _, want := range []string{
		"testdata/cli_syntax.c:6:22: use of undeclared identifier 'undeclared_key'",
		"counts.increment(undeclared_key);",
		"^",
	} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
		}
	}
}

func TestCheckVerifierRejection(t *testing.T) {
	requireRoot(t)
	r := gobcc(t, "", "check", "testdata/cli_verifier.c")
	wantCode(t, r, exitVerifier)
	if !regexp.MustCompile(`(?m)^tracepoint__sched__sched_process_exec +tracepoint +rejected`).MatchString(r.stdout) {
		t.Errorf("no rejected line:\n%s", r.stdout)
	}
	if !strings.Contains(r.stdout, "invalid mem access 'map_value_or_null'") {
		t.Errorf("verifier's reason missing:\n%s", r.stdout)
	}
	if !strings.Contains(r.stdout, "testdata/cli_verifier.c:8") {
		t.Errorf("verifier lines do not point at the user's line 8:\n%s", r.stdout)
	}
}

func TestRunVerifierRejectionParagraph(t *testing.T) {
	requireRoot(t)
	r := gobcc(t, "", "run", "--duration", "1s", "testdata/cli_verifier.c")
	wantCode(t, r, exitVerifier)
	for _, want := range []string{"refused function tracepoint__sched__sched_process_exec", "last verifier lines", "map_value_or_null"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
		}
	}
	full := gobcc(t, "", "run", "--debug", "--duration", "1s", "testdata/cli_verifier.c")
	wantCode(t, full, exitVerifier)
	if !strings.Contains(full.stderr, "verifier log:") || strings.Count(full.stderr, "\n") <= strings.Count(r.stderr, "\n") {
		t.Errorf("--debug did not show the whole log:\n%s", full.stderr)
	}
}

func TestDebugBPFShowsVerifierLog(t *testing.T) {
	requireRoot(t)
	r := gobcc(t, "", "run", "--debug", "bpf", "--duration", "1s", "testdata/kmalloc_callers.c")
	wantCode(t, r, exitOK)
	if !strings.Contains(r.stderr, "verifier log for tracepoint__kmem__kmalloc") ||
		!regexp.MustCompile(`processed \d+ insns`).MatchString(r.stderr) {
		t.Fatalf("no verifier lines on stderr:\n%s", r.stderr)
	}
}

func TestMissingTracepoint(t *testing.T) {
	requireRoot(t)
	r := gobcc(t, "", "run", "--duration", "1s", "testdata/cli_missing_tp.c")
	wantCode(t, r, exitUnsupported)
	for _, want := range []string{"gobcc_nosuch:no_event", "hint:", "gobcc doctor"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
		}
	}
}

func TestUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"run", "--no-such-flag", "testdata/kmalloc_callers.c"},
		{"run"},
		{"check", "a.c", "b.c"},
		{"--output", "yaml", "version"},
		{"no-such-command"},
		{"ksym", "not-hex"},
		{"run", "--duration", "-1s", "testdata/kmalloc_callers.c"},
		{"build", "testdata/kmalloc_callers.c", "--output", "json"},
	} {
		r := gobcc(t, "", args...)
		if r.code != exitUsage {
			t.Errorf("gobcc %v: exit status %d, want %d\n%s", args, r.code, exitUsage, r.stderr)
		}
		if !strings.HasPrefix(r.stderr, "gobcc: ") && !strings.HasPrefix(r.stderr, "Error: ") {
			t.Errorf("gobcc %v: stderr %q", args, r.stderr)
		}
	}
}

func TestVersionFlag(t *testing.T) {
	flag, cmd := gobcc(t, "", "--version"), gobcc(t, "", "version")
	wantCode(t, flag, 0)
	if !strings.HasPrefix(flag.stdout, "gobcc ") || !strings.Contains(flag.stdout, "kernel ") || flag.stdout != cmd.stdout {
		t.Errorf("gobcc --version printed %q, gobcc version %q", flag.stdout, cmd.stdout)
	}
}

func TestHelpDocumentsExitCodes(t *testing.T) {
	for _, cmd := range []string{"run", "check", "trace", "ksym", "tables", "doctor", "version"} {
		r := gobcc(t, "", cmd, "--help")
		wantCode(t, r, exitOK)
		if !strings.Contains(r.stdout, "Exit status:") || !strings.Contains(r.stdout, "Examples:") {
			t.Errorf("%s --help lacks exit codes or examples:\n%s", cmd, r.stdout)
		}
	}
}

func TestCompletionBash(t *testing.T) {
	r := gobcc(t, "", "completion", "bash")
	wantCode(t, r, exitOK)
	if !strings.Contains(r.stdout, "__start_gobcc") {
		t.Fatalf("not a bash completion script:\n%.300s", r.stdout)
	}
}

// jsonLines decodes every stdout line as a JSON object.
func jsonLines(t *testing.T, out string) []map[string]any {
	t.Helper()
	var objs []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var obj map[string]any
		if err := json.Unmarshal([]byte(line), &obj); err != nil {
			t.Fatalf("line %q is not a JSON object: %v", line, err)
		}
		objs = append(objs, obj)
	}
	return objs
}

func TestOutputJSON(t *testing.T) {
	requireRoot(t)
	r := gobcc(t, "", "run", "-o", "json", "--ksym", "--interval", "500ms", "--duration", "1200ms", "testdata/kmalloc_callers.c")
	wantCode(t, r, exitOK)
	objs := jsonLines(t, r.stdout)
	if len(objs) < 2 {
		t.Fatalf("want a table object per print, got %d:\n%s", len(objs), r.stdout)
	}
	for _, o := range objs {
		if o["type"] != "table" || o["table"] != "callers" || o["map_type"] != "hash" {
			t.Fatalf("unexpected object %v", o)
		}
	}
	last := objs[len(objs)-1]["entries"].([]any)
	if len(last) == 0 {
		t.Fatalf("no entries in the last print")
	}
	e := last[0].(map[string]any)
	if _, ok := e["key"].(float64); !ok || e["ksym"] == "" {
		t.Errorf("entry %v: want a numeric key and its ksym", e)
	}

	r = gobcc(t, "", "check", "-o", "json", "testdata/cli_good.c", "--type", "count_any=kprobe")
	wantCode(t, r, exitOK)
	for _, o := range jsonLines(t, r.stdout) {
		if o["type"] != "check" || o["status"] != "loaded" || o["processed"].(float64) <= 0 {
			t.Errorf("check result %v", o)
		}
	}
}

// ourPrograms lists loaded programs whose name starts with prefix.
func ourPrograms(t *testing.T, prefix string) map[uint32]bool {
	t.Helper()
	ids, err := bpfsys.ProgIDs()
	if err != nil {
		t.Fatalf("list programs: %v", err)
	}
	out := map[uint32]bool{}
	for _, id := range ids {
		fd, err := bpfsys.ProgGetFDByID(id)
		if err != nil {
			continue // unloaded meanwhile
		}
		info, err := bpfsys.ProgInfoByFD(fd)
		syscall.Close(fd)
		if err == nil && strings.HasPrefix(info.Name, prefix) {
			out[id] = true
		}
	}
	return out
}

func TestSIGINTPrintsTablesAndUnloads(t *testing.T) {
	requireRoot(t)
	// libbcc names a TRACEPOINT_PROBE program after its tracepoint.
	const progName = "kmem__kmalloc"
	before := ourPrograms(t, progName)
	cmd := exec.Command(gobccBinary, "run", "--ksym", "--interval", "300ms", "testdata/kmalloc_callers.c")
	cmd.Dir = repoRoot
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	sc := bufio.NewScanner(stdout)
	sawPrint := false
	for sc.Scan() {
		if strings.Contains(sc.Text(), "callers (hash,") {
			sawPrint = true
			break
		}
	}
	if !sawPrint {
		cmd.Wait()
		t.Fatalf("gobcc run printed no table; stderr:\n%s", stderr.String())
	}
	loaded := ourPrograms(t, progName)
	var ours []uint32
	for id := range loaded {
		if !before[id] {
			ours = append(ours, id)
		}
	}
	if len(ours) == 0 {
		t.Fatalf("no %s program loaded while gobcc runs", progName)
	}
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	rest, _ := io.ReadAll(stdout)
	err = cmd.Wait()
	if err != nil {
		t.Fatalf("gobcc run after SIGINT: %v; stderr:\n%s", err, stderr.String())
	}
	if !strings.Contains(string(rest), "callers (hash,") {
		t.Errorf("no final table print after SIGINT:\n%s", rest)
	}
	// The kernel frees a program once its last reference is gone, which
	// can trail the process's exit by an RCU grace period.
	for _, id := range ours {
		var lastErr error
		for i := 0; i < 100; i++ {
			fd, err := bpfsys.ProgGetFDByID(id)
			if err != nil {
				lastErr = err
				break
			}
			syscall.Close(fd)
			time.Sleep(50 * time.Millisecond)
		}
		if !errors.Is(lastErr, bpfsys.ErrNoSuchObject) {
			t.Errorf("program %d still loaded after gobcc exited (%v)", id, lastErr)
		}
	}
}

func TestDoctorReportsKprobes(t *testing.T) {
	requireRoot(t)
	r := gobcc(t, "", "doctor", "-o", "json")
	wantCode(t, r, exitOK)
	checks := map[string]map[string]any{}
	for _, o := range jsonLines(t, r.stdout) {
		checks[o["check"].(string)] = o
	}
	_, pmuErr := os.Stat("/sys/bus/event_source/devices/kprobe")
	_, eventsErr := os.Stat("/sys/kernel/tracing/kprobe_events")
	kprobes, ok := checks["kprobes"]
	if !ok {
		t.Fatalf("no kprobes check:\n%s", r.stdout)
	}
	wantStatus := doctor.StatusOK
	if pmuErr != nil && eventsErr != nil {
		wantStatus = doctor.StatusFail
	}
	if kprobes["status"] != wantStatus {
		t.Errorf("kprobes: %v, want status %s", kprobes, wantStatus)
	}
	for _, name := range []string{"privileges", "libbcc", "kernel headers", "tracefs", "BTF", "tracepoints", "uprobes", "fentry", "batch map ops", "ring buffer", "kptr_restrict", "struct offsets"} {
		if _, ok := checks[name]; !ok {
			t.Errorf("doctor has no %q check", name)
		}
	}
	text := gobcc(t, "", "doctor")
	if !regexp.MustCompile(`(?m)^(FAIL|OK) +kprobes`).MatchString(text.stdout) {
		t.Errorf("text output lacks the kprobes line:\n%s", text.stdout)
	}
}

func TestDoctorComparesStructOffsets(t *testing.T) {
	requireRoot(t)
	r := gobcc(t, "", "doctor", "-o", "json")
	for _, o := range jsonLines(t, r.stdout) {
		if o["check"] != "struct offsets" {
			continue
		}
		detail := o["detail"].(string)
		if !strings.Contains(detail, "task_struct.pid") {
			t.Fatalf("struct offsets: %v", o)
		}
		if o["status"] == doctor.StatusFail && !regexp.MustCompile(`task_struct\.pid \d+ in the .* headers, \d+ in the kernel`).MatchString(detail) {
			t.Errorf("a mismatch must give both offsets: %s", detail)
		}
		return
	}
	t.Fatalf("no struct offsets check:\n%s", r.stdout)
}

func TestKsymBothWays(t *testing.T) {
	requireRoot(t)
	r := gobcc(t, "", "ksym", "--name", "vfs_read")
	wantCode(t, r, exitOK)
	fields := strings.Fields(r.stdout)
	if len(fields) != 2 || fields[0] != "vfs_read" {
		t.Fatalf("ksym --name: %q", r.stdout)
	}
	r = gobcc(t, "", "ksym", fields[1])
	wantCode(t, r, exitOK)
	if !strings.Contains(r.stdout, " vfs_read+0x0 [kernel]") {
		t.Fatalf("ksym %s: %q", fields[1], r.stdout)
	}
	r = gobcc(t, "", "ksym", "--name", "gobcc_no_such_symbol")
	wantCode(t, r, exitRuntime)
}

func TestTablesListsTypes(t *testing.T) {
	requireRoot(t)
	r := gobcc(t, "", "tables", "testdata/kmalloc_callers.c")
	wantCode(t, r, exitOK)
	if !regexp.MustCompile(`(?m)^callers +hash +unsigned long long \(8\) +unsigned long \(8\) +10240$`).MatchString(r.stdout) {
		t.Fatalf("tables output:\n%s", r.stdout)
	}
}

func TestVersion(t *testing.T) {
	r := gobcc(t, "", "version", "-o", "json")
	wantCode(t, r, exitOK)
	v := jsonLines(t, r.stdout)[0]
	if v["gobcc"] == "" || v["kernel"] == "" || v["libbcc"] == "" {
		t.Fatalf("version: %v", v)
	}
}

func TestRunTraceStreamsPrintk(t *testing.T) {
	requireRoot(t)
	cmd := exec.Command(gobccBinary, "run", "--trace", "-o", "json", "--duration", "3s", "testdata/cli_trace.c")
	cmd.Dir = repoRoot
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Exec until the run ends: every exec writes one trace line.
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var err error
loop:
	for {
		select {
		case err = <-done:
			break loop
		default:
			exec.Command("/bin/true").Run()
			time.Sleep(100 * time.Millisecond)
		}
	}
	if strings.Contains(errOut.String(), "another process is reading trace_pipe") {
		testutil.RequireKernel(t, "trace_pipe is held by another reader")
	}
	if err != nil {
		t.Fatalf("gobcc run --trace: %v\n%s", err, errOut.String())
	}
	found := false
	for _, o := range jsonLines(t, out.String()) {
		if o["type"] == "trace" && o["message"] == "gobcc cli trace" && o["pid"].(float64) > 0 {
			found = true
		}
		if o["type"] == "trace" && o["raw"] == "" {
			t.Errorf("empty trace line passed through: %v", o)
		}
	}
	if !found {
		t.Fatalf("no trace object with the printk message:\n%s", out.String())
	}
}

// childPIDs lists the processes whose parent is pid: the children of each
// of its threads.
func childPIDs(pid int) []string {
	files, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", pid))
	var pids []string
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err == nil {
			pids = append(pids, strings.Fields(string(data))...)
		}
	}
	return pids
}

func TestSIGINTDuringCompileStopsIt(t *testing.T) {
	requireRoot(t)
	// 1500 functions of arithmetic keep clang busy for minutes.
	var src strings.Builder
	src.WriteString("BPF_ARRAY(slow, u64, 64);\n")
	for i := 0; i < 1500; i++ {
		fmt.Fprintf(&src, "int slow_fn_%d(void *ctx) {\n  int k = %d & 63; u64 *v = slow.lookup(&k); if (!v) return 0;\n  u64 x = *v;\n", i, i)
		for j := 0; j < 40; j++ {
			fmt.Fprintf(&src, "  x = x * %d + (x >> %d) ^ %d;\n", j+3, j%13+1, i*j)
		}
		src.WriteString("  *v = x; return 0;\n}\n")
	}
	prog := filepath.Join(t.TempDir(), "slow.c")
	if err := os.WriteFile(prog, []byte(src.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(gobccBinary, "run", prog)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()

	const hangGuard = 2 * time.Minute // the compile alone takes longer
	giveUp := time.Now().Add(hangGuard)
	var helper []string
	for len(helper) == 0 {
		if time.Now().After(giveUp) {
			t.Fatal("gobcc started no compile helper")
		}
		select {
		case err := <-exited:
			t.Fatalf("gobcc ended before the signal: %v; stderr:\n%s", err, stderr.String())
		case <-time.After(20 * time.Millisecond):
		}
		helper = childPIDs(cmd.Process.Pid)
	}
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("gobcc run after SIGINT during the compile: %v; stderr:\n%s", err, stderr.String())
		}
	case <-time.After(hangGuard):
		t.Fatal("gobcc run did not stop after SIGINT: the compile went on")
	}
	for _, pid := range helper {
		if _, err := os.Stat("/proc/" + pid); err == nil {
			t.Errorf("compile helper %s outlived gobcc", pid)
		}
	}
	if stdout.Len() > 0 {
		t.Errorf("output after a cancelled compile:\n%s", stdout.String())
	}
}

// TestBuildThenRunObject: gobcc build writes an object that gobcc run loads
// with libbcc out of reach, printing the seed program's call sites.
func TestBuildThenRunObject(t *testing.T) {
	requireRoot(t)
	obj := filepath.Join(t.TempDir(), "seed.o")
	r := gobcc(t, "", "build", "testdata/kmalloc_callers.c", "-o", obj)
	wantCode(t, r, 0)
	if !strings.Contains(r.stdout, "wrote "+obj) {
		t.Errorf("build printed %q", r.stdout)
	}
	t.Setenv("GOBCC_LIBBCC", "/nonexistent/libbcc.so.0")
	r = gobcc(t, "", "run", "--ksym", "--top", "3", "--duration", "1500ms", obj)
	wantCode(t, r, 0)
	found := false
	for _, line := range strings.Split(r.stdout, "\n") {
		if m := symbolLine.FindStringSubmatch(line); m != nil && !strings.HasPrefix(m[1], "0x") {
			found = true
		}
	}
	if !found {
		t.Errorf("no call site printed by name:\n%s\n%s", r.stdout, r.stderr)
	}
	os.Chmod(obj, 0o666)
	r = gobcc(t, "", "run", "--duration", "1s", obj)
	if r.code == 0 || !strings.Contains(r.stderr, "writable by group or others") {
		t.Errorf("a world-writable object ran (exit %d): %s", r.code, r.stderr)
	}
}

func TestCacheCommands(t *testing.T) {
	requireRoot(t)
	t.Setenv("GOBCC_CACHE_DIR", t.TempDir())
	wantCode(t, gobcc(t, "", "run", "--duration", "100ms", "testdata/kmalloc_callers.c"), 0)
	r := gobcc(t, "", "cache", "ls")
	wantCode(t, r, 0)
	if !strings.Contains(r.stdout, "1 entries") {
		t.Errorf("cache ls after one run: %q", r.stdout)
	}
	r = gobcc(t, "", "cache", "ls", "-o", "json")
	if lines := jsonLines(t, r.stdout); len(lines) != 1 || lines[0]["type"] != "cache_entry" {
		t.Errorf("cache ls -o json: %q", r.stdout)
	}
	wantCode(t, gobcc(t, "", "cache", "prune", "0"), 0)
	if r := gobcc(t, "", "cache", "ls"); !strings.Contains(r.stdout, "0 entries") {
		t.Errorf("cache ls after prune 0: %q", r.stdout)
	}
	wantCode(t, gobcc(t, "", "run", "--no-cache", "--duration", "100ms", "testdata/kmalloc_callers.c"), 0)
	if r := gobcc(t, "", "cache", "ls"); !strings.Contains(r.stdout, "0 entries") {
		t.Errorf("--no-cache stored an entry: %q", r.stdout)
	}
	wantCode(t, gobcc(t, "", "cache", "prune", "x"), exitUsage)
}
