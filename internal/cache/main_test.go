package cache

import (
	"reflect"
	"strings"
	"testing"

	"github.com/gobcc/gobcc/internal/testutil"
)

func TestMain(m *testing.M) { testutil.LeakCheckMain(m) }

func TestQuoteDirs(t *testing.T) {
	got := QuoteDirs([]string{"-I/x", "-iquote", "/a", "-iquote/b", "-DX", "-iquote"})
	if want := []string{"/a", "/b"}; !reflect.DeepEqual(got, want) {
		t.Errorf("QuoteDirs = %q, want %q", got, want)
	}
}

func TestSharedTables(t *testing.T) {
	for text, want := range map[string]string{
		"BPF_HASH(a);": "",
		`BPF_TABLE_PINNED("hash", u32, u32, t, 1, "/sys/fs/bpf/t");`: "BPF_TABLE_PINNED",
		`BPF_TABLE("extern", u32, u32, t, 1);`:                       "BPF_TABLE",
	} {
		if got := SharedTables(text); got != want {
			t.Errorf("SharedTables(%q) = %q, want %q", text, got, want)
		}
	}
}

func TestHeaderIdentity(t *testing.T) {
	gen := HeaderIdentity("6.18.0", "/var/cache/gobcc/headers/abc", "")
	if gen != "6.18.0\x00/var/cache/gobcc/headers/abc\x00" {
		t.Errorf("generated tree: %q", gen)
	}
	if a, b := HeaderIdentity("9.9.9-none", "", ""), HeaderIdentity("9.9.9-none", "", "/k"); a == b || !strings.HasPrefix(a, "9.9.9-none\x00") {
		t.Errorf("installed trees: %q and %q", a, b)
	}
}
