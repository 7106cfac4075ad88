package memlock

import (
	"errors"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/gobcc/gobcc/internal/testutil"
)

func TestMain(m *testing.M) { testutil.LeakCheckMain(m) }

func TestRaiseMemlock(t *testing.T) {
	low := unix.Rlimit{Cur: 64 << 10, Max: 64 << 10}
	fake := func(release string, cur unix.Rlimit, setErr error) (Ops, *int) {
		sets := new(int)
		return Ops{
			Release: func() (string, error) { return release, nil },
			Get:     func() (unix.Rlimit, error) { return cur, nil },
			Set: func(r unix.Rlimit) error {
				*sets++
				if r.Cur != unix.RLIM_INFINITY || r.Max != unix.RLIM_INFINITY {
					t.Errorf("set %+v, want infinity", r)
				}
				return setErr
			},
		}, sets
	}
	// 5.10 charges maps to RLIMIT_MEMLOCK: raised, as BCC does.
	ops, sets := fake("5.10.0-28-amd64", low, nil)
	if raised, err := Raise(ops); !raised || err != nil || *sets != 1 {
		t.Errorf("5.10: raised=%v err=%v sets=%d, want raised once", raised, err, *sets)
	}
	// 5.11 and later account to memory cgroups: not touched.
	for _, rel := range []string{"5.11.0", "6.18.0-1-amd64", "6.1.0-rc1"} {
		ops, sets := fake(rel, low, nil)
		if raised, err := Raise(ops); raised || err != nil || *sets != 0 {
			t.Errorf("%s: raised=%v err=%v sets=%d, want untouched", rel, raised, err, *sets)
		}
	}
	// Already unlimited: nothing to do.
	ops, sets = fake("4.19.0", unix.Rlimit{Cur: unix.RLIM_INFINITY, Max: unix.RLIM_INFINITY}, nil)
	if raised, err := Raise(ops); raised || err != nil || *sets != 0 {
		t.Errorf("4.19 unlimited: raised=%v err=%v sets=%d", raised, err, *sets)
	}
	// Refused (no CAP_SYS_RESOURCE): an error that keeps the errno.
	ops, _ = fake("4.19.0", low, unix.EPERM)
	raised, err := Raise(ops)
	if raised || !errors.Is(err, unix.EPERM) || !strings.Contains(err.Error(), "RLIMIT_MEMLOCK") {
		t.Errorf("refused: raised=%v err=%v, want EPERM naming RLIMIT_MEMLOCK", raised, err)
	}
	// On this kernel (6.18) the real call changes nothing.
	var before, after unix.Rlimit
	unix.Getrlimit(unix.RLIMIT_MEMLOCK, &before)
	if raised, err := Raise(System); raised || err != nil {
		t.Errorf("Raise(System) here: %v, %v; want a no-op", raised, err)
	}
	unix.Getrlimit(unix.RLIMIT_MEMLOCK, &after)
	if before != after {
		t.Errorf("RLIMIT_MEMLOCK changed: %+v -> %+v", before, after)
	}
}

func TestCharged(t *testing.T) {
	for rel, want := range map[string]bool{"5.10.0": true, "5.11": false, "4.19.0-x": true, "6.18.0": false, "garbage": true, "5.4rc1": true} {
		if got := Charged(rel); got != want {
			t.Errorf("Charged(%q) = %v, want %v", rel, got, want)
		}
	}
}
