package attach

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sync/atomic"

	"golang.org/x/sys/unix"

	"github.com/gobcc/gobcc/internal/bpfsys"
	"github.com/gobcc/gobcc/internal/features"
	"github.com/gobcc/gobcc/internal/kallsyms"
	"github.com/gobcc/gobcc/internal/perfevent"
	"github.com/gobcc/gobcc/internal/tracefs"
)

// ProbeEventsGroup is the tracefs group of the kprobe and uprobe events
// gobcc writes, so that they are recognisable in kprobe_events and
// uprobe_events.
const ProbeEventsGroup = "gobcc"

// ForceProbeEvents makes kprobes and uprobes go through tracefs
// kprobe_events/uprobe_events even where their PMU exists: for tests of
// that path.
var ForceProbeEvents atomic.Bool

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
func probeEventsOpener(pid, cpu int, add func() (*tracefs.ProbeEvent, error)) Opener {
	return func(progFD int) (Handle, error) {
		ev, err := add()
		if err != nil {
			return nil, err
		}
		id, err := ev.ID()
		if err != nil {
			return nil, errors.Join(err, ev.Remove())
		}
		h, err := perfOpener([]int{cpu}, func(cpu int) (*perfevent.Event, error) {
			return perfevent.OpenTracepoint(id, pid, cpu)
		})(progFD)
		if err != nil {
			return nil, errors.Join(err, ev.Remove())
		}
		return &probeEventHandle{perf: h, event: ev}, nil
	}
}

// probeEventHandle is a perf event on a tracefs probe event.
type probeEventHandle struct {
	perf  *perfHandle
	event *tracefs.ProbeEvent
}

func (h *probeEventHandle) Detach() error {
	// The kernel refuses to remove an event a perf event still uses.
	err := h.perf.Detach()
	return errors.Join(err, h.event.Remove())
}
func (h *probeEventHandle) FD() int          { return h.perf.FD() }
func (h *probeEventHandle) Descriptors() int { return 1 }

// pmuProbeOpener creates a kprobe or uprobe through its dynamic PMU (Linux
// 4.17+) and runs the program on it: perf_event_open of type pmu with
// target (a kernel function or a binary's path) and offset, config
// carrying the retprobe bit and, for uprobes, the semaphore offset.
// Closing the event removes the probe, so nothing is left in tracefs.
func pmuProbeOpener(pmu uint32, target string, offset, config uint64, pid, cpu int) Opener {
	return handle(perfOpener([]int{cpu}, func(cpu int) (*perfevent.Event, error) {
		return perfevent.OpenProbe(pmu, target, offset, config, pid, cpu)
	}))
}

// KprobeSupport is nil when this kernel can create kprobes, through the
// kprobe PMU or tracefs kprobe_events, else an error wrapping
// bpfsys.ErrNotSupported that names CONFIG_KPROBES.
func KprobeSupport() error {
	_, err := features.Kprobe()
	return err
}

// KprobeOpener picks how to create a kprobe on the kernel function event:
// the kprobe PMU (Linux 4.17+), else tracefs kprobe_events, which is also
// the only way to set a kretprobe's maxActive. offset is ignored for
// kretprobes.
func KprobeOpener(event string, ret bool, offset uint64, maxActive int) (Opener, error) {
	pmu, err := features.Kprobe()
	if err != nil {
		return nil, err
	}
	if pmu < 0 || (ret && maxActive > 0) || ForceProbeEvents.Load() {
		if !tracefs.ProbeEventsSupported("kprobe_events") {
			return nil, fmt.Errorf("%w: maxactive needs tracefs kprobe_events, which this kernel lacks; the kprobe PMU has no maxactive", bpfsys.ErrNotSupported)
		}
		return probeEventsOpener(-1, 0, func() (*tracefs.ProbeEvent, error) {
			return tracefs.AddKprobe(ProbeEventsGroup, probeEventName(), event, offset, ret, maxActive)
		}), nil
	}
	var config uint64
	if ret {
		config, offset = perfevent.RetprobeBit("kprobe"), 0
	}
	return pmuProbeOpener(uint32(pmu), event, offset, config, -1, 0), nil
}

// KprobeBlacklistPaths are where the kernel lists functions kprobes may
// not probe: BCC 0.26 reads debugfs's, newer BCC tracefs's parent's.
func KprobeBlacklistPaths() []string {
	paths := []string{"/sys/kernel/debug/kprobes/blacklist"}
	if dir, err := tracefs.Dir(); err == nil {
		p := filepath.Clean(dir + "/../kprobes/blacklist")
		if p != paths[0] {
			paths = append(paths, p)
		}
	}
	return paths
}

// UprobeOpener picks how to create a uprobe at a file offset of path, for
// process pid (-1: all), with refCtrOff the file offset of a USDT
// semaphore or 0: the uprobe PMU (Linux 4.17+), else tracefs
// uprobe_events.
func UprobeOpener(path string, offset uint64, pid int, refCtrOff uint64, ret bool) (Opener, error) {
	// A uprobe for all processes is opened on one CPU and fires on every
	// CPU; one for a process follows it on any CPU.
	cpu := 0
	if pid >= 0 {
		cpu = -1
	}
	var open Opener
	pmu, err := perfevent.PMUType("uprobe")
	if err != nil || ForceProbeEvents.Load() {
		if !tracefs.ProbeEventsSupported("uprobe_events") {
			if err := features.Uprobe(); err != nil {
				return nil, err
			}
			return nil, fmt.Errorf("%w: tracefs has no uprobe_events", bpfsys.ErrNotSupported)
		}
		open = probeEventsOpener(pid, cpu, func() (*tracefs.ProbeEvent, error) {
			return tracefs.AddUprobe(ProbeEventsGroup, probeEventName(), path, offset, refCtrOff, ret)
		})
	} else {
		// ref_ctr_offset lives in config bits 32-63. BCC 0.26 passes
		// garbage there (bcc#5236); 0 means no semaphore.
		config := refCtrOff << 32
		if ret {
			config |= perfevent.RetprobeBit("uprobe")
		}
		open = pmuProbeOpener(pmu, path, offset, config, pid, cpu)
	}
	return func(progFD int) (Handle, error) {
		h, err := open(progFD)
		if errors.Is(err, unix.ESRCH) {
			return nil, fmt.Errorf("no process %d: %w", pid, err)
		}
		return h, err
	}, nil
}

var probeRepl = regexp.MustCompile(`[^a-zA-Z0-9_]`)

// UprobeEventName is BCC's _get_uprobe_evname: the name a uprobe is known
// by for detaching ("p_<path>_0x<offset>[_<pid>]"; "r" for uretprobes).
func UprobeEventName(ret bool, path string, offset uint64, pid int) string {
	prefix := "p"
	if ret {
		prefix = "r"
	}
	name := fmt.Sprintf("%s_%s_0x%x", prefix, probeRepl.ReplaceAllString(path, "_"), offset)
	if pid != -1 {
		name += fmt.Sprintf("_%d", pid)
	}
	return name
}

// KprobeReTargets lists the kernel functions a kprobe regexp attaches to
// (BCC's attach_kprobe(event_re=)): it fails first, wrapping
// bpfsys.ErrNotSupported, on a kernel without kprobes, and wraps
// bpfsys.ErrKeyNotExist when nothing matches.
func KprobeReTargets(eventRe string) ([]string, error) {
	if err := KprobeSupport(); err != nil {
		return nil, fmt.Errorf("kprobes matching %q: %w", eventRe, err)
	}
	fns, err := kallsyms.KprobeFunctions(eventRe, KprobeBlacklistPaths())
	if err != nil {
		return nil, err
	}
	if len(fns) == 0 {
		return nil, fmt.Errorf("no kernel function matches %q: %w", eventRe, bpfsys.ErrKeyNotExist)
	}
	return fns, nil
}

// KprobeFunctions is BCC's get_kprobe_functions: kallsyms.KprobeFunctions
// with this kernel's blacklist files.
func KprobeFunctions(eventRe string) ([]string, error) {
	return kallsyms.KprobeFunctions(eventRe, KprobeBlacklistPaths())
}
