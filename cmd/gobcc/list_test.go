package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gobcc/gobcc/bcc"
	"github.com/gobcc/gobcc/features"
	"github.com/gobcc/gobcc/internal/testutil"
	"github.com/gobcc/gobcc/probes"
	"github.com/gobcc/gobcc/symbols"
)

// bpftraceList runs bpftrace -l (or -lv) and returns its lines.
func bpftraceList(t *testing.T, args ...string) []string {
	t.Helper()
	if _, err := exec.LookPath("bpftrace"); err != nil {
		testutil.RequireKernel(t, "bpftrace is not installed")
	}
	out, err := exec.Command("bpftrace", args...).Output()
	if err != nil {
		t.Fatalf("bpftrace %v: %v", args, err)
	}
	return lines(string(out))
}

func lines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if l != "" {
			out = append(out, l)
		}
	}
	return out
}

func sortedLines(s string) []string {
	l := lines(s)
	slices.Sort(l)
	return l
}

func sameSet(t *testing.T, what string, got, want []string) {
	t.Helper()
	g, w := slices.Clone(got), slices.Clone(want)
	slices.Sort(g)
	slices.Sort(w)
	if len(g) == 0 || !slices.Equal(g, w) {
		var extra, missing []string
		for _, x := range g {
			if !slices.Contains(w, x) {
				extra = append(extra, x)
			}
		}
		for _, x := range w {
			if !slices.Contains(g, x) {
				missing = append(missing, x)
			}
		}
		t.Errorf("%s: %d probes, bpftrace %d; only gobcc: %v; only bpftrace: %v", what, len(g), len(w), extra, missing)
	}
}

func TestListTracepointsMatchesBpftrace(t *testing.T) {
	requireRoot(t)
	for _, spec := range []string{"tracepoint:sched:*", "tracepoint:*:sys_enter_open*", "tracepoint:*"} {
		r := gobcc(t, "", "list", spec)
		wantCode(t, r, 0)
		sameSet(t, spec, lines(r.stdout), bpftraceList(t, "-l", spec))
	}
}

// TestListVerboseFieldsMatchBpftrace compares -v's fields with bpftrace's,
// libbcc's renaming of __data_loc fields aside.
func TestListVerboseFieldsMatchBpftrace(t *testing.T) {
	requireRoot(t)
	for _, tp := range []string{"tracepoint:sched:sched_process_exec", "tracepoint:sched:sched_switch", "tracepoint:syscalls:sys_enter_openat"} {
		r := gobcc(t, "", "list", "-v", tp)
		wantCode(t, r, 0)
		got := lines(r.stdout)
		want := bpftraceList(t, "-lv", tp)
		if len(got) == 0 || got[0] != tp {
			t.Fatalf("%s: first line %v", tp, got)
		}
		// bpftrace: "    __data_loc char[] filename"; gobcc (libbcc's
		// args): "    int data_loc_filename".
		for i, w := range want {
			if f := strings.Fields(w); len(f) > 2 && f[0] == "__data_loc" {
				want[i] = "    int data_loc_" + f[len(f)-1]
			}
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s:\ngobcc:\n%s\nbpftrace (data_loc renamed):\n%s", tp, strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	}
	// The same through the API, with what only the format file says.
	fields, err := probes.TracepointFields("sched:sched_process_exec")
	if err != nil {
		t.Fatal(err)
	}
	if len(fields) != 3 || fields[0].Name != "data_loc_filename" || fields[0].Decl != "__data_loc char[] filename" || fields[1].Offset != 12 || !fields[1].Signed {
		t.Errorf("sched_process_exec fields: %+v", fields)
	}
	if _, err := probes.TracepointFields("sched:nosuch"); !errors.Is(err, bcc.ErrTracepointNotFound) {
		t.Errorf("missing tracepoint: want ErrTracepointNotFound, got %v", err)
	}
}

func TestListUprobesMatchesBpftrace(t *testing.T) {
	requireRoot(t)
	libc, err := symbols.FindLibrary("c")
	if err != nil {
		t.Fatal(err)
	}
	spec := "uprobe:" + libc + ":mall*"
	r := gobcc(t, "", "list", spec)
	wantCode(t, r, 0)
	sameSet(t, spec, lines(r.stdout), bpftraceList(t, "-l", spec))

	// Every function; bpftrace 0.17 leaves out GCC's local clones
	// ("name.part.0"), which gobcc lists: they can be probed.
	all := "uprobe:" + libc + ":*"
	r = gobcc(t, "", "list", all)
	wantCode(t, r, 0)
	var got []string
	for _, l := range lines(r.stdout) {
		if !strings.Contains(l, ".part.") {
			got = append(got, l)
		}
	}
	sameSet(t, all, got, bpftraceList(t, "-l", all))

	// A library name resolves to its path.
	r = gobcc(t, "", "list", "uprobe:c:malloc")
	wantCode(t, r, 0)
	if strings.TrimSpace(r.stdout) != "uprobe:"+libc+":malloc" {
		t.Errorf("uprobe:c:malloc printed %q", r.stdout)
	}
}

const listUSDTSrc = `
#include <sys/sdt.h>
#include <unistd.h>
int main(int argc, char **argv) {
	DTRACE_PROBE2(gobcclist, start, argc, argv);
	DTRACE_PROBE1(gobcclist, stop, argc);
	DTRACE_PROBE(other, ping);
	if (argc > 1) pause();
	return 0;
}
`

func TestListUSDT(t *testing.T) {
	requireRoot(t)
	dir := t.TempDir()
	src := filepath.Join(dir, "usdt.c")
	bin := filepath.Join(dir, "usdt_list")
	if err := os.WriteFile(src, []byte(listUSDTSrc), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("gcc", "-O1", "-o", bin, src).CombinedOutput(); err != nil {
		t.Fatalf("gcc: %v\n%s", err, out)
	}
	spec := "usdt:" + bin + ":*"
	r := gobcc(t, "", "list", spec)
	wantCode(t, r, 0)
	sameSet(t, spec, lines(r.stdout), bpftraceList(t, "-l", spec))

	// provider:name patterns and arguments.
	r = gobcc(t, "", "list", "-v", "usdt:"+bin+":gobcclist:st*")
	wantCode(t, r, 0)
	got := lines(r.stdout)
	if len(got) != 5 || got[0] != "usdt:"+bin+":gobcclist:start" || !strings.HasPrefix(got[1], "    arg0: 4 signed   bytes @ ") ||
		!strings.HasPrefix(got[2], "    arg1: 8 unsigned bytes @ ") || got[3] != "usdt:"+bin+":gobcclist:stop" {
		t.Errorf("usdt -v:\n%s", r.stdout)
	}

	// A process: its binary's probes (and its libraries').
	cmd := exec.Command(bin, "wait")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	r = gobcc(t, "", "-o", "json", "list", fmt.Sprintf("usdt:%d:ping", cmd.Process.Pid))
	wantCode(t, r, 0)
	objs := jsonLines(t, r.stdout)
	if len(objs) != 1 || objs[0]["kind"] != "usdt" || !strings.HasSuffix(objs[0]["probe"].(string), ":other:ping") {
		t.Errorf("usdt:PID:ping: %v", objs)
	}
}

func TestListKprobesSaysWhy(t *testing.T) {
	requireRoot(t)
	r := gobcc(t, "", "list", "kprobe:vfs_*")
	if features.KprobesSupported() == nil {
		wantCode(t, r, 0)
		if !strings.Contains(r.stdout, "kprobe:vfs_read\n") {
			t.Errorf("kprobe:vfs_* lacks vfs_read:\n%s", r.stdout)
		}
		return
	}
	// This kernel: no kprobes, and lockdown hides the function list.
	if r.code == 0 {
		if !strings.Contains(r.stderr, "CONFIG_KPROBES") {
			t.Errorf("functions listed without saying kprobes cannot attach: %q", r.stderr)
		}
		return
	}
	wantCode(t, r, 5)
	if !strings.Contains(r.stderr, "no kprobes") || !strings.Contains(r.stderr, "CONFIG_KPROBES") {
		t.Errorf("stderr does not say why: %q", r.stderr)
	}
}

func TestListRawTracepointsAndBarePattern(t *testing.T) {
	requireRoot(t)
	r := gobcc(t, "", "list", "rawtracepoint:sched_process_e*")
	wantCode(t, r, 0)
	if got := sortedLines(r.stdout); !slices.Equal(got, []string{"rawtracepoint:sched_process_exec", "rawtracepoint:sched_process_exit"}) {
		t.Errorf("rawtracepoint:sched_process_e*: %v", got)
	}
	r = gobcc(t, "", "-o", "json", "list", "-v", "sched_process_ex*")
	wantCode(t, r, 0)
	kinds := map[string]int{}
	for _, o := range jsonLines(t, r.stdout) {
		kinds[o["kind"].(string)]++
		if o["probe"] == "tracepoint:sched:sched_process_exec" && o["fields"] == nil {
			t.Errorf("-v -o json: no fields for %v", o)
		}
	}
	if kinds["tracepoint"] != 2 || kinds["rawtracepoint"] != 2 {
		t.Errorf("bare pattern found %v, want 2 tracepoints and 2 raw tracepoints", kinds)
	}
	r = gobcc(t, "", "list", "uprobe:c:[")
	wantCode(t, r, 2)
}
