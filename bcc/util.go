package bcc

import (
	"golang.org/x/sys/unix"

	"github.com/gobcc/gobcc/internal/bpfsys"
)

// MonotonicTime returns CLOCK_MONOTONIC in nanoseconds, the clock of the
// bpf_ktime_get_ns() helper (BCC's BPF.monotonic_time): subtract it from
// an event's timestamp to learn the event's age.
func MonotonicTime() uint64 {
	var ts unix.Timespec
	unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts) // cannot fail for this clock
	return uint64(ts.Nano())
}

// OnlineCPUs lists the online CPUs (BCC's utils.get_online_cpus).
func OnlineCPUs() ([]int, error) { return bpfsys.OnlineCPUs() }

// PossibleCPUs is the number of possible CPUs, the size of per-CPU values
// (BCC's len(utils.get_possible_cpus())).
func PossibleCPUs() (int, error) { return bpfsys.PossibleCPUs() }
