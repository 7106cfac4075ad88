package usym_test

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/gobcc/gobcc/internal/testutil"

	"github.com/gobcc/gobcc/internal/usym"
)

// The cache parse agrees with ldconfig -p on every library it lists.
func TestParseLDSOCacheMatchesLdconfig(t *testing.T) {
	data, err := os.ReadFile(usym.LDSOCache)
	if err != nil {
		testutil.RequireKernel(t, "no %s: %v", usym.LDSOCache, err)
	}
	entries, err := usym.ParseLDSOCache(data)
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("/sbin/ldconfig", "-p").Output()
	if err != nil {
		testutil.RequireKernel(t, "ldconfig -p: %v", err)
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

// FindBinary is WhichSO plus $PATH for a bare name.
func TestFindBinary(t *testing.T) {
	if p, err := usym.WhichSO("/x/y", 0); err != nil || p != "/x/y" {
		t.Errorf("WhichSO(path) -> %s, %v", p, err)
	}
	if p, err := usym.FindBinary("c", 0); err != nil || filepath.Base(p) != "libc.so.6" {
		t.Errorf("FindBinary(c) -> %s, %v", p, err)
	}
	if p, err := usym.FindBinary("sh", 0); err != nil || !strings.HasSuffix(p, "/sh") {
		t.Errorf("FindBinary(sh) -> %s, %v", p, err)
	}
	r := usym.NewResolver(usym.Options{})
	defer r.Close()
	if p, err := r.FindBinary("sh", os.Getpid()); err != nil || !strings.HasSuffix(p, "/sh") {
		t.Errorf("Resolver.FindBinary(sh, self) -> %s, %v", p, err)
	}
	if _, err := usym.FindBinary("no-such-lib-gobcc", 0); !errors.Is(err, usym.ErrLibraryNotFound) {
		t.Errorf("FindBinary(missing) = %v, want ErrLibraryNotFound", err)
	}
}

// ResolveSymbol reports IFUNC symbols, and through a process names the
// file by /proc/PID/root.
func TestResolveSymbolIFUNC(t *testing.T) {
	r := usym.NewResolver(usym.Options{})
	defer r.Close()
	libc, err := usym.WhichSO("c", 0)
	if err != nil {
		t.Fatal(err)
	}
	_, s, err := r.ResolveSymbol(0, libc, "getpid")
	if err != nil {
		t.Fatal(err)
	}
	if s.FileOffset == 0 || s.IFUNC {
		t.Errorf("getpid = %+v", s)
	}
	path, s, err := r.ResolveSymbol(os.Getpid(), "c", "strlen")
	if err != nil {
		t.Fatal(err)
	}
	if !s.IFUNC || s.FileOffset == 0 {
		t.Errorf("strlen is not marked IFUNC: %+v", s)
	}
	if want := "/proc/" + strconv.Itoa(os.Getpid()) + "/root/"; !strings.HasPrefix(path, want) || !strings.Contains(path, "libc.so.6") {
		t.Errorf("strlen through this process resolved in %s, want %s...libc.so.6", path, want)
	}
	// The same file offset by address.
	apath, off, err := r.ResolveAddress(os.Getpid(), "c", s.Value)
	if err != nil || apath != path || off != s.FileOffset {
		t.Errorf("ResolveAddress(c, %#x) = %s %#x %v; want %s %#x", s.Value, apath, off, err, path, s.FileOffset)
	}
	if _, _, err := r.ResolveAddress(0, libc, 1); !errors.Is(err, usym.ErrNoExecSegment) {
		t.Errorf("ResolveAddress(libc, 1) = %v, want ErrNoExecSegment", err)
	}
	fns, err := usym.FunctionSymbols(libc, regexp.MustCompile(`^getpid$`))
	if err != nil || len(fns) != 1 || fns[0].IFUNC {
		t.Fatalf("getpid functions = %v, %v", fns, err)
	}
	fpath, fns, err := r.FunctionSymbols(os.Getpid(), "c", regexp.MustCompile(`^strlen$`))
	if err != nil || fpath != path || len(fns) != 1 || !fns[0].IFUNC || fns[0].FileOffset != s.FileOffset {
		t.Fatalf("Resolver.FunctionSymbols(self, c, strlen) = %s %+v, %v", fpath, fns, err)
	}
}

func TestResolveIFUNCStrlen(t *testing.T) {
	libc, err := usym.WhichSO("c", 0)
	if err != nil {
		t.Fatal(err)
	}
	resolver, err := usym.ResolveSymbol(libc, "strlen")
	if err != nil {
		t.Fatal(err)
	}
	impl, err := usym.ResolveIFUNC(libc, "strlen")
	if err != nil {
		t.Fatal(err)
	}
	// Debian's libc has no .symtab, so the implementation (__strlen_avx2
	// or similar) may keep the name strlen; its offset must differ.
	if impl.FileOffset == resolver || impl.FileOffset == 0 || impl.IFUNC {
		t.Errorf("strlen resolver at %#x, implementation %+v", resolver, impl)
	}
	t.Logf("strlen -> %s at %#x", impl.Name, impl.FileOffset)
	if _, err := usym.ResolveIFUNC("/bin/sh", "main"); !errors.Is(err, usym.ErrIFUNCUnresolved) {
		t.Errorf("ResolveIFUNC on an executable = %v, want ErrIFUNCUnresolved", err)
	}
}
