package bcc

import (
	"github.com/gobcc/gobcc/internal/perfevent"
)

// pmuProbeOpener creates a kprobe or uprobe through its dynamic PMU (Linux
// 4.17+) and runs the program on it: perf_event_open of type pmu with
// target (a kernel function or a binary's path) and offset, config
// carrying the retprobe bit and, for uprobes, the semaphore offset.
// Closing the event removes the probe, so nothing is left in tracefs.
type pmuProbeOpener struct {
	pmu            uint32
	target         string
	offset, config uint64
	pid, cpu       int
}

func (o pmuProbeOpener) open(progFD int) (attachHandle, error) {
	return perfOpener([]int{o.cpu}, func(cpu int) (*perfevent.Event, error) {
		return perfevent.OpenProbe(o.pmu, o.target, o.offset, o.config, o.pid, cpu)
	}).open(progFD)
}

// pmuType is perfevent.PMUType for callers that want an int (features.go).
func pmuType(name string) (int, error) {
	t, err := perfevent.PMUType(name)
	return int(t), err
}

// openProbePMU creates a PMU probe running progFD and returns its
// descriptor, which the caller closes (features.go's support checks).
func openProbePMU(pmu int, target string, offset, config uint64, pid, cpu, progFD int) (int, error) {
	ev, err := perfevent.OpenProbe(uint32(pmu), target, offset, config, pid, cpu)
	if err != nil {
		return -1, err
	}
	if err := ev.SetBPF(progFD); err != nil {
		ev.Close()
		return -1, err
	}
	return ev.TakeFD(), nil
}
