//go:build linux

package perfevent

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// pmuDir is where the kernel lists its PMUs; a variable for tests.
var pmuDir = "/sys/bus/event_source/devices"

// PMUType reads the perf event type of a dynamic PMU such as "kprobe" or
// "uprobe". A missing PMU gives an error wrapping os.ErrNotExist.
func PMUType(name string) (uint32, error) {
	data, err := os.ReadFile(pmuDir + "/" + name + "/type")
	if err != nil {
		return 0, fmt.Errorf("%s PMU: %w", name, err)
	}
	t, err := strconv.ParseUint(strings.TrimSpace(string(data)), 10, 32)
	if err != nil {
		return 0, fmt.Errorf("%s PMU type %q: %w", name, data, err)
	}
	return uint32(t), nil
}

// RetprobeBit reads which config bit makes a kprobe or uprobe PMU event a
// return probe: "config:0" in format/retprobe on every kernel so far, the
// default when the file cannot be read.
func RetprobeBit(name string) uint64 {
	data, err := os.ReadFile(pmuDir + "/" + name + "/format/retprobe")
	if err == nil {
		if s, ok := strings.CutPrefix(strings.TrimSpace(string(data)), "config:"); ok {
			if n, err := strconv.Atoi(s); err == nil && n >= 0 && n < 64 {
				return 1 << n
			}
		}
	}
	return 1
}
