package testutil

import (
	"fmt"
	"os"
	"sort"
	"strings"
	"testing"
	"time"
)

// LeakSettle is how long LeakCheckMain waits, at most, for descriptors,
// goroutines and child processes to go away after the tests end: a closed
// object's goroutines may still be returning, and a child may still be
// exiting.
var LeakSettle = 5 * time.Second

// LeakCheckMain runs the package's tests and exits. It is a TestMain body:
//
//	func TestMain(m *testing.M) { testutil.LeakCheckMain(m) }
//
// When the tests pass but the process then has more open descriptors,
// goroutines or child processes than before them (after up to LeakSettle
// for them to go away), it prints what leaked and exits with status 1.
func LeakCheckMain(m *testing.M) {
	os.Exit(RunWithLeakCheck(m))
}

// RunWithLeakCheck is LeakCheckMain for a TestMain that has more to do
// after the tests: it returns the exit status instead of exiting.
func RunWithLeakCheck(m *testing.M) int {
	before := takeBaseline()
	code := m.Run()
	if code != 0 {
		return code // the failure is reported already; leaks after it are noise
	}
	if leaks := waitForLeaks(before, LeakSettle); leaks != "" {
		fmt.Fprintf(os.Stderr, "FAIL: leak check: the tests passed but left behind:\n%s", leaks)
		return 1
	}
	return 0
}

type baseline struct {
	fds        map[int]string
	goroutines map[int]bool
	children   map[int]bool
}

func takeBaseline() baseline {
	// The runtime opens its network poller's descriptors (an epoll fd and
	// an eventfd) on first use and keeps them: open them now, so that they
	// count as already there.
	if r, w, err := os.Pipe(); err == nil {
		r.Close()
		w.Close()
	}
	b := baseline{goroutines: map[int]bool{}, children: map[int]bool{}}
	b.fds, _ = FDs()
	for _, g := range Goroutines() {
		b.goroutines[g.ID] = true
	}
	for _, pid := range Children() {
		b.children[pid] = true
	}
	return b
}

// waitForLeaks polls until nothing leaks or settle has passed, and returns
// the report of the last look ("" when nothing leaked).
func waitForLeaks(before baseline, settle time.Duration) string {
	deadline := time.Now().Add(settle)
	for {
		report := leaks(before)
		if report == "" || time.Now().After(deadline) {
			return report
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func leaks(before baseline) string {
	var sb strings.Builder
	fds, err := FDs()
	if err != nil {
		fmt.Fprintf(&sb, "  (cannot list descriptors: %v)\n", err)
	}
	var fdLines []string
	for fd, target := range fds {
		if old, ok := before.fds[fd]; ok && old == target {
			continue
		}
		fdLines = append(fdLines, fmt.Sprintf("  fd %d -> %s\n", fd, target))
	}
	sort.Strings(fdLines)
	if len(fdLines) > 0 {
		fmt.Fprintf(&sb, "%d open descriptor(s):\n%s", len(fdLines), strings.Join(fdLines, ""))
	}
	var procs []string
	for _, pid := range Children() {
		if !before.children[pid] {
			procs = append(procs, "  "+describeProcess(pid)+"\n")
		}
	}
	if len(procs) > 0 {
		fmt.Fprintf(&sb, "%d child process(es):\n%s", len(procs), strings.Join(procs, ""))
	}
	var gs []string
	for _, g := range Goroutines() {
		if !before.goroutines[g.ID] && interesting(g) {
			gs = append(gs, indent(g.Stack))
		}
	}
	if len(gs) > 0 {
		fmt.Fprintf(&sb, "%d goroutine(s):\n%s", len(gs), strings.Join(gs, "\n"))
	}
	return sb.String()
}

func indent(s string) string {
	return "  " + strings.ReplaceAll(s, "\n", "\n  ") + "\n"
}
