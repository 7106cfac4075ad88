package attach

import (
	"errors"
	"fmt"
	"net"

	"golang.org/x/sys/unix"

	"github.com/gobcc/gobcc/internal/bpfsys"
	"github.com/gobcc/gobcc/internal/netlink"
)

// XDPOpener attaches an XDP program to network device dev, looked up in
// the calling thread's network namespace, through rtnetlink.
func XDPOpener(dev string, flags uint32) Opener {
	return func(progFD int) (Handle, error) {
		nl, ifindex, err := netlink.DialDevice(dev)
		if err != nil {
			return nil, err
		}
		if err := nl.SetXDP(ifindex, progFD, flags, -1); err != nil {
			nl.Close()
			return nil, err
		}
		mode := flags &^ (netlink.XDPFlagsUpdateIfNoExist | netlink.XDPFlagsReplace)
		return &xdpHandle{nl: nl, ifindex: ifindex, progFD: progFD, mode: mode}, nil
	}
}

// xdpHandle is an XDP program on a device, with the netlink socket (bound
// in the device's namespace) that removes it.
type xdpHandle struct {
	nl      *netlink.Conn
	ifindex int
	progFD  int
	mode    uint32
}

func (h *xdpHandle) Detach() error {
	defer h.nl.Close()
	// Remove only our program: with XDP_FLAGS_REPLACE the kernel refuses
	// (EEXIST) if another has taken its place since.
	err := h.nl.SetXDP(h.ifindex, -1, h.mode|netlink.XDPFlagsReplace, h.progFD)
	if errors.Is(err, unix.EEXIST) || errors.Is(err, unix.ENODEV) {
		return nil
	}
	return err
}
func (h *xdpHandle) FD() int          { return -1 }
func (h *xdpHandle) Descriptors() int { return 1 }

// RemoveXDP removes whatever XDP program is attached to dev, in the
// calling thread's network namespace.
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

// RawSocketOpener opens a non-blocking raw packet socket bound to dev (in
// the calling thread's network namespace) and attaches a socket filter
// program to it; the socket is the Handle's FD.
func RawSocketOpener(dev string) Opener {
	return func(progFD int) (Handle, error) {
		iface, err := net.InterfaceByName(dev)
		if err != nil {
			return nil, err
		}
		proto := uint16(unix.ETH_P_ALL)
		proto = proto<<8 | proto>>8 // network byte order
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
	}
}

// ProgAttachOpener attaches the program to attachFD (a cgroup directory,
// ...) with BPF_PROG_ATTACH. The Handle keeps a duplicate of attachFD so
// that it can detach; the caller keeps its own.
func ProgAttachOpener(attachFD int, attachType, flags uint32) Opener {
	return func(progFD int) (Handle, error) {
		dup, err := unix.FcntlInt(uintptr(attachFD), unix.F_DUPFD_CLOEXEC, 3)
		if err != nil {
			return nil, fmt.Errorf("dup: %w", err)
		}
		if err := bpfsys.ProgAttach(dup, progFD, attachType, flags); err != nil {
			unix.Close(dup)
			return nil, err
		}
		return &progAttachHandle{target: dup, progFD: progFD, attachType: attachType}, nil
	}
}

// progAttachHandle is a BPF_PROG_ATTACH attachment, with our duplicate of
// the target's descriptor.
type progAttachHandle struct {
	target, progFD int
	attachType     uint32
}

func (h *progAttachHandle) Detach() error {
	err := bpfsys.ProgDetach(h.target, h.progFD, h.attachType)
	return errors.Join(err, unix.Close(h.target))
}
func (h *progAttachHandle) FD() int          { return -1 }
func (h *progAttachHandle) Descriptors() int { return 1 }

// ProgAttachTarget names a BPF_PROG_ATTACH attachment for by-name detach.
func ProgAttachTarget(fn string, fd int, attachType uint32) string {
	return fmt.Sprintf("%s@fd%d/%d", fn, fd, attachType)
}
