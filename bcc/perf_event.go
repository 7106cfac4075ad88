package bcc

import (
	"fmt"
	"regexp"

	"github.com/gobcc/gobcc/internal/attach"
	"github.com/gobcc/gobcc/internal/perfevent"
	"github.com/gobcc/gobcc/internal/tracefs"
)

// Perf event types for AttachPerfEvent and PerfEventAttr.Type (BCC's
// PerfType, the kernel's enum perf_type_id).
const (
	PerfTypeHardware   uint32 = perfevent.TypeHardware
	PerfTypeSoftware   uint32 = perfevent.TypeSoftware
	PerfTypeTracepoint uint32 = perfevent.TypeTracepoint
	PerfTypeHWCache    uint32 = perfevent.TypeHWCache
	PerfTypeRaw        uint32 = perfevent.TypeRaw
	PerfTypeBreakpoint uint32 = perfevent.TypeBreakpoint
)

// Hardware event configs (BCC's PerfHWConfig, enum perf_hw_id).
const (
	PerfHWCPUCycles             uint64 = 0
	PerfHWInstructions          uint64 = 1
	PerfHWCacheReferences       uint64 = 2
	PerfHWCacheMisses           uint64 = 3
	PerfHWBranchInstructions    uint64 = 4
	PerfHWBranchMisses          uint64 = 5
	PerfHWBusCycles             uint64 = 6
	PerfHWStalledCyclesFrontend uint64 = 7
	PerfHWStalledCyclesBackend  uint64 = 8
	PerfHWRefCPUCycles          uint64 = 9
)

// Software event configs (BCC's PerfSWConfig, enum perf_sw_ids).
const (
	PerfSWCPUClock        uint64 = 0
	PerfSWTaskClock       uint64 = 1
	PerfSWPageFaults      uint64 = 2
	PerfSWContextSwitches uint64 = 3
	PerfSWCPUMigrations   uint64 = 4
	PerfSWPageFaultsMin   uint64 = 5
	PerfSWPageFaultsMaj   uint64 = 6
	PerfSWAlignmentFaults uint64 = 7
	PerfSWEmulationFaults uint64 = 8
	PerfSWDummy           uint64 = 9
	PerfSWBPFOutput       uint64 = 10
)

// PerfEventOptions are the optional settings of AttachPerfEvent and
// AttachPerfEventRaw, under BCC's argument names. The zero value is BCC's
// default: every process, every online CPU, no group.
type PerfEventOptions struct {
	// SamplePeriod runs the program every SamplePeriod events (BCC's
	// sample_period=). AttachPerfEvent needs exactly one of SamplePeriod
	// and SampleFreq; AttachPerfEventRaw takes them from its attr.
	SamplePeriod uint64
	// SampleFreq runs the program about SampleFreq times a second (BCC's
	// sample_freq=).
	SampleFreq uint64
	// PID restricts the event to one process and, for AttachPerfEvent, its
	// children (BCC's pid=). 0, like BCC's default -1, is every process.
	PID int
	// CPU restricts the event to one CPU (BCC's cpu=). nil, like BCC's
	// default -1, opens one event on each online CPU. It is a pointer
	// because CPU 0 is a CPU.
	CPU *int
	// GroupFD puts the event in the group led by this perf event
	// descriptor (BCC's group_fd=). 0, like BCC's default -1, is no group.
	// The caller keeps the descriptor.
	GroupFD int
}

// PerfEventFlags are perf_event_attr's single-bit settings, for
// PerfEventAttr.Flags.
type PerfEventFlags uint64

// The perf_event_attr bits PerfEventAttr can set (BCC's
// Perf.perf_event_attr bit fields of the same names).
const (
	PerfEventInherit       = PerfEventFlags(perfevent.FlagInherit)
	PerfEventPinned        = PerfEventFlags(perfevent.FlagPinned)
	PerfEventExclusive     = PerfEventFlags(perfevent.FlagExclusive)
	PerfEventExcludeUser   = PerfEventFlags(perfevent.FlagExcludeUser)
	PerfEventExcludeKernel = PerfEventFlags(perfevent.FlagExcludeKernel)
	PerfEventExcludeHV     = PerfEventFlags(perfevent.FlagExcludeHV)
	PerfEventExcludeIdle   = PerfEventFlags(perfevent.FlagExcludeIdle)
	PerfEventExcludeHost   = PerfEventFlags(perfevent.FlagExcludeHost)
	PerfEventExcludeGuest  = PerfEventFlags(perfevent.FlagExcludeGuest)
)

// PerfEventAttr is the perf_event_attr of AttachPerfEventRaw: the fields
// of BCC Python's Perf.perf_event_attr that make sense for a BPF program
// run on each sample. gobcc fills in size, and sets freq from SampleFreq.
type PerfEventAttr struct {
	// Type is the event type, a PerfType* constant or a dynamic PMU's
	// type (type).
	Type uint32
	// Config selects the event within Type (config).
	Config uint64
	// SamplePeriod runs the program every SamplePeriod events
	// (sample_period); SampleFreq about SampleFreq times a second
	// (sample_freq, setting freq). Give at most one.
	SamplePeriod uint64
	SampleFreq   uint64
	// SampleType and ReadFormat are PERF_SAMPLE_* and PERF_FORMAT_* bits
	// (sample_type, read_format); a BPF program rarely needs them.
	SampleType uint64
	ReadFormat uint64
	// Flags are the attr's bit fields (inherit, exclude_kernel, ...).
	Flags PerfEventFlags
	// PreciseIP is the skid constraint, 0 to 3 (precise_ip).
	PreciseIP uint8
	// WakeupEvents is wakeup_events.
	WakeupEvents uint32
	// BPType, Config1 and Config2 describe breakpoints (bp_type, bp_addr,
	// bp_len) and extended configs of dynamic PMUs (config1, config2).
	BPType  uint32
	Config1 uint64
	Config2 uint64
}

func (a *PerfEventAttr) internal() *perfevent.Attr {
	return &perfevent.Attr{
		Type: a.Type, Config: a.Config,
		SamplePeriod: a.SamplePeriod, SampleFreq: a.SampleFreq,
		SampleType: a.SampleType, ReadFormat: a.ReadFormat,
		Flags: perfevent.Flags(a.Flags), PreciseIP: a.PreciseIP,
		WakeupEvents: a.WakeupEvents, BPType: a.BPType,
		Config1: a.Config1, Config2: a.Config2,
	}
}

// AttachPerfEvent loads fnName as a PerfEvent program and runs it on the
// perf event evType/evConfig (e.g. PerfTypeSoftware, PerfSWCPUClock) on
// every online CPU, or the one opts names (BCC's
// attach_perf_event(ev_type=, ev_config=, fn_name=, sample_period=,
// sample_freq=, pid=, cpu=, group_fd=)). opts, exactly one, must give
// exactly one of SamplePeriod and SampleFreq. The Link, owned by b (see
// Link), holds one event per CPU.
func (b *BPF) AttachPerfEvent(evType uint32, evConfig uint64, fnName string, opts ...PerfEventOptions) (*Link, error) {
	o, err := attachOptions("AttachPerfEvent", opts)
	if err != nil {
		return nil, err
	}
	if (o.SamplePeriod == 0) == (o.SampleFreq == 0) {
		return nil, fmt.Errorf("attach %s to perf event %d/%d: give exactly one of SamplePeriod and SampleFreq", fnName, evType, evConfig)
	}
	attr := PerfEventAttr{Type: evType, Config: evConfig, SamplePeriod: o.SamplePeriod, SampleFreq: o.SampleFreq}
	if o.PID > 0 {
		// Follow the process's children, as libbcc's bpf_attach_perf_event.
		attr.Flags |= PerfEventInherit
	}
	return b.attachPerfEvent(&attr, fnName, o)
}

// AttachPerfEventRaw is AttachPerfEvent with the perf_event_attr given
// (BCC's attach_perf_event_raw(attr=, fn_name=, pid=, cpu=, group_fd=));
// opts may give PID, CPU and GroupFD, not the sampling, which attr
// carries.
func (b *BPF) AttachPerfEventRaw(attr PerfEventAttr, fnName string, opts ...PerfEventOptions) (*Link, error) {
	o, err := attachOptions("AttachPerfEventRaw", opts)
	if err != nil {
		return nil, err
	}
	if o.SamplePeriod != 0 || o.SampleFreq != 0 {
		return nil, fmt.Errorf("attach %s to perf event %d/%d: AttachPerfEventRaw takes the sampling from attr, not from PerfEventOptions", fnName, attr.Type, attr.Config)
	}
	return b.attachPerfEvent(&attr, fnName, o)
}

func (b *BPF) attachPerfEvent(attr *PerfEventAttr, fnName string, o PerfEventOptions) (*Link, error) {
	what := fmt.Sprintf("perf event type %d config %d", attr.Type, attr.Config)
	open, err := attach.PerfEventOpenerFor(attr.internal(), o.PID, o.CPU, o.GroupFD)
	if err != nil {
		return nil, fmt.Errorf("attach %s to %s: %w", fnName, what, err)
	}
	return b.attach(attach.Request{Kind: attach.PerfEvent, Target: attach.PerfEventTarget(attr.Type, attr.Config),
		Fn: fnName, Dup: attach.DupTarget, What: what, Open: open}, PerfEvent, 0, nil)
}

// DetachPerfEvent closes every event AttachPerfEvent opened for evType and
// evConfig (BCC's detach_perf_event(ev_type=, ev_config=)).
func (b *BPF) DetachPerfEvent(evType uint32, evConfig uint64) error {
	return b.detach(LinkPerfEvent, attach.PerfEventTarget(evType, evConfig), nil)
}

// NumOpenPerfEvents counts open perf event descriptors of AttachPerfEvent
// and AttachPerfEventRaw (one per CPU per call).
func (b *BPF) NumOpenPerfEvents() int { return b.links.Descriptors(attach.PerfEvent) }

// GetTracepoints lists the tracepoints, "category:event", whose name tpRe
// matches at its start (BCC's get_tracepoints, which uses re.match).
func GetTracepoints(tpRe string) ([]string, error) {
	re, err := regexp.Compile(tpRe)
	if err != nil {
		return nil, fmt.Errorf("tracepoint regexp: %w", err)
	}
	return tracefs.Tracepoints(re)
}

// TracepointExists reports whether the kernel has the tracepoint
// category:event (BCC's tracepoint_exists).
func TracepointExists(category, event string) bool {
	return tracefs.TracepointExists(category, event)
}

// AttachTracepointRe attaches fnName to every tracepoint GetTracepoints
// lists for tpRe (BCC's attach_tracepoint(tp_re=, fn_name=)). Like BCC it
// stops at the first failure, but, unlike BCC, it first detaches what it
// attached. Matching nothing is an error wrapping ErrTracepointNotFound.
// The Links are owned by b (see Link).
func (b *BPF) AttachTracepointRe(tpRe, fnName string) ([]*Link, error) {
	tps, err := GetTracepoints(tpRe)
	if err != nil {
		return nil, err
	}
	if len(tps) == 0 {
		return nil, fmt.Errorf("attach %s: no tracepoint matches %q: %w", fnName, tpRe, ErrTracepointNotFound)
	}
	return attach.AttachAll(tps, false, false, func(tp string) (*Link, error) {
		return b.AttachTracepoint(tp, fnName)
	})
}
