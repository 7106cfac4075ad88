// Package memlock raises RLIMIT_MEMLOCK for kernels that charge BPF maps
// and programs to it, as libbcc does before retrying a refused map
// creation or load (setrlimit(RLIMIT_MEMLOCK, RLIM_INFINITY)). Linux 5.11
// moved that accounting to memory cgroups; there Raise changes nothing.
package memlock

import (
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Ops is what Raise needs from the system; tests replace it.
type Ops struct {
	// Release returns the kernel release (uname -r).
	Release func() (string, error)
	// Get and Set read and write RLIMIT_MEMLOCK.
	Get func() (unix.Rlimit, error)
	Set func(unix.Rlimit) error
}

// System is Ops on the running system.
var System = Ops{
	Release: func() (string, error) {
		var u unix.Utsname
		if err := unix.Uname(&u); err != nil {
			return "", err
		}
		return unix.ByteSliceToString(u.Release[:]), nil
	},
	Get: func() (unix.Rlimit, error) {
		var r unix.Rlimit
		err := unix.Getrlimit(unix.RLIMIT_MEMLOCK, &r)
		return r, err
	},
	Set: func(r unix.Rlimit) error { return unix.Setrlimit(unix.RLIMIT_MEMLOCK, &r) },
}

// Charged reports whether a kernel release charges BPF maps and programs
// to RLIMIT_MEMLOCK: before 5.11, which moved the accounting to memory
// cgroups. An unreadable release counts as charged: raising is harmless.
func Charged(release string) bool {
	major, rest, _ := strings.Cut(release, ".")
	minorStr, _, _ := strings.Cut(rest, ".")
	minorStr = strings.TrimRightFunc(minorStr, func(r rune) bool { return r < '0' || r > '9' })
	maj, err1 := strconv.Atoi(major)
	mnr, err2 := strconv.Atoi(minorStr)
	if err1 != nil || err2 != nil {
		return true
	}
	return maj < 5 || maj == 5 && mnr < 11
}

// Raise sets RLIMIT_MEMLOCK to unlimited when the kernel charges BPF memory
// to it and it is not unlimited already, and reports whether it changed
// the limit. A refused setrlimit (no CAP_SYS_RESOURCE) is an error wrapping
// the errno.
func Raise(ops Ops) (bool, error) {
	release, err := ops.Release()
	if err != nil {
		return false, fmt.Errorf("memlock limit: kernel release: %w", err)
	}
	if !Charged(release) {
		return false, nil
	}
	cur, err := ops.Get()
	if err != nil {
		return false, fmt.Errorf("memlock limit: getrlimit: %w", err)
	}
	if cur.Cur == unix.RLIM_INFINITY && cur.Max == unix.RLIM_INFINITY {
		return false, nil
	}
	inf := unix.Rlimit{Cur: unix.RLIM_INFINITY, Max: unix.RLIM_INFINITY}
	if err := ops.Set(inf); err != nil {
		return false, fmt.Errorf("memlock limit: kernel %s charges BPF maps to RLIMIT_MEMLOCK (%d bytes) and setrlimit(RLIMIT_MEMLOCK, RLIM_INFINITY) failed (needs CAP_SYS_RESOURCE): %w", release, cur.Cur, err)
	}
	return true, nil
}
