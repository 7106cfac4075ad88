package compiler

import (
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/cilium/ebpf/btf"
	"golang.org/x/sys/unix"

	"github.com/gobcc/gobcc/internal/bpfobj"
	"github.com/gobcc/gobcc/internal/bpfsys"
)

// Program types and attach types this file needs, with the kernel's values.
const (
	progTypeTracing = 26
	progTypeLSM     = 29
	attachLSMMac    = 27 // BPF_LSM_MAC
)

// ErrNotStorable means a compiled program uses something a gobcc object
// cannot carry (see ToObject); it is compiled each time instead of cached.
var ErrNotStorable = errors.New("program cannot be stored as an object")

// ToObject turns a compile's result into an object for the cache or a
// file. Map-in-map tables are refused with ErrNotStorable: their creation
// needs an inner map that the object's legacy map definitions cannot name.
func ToObject(r *Result, source, kernelRelease string) (*bpfobj.Object, error) {
	obj := &bpfobj.Object{
		License: r.License, KernVersion: r.KernVersion, LibbccVersion: r.LibVersion,
		KernelRelease: kernelRelease, Source: source,
	}
	for _, t := range r.Tables {
		if t.Type == unix.BPF_MAP_TYPE_ARRAY_OF_MAPS || t.Type == unix.BPF_MAP_TYPE_HASH_OF_MAPS {
			return nil, fmt.Errorf("%w: table %s is a map of maps", ErrNotStorable, t.Name)
		}
		obj.Maps = append(obj.Maps, bpfobj.Map{
			Name: t.Name, Type: uint32(t.Type), KeySize: uint32(t.KeySize), ValueSize: uint32(t.LeafSize),
			MaxEntries: uint32(t.MaxEntries), Flags: uint32(t.Flags),
			KeyDesc: t.KeyDesc, LeafDesc: t.LeafDesc, Fields: t.Fields, ModuleFD: t.ModuleFD,
		})
	}
	for _, f := range r.Functions {
		obj.Functions = append(obj.Functions, bpfobj.Function{Name: f.Name, Insns: f.Insns})
	}
	if _, err := bpfobj.Write(obj); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNotStorable, err)
	}
	return obj, nil
}

// objectSession loads an object's functions with bpf(2) directly: no
// helper, no libbcc, no LLVM.
type objectSession struct {
	mu     sync.Mutex
	obj    *bpfobj.Object
	fds    []int // map descriptors, owned by the Result's receiver
	result *Result
	closed bool
}

// FromObject creates obj's maps and returns a Session that loads its
// functions through the verifier without libbcc. The maps' descriptors in
// Result().Tables belong to the caller, as with a compile; on error none is
// left open.
func FromObject(obj *bpfobj.Object) (Session, error) {
	s := &objectSession{obj: obj, result: &Result{
		LibVersion: obj.LibbccVersion, License: obj.License, KernVersion: obj.KernVersion,
	}}
	for i, m := range obj.Maps {
		fd, err := bpfsys.MapCreate(m.Type, m.KeySize, m.ValueSize, m.MaxEntries, m.Flags, m.Name)
		if err != nil {
			for _, fd := range s.fds {
				unix.Close(fd)
			}
			return nil, fmt.Errorf("create table %s: %w", m.Name, err)
		}
		s.fds = append(s.fds, fd)
		s.result.Tables = append(s.result.Tables, Table{
			Name: m.Name, FD: fd, ModuleFD: i, Type: int(m.Type), MaxEntries: int(m.MaxEntries),
			Flags: int(m.Flags), KeyDesc: m.KeyDesc, LeafDesc: m.LeafDesc,
			KeySize: int(m.KeySize), LeafSize: int(m.ValueSize), Fields: m.Fields,
		})
	}
	for _, f := range obj.Functions {
		s.result.Functions = append(s.result.Functions, Function{Name: f.Name, Insns: f.Insns})
	}
	return s, nil
}

func (s *objectSession) Result() *Result { return s.result }

func (s *objectSession) Load(req LoadRequest) (LoadResult, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return LoadResult{}, ErrClosed
	}
	var fn *bpfobj.Function
	for i := range s.obj.Functions {
		if s.obj.Functions[i].Name == req.Name {
			fn = &s.obj.Functions[i]
		}
	}
	if fn == nil {
		return LoadResult{}, fmt.Errorf("no function %q in the object", req.Name)
	}
	insns, err := bpfobj.Relocate(*fn, s.fds)
	if err != nil {
		return LoadResult{}, err
	}
	attr := bpfsys.ProgLoadAttr{
		Type: uint32(req.ProgType), Insns: insns, License: s.obj.License, Name: progName(req.Name),
		LogLevel: uint32(req.LogLevel), ExpectedAttachType: uint32(req.AttachType),
		KernVersion: s.obj.KernVersion,
	}
	if req.ProgType == progTypeTracing || req.ProgType == progTypeLSM {
		id, err := attachBTFID(req.Name, req.ProgType)
		if err != nil {
			return LoadResult{FD: -1, Errno: int(unix.EINVAL), Output: err.Error()}, nil
		}
		attr.AttachBTFID = uint32(id)
		if req.ProgType == progTypeLSM {
			attr.ExpectedAttachType = attachLSMMac
		}
	}
	fd, log, err := bpfsys.ProgLoad(attr)
	if err != nil {
		var errno unix.Errno
		if !errors.As(err, &errno) {
			return LoadResult{}, err
		}
		return LoadResult{FD: -1, Log: log, Errno: int(errno)}, nil
	}
	return LoadResult{FD: fd, Log: log}, nil
}

// progName is the kernel's name for a function, as libbcc's
// bcc_prog_load_xattr makes it: without BCC's attach prefix (tracepoint__,
// kprobe__, ...), cut to 15 bytes by the kernel's limit.
func progName(name string) string {
	for _, p := range []string{"kprobe__", "kretprobe__", "tracepoint__", "raw_tracepoint__", "kfunc__", "kmod_ret__", "kretfunc__", "lsm__", "bpf_iter__"} {
		if rest, ok := strings.CutPrefix(name, p); ok {
			return rest
		}
	}
	return name
}

// attachBTFID finds the kernel function a kfunc__/kretfunc__/lsm__ program
// attaches to, as libbcc's bcc_func_load does: the name after the prefix,
// without a "vmlinux__" module part (libbcc 0.28+), and "bpf_lsm_" before
// an LSM hook.
func attachBTFID(name string, progType int) (btf.TypeID, error) {
	target := name
	for _, p := range []string{"kretfunc__", "kfunc__", "lsm__"} {
		if rest, ok := strings.CutPrefix(name, p); ok {
			target = strings.TrimPrefix(rest, "vmlinux__")
		}
	}
	if progType == progTypeLSM {
		target = "bpf_lsm_" + target
	}
	spec, err := btf.LoadKernelSpec()
	if err != nil {
		return 0, fmt.Errorf("find %s in kernel BTF: %w", target, err)
	}
	var fn *btf.Func
	if err := spec.TypeByName(target, &fn); err != nil {
		return 0, fmt.Errorf("find %s in kernel BTF: %w", target, err)
	}
	return spec.TypeID(fn)
}

// Close ends the session; the tables' descriptors stay with their owner.
func (s *objectSession) Close() error {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	return nil
}
