//go:build linux && (386 || arm || mipsle)

package bpfsys

import "unsafe"

// pointer is a __aligned_u64 user pointer in union bpf_attr; on 32-bit
// little-endian machines the pointer is the low word.
type pointer struct {
	ptr unsafe.Pointer
	_   uint32
}
