package perf_test

import (
	"testing"

	"github.com/gobcc/gobcc/perf"
)

// TestKernelValues pins the constants to the kernel's uapi values
// (linux/perf_event.h), which BCC's PerfType and Perf*Config repeat.
func TestKernelValues(t *testing.T) {
	for name, c := range map[string][2]uint64{
		"TypeHardware": {uint64(perf.TypeHardware), 0}, "TypeSoftware": {uint64(perf.TypeSoftware), 1},
		"TypeTracepoint": {uint64(perf.TypeTracepoint), 2}, "TypeRaw": {uint64(perf.TypeRaw), 4},
		"HWCPUCycles": {perf.HWCPUCycles, 0}, "HWRefCPUCycles": {perf.HWRefCPUCycles, 9},
		"SWCPUClock": {perf.SWCPUClock, 0}, "SWBPFOutput": {perf.SWBPFOutput, 10},
		"Inherit": {uint64(perf.Inherit), 1 << 1}, "ExcludeKernel": {uint64(perf.ExcludeKernel), 1 << 5},
	} {
		if c[0] != c[1] {
			t.Errorf("%s = %d, want %d", name, c[0], c[1])
		}
	}
}
