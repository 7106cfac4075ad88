package cflags

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/gobcc/gobcc/internal/testutil"
)

// bccPython is the reference implementation's interpreter; BCC's Python
// bindings are installed for it only.
const bccPython = "/usr/bin/python3"

// compileScript compiles probeSource with the cflags given as JSON in
// argv[1] and prints OK, so a test can see what libbcc's clang makes of
// flags built by this package.
const compileScript = `
import json, sys
from bcc import BPF
BPF(text=sys.stdin.read(), cflags=json.loads(sys.argv[1]))
print("OK")
`

const probeSource = `
#include "cflags_probe.h"
#if !defined(PROBE_FROM_INCLUDE)
#error cflags_probe.h not found through -I
#endif
#if VALUE != 42
#error VALUE is not 42
#endif
#ifdef REMOVED
#error -U did not undefine REMOVED
#endif
_Static_assert(sizeof(MSG) == sizeof("a b"), "MSG is not the string \"a b\"");
int probe(void *ctx) { return VALUE; }
`

// compileWithBCC returns BCC Python's output and whether the compile
// succeeded.
func compileWithBCC(t *testing.T, flags []string) (string, bool) {
	t.Helper()
	testutil.RequireRoot(t)
	if _, err := os.Stat(bccPython); err != nil {
		testutil.RequireKernel(t, "BCC Python interpreter missing: %v", err)
	}
	if err := exec.Command(bccPython, "-c", "import bcc").Run(); err != nil {
		testutil.RequireKernel(t, "BCC Python bindings unavailable: %v", err)
	}
	arg, err := json.Marshal(flags)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bccPython, "-c", compileScript, string(arg))
	cmd.Stdin = strings.NewReader(probeSource)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err = cmd.Run()
	return out.String(), err == nil && strings.Contains(out.String(), "OK")
}

// probeFlags builds, with every kind of builder and with Parse, the flags
// probeSource needs.
func probeFlags(t *testing.T, include string) []string {
	t.Helper()
	parsed, err := Parse(`-D VALUE=42 -DREMOVED -U REMOVED -Wno-unused-value`)
	if err != nil {
		t.Fatal(err)
	}
	return append(parsed, Define("MSG", `"a b"`), include)
}

func TestFlagsCompileWithBCC(t *testing.T) {
	flags := probeFlags(t, Include("testdata/probe"))
	if err := Validate(flags); err != nil {
		t.Fatalf("Validate(%q): %v", flags, err)
	}
	if out, ok := compileWithBCC(t, flags); !ok {
		t.Fatalf("BCC rejected %q:\n%s", flags, out)
	}
}

// TestRelativeIncludeFailsInBCC shows why Validate refuses a relative -I:
// the very directory Include makes absolute is not found by libbcc when
// given relative.
func TestRelativeIncludeFailsInBCC(t *testing.T) {
	flags := probeFlags(t, "-Itestdata/probe")
	if err := Validate(flags); err == nil {
		t.Errorf("Validate(%q) accepted a relative include directory", flags)
	}
	out, ok := compileWithBCC(t, flags)
	if ok {
		t.Fatalf("BCC compiled with relative -Itestdata/probe; Validate's rule is unnecessary:\n%s", out)
	}
	if !strings.Contains(out, "cflags_probe.h") {
		t.Errorf("BCC failed for another reason than the missing header:\n%s", out)
	}
}

// TestBPFLicenseRefusedByBCC shows why Validate refuses -DBPF_LICENSE.
func TestBPFLicenseRefusedByBCC(t *testing.T) {
	flags := append(probeFlags(t, Include("testdata/probe")), Define("BPF_LICENSE", "GPL"))
	if err := Validate(flags); err == nil {
		t.Errorf("Validate(%q) accepted -DBPF_LICENSE", flags)
	}
	out, ok := compileWithBCC(t, flags)
	if ok {
		t.Fatalf("BCC compiled with -DBPF_LICENSE; Validate's rule is unnecessary:\n%s", out)
	}
	if !strings.Contains(out, "BPF_LICENSE") {
		t.Errorf("BCC failed for another reason than BPF_LICENSE:\n%s", out)
	}
}
