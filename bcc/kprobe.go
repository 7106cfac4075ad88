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

// KprobeOption adjusts AttachKprobe and AttachKretprobe.
type KprobeOption func(*kprobeConfig)

type kprobeConfig struct {
	offset    uint64
	maxActive int
}

// KprobeOffset probes offset bytes into the function (BCC's event_off).
// Kretprobes ignore it.
func KprobeOffset(offset uint64) KprobeOption {
	return func(c *kprobeConfig) { c.offset = offset }
}

// KprobeMaxActive sets how many instances of the function a kretprobe can
// follow at once (BCC's maxactive); 0 is the kernel's default.
func KprobeMaxActive(n int) KprobeOption {
	return func(c *kprobeConfig) { c.maxActive = n }
}

// kprobeSupport tells whether this kernel can create kprobes at all: through
// the kprobe PMU (perf_event_open) or tracefs's kprobe_events.
func kprobeSupport() (pmu int, err error) {
	if t, err := pmuType("kprobe"); err == nil {
		return t, nil
	}
	if dir, err := tracefs.Dir(); err == nil {
		if _, err := os.Stat(dir + "/kprobe_events"); err == nil {
			return -1, nil
		}
	}
	return 0, fmt.Errorf("%w: this kernel has no kprobes (no kprobe PMU in /sys/bus/event_source/devices and no kprobe_events in tracefs: CONFIG_KPROBES is not set); use a tracepoint or raw tracepoint instead", ErrNotSupported)
}

// pmuType reads the perf event type of a dynamic PMU such as "kprobe" or
// "uprobe".
func pmuType(name string) (int, error) {
	data, err := os.ReadFile("/sys/bus/event_source/devices/" + name + "/type")
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(strings.TrimSpace(string(data)))
}

// pmuRetprobeBit reads which config bit makes a kprobe or uprobe PMU event
// a return probe ("config:0" in format/retprobe on every kernel so far).
func pmuRetprobeBit(name string) uint64 {
	data, err := os.ReadFile("/sys/bus/event_source/devices/" + name + "/format/retprobe")
	if err == nil {
		if s, ok := strings.CutPrefix(strings.TrimSpace(string(data)), "config:"); ok {
			if n, err := strconv.Atoi(s); err == nil && n >= 0 && n < 64 {
				return 1 << n
			}
		}
	}
	return 1
}

// AttachKprobe attaches fnName, loaded as a Kprobe program, to the entry of
// the kernel function event (BCC's attach_kprobe(event=..., fn_name=...)).
// Options set the offset into the function. On a kernel without kprobes the
// error wraps ErrNotSupported and names CONFIG_KPROBES.
func (b *BPF) AttachKprobe(event, fnName string, opts ...KprobeOption) error {
	return b.attachKprobe(event, fnName, false, opts)
}

// AttachKretprobe attaches fnName to the return of kernel function event
// (BCC's attach_kretprobe).
func (b *BPF) AttachKretprobe(event, fnName string, opts ...KprobeOption) error {
	return b.attachKprobe(event, fnName, true, opts)
}

// AttachKprobeRe attaches fnName to every function GetKprobeFunctions(eventRe)
// lists (BCC's attach_kprobe(event_re=...)). It fails only when no function
// could be attached; the error then joins each failure.
func (b *BPF) AttachKprobeRe(eventRe, fnName string, opts ...KprobeOption) error {
	return b.attachKprobeRe(eventRe, fnName, false, opts)
}

// AttachKretprobeRe is AttachKprobeRe for kretprobes.
func (b *BPF) AttachKretprobeRe(eventRe, fnName string, opts ...KprobeOption) error {
	return b.attachKprobeRe(eventRe, fnName, true, opts)
}

func (b *BPF) attachKprobeRe(eventRe, fnName string, ret bool, opts []KprobeOption) error {
	// Fail before listing functions: on a kernel without kprobes nothing
	// else matters.
	if _, err := kprobeSupport(); err != nil {
		return fmt.Errorf("attach %s to kprobes matching %q: %w", fnName, eventRe, err)
	}
	fns, err := GetKprobeFunctions(eventRe)
	if err != nil {
		return err
	}
	if len(fns) == 0 {
		return fmt.Errorf("attach %s: no kernel function matches %q: %w", fnName, eventRe, ErrKeyNotExist)
	}
	if err := checkProbeQuota(len(fns)); err != nil {
		return err
	}
	var errs []error
	for _, fn := range fns {
		if err := b.attachKprobe(fn, fnName, ret, opts); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) == len(fns) {
		return errors.Join(errs...)
	}
	return nil
}

func (b *BPF) attachKprobe(event, fnName string, ret bool, opts []KprobeOption) error {
	var cfg kprobeConfig
	for _, o := range opts {
		o(&cfg)
	}
	kind := kindKprobe
	if ret {
		kind = kindKretprobe
	}
	pmu, err := kprobeSupport()
	if err != nil {
		return fmt.Errorf("attach %s to %s: %w", fnName, event, err)
	}
	if pmu < 0 {
		return fmt.Errorf("attach %s to %s: %w: this kernel offers kprobes through tracefs kprobe_events only (no kprobe PMU, Linux < 4.17), which gobcc does not write", fnName, event, ErrNotSupported)
	}
	if ret && cfg.maxActive > 0 {
		return fmt.Errorf("attach %s to %s: %w: maxactive needs tracefs kprobe_events, which gobcc does not write; the kprobe PMU has no maxactive", fnName, event, ErrNotSupported)
	}
	if err := checkProbeQuota(1); err != nil {
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.attachableLocked(kind, event, fnName, fmt.Sprintf("kprobe %s with %s", event, fnName)); err != nil {
		return err
	}
	f, err := b.loadFuncLocked(fnName, Kprobe, AttachNone)
	if err != nil {
		return err
	}
	var offset, config uint64
	if ret {
		config = pmuRetprobeBit("kprobe")
	} else {
		offset = cfg.offset
	}
	fd, err := openProbePMU(pmu, event, offset, config, -1, 0, f.FD)
	if err != nil {
		return fmt.Errorf("attach %s to kprobe %s: %w", fnName, event, err)
	}
	openProbes.Add(1)
	b.attached = append(b.attached, &attachment{kind: kind, target: event, fn: fnName, fd: fd})
	return nil
}

// DetachKprobe detaches what is attached to the entry of event, or only
// fnName when given (BCC's detach_kprobe).
func (b *BPF) DetachKprobe(event string, fnName ...string) error {
	return b.detach(kindKprobe, event, fnName)
}

// DetachKretprobe detaches what is attached to the return of event.
func (b *BPF) DetachKretprobe(event string, fnName ...string) error {
	return b.detach(kindKretprobe, event, fnName)
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
