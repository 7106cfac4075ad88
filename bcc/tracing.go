package bcc

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/gobcc/gobcc/internal/bpfsys"
)

// AttachKfunc loads fnName as a TRACING program with attach type fentry and
// attaches it to the entry of its kernel function (BCC's attach_kfunc,
// KFUNC_PROBE). fnName may omit its "kfunc__" prefix. The kernel function
// is named by the C function: kfunc__<fn> under libbcc < 0.28 and
// kfunc__<module>__<fn> from 0.28 on (see KfuncTarget).
//
// Kernels under lockdown refuse fentry programs with EPERM and no verifier
// log; the error then wraps ErrNotSupported and says so.
//
// The Link is owned by b (see Link).
func (b *BPF) AttachKfunc(fnName string) (*Link, error) {
	return b.attachTracing(addPrefix(prefixKfunc, fnName), LinkKfunc, Tracing, AttachTraceFentry)
}

// AttachKretfunc is AttachKfunc for the function's return (fexit,
// KRETFUNC_PROBE, BCC's attach_kretfunc).
func (b *BPF) AttachKretfunc(fnName string) (*Link, error) {
	return b.attachTracing(addPrefix(prefixKretfunc, fnName), LinkKretfunc, Tracing, AttachTraceFexit)
}

// AttachLSM loads fnName as an LSM program and attaches it to its LSM hook
// (BCC's attach_lsm, LSM_PROBE). fnName may omit its "lsm__" prefix.
func (b *BPF) AttachLSM(fnName string) (*Link, error) {
	return b.attachTracing(addPrefix(prefixLSM, fnName), LinkLSM, LSM, AttachLSMMac)
}

// DetachKfunc detaches a kfunc attached with AttachKfunc (BCC's
// detach_kfunc(fn_name=)).
func (b *BPF) DetachKfunc(fnName string) error {
	name := addPrefix(prefixKfunc, fnName)
	return b.detach(LinkKfunc, name, nil)
}

// DetachKretfunc detaches a kretfunc attached with AttachKretfunc (BCC's
// detach_kretfunc(fn_name=)).
func (b *BPF) DetachKretfunc(fnName string) error {
	name := addPrefix(prefixKretfunc, fnName)
	return b.detach(LinkKretfunc, name, nil)
}

// DetachLSM detaches an LSM program attached with AttachLSM (BCC's
// detach_lsm(fn_name=)).
func (b *BPF) DetachLSM(fnName string) error {
	name := addPrefix(prefixLSM, fnName)
	return b.detach(LinkLSM, name, nil)
}

func addPrefix(prefix, name string) string {
	if strings.HasPrefix(name, prefix) {
		return name
	}
	return prefix + name
}

// KfuncTarget splits a kfunc__, kretfunc__ or lsm__ function name into the
// kernel module and function (or LSM hook) it attaches to, the way the
// libbcc of version libVersion ("0.26.0") names them: kfunc__<fn> before
// 0.28, kfunc__<module>__<fn> from 0.28 on. module is "vmlinux" when the
// name carries none. ok is false when name has none of the prefixes.
func KfuncTarget(name, libVersion string) (module, fn string, ok bool) {
	var rest string
	for _, p := range []string{prefixKfunc, prefixKretfunc, prefixLSM} {
		if r, found := strings.CutPrefix(name, p); found {
			rest, ok = r, true
			if p == prefixLSM {
				// LSM hooks are always in vmlinux and never carry a module.
				return "vmlinux", rest, true
			}
			break
		}
	}
	if !ok {
		return "", "", false
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

func (b *BPF) attachTracing(fnName string, kind LinkKind, progType ProgType, attachType AttachType) (*Link, error) {
	_, target, _ := KfuncTarget(fnName, b.result.LibVersion)
	l, err := b.attach(attachRequest{
		kind: kind, target: fnName, fn: fnName, progType: progType, attachType: attachType,
		dup: dupTarget, what: tracingKindName(kind) + " " + target,
		opener: openerFunc(func(progFD int) (attachHandle, error) {
			fd, err := bpfsys.RawTracepointOpen("", progFD)
			if err != nil {
				return nil, err
			}
			return &fdHandle{fd}, nil
		}),
	})
	var ve *VerifierError
	if errors.As(err, &ve) && ve.Errno == unix.EPERM && strings.TrimSpace(ve.Log) == "" {
		return nil, fmt.Errorf("attach %s: the kernel refused to load it as a %s program for %s: %s: %w",
			fnName, tracingKindName(kind), target, tracingRefusedReason(), err)
	}
	return l, err
}

func tracingKindName(kind LinkKind) string {
	switch kind {
	case LinkKfunc:
		return "fentry (kfunc)"
	case LinkKretfunc:
		return "fexit (kretfunc)"
	case LinkLSM:
		return "LSM"
	}
	return "tracing"
}

// lockdownFile is where securityfs shows the kernel's lockdown mode.
const lockdownFile = "/sys/kernel/security/lockdown"

// tracingRefusedReason explains an EPERM with no verifier log for a
// fentry/fexit or LSM program: the process has the privileges (other
// programs load), so it is the kernel's policy or configuration.
func tracingRefusedReason() string {
	if data, err := os.ReadFile(lockdownFile); err == nil {
		// "none [integrity] confidentiality": the bracketed mode is active.
		s := string(data)
		if i := strings.IndexByte(s, '['); i >= 0 {
			if j := strings.IndexByte(s[i:], ']'); j > 0 {
				mode := s[i+1 : i+j]
				if mode != "none" {
					return fmt.Sprintf("kernel lockdown is %q (%s), which forbids fentry/fexit and LSM programs", mode, lockdownFile)
				}
			}
		}
	}
	return "the kernel refused tracing programs (EPERM with no verifier log): kernel lockdown or missing CONFIG_BPF_JIT/ftrace support"
}
