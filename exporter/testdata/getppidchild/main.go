// Command getppidchild is the exporter tests' traced process: it waits for
// a line on standard input, calls getppid() as many times as its argument
// says, then waits for standard input to close (so that its addresses can
// still be resolved). The tests build it with go build, which keeps the
// symbol table that usym and ustack read (go test's binaries have none).
package main

import (
	"io"
	"os"
	"runtime"
	"strconv"
	"syscall"
)

func main() {
	n, err := strconv.Atoi(os.Args[1])
	if err != nil {
		os.Exit(2)
	}
	var b [1]byte
	os.Stdin.Read(b[:])
	runtime.LockOSThread()
	for range n {
		syscall.Getppid()
	}
	io.Copy(io.Discard, os.Stdin)
}
