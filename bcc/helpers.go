package bcc

import (
	"fmt"

	"github.com/gobcc/gobcc/internal/memlock"
)

// XDPAction is what an XDP program returns (BCC's XDPAction, the kernel's
// enum xdp_action).
type XDPAction int

// The XDP actions, as BCC's BPF.XDP_ABORTED ... (XDPAction.XDP_*).
const (
	XDPAborted  XDPAction = 0
	XDPDrop     XDPAction = 1
	XDPPass     XDPAction = 2
	XDPTx       XDPAction = 3
	XDPRedirect XDPAction = 4
)

// String is the kernel's name: "XDP_PASS".
func (a XDPAction) String() string {
	switch a {
	case XDPAborted:
		return "XDP_ABORTED"
	case XDPDrop:
		return "XDP_DROP"
	case XDPPass:
		return "XDP_PASS"
	case XDPTx:
		return "XDP_TX"
	case XDPRedirect:
		return "XDP_REDIRECT"
	}
	return fmt.Sprintf("XDPAction(%d)", int(a))
}

// systemMemlock is what RaiseMemlockLimit acts on, replaced in tests.
var systemMemlock = memlock.System

// RaiseMemlockLimit raises RLIMIT_MEMLOCK to unlimited when the running
// kernel charges BPF memory to it (before 5.11), as BCC does for every
// map and program (libbcc retries a refused map creation or load after
// setrlimit(RLIMIT_MEMLOCK, RLIM_INFINITY)). On newer kernels, such as
// this one, it does nothing. It reports whether it changed the limit.
// New calls it before compiling, so the compile helper inherits the
// limit; when it fails (no CAP_SYS_RESOURCE) New goes on and adds a
// warning (Warnings): the maps may still fit.
func RaiseMemlockLimit() (bool, error) { return memlock.Raise(systemMemlock) }
