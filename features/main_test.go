package features_test

import (
	"testing"

	"github.com/gobcc/gobcc/internal/testutil"
)

// TestMain fails the package's tests if they leave a descriptor,
// goroutine or child process behind.
func TestMain(m *testing.M) { testutil.LeakCheckMain(m) }
