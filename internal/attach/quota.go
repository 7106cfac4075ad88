package attach

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"sync/atomic"
)

// ErrProbeQuota means attaching would take the process over its probe
// quota (ProbeLimit).
var ErrProbeQuota = errors.New("number of open probes would exceed the global quota (BCC_PROBE_LIMIT)")

// openProbes counts the kprobes and uprobes this process holds, over all
// Registries. It is package-level on purpose: BCC's quota
// (_num_open_probes) is per process, a guard against a regexp attaching
// thousands of probes, and a per-object count would not guard anything.
var openProbes atomic.Int64

// defaultProbeLimit is BCC's _default_probe_limit.
const defaultProbeLimit = 1000

// ProbeLimit is BCC_PROBE_LIMIT when it is set to a number, else 1000
// (BCC's get_probe_limit).
func ProbeLimit() int {
	if v := os.Getenv("BCC_PROBE_LIMIT"); v != "" {
		if n, err := strconv.Atoi(v); err == nil && n >= 0 {
			return n
		}
	}
	return defaultProbeLimit
}

// OpenProbes is the number of kprobes and uprobes this process holds.
func OpenProbes() int { return int(openProbes.Load()) }

// CheckProbeQuota fails with ErrProbeQuota when n more probes would go
// over ProbeLimit.
func CheckProbeQuota(n int) error {
	if limit := ProbeLimit(); int(openProbes.Load())+n > limit {
		return fmt.Errorf("%w: %d open, %d more, limit %d", ErrProbeQuota, openProbes.Load(), n, limit)
	}
	return nil
}
