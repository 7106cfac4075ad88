package main

import (
	"strings"
	"testing"
)

func TestTestBinaryFlags(t *testing.T) {
	got := strings.Join(testBinaryFlags([]string{"-run", "A|B", "-v", "--short", "-count=1", "-test.timeout=5m", "-custom", "x"}), " ")
	want := "-test.run A|B -test.v -test.short -test.count=1 -test.timeout=5m -custom x"
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

func TestTestScript(t *testing.T) {
	s := testScript([]testPackage{{importPath: "example.com/p", dir: "/src/a b", binary: "00-p.test"}}, []string{"-test.run", "A|B"})
	for _, want := range []string{"cd '/src/a b' || exit 125", "/mnt/gobcc-vm/00-p.test -test.run 'A|B'", "exit $failed", "uname -r"} {
		if !strings.Contains(s, want) {
			t.Errorf("script lacks %q:\n%s", want, s)
		}
	}
}
