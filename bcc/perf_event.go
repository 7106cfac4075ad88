package bcc

import (
	"errors"
	"fmt"
	"regexp"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/gobcc/gobcc/internal/bpfsys"
	"github.com/gobcc/gobcc/internal/tracefs"
)

// PerfEventOption adjusts AttachPerfEvent and AttachPerfEventRaw. Without
// options an event counts every process (pid -1) on every online CPU,
// ungrouped, as BCC's defaults do.
type PerfEventOption func(*perfEventConfig)

type perfEventConfig struct {
	samplePeriod, sampleFreq uint64
	pid, cpu, groupFD        int
}

// SamplePeriod runs the program every n events (BCC's sample_period).
func SamplePeriod(n uint64) PerfEventOption {
	return func(c *perfEventConfig) { c.samplePeriod = n }
}

// SampleFreq runs the program about n times a second (BCC's sample_freq).
func SampleFreq(n uint64) PerfEventOption {
	return func(c *perfEventConfig) { c.sampleFreq = n }
}

// PerfPID restricts the event to one process (BCC's pid); -1 is all.
func PerfPID(pid int) PerfEventOption {
	return func(c *perfEventConfig) { c.pid = pid }
}

// PerfCPU restricts the event to one CPU (BCC's cpu); -1, the default,
// opens one event on each online CPU.
func PerfCPU(cpu int) PerfEventOption {
	return func(c *perfEventConfig) { c.cpu = cpu }
}

// PerfGroupFD puts the event in the group led by fd (BCC's group_fd).
func PerfGroupFD(fd int) PerfEventOption {
	return func(c *perfEventConfig) { c.groupFD = fd }
}

func perfEventOptions(opts []PerfEventOption) perfEventConfig {
	c := perfEventConfig{pid: -1, cpu: -1, groupFD: -1}
	for _, o := range opts {
		o(&c)
	}
	return c
}

// perfEventTarget names an (evType, evConfig) pair for DetachPerfEvent.
func perfEventTarget(evType uint32, evConfig uint64) string {
	return fmt.Sprintf("perf:%d:%d", evType, evConfig)
}

// AttachPerfEvent loads fnName as a PerfEvent program and runs it on the
// perf event evType/evConfig (e.g. unix.PERF_TYPE_SOFTWARE,
// unix.PERF_COUNT_SW_CPU_CLOCK) on every online CPU, or the one PerfCPU
// names (BCC's attach_perf_event). Exactly one of SamplePeriod and
// SampleFreq must be given.
func (b *BPF) AttachPerfEvent(evType uint32, evConfig uint64, fnName string, opts ...PerfEventOption) error {
	c := perfEventOptions(opts)
	if (c.samplePeriod == 0) == (c.sampleFreq == 0) {
		return fmt.Errorf("attach %s to perf event %d/%d: give exactly one of SamplePeriod and SampleFreq", fnName, evType, evConfig)
	}
	attr := unix.PerfEventAttr{
		Type:   evType,
		Config: evConfig,
		Size:   uint32(unsafe.Sizeof(unix.PerfEventAttr{})),
	}
	if c.pid > 0 {
		// Follow the process's children, as libbcc's bpf_attach_perf_event.
		attr.Bits |= unix.PerfBitInherit
	}
	if c.sampleFreq > 0 {
		attr.Bits |= unix.PerfBitFreq
		attr.Sample = c.sampleFreq
	} else {
		attr.Sample = c.samplePeriod
	}
	return b.attachPerfEvent(&attr, fnName, c)
}

// AttachPerfEventRaw is AttachPerfEvent with the whole perf_event_attr
// given (BCC's attach_perf_event_raw). Its Size is filled in when zero.
// Sampling options are ignored: attr carries them.
func (b *BPF) AttachPerfEventRaw(attr *unix.PerfEventAttr, fnName string, opts ...PerfEventOption) error {
	a := *attr
	if a.Size == 0 {
		a.Size = uint32(unsafe.Sizeof(unix.PerfEventAttr{}))
	}
	return b.attachPerfEvent(&a, fnName, perfEventOptions(opts))
}

func (b *BPF) attachPerfEvent(attr *unix.PerfEventAttr, fnName string, c perfEventConfig) error {
	target := perfEventTarget(attr.Type, attr.Config)
	cpus := []int{c.cpu}
	if c.cpu < 0 {
		var err error
		if cpus, err = bpfsys.OnlineCPUs(); err != nil {
			return fmt.Errorf("attach %s to perf event: %w", fnName, err)
		}
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.attachableLocked(kindPerfEvent, target, "", fmt.Sprintf("perf event type %d config %d", attr.Type, attr.Config)); err != nil {
		return err
	}
	f, err := b.loadFuncLocked(fnName, PerfEvent, AttachNone)
	if err != nil {
		return err
	}
	var opened []*attachment
	for _, cpu := range cpus {
		fd, err := perfEventAttachGroup(attr, c.pid, cpu, c.groupFD, f.FD)
		if err != nil {
			for _, a := range opened {
				a.detach()
			}
			return fmt.Errorf("attach %s to perf event type %d config %d on CPU %d: %w", fnName, attr.Type, attr.Config, cpu, err)
		}
		opened = append(opened, &attachment{kind: kindPerfEvent, target: target, fn: fnName, fd: fd})
	}
	b.attached = append(b.attached, opened...)
	return nil
}

// perfEventAttachGroup opens a perf event in the group led by groupFD (-1
// for none), runs progFD on it and enables it: libbcc's
// bpf_attach_perf_event_raw, behind every perf-event-based attach.
func perfEventAttachGroup(attr *unix.PerfEventAttr, pid, cpu, groupFD, progFD int) (int, error) {
	fd, err := unix.PerfEventOpen(attr, pid, cpu, groupFD, unix.PERF_FLAG_FD_CLOEXEC)
	if err != nil {
		return -1, fmt.Errorf("perf_event_open: %w", err)
	}
	if err := unix.IoctlSetInt(fd, unix.PERF_EVENT_IOC_SET_BPF, progFD); err != nil {
		unix.Close(fd)
		return -1, fmt.Errorf("PERF_EVENT_IOC_SET_BPF: %w", err)
	}
	if err := unix.IoctlSetInt(fd, unix.PERF_EVENT_IOC_ENABLE, 0); err != nil {
		unix.Close(fd)
		return -1, fmt.Errorf("PERF_EVENT_IOC_ENABLE: %w", err)
	}
	return fd, nil
}

// DetachPerfEvent closes every event AttachPerfEvent opened for evType and
// evConfig (BCC's detach_perf_event).
func (b *BPF) DetachPerfEvent(evType uint32, evConfig uint64) error {
	return b.detach(kindPerfEvent, perfEventTarget(evType, evConfig), nil)
}

// NumOpenPerfEvents counts open perf event descriptors (one per CPU per
// AttachPerfEvent).
func (b *BPF) NumOpenPerfEvents() int { return b.count(kindPerfEvent) }

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
// lists for tpRe (BCC's attach_tracepoint(tp_re=...)). Like BCC it stops
// at the first failure, but, unlike BCC, it first detaches what it
// attached. Matching nothing is an error wrapping ErrTracepointNotFound.
func (b *BPF) AttachTracepointRe(tpRe, fnName string) error {
	tps, err := GetTracepoints(tpRe)
	if err != nil {
		return err
	}
	if len(tps) == 0 {
		return fmt.Errorf("attach %s: no tracepoint matches %q: %w", fnName, tpRe, ErrTracepointNotFound)
	}
	for i, tp := range tps {
		if err := b.AttachTracepoint(tp, fnName); err != nil {
			var errs []error
			for _, done := range tps[:i] {
				errs = append(errs, b.DetachTracepoint(done, fnName))
			}
			return errors.Join(append([]error{err}, errs...)...)
		}
	}
	return nil
}
