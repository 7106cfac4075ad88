//go:build linux

package bpfsys

import (
	"errors"
	"unsafe"

	"golang.org/x/sys/unix"
)

// ErrKeyNotExist reports that a map has no entry for the key (ENOENT from
// lookup, update with BPF_EXIST, delete), that iteration with MapGetNextKey
// has passed the last key, or that a batch call has reached the end of the
// map. Errors that match it also match unix.ENOENT.
var ErrKeyNotExist = errors.New("key does not exist")

// ErrNotSupported reports that the running kernel lacks a bpf(2) command or
// does not implement it for a map type.
var ErrNotSupported = errors.New("not supported by this kernel")

// errnoENOTSUPP is the kernel-internal ENOTSUPP (524) that leaks out of
// bpf(2) for map types lacking an operation; x/sys/unix does not define it
// because it is not a userspace errno.
const errnoENOTSUPP = unix.Errno(524)

// SyscallError is a bpf(2) command that the kernel refused. errors.Is
// matches its Errno and, where it applies, ErrKeyNotExist or
// ErrNotSupported.
type SyscallError struct {
	// Op names the command, for example "map lookup".
	Op string
	// Errno is what the kernel returned.
	Errno unix.Errno
	// kind is ErrKeyNotExist, ErrNotSupported or nil.
	kind error
}

// Error implements error.
func (e *SyscallError) Error() string {
	name := unix.ErrnoName(e.Errno)
	if name == "" && e.Errno == errnoENOTSUPP {
		name = "ENOTSUPP"
	}
	msg := e.Errno.Error()
	if e.kind != nil {
		msg = e.kind.Error()
	}
	if name != "" {
		msg += " (" + name + ")"
	}
	return "bpf " + e.Op + ": " + msg
}

// Unwrap exposes the errno and, when set, the sentinel it stands for.
func (e *SyscallError) Unwrap() []error {
	if e.kind != nil {
		return []error{e.kind, e.Errno}
	}
	return []error{e.Errno}
}

// newError classifies errno for a generic command: ENOTSUPP and EOPNOTSUPP
// mean the kernel lacks the operation.
func newError(op string, errno unix.Errno) error {
	var kind error
	if errno == errnoENOTSUPP || errno == unix.EOPNOTSUPP {
		kind = ErrNotSupported
	}
	return &SyscallError{Op: op, Errno: errno, kind: kind}
}

// newMapError is newError for map element and batch commands, where ENOENT
// means a missing key or the end of the map.
func newMapError(op string, errno unix.Errno) error {
	if errno == unix.ENOENT {
		return &SyscallError{Op: op, Errno: errno, kind: ErrKeyNotExist}
	}
	return newError(op, errno)
}

// bpf issues one bpf(2) command. The attribute is passed with its own size so
// that kernels newer than the layout see a zero tail and older kernels accept
// every field we set to a non-zero value or reject it with E2BIG.
func bpf(cmd uintptr, attr unsafe.Pointer, size uintptr) (uintptr, unix.Errno) {
	r, _, errno := unix.Syscall(unix.SYS_BPF, cmd, uintptr(attr), size)
	return r, errno
}

// ptrTo returns the user pointer of b, nil when b is empty so that optional
// buffers (a first-key lookup, a queue's missing key) reach the kernel as 0.
func ptrTo(b []byte) pointer {
	if len(b) == 0 {
		return pointer{}
	}
	return pointer{ptr: unsafe.Pointer(unsafe.SliceData(b))}
}

// objName is char[BPF_OBJ_NAME_LEN], NUL terminated.
type objName [unix.BPF_OBJ_NAME_LEN]byte

// newObjName truncates name to 15 bytes and replaces the characters the
// kernel rejects (anything but letters, digits, '_' and '.') with '_', since
// the name is only a label and a bad one should not fail a map or program.
func newObjName(name string) objName {
	var out objName
	for i := 0; i < len(name) && i < len(out)-1; i++ {
		c := name[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '_', c == '.':
			out[i] = c
		default:
			out[i] = '_'
		}
	}
	return out
}

// String returns the name up to its NUL.
func (n objName) String() string { return cString(n[:]) }

// cString returns b up to its first NUL.
func cString(b []byte) string {
	for i, c := range b {
		if c == 0 {
			return string(b[:i])
		}
	}
	return string(b)
}

// cStringBytes returns a NUL-terminated copy of s for the kernel.
func cStringBytes(s string) []byte {
	b := make([]byte, len(s)+1)
	copy(b, s)
	return b
}
