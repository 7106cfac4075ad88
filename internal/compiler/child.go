package compiler

import (
	"fmt"
	"io"
	"os"
	"runtime"
	"strconv"

	"golang.org/x/sys/unix"

	"github.com/gobcc/gobcc/internal/libbcc"
)

// helperEnv names the variable that turns a process into a compile helper;
// its value is the descriptor number of the helper's socket.
const helperEnv = "GOBCC_COMPILE_HELPER"

// doneMarker ends each stretch of helper output belonging to one request,
// so that the parent knows it has read all of it.
const doneMarker = "\x00gobcc-helper-done\n"

func init() {
	v, ok := os.LookupEnv(helperEnv)
	if !ok {
		return
	}
	os.Unsetenv(helperEnv)
	// Compile on the main thread: glibc's malloc serves it from the main
	// arena, and LLVM, which allocates a great deal, runs about twice as
	// fast there as on a thread the Go runtime started.
	runtime.LockOSThread()
	fd, err := strconv.Atoi(v)
	if err != nil {
		fmt.Fprintf(os.Stderr, "gobcc helper: bad %s=%q\n", helperEnv, v)
		os.Exit(3)
	}
	os.Exit(serve(&conn{fd: fd}))
}

// serve is the helper's main loop: one compile, then loads until the parent
// sends "close" or goes away.
func serve(c *conn) int {
	// The helper keeps its USDT contexts until it ends; closing them then
	// undoes the semaphore increments libbcc made for process contexts.
	defer func() { closeUSDT(helperUSDT) }()
	var mod *libbcc.Module
	var res *Result
	endOutput := func() {
		// libbcc's stdout (LLVM IR) is block-buffered into the pipe.
		flushStdio()
		io.WriteString(os.Stderr, doneMarker)
	}
	for {
		m, fds, err := c.recv()
		closeFDs(fds)
		if err != nil {
			if err == io.EOF {
				return 0
			}
			fmt.Fprintf(os.Stderr, "gobcc helper: %v\n", err)
			return 3
		}
		switch {
		case m.Compile != nil && mod == nil:
			reply, fds := compileRequest(m.Compile, &mod, &res)
			endOutput()
			if err := c.send(reply, fds); err != nil {
				fmt.Fprintf(os.Stderr, "gobcc helper: %v\n", err)
				return 3
			}
			if mod == nil {
				return 0
			}
		case m.Load != nil && mod != nil:
			r, err := loadFuncDirect(mod, res, *m.Load)
			endOutput()
			reply := &message{Loaded: &r}
			if err != nil {
				reply = &message{Error: err.Error()}
			}
			var fds []int
			if r.FD >= 0 {
				fds = []int{r.FD}
			}
			err = c.send(reply, fds)
			if r.FD >= 0 {
				unix.Close(r.FD)
			}
			if err != nil {
				fmt.Fprintf(os.Stderr, "gobcc helper: %v\n", err)
				return 3
			}
		case m.Op == "close":
			return 0
		default:
			endOutput()
			c.send(&message{Error: "unexpected request"}, nil)
		}
	}
}

// helperUSDT are the helper's USDT contexts: a helper serves one compile.
var helperUSDT []*libbcc.USDTContext

func compileRequest(req *Request, modp **libbcc.Module, resp **Result) (*message, []int) {
	lib, err := libbcc.Open()
	if err != nil {
		return &message{Op: "nolib", Error: err.Error()}, nil
	}
	text := req.Text
	if len(req.USDT) > 0 {
		prefix, ctxs, err := openUSDT(lib, req.USDT)
		if err != nil {
			return &message{Error: err.Error()}, nil
		}
		helperUSDT = ctxs
		text = prefix + text
	}
	// clang's diagnostics go straight to fd 2, which the parent reads up to
	// doneMarker: a crash's last words reach it the same way.
	mod, err := lib.Compile(text, req.DebugFlags, req.CFlags)
	if err != nil {
		return &message{Op: "compile", Error: err.Error()}, nil
	}
	res, err := describe(lib, mod, "", false)
	if err == nil && len(helperUSDT) > 0 {
		res.USDTUprobes, err = usdtUprobes(helperUSDT, req.USDT)
	}
	if err != nil {
		mod.Close()
		return &message{Error: err.Error()}, nil
	}
	var fds []int
	for _, t := range res.Tables {
		if t.FD >= 0 {
			fds = append(fds, t.FD)
		}
	}
	if len(fds) > maxFDsPerFrame {
		mod.Close()
		return &message{Error: fmt.Sprintf("program has %d maps; at most %d are supported", len(fds), maxFDsPerFrame)}, nil
	}
	*modp, *resp = mod, res
	return &message{Result: res}, fds
}
