package tracefs

import (
	"strings"
	"testing"
)

// FuzzParseLine checks what ParseLine promises for any input: no panic,
// Raw is the line without its newline, the string fields are substrings of
// Raw, and the numeric fields not carried are -1.
func FuzzParseLine(f *testing.F) {
	for _, seed := range []string{
		"           <...>-1234    [001] d..31  5678.901234: bpf_trace_printk: hello world\n",
		"          python-28465   (  28465) [000] ....  1399.148350: 0x00000001: hi",
		"   kworker/u4:1-9 [001] d.... 12.5: sched_switch: prev_comm=a prev_pid=9",
		"  a-b-c-42 [000] .N.1  1.000001: tracing_mark_write: msg with trailing  ",
		"  task-7 [003] 123456789: counter clock",
		"CPU:1 [LOST 145 EVENTS]",
		"CPU:x [LOST 1 EVENTS]",
		"<idle>-0 [000] d.h2. 3.3: bpf_trace_printk:",
		"",
		"-",
		"-1 [0] :",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, line string) {
		ev, ok := ParseLine(line)
		raw := strings.TrimSuffix(line, "\n")
		if ev.Raw != raw {
			t.Fatalf("Raw = %q, want %q", ev.Raw, raw)
		}
		if ok != ev.Parsed {
			t.Fatalf("ok = %v but Parsed = %v", ok, ev.Parsed)
		}
		for name, s := range map[string]string{
			"Task": ev.Task, "Flags": ev.Flags, "TimestampRaw": ev.TimestampRaw,
			"Function": ev.Function, "Message": ev.Message,
		} {
			if !strings.Contains(raw, s) {
				t.Fatalf("%s %q is not part of the line %q", name, s, raw)
			}
		}
		if !ok {
			if ev.PID != -1 || ev.CPU != -1 || ev.TGID != -1 || ev.LostCPU != -1 || ev.Lost != 0 {
				t.Fatalf("unparsed line with numbers: %+v", ev)
			}
			return
		}
		if ev.Lost > 0 || strings.HasPrefix(raw, "CPU:") {
			if ev.PID != -1 || ev.CPU != -1 || ev.LostCPU < 0 {
				t.Fatalf("lost-events line %q parsed as %+v", raw, ev)
			}
			return
		}
		if ev.LostCPU != -1 || ev.PID < 0 || ev.CPU < 0 || ev.TGID < -1 || ev.Timestamp < 0 {
			t.Fatalf("event line %q parsed as %+v", raw, ev)
		}
	})
}
