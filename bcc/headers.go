package bcc

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"golang.org/x/sys/unix"
)

var headersVersion = regexp.MustCompile(`linux-headers-([^/]+?)(-common|-amd64|-arm64)?$`)

// headerWarnings says when libbcc compiles against kernel headers that are
// not the running kernel's, as it does on machines whose kernel has no
// headers package: /lib/modules/$(uname -r)/build then points elsewhere.
func headerWarnings() []string {
	var uts unix.Utsname
	if unix.Uname(&uts) != nil {
		return nil
	}
	release := unix.ByteSliceToString(uts.Release[:])
	build := filepath.Join("/lib/modules", release, "build")
	target, err := filepath.EvalSymlinks(build)
	if err != nil {
		return []string{fmt.Sprintf("no kernel headers at %s: programs that include kernel headers will not compile (run scripts/setup.sh or install the headers)", build)}
	}
	have := headersRelease(target)
	if have == "" || have == release {
		return nil
	}
	return []string{fmt.Sprintf("compiled against kernel headers %s, not the running kernel %s: tracepoint arguments are safe, but kernel struct offsets (task_struct and others) may differ; `gobcc doctor` measures them", have, release)}
}

// headersRelease reads the kernel release a header tree was made for.
func headersRelease(dir string) string {
	if data, err := os.ReadFile(filepath.Join(dir, "include/config/kernel.release")); err == nil {
		return strings.TrimSpace(string(data))
	}
	if m := headersVersion.FindStringSubmatch(filepath.Base(dir)); m != nil {
		return m[1] + m[2]
	}
	return ""
}
