package bcc

import (
	"flag"
	"testing"

	"github.com/gobcc/gobcc/internal/libbcc"
	"github.com/gobcc/gobcc/internal/testutil"
)

// TestMain checks that the package's tests leave no descriptor, goroutine
// or helper process behind, and runs the examples (bcc_test) only where
// they can work: they load programs, and an example cannot skip.
func TestMain(m *testing.M) {
	flag.Parse()
	if !testutil.KernelRequired() {
		if !testutil.Privileged() {
			testutil.DisableExamples("they need root or CAP_BPF and CAP_PERFMON")
		} else if _, err := libbcc.Open(); err != nil {
			testutil.DisableExamples(err.Error())
		}
	}
	testutil.LeakCheckMain(m)
}
