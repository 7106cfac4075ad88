package compiler

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync/atomic"

	"github.com/gobcc/gobcc/internal/kheaders"
)

// NoSubsetsEnv, set to 1, makes every compile through a generated tree use
// the whole tree (to compare, or to rule subsets out).
const NoSubsetsEnv = "GOBCC_NO_TYPE_SUBSETS"

// subsetFallbacks counts compiles that failed through a type subset and
// passed through the whole header tree.
var subsetFallbacks atomic.Int64

// SubsetFallbacks returns how many compiles of this process fell back from
// a type subset to the whole header tree.
func SubsetFallbacks() int64 { return subsetFallbacks.Load() }

// compileWithSubset compiles req through the type subset of its program
// when req.KernelSource is a generated BTF tree (see kheaders.ProgramSubset):
// clang then parses the few hundred kernel types the program can reach
// instead of all of them. A compile that fails through the subset is
// retried once through the whole tree, so a subset never fails a program
// the tree compiles; the subset is then marked so the program's next
// compile goes straight to the tree.
func compileWithSubset(ctx context.Context, req Request, compile func(Request) (Session, error)) (Session, error) {
	if req.KernelSource == "" {
		return compile(req)
	}
	sub, warning := programSubset(req)
	if sub.Dir == "" {
		s, err := compile(req)
		if err == nil && warning != "" {
			s.Result().SubsetWarning = warning
		}
		return s, err
	}
	withSubset := req
	withSubset.CFlags = append(append([]string(nil), req.CFlags...), "-I"+sub.Dir)
	s, err := compile(withSubset)
	if err == nil {
		s.Result().TypeSubset = sub.Dir
		return s, nil
	}
	var cerr *Error
	if !errors.As(err, &cerr) || !errors.Is(err, ErrCompile) || ctx.Err() != nil {
		return nil, err
	}
	s, err = compile(req)
	if err != nil {
		// The program fails through the whole tree too: its own error.
		return nil, err
	}
	subsetFallbacks.Add(1)
	kheaders.MarkSubsetFailed(sub.Dir)
	r := s.Result()
	r.SubsetFallback = true
	r.SubsetWarning = fmt.Sprintf("the program failed to compile through its kernel type subset %s and was compiled through the whole header tree (slower); please report it with the program. Through the subset, clang said:\n%s", sub.Dir, firstLines(cerr.Output, 20))
	return s, nil
}

// programSubset finds or writes the subset for req's program, or says why
// there is none when the tree should have one.
func programSubset(req Request) (kheaders.Subset, string) {
	if os.Getenv(NoSubsetsEnv) == "1" {
		return kheaders.Subset{}, ""
	}
	// USDT argument code, prepended in the helper, names no kernel types.
	idents, includes := kheaders.ProgramIdents(req.Text, includeDirs(req.CFlags))
	if !includes && !hasForcedInclude(req.CFlags) {
		// No kernel header can be reached: the whole tree costs nothing.
		return kheaders.Subset{}, ""
	}
	sub, err := kheaders.ProgramSubset(req.KernelSource, idents)
	if err != nil {
		return kheaders.Subset{}, fmt.Sprintf("compiled through the whole kernel header tree (slower): %v", err)
	}
	return sub, ""
}

// includeDirs are where #include "..." files of a program may be: the
// current directory and the -iquote and -I directories of its flags.
func includeDirs(flags []string) []string {
	var dirs []string
	if wd, err := os.Getwd(); err == nil {
		dirs = append(dirs, wd)
	}
	for i, f := range flags {
		for _, opt := range []string{"-iquote", "-I"} {
			switch {
			case f == opt && i+1 < len(flags):
				dirs = append(dirs, flags[i+1])
			case strings.HasPrefix(f, opt) && f != opt:
				dirs = append(dirs, strings.TrimPrefix(f, opt))
			}
		}
	}
	return dirs
}

func hasForcedInclude(flags []string) bool {
	for _, f := range flags {
		if strings.HasPrefix(f, "-include") {
			return true
		}
	}
	return false
}

func firstLines(s string, n int) string {
	lines := strings.SplitN(s, "\n", n+1)
	if len(lines) > n {
		lines = append(lines[:n], "...")
	}
	return strings.Join(lines, "\n")
}
