package bcc

import (
	"fmt"
	"runtime"
	"unsafe"

	"golang.org/x/sys/unix"
)

// openProbePMU creates a kprobe or uprobe through its dynamic PMU: a perf
// event of type pmu whose config1 points at target (a kernel function or
// a binary's path) and whose config2 is offset, with config carrying the
// retprobe bit and, for uprobes, the semaphore offset. It runs progFD on
// the event and enables it. Closing the descriptor removes the probe, so
// nothing is left in tracefs.
func openProbePMU(pmu int, target string, offset, config uint64, pid, cpu, progFD int) (int, error) {
	cTarget, err := unix.BytePtrFromString(target)
	if err != nil {
		return -1, fmt.Errorf("probe target %q: %w", target, err)
	}
	attr := unix.PerfEventAttr{
		Type:   uint32(pmu),
		Sample: 1,
		Wakeup: 1,
		Size:   uint32(unsafe.Sizeof(unix.PerfEventAttr{})),
		Ext1:   uint64(uintptr(unsafe.Pointer(cTarget))),
		Ext2:   offset,
		Config: config,
	}
	fd, err := perfEventAttach(&attr, pid, cpu, progFD)
	// The kernel reads the string during perf_event_open.
	runtime.KeepAlive(cTarget)
	return fd, err
}
