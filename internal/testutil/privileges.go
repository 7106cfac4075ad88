package testutil

import (
	"os"
	"testing"

	"golang.org/x/sys/unix"
)

// Capability numbers from linux/capability.h.
const (
	capSysAdmin = 21
	capPerfmon  = 38
	capBPF      = 39
)

// Privileged reports whether this process may load and attach tracing BPF
// programs: it runs as root, or holds CAP_SYS_ADMIN, or holds both CAP_BPF
// and CAP_PERFMON (tracing programs need the second). It is the same rule
// `gobcc doctor` and bcc.New apply (internal/features.Privileged), written
// again here because testutil may not import a package whose own tests
// use testutil (bpfsys, tracefs: an import cycle). Unlike features, an
// unreadable capability set counts as unprivileged: a test then skips or
// fails clearly instead of failing inside the kernel.
func Privileged() bool {
	if os.Geteuid() == 0 {
		return true
	}
	var hdr unix.CapUserHeader
	var data [2]unix.CapUserData
	hdr.Version = unix.LINUX_CAPABILITY_VERSION_3
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return false
	}
	has := func(c uint) bool { return data[c/32].Effective&(1<<(c%32)) != 0 }
	return has(capSysAdmin) || (has(capBPF) && has(capPerfmon))
}

// RequirePrivileges calls RequireKernel unless Privileged.
func RequirePrivileges(tb testing.TB) {
	tb.Helper()
	if !Privileged() {
		RequireKernel(tb, "test needs root or CAP_BPF and CAP_PERFMON")
	}
}
