// Package testutil holds helpers shared by gobcc's tests.
package testutil

import (
	"os"
	"testing"
)

// RequireKernel reports that a test cannot run because the machine lacks
// something it needs (root, a kernel feature, a tool). Under
// GOBCC_REQUIRE_KERNEL=1, as `make test` and CI set it, that is a failure:
// CI machines are expected to have everything. Otherwise the test is skipped.
func RequireKernel(tb testing.TB, format string, args ...any) {
	tb.Helper()
	if KernelRequired() {
		tb.Fatalf("GOBCC_REQUIRE_KERNEL=1 but: "+format, args...)
	}
	tb.Skipf(format, args...)
}

// KernelRequired reports whether GOBCC_REQUIRE_KERNEL=1 is set.
func KernelRequired() bool { return os.Getenv("GOBCC_REQUIRE_KERNEL") == "1" }

// RequireRoot calls RequireKernel unless the test runs as root.
func RequireRoot(tb testing.TB) {
	tb.Helper()
	if os.Geteuid() != 0 {
		RequireKernel(tb, "test needs root")
	}
}
