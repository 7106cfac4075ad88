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

func TestKprobeEventsMissing(t *testing.T) {
	testutil.RequireRoot(t)
	if ProbeEventsSupported("kprobe_events") {
		t.Skip("this kernel has kprobe_events")
	}
	if _, err := AddKprobe("gobcc_test", "k", "vfs_read", 0, true, 8); !errors.Is(err, ErrNoProbeEvents) {
		t.Errorf("AddKprobe: %v, want ErrNoProbeEvents", err)
	}
}
