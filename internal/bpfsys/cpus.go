//go:build linux

package bpfsys

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
)

// ErrBadCPUList reports a CPU list file that is not in the kernel's
// "0-3,5,7-8" format.
var ErrBadCPUList = errors.New("malformed CPU list")

const (
	possibleCPUsPath = "/sys/devices/system/cpu/possible"
	onlineCPUsPath   = "/sys/devices/system/cpu/online"
)

// possibleCPUs caches PossibleCPUs: the possible mask is fixed at boot.
var possibleCPUs = sync.OnceValues(func() (int, error) {
	cpus, err := readCPUList(possibleCPUsPath)
	if err != nil {
		return 0, err
	}
	if len(cpus) == 0 {
		return 0, fmt.Errorf("%s: no CPUs: %w", possibleCPUsPath, ErrBadCPUList)
	}
	return len(cpus), nil
})

// PossibleCPUs returns how many CPUs the kernel may ever bring online, the
// number of values a per-CPU map keeps per entry.
func PossibleCPUs() (int, error) { return possibleCPUs() }

// OnlineCPUs lists the CPUs online now, ascending.
func OnlineCPUs() ([]int, error) { return readCPUList(onlineCPUsPath) }

// readCPUList reads and parses a sysfs CPU list file.
func readCPUList(path string) ([]int, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read CPU list: %w", err)
	}
	cpus, err := parseCPUList(string(data))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return cpus, nil
}

// parseCPUList parses the kernel's cpulist format ("0-3,5,7-8\n", empty for
// none) into ascending CPU numbers.
func parseCPUList(s string) ([]int, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return []int{}, nil
	}
	var cpus []int
	for part := range strings.SplitSeq(s, ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		first, err := parseCPU(lo)
		if err != nil {
			return nil, fmt.Errorf("%q: %w", s, err)
		}
		last := first
		if isRange {
			if last, err = parseCPU(hi); err != nil {
				return nil, fmt.Errorf("%q: %w", s, err)
			}
		}
		if last < first || (len(cpus) > 0 && first <= cpus[len(cpus)-1]) {
			return nil, fmt.Errorf("%q: range %q out of order: %w", s, part, ErrBadCPUList)
		}
		for cpu := first; cpu <= last; cpu++ {
			cpus = append(cpus, cpu)
		}
	}
	return cpus, nil
}

// parseCPU parses one CPU number; it refuses signs and blanks that
// strconv.Atoi would accept or the kernel never writes.
func parseCPU(s string) (int, error) {
	if s == "" || strings.TrimLeft(s, "0123456789") != "" {
		return 0, fmt.Errorf("CPU %q: %w", s, ErrBadCPUList)
	}
	n, err := strconv.Atoi(s)
	if err != nil || n > 1<<20 {
		return 0, fmt.Errorf("CPU %q: %w", s, ErrBadCPUList)
	}
	return n, nil
}
