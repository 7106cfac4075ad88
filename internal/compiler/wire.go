package compiler

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// A frame on the helper socket is an 8-byte header (body length, number of
// descriptors) sent with the descriptors as SCM_RIGHTS, then a JSON body.
// The socket is a stream, so bodies of any size pass; the kernel delivers
// the descriptors with the header bytes they were sent with.

// maxFDsPerFrame is the kernel's SCM_MAX_FD.
const maxFDsPerFrame = 253

// maxBodySize bounds a frame's JSON body. The largest real body is a
// compile result: a program of the verifier's limit of 1M instructions is
// 8 MiB, about 11 MiB in JSON's base64. A header claiming more is refused
// before anything is allocated, and a body is allocated as it arrives,
// not at the size its header claims.
const maxBodySize = 64 << 20

// errFrameTooLarge means a frame's body exceeds maxBodySize.
var errFrameTooLarge = errors.New("frame body too large")

type conn struct {
	fd int
}

// message is the single envelope both sides send.
type message struct {
	Op      string       `json:"op,omitempty"`
	Compile *Request     `json:"compile,omitempty"`
	Load    *LoadRequest `json:"load,omitempty"`
	Result  *Result      `json:"result,omitempty"`
	Loaded  *LoadResult  `json:"loaded,omitempty"`
	// Error is a compile failure ("compile") or another failure's text.
	Error  string `json:"error,omitempty"`
	Output string `json:"output,omitempty"`
}

func (c *conn) send(m *message, fds []int) error {
	if len(fds) > maxFDsPerFrame {
		return fmt.Errorf("too many descriptors in one frame: %d", len(fds))
	}
	body, err := json.Marshal(m)
	if err != nil {
		return err
	}
	if len(body) > maxBodySize {
		return fmt.Errorf("send: %d bytes, limit %d: %w", len(body), maxBodySize, errFrameTooLarge)
	}
	var hdr [8]byte
	binary.LittleEndian.PutUint32(hdr[0:], uint32(len(body)))
	binary.LittleEndian.PutUint32(hdr[4:], uint32(len(fds)))
	var oob []byte
	if len(fds) > 0 {
		oob = unix.UnixRights(fds...)
	}
	if err := unix.Sendmsg(c.fd, hdr[:], oob, nil, 0); err != nil {
		return fmt.Errorf("send: %w", err)
	}
	return c.writeAll(body)
}

func (c *conn) writeAll(b []byte) error {
	for len(b) > 0 {
		n, err := unix.Write(c.fd, b)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return fmt.Errorf("send: %w", err)
		}
		b = b[n:]
	}
	return nil
}

func (c *conn) readFull(b []byte) error {
	for len(b) > 0 {
		n, err := unix.Read(c.fd, b)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return fmt.Errorf("receive: %w", err)
		}
		if n == 0 {
			// The peer closed inside a frame.
			return fmt.Errorf("receive: %w", io.ErrUnexpectedEOF)
		}
		b = b[n:]
	}
	return nil
}

// readBody reads a body of size bytes, growing the buffer as data arrives
// so that a lying header costs no more memory than the bytes really sent.
func (c *conn) readBody(size int) ([]byte, error) {
	const firstChunk = 64 << 10
	body := make([]byte, 0, min(size, firstChunk))
	for len(body) < size {
		n := min(size-len(body), max(len(body), firstChunk))
		body = append(body, make([]byte, n)...)
		if err := c.readFull(body[len(body)-n:]); err != nil {
			return nil, err
		}
	}
	return body, nil
}

// recv reads one frame. Received descriptors are close-on-exec.
func (c *conn) recv() (*message, []int, error) {
	var hdr [8]byte
	oob := make([]byte, unix.CmsgSpace(maxFDsPerFrame*4))
	var n, oobn int
	var err error
	for {
		n, oobn, _, _, err = unix.Recvmsg(c.fd, hdr[:], oob, unix.MSG_CMSG_CLOEXEC)
		if err != unix.EINTR {
			break
		}
	}
	if err != nil {
		return nil, nil, fmt.Errorf("receive: %w", err)
	}
	if n == 0 {
		return nil, nil, io.EOF
	}
	var fds []int
	if oobn > 0 {
		cmsgs, err := unix.ParseSocketControlMessage(oob[:oobn])
		if err != nil {
			return nil, nil, fmt.Errorf("receive: control message: %w", err)
		}
		for _, cm := range cmsgs {
			got, err := unix.ParseUnixRights(&cm)
			if err == nil {
				fds = append(fds, got...)
			}
		}
	}
	if n < len(hdr) {
		if err := c.readFull(hdr[n:]); err != nil {
			closeFDs(fds)
			return nil, nil, err
		}
	}
	size := binary.LittleEndian.Uint32(hdr[0:])
	want := int(binary.LittleEndian.Uint32(hdr[4:]))
	if want != len(fds) {
		closeFDs(fds)
		return nil, nil, fmt.Errorf("receive: expected %d descriptors, got %d", want, len(fds))
	}
	if size > maxBodySize {
		closeFDs(fds)
		return nil, nil, fmt.Errorf("receive: header claims %d bytes, limit %d: %w", size, maxBodySize, errFrameTooLarge)
	}
	body, err := c.readBody(int(size))
	if err != nil {
		closeFDs(fds)
		return nil, nil, err
	}
	var m message
	if err := json.Unmarshal(body, &m); err != nil {
		closeFDs(fds)
		return nil, nil, fmt.Errorf("receive: %w", err)
	}
	return &m, fds, nil
}

func closeFDs(fds []int) {
	for _, fd := range fds {
		unix.Close(fd)
	}
}

func (c *conn) close() error { return unix.Close(c.fd) }

// socketPair returns the parent's end as a conn and the child's as a file
// for exec.Cmd.ExtraFiles.
func socketPair() (*conn, *os.File, error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("socketpair: %w", err)
	}
	return &conn{fd: fds[0]}, os.NewFile(uintptr(fds[1]), "gobcc-helper-socket"), nil
}
