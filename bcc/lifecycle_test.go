package bcc

import (
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/gobcc/gobcc/internal/bpfsys"
	"github.com/gobcc/gobcc/internal/testutil"
)

func openFDs(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(ents)
}

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

func countIDs(t *testing.T, list func() ([]uint32, error)) int {
	t.Helper()
	ids, err := list()
	if err != nil {
		t.Fatal(err)
	}
	return len(ids)
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
	runtime.GC()
	fds, progs, maps, rss := openFDs(t), countIDs(t, bpfsys.ProgIDs), countIDs(t, bpfsys.MapIDs), rssKB(t)
	for i := 0; i < 100; i++ {
		cycle()
	}
	runtime.GC()
	if got := openFDs(t); got != fds {
		t.Errorf("open fds: %d before, %d after 100 cycles", fds, got)
	}
	if got := countIDs(t, bpfsys.ProgIDs); got > progs {
		t.Errorf("loaded programs: %d before, %d after", progs, got)
	}
	if got := countIDs(t, bpfsys.MapIDs); got > maps {
		t.Errorf("maps: %d before, %d after", maps, got)
	}
	// The kernel frees programs and maps asynchronously (RCU); the counts
	// above can lag behind but never exceed the baseline for long.
	got := rssKB(t)
	t.Logf("RSS %d kB -> %d kB over 100 cycles", rss, got)
	if got-rss > 8*1024 {
		t.Errorf("RSS grew by %d kB over 100 cycles", got-rss)
	}
}
