package testutil

import (
	"bytes"
	"runtime"
	"strconv"
	"strings"
)

// Goroutine is one goroutine of a snapshot: its id and its stack as
// runtime.Stack prints it (the header line first).
type Goroutine struct {
	ID    int
	Stack string
}

// Goroutines returns every goroutine of the process but the caller's.
func Goroutines() []Goroutine {
	buf := make([]byte, 1<<16)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	var out []Goroutine
	for i, block := range bytes.Split(buf, []byte("\n\n")) {
		if i == 0 {
			continue // the caller's own goroutine comes first
		}
		text := string(bytes.TrimSpace(block))
		header, _, _ := strings.Cut(text, "\n")
		// "goroutine 18 [chan receive]:"
		fields := strings.Fields(header)
		if len(fields) < 2 || fields[0] != "goroutine" {
			continue
		}
		id, err := strconv.Atoi(fields[1])
		if err != nil {
			continue
		}
		out = append(out, Goroutine{ID: id, Stack: text})
	}
	return out
}

// longLived are functions whose goroutines live as long as the process by
// design: the signal-delivery loop started by the first signal.Notify, the
// test binary's timeout alarm and fuzzing coordinator.
var longLived = []string{
	"os/signal.signal_recv",
	"os/signal.loop",
	"runtime.ensureSigM",
	"testing.(*M).startAlarm",
	"testing.runFuzzing",
	"runtime/trace.",
}

// interesting reports whether g may be a goroutine a test leaked.
func interesting(g Goroutine) bool {
	for _, f := range longLived {
		if strings.Contains(g.Stack, f) {
			return false
		}
	}
	return true
}
