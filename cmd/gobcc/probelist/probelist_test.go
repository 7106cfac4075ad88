package probelist

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"testing"

	"github.com/gobcc/gobcc/cmd/gobcc/cli"
	"github.com/gobcc/gobcc/internal/testutil"
)

func TestMain(m *testing.M) { testutil.LeakCheckMain(m) }

func TestListBadSpecsAreUsageErrors(t *testing.T) {
	for _, spec := range []string{"uprobe:", "usdt:", "tracepoint:["} {
		l := &Lister{W: io.Discard}
		if err := l.List(io.Discard, spec); !errors.Is(err, cli.ErrUsage) {
			t.Errorf("List(%q): %v, want a usage error", spec, err)
		}
	}
}

func TestListOneTracepointJSON(t *testing.T) {
	testutil.RequireRoot(t)
	var out bytes.Buffer
	l := &Lister{W: &out, JSON: true, Verbose: true}
	if err := l.List(io.Discard, "t:sched:sched_process_exec"); err != nil {
		t.Fatal(err)
	}
	var p jsonProbe
	if err := json.Unmarshal(out.Bytes(), &p); err != nil {
		t.Fatalf("%q: %v", out.String(), err)
	}
	if l.Count() != 1 || p.Type != "probe" || p.Probe != "tracepoint:sched:sched_process_exec" || len(p.Fields) == 0 {
		t.Fatalf("%d probes; %+v", l.Count(), p)
	}
}
