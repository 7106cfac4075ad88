//go:build linux

// Package netlink speaks the little rtnetlink gobcc needs: setting and
// removing a device's XDP program (RTM_SETLINK with IFLA_XDP), as libbcc's
// bpf_attach_xdp does.
package netlink

import (
	"encoding/binary"
	"fmt"
	"net"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// XDP attach flags (the kernel's XDP_FLAGS_*).
const (
	XDPFlagsUpdateIfNoExist uint32 = 1 << 0
	XDPFlagsSKBMode         uint32 = 1 << 1
	XDPFlagsDrvMode         uint32 = 1 << 2
	XDPFlagsHWMode          uint32 = 1 << 3
	XDPFlagsReplace         uint32 = 1 << 4
)

// Conn is an rtnetlink socket bound in the network namespace of the thread
// that opened it; it stays in that namespace for its life, so a Conn can
// undo, later and from any thread, what it did.
type Conn struct {
	mu sync.Mutex
	fd int
}

// Dial opens an rtnetlink socket in the calling thread's network
// namespace. The caller owns the Conn and must Close it.
func Dial() (*Conn, error) {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_ROUTE)
	if err != nil {
		return nil, fmt.Errorf("netlink socket: %w", err)
	}
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("netlink bind: %w", err)
	}
	return &Conn{fd: fd}, nil
}

// DialDevice is Dial and the index of device dev in the same namespace.
func DialDevice(dev string) (*Conn, int, error) {
	iface, err := net.InterfaceByName(dev)
	if err != nil {
		return nil, 0, err
	}
	c, err := Dial()
	if err != nil {
		return nil, 0, err
	}
	return c, iface.Index, nil
}

// Close closes the socket. It is idempotent.
func (c *Conn) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.fd < 0 {
		return nil
	}
	err := unix.Close(c.fd)
	c.fd = -1
	return err
}

// SetXDP sends RTM_SETLINK with IFLA_XDP {FD, FLAGS[, EXPECTED_FD]} for
// device ifindex and waits for the kernel's answer. progFD -1 removes the
// program; with XDPFlagsReplace the kernel changes the device only while
// expectedFD's program is the one attached, else it answers EEXIST.
// Kernel refusals are returned as a wrapped unix.Errno.
func (c *Conn) SetXDP(ifindex, progFD int, flags uint32, expectedFD int) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.fd < 0 {
		return fmt.Errorf("netlink: %w", unix.EBADF)
	}
	msg := setXDPMessage(ifindex, progFD, flags, expectedFD)
	if err := unix.Sendto(c.fd, msg, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return fmt.Errorf("netlink send: %w", err)
	}
	return c.readAck()
}

func setXDPMessage(ifindex, progFD int, flags uint32, expectedFD int) []byte {
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
	return msg
}

// readAck waits for the NLMSG_ERROR that acknowledges (code 0) or refuses
// the request.
func (c *Conn) readAck() error {
	buf := make([]byte, 8192)
	for {
		n, _, err := unix.Recvfrom(c.fd, buf, 0)
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
			if code := int32(binary.NativeEndian.Uint32(m.Data)); code != 0 {
				return fmt.Errorf("RTM_SETLINK IFLA_XDP: %w", unix.Errno(-code))
			}
			return nil
		}
	}
}
