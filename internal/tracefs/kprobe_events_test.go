package tracefs

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gobcc/gobcc/internal/testutil"
)

func TestKprobeEventName(t *testing.T) {
	name := kprobeEventName(KprobeSpec{Symbol: "do_sys_open.isra.0", Offset: 4}, 1234, 7)
	if name != "p_do_sys_open_isra_0_4_1234_7" {
		t.Errorf("name = %q", name)
	}
	long := kprobeEventName(KprobeSpec{Symbol: strings.Repeat("x", 200), Retprobe: true}, 99999, 123456)
	if len(long) > maxEventNameLen || !strings.HasPrefix(long, "r_x") {
		t.Errorf("long name %q (%d bytes)", long, len(long))
	}
	for _, n := range []string{name, long} {
		if pid, ok := eventNamePID(n); !ok || (pid != 1234 && pid != 99999) {
			t.Errorf("eventNamePID(%q) = %d, %v", n, pid, ok)
		}
	}
}

func TestKprobeEventLine(t *testing.T) {
	for _, c := range []struct {
		spec KprobeSpec
		want string // "" means an error
	}{
		{KprobeSpec{Symbol: "vfs_read"}, "p:gobcc/N vfs_read+0"},
		{KprobeSpec{Symbol: "vfs_read", Offset: 4}, "p:gobcc/N vfs_read+4"},
		{KprobeSpec{Symbol: "vfs_read", Retprobe: true}, "r:gobcc/N vfs_read"},
		{KprobeSpec{Symbol: "vfs_read", Retprobe: true, MaxActive: 8}, "r8:gobcc/N vfs_read"},
		{KprobeSpec{Symbol: "vfs_read", Retprobe: true, Offset: 4}, ""},
		{KprobeSpec{Symbol: "vfs_read", MaxActive: 8}, ""},
		{KprobeSpec{Symbol: "vfs_read", Retprobe: true, MaxActive: -1}, ""},
		{KprobeSpec{Symbol: "a b"}, ""},
		{KprobeSpec{}, ""},
	} {
		got, err := kprobeEventLine(c.spec, "N")
		if c.want == "" {
			if err == nil {
				t.Errorf("%+v: line %q, want an error", c.spec, got)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("%+v: %q, %v; want %q", c.spec, got, err, c.want)
		}
	}
}

// TestKprobeEventsOnKernel creates kprobe and kretprobe (with maxactive)
// entries, makes them count hits and removes them. On a kernel without
// kprobe_events it checks the clear error instead.
func TestKprobeEventsOnKernel(t *testing.T) {
	testutil.RequireRoot(t)
	dir, err := Dir()
	if err != nil {
		testutil.RequireKernel(t, "no tracefs: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "kprobe_events")); errors.Is(err, os.ErrNotExist) {
		_, err := CreateKprobeEvent(KprobeSpec{Symbol: "vfs_read"})
		if !errors.Is(err, ErrNoKprobeEvents) {
			t.Fatalf("without kprobe_events: err = %v, want ErrNoKprobeEvents", err)
		}
		return
	}
	for _, spec := range []KprobeSpec{
		{Symbol: "vfs_read"},
		{Symbol: "vfs_read", Retprobe: true, MaxActive: 16},
	} {
		e, err := CreateKprobeEvent(spec)
		if err != nil {
			t.Fatalf("%+v: %v", spec, err)
		}
		if e.ID == 0 {
			t.Errorf("%s: id 0", e.Name)
		}
		lines, err := KprobeEventLines()
		if err != nil {
			t.Fatal(err)
		}
		want := "p:" + e.Group + "/" + e.Name + " vfs_read"
		if spec.Retprobe {
			want = "r16:" + e.Group + "/" + e.Name + " vfs_read"
		}
		if !hasPrefixLine(lines, want) {
			t.Errorf("kprobe_events lacks %q: %q", want, lines)
		}
		enable := filepath.Join(dir, "events", e.Group, e.Name, "enable")
		if err := os.WriteFile(enable, []byte("1"), 0); err != nil {
			t.Fatalf("enable %s: %v", e.Name, err)
		}
		for i := 0; i < 10; i++ {
			if _, err := os.ReadFile("/proc/self/stat"); err != nil {
				t.Fatal(err)
			}
		}
		hits, _, err := e.KprobeHits()
		if err != nil {
			t.Error(err)
		}
		if err := os.WriteFile(enable, []byte("0"), 0); err != nil {
			t.Fatalf("disable %s: %v", e.Name, err)
		}
		t.Logf("%s: %d hits", want, hits)
		if hits == 0 {
			t.Errorf("%s: no hits after 10 reads", e.Name)
		}
		if err := e.Remove(); err != nil {
			t.Fatal(err)
		}
		if lines, _ := KprobeEventLines(); hasPrefixLine(lines, want) {
			t.Errorf("%s still listed after Remove: %q", e.Name, lines)
		}
	}
	if _, err := CreateKprobeEvent(KprobeSpec{Symbol: "gobcc_no_such_function"}); err == nil {
		t.Error("a kprobe on a missing function was accepted")
	}
}

func hasPrefixLine(lines []string, prefix string) bool {
	for _, l := range lines {
		if strings.HasPrefix(l, prefix) {
			return true
		}
	}
	return false
}
