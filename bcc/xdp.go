package bcc

import (
	"fmt"

	"github.com/gobcc/gobcc/internal/attach"
	"github.com/gobcc/gobcc/internal/netlink"
)

// XDP attach flags (the kernel's XDP_FLAGS_*), for AttachXDP and RemoveXDP.
const (
	XDPFlagsUpdateIfNoExist uint32 = netlink.XDPFlagsUpdateIfNoExist
	XDPFlagsSKBMode         uint32 = netlink.XDPFlagsSKBMode // generic XDP, any device
	XDPFlagsDrvMode         uint32 = netlink.XDPFlagsDrvMode
	XDPFlagsHWMode          uint32 = netlink.XDPFlagsHWMode
	XDPFlagsReplace         uint32 = netlink.XDPFlagsReplace
)

// Attach types for AttachFunc (the kernel's enum bpf_attach_type).
const (
	AttachCgroupInetIngress    AttachType = 0
	AttachCgroupInetEgress     AttachType = 1
	AttachCgroupInetSockCreate AttachType = 2
	AttachCgroupSockOps        AttachType = 3
	AttachSKSKBStreamParser    AttachType = 4
	AttachSKSKBStreamVerdict   AttachType = 5
	AttachCgroupDevice         AttachType = 6
	AttachSKMsgVerdict         AttachType = 7
	AttachCgroupInet4Bind      AttachType = 8
	AttachCgroupInet6Bind      AttachType = 9
	AttachCgroupInet4Connect   AttachType = 10
	AttachCgroupInet6Connect   AttachType = 11
	AttachCgroupUDP4Sendmsg    AttachType = 14
	AttachCgroupUDP6Sendmsg    AttachType = 15
	AttachCgroupSysctl         AttachType = 18
	AttachCgroupGetsockopt     AttachType = 21
	AttachCgroupSetsockopt     AttachType = 22
)

// AttachXDP loads fnName as an XDP program and attaches it to network device
// dev with the given XDPFlags* (BCC's attach_xdp(dev=, fn=, flags=)),
// through rtnetlink as BCC does. The device is looked up in the network
// namespace of the calling thread; to attach in another namespace, call
// from a goroutine locked (runtime.LockOSThread) to a thread that entered
// it.
//
// Unlike BCC, whose XDP programs stay attached after the process ends
// unless remove_xdp is called, the Link's Close (or b's) detaches the
// program, in the right namespace, if it is still the device's program.
// The Link is owned by b (see Link).
func (b *BPF) AttachXDP(dev, fnName string, flags uint32) (*Link, error) {
	return b.attach(attach.Request{Kind: attach.XDP, Target: dev, Fn: fnName,
		What: "XDP on " + dev, Open: attach.XDPOpener(dev, flags)}, XDP, 0, nil)
}

// RemoveXDP removes whatever XDP program is attached to dev (BCC's
// remove_xdp(dev=, flags=)), in the calling thread's network namespace.
func RemoveXDP(dev string, flags uint32) error { return attach.RemoveXDP(dev, flags) }

// RemoveXDP detaches the XDP program this object attached to dev.
func (b *BPF) RemoveXDP(dev string) error {
	return b.detach(LinkXDP, dev, nil)
}

// AttachRawSocket loads fnName as a SocketFilter program, opens a raw
// packet socket bound to dev (in the calling thread's network namespace)
// and attaches the program to it (BCC's attach_raw_socket(fn=, dev=) and
// bpf_open_raw_sock). The socket is the Link's FD, non-blocking; read
// packets from it as BCC tools do. The Link, owned by b (see Link), closes
// the socket when detached.
func (b *BPF) AttachRawSocket(fnName, dev string) (*Link, error) {
	return b.attach(attach.Request{Kind: attach.RawSocket, Target: dev, Fn: fnName,
		What: "raw socket on " + dev, Open: attach.RawSocketOpener(dev)}, SocketFilter, 0, nil)
}

// AttachFunc attaches a loaded function to attachFD, such as a cgroup
// directory's descriptor, with BPF_PROG_ATTACH (BCC's attach_func(fn=,
// attachable_fd=, attach_type=, flags=)). Load fn first with LoadFunc as
// the matching program type. flags are the kernel's BPF_F_ALLOW_OVERRIDE
// (1), BPF_F_ALLOW_MULTI (2), ... The Link, owned by b (see Link), keeps a
// duplicate of attachFD so that it can detach; the caller keeps its own.
func (b *BPF) AttachFunc(fn *Function, attachFD int, attachType AttachType, flags uint32) (*Link, error) {
	if fn == nil {
		return nil, fmt.Errorf("AttachFunc: %w: load the function with LoadFunc first", ErrFunctionNotFound)
	}
	target := attach.ProgAttachTarget(fn.Name, attachFD, uint32(attachType))
	return b.attach(attach.Request{Kind: attach.ProgAttach, Target: target, Fn: fn.Name, Dup: attach.DupTarget,
		What: fmt.Sprintf("fd %d with attach type %d", attachFD, attachType),
		Open: attach.ProgAttachOpener(attachFD, uint32(attachType), flags)}, 0, 0, fn)
}

// DetachFunc detaches what AttachFunc attached (BCC's detach_func).
func (b *BPF) DetachFunc(fn *Function, attachFD int, attachType AttachType) error {
	if fn == nil {
		return fmt.Errorf("DetachFunc: %w", ErrFunctionNotFound)
	}
	return b.detach(LinkProgAttach, attach.ProgAttachTarget(fn.Name, attachFD, uint32(attachType)), nil)
}
