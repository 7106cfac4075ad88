package compiler

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/gobcc/gobcc/internal/libbcc"
)

// stderrMu serialises compiles and loads in this process: libbcc writes
// diagnostics to fd 2, which is redirected while it runs, and its LLVM state
// is not meant for concurrent compiles.
var stderrMu sync.Mutex

// captureStderr runs f with fds 1 and 2 redirected into a pipe and
// returns what was written: clang's diagnostics go to stderr, and some of
// libbcc's debug output (LLVM IR) to stdout. Anything else the process
// writes to them meanwhile is captured too; that is the price of compiling
// in-process.
func captureStderr(f func()) (string, error) {
	var saved [3]int
	for _, fd := range []int{1, 2} {
		s, err := unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, 3)
		if err != nil {
			if fd == 2 {
				unix.Close(saved[1])
			}
			return "", fmt.Errorf("dup fd %d: %w", fd, err)
		}
		saved[fd] = s
	}
	defer unix.Close(saved[1])
	defer unix.Close(saved[2])
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC); err != nil {
		return "", fmt.Errorf("pipe: %w", err)
	}
	r := os.NewFile(uintptr(p[0]), "output-capture")
	defer r.Close()
	done := make(chan []byte)
	go func() {
		b, _ := io.ReadAll(r)
		done <- b
	}()
	for _, fd := range []int{1, 2} {
		if err := unix.Dup3(p[1], fd, 0); err != nil {
			unix.Dup3(saved[1], 1, 0)
			unix.Close(p[1])
			return "", fmt.Errorf("redirect fd %d: %w", fd, err)
		}
	}
	unix.Close(p[1])
	f()
	// C stdio buffers stdout when it is a pipe; flush it into the capture.
	flushStdio()
	// Restoring fds 1 and 2 closes the last write ends, which ends the reader.
	err1 := unix.Dup3(saved[1], 1, 0)
	err2 := unix.Dup3(saved[2], 2, 0)
	if err := errors.Join(err1, err2); err != nil {
		return "", fmt.Errorf("restore stdout/stderr: %w", err)
	}
	return string(<-done), nil
}

// setKernelSource sets BCC_KERNEL_SOURCE in this process for one compile
// (libbcc reads it with getenv) and returns what restores the previous
// value. Callers hold stderrMu, which serialises in-process compiles.
func setKernelSource(dir string) (restore func()) {
	if dir == "" {
		return func() {}
	}
	old, had := os.LookupEnv(kernelSourceEnv)
	os.Setenv(kernelSourceEnv, dir)
	return func() {
		if had {
			os.Setenv(kernelSourceEnv, old)
		} else {
			os.Unsetenv(kernelSourceEnv)
		}
	}
}

type inProcess struct {
	mu     sync.Mutex
	mod    *libbcc.Module
	result *Result
	usdt   []*libbcc.USDTContext
}

func compileInProcess(req Request) (Session, error) {
	lib, err := libbcc.Open()
	if err != nil {
		return nil, err
	}
	stderrMu.Lock()
	defer stderrMu.Unlock()
	text := req.Text
	var usdt []*libbcc.USDTContext
	if len(req.USDT) > 0 {
		prefix, ctxs, err := openUSDT(lib, req.USDT)
		if err != nil {
			return nil, err
		}
		usdt, text = ctxs, prefix+text
	}
	var mod *libbcc.Module
	var cerr error
	restoreEnv := setKernelSource(req.KernelSource)
	out, err := captureStderr(func() { mod, cerr = lib.Compile(text, req.DebugFlags, req.CFlags) })
	restoreEnv()
	if err != nil {
		closeUSDT(usdt)
		return nil, err
	}
	if cerr != nil {
		closeUSDT(usdt)
		return nil, &Error{Output: out, Err: ErrCompile}
	}
	res, err := describe(lib, mod, out, true)
	if err == nil && len(usdt) > 0 {
		res.USDTUprobes, err = usdtUprobes(usdt, req.USDT)
	}
	if err != nil {
		if res != nil {
			closeTables(res.Tables)
		}
		mod.Close()
		closeUSDT(usdt)
		return nil, err
	}
	return &inProcess{mod: mod, result: res, usdt: usdt}, nil
}

// describe collects a module's functions and tables. With dupFDs the table
// fds are duplicated so that they outlive the module.
func describe(lib *libbcc.Library, mod *libbcc.Module, output string, dupFDs bool) (*Result, error) {
	res := &Result{
		LibPath:     lib.Path,
		LibVersion:  lib.Version.String(),
		License:     mod.License(),
		KernVersion: mod.KernVersion(),
		Output:      output,
	}
	for _, f := range mod.Functions() {
		res.Functions = append(res.Functions, Function{Name: f.Name, Insns: f.Insns})
	}
	for _, t := range mod.Tables() {
		ct := Table{
			Name: t.Name, FD: t.FD, ModuleFD: t.FD, Type: t.Type, MaxEntries: t.MaxEntries,
			Flags: t.Flags, KeyDesc: t.KeyDesc, LeafDesc: t.LeafDesc, KeySize: t.KeySize,
			LeafSize: t.LeafSize, Fields: t.Fields,
		}
		if dupFDs && t.FD >= 0 {
			fd, err := unix.FcntlInt(uintptr(t.FD), unix.F_DUPFD_CLOEXEC, 3)
			if err != nil {
				closeTables(res.Tables)
				return nil, fmt.Errorf("dup map fd of %s: %w", t.Name, err)
			}
			ct.FD = fd
		}
		res.Tables = append(res.Tables, ct)
	}
	return res, nil
}

func closeTables(ts []Table) {
	for _, t := range ts {
		if t.FD >= 0 {
			unix.Close(t.FD)
		}
	}
}

func (s *inProcess) Result() *Result { return s.result }

func (s *inProcess) Load(req LoadRequest) (LoadResult, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.mod == nil {
		return LoadResult{FD: -1}, ErrClosed
	}
	return loadFunc(s.mod, s.result, req)
}

func loadFunc(mod *libbcc.Module, res *Result, req LoadRequest) (LoadResult, error) {
	stderrMu.Lock()
	defer stderrMu.Unlock()
	var r LoadResult
	var lerr error
	out, err := captureStderr(func() { r, lerr = loadFuncDirect(mod, res, req) })
	if err != nil {
		if r.FD >= 0 {
			unix.Close(r.FD)
		}
		return LoadResult{FD: -1}, err
	}
	r.Output = out
	return r, lerr
}

// loadFuncDirect loads without touching fd 2.
func loadFuncDirect(mod *libbcc.Module, res *Result, req LoadRequest) (LoadResult, error) {
	var insns []byte
	found := false
	for _, f := range res.Functions {
		if f.Name == req.Name {
			insns, found = f.Insns, true
			break
		}
	}
	if !found {
		return LoadResult{FD: -1}, fmt.Errorf("no function %q in the module", req.Name)
	}
	r := mod.LoadFunc(req.Name, insns, req.ProgType, req.AttachType, req.LogLevel)
	return LoadResult{FD: r.FD, Log: r.Log, Errno: r.Errno}, nil
}

func (s *inProcess) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.mod != nil {
		s.mod.Close()
		s.mod = nil
	}
	closeUSDT(s.usdt)
	s.usdt = nil
	return nil
}
