package eventprint

import (
	"errors"
	"strings"
	"testing"

	"github.com/gobcc/gobcc/cmd/gobcc/cli"
	"github.com/gobcc/gobcc/internal/testutil"
)

func TestMain(m *testing.M) { testutil.LeakCheckMain(m) }

func TestEventFormatParse(t *testing.T) {
	l, err := parseEventFormat("a{x}b{y:-4}{{c}}{z:3}")
	if err != nil {
		t.Fatal(err)
	}
	var sb strings.Builder
	l.format(&sb, func(f string) string { return f + f })
	if got, want := sb.String(), "axxbyy  {c} zz"; got != want {
		t.Errorf("format: %q, want %q", got, want)
	}
	for _, bad := range []string{"{x", "x}", "{}", "{x:y}", "plain"} {
		if _, err := parseEventFormat(bad); !errors.Is(err, cli.ErrUsage) {
			t.Errorf("parseEventFormat(%q): %v, want a usage error", bad, err)
		}
	}
	if got := quoteIfNeeded("a b"); got != `"a b"` {
		t.Errorf("quoteIfNeeded: %s", got)
	}
	if got := quoteIfNeeded("bash"); got != "bash" {
		t.Errorf("quoteIfNeeded: %s", got)
	}
}

func TestColumnLayout(t *testing.T) {
	l, err := newColumnLayout([]string{"pid:5", " ", "comm"})
	if err != nil {
		t.Fatal(err)
	}
	if got := l.fields(); strings.Join(got, ",") != "pid,comm" {
		t.Fatalf("fields %q", got)
	}
	if got, want := l.header(), "PID   COMM\n"; got != want {
		t.Errorf("header %q, want %q", got, want)
	}
	var sb strings.Builder
	l.format(&sb, func(f string) string { return "1" })
	if got, want := sb.String(), "1     1"; got != want {
		t.Errorf("line %q, want %q (last column unpadded)", got, want)
	}
	if _, err := newColumnLayout([]string{" "}); !errors.Is(err, cli.ErrUsage) {
		t.Errorf("empty --columns: %v", err)
	}
}
