// Package doctor checks what this machine supports for BCC programs, as
// gobcc doctor reports it: privileges, libbcc, the kernel header tree and
// whether its struct offsets match the running kernel's BTF, and the
// kernel features features.All probes. Each check is one Finding
// with a status and, when something is missing, what to do. It also
// renders gobcc headers' report of the header tree.
package doctor

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/cilium/ebpf/btf"
	"golang.org/x/sys/unix"

	"github.com/gobcc/gobcc/bcc"
	"github.com/gobcc/gobcc/cmd/gobcc/cli"
	"github.com/gobcc/gobcc/features"
	"github.com/gobcc/gobcc/symbols"
)

// Finding statuses.
const (
	StatusOK   = "ok"
	StatusInfo = "info"
	StatusWarn = "warn"
	StatusFail = "fail"
)

// Finding is one doctor line, also its --output json form.
type Finding struct {
	Type   string `json:"type"`
	Check  string `json:"check"`
	Status string `json:"status"`
	Detail string `json:"detail"`
	Advice string `json:"advice,omitempty"`
}

// vmlinuxBTF is where the running kernel describes its own types.
const vmlinuxBTF = "/sys/kernel/btf/vmlinux"

// probedFields are the struct members BCC tools read most (exitsnoop,
// tcplife, execsnoop, ...), compared between headers and kernel.
var probedFields = []struct{ structName, field string }{
	{"task_struct", "pid"},
	{"task_struct", "tgid"},
	{"task_struct", "comm"},
	{"task_struct", "real_parent"},
	{"task_struct", "flags"},
	{"task_struct", "mm"},
	{"task_struct", "exit_code"},
	{"task_struct", "start_time"},
}

// Options are the compile settings doctor's probe program uses, those of
// gobcc's global flags.
type Options struct {
	// CompilerFlags returns the validated clang flags; its error is
	// reported as a failed compile finding.
	CompilerFlags func() ([]string, error)
	// InProcess compiles without a helper process (--no-isolate).
	InProcess bool
	// Headers is the --headers policy ("" is auto).
	Headers string
}

// Run performs every check in order and hands each finding to emit as
// soon as it is known. Without privileges the kernel probes are skipped,
// with a finding saying so.
func Run(g Options, emit func(Finding)) {
	root := checkPrivileges()
	emit(root)
	release := KernelRelease()
	emit(Finding{Check: "kernel", Status: StatusInfo, Detail: release})
	emit(checkLibbcc())
	headers, headersRelease := HeaderTreeFinding(g.Headers, release)
	emit(headers)
	// bcc probes every feature; without privileges all but tracefs and
	// BTF fail, and those lines are skipped below.
	byName := map[string]features.Feature{}
	for _, f := range features.All() {
		byName[f.Name] = f
	}
	for _, c := range doctorFeatures[:2] {
		emit(c.finding(byName))
	}
	if root.Status == StatusFail {
		emit(Finding{Check: "probes", Status: StatusWarn, Detail: "skipped the kernel probes: they need privileges", Advice: "run gobcc doctor as root"})
		return
	}
	for _, f := range checkCompileAndOffsets(g, release, headersRelease) {
		emit(f)
	}
	for _, c := range doctorFeatures[2:] {
		emit(c.finding(byName))
	}
	emit(checkKptrRestrict())
}

// featureCheck turns one of features.All into a doctor line: its
// status when the kernel refuses the feature and what to do then.
type featureCheck struct {
	feature, check, failStatus, advice string
}

// doctorFeatures are the doctor lines features.All answers, tracefs
// and BTF first (they need no privileges).
var doctorFeatures = []featureCheck{
	{"tracefs", "tracefs", StatusFail, "mount -t tracefs tracefs /sys/kernel/tracing"},
	{"BTF", "BTF", StatusWarn, "kernel needs CONFIG_DEBUG_INFO_BTF=y for fentry/LSM programs and CO-RE"},
	{"kprobes", "kprobes", StatusFail, "the kernel is built without CONFIG_KPROBES (or refuses kprobes): kprobe__/kretprobe__ functions and attach_kprobe fail; use TRACEPOINT_PROBE or RAW_TRACEPOINT_PROBE"},
	{"uprobes", "uprobes", StatusFail, "attach_uprobe and USDT probes will fail; the kernel needs CONFIG_UPROBE_EVENTS"},
	{"fentry/kfunc", "fentry", StatusFail, "kfunc__/kretfunc__ (KFUNC_PROBE) programs will fail, whatever BCC's kfunc support check says; use tracepoints"},
	{"LSM", "LSM", StatusWarn, "LSM_PROBE programs will fail: they need CONFIG_BPF_LSM, \"bpf\" in the lsm= boot list and no lockdown"},
	{"raw tracepoints", "raw tracepoints", StatusWarn, "RAW_TRACEPOINT_PROBE needs Linux 4.17; use TRACEPOINT_PROBE"},
	{"perf events", "perf events", StatusWarn, "attach_perf_event (profile-style sampling) will fail"},
	{"XDP", "XDP", StatusWarn, "XDP programs will not load"},
	{"batch map ops", "batch map ops", StatusWarn, "table reads fall back to one lookup per key; Linux 5.6 or later has batch operations"},
	{"ring buffer", "ring buffer", StatusWarn, "BPF_RINGBUF_OUTPUT needs Linux 5.8; use BPF_PERF_OUTPUT"},
}

func (c featureCheck) finding(byName map[string]features.Feature) Finding {
	f, ok := byName[c.feature]
	switch {
	case !ok:
		return Finding{Check: c.check, Status: StatusWarn, Detail: "features.All has no " + c.feature + " check"}
	case f.Supported:
		return Finding{Check: c.check, Status: StatusOK, Detail: f.Detail}
	}
	return Finding{Check: c.check, Status: c.failStatus, Detail: f.Detail, Advice: c.advice}
}

// KernelRelease is uname -r, or "unknown".
func KernelRelease() string {
	var uts unix.Utsname
	if err := unix.Uname(&uts); err != nil {
		return "unknown"
	}
	return unix.ByteSliceToString(uts.Release[:])
}

func checkPrivileges() Finding {
	f := Finding{Check: "privileges"}
	if os.Geteuid() == 0 {
		f.Status, f.Detail = StatusOK, "running as root"
		return f
	}
	var hdr unix.CapUserHeader
	var data [2]unix.CapUserData
	hdr.Version = unix.LINUX_CAPABILITY_VERSION_3
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		f.Status, f.Detail = StatusWarn, fmt.Sprintf("cannot read capabilities: %v", err)
		return f
	}
	const capSysAdmin, capPerfmon, capBPF = 21, 38, 39
	has := func(c uint) bool { return data[c/32].Effective&(1<<(c%32)) != 0 }
	switch {
	case has(capSysAdmin), has(capBPF) && has(capPerfmon):
		f.Status, f.Detail = StatusOK, "CAP_BPF and CAP_PERFMON (or CAP_SYS_ADMIN) held"
	default:
		f.Status, f.Detail = StatusFail, "not root and without CAP_BPF and CAP_PERFMON"
		f.Advice = "run as root (sudo gobcc ...) or grant the capabilities: setcap cap_bpf,cap_perfmon+ep $(which gobcc)"
	}
	return f
}

// libbccDirs are where distributions install libbcc.so.0.
var libbccDirs = []string{"/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/usr/lib64", "/usr/lib", "/usr/local/lib", "/usr/local/lib64"}

// LibbccVersion finds libbcc.so.0 the way the dynamic loader usually does
// and reads its version from the real file name, without loading LLVM.
func LibbccVersion() (path, version string, err error) {
	for _, dir := range libbccDirs {
		p, err := filepath.EvalSymlinks(filepath.Join(dir, "libbcc.so.0"))
		if err != nil {
			continue
		}
		v := strings.TrimPrefix(filepath.Base(p), "libbcc.so.")
		return p, v, nil
	}
	return "", "", fmt.Errorf("libbcc.so.0 not found in %s", strings.Join(libbccDirs, ", "))
}

func checkLibbcc() Finding {
	path, v, err := LibbccVersion()
	if err != nil {
		return Finding{Check: "libbcc", Status: StatusFail, Detail: err.Error(), Advice: "install libbcc: apt-get install libbpfcc (Debian/Ubuntu) or bcc (Fedora)"}
	}
	return Finding{Check: "libbcc", Status: StatusOK, Detail: fmt.Sprintf("version %s (%s)", v, path)}
}

// offsetProbe is a program whose table leaf sizes encode struct offsets in
// the headers libbcc compiles against: each leaf is a char array one byte
// longer than the member's offset (so offset 0 is not a zero-length array).
// Its tracepoint function tests attaching at the same time.
func offsetProbe() string {
	var b strings.Builder
	b.WriteString("#include <linux/sched.h>\n")
	for i, f := range probedFields {
		fmt.Fprintf(&b, "struct gobcc_off%d { char b[offsetof(struct %s, %s) + 1]; };\n", i, f.structName, f.field)
		fmt.Fprintf(&b, "BPF_ARRAY(off%d, struct gobcc_off%d, 1);\n", i, i)
	}
	b.WriteString("TRACEPOINT_PROBE(sched, sched_process_exec) { return 0; }\n")
	return b.String()
}

// minimalProbe needs no kernel headers: it tests compiling and attaching a
// tracepoint where the headers are missing or broken.
const minimalProbe = "TRACEPOINT_PROBE(sched, sched_process_exec) { return 0; }\n"

func checkCompileAndOffsets(g Options, release, headersRelease string) []Finding {
	var out []Finding
	flags, err := g.CompilerFlags()
	if err != nil {
		return []Finding{{Check: "compile", Status: StatusFail, Detail: err.Error()}}
	}
	opts := bcc.Options{Text: offsetProbe(), Name: "<doctor probe>", CFlags: flags, DebugWriter: io.Discard, InProcess: g.InProcess, Headers: g.Headers}
	b, err := bcc.New(opts)
	if err != nil {
		out = append(out, Finding{Check: "struct offsets", Status: StatusWarn, Detail: fmt.Sprintf("a probe including <linux/sched.h> failed: %s", firstLine(err))})
		opts.Text = minimalProbe
		b, err = bcc.New(opts)
	}
	if err != nil {
		advice := "see the error; `gobcc check` on a small program shows it in full"
		if errors.Is(err, bcc.ErrTracepointNotFound) {
			advice = "the tracepoint sched:sched_process_exec is missing; is tracefs mounted?"
		}
		return append(out, Finding{Check: "tracepoints", Status: StatusFail, Detail: "compiling and attaching a tracepoint program failed: " + firstLine(err), Advice: advice})
	}
	defer b.Close()
	out = append(out, Finding{Check: "tracepoints", Status: StatusOK, Detail: "compiled, loaded and attached a program on sched:sched_process_exec"})
	if opts.Text == minimalProbe {
		return out
	}
	spec, err := btf.LoadSpec(vmlinuxBTF)
	if err != nil {
		return append(out, Finding{Check: "struct offsets", Status: StatusWarn, Detail: "cannot compare with the kernel: no BTF: " + err.Error()})
	}
	var differ, same []string
	for i, f := range probedFields {
		t, err := b.Table(fmt.Sprintf("off%d", i))
		if err != nil {
			continue
		}
		headerOff := t.LeafSize() - 1
		kernelOff, err := btfOffset(spec, f.structName, f.field)
		name := f.structName + "." + f.field
		if err != nil {
			differ = append(differ, fmt.Sprintf("%s: headers %d, kernel: %v", name, headerOff, err))
			continue
		}
		if headerOff != kernelOff {
			differ = append(differ, fmt.Sprintf("%s %d in the %s headers, %d in the kernel", name, headerOff, headersRelease, kernelOff))
		} else {
			same = append(same, fmt.Sprintf("%s %d", name, headerOff))
		}
	}
	if len(differ) == 0 {
		return append(out, Finding{Check: "struct offsets", Status: StatusOK, Detail: "headers match the kernel's BTF: " + strings.Join(same, ", ")})
	}
	return append(out, Finding{
		Check:  "struct offsets",
		Status: StatusFail,
		Detail: fmt.Sprintf("headers (%s) and running kernel (%s) disagree: %s", headersRelease, release, strings.Join(differ, "; ")),
		Advice: "programs reading these structs read the wrong bytes without any error; BCC tools such as exitsnoop and tcplife silently print garbage. Install the running kernel's headers, or use tracepoint arguments instead of struct reads",
	})
}

// btfOffset finds a member's byte offset, looking inside anonymous structs
// and unions as C does.
func btfOffset(spec *btf.Spec, structName, field string) (int, error) {
	var s *btf.Struct
	if err := spec.TypeByName(structName, &s); err != nil {
		return 0, fmt.Errorf("struct %s: %w", structName, err)
	}
	if off, ok := findMember(s.Members, field, 0); ok {
		return int(off / 8), nil
	}
	return 0, fmt.Errorf("struct %s has no member %s", structName, field)
}

func findMember(members []btf.Member, field string, base btf.Bits) (btf.Bits, bool) {
	for _, m := range members {
		if m.Name == field {
			return base + m.Offset, true
		}
		if m.Name != "" {
			continue
		}
		switch t := btf.UnderlyingType(m.Type).(type) {
		case *btf.Struct:
			if off, ok := findMember(t.Members, field, base+m.Offset); ok {
				return off, true
			}
		case *btf.Union:
			if off, ok := findMember(t.Members, field, base+m.Offset); ok {
				return off, true
			}
		}
	}
	return 0, false
}

func checkKptrRestrict() Finding {
	f := Finding{Check: "kptr_restrict"}
	data, err := os.ReadFile("/proc/sys/kernel/kptr_restrict")
	value := "unknown"
	if err == nil {
		value = strings.TrimSpace(string(data))
	}
	if _, err := symbols.LoadKernel(); err != nil {
		f.Status = StatusWarn
		f.Detail = fmt.Sprintf("kernel.kptr_restrict=%s and /proc/kallsyms hides addresses: %v", value, err)
		f.Advice = "ksym and --ksym print [unknown]; run as root or sysctl kernel.kptr_restrict=0"
		return f
	}
	f.Status, f.Detail = StatusOK, fmt.Sprintf("kernel.kptr_restrict=%s; /proc/kallsyms shows addresses to this process", value)
	return f
}

// firstLine keeps a multi-line error to its first line for a one-line
// Finding.
func firstLine(err error) string {
	s, _, _ := strings.Cut(err.Error(), "\n")
	return s
}

// Print writes one finding: "STATUS CHECK DETAIL" and an advice line, or a
// JSON line.
func Print(w io.Writer, f Finding, asJSON bool) error {
	f.Type = "doctor"
	if asJSON {
		return cli.WriteJSON(w, f)
	}
	if _, err := fmt.Fprintf(w, "%-5s %-16s %s\n", strings.ToUpper(f.Status), f.Check, f.Detail); err != nil {
		return err
	}
	if f.Advice != "" {
		_, err := fmt.Fprintf(w, "      %-16s -> %s\n", "", f.Advice)
		return err
	}
	return nil
}
