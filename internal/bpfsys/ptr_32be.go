//go:build linux && mips

package bpfsys

import "unsafe"

// pointer is a __aligned_u64 user pointer in union bpf_attr; on 32-bit
// big-endian machines the pointer is the low word, stored second.
type pointer struct {
	_   uint32
	ptr unsafe.Pointer
}
