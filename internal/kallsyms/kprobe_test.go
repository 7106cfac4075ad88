package kallsyms

import (
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"

	"github.com/gobcc/gobcc/internal/testutil"
)

// The kprobe function filter, on a synthetic kallsyms: sections, prefixes,
// types, blacklist, re.match semantics.
func TestKprobeFunctionsFilter(t *testing.T) {
	text := `ffffffff81000000 T _stext
ffffffff81000010 T vfs_read
ffffffff81000020 t vfs_readv
ffffffff81000030 T vfs_write
ffffffff81000040 D vfs_data
ffffffff81000050 t vfs_read.cold
ffffffff81000060 T perf_vfs_read
ffffffff81000070 t __SCT__vfs_x
ffffffff81000080 t _kbl_addr_vfs_y
ffffffff81000090 T __irqentry_text_start
ffffffff810000a0 T vfs_irq
ffffffff810000b0 T __irqentry_text_end
ffffffff810000c0 T __init_begin
ffffffff810000d0 T vfs_init
ffffffff810000e0 T __init_end
ffffffff810000f0 W vfs_weak
ffffffff81000100 t vfs_blocked
ffffffff81000110 t vfs_mod	[ext4]
ffffffff81000120 t vfs_read
ffffffff81000130 t myvfs_read
`
	re := regexp.MustCompile(`^(?:vfs_)`)
	got, err := FilterKprobeFunctions(strings.NewReader(text), re, map[string]bool{"vfs_blocked": true})
	if err != nil {
		t.Fatal(err)
	}
	want := "vfs_mod,vfs_read,vfs_readv,vfs_weak,vfs_write"
	if strings.Join(got, ",") != want {
		t.Errorf("got %v, want %s", got, want)
	}
}

// The kprobe function list agrees with BCC Python's get_kprobe_functions,
// given a blacklist file (BCC raises without one, as on this kernel).
func TestKprobeFunctionsParity(t *testing.T) {
	testutil.RequireRoot(t)
	dir := t.TempDir()
	os.MkdirAll(dir+"/kprobes", 0o755)
	// Blacklist two real functions.
	black := "0xffffffff81000000-0xffffffff81000010\tvfs_read\n0xffffffff81000000-0xffffffff81000010\tvfs_write\n"
	if err := os.WriteFile(dir+"/kprobes/blacklist", []byte(black), 0o644); err != nil {
		t.Fatal(err)
	}
	const pattern = `vfs_`
	script := `
import sys, bcc
bcc.DEBUGFS = sys.argv[1]
for f in sorted(bcc.BPF.get_kprobe_functions(sys.argv[2].encode())):
    print(f.decode())
`
	out, err := exec.Command("/usr/bin/python3", "-c", script, dir, pattern).Output()
	if err != nil {
		t.Fatalf("BCC Python: %v", err)
	}
	want := strings.Fields(string(out))
	blacklist, err := ReadKprobeBlacklist([]string{dir + "/kprobes/blacklist"})
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open("/proc/kallsyms")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got, err := FilterKprobeFunctions(f, regexp.MustCompile(`^(?:`+pattern+`)`), blacklist)
	if err != nil {
		t.Fatal(err)
	}
	if len(want) < 10 || strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("gobcc %d functions, BCC %d; differ:\ngobcc %v\nbcc   %v", len(got), len(want), got, want)
	}
	for _, fn := range got {
		if fn == "vfs_read" || fn == "vfs_write" {
			t.Errorf("blacklisted %s listed", fn)
		}
	}
	// The real call: no blacklist file here must not fail.
	if _, err := KprobeFunctions(pattern, []string{dir + "/none"}); err != nil {
		t.Errorf("KprobeFunctions without a blacklist: %v", err)
	}
}
