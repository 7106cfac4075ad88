// Package perf names perf events for bcc.BPF.AttachPerfEvent and
// AttachPerfEventRaw: the event types, the hardware and software event
// configs (BCC's PerfType, PerfHWConfig and PerfSWConfig), and the
// perf_event_attr a raw attach takes.
//
//	b.AttachPerfEvent(perf.TypeSoftware, perf.SWCPUClock, "on_sample",
//		bcc.PerfEventOptions{SampleFreq: 99})
package perf

import "github.com/gobcc/gobcc/internal/perfevent"

// Perf event types for bcc.BPF.AttachPerfEvent and Attr.Type (BCC's
// Type, the kernel's enum perf_type_id).
const (
	TypeHardware   uint32 = perfevent.TypeHardware
	TypeSoftware   uint32 = perfevent.TypeSoftware
	TypeTracepoint uint32 = perfevent.TypeTracepoint
	TypeHWCache    uint32 = perfevent.TypeHWCache
	TypeRaw        uint32 = perfevent.TypeRaw
	TypeBreakpoint uint32 = perfevent.TypeBreakpoint
)

// Hardware event configs (BCC's HWConfig, enum perf_hw_id).
const (
	HWCPUCycles             uint64 = 0
	HWInstructions          uint64 = 1
	HWCacheReferences       uint64 = 2
	HWCacheMisses           uint64 = 3
	HWBranchInstructions    uint64 = 4
	HWBranchMisses          uint64 = 5
	HWBusCycles             uint64 = 6
	HWStalledCyclesFrontend uint64 = 7
	HWStalledCyclesBackend  uint64 = 8
	HWRefCPUCycles          uint64 = 9
)

// Software event configs (BCC's SWConfig, enum perf_sw_ids).
const (
	SWCPUClock        uint64 = 0
	SWTaskClock       uint64 = 1
	SWPageFaults      uint64 = 2
	SWContextSwitches uint64 = 3
	SWCPUMigrations   uint64 = 4
	SWPageFaultsMin   uint64 = 5
	SWPageFaultsMaj   uint64 = 6
	SWAlignmentFaults uint64 = 7
	SWEmulationFaults uint64 = 8
	SWDummy           uint64 = 9
	SWBPFOutput       uint64 = 10
)

// Flags are perf_event_attr's single-bit settings, for
// Attr.Flags.
type Flags uint64

// The perf_event_attr bits Attr can set (BCC's
// Perf.perf_event_attr bit fields of the same names).
const (
	Inherit       = Flags(perfevent.FlagInherit)
	Pinned        = Flags(perfevent.FlagPinned)
	Exclusive     = Flags(perfevent.FlagExclusive)
	ExcludeUser   = Flags(perfevent.FlagExcludeUser)
	ExcludeKernel = Flags(perfevent.FlagExcludeKernel)
	ExcludeHV     = Flags(perfevent.FlagExcludeHV)
	ExcludeIdle   = Flags(perfevent.FlagExcludeIdle)
	ExcludeHost   = Flags(perfevent.FlagExcludeHost)
	ExcludeGuest  = Flags(perfevent.FlagExcludeGuest)
)

// Attr is the perf_event_attr of bcc.BPF.AttachPerfEventRaw: the fields
// of BCC Python's Perf.perf_event_attr that make sense for a BPF program
// run on each sample. gobcc fills in size, and sets freq from SampleFreq.
type Attr struct {
	// Type is the event type, a Type constant or a dynamic PMU's
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
	Flags Flags
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
