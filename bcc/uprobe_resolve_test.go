package bcc

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/gobcc/gobcc/internal/testutil"
)

// With a pid, a uprobe goes on the file as the process sees it,
// /proc/PID/root/<path>, as libbcc's bcc_resolve_symname names it; it
// still fires, and detaching by the same name and options finds it.
func TestUprobePIDResolvesThroughProcRoot(t *testing.T) {
	testutil.RequireRoot(t)
	bins := buildUprobeTargets(t)
	ch := testutil.StartChild(t, bins.pie, "5")
	pid := ch.PID()
	// Resolving "gobcctest" by pid reads the child's mappings: wait until the
	// dynamic linker has mapped the library (a warm New is faster than that).
	waitMapped(t, pid, "libgobcctest.so")
	b, err := New(Options{Text: uprobeCountProg})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if _, err := b.AttachUprobe("gobcctest", "gobcc_lib_fn", "on_entry", UprobeOptions{PID: pid}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.AttachUprobeRe(bins.pie, "gobcc_tar", "on_return", UprobeOptions{PID: pid}); err != nil {
		t.Fatal(err)
	}
	var targets []string
	for _, a := range b.Links() {
		targets = append(targets, a.Target())
	}
	root := fmt.Sprintf("_proc_%d_root_", pid)
	if len(targets) != 2 {
		t.Fatalf("attachments %q, want 2", targets)
	}
	for _, tg := range targets {
		if !strings.Contains(tg, root) {
			t.Errorf("uprobe %s is not on /proc/%d/root/...", tg, pid)
		}
	}
	ch.Run(t)
	if got := tableUint(t, b, "hits", 0); got != 5 {
		t.Errorf("library function entries = %d, want 5", got)
	}
	if got := tableUint(t, b, "hits", 1); got != 5 {
		t.Errorf("gobcc_target hits through sym_re = %d, want 5", got)
	}
	if err := b.DetachUprobe("gobcctest", "gobcc_lib_fn", UprobeOptions{PID: pid}); err != nil {
		t.Errorf("DetachUprobe with the same pid: %v", err)
	}
	if got := b.NumOpenUprobes(); got != 1 {
		t.Errorf("NumOpenUprobes after detach = %d, want 1", got)
	}
}

// After Close, uprobe calls fail with ErrClosed and do not bring back the
// symbol resolver Close released.
func TestUprobeAfterClose(t *testing.T) {
	testutil.RequireRoot(t)
	b, err := New(Options{Text: uprobeCountProg})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	for name, err := range map[string]error{
		"AttachUprobe":         attachErr(b.AttachUprobe("c", "getpid", "on_entry")),
		"AttachUprobe(addr)":   attachErr(b.AttachUprobe("c", "", "on_entry", UprobeOptions{Addr: 0x1000})),
		"AttachUprobeRe":       attachErr(b.AttachUprobeRe("c", "getpid", "on_entry")),
		"DetachUretprobe":      b.DetachUretprobe("c", "getpid"),
		"AttachUretprobe(pid)": attachErr(b.AttachUretprobe("c", "getpid", "on_return", UprobeOptions{PID: 1})),
	} {
		if !errors.Is(err, ErrClosed) {
			t.Errorf("%s after Close: %v, want ErrClosed", name, err)
		}
	}
	if b.usyms.Held() {
		t.Error("a uprobe call after Close made a new symbol resolver")
	}
}
