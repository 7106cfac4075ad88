package bcc

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/gobcc/gobcc/internal/perfevent"
	"github.com/gobcc/gobcc/internal/tracefs"
)

// ErrProbeQuota means attaching would take the process over its probe
// quota (ProbeLimit).
var ErrProbeQuota = errors.New("number of open probes would exceed the global quota (BCC_PROBE_LIMIT)")

// openProbes counts the kprobes and uprobes this process holds, over all
// BPF objects. It is package-level on purpose: BCC's quota
// (_num_open_probes) is per process, a guard against a regexp attaching
// thousands of probes, and a per-object count would not guard anything.
var openProbes atomic.Int64

// defaultProbeLimit is BCC's _default_probe_limit.
const defaultProbeLimit = 1000

// ProbeLimit is the most kprobes and uprobes a process may hold at once:
// BCC_PROBE_LIMIT when it is set to a number, else 1000 (BCC's
// get_probe_limit).
func ProbeLimit() int {
	if v := os.Getenv("BCC_PROBE_LIMIT"); v != "" {
		if n, err := strconv.Atoi(v); err == nil && n >= 0 {
			return n
		}
	}
	return defaultProbeLimit
}

// OpenProbes is the number of kprobes and uprobes this process holds over
// all BPF objects, the count ProbeLimit bounds.
func OpenProbes() int { return int(openProbes.Load()) }

func checkProbeQuota(n int) error {
	if limit := ProbeLimit(); int(openProbes.Load())+n > limit {
		return fmt.Errorf("%w: %d open, %d more, limit %d", ErrProbeQuota, openProbes.Load(), n, limit)
	}
	return nil
}

// KprobeOptions are the optional settings of AttachKprobe, AttachKretprobe
// and their Re forms, under BCC's argument names. The zero value is BCC's
// default.
type KprobeOptions struct {
	// EventOffset probes this many bytes into the function (BCC's
	// event_off=). Kretprobes ignore it.
	EventOffset uint64
	// MaxActive is how many instances of the function a kretprobe can
	// follow at once (BCC's maxactive=); 0 is the kernel's default. The
	// kprobe PMU cannot set it: a kretprobe with MaxActive is created
	// through tracefs kprobe_events, as BCC does.
	MaxActive int
}

// kprobeSupport tells whether this kernel can create kprobes at all: through
// the kprobe PMU (perf_event_open), or tracefs's kprobe_events (pmu is then
// -1).
func kprobeSupport() (pmu int, err error) {
	if t, err := perfevent.PMUType("kprobe"); err == nil {
		return int(t), nil
	}
	if dir, err := tracefs.Dir(); err == nil {
		if _, err := os.Stat(dir + "/kprobe_events"); err == nil {
			return -1, nil
		}
	}
	return 0, fmt.Errorf("%w: this kernel has no kprobes (no kprobe PMU in /sys/bus/event_source/devices and no kprobe_events in tracefs: CONFIG_KPROBES is not set); use a tracepoint or raw tracepoint instead", ErrNotSupported)
}

// kprobeOpener picks how to create a kprobe: the kprobe PMU (Linux
// 4.17+), else tracefs kprobe_events, which is also the only way to set a
// kretprobe's maxactive.
func kprobeOpener(event string, ret bool, o KprobeOptions) (opener, error) {
	pmu, err := kprobeSupport()
	if err != nil {
		return nil, err
	}
	if pmu < 0 || (ret && o.MaxActive > 0) || forceProbeEvents.Load() {
		if !tracefs.ProbeEventsSupported("kprobe_events") {
			return nil, fmt.Errorf("%w: maxactive needs tracefs kprobe_events, which this kernel lacks; the kprobe PMU has no maxactive", ErrNotSupported)
		}
		return probeEventsOpener{pid: -1, cpu: 0, add: func() (*tracefs.ProbeEvent, error) {
			return tracefs.AddKprobe(probeEventsGroup, probeEventName(), event, o.EventOffset, ret, o.MaxActive)
		}}, nil
	}
	var offset, config uint64
	if ret {
		config = perfevent.RetprobeBit("kprobe")
	} else {
		offset = o.EventOffset
	}
	return pmuProbeOpener{pmu: uint32(pmu), target: event, offset: offset, config: config, pid: -1, cpu: 0}, nil
}

// AttachKprobe attaches fnName, loaded as a Kprobe program, to the entry of
// the kernel function event (BCC's attach_kprobe(event=, fn_name=,
// event_off=)); opts, at most one, sets the offset. On a kernel without
// kprobes the error wraps ErrNotSupported and names CONFIG_KPROBES. The
// Link is owned by b (see Link).
func (b *BPF) AttachKprobe(event, fnName string, opts ...KprobeOptions) (*Link, error) {
	return b.attachKprobe(event, fnName, false, opts)
}

// AttachKretprobe attaches fnName to the return of kernel function event
// (BCC's attach_kretprobe(event=, fn_name=, maxactive=)).
func (b *BPF) AttachKretprobe(event, fnName string, opts ...KprobeOptions) (*Link, error) {
	return b.attachKprobe(event, fnName, true, opts)
}

// AttachKprobeRe attaches fnName to every function GetKprobeFunctions(eventRe)
// lists (BCC's attach_kprobe(event_re=, fn_name=)). As BCC, it fails only
// when no function could be attached (the error then joins each failure);
// the Links are those that attached.
func (b *BPF) AttachKprobeRe(eventRe, fnName string, opts ...KprobeOptions) ([]*Link, error) {
	return b.attachKprobeRe(eventRe, fnName, false, opts)
}

// AttachKretprobeRe is AttachKprobeRe for kretprobes (BCC's
// attach_kretprobe(event_re=, ...)).
func (b *BPF) AttachKretprobeRe(eventRe, fnName string, opts ...KprobeOptions) ([]*Link, error) {
	return b.attachKprobeRe(eventRe, fnName, true, opts)
}

func (b *BPF) attachKprobeRe(eventRe, fnName string, ret bool, opts []KprobeOptions) ([]*Link, error) {
	// Fail before listing functions: on a kernel without kprobes nothing
	// else matters.
	if _, err := kprobeSupport(); err != nil {
		return nil, fmt.Errorf("attach %s to kprobes matching %q: %w", fnName, eventRe, err)
	}
	fns, err := GetKprobeFunctions(eventRe)
	if err != nil {
		return nil, err
	}
	if len(fns) == 0 {
		return nil, fmt.Errorf("attach %s: no kernel function matches %q: %w", fnName, eventRe, ErrKeyNotExist)
	}
	if err := checkProbeQuota(len(fns)); err != nil {
		return nil, err
	}
	var errs []error
	var links []*Link
	for _, fn := range fns {
		l, err := b.attachKprobe(fn, fnName, ret, opts)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		links = append(links, l)
	}
	if len(links) == 0 {
		return nil, errors.Join(errs...)
	}
	return links, nil
}

func (b *BPF) attachKprobe(event, fnName string, ret bool, opts []KprobeOptions) (*Link, error) {
	kind := LinkKprobe
	if ret {
		kind = LinkKretprobe
	}
	o, err := attachOptions("Attach"+kindCall(kind), opts)
	if err != nil {
		return nil, err
	}
	op, err := kprobeOpener(event, ret, o)
	if err != nil {
		return nil, fmt.Errorf("attach %s to %s: %w", fnName, event, err)
	}
	return b.attach(attachRequest{
		kind: kind, target: event, fn: fnName, progType: Kprobe,
		dup: dupTargetFunction, what: kind.String() + " " + event, opener: op,
	})
}

// kindCall is a kind's name as in its Attach call ("Kprobe").
func kindCall(k LinkKind) string {
	switch k {
	case LinkKprobe:
		return "Kprobe"
	case LinkKretprobe:
		return "Kretprobe"
	case LinkUprobe:
		return "Uprobe"
	case LinkUretprobe:
		return "Uretprobe"
	}
	return k.String()
}

// DetachKprobe detaches what is attached to the entry of event, or only
// fnName when given (BCC's detach_kprobe(event=, fn_name=)).
func (b *BPF) DetachKprobe(event string, fnName ...string) error {
	return b.detach(LinkKprobe, event, fnName)
}

// DetachKretprobe detaches what is attached to the return of event (BCC's
// detach_kretprobe(event=, fn_name=)).
func (b *BPF) DetachKretprobe(event string, fnName ...string) error {
	return b.detach(LinkKretprobe, event, fnName)
}

// SyscallPrefixes are the prefixes kernels give system call functions, in
// the order BCC tries them (BPF._syscall_prefixes, with RISC-V added as in
// BCC after 0.26).
var SyscallPrefixes = []string{
	"sys_",
	"__x64_sys_",
	"__x32_compat_sys_",
	"__ia32_compat_sys_",
	"__arm64_sys_",
	"__s390x_sys_",
	"__s390_sys_",
	"__riscv_sys_",
}

// SyscallPrefix returns the prefix this kernel gives system call functions,
// found as BCC does by looking each candidate up with "bpf" appended. When
// none is found it returns the first, "sys_", as BCC does.
func (k *KernelSymbols) SyscallPrefix() string {
	for _, p := range SyscallPrefixes {
		if _, ok := k.t.Address(p + "bpf"); ok {
			return p
		}
	}
	return SyscallPrefixes[0]
}

// GetSyscallPrefix returns the kernel's system call function prefix, such
// as "__x64_sys_" (BCC's get_syscall_prefix). Without kallsyms it returns
// "sys_".
func (b *BPF) GetSyscallPrefix() string {
	k, err := b.ksyms.get()
	if err != nil {
		return SyscallPrefixes[0]
	}
	return k.SyscallPrefix()
}

// GetSyscallFnName returns the kernel function of system call name:
// "clone" -> "__x64_sys_clone" on x86-64 (BCC's get_syscall_fnname).
func (b *BPF) GetSyscallFnName(name string) string {
	return b.GetSyscallPrefix() + name
}

// FixSyscallFnName rewrites a function name carrying any known system call
// prefix to this kernel's: "sys_clone" -> "__x64_sys_clone" (BCC's
// fix_syscall_fnname). Other names are returned unchanged. New applies it
// to kprobe__ and kretprobe__ functions.
func (b *BPF) FixSyscallFnName(name string) string {
	for _, p := range SyscallPrefixes {
		if rest, ok := strings.CutPrefix(name, p); ok {
			return b.GetSyscallFnName(rest)
		}
	}
	return name
}

// kprobeBlacklistPaths are where the kernel lists functions kprobes may not
// probe: BCC 0.26 reads debugfs's, newer BCC tracefs's parent's.
func kprobeBlacklistPaths() []string {
	paths := []string{"/sys/kernel/debug/kprobes/blacklist"}
	if dir, err := tracefs.Dir(); err == nil {
		p := filepath.Clean(dir + "/../kprobes/blacklist")
		if p != paths[0] {
			paths = append(paths, p)
		}
	}
	return paths
}

// GetKprobeFunctions lists, sorted and without duplicates, the kernel
// functions that eventRe matches at their start (Python's re.match, as BCC
// 0.26's get_kprobe_functions) and that a kprobe may probe: text symbols
// outside the init and irqentry sections, not in the kprobe blacklist,
// and not perf, __SCT__, _kbl_addr_ or .cold symbols. A missing blacklist
// file (a kernel without kprobes) counts as an empty list, where BCC
// raises.
func GetKprobeFunctions(eventRe string) ([]string, error) {
	re, err := regexp.Compile(`^(?:` + eventRe + `)`)
	if err != nil {
		return nil, fmt.Errorf("kprobe regexp: %w", err)
	}
	blacklist, err := readKprobeBlacklist(kprobeBlacklistPaths())
	if err != nil {
		return nil, err
	}
	f, err := os.Open("/proc/kallsyms")
	if err != nil {
		return nil, fmt.Errorf("kprobe functions: %w", err)
	}
	defer f.Close()
	return kprobeFunctions(f, re, blacklist)
}

// readKprobeBlacklist reads the first blacklist file that exists; none
// existing, or none readable for lack of permission, gives an empty list.
func readKprobeBlacklist(paths []string) (map[string]bool, error) {
	out := make(map[string]bool)
	for _, p := range paths {
		f, err := os.Open(p)
		if errors.Is(err, os.ErrNotExist) || errors.Is(err, os.ErrPermission) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("kprobe blacklist: %w", err)
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			// "0xffffffff81000000-0xffffffff81000010\tfunction"
			if fields := strings.Fields(sc.Text()); len(fields) >= 2 {
				out[fields[1]] = true
			}
		}
		err = sc.Err()
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("kprobe blacklist %s: %w", p, err)
		}
		return out, nil
	}
	return out, nil
}

var coldSuffix = regexp.MustCompile(`\.cold(\.\d+)?$`)

// kprobeFunctions applies BCC's filter to kallsyms text in file order: the
// init and irqentry sections are recognised by their boundary symbols.
func kprobeFunctions(r io.Reader, re *regexp.Regexp, blacklist map[string]bool) ([]string, error) {
	const (
		before = iota
		inside
		after
	)
	initSection, irqSection := before, before
	seen := make(map[string]bool)
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 3 {
			continue
		}
		typ, fn := fields[1], fields[2]
		switch initSection {
		case before:
			if fn == "__init_begin" {
				initSection = inside
				continue
			}
		case inside:
			if fn == "__init_end" {
				initSection = after
			}
			continue
		}
		switch irqSection {
		case before:
			if fn == "__irqentry_text_start" {
				irqSection = inside
				continue
			}
			// __irqentry_text_end may come first when the section is empty.
			if fn == "__irqentry_text_end" {
				irqSection = after
				continue
			}
		case inside:
			if fn == "__irqentry_text_end" {
				irqSection = after
			}
			continue
		}
		switch {
		case strings.HasPrefix(fn, "_kbl_addr_"),
			strings.HasPrefix(fn, "__perf"), strings.HasPrefix(fn, "perf_"),
			strings.HasPrefix(fn, "__SCT__"),
			coldSuffix.MatchString(fn):
			continue
		}
		if (typ == "t" || typ == "T" || typ == "w" || typ == "W") && re.MatchString(fn) && !blacklist[fn] {
			seen[fn] = true
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("kallsyms: %w", err)
	}
	out := make([]string, 0, len(seen))
	for fn := range seen {
		out = append(out, fn)
	}
	sort.Strings(out)
	return out, nil
}
