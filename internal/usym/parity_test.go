package usym_test

import (
	"crypto/rand"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"

	"github.com/gobcc/gobcc/internal/testutil"
	"github.com/gobcc/gobcc/internal/usym"
	"github.com/gobcc/gobcc/internal/usym/usymtest"
)

// variant is one way to build a child program.
type variant struct {
	name     string
	cxx      bool
	flags    []string
	strip    bool // strip --strip-all binary and library
	debug    string
	badCRC   bool
	expected map[string]string // printed name -> symbol libbcc must find (sanity)
}

var cFlags = []string{"-O1", "-g", "-fno-omit-frame-pointer"}

func buildChild(t *testing.T, v variant) (string, string) {
	t.Helper()
	dir := t.TempDir()
	libFlags := append([]string{"-shared", "-fPIC"}, cFlags...)
	lib := usymtest.Build(t, dir, "gcc", usymtest.LibSource, "libgobcctest.so", libFlags...)
	var bin string
	flags := append(append([]string{}, cFlags...), v.flags...)
	if v.cxx {
		bin = usymtest.Build(t, dir, "g++", usymtest.CXXSource, "child", flags...)
	} else {
		flags = append(flags, "-L"+dir, "-lgobcctest", "-Wl,-rpath,"+dir, "-ldl")
		bin = usymtest.Build(t, dir, "gcc", usymtest.CSource, "child", flags...)
	}
	switch v.debug {
	case "debuglink":
		usymtest.Run(t, "objcopy", "--only-keep-debug", bin, bin+".debug")
		usymtest.Run(t, "strip", "--strip-all", bin)
		cmdDir, _ := os.Getwd()
		os.Chdir(dir)
		usymtest.Run(t, "objcopy", "--add-gnu-debuglink=child.debug", "child")
		os.Chdir(cmdDir)
		if v.badCRC {
			f, err := os.OpenFile(bin+".debug", os.O_APPEND|os.O_WRONLY, 0)
			if err != nil {
				t.Fatal(err)
			}
			f.Write([]byte("changed after linking"))
			f.Close()
		}
	case "buildid":
		id := buildIDOf(t, bin)
		dst := filepath.Join("/usr/lib/debug/.build-id", id[:2], id[2:]+".debug")
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			testutil.RequireKernel(t, "cannot write %s: %v", dst, err)
		}
		usymtest.Run(t, "objcopy", "--only-keep-debug", bin, dst)
		t.Cleanup(func() { os.Remove(dst); os.Remove(filepath.Dir(dst)) })
		usymtest.Run(t, "strip", "--strip-all", bin)
	}
	if v.strip {
		usymtest.Run(t, "strip", "--strip-all", bin)
		usymtest.Run(t, "strip", "--strip-all", lib)
	}
	return bin, lib
}

func buildIDOf(t *testing.T, path string) string {
	t.Helper()
	r := usym.NewResolver(usym.Options{})
	defer r.Close()
	f, err := r.File(path)
	if err != nil {
		t.Fatal(err)
	}
	if f.BuildID == "" {
		t.Fatalf("%s has no build id", path)
	}
	return f.BuildID
}

func uniqueBuildID() string {
	b := make([]byte, 20)
	rand.Read(b)
	return "-Wl,--build-id=0x" + hex.EncodeToString(b)
}

var variants = []variant{
	{name: "c-pie", flags: []string{"-fPIE", "-pie"},
		expected: map[string]string{"leaf_fn": "leaf_fn", "static_fn": "static_fn", "lib_fn": "lib_fn", "main": "main", "qsort": "qsort"}},
	{name: "c-nopie", flags: []string{"-no-pie"},
		expected: map[string]string{"leaf_fn": "leaf_fn", "static_fn": "static_fn", "lib_fn2": "lib_fn2"}},
	{name: "c-pie-stripped", flags: []string{"-fPIE", "-pie"}, strip: true,
		expected: map[string]string{"lib_fn": "lib_fn"}},
	{name: "c-nopie-stripped", flags: []string{"-no-pie"}, strip: true},
	{name: "c-debuglink", flags: []string{"-fPIE", "-pie"}, debug: "debuglink",
		expected: map[string]string{"leaf_fn": "leaf_fn", "static_fn": "static_fn"}},
	{name: "c-debuglink-badcrc", flags: []string{"-fPIE", "-pie"}, debug: "debuglink", badCRC: true},
	{name: "c-buildid-dir", flags: []string{"-fPIE", "-pie", uniqueBuildID()}, debug: "buildid",
		expected: map[string]string{"leaf_fn": "leaf_fn", "mid_fn": "mid_fn"}},
	{name: "cxx-pie", cxx: true, flags: []string{"-fPIE", "-pie"},
		expected: map[string]string{"method": "ns::Widget::method(int) const", "twice_int": "int ns::twice<int>(int)", "c_linkage": "c_linkage"}},
	{name: "cxx-nopie", cxx: true, flags: []string{"-no-pie"},
		expected: map[string]string{"smethod": "ns::Widget::smethod(double)", "over_str": "overloaded(char const*)"}},
	{name: "cxx-stripped", cxx: true, flags: []string{"-fPIE", "-pie"}, strip: true},
}

// probeAddrs are the child's addresses and a few around them: inside
// functions, one byte before (often padding between functions), and
// addresses no mapping holds.
func probeAddrs(c *usymtest.Child) []uint64 {
	var out []uint64
	for _, n := range c.Order {
		a := c.Addrs[n]
		out = append(out, a, a+1, a+4, a-1)
	}
	return append(out, 0x10, 0xffffffffff600400)
}

// pyView reduces a Result to what libbcc's SymbolCache.resolve returns.
func pyView(r usym.Result, addr uint64, demangle bool) usymtest.PyResult {
	if !r.Found() {
		if r.Module != "" && r.Offset != 0 {
			return usymtest.PyResult{Offset: r.Offset, Module: r.Module}
		}
		return usymtest.PyResult{Offset: addr}
	}
	name := r.Name
	if demangle {
		name = r.Demangled()
	}
	return usymtest.PyResult{Name: name, Offset: r.Offset, Module: r.Module}
}

func TestResolveMatchesLibbcc(t *testing.T) {
	testutil.RequireRoot(t)
	usymtest.RequireTools(t)
	total := 0
	for _, v := range variants {
		t.Run(v.name, func(t *testing.T) {
			bin, _ := buildChild(t, v)
			c := usymtest.Start(t, bin)
			addrs := probeAddrs(c)
			r := usym.NewResolver(usym.Options{})
			defer r.Close()
			for _, demangle := range []bool{true, false} {
				if !v.cxx && !demangle {
					continue
				}
				want := usymtest.PythonResolve(t, c.PID, addrs, demangle)
				for i, a := range addrs {
					got := pyView(r.Resolve(c.PID, a), a, demangle)
					if got != want[i].PyResult && !sameAlias(t, r, got, want[i].PyResult) {
						t.Errorf("%#x (demangle=%v): got %+v, libbcc %+v", a, demangle, got, want[i].PyResult)
					}
					total++
				}
			}
			for n, sym := range v.expected {
				res := r.Resolve(c.PID, c.Addrs[n])
				if res.Demangled() != sym || res.Offset != 0 {
					t.Errorf("%s at %#x: got %q+%#x, want %q", n, c.Addrs[n], res.Demangled(), res.Offset, sym)
				}
			}
		})
	}
	t.Logf("%d address lookups compared with libbcc", total)
}

// sameAlias accepts another name for the same function: libbcc's choice
// among aliases (qsort and __GI_qsort in libc's debug file) follows
// std::sort's unspecified order of equal elements.
func sameAlias(t *testing.T, r *usym.Resolver, got, want usymtest.PyResult) bool {
	if got.Offset != want.Offset || got.Module != want.Module || got.Name == "" || want.Name == "" {
		return false
	}
	f, err := r.File(got.Module)
	if err != nil {
		return false
	}
	for _, s := range f.Symbols() {
		if s.Name == got.Name {
			for _, a := range f.Aliases(s.Value) {
				if a == want.Name {
					return true
				}
			}
		}
	}
	return false
}
