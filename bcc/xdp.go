package bcc

import (
	"errors"
	"fmt"
	"net"

	"golang.org/x/sys/unix"

	"github.com/gobcc/gobcc/internal/bpfsys"
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
	return b.attach(attachRequest{
		kind: LinkXDP, target: dev, fn: fnName, progType: XDP,
		dup: dupNone, what: "XDP on " + dev,
		opener: openerFunc(func(progFD int) (attachHandle, error) {
			nl, ifindex, err := netlink.DialDevice(dev)
			if err != nil {
				return nil, err
			}
			if err := nl.SetXDP(ifindex, progFD, flags, -1); err != nil {
				nl.Close()
				return nil, err
			}
			mode := flags &^ (XDPFlagsUpdateIfNoExist | XDPFlagsReplace)
			return &xdpHandle{nl: nl, ifindex: ifindex, progFD: progFD, mode: mode}, nil
		}),
	})
}

// xdpHandle is an XDP program on a device, with the netlink socket (bound
// in the device's namespace) that removes it.
type xdpHandle struct {
	nl      *netlink.Conn
	ifindex int
	progFD  int
	mode    uint32
}

func (h *xdpHandle) detach() error {
	defer h.nl.Close()
	// Remove only our program: with XDP_FLAGS_REPLACE the kernel refuses
	// (EEXIST) if another has taken its place since.
	err := h.nl.SetXDP(h.ifindex, -1, h.mode|XDPFlagsReplace, h.progFD)
	if errors.Is(err, unix.EEXIST) || errors.Is(err, unix.ENODEV) {
		return nil
	}
	return err
}
func (h *xdpHandle) fd() int          { return -1 }
func (h *xdpHandle) descriptors() int { return 1 }

// RemoveXDP removes whatever XDP program is attached to dev (BCC's
// remove_xdp(dev=, flags=)), in the calling thread's network namespace.
func RemoveXDP(dev string, flags uint32) error {
	nl, ifindex, err := netlink.DialDevice(dev)
	if err != nil {
		return fmt.Errorf("remove XDP from %s: %w", dev, err)
	}
	defer nl.Close()
	if err := nl.SetXDP(ifindex, -1, flags, -1); err != nil {
		return fmt.Errorf("remove XDP from %s: %w", dev, err)
	}
	return nil
}

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
	return b.attach(attachRequest{
		kind: LinkRawSocket, target: dev, fn: fnName, progType: SocketFilter,
		dup: dupNone, what: "raw socket on " + dev,
		opener: openerFunc(func(progFD int) (attachHandle, error) {
			iface, err := net.InterfaceByName(dev)
			if err != nil {
				return nil, err
			}
			proto := htons(unix.ETH_P_ALL)
			sock, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, int(proto))
			if err != nil {
				return nil, fmt.Errorf("socket: %w", err)
			}
			if err := unix.Bind(sock, &unix.SockaddrLinklayer{Protocol: proto, Ifindex: iface.Index}); err != nil {
				unix.Close(sock)
				return nil, fmt.Errorf("bind: %w", err)
			}
			if err := unix.SetsockoptInt(sock, unix.SOL_SOCKET, unix.SO_ATTACH_BPF, progFD); err != nil {
				unix.Close(sock)
				return nil, fmt.Errorf("SO_ATTACH_BPF: %w", err)
			}
			return &fdHandle{sock}, nil
		}),
	})
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

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
	target := progAttachTarget(fn.Name, attachFD, attachType)
	return b.attach(attachRequest{
		kind: LinkProgAttach, target: target, fn: fn.Name, loaded: fn,
		dup: dupTarget, what: fmt.Sprintf("fd %d with attach type %d", attachFD, attachType),
		opener: openerFunc(func(progFD int) (attachHandle, error) {
			dup, err := unix.FcntlInt(uintptr(attachFD), unix.F_DUPFD_CLOEXEC, 3)
			if err != nil {
				return nil, fmt.Errorf("dup: %w", err)
			}
			if err := bpfsys.ProgAttach(dup, progFD, uint32(attachType), flags); err != nil {
				unix.Close(dup)
				return nil, err
			}
			return &progAttachHandle{target: dup, progFD: progFD, attachType: uint32(attachType)}, nil
		}),
	})
}

// progAttachHandle is a BPF_PROG_ATTACH attachment, with our duplicate of
// the target's descriptor.
type progAttachHandle struct {
	target, progFD int
	attachType     uint32
}

func (h *progAttachHandle) detach() error {
	err := bpfsys.ProgDetach(h.target, h.progFD, h.attachType)
	return errors.Join(err, unix.Close(h.target))
}
func (h *progAttachHandle) fd() int          { return -1 }
func (h *progAttachHandle) descriptors() int { return 1 }

// DetachFunc detaches what AttachFunc attached (BCC's detach_func).
func (b *BPF) DetachFunc(fn *Function, attachFD int, attachType AttachType) error {
	if fn == nil {
		return fmt.Errorf("DetachFunc: %w", ErrFunctionNotFound)
	}
	return b.detach(LinkProgAttach, progAttachTarget(fn.Name, attachFD, attachType), nil)
}

func progAttachTarget(fn string, fd int, attachType AttachType) string {
	return fmt.Sprintf("%s@fd%d/%d", fn, fd, attachType)
}
