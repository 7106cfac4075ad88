//go:build linux

package bpfsys

import (
	"structs"
	"unsafe"

	"golang.org/x/sys/unix"
)

// progAttachAttr is the BPF_PROG_ATTACH/BPF_PROG_DETACH part of union
// bpf_attr.
type progAttachAttr struct {
	_            structs.HostLayout
	targetFD     uint32
	attachBPFFD  uint32
	attachType   uint32
	attachFlags  uint32
	replaceBPFFD uint32
}

// ProgAttach attaches a program to a target such as a cgroup directory
// (BPF_PROG_ATTACH). flags are BPF_F_ALLOW_OVERRIDE, BPF_F_ALLOW_MULTI, ...
func ProgAttach(targetFD, progFD int, attachType, flags uint32) error {
	attr := progAttachAttr{targetFD: uint32(targetFD), attachBPFFD: uint32(progFD), attachType: attachType, attachFlags: flags}
	if _, errno := bpf(unix.BPF_PROG_ATTACH, unsafe.Pointer(&attr), unsafe.Sizeof(attr)); errno != 0 {
		return newError("prog attach", errno)
	}
	return nil
}

// ProgDetach detaches progFD from the target (BPF_PROG_DETACH, libbpf's
// bpf_prog_detach2).
func ProgDetach(targetFD, progFD int, attachType uint32) error {
	attr := progAttachAttr{targetFD: uint32(targetFD), attachBPFFD: uint32(progFD), attachType: attachType}
	if _, errno := bpf(unix.BPF_PROG_DETACH, unsafe.Pointer(&attr), unsafe.Sizeof(attr)); errno != 0 {
		return newError("prog detach", errno)
	}
	return nil
}
