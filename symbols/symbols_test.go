package symbols_test

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/gobcc/gobcc/internal/testutil"
	"github.com/gobcc/gobcc/symbols"
)

func TestKernelRoundTrip(t *testing.T) {
	testutil.RequireRoot(t)
	k, err := symbols.LoadKernel()
	if err != nil {
		t.Fatal(err)
	}
	addr, err := k.KsymName("schedule")
	if err != nil {
		t.Fatal(err)
	}
	if got := k.Ksym(addr); got != "schedule" {
		t.Errorf("Ksym(&schedule) = %q", got)
	}
	if got := k.Ksym(addr+1, symbols.Options{ShowOffset: true, ShowModule: true}); got != "schedule+0x1 [kernel]" {
		t.Errorf("Ksym(&schedule+1, offset, module) = %q", got)
	}
	if s, ok := k.Lookup(addr + 2); !ok || s.Name != "schedule" || s.Offset != 2 || s.Addr != addr {
		t.Errorf("Lookup(&schedule+2) = %+v, %v", s, ok)
	}
	if _, err := k.KsymName("no_such_symbol_gobcc"); !errors.Is(err, symbols.ErrSymbolNotFound) {
		t.Errorf("KsymName(unknown) = %v, want ErrSymbolNotFound", err)
	}
	if got := k.Ksym(addr, symbols.Options{}, symbols.Options{}); got != "[more than one options value: got 2 symbols.Options values]" {
		t.Errorf("Ksym with two Options = %q, want a bracketed complaint", got)
	}
	if p := k.SyscallPrefix(); !slices.Contains(symbols.SyscallPrefixes, p) {
		t.Errorf("SyscallPrefix = %q, not one of %v", p, symbols.SyscallPrefixes)
	}
}

func TestUserFunctions(t *testing.T) {
	libc, err := symbols.FindLibrary("c")
	if err != nil {
		t.Fatal(err)
	}
	fns, err := symbols.GetUserFunctionsAndAddresses(libc, "malloc$")
	if err != nil || len(fns) == 0 {
		t.Fatalf("GetUserFunctionsAndAddresses(libc, malloc$) = %v, %v", fns, err)
	}
	addrs, err := symbols.GetUserAddresses(libc, "malloc$")
	if err != nil || len(addrs) == 0 || len(addrs) > len(fns) {
		t.Fatalf("GetUserAddresses = %v, %v (functions %v)", addrs, err, fns)
	}
	if _, err := symbols.FindLibrary("no-such-library-gobcc"); !errors.Is(err, symbols.ErrLibraryNotFound) {
		t.Errorf("FindLibrary(missing) = %v, want ErrLibraryNotFound", err)
	}
	if _, err := symbols.FindExe("no-such-exe-gobcc"); err == nil {
		t.Error("FindExe(missing) succeeded")
	}
	lang, err := symbols.DetectLanguage(nil, os.Getpid())
	if err != nil || lang != "c" {
		t.Errorf("DetectLanguage(this Go test) = %q, %v; want c", lang, err)
	}
}

func ExampleFindLibrary() {
	path, err := symbols.FindLibrary("c")
	fmt.Println(strings.Contains(path, "libc.so"), err)
	// Output: true <nil>
}
