package bcc

import (
	"errors"
	"fmt"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/gobcc/gobcc/internal/attach"
	"github.com/gobcc/gobcc/internal/features"
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
	return b.attachTracing(LinkKfunc, fnName)
}

// AttachKretfunc is AttachKfunc for the function's return (fexit,
// KRETFUNC_PROBE, BCC's attach_kretfunc).
func (b *BPF) AttachKretfunc(fnName string) (*Link, error) {
	return b.attachTracing(LinkKretfunc, fnName)
}

// AttachLSM loads fnName as an LSM program and attaches it to its LSM hook
// (BCC's attach_lsm, LSM_PROBE). fnName may omit its "lsm__" prefix.
func (b *BPF) AttachLSM(fnName string) (*Link, error) {
	return b.attachTracing(LinkLSM, fnName)
}

// DetachKfunc detaches a kfunc attached with AttachKfunc (BCC's
// detach_kfunc(fn_name=)).
func (b *BPF) DetachKfunc(fnName string) error {
	return b.detach(LinkKfunc, attach.TracingName(attach.Kfunc, fnName), nil)
}

// DetachKretfunc detaches a kretfunc attached with AttachKretfunc (BCC's
// detach_kretfunc(fn_name=)).
func (b *BPF) DetachKretfunc(fnName string) error {
	return b.detach(LinkKretfunc, attach.TracingName(attach.Kretfunc, fnName), nil)
}

// DetachLSM detaches an LSM program attached with AttachLSM (BCC's
// detach_lsm(fn_name=)).
func (b *BPF) DetachLSM(fnName string) error {
	return b.detach(LinkLSM, attach.TracingName(attach.LSM, fnName), nil)
}

// KfuncTarget splits a kfunc__, kretfunc__ or lsm__ function name into the
// kernel module and function (or LSM hook) it attaches to, the way the
// libbcc of version libVersion ("0.26.0") names them: kfunc__<fn> before
// 0.28, kfunc__<module>__<fn> from 0.28 on. module is "vmlinux" when the
// name carries none. ok is false when name has none of the prefixes.
func KfuncTarget(name, libVersion string) (module, fn string, ok bool) {
	return attach.KfuncTarget(name, libVersion)
}

func (b *BPF) attachTracing(kind LinkKind, fnName string) (*Link, error) {
	fnName = attach.TracingName(attach.Kind(kind), fnName)
	progType, attachType := attach.TracingTypes(attach.Kind(kind))
	_, target, _ := attach.KfuncTarget(fnName, b.result.LibVersion)
	name := attach.TracingKindName(attach.Kind(kind))
	l, err := b.attach(attach.Request{Kind: attach.Kind(kind), Target: fnName, Fn: fnName,
		Dup: attach.DupTarget, What: name + " " + target, Open: attach.TracingOpener()}, ProgType(progType), AttachType(attachType), nil)
	var ve *VerifierError
	if errors.As(err, &ve) && ve.Errno == unix.EPERM && strings.TrimSpace(ve.Log) == "" {
		return nil, fmt.Errorf("attach %s: the kernel refused to load it as a %s program for %s: %s: %w",
			fnName, name, target, features.TracingRefusedReason(), err)
	}
	return l, err
}
