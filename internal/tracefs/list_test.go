package tracefs

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/gobcc/gobcc/internal/bpfsys"
)

// The kernel's list is unreadable here (lockdown), so the parsing is
// tested on a file in its format.
func TestKernelFunctionsFrom(t *testing.T) {
	file := filepath.Join(t.TempDir(), "available_filter_functions")
	data := "vfs_write\nvfs_read\nksys_read\nvfs_read\nxfs_vfs_thing [xfs]\nvfs_iter_read [overlay]\n"
	if err := os.WriteFile(file, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := KernelFunctionsFrom(file, "vfs_*")
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"vfs_iter_read", "vfs_read", "vfs_write"}; !slices.Equal(got, want) {
		t.Errorf("vfs_*: %v, want %v", got, want)
	}
	if _, err := KernelFunctionsFrom(file, "["); err == nil {
		t.Error("bad pattern: want an error")
	}
	if _, err := KernelFunctionsFrom(filepath.Join(t.TempDir(), "none"), "*"); !errors.Is(err, bpfsys.ErrNotSupported) {
		t.Errorf("no file: want ErrNotSupported, got %v", err)
	}
}

func TestParseTracepointFormat(t *testing.T) {
	format := `name: sched_process_exec
ID: 365
format:
	field:unsigned short common_type;	offset:0;	size:2;	signed:0;
	field:int common_pid;	offset:4;	size:4;	signed:1;

	field:__data_loc char[] filename;	offset:8;	size:4;	signed:0;
	field:char comm[16];	offset:12;	size:16;	signed:0;
	field:const char * name;	offset:32;	size:8;	signed:0;
	field:unsigned long long ts;	offset:40;	size:8;	signed:0;
`
	got := ParseFormat(format)
	var decls []string
	for _, f := range got {
		decls = append(decls, f.String())
	}
	want := []string{"int data_loc_filename", "char comm[16]", "const char * name", "unsigned long long ts"}
	if !slices.Equal(decls, want) {
		t.Errorf("fields %q, want %q", decls, want)
	}
	if got[1].Offset != 12 || got[1].Size != 16 || got[0].Decl != "__data_loc char[] filename" {
		t.Errorf("layout: %+v", got)
	}
}

// Listing a synthetic tracefs: globs on either part, ftrace's own events
// (no "enable") left out, a malformed glob refused.
func TestListTracepointsAt(t *testing.T) {
	dir := t.TempDir()
	for _, ev := range []string{"sched/sched_switch", "sched/sched_wakeup", "syscalls/sys_enter_openat", "ftrace/function"} {
		os.MkdirAll(filepath.Join(dir, "events", ev), 0o755)
		if ev != "ftrace/function" {
			os.WriteFile(filepath.Join(dir, "events", ev, "enable"), []byte("0\n"), 0o644)
		}
	}
	for pattern, want := range map[string][]string{
		"sched:*":         {"sched:sched_switch", "sched:sched_wakeup"},
		"*:sys_enter_*":   {"syscalls:sys_enter_openat"},
		"sched_w*":        {"sched:sched_wakeup"},
		"":                {"sched:sched_switch", "sched:sched_wakeup", "syscalls:sys_enter_openat"},
		"ftrace:function": nil,
	} {
		got, err := listTracepointsAt(dir, pattern)
		if err != nil || !slices.Equal(got, want) {
			t.Errorf("%q: %v, %v; want %v", pattern, got, err, want)
		}
	}
	if _, err := listTracepointsAt(dir, "["); err == nil {
		t.Error("bad pattern: want an error")
	}
}
