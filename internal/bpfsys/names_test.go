package bpfsys

import (
	"testing"

	"golang.org/x/sys/unix"
)

func TestTypeNames(t *testing.T) {
	if n, ok := ProgTypeName(unix.BPF_PROG_TYPE_TRACEPOINT); !ok || n != "tracepoint" {
		t.Errorf("tracepoint: %q %v", n, ok)
	}
	if _, ok := ProgTypeName(9999); ok {
		t.Error("prog type 9999 has a name")
	}
	for typ, name := range progTypeNames {
		if back, ok := ProgTypeByName(name); !ok || back != typ {
			t.Errorf("ProgTypeByName(%q) = %d, %v; want %d", name, back, ok, typ)
		}
	}
}
