package benchcmp

import (
	"os"
	"testing"
)

// The bench module uses only bcc's public API, so these few lines of
// internal/testutil are repeated here rather than imported.

// requireKernel skips, or fails under GOBCC_REQUIRE_KERNEL=1 (make test, CI).
func requireKernel(t *testing.T, format string, args ...any) {
	t.Helper()
	if os.Getenv("GOBCC_REQUIRE_KERNEL") == "1" {
		t.Fatalf("GOBCC_REQUIRE_KERNEL=1 but: "+format, args...)
	}
	t.Skipf(format, args...)
}

func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		requireKernel(t, "test needs root")
	}
}

// openFDs counts this process's open descriptors.
func openFDs(t *testing.T) int {
	t.Helper()
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(entries)
}

// Exported for the external tests (quick_test.go), which import the
// exporter rows and so cannot be in this package.
var (
	RequireRoot   = requireRoot
	RequireKernel = requireKernel
)
