package tracefs

import (
	"strings"
	"time"
)

// Event is one trace_pipe line taken apart.
//
// Numeric fields a line does not carry are -1: TGID without the record-tgid
// option, PID and CPU on a lost-events line or an unparsed line, LostCPU on
// every line but a lost-events line. The string fields are substrings of Raw.
type Event struct {
	// Task is the command name (comm) of the task that wrote the line, as
	// the kernel remembered it: "<...>" when it did not, "<idle>" for the
	// idle task. It may contain spaces and dashes.
	Task string
	// PID is the thread ID of the task.
	PID int
	// TGID is the process ID, or -1 when the line has no TGID column
	// (record-tgid off) or the kernel printed "(-------)" for it.
	TGID int
	// CPU is the CPU the line was written on.
	CPU int
	// Flags is the irq-info column, such as "d..1." (5 characters on newer
	// kernels, 4 on older ones), or "" when the noirq-info option hides it.
	Flags string
	// Timestamp is the trace clock reading. It is zero for counter clocks
	// (trace_clock counter or x86-tsc), which print a bare count, not seconds.
	Timestamp time.Duration
	// TimestampRaw is the timestamp as printed, such as "1399.148350".
	TimestampRaw string
	// Function is the word before the message: "bpf_trace_printk",
	// "tracing_mark_write", an event name, an address such as "0x00000001"
	// on some older kernels, or "" on kernels that printed nothing there.
	Function string
	// Message is everything after "<function>: ", kept as written, trailing
	// spaces included.
	Message string
	// Raw is the whole line without its trailing newline.
	Raw string
	// Lost is the number of events the kernel dropped, from a
	// "CPU:N [LOST n EVENTS]" line; 0 on every other line.
	Lost int
	// LostCPU is the CPU whose events were dropped, from a lost-events
	// line; -1 on every other line.
	LostCPU int
	// Parsed reports whether the line matched the trace_pipe format. When
	// false, only Raw is meaningful.
	Parsed bool
}

// ParseLine takes apart one trace_pipe line (with or without its newline).
// It reports ok=false for a line it does not recognize, and then returns an
// Event whose Raw holds the line, so that callers can still show it.
func ParseLine(line string) (ev Event, ok bool) {
	line = strings.TrimSuffix(line, "\n")
	ev = Event{Raw: line, PID: -1, TGID: -1, CPU: -1, LostCPU: -1}
	if strings.HasPrefix(line, "CPU:") {
		return parseLostLine(ev)
	}
	// The task name comes first and may itself hold "-<digits>", so try
	// each dash in turn until the rest of the header fits.
	for from := 0; ; {
		i := strings.IndexByte(line[from:], '-')
		if i < 0 {
			return ev, false
		}
		dash := from + i
		if parsed, ok := parseAfterTask(ev, line, dash); ok {
			return parsed, true
		}
		from = dash + 1
	}
}

// parseLostLine parses "CPU:<n> [LOST <count> EVENTS]".
func parseLostLine(ev Event) (Event, bool) {
	rest := ev.Raw[len("CPU:"):]
	cpu, rest, ok := cutNumber(rest)
	if !ok {
		return ev, false
	}
	rest, ok = strings.CutPrefix(rest, " [LOST ")
	if !ok {
		return ev, false
	}
	lost, rest, ok := cutNumber(rest)
	if !ok || rest != " EVENTS]" {
		return ev, false
	}
	ev.LostCPU, ev.Lost, ev.Parsed = cpu, lost, true
	return ev, true
}

// parseAfterTask parses the header from the dash that ends the task name:
// "-<pid> [(<tgid>)] [<cpu>] [<flags>] <timestamp>: " and then the
// function and message.
func parseAfterTask(ev Event, line string, dash int) (Event, bool) {
	pid, rest, ok := cutNumber(line[dash+1:])
	if !ok {
		return ev, false
	}
	rest, ok = cutSpaces(rest)
	if !ok {
		return ev, false
	}
	tgid := -1
	if strings.HasPrefix(rest, "(") {
		if tgid, rest, ok = cutTGID(rest); !ok {
			return ev, false
		}
		if rest, ok = cutSpaces(rest); !ok {
			return ev, false
		}
	}
	if !strings.HasPrefix(rest, "[") {
		return ev, false
	}
	cpu, rest, ok := cutNumber(rest[1:])
	if !ok || !strings.HasPrefix(rest, "]") {
		return ev, false
	}
	if rest, ok = cutSpaces(rest[1:]); !ok {
		return ev, false
	}
	// Next comes either the flags or, with noirq-info, the timestamp. Only
	// the timestamp ends in ':'; flags never contain one.
	token, after, spaced := strings.Cut(rest, " ")
	flags := ""
	if !strings.HasSuffix(token, ":") {
		if !spaced {
			return ev, false
		}
		flags = token
		rest = strings.TrimLeft(after, " ")
		token, after, spaced = strings.Cut(rest, " ")
	}
	raw, ok := strings.CutSuffix(token, ":")
	if !ok {
		return ev, false
	}
	timestamp, ok := parseTimestamp(raw)
	if !ok {
		return ev, false
	}
	ev.Function, ev.Message = splitFunction(after, spaced)

	ev.Task = strings.TrimLeft(line[:dash], " ")
	ev.PID, ev.TGID, ev.CPU, ev.Flags = pid, tgid, cpu, flags
	ev.Timestamp, ev.TimestampRaw = timestamp, raw
	ev.Parsed = true
	return ev, true
}

// splitFunction splits "<function>: <message>". hadSpace tells whether a
// space followed the timestamp's colon; without one the line ended there.
func splitFunction(rest string, hadSpace bool) (function, message string) {
	if !hadSpace {
		return "", ""
	}
	if function, message, ok := strings.Cut(rest, ": "); ok {
		return function, message
	}
	// An empty message leaves "<function>:" at the end of the line.
	if function, ok := strings.CutSuffix(rest, ":"); ok && !strings.Contains(function, " ") {
		return function, ""
	}
	// Function tracer lines have no "function: " part, only the message.
	return "", rest
}

// cutTGID parses "(<digits>)" or "(-------)", with the kernel's padding.
func cutTGID(s string) (tgid int, rest string, ok bool) {
	end := strings.IndexByte(s, ')')
	if end < 0 {
		return 0, s, false
	}
	inside, rest := strings.TrimLeft(s[1:end], " "), s[end+1:]
	if inside != "" && strings.Trim(inside, "-") == "" {
		return -1, rest, true
	}
	tgid, tail, ok := cutNumber(inside)
	if !ok || tail != "" {
		return 0, s, false
	}
	return tgid, rest, true
}

// cutNumber takes the leading decimal digits of s.
func cutNumber(s string) (n int, rest string, ok bool) {
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		// 18 digits always fit in an int64; longer is not a kernel number.
		if i == 18 {
			return 0, s, false
		}
		n = n*10 + int(s[i]-'0')
		i++
	}
	return n, s[i:], i > 0
}

// cutSpaces removes one or more leading spaces.
func cutSpaces(s string) (string, bool) {
	trimmed := strings.TrimLeft(s, " ")
	return trimmed, len(trimmed) < len(s)
}

// parseTimestamp parses "<seconds>.<fraction>" or, for counter clocks, a
// bare count (reported as zero duration).
func parseTimestamp(s string) (time.Duration, bool) {
	secondsText, fraction, hasFraction := strings.Cut(s, ".")
	seconds, tail, ok := cutNumber(secondsText)
	if !ok || tail != "" {
		return 0, false
	}
	if !hasFraction {
		return 0, true
	}
	nanos, tail, ok := cutNumber(fraction)
	if !ok || tail != "" || len(fraction) > 9 {
		return 0, false
	}
	for range 9 - len(fraction) {
		nanos *= 10
	}
	const maxSeconds = int64(1<<63-1) / int64(time.Second)
	if int64(seconds) > maxSeconds-1 {
		return 0, false
	}
	return time.Duration(seconds)*time.Second + time.Duration(nanos), true
}
