package attach

import (
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Function-name prefixes that BCC attaches automatically.
const (
	PrefixTracepoint    = "tracepoint__"
	PrefixRawTracepoint = "raw_tracepoint__"
	PrefixKprobe        = "kprobe__"
	PrefixKretprobe     = "kretprobe__"
	PrefixKfunc         = "kfunc__"
	PrefixKretfunc      = "kretfunc__"
	PrefixLSM           = "lsm__"
)

// AutoTarget is BCC's _trace_autoload rule for one function name: the
// kind of attachment its prefix asks for and the target
// ("category:event" for a tracepoint, the raw tracepoint, the kernel
// function of a kprobe; the function's own name for kfunc, kretfunc and
// LSM). ok is false for a name that asks for nothing.
func AutoTarget(name string) (kind Kind, target string, ok bool) {
	rules := []struct {
		prefix string
		kind   Kind
	}{
		{PrefixTracepoint, Tracepoint}, {PrefixRawTracepoint, RawTracepoint},
		{PrefixKprobe, Kprobe}, {PrefixKretprobe, Kretprobe},
		{PrefixKfunc, Kfunc}, {PrefixKretfunc, Kretfunc}, {PrefixLSM, LSM},
	}
	for _, r := range rules {
		rest, found := strings.CutPrefix(name, r.prefix)
		if !found {
			continue
		}
		switch r.kind {
		case Tracepoint:
			cat, event, cut := strings.Cut(rest, "__")
			if !cut {
				return 0, "", false
			}
			return Tracepoint, cat + ":" + event, true
		case Kfunc, Kretfunc, LSM:
			return r.kind, name, true
		}
		return r.kind, rest, true
	}
	return 0, "", false
}

// TracingName is fnName with the prefix of its kind (kfunc__, kretfunc__,
// lsm__), which callers may omit.
func TracingName(kind Kind, fnName string) string {
	prefix := map[Kind]string{Kfunc: PrefixKfunc, Kretfunc: PrefixKretfunc, LSM: PrefixLSM}[kind]
	if strings.HasPrefix(fnName, prefix) {
		return fnName
	}
	return prefix + fnName
}

// TracingTypes are the program type and attach type a function of a
// tracing kind (Kfunc, Kretfunc, LSM) is loaded as.
func TracingTypes(kind Kind) (progType, attachType int) {
	switch kind {
	case Kretfunc:
		return unix.BPF_PROG_TYPE_TRACING, unix.BPF_TRACE_FEXIT
	case LSM:
		return unix.BPF_PROG_TYPE_LSM, unix.BPF_LSM_MAC
	}
	return unix.BPF_PROG_TYPE_TRACING, unix.BPF_TRACE_FENTRY
}

// TracingKindName names a tracing kind in errors.
func TracingKindName(kind Kind) string {
	switch kind {
	case Kfunc:
		return "fentry (kfunc)"
	case Kretfunc:
		return "fexit (kretfunc)"
	case LSM:
		return "LSM"
	}
	return "tracing"
}

// KfuncTarget splits a kfunc__, kretfunc__ or lsm__ function name into the
// kernel module and function (or LSM hook) it attaches to, the way the
// libbcc of version libVersion ("0.26.0") names them: kfunc__<fn> before
// 0.28, kfunc__<module>__<fn> from 0.28 on. module is "vmlinux" when the
// name carries none. ok is false when name has none of the prefixes.
func KfuncTarget(name, libVersion string) (module, fn string, ok bool) {
	if rest, found := strings.CutPrefix(name, PrefixLSM); found {
		// LSM hooks are always in vmlinux and never carry a module.
		return "vmlinux", rest, true
	}
	rest, found := strings.CutPrefix(name, PrefixKfunc)
	if !found {
		if rest, found = strings.CutPrefix(name, PrefixKretfunc); !found {
			return "", "", false
		}
	}
	if versionAtLeast(libVersion, 0, 28) {
		if m, f, cut := strings.Cut(rest, "__"); cut && m != "" && f != "" {
			return m, f, true
		}
	}
	return "vmlinux", rest, true
}

// versionAtLeast compares a "major.minor.patch" version; an unknown
// version counts as new, as internal/libbcc does.
func versionAtLeast(v string, major, minor int) bool {
	parts := strings.Split(v, ".")
	if len(parts) < 2 {
		return true
	}
	maj, err1 := strconv.Atoi(parts[0])
	min, err2 := strconv.Atoi(parts[1])
	if err1 != nil || err2 != nil {
		return true
	}
	return maj > major || (maj == major && min >= minor)
}
