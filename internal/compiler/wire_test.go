package compiler

import (
	"encoding/binary"
	"errors"
	"io"
	"os"
	"runtime"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/gobcc/gobcc/internal/testutil"
)

// connPair returns both ends of a helper-style socket pair, closed at the
// end of the test.
func connPair(t *testing.T) (a, b *conn) {
	t.Helper()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	a, b = &conn{fd: fds[0]}, &conn{fd: fds[1]}
	t.Cleanup(func() { a.close(); b.close() })
	return a, b
}

// header is a frame header claiming size body bytes and nfds descriptors.
func header(size, nfds uint32) []byte {
	var h [8]byte
	binary.LittleEndian.PutUint32(h[0:], size)
	binary.LittleEndian.PutUint32(h[4:], nfds)
	return h[:]
}

// sendRaw writes raw bytes to c and then shuts its sending side, as a peer
// that dies after writing them does.
func sendRaw(t *testing.T, c *conn, raw []byte) {
	t.Helper()
	if err := c.writeAll(raw); err != nil {
		t.Fatal(err)
	}
	if err := unix.Shutdown(c.fd, unix.SHUT_WR); err != nil {
		t.Fatal(err)
	}
}

func TestWireRoundTrip(t *testing.T) {
	a, b := connPair(t)
	req := &message{Load: &LoadRequest{Name: "f", ProgType: 5, LogLevel: 1}}
	if err := a.send(req, nil); err != nil {
		t.Fatal(err)
	}
	m, fds, err := b.recv()
	if err != nil {
		t.Fatal(err)
	}
	if len(fds) != 0 || m.Load == nil || m.Load.Name != "f" || m.Load.ProgType != 5 || m.Load.LogLevel != 1 {
		t.Fatalf("got %+v (load %+v), fds %v", m, m.Load, fds)
	}
	// A clean close between frames is io.EOF itself: the helper's loop
	// ends quietly on it.
	a.close()
	if _, _, err := b.recv(); err != io.EOF {
		t.Fatalf("recv after the peer closed: %v, want io.EOF", err)
	}
}

func TestWireBadFrames(t *testing.T) {
	cases := []struct {
		name string
		raw  []byte
		want error  // for errors.Is, if not nil
		text string // in the error's text
	}{
		{"truncated header", header(10, 0)[:5], io.ErrUnexpectedEOF, "receive"},
		{"truncated body", append(header(100, 0), `{"op":"cl`...), io.ErrUnexpectedEOF, "receive"},
		{"empty body", header(0, 0), nil, "unexpected end of JSON"},
		{"body not JSON", append(header(5, 0), "hello"...), nil, "invalid character"},
		{"body of the wrong shape", append(header(9, 0), `{"op":42}`...), nil, "cannot unmarshal number"},
		{"descriptors claimed, none sent", append(header(2, 3), "{}"...), nil, "expected 3 descriptors, got 0"},
		{"length beyond the limit", append(header(maxBodySize+1, 0), "{}"...), errFrameTooLarge, "limit"},
		{"length of 4 GiB", append(header(0xffffffff, 0), "{}"...), errFrameTooLarge, "4294967295 bytes"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a, b := connPair(t)
			sendRaw(t, a, tc.raw)
			m, fds, err := b.recv()
			if err == nil {
				t.Fatalf("no error; got %+v, fds %v", m, fds)
			}
			if tc.want != nil && !errors.Is(err, tc.want) {
				t.Errorf("error %v, want one wrapping %v", err, tc.want)
			}
			if !strings.Contains(err.Error(), tc.text) {
				t.Errorf("error %q lacks %q", err, tc.text)
			}
		})
	}
}

// A header claiming a large body (within the limit) that never comes costs
// the bytes that came, not the claimed size.
func TestWireLyingLengthAllocatesLittle(t *testing.T) {
	a, b := connPair(t)
	sendRaw(t, a, append(header(maxBodySize, 0), "{}"...))
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, _, err := b.recv()
	runtime.ReadMemStats(&after)
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("recv: %v, want unexpected EOF", err)
	}
	if n := after.TotalAlloc - before.TotalAlloc; n > 1<<20 {
		t.Errorf("recv of a frame claiming %d bytes (2 sent) allocated %d", maxBodySize, n)
	}
}

func TestWireSendRefusesTooManyDescriptors(t *testing.T) {
	a, _ := connPair(t)
	fds := make([]int, maxFDsPerFrame+1)
	err := a.send(&message{Op: "x"}, fds)
	if err == nil || !strings.Contains(err.Error(), "too many descriptors") {
		t.Fatalf("send of %d descriptors: %v", len(fds), err)
	}
}

func TestWireSendRefusesOversizedBody(t *testing.T) {
	a, _ := connPair(t)
	err := a.send(&message{Output: strings.Repeat("x", maxBodySize)}, nil)
	if !errors.Is(err, errFrameTooLarge) {
		t.Fatalf("send of a body over the limit: %v", err)
	}
}

// Descriptors pass as SCM_RIGHTS: the receiver gets new descriptors, close
// on exec, for the same open files.
func TestWirePassesDescriptors(t *testing.T) {
	a, b := connPair(t)
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	mem, err := unix.MemfdCreate("gobcc-wire-test", 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(mem)
	sent := []int{int(r.Fd()), mem, int(w.Fd())}
	if err := a.send(&message{Op: "fds"}, sent); err != nil {
		t.Fatal(err)
	}
	m, got, err := b.recv()
	if err != nil {
		t.Fatal(err)
	}
	defer closeFDs(got)
	if m.Op != "fds" || len(got) != len(sent) {
		t.Fatalf("got op %q with %d descriptors, want %d", m.Op, len(got), len(sent))
	}
	for i := range sent {
		var st1, st2 unix.Stat_t
		if err := unix.Fstat(sent[i], &st1); err != nil {
			t.Fatal(err)
		}
		if err := unix.Fstat(got[i], &st2); err != nil {
			t.Fatal(err)
		}
		if got[i] == sent[i] || st1.Dev != st2.Dev || st1.Ino != st2.Ino {
			t.Errorf("descriptor %d: received %d (dev %d ino %d), sent %d (dev %d ino %d)",
				i, got[i], st2.Dev, st2.Ino, sent[i], st1.Dev, st1.Ino)
		}
		flags, err := unix.FcntlInt(uintptr(got[i]), unix.F_GETFD, 0)
		if err != nil || flags&unix.FD_CLOEXEC == 0 {
			t.Errorf("received descriptor %d not close-on-exec (flags %#x, %v)", got[i], flags, err)
		}
	}
	// The received write end feeds the original read end.
	if _, err := unix.Write(got[2], []byte("through")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 16)
	n, err := r.Read(buf)
	if err != nil || string(buf[:n]) != "through" {
		t.Errorf("read %q, %v through the passed pipe", buf[:n], err)
	}
}

// A frame whose header claims fewer descriptors than came with it is
// refused, and the descriptors that came are closed, not leaked.
func TestWireDescriptorCountMismatchClosesThem(t *testing.T) {
	a, b := connPair(t)
	before := testutil.CountFDs(t)
	mem, err := unix.MemfdCreate("gobcc-wire-test", 0)
	if err != nil {
		t.Fatal(err)
	}
	oob := unix.UnixRights(mem, mem)
	if err := unix.Sendmsg(a.fd, header(2, 1), oob, nil, 0); err != nil {
		t.Fatal(err)
	}
	unix.Close(mem)
	if err := a.writeAll([]byte("{}")); err != nil {
		t.Fatal(err)
	}
	_, fds, err := b.recv()
	if err == nil || !strings.Contains(err.Error(), "expected 1 descriptors, got 2") {
		t.Fatalf("recv: %v (fds %v)", err, fds)
	}
	if after := testutil.CountFDs(t); after != before {
		t.Errorf("%d descriptors open after the refused frame, %d before", after, before)
	}
}
