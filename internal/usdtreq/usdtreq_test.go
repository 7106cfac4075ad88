package usdtreq_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/gobcc/gobcc/bcc/usdt"
	"github.com/gobcc/gobcc/internal/testutil"
	"github.com/gobcc/gobcc/internal/usdtreq"
)

// TestMain fails the package's run when its tests leave a descriptor,
// goroutine or child process behind.
func TestMain(m *testing.M) { testutil.LeakCheckMain(m) }

// TestRequests is the hook as bcc calls it: bcc/usdt, once linked, turns
// contexts into requests with the binary resolved, skips nil ones and
// refuses what is not a context list or a context naming nothing.
func TestRequests(t *testing.T) {
	if usdtreq.Requests == nil {
		t.Fatal("bcc/usdt did not set Requests")
	}
	u := usdt.ForPath("sh")
	if err := u.EnableProbe("prov:name", "fn"); err != nil {
		t.Fatal(err)
	}
	reqs, err := usdtreq.Requests([]*usdt.Context{nil, u, usdt.ForPID(42)})
	if err != nil {
		t.Fatal(err)
	}
	if len(reqs) != 2 || reqs[1].PID != 42 || reqs[1].Path != "" || len(reqs[0].Probes) != 1 {
		t.Fatalf("requests = %+v", reqs)
	}
	if p := reqs[0].Probes[0]; p.Provider != "prov" || p.Name != "name" || p.FnName != "fn" {
		t.Errorf("probe = %+v", p)
	}
	// "sh" is resolved through $PATH to an existing absolute path.
	if p := reqs[0].Path; !filepath.IsAbs(p) {
		t.Errorf("path %q is not absolute", p)
	} else if _, err := os.Stat(p); err != nil {
		t.Error(err)
	}
	if _, err := usdtreq.Requests([]*usdt.Context{usdt.New(0, "")}); !errors.Is(err, usdt.ErrUSDT) {
		t.Errorf("context without pid or path: %v", err)
	}
	if _, err := usdtreq.Requests("nonsense"); !errors.Is(err, usdt.ErrUSDT) {
		t.Errorf("wrong type: %v", err)
	}
}
