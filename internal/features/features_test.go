package features

import (
	"errors"
	"os"
	"slices"
	"testing"

	"github.com/gobcc/gobcc/internal/testutil"
)

func TestAllNamesEveryProbeAndLeavesNothingOpen(t *testing.T) {
	testutil.RequireRoot(t)
	fds := func() int {
		entries, err := os.ReadDir("/proc/self/fd")
		if err != nil {
			t.Fatal(err)
		}
		return len(entries)
	}
	before := fds()
	results := All()
	if n := fds(); n != before {
		t.Errorf("All left descriptors open: %d before, %d after", before, n)
	}
	var names []string
	for _, r := range results {
		names = append(names, r.Name)
		if r.Err != nil && !errors.Is(r.Err, ErrNotSupported) {
			t.Errorf("%s: error %v does not wrap ErrNotSupported", r.Name, r.Err)
		}
		if r.Detail == "" {
			t.Errorf("%s: no detail", r.Name)
		}
	}
	want := []string{"tracefs", "BTF", "kprobes", "uprobes", "tracepoints", "raw tracepoints",
		"fentry/kfunc", "LSM", "perf events", "XDP", "batch map ops", "ring buffer"}
	if !slices.Equal(names, want) {
		t.Errorf("names %q, want %q", names, want)
	}
	// What every kernel gobcc targets has (tracefs, tracepoints, perf
	// events): a probe answering no there is broken.
	for _, r := range results {
		switch r.Name {
		case "tracefs", "tracepoints", "perf events", "raw tracepoints":
			if r.Err != nil {
				t.Errorf("%s refused: %v", r.Name, r.Err)
			}
		}
	}
}

func TestPrivilegedAsRoot(t *testing.T) {
	testutil.RequireRoot(t)
	if !Privileged() {
		t.Error("Privileged() = false as root")
	}
}
