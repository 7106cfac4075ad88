package attach

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"

	"github.com/gobcc/gobcc/internal/bpfsys"
	"github.com/gobcc/gobcc/internal/perfevent"
	"github.com/gobcc/gobcc/internal/tracefs"
)

// fdHandle is an attachment held by one descriptor that is not a perf
// event: a raw tracepoint or tracing link, a raw socket.
type fdHandle struct{ descriptor int }

func (h *fdHandle) Detach() error {
	if err := unix.Close(h.descriptor); err != nil {
		return fmt.Errorf("close: %w", err)
	}
	return nil
}
func (h *fdHandle) FD() int          { return h.descriptor }
func (h *fdHandle) Descriptors() int { return 1 }

// perfHandle is an attachment held by perf events, one per CPU for a perf
// event on every CPU, else one.
type perfHandle struct{ events []*perfevent.Event }

func (h *perfHandle) Detach() error {
	var errs []error
	for i := len(h.events) - 1; i >= 0; i-- {
		errs = append(errs, h.events[i].Close())
	}
	return errors.Join(errs...)
}

func (h *perfHandle) FD() int {
	if len(h.events) != 1 {
		return -1
	}
	return h.events[0].FD()
}
func (h *perfHandle) Descriptors() int { return len(h.events) }

// perfOpener opens one perf event per CPU with open and runs the program
// on each; a failure closes those already opened.
func perfOpener(cpus []int, open func(cpu int) (*perfevent.Event, error)) func(progFD int) (*perfHandle, error) {
	return func(progFD int) (*perfHandle, error) {
		h := &perfHandle{}
		for _, cpu := range cpus {
			ev, err := open(cpu)
			if err == nil {
				if err = ev.SetBPF(progFD); err != nil {
					ev.Close()
				}
			}
			if err != nil {
				h.Detach()
				if len(cpus) > 1 {
					return nil, fmt.Errorf("CPU %d: %w", cpu, err)
				}
				return nil, err
			}
			h.events = append(h.events, ev)
		}
		return h, nil
	}
}

// handle turns a perf opener into an Opener.
func handle(open func(progFD int) (*perfHandle, error)) Opener {
	return func(progFD int) (Handle, error) {
		h, err := open(progFD)
		if err != nil {
			return nil, err
		}
		return h, nil
	}
}

// TracepointOpener runs the program on the tracepoint category:event; a
// missing one is an error wrapping tracefs.ErrTracepointNotFound.
func TracepointOpener(category, event string) Opener {
	return handle(perfOpener([]int{0}, func(cpu int) (*perfevent.Event, error) {
		id, err := tracefs.TracepointID(category, event)
		if err != nil {
			return nil, err
		}
		return perfevent.OpenTracepoint(id, -1, cpu)
	}))
}

// PerfEventOpener runs the program on the perf event attr on each of cpus,
// for process pid (-1: all) in the group of groupFD (-1: none).
func PerfEventOpener(attr *perfevent.Attr, pid int, cpus []int, groupFD int) Opener {
	return handle(perfOpener(cpus, func(cpu int) (*perfevent.Event, error) {
		return perfevent.Open(attr, pid, cpu, groupFD)
	}))
}

// RawTracepointOpener attaches the program to the raw tracepoint tp; a
// missing one is an error wrapping tracefs.ErrTracepointNotFound.
func RawTracepointOpener(tp string) Opener {
	return func(progFD int) (Handle, error) {
		fd, err := bpfsys.RawTracepointOpen(tp, progFD)
		if errors.Is(err, unix.ENOENT) {
			return nil, fmt.Errorf("raw tracepoint %q: %w", tp, tracefs.ErrTracepointNotFound)
		}
		if err != nil {
			return nil, err
		}
		return &fdHandle{fd}, nil
	}
}

// TracingOpener attaches a fentry, fexit or LSM program, loaded with its
// target, through BPF_RAW_TRACEPOINT_OPEN without a name.
func TracingOpener() Opener {
	return func(progFD int) (Handle, error) {
		fd, err := bpfsys.RawTracepointOpen("", progFD)
		if err != nil {
			return nil, err
		}
		return &fdHandle{fd}, nil
	}
}

// PerfEventTarget names a perf event of evType and evConfig for by-name
// detach.
func PerfEventTarget(evType uint32, evConfig uint64) string {
	return fmt.Sprintf("perf:%d:%d", evType, evConfig)
}

// PerfEventOpenerFor is PerfEventOpener with BCC's arguments: pid and
// groupFD 0 or less mean every process and no group (BCC's -1), cpu nil
// every online CPU.
func PerfEventOpenerFor(attr *perfevent.Attr, pid int, cpu *int, groupFD int) (Opener, error) {
	if pid <= 0 {
		pid = -1
	}
	if groupFD <= 0 {
		groupFD = -1
	}
	if cpu != nil {
		if *cpu < 0 {
			return nil, fmt.Errorf("CPU %d: want nil for every CPU, or a CPU number", *cpu)
		}
		return PerfEventOpener(attr, pid, []int{*cpu}, groupFD), nil
	}
	cpus, err := bpfsys.OnlineCPUs()
	if err != nil {
		return nil, err
	}
	return PerfEventOpener(attr, pid, cpus, groupFD), nil
}
