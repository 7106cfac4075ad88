package bpfsys

import "unsafe"

// ProgXlatedInsns returns the program's instructions as the verifier left
// them (bpftool's "xlated" dump): map descriptors in 64-bit immediate loads
// appear as the maps' ids, so two loads of the same code compare equal
// once those are normalised.
func ProgXlatedInsns(fd int) ([]byte, error) {
	var raw bpfProgInfo
	if _, err := objInfo("prog info", fd, unsafe.Pointer(&raw), unsafe.Sizeof(raw)); err != nil {
		return nil, err
	}
	if raw.xlatedProgLen == 0 {
		return nil, nil // not root, or bpf_jit_harden hides them
	}
	buf := make([]byte, raw.xlatedProgLen)
	req := bpfProgInfo{xlatedProgLen: raw.xlatedProgLen, xlatedProgInsns: uint64(uintptr(unsafe.Pointer(&buf[0])))}
	if _, err := objInfo("prog info", fd, unsafe.Pointer(&req), unsafe.Sizeof(req)); err != nil {
		return nil, err
	}
	return buf[:min(req.xlatedProgLen, raw.xlatedProgLen)], nil
}
