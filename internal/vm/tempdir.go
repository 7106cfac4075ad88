package vm

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// tempPrefix starts the names of the host directories runs use.
const tempPrefix = "gobcc-vm-"

// MkdirTemp creates a temporary host directory for one run, named
// gobcc-vm-<kind>-<pid>-<random>, the caller removes it. It first removes
// the directories of gobcc-vm processes that no longer exist: one killed
// with SIGKILL (its qemu dies with it through PR_SET_PDEATHSIG) had no
// chance to clean up.
func MkdirTemp(kind string) (string, error) {
	removeStaleTempDirs()
	dir, err := os.MkdirTemp("", fmt.Sprintf("%s%s-%d-", tempPrefix, kind, os.Getpid()))
	if err != nil {
		return "", fmt.Errorf("vm: %w", err)
	}
	return dir, nil
}

func removeStaleTempDirs() {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), tempPrefix+"*-*-*"))
	for _, d := range dirs {
		f := strings.Split(filepath.Base(d), "-")
		if len(f) < 4 {
			continue
		}
		pid, err := strconv.Atoi(f[len(f)-2])
		if err != nil || pid <= 0 || pid == os.Getpid() {
			continue
		}
		if unix.Kill(pid, 0) == unix.ESRCH {
			_ = os.RemoveAll(d)
		}
	}
}
