package attach

import (
	"testing"

	"github.com/gobcc/gobcc/internal/testutil"
)

// TestMain fails the package's run when its tests leave a descriptor,
// goroutine or child process behind.
func TestMain(m *testing.M) { testutil.LeakCheckMain(m) }
