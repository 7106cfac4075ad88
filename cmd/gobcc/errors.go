package main

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/gobcc/gobcc/bcc"
	"github.com/gobcc/gobcc/cmd/gobcc/cli"
)

// Exit statuses; exitCodesHelp documents them.
const (
	exitOK          = 0
	exitRuntime     = 1
	exitUsage       = 2
	exitCompile     = 3
	exitVerifier    = 4
	exitUnsupported = 5
	exitPermission  = 6
	exitInterrupted = 130
)

// verifierTailLines is how much of a rejection's log is shown without
// --debug: the verifier's reason is in its last lines.
const verifierTailLines = 12

// errUsage marks command-line mistakes (exit status 2).
var errUsage = cli.ErrUsage

// errSilent marks a failure already reported on stdout or stderr (check's
// rejected functions), which needs only its exit status.
type silentError struct{ code int }

func (e *silentError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

func usageErrorf(format string, args ...any) error { return cli.UsageErrorf(format, args...) }

// exitCode maps an error to the documented exit status.
func exitCode(err error) int {
	var silent *silentError
	var ce *bcc.CompileError
	var ve *bcc.VerifierError
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &silent):
		return silent.code
	case errors.Is(err, errUsage):
		return exitUsage
	case errors.As(err, &ce), errors.Is(err, bcc.ErrCompile), errors.Is(err, bcc.ErrHelperCrashed):
		return exitCompile
	case errors.Is(err, bcc.ErrPermission):
		return exitPermission
	case errors.Is(err, bcc.ErrTracepointNotFound), errors.Is(err, bcc.ErrNotSupported):
		return exitUnsupported
	case errors.As(err, &ve):
		// After the checks above: a rejection's errno (EACCES) would
		// otherwise read as a permission problem.
		return exitVerifier
	}
	return exitRuntime
}

// reportError prints err as one paragraph and returns the exit status.
// allVerifierLines is set by --debug: the whole log instead of its tail.
func reportError(w io.Writer, err error, allVerifierLines bool) int {
	code := exitCode(err)
	var silent *silentError
	if err == nil || errors.As(err, &silent) {
		return code
	}
	fmt.Fprint(w, describeError(err, allVerifierLines))
	return code
}

// describeError renders an error for a person: the location and source line
// of a compile error, the function and verifier lines of a rejection, a hint
// where gobcc knows the usual cause.
func describeError(err error, allVerifierLines bool) string {
	var b strings.Builder
	var ce *bcc.CompileError
	var ve *bcc.VerifierError
	switch {
	case errors.As(err, &ce):
		diags := ce.Errors()
		if len(diags) == 0 {
			fmt.Fprintf(&b, "gobcc: %s did not compile: %v\n", ce.File, ce.Err)
			if out := strings.TrimSpace(ce.Output); out != "" {
				b.WriteString(indent(out))
			}
			if errors.Is(err, bcc.ErrHelperCrashed) {
				b.WriteString("  libbcc crashed while compiling; simplify the line it last reported or report it to BCC\n")
			}
			return b.String()
		}
		fmt.Fprintf(&b, "gobcc: %s did not compile (%d error(s)):\n", ce.File, len(diags))
		for _, d := range diags {
			fmt.Fprintf(&b, "  %s:%d:%d: %s\n", d.File, d.Line, d.Column, d.Message)
			if d.Source != "" {
				b.WriteString(indent(d.Source))
			}
		}
	case errors.As(err, &ve):
		fmt.Fprintf(&b, "gobcc: the kernel refused function %s (loaded as %s): %v\n", ve.Function, ve.ProgType, ve.Errno)
		log := ve.LastLines(verifierTailLines)
		if allVerifierLines {
			log = strings.TrimRight(ve.Log, "\n")
			b.WriteString("  verifier log:\n")
		} else if log != "" {
			fmt.Fprintf(&b, "  last verifier lines (all of them with --debug):\n")
		}
		if log != "" {
			b.WriteString(indent(log))
		} else {
			b.WriteString("  the verifier wrote no log\n")
		}
		if ve.Hint != "" {
			b.WriteString(indent(ve.Hint))
		}
	case errors.Is(err, bcc.ErrTracepointNotFound):
		fmt.Fprintf(&b, "gobcc: %v\n", err)
		b.WriteString("  hint: list the kernel's tracepoints with `ls /sys/kernel/tracing/events/CATEGORY`, or run `gobcc doctor`\n")
	case errors.Is(err, bcc.ErrPermission):
		fmt.Fprintf(&b, "gobcc: %v\n", err)
	case errors.Is(err, bcc.ErrNotSupported):
		fmt.Fprintf(&b, "gobcc: %v\n  hint: `gobcc doctor` shows what this kernel supports\n", err)
	case errors.Is(err, errUsage):
		fmt.Fprintf(&b, "gobcc: %v\n", strings.TrimPrefix(err.Error(), errUsage.Error()+": "))
	default:
		fmt.Fprintf(&b, "gobcc: %v\n", err)
	}
	return b.String()
}

// indent prefixes every line with two spaces and ends with a newline.
func indent(s string) string {
	s = strings.TrimRight(s, "\n")
	return "  " + strings.ReplaceAll(s, "\n", "\n  ") + "\n"
}
