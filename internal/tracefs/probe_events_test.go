package tracefs

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/gobcc/gobcc/internal/testutil"
)

func TestUprobeEventAddRemove(t *testing.T) {
	testutil.RequireRoot(t)
	if !ProbeEventsSupported("uprobe_events") {
		testutil.RequireKernel(t, "no uprobe_events in tracefs")
		return
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	name := fmt.Sprintf("test_%d", os.Getpid())
	e, err := AddUprobe("gobcc_test", name, self, 0x1000, 0, true)
	if err != nil {
		t.Fatal(err)
	}
	dir, _ := Dir()
	listed, _ := os.ReadFile(dir + "/uprobe_events")
	if !strings.Contains(string(listed), "r:gobcc_test/"+name+" ") {
		t.Errorf("uprobe_events does not list the event:\n%s", listed)
	}
	if id, err := e.ID(); err != nil || id == 0 {
		t.Errorf("ID = %d, %v", id, err)
	}
	if err := e.Remove(); err != nil {
		t.Fatal(err)
	}
	if _, err := e.ID(); !errors.Is(err, ErrTracepointNotFound) {
		t.Errorf("ID after Remove: %v", err)
	}
	if err := e.Remove(); err == nil {
		t.Error("second Remove succeeded")
	}
	if _, err := AddUprobe("gobcc_test", "bad-name", self, 0, 0, false); err == nil {
		t.Error("invalid event name accepted")
	}
}

// TestKprobeEvents adds and removes kprobe_events entries (a kprobe with
// an offset, a kretprobe with maxactive) where the kernel has kprobes
// (make vmtest), and checks the clear error where it has none.
func TestKprobeEvents(t *testing.T) {
	testutil.RequireRoot(t)
	if !ProbeEventsSupported("kprobe_events") {
		if _, err := AddKprobe("gobcc_test", "k", "vfs_read", 0, true, 8); !errors.Is(err, ErrNoProbeEvents) {
			t.Errorf("AddKprobe without kprobe_events: %v, want ErrNoProbeEvents", err)
		}
		return
	}
	dir, _ := Dir()
	for _, c := range []struct {
		ret       bool
		offset    uint64
		maxActive int
		want      string
	}{
		{false, 0, 0, "p:gobcc_test/%s write_null"},
		{true, 0, 16, "r16:gobcc_test/%s write_null"},
	} {
		name := fmt.Sprintf("test_%d_%v", os.Getpid(), c.ret)
		e, err := AddKprobe("gobcc_test", name, "write_null", c.offset, c.ret, c.maxActive)
		if err != nil {
			t.Fatal(err)
		}
		listed, _ := os.ReadFile(dir + "/kprobe_events")
		if want := fmt.Sprintf(c.want, name); !strings.Contains(string(listed), want[strings.Index(want, ":"):]) {
			t.Errorf("kprobe_events does not list %q:\n%s", want, listed)
		}
		if id, err := e.ID(); err != nil || id == 0 {
			t.Errorf("ID = %d, %v", id, err)
		}
		if err := e.Remove(); err != nil {
			t.Fatal(err)
		}
		if listed, _ := os.ReadFile(dir + "/kprobe_events"); strings.Contains(string(listed), name) {
			t.Errorf("entry left after Remove:\n%s", listed)
		}
	}
}
