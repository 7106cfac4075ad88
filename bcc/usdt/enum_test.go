package usdt

import (
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"testing"

	"github.com/gobcc/gobcc/internal/testutil"
	"github.com/gobcc/gobcc/internal/usym/usymtest"
)

// bccUSDTDump prints, through BCC Python, what the Go side's
// describeUSDT prints, for a binary (pid 0) or a process.
const bccUSDTDump = `
import sys
from bcc import USDT
pid, path = int(sys.argv[1]), sys.argv[2]
u = USDT(pid=pid) if pid else USDT(path=path)
for p in u.enumerate_probes():
    print("%s bin=%s nargs=%d" % (p, p.bin_path.decode(), p.num_arguments))
    for i in range(p.num_locations):
        l = p.get_location(i)
        print("  %s" % l)
        for a in range(p.num_arguments):
            print("    %s" % l.get_argument(a))
u.enable_probe("gobcc:tick", "on_tick")
print("ctype0=%s ctype1=%s" % (u.get_probe_arg_ctype("gobcc:tick", 0), u.get_probe_arg_ctype("tick", 1)))
for (b, f, a, p) in u.enumerate_active_probes():
    print("active %s %s 0x%x %d" % (b.decode(), f.decode(), a, p))
print("TEXT")
print(u.get_text())
`

func describeUSDT(t *testing.T, u *Context) string {
	t.Helper()
	probes, err := u.Probes()
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, p := range probes {
		fmt.Fprintf(&b, "%s bin=%s nargs=%d\n", p, p.BinPath, p.NumArguments)
		for _, l := range p.Locations {
			fmt.Fprintf(&b, "  %s\n", l)
			for _, a := range l.Arguments {
				fmt.Fprintf(&b, "    %s\n", a)
			}
		}
	}
	if err := u.EnableProbe("gobcc:tick", "on_tick"); err != nil {
		t.Fatal(err)
	}
	c0, err := u.ProbeArgCType("gobcc:tick", 0)
	if err != nil {
		t.Fatal(err)
	}
	c1, err := u.ProbeArgCType("tick", 1)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(&b, "ctype0=%s ctype1=%s\n", c0, c1)
	active, err := u.ActiveProbes()
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range active {
		fmt.Fprintf(&b, "active %s %s 0x%x %d\n", a.BinPath, a.FnName, a.Addr, a.PID)
	}
	text, err := u.Text()
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(&b, "TEXT\n%s\n", text)
	return b.String()
}

// TestIntrospectionMatchesBCC compares probes, locations, arguments,
// argument C types, active probes and the generated argument code with
// BCC Python's USDT object, for a binary and for a running process.
func TestIntrospectionMatchesBCC(t *testing.T) {
	testutil.RequireRoot(t)
	dir := t.TempDir()
	bin := gcc(t, dir, "usdt_target")
	// libbcc enables probes with semaphores only in a process context.
	noSem := gcc(t, dir, "usdt_target_nosem", "-DNO_SEMAPHORES")
	c := testutil.StartChild(t, bin, "3")
	c.Run(t) // the process has started and mapped everything
	for _, tc := range []struct {
		name, bin string
		u         *Context
		pid       int
	}{{"path", noSem, ForPath(noSem), 0}, {"pid", bin, ForPID(c.PID()), c.PID()}} {
		t.Run(tc.name, func(t *testing.T) {
			got := describeUSDT(t, tc.u)
			out, err := exec.Command(usymtest.Python, "-c", bccUSDTDump, fmt.Sprint(tc.pid), tc.bin).CombinedOutput()
			if err != nil {
				t.Fatalf("BCC Python: %v\n%s", err, out)
			}
			want := strings.TrimRight(string(out), "\n") + "\n"
			got = strings.TrimRight(got, "\n") + "\n"
			if got != want {
				t.Errorf("gobcc:\n%s\nBCC Python:\n%s", got, want)
			}
			// Something that can fail: the probes are really there.
			for _, s := range []string{"gobcc:tick [sema 0x", "gobcc:plain [sema 0x", "nargs=2", "_bpf_readarg_on_tick_2"} {
				if !strings.Contains(got, s) {
					t.Errorf("missing %q in\n%s", s, got)
				}
			}
		})
	}
}

func TestEnableProbeChecked(t *testing.T) {
	testutil.RequireRoot(t)
	dir := t.TempDir()
	bin := gcc(t, dir, "usdt_target_nosem", "-DNO_SEMAPHORES")
	u := ForPath(bin)
	if err := u.EnableProbeChecked("gobcc:plain", "on_plain"); err != nil {
		t.Fatalf("existing probe: %v", err)
	}
	err := u.EnableProbeChecked("gobcc:nosuch", "on_plain")
	if !errors.Is(err, ErrUSDT) || !strings.Contains(err.Error(), "--enable-dtrace") {
		t.Fatalf("missing probe: want ErrUSDT with BCC's advice, got %v", err)
	}
	if len(u.probes) != 1 {
		t.Errorf("a failed EnableProbeChecked left the probe enabled: %v", u.probes)
	}
	if _, err := u.ProbeArgCType("gobcc:plain", 5); !errors.Is(err, ErrUSDT) {
		t.Errorf("argument 5 of a 1-argument probe: want ErrUSDT, got %v", err)
	}
	if _, err := New(0, "").Probes(); !errors.Is(err, ErrUSDT) {
		t.Errorf("context without pid or path: want ErrUSDT, got %v", err)
	}
}
