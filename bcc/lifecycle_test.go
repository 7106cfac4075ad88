package bcc

import (
	"fmt"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"

	"github.com/gobcc/gobcc/internal/testutil"
)

func openFDs(t *testing.T) int { return testutil.CountFDs(t) }

func rssKB(t *testing.T) int {
	t.Helper()
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(l, "VmRSS:") {
			n, _ := strconv.Atoi(strings.Fields(l)[1])
			return n
		}
	}
	t.Fatal("no VmRSS")
	return 0
}

// bpfFDs counts this process's descriptors by kind ("bpf-prog", "bpf-map",
// "[perf_event]", ...). A program or map none of our descriptors refers to
// is freed by the kernel; system-wide id lists would also count other
// processes' programs, such as another test package running in parallel.
func bpfFDs(t *testing.T) map[string]int { return testutil.FDKinds() }

// children lists the processes this process started that still exist.
func children(t *testing.T) string {
	t.Helper()
	return strings.Trim(fmt.Sprint(testutil.Children()), "[]")
}

// Opening and closing the seed program 100 times leaves no descriptor, no
// loaded program or map, and no memory behind.
func TestOpenClose100(t *testing.T) {
	testutil.RequireRoot(t)
	if testing.Short() {
		t.Skip("100 compiles take about a minute")
	}
	src := readTestdata(t, "kmalloc_callers.c")
	cycle := func() {
		b, err := New(Options{Text: src})
		if err != nil {
			t.Fatal(err)
		}
		tb, err := b.Table("callers")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tb.Items(); err != nil {
			t.Fatal(err)
		}
		b.Ksym(0)
		if err := b.Close(); err != nil {
			t.Fatal(err)
		}
	}
	// Warm up: the first cycles create lazily initialised state.
	for i := 0; i < 5; i++ {
		cycle()
	}
	// Return freed heap to the OS before each reading, so that RSS shows
	// what is still in use rather than what the runtime has yet to release.
	debug.FreeOSMemory()
	fds, kinds, rss := openFDs(t), bpfFDs(t), rssKB(t)
	for i := 0; i < 100; i++ {
		cycle()
	}
	debug.FreeOSMemory()
	if got := openFDs(t); got != fds {
		t.Errorf("open fds: %d before, %d after 100 cycles", fds, got)
	}
	if got := bpfFDs(t); fmt.Sprint(got) != fmt.Sprint(kinds) {
		t.Errorf("bpf/perf descriptors: %v before, %v after", kinds, got)
	}
	if c := children(t); c != "" {
		t.Errorf("compile helpers still running: %s", c)
	}
	got := rssKB(t)
	t.Logf("RSS %d kB -> %d kB over 100 cycles", rss, got)
	// Under -race the detector's own bookkeeping grows RSS (measured: 100
	// to 112 MB over the first 100 cycles, flat over the next 100), so only
	// the plain run, which make test also runs, checks memory.
	if got-rss > 8*1024 && !raceDetector {
		t.Errorf("RSS grew by %d kB over 100 cycles", got-rss)
	}
}
