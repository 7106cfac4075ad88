//go:build linux && (amd64 || arm64 || loong64 || mips64 || mips64le || ppc64 || ppc64le || riscv64 || s390x)

package bpfsys

import "unsafe"

// pointer is a __aligned_u64 user pointer in union bpf_attr. Holding it as
// unsafe.Pointer, not uint64, keeps the buffer visible to the garbage
// collector and lets stack copying fix it up while the attribute is built.
type pointer struct {
	ptr unsafe.Pointer
}
