package usdt

import (
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/gobcc/gobcc/internal/testutil"
)

// TestMain fails the package's run when its tests leave a descriptor,
// goroutine or child process behind.
func TestMain(m *testing.M) { testutil.LeakCheckMain(m) }

// gcc builds testdata/usdt_target.c (shared with bcc's USDT tests) into
// dir/out with flags, and returns the binary's path.
func gcc(t *testing.T, dir, out string, flags ...string) string {
	t.Helper()
	outPath := filepath.Join(dir, out)
	args := append([]string{"-O1", "-g", "-o", outPath, "../../testdata/usdt_target.c"}, flags...)
	if b, err := exec.Command("gcc", args...).CombinedOutput(); err != nil {
		t.Fatalf("gcc %v: %v\n%s", args, err, b)
	}
	return outPath
}

// run tells the child to go and returns its line: once it answers, it has
// mapped its libraries.
