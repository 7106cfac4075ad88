package uprobe

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// The cache parse agrees with ldconfig -p on every library it lists.
func TestParseLDSOCacheMatchesLdconfig(t *testing.T) {
	data, err := os.ReadFile(LDSOCache)
	if err != nil {
		t.Skipf("no %s: %v", LDSOCache, err)
	}
	entries, err := ParseLDSOCache(data)
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("/sbin/ldconfig", "-p").Output()
	if err != nil {
		t.Skipf("ldconfig -p: %v", err)
	}
	want := map[string]bool{}
	for _, l := range strings.Split(string(out), "\n") {
		// "\tlibc.so.6 (libc6,x86-64) => /lib/x86_64-linux-gnu/libc.so.6"
		name, rest, ok := strings.Cut(strings.TrimSpace(l), " (")
		if !ok {
			continue
		}
		_, path, ok := strings.Cut(rest, "=> ")
		if ok {
			want[name+"="+path] = true
		}
	}
	got := map[string]bool{}
	for _, e := range entries {
		got[e.Name+"="+e.Path] = true
	}
	if len(want) == 0 || len(got) != len(want) {
		t.Fatalf("parsed %d entries, ldconfig lists %d", len(got), len(want))
	}
	for k := range want {
		if !got[k] {
			t.Errorf("missing %s", k)
		}
	}
}

func TestWhichSO(t *testing.T) {
	p, err := WhichSO("c", 0)
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Base(p) != "libc.so.6" {
		t.Errorf("c -> %s", p)
	}
	// This process (a cgo test binary) maps libc too: the maps path wins.
	p2, err := WhichSO("c", os.Getpid())
	if err != nil || !strings.Contains(p2, "libc.so.6") {
		t.Errorf("c in own maps -> %s, %v", p2, err)
	}
	if p, err := WhichSO("/x/y", 0); err != nil || p != "/x/y" {
		t.Errorf("path -> %s, %v", p, err)
	}
	if _, err := WhichSO("no-such-lib-gobcc", 0); err == nil {
		t.Error("found a missing library")
	}
	if p, err := FindBinary("sh", 0); err != nil || !strings.HasSuffix(p, "/sh") {
		t.Errorf("sh -> %s, %v", p, err)
	}
}

func TestResolveLibcSymbols(t *testing.T) {
	libc, err := WhichSO("c", 0)
	if err != nil {
		t.Fatal(err)
	}
	s, err := ResolveSymbol(libc, "getpid")
	if err != nil {
		t.Fatal(err)
	}
	if s.FileOffset == 0 || s.IFUNC {
		t.Errorf("getpid = %+v", s)
	}
	s, err = ResolveSymbol(libc, "strlen")
	if err != nil {
		t.Fatal(err)
	}
	if !s.IFUNC {
		t.Errorf("strlen is not marked IFUNC: %+v", s)
	}
	if _, err := ResolveSymbol(libc, "no_such_symbol_gobcc"); err == nil {
		t.Error("resolved a missing symbol")
	}
	fns, err := FunctionSymbols(libc, regexp.MustCompile(`^getpid$`))
	if err != nil || len(fns) != 1 {
		t.Fatalf("getpid functions = %v, %v", fns, err)
	}
}

func TestResolveIFUNCStrlen(t *testing.T) {
	libc, err := WhichSO("c", 0)
	if err != nil {
		t.Fatal(err)
	}
	resolver, err := ResolveSymbol(libc, "strlen")
	if err != nil {
		t.Fatal(err)
	}
	impl, err := ResolveIFUNC(libc, "strlen")
	if err != nil {
		t.Fatal(err)
	}
	// Debian's libc has no .symtab, so the implementation (__strlen_avx2
	// or similar) may keep the name strlen; its offset must differ.
	if impl.FileOffset == resolver.FileOffset || impl.FileOffset == 0 || impl.IFUNC {
		t.Errorf("strlen resolver %+v, implementation %+v", resolver, impl)
	}
	t.Logf("strlen -> %s at %#x", impl.Name, impl.FileOffset)
}
