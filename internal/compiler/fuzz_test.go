package compiler

import (
	"encoding/json"
	"testing"

	"golang.org/x/sys/unix"
)

// frame is a whole frame: header and body, no descriptors.
func frame(body string) []byte {
	return append(header(uint32(len(body)), 0), body...)
}

// FuzzWireRecv feeds arbitrary bytes to the frame decoder, as a broken or
// hostile peer would send them: it must return a message or an error,
// never panic, hang, keep a descriptor or allocate what a header claims.
func FuzzWireRecv(f *testing.F) {
	valid, _ := json.Marshal(&message{Load: &LoadRequest{Name: "tracepoint__kmem__kmalloc", ProgType: 5, LogLevel: 1}})
	result, _ := json.Marshal(&message{Result: &Result{License: "GPL", Tables: []Table{{Name: "t", FD: -1, ModuleFD: -1}},
		Functions: []Function{{Name: "f", Insns: []byte{0xb7, 0, 0, 0, 0, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0}}}}})
	for _, seed := range [][]byte{
		frame(string(valid)),
		frame(string(result)),
		frame(`{"op":"close"}`),
		frame(`{"op":"compile","error":"x","output":"main.c:1:1: error"}`),
		append(frame(`{"op":"close"}`), frame(`{"op":"close"}`)...),
		frame(""),
		frame("null"),
		frame(`{"compile":{"text":"int x;","cflags":["-I."]}}`),
		header(10, 0)[:5],
		append(header(100, 0), `{"op"`...),
		append(header(0xffffffff, 0), "{}"...),
		append(header(2, 4), "{}"...),
		{},
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		// The socket buffer holds well over this; the write never blocks.
		if len(data) > 64<<10 {
			data = data[:64<<10]
		}
		a, b := connPair(t)
		if len(data) > 0 {
			if err := a.writeAll(data); err != nil {
				t.Fatal(err)
			}
		}
		unix.Shutdown(a.fd, unix.SHUT_WR)
		for range 4 { // up to four frames, then the end of the stream
			m, fds, err := b.recv()
			if err != nil {
				if m != nil || fds != nil {
					t.Fatalf("error %v with message %+v, fds %v", err, m, fds)
				}
				return
			}
			if m == nil || len(fds) != 0 {
				t.Fatalf("message %+v with %d descriptors from bytes alone", m, len(fds))
			}
		}
	})
}
