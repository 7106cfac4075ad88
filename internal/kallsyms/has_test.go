package kallsyms

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestHas(t *testing.T) {
	path := filepath.Join(t.TempDir(), "kallsyms")
	text := "ffffffff81000000 T _stext\nffffffffc0000000 t bpf_trace_modules\t[bpf]\n"
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	for sym, want := range map[string]bool{"_stext": true, "bpf_trace_modules": true, "bpf": false, "T": false} {
		if got, err := Has(path, sym); err != nil || got != want {
			t.Errorf("Has(%q) = %v, %v; want %v", sym, got, err, want)
		}
	}
	if _, err := Has(filepath.Join(t.TempDir(), "none"), "x"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}
