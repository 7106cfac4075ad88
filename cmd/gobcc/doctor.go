package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/btf"
	"github.com/cilium/ebpf/link"
	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"

	"github.com/gobcc/gobcc/bcc"
	"github.com/gobcc/gobcc/internal/bpfsys"
	"github.com/gobcc/gobcc/internal/tracefs"
)

// Doctor statuses.
const (
	statusOK   = "ok"
	statusInfo = "info"
	statusWarn = "warn"
	statusFail = "fail"
)

// finding is one doctor line, also its --output json form.
type finding struct {
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

func newDoctorCommand(g *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "doctor",
		Short: "Check what this machine supports for BCC programs, and explain what to do",
		Long: `doctor checks privileges, libbcc, the kernel and its headers, tracefs,
kprobes, uprobes, fentry, BTF, batch map operations, ring buffers and
kptr_restrict. Support is probed by trying (creating a map, loading and
attaching a tiny program), not inferred from kernel config or symbols.

When libbcc compiles against headers of another kernel, doctor compiles a
probe against those headers and compares struct member offsets
(task_struct.pid, tgid, comm, ...) with the running kernel's BTF: when they
differ, programs that read kernel structs (exitsnoop, tcplife, ...) silently
read the wrong fields.

Each line says ok, warn or fail and what to do. doctor exits 0 when it could
run its checks, whatever it found; use -o json to act on the findings.

` + exitCodesHelp,
		Example: `  gobcc doctor
  gobcc doctor -o json | jq 'select(.status != "ok")'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			w := cmd.OutOrStdout()
			emit := func(f finding) {
				f.Type = "doctor"
				if g.json() {
					writeJSON(w, f)
					return
				}
				fmt.Fprintf(w, "%-5s %-16s %s\n", strings.ToUpper(f.Status), f.Check, f.Detail)
				if f.Advice != "" {
					fmt.Fprintf(w, "      %-16s -> %s\n", "", f.Advice)
				}
			}
			runDoctor(g, emit)
			return nil
		},
	}
}

func runDoctor(g *globalOptions, emit func(finding)) {
	root := checkPrivileges()
	emit(root)
	release := kernelRelease()
	emit(finding{Check: "kernel", Status: statusInfo, Detail: release})
	emit(checkLibbcc())
	headers, headersRelease := checkHeaders(release)
	emit(headers)
	emit(checkTracefs())
	emit(checkBTF())
	if root.Status == statusFail {
		emit(finding{Check: "probes", Status: statusWarn, Detail: "skipped the kernel probes: they need privileges", Advice: "run gobcc doctor as root"})
		return
	}
	for _, f := range checkCompileAndOffsets(g, release, headersRelease) {
		emit(f)
	}
	emit(checkKprobes())
	emit(checkUprobes())
	emit(checkFentry())
	emit(checkBatch())
	emit(checkRingbuf())
	emit(checkKptrRestrict())
}

func kernelRelease() string {
	var uts unix.Utsname
	if err := unix.Uname(&uts); err != nil {
		return "unknown"
	}
	return unix.ByteSliceToString(uts.Release[:])
}

func checkPrivileges() finding {
	f := finding{Check: "privileges"}
	if os.Geteuid() == 0 {
		f.Status, f.Detail = statusOK, "running as root"
		return f
	}
	var hdr unix.CapUserHeader
	var data [2]unix.CapUserData
	hdr.Version = unix.LINUX_CAPABILITY_VERSION_3
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		f.Status, f.Detail = statusWarn, fmt.Sprintf("cannot read capabilities: %v", err)
		return f
	}
	const capSysAdmin, capPerfmon, capBPF = 21, 38, 39
	has := func(c uint) bool { return data[c/32].Effective&(1<<(c%32)) != 0 }
	switch {
	case has(capSysAdmin), has(capBPF) && has(capPerfmon):
		f.Status, f.Detail = statusOK, "CAP_BPF and CAP_PERFMON (or CAP_SYS_ADMIN) held"
	default:
		f.Status, f.Detail = statusFail, "not root and without CAP_BPF and CAP_PERFMON"
		f.Advice = "run as root (sudo gobcc ...) or grant the capabilities: setcap cap_bpf,cap_perfmon+ep $(which gobcc)"
	}
	return f
}

// libbccDirs are where distributions install libbcc.so.0.
var libbccDirs = []string{"/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/usr/lib64", "/usr/lib", "/usr/local/lib", "/usr/local/lib64"}

// libbccVersion finds libbcc.so.0 the way the dynamic loader usually does
// and reads its version from the real file name, without loading LLVM.
func libbccVersion() (path, version string, err error) {
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

func checkLibbcc() finding {
	path, v, err := libbccVersion()
	if err != nil {
		return finding{Check: "libbcc", Status: statusFail, Detail: err.Error(), Advice: "install libbcc: apt-get install libbpfcc (Debian/Ubuntu) or bcc (Fedora)"}
	}
	return finding{Check: "libbcc", Status: statusOK, Detail: fmt.Sprintf("version %s (%s)", v, path)}
}

var headersDirVersion = regexp.MustCompile(`linux-headers-([^/]+?)(-common|-amd64|-arm64)?$`)

// checkHeaders says which kernel headers libbcc compiles against: it uses
// /lib/modules/$(uname -r)/build.
func checkHeaders(release string) (finding, string) {
	f := finding{Check: "kernel headers"}
	build := filepath.Join("/lib/modules", release, "build")
	target, err := filepath.EvalSymlinks(build)
	if err != nil {
		f.Status = statusFail
		f.Detail = fmt.Sprintf("none at %s: programs that include kernel headers will not compile", build)
		f.Advice = "install the headers of the running kernel (apt-get install linux-headers-" + release + "), or link that path to the nearest available headers"
		return f, ""
	}
	have := ""
	if data, err := os.ReadFile(filepath.Join(target, "include/config/kernel.release")); err == nil {
		have = strings.TrimSpace(string(data))
	} else if m := headersDirVersion.FindStringSubmatch(filepath.Base(target)); m != nil {
		have = m[1] + m[2]
	}
	if have == release || have == "" {
		f.Status, f.Detail = statusOK, fmt.Sprintf("%s (%s)", target, release)
		return f, have
	}
	f.Status = statusWarn
	f.Detail = fmt.Sprintf("no headers for %s; libbcc uses %s (%s) instead: struct layouts may differ from the running kernel", release, have, target)
	f.Advice = "tracepoint arguments are safe; kernel struct reads are checked below"
	return f, have
}

func checkTracefs() finding {
	dir, err := tracefs.Dir()
	if err != nil {
		return finding{Check: "tracefs", Status: statusFail, Detail: err.Error(), Advice: "mount -t tracefs tracefs /sys/kernel/tracing"}
	}
	return finding{Check: "tracefs", Status: statusOK, Detail: "mounted at " + dir}
}

func checkBTF() finding {
	spec, err := btf.LoadSpec(vmlinuxBTF)
	if err != nil {
		return finding{Check: "BTF", Status: statusWarn, Detail: fmt.Sprintf("%s unusable: %v", vmlinuxBTF, err), Advice: "kernel needs CONFIG_DEBUG_INFO_BTF=y for fentry/LSM programs and CO-RE"}
	}
	var ts *btf.Struct
	if err := spec.TypeByName("task_struct", &ts); err != nil {
		return finding{Check: "BTF", Status: statusWarn, Detail: fmt.Sprintf("%s has no task_struct: %v", vmlinuxBTF, err)}
	}
	return finding{Check: "BTF", Status: statusOK, Detail: fmt.Sprintf("%s (task_struct is %d bytes)", vmlinuxBTF, ts.Size)}
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

func checkCompileAndOffsets(g *globalOptions, release, headersRelease string) []finding {
	var out []finding
	flags, err := g.compilerFlags()
	if err != nil {
		return []finding{{Check: "compile", Status: statusFail, Detail: err.Error()}}
	}
	opts := bcc.Options{Text: offsetProbe(), Name: "<doctor probe>", CFlags: flags, DebugWriter: io.Discard, InProcess: g.noIsolate}
	b, err := bcc.New(opts)
	if err != nil {
		out = append(out, finding{Check: "struct offsets", Status: statusWarn, Detail: fmt.Sprintf("a probe including <linux/sched.h> failed: %s", firstLine(err))})
		opts.Text = minimalProbe
		b, err = bcc.New(opts)
	}
	if err != nil {
		advice := "see the error; `gobcc check` on a small program shows it in full"
		if errors.Is(err, bcc.ErrTracepointNotFound) {
			advice = "the tracepoint sched:sched_process_exec is missing; is tracefs mounted?"
		}
		return append(out, finding{Check: "tracepoints", Status: statusFail, Detail: "compiling and attaching a tracepoint program failed: " + firstLine(err), Advice: advice})
	}
	defer b.Close()
	out = append(out, finding{Check: "tracepoints", Status: statusOK, Detail: "compiled, loaded and attached a program on sched:sched_process_exec"})
	if opts.Text == minimalProbe {
		return out
	}
	spec, err := btf.LoadSpec(vmlinuxBTF)
	if err != nil {
		return append(out, finding{Check: "struct offsets", Status: statusWarn, Detail: "cannot compare with the kernel: no BTF: " + err.Error()})
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
		return append(out, finding{Check: "struct offsets", Status: statusOK, Detail: "headers match the kernel's BTF: " + strings.Join(same, ", ")})
	}
	return append(out, finding{
		Check:  "struct offsets",
		Status: statusFail,
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

// returnZero is the smallest program the verifier accepts.
var returnZero = asm.Instructions{asm.Mov.Imm(asm.R0, 0), asm.Return()}

func eventSourcePresent(name string) string {
	if _, err := os.Stat("/sys/bus/event_source/devices/" + name); err == nil {
		return "present"
	}
	return "absent"
}

func tracefsFilePresent(name string) string {
	dir, err := tracefs.Dir()
	if err != nil {
		return "absent"
	}
	if _, err := os.Stat(filepath.Join(dir, name)); err == nil {
		return "present"
	}
	return "absent"
}

func checkKprobes() finding {
	f := finding{Check: "kprobes"}
	where := fmt.Sprintf("kprobe PMU %s, tracefs kprobe_events %s", eventSourcePresent("kprobe"), tracefsFilePresent("kprobe_events"))
	prog, err := ebpf.NewProgram(&ebpf.ProgramSpec{Type: ebpf.Kprobe, Instructions: returnZero, License: "GPL"})
	if err != nil {
		f.Status, f.Detail = statusFail, fmt.Sprintf("cannot load a kprobe program: %v (%s)", err, where)
		f.Advice = "kprobe__/kretprobe__ functions and attach_kprobe will fail; use TRACEPOINT_PROBE or RAW_TRACEPOINT_PROBE"
		return f
	}
	defer prog.Close()
	l, err := link.Kprobe("vfs_read", prog, nil)
	if err != nil {
		f.Status, f.Detail = statusFail, fmt.Sprintf("missing: attaching to vfs_read failed: %v (%s)", err, where)
		f.Advice = "the kernel is built without CONFIG_KPROBES: kprobe__/kretprobe__ functions and attach_kprobe fail; use TRACEPOINT_PROBE or RAW_TRACEPOINT_PROBE"
		return f
	}
	l.Close()
	f.Status, f.Detail = statusOK, "attached a kprobe to vfs_read ("+where+")"
	return f
}

func checkUprobes() finding {
	f := finding{Check: "uprobes"}
	where := fmt.Sprintf("uprobe PMU %s, tracefs uprobe_events %s", eventSourcePresent("uprobe"), tracefsFilePresent("uprobe_events"))
	prog, err := ebpf.NewProgram(&ebpf.ProgramSpec{Type: ebpf.Kprobe, Instructions: returnZero, License: "GPL"})
	if err != nil {
		f.Status, f.Detail = statusFail, fmt.Sprintf("cannot load a uprobe program: %v (%s)", err, where)
		return f
	}
	defer prog.Close()
	self, err := os.Executable()
	if err != nil {
		f.Status, f.Detail = statusWarn, fmt.Sprintf("cannot find this executable to probe: %v", err)
		return f
	}
	ex, err := link.OpenExecutable(self)
	if err == nil {
		var l link.Link
		l, err = ex.Uprobe("main.main", prog, nil)
		if err == nil {
			l.Close()
			f.Status, f.Detail = statusOK, "attached a uprobe to this executable ("+where+")"
			return f
		}
	}
	f.Status, f.Detail = statusFail, fmt.Sprintf("attaching a uprobe failed: %v (%s)", err, where)
	f.Advice = "attach_uprobe and USDT probes will fail; the kernel needs CONFIG_UPROBE_EVENTS"
	return f
}

func checkFentry() finding {
	f := finding{Check: "fentry"}
	prog, err := ebpf.NewProgram(&ebpf.ProgramSpec{
		Type: ebpf.Tracing, AttachType: ebpf.AttachTraceFEntry, AttachTo: "vfs_read",
		Instructions: returnZero, License: "GPL",
	})
	if err != nil {
		// cilium/ebpf blames MEMLOCK for any EPERM, but kernels since 5.11
		// account BPF memory to cgroups instead.
		msg := strings.Replace(err.Error(), " (MEMLOCK may be too low, consider rlimit.RemoveMemlock)", "", 1)
		f.Status, f.Detail = statusFail, fmt.Sprintf("loading an fentry program for vfs_read failed: %s", msg)
		f.Advice = "kfunc__/kretfunc__ (KFUNC_PROBE) programs will fail, whatever BCC's kfunc support check says; use tracepoints"
		return f
	}
	defer prog.Close()
	l, err := link.AttachTracing(link.TracingOptions{Program: prog})
	if err != nil {
		f.Status, f.Detail = statusFail, fmt.Sprintf("an fentry program for vfs_read loaded, but attaching it failed: %v", err)
		f.Advice = "kfunc__/kretfunc__ (KFUNC_PROBE) programs will fail to attach, whatever BCC's kfunc support check says; use tracepoints"
		return f
	}
	l.Close()
	f.Status, f.Detail = statusOK, "loaded and attached an fentry program to vfs_read"
	return f
}

func checkBatch() finding {
	err := bpfsys.BatchSupported(uint32(bcc.MapHash))
	switch {
	case err == nil:
		return finding{Check: "batch map ops", Status: statusOK, Detail: "batch lookups on hash maps work (fast table reads and clears)"}
	case errors.Is(err, bpfsys.ErrNotSupported):
		return finding{Check: "batch map ops", Status: statusWarn, Detail: "not supported: table reads fall back to one lookup per key", Advice: "Linux 5.6 or later has them"}
	}
	return finding{Check: "batch map ops", Status: statusWarn, Detail: fmt.Sprintf("probe failed: %v", err)}
}

func checkRingbuf() finding {
	fd, err := bpfsys.MapCreate(uint32(bcc.MapRingbuf), 0, 0, uint32(os.Getpagesize()), 0, "gobcc_doctor")
	if err != nil {
		return finding{Check: "ring buffer", Status: statusWarn, Detail: fmt.Sprintf("creating a BPF ring buffer failed: %v", err), Advice: "BPF_RINGBUF_OUTPUT needs Linux 5.8; use BPF_PERF_OUTPUT"}
	}
	unix.Close(fd)
	return finding{Check: "ring buffer", Status: statusOK, Detail: "created a BPF ring buffer map"}
}

func checkKptrRestrict() finding {
	f := finding{Check: "kptr_restrict"}
	data, err := os.ReadFile("/proc/sys/kernel/kptr_restrict")
	value := "unknown"
	if err == nil {
		value = strings.TrimSpace(string(data))
	}
	if _, err := bcc.LoadKernelSymbols(); err != nil {
		f.Status = statusWarn
		f.Detail = fmt.Sprintf("kernel.kptr_restrict=%s and /proc/kallsyms hides addresses: %v", value, err)
		f.Advice = "ksym and --ksym print [unknown]; run as root or sysctl kernel.kptr_restrict=0"
		return f
	}
	f.Status, f.Detail = statusOK, fmt.Sprintf("kernel.kptr_restrict=%s; /proc/kallsyms shows addresses to this process", value)
	return f
}

// firstLine keeps a multi-line error to its first line for a one-line
// finding.
func firstLine(err error) string {
	s, _, _ := strings.Cut(err.Error(), "\n")
	return s
}
