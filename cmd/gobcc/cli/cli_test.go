package cli

import (
	"bytes"
	"errors"
	"os"
	"testing"

	"github.com/gobcc/gobcc/internal/testutil"
)

func TestMain(m *testing.M) { testutil.LeakCheckMain(m) }

func TestTableSelection(t *testing.T) {
	var s TableSelection
	if err := s.Set("a, b,,c"); err != nil {
		t.Fatal(err)
	}
	if !s.Has("b") || s.Has("d") || s.String() != "a,b,c" {
		t.Fatalf("selection %q: Has(b)=%v Has(d)=%v", s.String(), s.Has("b"), s.Has("d"))
	}
	if err := s.Set("*"); err != nil {
		t.Fatal(err)
	}
	if !s.Has("d") || s.String() != "*" {
		t.Fatalf("after *: %q", s.String())
	}
}

func TestUsageErrorfWrapsErrUsage(t *testing.T) {
	err := UsageErrorf("bad %s: %w", "flag", os.ErrNotExist)
	if !errors.Is(err, ErrUsage) || !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("%v wraps neither ErrUsage nor its cause", err)
	}
}

func TestWriteJSONOneLine(t *testing.T) {
	var b bytes.Buffer
	if err := WriteJSON(&b, map[string]any{"type": "x", "n": 1}); err != nil {
		t.Fatal(err)
	}
	if got := b.String(); got != `{"n":1,"type":"x"}`+"\n" {
		t.Fatalf("WriteJSON wrote %q", got)
	}
	if err := WriteJSON(&b, func() {}); err == nil {
		t.Fatal("WriteJSON of a func succeeded")
	}
}
