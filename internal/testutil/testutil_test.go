package testutil

import (
	"os"
	"strings"
	"testing"
	"time"
)

func TestLeaksFindsDescriptorAndGoroutine(t *testing.T) {
	before := takeBaseline()
	if got := leaks(before); got != "" {
		t.Fatalf("nothing leaked yet, got:\n%s", got)
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	go leakyGoroutine(stop)
	report := leaks(before)
	for _, want := range []string{"2 open descriptor(s)", "pipe:[", "1 goroutine(s)", "TestLeaksFindsDescriptorAndGoroutine"} {
		if !strings.Contains(report, want) {
			t.Errorf("report lacks %q:\n%s", want, report)
		}
	}
	r.Close()
	w.Close()
	close(stop)
	if got := waitForLeaks(before, 5*time.Second); got != "" {
		t.Errorf("after cleanup, still reported:\n%s", got)
	}
}

func leakyGoroutine(stop chan struct{}) { <-stop }

func TestFDsSeesANewDescriptor(t *testing.T) {
	n := CountFDs(t)
	f, err := os.Open("/dev/null")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fds, err := FDs()
	if err != nil {
		t.Fatal(err)
	}
	if fds[int(f.Fd())] != "/dev/null" {
		t.Errorf("fd %d -> %q, want /dev/null", f.Fd(), fds[int(f.Fd())])
	}
	if got := CountFDs(t); got != n+1 {
		t.Errorf("CountFDs = %d after opening one, want %d", got, n+1)
	}
}

func TestPrivilegedAsRoot(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("checks the root case")
	}
	if !Privileged() {
		t.Error("root is not Privileged")
	}
}
