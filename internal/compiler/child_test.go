package compiler

import (
	"io"
	"os"
	"testing"
)

// serveInProcess runs the helper's loop on one end of a socket pair in
// this process, with its output markers going to a pipe instead of the
// test's stderr. It returns the other end and a channel with serve's exit
// status.
func serveInProcess(t *testing.T) (*conn, <-chan int) {
	t.Helper()
	parent, child := connPair(t)
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr := os.Stderr
	os.Stderr = w
	done := make(chan int, 1)
	drained := make(chan struct{})
	go func() { io.Copy(io.Discard, r); close(drained) }()
	go func() { done <- serve(child) }()
	status := make(chan int, 1)
	go func() {
		code := <-done
		os.Stderr = stderr
		w.Close()
		<-drained
		r.Close()
		status <- code
	}()
	return parent, status
}

// Requests the helper does not expect get an error reply, and the helper
// goes on serving; "close" ends it with status 0.
func TestServeUnexpectedRequests(t *testing.T) {
	c, status := serveInProcess(t)
	for _, m := range []*message{
		{Op: "no-such-op"},
		{Load: &LoadRequest{Name: "f"}}, // a load before any compile
		{},
	} {
		if err := c.send(m, nil); err != nil {
			t.Fatal(err)
		}
		reply, fds, err := c.recv()
		if err != nil {
			t.Fatalf("reply to %+v: %v", m, err)
		}
		if reply.Error != "unexpected request" || len(fds) != 0 {
			t.Errorf("reply to %+v: %+v, fds %v", m, reply, fds)
		}
	}
	if err := c.send(&message{Op: "close"}, nil); err != nil {
		t.Fatal(err)
	}
	if code := <-status; code != 0 {
		t.Errorf("serve returned %d after close, want 0", code)
	}
}

// A parent that dies mid-request ends the helper with an error status; one
// that goes away between requests ends it quietly.
func TestServeParentGone(t *testing.T) {
	for _, tc := range []struct {
		name string
		raw  []byte
		want int
	}{
		{"between requests", nil, 0},
		{"mid-header", header(10, 0)[:3], 3},
		{"mid-body", append(header(10, 0), `{"op"`...), 3},
		{"oversized", header(0xffffffff, 0), 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, status := serveInProcess(t)
			sendRaw(t, c, tc.raw)
			if code := <-status; code != tc.want {
				t.Errorf("serve returned %d, want %d", code, tc.want)
			}
		})
	}
}
