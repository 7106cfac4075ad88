package bcc

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/gobcc/gobcc/internal/bpfsys"
)

// XDP attach flags (the kernel's XDP_FLAGS_*), for AttachXDP and RemoveXDP.
const (
	XDPFlagsUpdateIfNoExist uint32 = 1 << 0
	XDPFlagsSKBMode         uint32 = 1 << 1 // generic XDP, any device
	XDPFlagsDrvMode         uint32 = 1 << 2
	XDPFlagsHWMode          uint32 = 1 << 3
	XDPFlagsReplace         uint32 = 1 << 4
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
// dev with the given XDPFlags* (BCC's attach_xdp), through rtnetlink as BCC
// does. The device is looked up in the network namespace of the calling
// thread; to attach in another namespace, call from a goroutine locked
// (runtime.LockOSThread) to a thread that entered it.
//
// Unlike BCC, whose XDP programs stay attached after the process ends
// unless remove_xdp is called, Close detaches the program, in the right
// namespace, if it is still the device's program.
func (b *BPF) AttachXDP(dev, fnName string, flags uint32) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return ErrClosed
	}
	f, err := b.loadFuncLocked(fnName, XDP, AttachNone)
	if err != nil {
		return err
	}
	nl, ifindex, err := openLinkNetlink(dev)
	if err != nil {
		return fmt.Errorf("attach XDP %s to %s: %w", fnName, dev, err)
	}
	if err := setXDP(nl, ifindex, f.FD, flags, -1); err != nil {
		unix.Close(nl)
		return fmt.Errorf("attach XDP %s to %s: %w", fnName, dev, err)
	}
	mode := flags &^ (XDPFlagsUpdateIfNoExist | XDPFlagsReplace)
	progFD := f.FD
	undo := func() error {
		defer unix.Close(nl)
		// Remove only our program: with XDP_FLAGS_REPLACE the kernel
		// refuses (EEXIST) if another has taken its place since.
		err := setXDP(nl, ifindex, -1, mode|XDPFlagsReplace, progFD)
		if errors.Is(err, unix.EEXIST) || errors.Is(err, unix.ENODEV) {
			return nil
		}
		return err
	}
	b.attached = append(b.attached, &attachment{kind: kindXDP, target: dev, fn: fnName, fd: -1, undo: undo})
	return nil
}

// RemoveXDP removes whatever XDP program is attached to dev (BCC's
// remove_xdp), in the calling thread's network namespace.
func RemoveXDP(dev string, flags uint32) error {
	nl, ifindex, err := openLinkNetlink(dev)
	if err != nil {
		return fmt.Errorf("remove XDP from %s: %w", dev, err)
	}
	defer unix.Close(nl)
	if err := setXDP(nl, ifindex, -1, flags, -1); err != nil {
		return fmt.Errorf("remove XDP from %s: %w", dev, err)
	}
	return nil
}

// RemoveXDP detaches the XDP program this object attached to dev.
func (b *BPF) RemoveXDP(dev string) error {
	return b.detach(kindXDP, dev, nil)
}

// openLinkNetlink opens an rtnetlink socket, which stays in the calling
// thread's network namespace for its life, and finds dev's index there.
func openLinkNetlink(dev string) (int, int, error) {
	iface, err := net.InterfaceByName(dev)
	if err != nil {
		return -1, 0, err
	}
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_ROUTE)
	if err != nil {
		return -1, 0, fmt.Errorf("netlink socket: %w", err)
	}
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		unix.Close(fd)
		return -1, 0, fmt.Errorf("netlink bind: %w", err)
	}
	return fd, iface.Index, nil
}

// setXDP sends RTM_SETLINK with IFLA_XDP {FD, FLAGS[, EXPECTED_FD]} and
// waits for the kernel's answer.
func setXDP(nl, ifindex, progFD int, flags uint32, expectedFD int) error {
	ne := binary.NativeEndian
	attr := func(typ uint16, payload []byte) []byte {
		b := make([]byte, 4, 4+len(payload)+3)
		ne.PutUint16(b[0:], uint16(4+len(payload)))
		ne.PutUint16(b[2:], typ)
		b = append(b, payload...)
		for len(b)%4 != 0 {
			b = append(b, 0)
		}
		return b
	}
	u32 := func(v uint32) []byte { b := make([]byte, 4); ne.PutUint32(b, v); return b }
	nested := attr(unix.IFLA_XDP_FD, u32(uint32(int32(progFD))))
	if flags != 0 {
		nested = append(nested, attr(unix.IFLA_XDP_FLAGS, u32(flags))...)
	}
	if flags&XDPFlagsReplace != 0 {
		nested = append(nested, attr(unix.IFLA_XDP_EXPECTED_FD, u32(uint32(int32(expectedFD))))...)
	}
	body := make([]byte, unix.SizeofIfInfomsg)
	body[0] = unix.AF_UNSPEC
	ne.PutUint32(body[4:], uint32(int32(ifindex)))
	body = append(body, attr(unix.IFLA_XDP|unix.NLA_F_NESTED, nested)...)
	msg := make([]byte, unix.SizeofNlMsghdr, unix.SizeofNlMsghdr+len(body))
	msg = append(msg, body...)
	ne.PutUint32(msg[0:], uint32(len(msg)))
	ne.PutUint16(msg[4:], unix.RTM_SETLINK)
	ne.PutUint16(msg[6:], unix.NLM_F_REQUEST|unix.NLM_F_ACK)
	ne.PutUint32(msg[8:], 1)
	if err := unix.Sendto(nl, msg, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return fmt.Errorf("netlink send: %w", err)
	}
	buf := make([]byte, 8192)
	for {
		n, _, err := unix.Recvfrom(nl, buf, 0)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return fmt.Errorf("netlink receive: %w", err)
		}
		msgs, err := syscall.ParseNetlinkMessage(buf[:n])
		if err != nil {
			return fmt.Errorf("netlink receive: %w", err)
		}
		for _, m := range msgs {
			if m.Header.Type != unix.NLMSG_ERROR || len(m.Data) < 4 {
				continue
			}
			if code := int32(ne.Uint32(m.Data)); code != 0 {
				return fmt.Errorf("RTM_SETLINK IFLA_XDP: %w", unix.Errno(-code))
			}
			return nil
		}
	}
}

// AttachRawSocket loads fnName as a SocketFilter program, opens a raw
// packet socket bound to dev (in the calling thread's network namespace)
// and attaches the program to it (BCC's attach_raw_socket and
// bpf_open_raw_sock). It returns the socket's descriptor, which the BPF
// object owns and closes on Close; read packets from it as BCC tools do.
func (b *BPF) AttachRawSocket(fnName, dev string) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return -1, ErrClosed
	}
	f, err := b.loadFuncLocked(fnName, SocketFilter, AttachNone)
	if err != nil {
		return -1, err
	}
	iface, err := net.InterfaceByName(dev)
	if err != nil {
		return -1, fmt.Errorf("raw socket on %s: %w", dev, err)
	}
	proto := htons(unix.ETH_P_ALL)
	sock, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, int(proto))
	if err != nil {
		return -1, fmt.Errorf("raw socket on %s: %w", dev, err)
	}
	if err := unix.Bind(sock, &unix.SockaddrLinklayer{Protocol: proto, Ifindex: iface.Index}); err != nil {
		unix.Close(sock)
		return -1, fmt.Errorf("raw socket on %s: bind: %w", dev, err)
	}
	if err := unix.SetsockoptInt(sock, unix.SOL_SOCKET, unix.SO_ATTACH_BPF, f.FD); err != nil {
		unix.Close(sock)
		return -1, fmt.Errorf("attach %s to raw socket on %s: %w", fnName, dev, err)
	}
	b.attached = append(b.attached, &attachment{kind: kindRawSocket, target: dev, fn: fnName, fd: sock})
	return sock, nil
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

// AttachFunc attaches a loaded function to attachFD, such as a cgroup
// directory's descriptor, with BPF_PROG_ATTACH (BCC's attach_func). Load
// fn first with LoadFunc as the matching program type. flags are the
// kernel's BPF_F_ALLOW_OVERRIDE (1), BPF_F_ALLOW_MULTI (2), ... The object
// keeps a duplicate of attachFD so that Close can detach; the caller keeps
// its own.
func (b *BPF) AttachFunc(fn *Function, attachFD int, attachType AttachType, flags uint32) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return ErrClosed
	}
	if fn == nil || b.funcs[fn.Name] != fn {
		return fmt.Errorf("AttachFunc: %w: load the function with LoadFunc first", ErrFunctionNotFound)
	}
	target := progAttachTarget(fn.Name, attachFD, attachType)
	if b.findAttachment(kindProgAttach, target, "") != nil {
		return fmt.Errorf("%s: %w", target, ErrAlreadyAttached)
	}
	dup, err := unix.FcntlInt(uintptr(attachFD), unix.F_DUPFD_CLOEXEC, 3)
	if err != nil {
		return fmt.Errorf("AttachFunc: %w", err)
	}
	if err := bpfsys.ProgAttach(dup, fn.FD, uint32(attachType), flags); err != nil {
		unix.Close(dup)
		return fmt.Errorf("attach %s with attach type %d: %w", fn.Name, attachType, err)
	}
	progFD := fn.FD
	undo := func() error { return bpfsys.ProgDetach(dup, progFD, uint32(attachType)) }
	b.attached = append(b.attached, &attachment{kind: kindProgAttach, target: target, fn: fn.Name, fd: dup, undo: undo})
	return nil
}

// DetachFunc detaches what AttachFunc attached (BCC's detach_func).
func (b *BPF) DetachFunc(fn *Function, attachFD int, attachType AttachType) error {
	if fn == nil {
		return fmt.Errorf("DetachFunc: %w", ErrFunctionNotFound)
	}
	return b.detach(kindProgAttach, progAttachTarget(fn.Name, attachFD, attachType), nil)
}

func progAttachTarget(fn string, fd int, attachType AttachType) string {
	return fmt.Sprintf("%s@fd%d/%d", fn, fd, attachType)
}
