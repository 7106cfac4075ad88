package bcc

import (
	"fmt"

	"github.com/gobcc/gobcc/internal/attach"
	"github.com/gobcc/gobcc/internal/perfevent"
	"github.com/gobcc/gobcc/perf"
	"github.com/gobcc/gobcc/probes"
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

// AttachPerfEvent loads fnName as a PerfEvent program and runs it on the
// perf event evType/evConfig (e.g. perf.TypeSoftware, perf.SWCPUClock) on
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
	attr := perf.Attr{Type: evType, Config: evConfig, SamplePeriod: o.SamplePeriod, SampleFreq: o.SampleFreq}
	if o.PID > 0 {
		// Follow the process's children, as libbcc's bpf_attach_perf_event.
		attr.Flags |= perf.Inherit
	}
	return b.attachPerfEvent(&attr, fnName, o)
}

// AttachPerfEventRaw is AttachPerfEvent with the perf_event_attr given
// (BCC's attach_perf_event_raw(attr=, fn_name=, pid=, cpu=, group_fd=));
// opts may give PID, CPU and GroupFD, not the sampling, which attr
// carries.
func (b *BPF) AttachPerfEventRaw(attr perf.Attr, fnName string, opts ...PerfEventOptions) (*Link, error) {
	o, err := attachOptions("AttachPerfEventRaw", opts)
	if err != nil {
		return nil, err
	}
	if o.SamplePeriod != 0 || o.SampleFreq != 0 {
		return nil, fmt.Errorf("attach %s to perf event %d/%d: AttachPerfEventRaw takes the sampling from attr, not from PerfEventOptions", fnName, attr.Type, attr.Config)
	}
	return b.attachPerfEvent(&attr, fnName, o)
}

func (b *BPF) attachPerfEvent(attr *perf.Attr, fnName string, o PerfEventOptions) (*Link, error) {
	what := fmt.Sprintf("perf event type %d config %d", attr.Type, attr.Config)
	open, err := attach.PerfEventOpenerFor(perfAttr(attr), o.PID, o.CPU, o.GroupFD)
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

// AttachTracepointRe attaches fnName to every tracepoint probes.GetTracepoints
// lists for tpRe (BCC's attach_tracepoint(tp_re=, fn_name=)). Like BCC it
// stops at the first failure, but, unlike BCC, it first detaches what it
// attached. Matching nothing is an error wrapping ErrTracepointNotFound.
// The Links are owned by b (see Link).
func (b *BPF) AttachTracepointRe(tpRe, fnName string) ([]*Link, error) {
	tps, err := probes.GetTracepoints(tpRe)
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

// perfAttr is the internal form of a perf.Attr.
func perfAttr(a *perf.Attr) *perfevent.Attr {
	return &perfevent.Attr{
		Type: a.Type, Config: a.Config,
		SamplePeriod: a.SamplePeriod, SampleFreq: a.SampleFreq,
		SampleType: a.SampleType, ReadFormat: a.ReadFormat,
		Flags: perfevent.Flags(a.Flags), PreciseIP: a.PreciseIP,
		WakeupEvents: a.WakeupEvents, BPType: a.BPType,
		Config1: a.Config1, Config2: a.Config2,
	}
}
