package features_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/gobcc/gobcc/features"
	"github.com/gobcc/gobcc/internal/testutil"
)

// TestThisKernel checks the answers this kernel gives: raw tracepoints
// yes; kprobes, fentry and LSM no (no CONFIG_KPROBES; lockdown), each with
// the reason. On a kernel that allows them, the answer must agree with All.
func TestThisKernel(t *testing.T) {
	testutil.RequireRoot(t)
	if !features.SupportRawTracepoint() {
		testutil.RequireKernel(t, "raw tracepoints refused")
	}
	all := map[string]features.Feature{}
	for _, f := range features.All() {
		all[f.Name] = f
		if f.Supported != (f.Err == nil) {
			t.Errorf("%s: Supported %v but Err %v", f.Name, f.Supported, f.Err)
		}
	}
	kerr := features.KprobesSupported()
	if kerr != nil && !errors.Is(kerr, features.ErrNotSupported) {
		t.Errorf("KprobesSupported = %v, which does not wrap ErrNotSupported", kerr)
	}
	if all["kprobes"].Supported != (kerr == nil) || all["fentry/kfunc"].Supported != features.SupportKfunc() ||
		all["LSM"].Supported != features.SupportLSM() || !all["raw tracepoints"].Supported {
		t.Errorf("All disagrees with the Support functions: %+v", all)
	}
	if _, err := features.SupportRawTracepointInModule(); err != nil {
		t.Error(err)
	}
}

func ExampleAll() {
	for _, f := range features.All() {
		if f.Name == "ring buffer" {
			fmt.Println(f.Name, f.Supported)
		}
	}
	// Output: ring buffer true
}
