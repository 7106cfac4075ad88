package bcc

import (
	"errors"
	"fmt"
	"os"
	"sync/atomic"

	"github.com/gobcc/gobcc/internal/perfevent"
	"github.com/gobcc/gobcc/internal/tracefs"
)

// probeEventsGroup is the tracefs group of the kprobe and uprobe events
// gobcc writes, so that they are recognisable in kprobe_events and
// uprobe_events.
const probeEventsGroup = "gobcc"

// forceProbeEvents makes uprobes go through tracefs uprobe_events even
// where the uprobe PMU exists: for tests of that path.
var forceProbeEvents atomic.Bool

var probeEventSeq atomic.Uint64

// probeEventName is a tracefs event name unique to this process and short
// enough for the kernel's 64-character limit, whatever the probed path.
func probeEventName() string {
	return fmt.Sprintf("p%d_%d", os.Getpid(), probeEventSeq.Add(1))
}

// probeEventsOpener creates a kprobe or uprobe by writing to tracefs
// (add), opens the event it makes as a tracepoint and runs the program on
// it: libbcc's path before the PMUs, and the only one for maxactive.
// Detaching closes the perf event, then removes the tracefs event.
type probeEventsOpener struct {
	add      func() (*tracefs.ProbeEvent, error)
	pid, cpu int
}

func (o probeEventsOpener) open(progFD int) (attachHandle, error) {
	ev, err := o.add()
	if err != nil {
		return nil, err
	}
	id, err := ev.ID()
	if err != nil {
		return nil, errors.Join(err, ev.Remove())
	}
	h, err := perfOpener([]int{o.cpu}, func(cpu int) (*perfevent.Event, error) {
		return perfevent.OpenTracepoint(id, o.pid, cpu)
	}).open(progFD)
	if err != nil {
		return nil, errors.Join(err, ev.Remove())
	}
	return &probeEventHandle{perf: h.(*perfHandle), event: ev}, nil
}

// probeEventHandle is a perf event on a tracefs probe event.
type probeEventHandle struct {
	perf  *perfHandle
	event *tracefs.ProbeEvent
}

func (h *probeEventHandle) detach() error {
	// The kernel refuses to remove an event a perf event still uses.
	err := h.perf.detach()
	return errors.Join(err, h.event.Remove())
}
func (h *probeEventHandle) fd() int          { return h.perf.fd() }
func (h *probeEventHandle) descriptors() int { return 1 }
