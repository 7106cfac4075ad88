//go:build linux

package netlink

import (
	"encoding/binary"
	"errors"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/gobcc/gobcc/internal/testutil"
)

func TestSetXDPMessage(t *testing.T) {
	ne := binary.NativeEndian
	msg := setXDPMessage(7, 42, XDPFlagsSKBMode|XDPFlagsReplace, 9)
	if got := ne.Uint32(msg[0:]); int(got) != len(msg) {
		t.Errorf("nlmsg_len = %d, message is %d bytes", got, len(msg))
	}
	if ne.Uint16(msg[4:]) != unix.RTM_SETLINK || ne.Uint16(msg[6:]) != unix.NLM_F_REQUEST|unix.NLM_F_ACK {
		t.Errorf("header: %x", msg[:16])
	}
	if idx := int32(ne.Uint32(msg[unix.SizeofNlMsghdr+4:])); idx != 7 {
		t.Errorf("ifindex = %d", idx)
	}
	// IFLA_XDP nested: FD, FLAGS, EXPECTED_FD, 8 bytes each.
	a := msg[unix.SizeofNlMsghdr+unix.SizeofIfInfomsg:]
	if ne.Uint16(a[2:]) != unix.IFLA_XDP|unix.NLA_F_NESTED || ne.Uint16(a[0:]) != 4+3*8 {
		t.Fatalf("IFLA_XDP attribute: %x", a)
	}
	want := map[uint16]uint32{unix.IFLA_XDP_FD: 42, unix.IFLA_XDP_FLAGS: XDPFlagsSKBMode | XDPFlagsReplace, unix.IFLA_XDP_EXPECTED_FD: 9}
	for off := 4; off < len(a); off += 8 {
		typ, val := ne.Uint16(a[off+2:]), ne.Uint32(a[off+4:])
		if want[typ] != val {
			t.Errorf("attribute %d = %d, want %d", typ, val, want[typ])
		}
		delete(want, typ)
	}
	if len(want) != 0 {
		t.Errorf("missing attributes %v", want)
	}
	// No flags: only the FD.
	if msg := setXDPMessage(1, -1, 0, -1); len(msg) != unix.SizeofNlMsghdr+unix.SizeofIfInfomsg+4+8 {
		t.Errorf("flagless message is %d bytes", len(msg))
	}
}

func TestConnErrors(t *testing.T) {
	testutil.RequireRoot(t)
	c, err := Dial()
	if err != nil {
		t.Fatal(err)
	}
	// No device has index 1<<30: the kernel's refusal comes back as an
	// errno.
	if err := c.SetXDP(1<<30, -1, 0, -1); !errors.Is(err, unix.ENODEV) {
		t.Errorf("SetXDP on a missing device: %v, want ENODEV", err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if err := c.SetXDP(1, -1, 0, -1); !errors.Is(err, unix.EBADF) {
		t.Errorf("SetXDP after Close: %v", err)
	}
	if _, _, err := DialDevice("gobcc-no-such-dev"); err == nil {
		t.Error("DialDevice found a missing device")
	}
}
