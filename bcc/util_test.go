package bcc

import (
	"os/exec"
	"testing"
	"time"

	"github.com/gobcc/gobcc/headers"
	"github.com/gobcc/gobcc/internal/testutil"
	"github.com/gobcc/gobcc/symbols"
)

func TestMonotonicTime(t *testing.T) {
	a := MonotonicTime()
	time.Sleep(2 * time.Millisecond)
	if b := MonotonicTime(); b <= a {
		t.Errorf("clock did not advance: %d then %d", a, b)
	}
}

func TestKernelStructHasField(t *testing.T) {
	for _, c := range []struct {
		st, field string
		want      bool
	}{
		{"task_struct", "pid", true},
		{"task_struct", "no_such_field", false},
		{"sk_buff", "len", true},
		{"request", "rq_disk", false}, // removed in 5.19: what biolatency checks
		{"sock_common", "skc_family", true},
	} {
		got, err := headers.KernelStructHasField(c.st, c.field)
		if err != nil {
			testutil.RequireKernel(t, "kernel BTF: %v", err)
		}
		if got != c.want {
			t.Errorf("headers.KernelStructHasField(%s, %s) = %v, want %v", c.st, c.field, got, c.want)
		}
	}
	if _, err := headers.KernelStructHasField("no_such_struct_gobcc", "x"); err == nil {
		t.Error("unknown struct gave no error")
	}
}

func TestFindExe(t *testing.T) {
	if p, err := symbols.FindExe("sh"); err != nil || p == "" {
		t.Errorf("symbols.FindExe(sh) = %q, %v", p, err)
	}
	if _, err := symbols.FindExe("no-such-program-gobcc"); err == nil {
		t.Error("symbols.FindExe of a missing program succeeded")
	}
}

func TestCPUs(t *testing.T) {
	online, err := OnlineCPUs()
	if err != nil || len(online) == 0 {
		t.Fatalf("OnlineCPUs = %v, %v", online, err)
	}
	possible, err := PossibleCPUs()
	if err != nil || possible < len(online) {
		t.Errorf("PossibleCPUs = %d, %v (online %v)", possible, err, online)
	}
}

func TestDetectLanguage(t *testing.T) {
	py, err := exec.LookPath("/usr/bin/python3")
	if err != nil {
		testutil.RequireKernel(t, "no /usr/bin/python3: %v", err)
	}
	cmd := exec.Command(py, "-c", "import time; time.sleep(30)")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	time.Sleep(100 * time.Millisecond)
	if got, err := symbols.DetectLanguage(nil, cmd.Process.Pid); err != nil || got != "python" {
		t.Errorf("symbols.DetectLanguage(python) = %q, %v", got, err)
	}
	if got, _ := symbols.DetectLanguage([]string{"java"}, cmd.Process.Pid); got != "" {
		t.Errorf("with candidates [java]: %q, want \"\"", got)
	}
	// sleep is C: it maps libc and nothing of a language runtime.
	sleep := exec.Command("sleep", "30")
	sleep.Start()
	defer func() { sleep.Process.Kill(); sleep.Wait() }()
	time.Sleep(50 * time.Millisecond)
	if got, err := symbols.DetectLanguage(nil, sleep.Process.Pid); err != nil || got != "c" {
		t.Errorf("symbols.DetectLanguage(sleep) = %q, %v, want c", got, err)
	}
	if _, err := symbols.DetectLanguage(nil, 1<<30); err == nil {
		t.Error("a missing process gave no error")
	}
}
