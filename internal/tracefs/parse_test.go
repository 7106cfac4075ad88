package tracefs

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// Lines recorded on this machine (Linux 6.18, 5-character flags) unless a
// comment says otherwise. bpf_trace_printk lines came from a
// TRACEPOINT_PROBE on syscalls:sys_enter_getppid run by threads that renamed
// themselves with prctl(PR_SET_NAME); tgid lines with options/record-tgid
// on; the noirq-info and counter-clock lines from a tracefs instance.
var parseCases = []struct {
	name string
	line string
	want Event
}{
	{
		name: "6.x bpf_trace_printk, task name with space and dash",
		line: "    my task-name-4945    [000] ...21  1407.709450: bpf_trace_printk: getppid hit pid=4943: colon inside\n",
		want: Event{Task: "my task-name", PID: 4945, TGID: -1, CPU: 0, Flags: "...21",
			Timestamp: 1407*time.Second + 709450*time.Microsecond, TimestampRaw: "1407.709450",
			Function: "bpf_trace_printk", Message: "getppid hit pid=4943: colon inside"},
	},
	{
		name: "task name with slash colon and dash",
		line: " kworker/u4:1-ev-4946    [000] ...21  1407.710279: bpf_trace_printk: getppid hit pid=4943: colon inside",
		want: Event{Task: "kworker/u4:1-ev", PID: 4946, TGID: -1, CPU: 0, Flags: "...21",
			Timestamp: 1407*time.Second + 710279*time.Microsecond, TimestampRaw: "1407.710279",
			Function: "bpf_trace_printk", Message: "getppid hit pid=4943: colon inside"},
	},
	{
		name: "task name ending in dash and digits",
		line: "      a b c-d-12-4947    [000] ...21  1407.710691: bpf_trace_printk: getppid hit pid=4943: colon inside",
		want: Event{Task: "a b c-d-12", PID: 4947, TGID: -1, CPU: 0, Flags: "...21",
			Timestamp: 1407*time.Second + 710691*time.Microsecond, TimestampRaw: "1407.710691",
			Function: "bpf_trace_printk", Message: "getppid hit pid=4943: colon inside"},
	},
	{
		name: "tgid column (BCC trace_fields drops these lines)",
		line: "      a b c-d-12-4997    (   4982) [001] ...21  1410.861059: bpf_trace_printk: getppid hit pid=4982: colon inside",
		want: Event{Task: "a b c-d-12", PID: 4997, TGID: 4982, CPU: 1, Flags: "...21",
			Timestamp: 1410*time.Second + 861059*time.Microsecond, TimestampRaw: "1410.861059",
			Function: "bpf_trace_printk", Message: "getppid hit pid=4982: colon inside"},
	},
	{
		name: "tgid column, main thread",
		line: "         python3-4982    (   4982) [001] ...21  1410.863701: bpf_trace_printk: getppid hit pid=4982: colon inside",
		want: Event{Task: "python3", PID: 4982, TGID: 4982, CPU: 1, Flags: "...21",
			Timestamp: 1410*time.Second + 863701*time.Microsecond, TimestampRaw: "1410.863701",
			Function: "bpf_trace_printk", Message: "getppid hit pid=4982: colon inside"},
	},
	{
		name: "trace_marker, unknown task",
		line: "           <...>-4851    [000] ...1.  1399.148350: tracing_mark_write: hello gobcc marker 1",
		want: Event{Task: "<...>", PID: 4851, TGID: -1, CPU: 0, Flags: "...1.",
			Timestamp: 1399*time.Second + 148350*time.Microsecond, TimestampRaw: "1399.148350",
			Function: "tracing_mark_write", Message: "hello gobcc marker 1"},
	},
	{
		name: "empty message keeps the space after the colon",
		line: "            bash-10892   [000] ...1.  1666.225055: tracing_mark_write: ",
		want: Event{Task: "bash", PID: 10892, TGID: -1, CPU: 0, Flags: "...1.",
			Timestamp: 1666*time.Second + 225055*time.Microsecond, TimestampRaw: "1666.225055",
			Function: "tracing_mark_write", Message: ""},
	},
	{
		name: "trailing spaces kept (BCC rstrip drops them)",
		line: "            bash-10892   [000] ...1.  1666.225175: tracing_mark_write: trailing spaces   ",
		want: Event{Task: "bash", PID: 10892, TGID: -1, CPU: 0, Flags: "...1.",
			Timestamp: 1666*time.Second + 225175*time.Microsecond, TimestampRaw: "1666.225175",
			Function: "tracing_mark_write", Message: "trailing spaces   "},
	},
	{
		name: "noirq-info: no flags column",
		line: "            bash-11135   [001]   1669.673051: tracing_mark_write: no irq info line",
		want: Event{Task: "bash", PID: 11135, TGID: -1, CPU: 1, Flags: "",
			Timestamp: 1669*time.Second + 673051*time.Microsecond, TimestampRaw: "1669.673051",
			Function: "tracing_mark_write", Message: "no irq info line"},
	},
	{
		name: "counter trace clock",
		line: "            bash-11135   [000] ...1.            4: tracing_mark_write: counter clock line",
		want: Event{Task: "bash", PID: 11135, TGID: -1, CPU: 0, Flags: "...1.",
			TimestampRaw: "4", Function: "tracing_mark_write", Message: "counter clock line"},
	},
	{
		name: "x86-tsc trace clock",
		line: "            bash-11135   [000] ...1. 1054409751814818: tracing_mark_write: tsc clock line",
		want: Event{Task: "bash", PID: 11135, TGID: -1, CPU: 0, Flags: "...1.",
			TimestampRaw: "1054409751814818", Function: "tracing_mark_write", Message: "tsc clock line"},
	},
	{
		name: "lost events",
		line: "CPU:0 [LOST 4590 EVENTS]\n",
		want: Event{PID: -1, TGID: -1, CPU: -1, Lost: 4590, LostCPU: 0},
	},
	{
		name: "lost events on a wide CPU number",
		line: "CPU:1023 [LOST 1 EVENTS]",
		want: Event{PID: -1, TGID: -1, CPU: -1, Lost: 1, LostCPU: 1023},
	},
	// From BCC's tutorial (docs/tutorial_bcc_python_developer.md): kernel
	// 4.12 or earlier, 4-character flags and no function before the message.
	{
		name: "4.x 4-character flags, empty function",
		line: "            bash-13364 [002] d... 24573433.052937: : Hello, World!",
		want: Event{Task: "bash", PID: 13364, TGID: -1, CPU: 2, Flags: "d...",
			Timestamp: 24573433*time.Second + 52937*time.Microsecond, TimestampRaw: "24573433.052937",
			Message: "Hello, World!"},
	},
	// Kernels 4.13 on print an unresolvable address instead (BCC issue
	// #1534 and pull request #1536 describe the format); the line is built
	// from that report.
	{
		name: "4.13 address as function",
		line: "              dd-1417  [001] d.h. 1045.291937: 0x00000001: 16384 801 1495",
		want: Event{Task: "dd", PID: 1417, TGID: -1, CPU: 1, Flags: "d.h.",
			Timestamp: 1045*time.Second + 291937*time.Microsecond, TimestampRaw: "1045.291937",
			Function: "0x00000001", Message: "16384 801 1495"},
	},
	// Published HiTrace (OpenHarmony) documentation: 4-character flags with
	// a tgid column the kernel could not fill.
	{
		name: "4-character flags, unknown tgid",
		line: "   <...>-26889   (-------) [001] ....  3100.023070: tracing_mark_write: S|26889|H:hitraceTest|123|M62|categoryTest|key=value",
		want: Event{Task: "<...>", PID: 26889, TGID: -1, CPU: 1, Flags: "....",
			Timestamp: 3100*time.Second + 23070*time.Microsecond, TimestampRaw: "3100.023070",
			Function: "tracing_mark_write", Message: "S|26889|H:hitraceTest|123|M62|categoryTest|key=value"},
	},
	// A function-tracer line from a published trace: there is no
	// "function: " part, the whole call goes to Message.
	{
		name: "function tracer line",
		line: "           <...>-13267   (-------) [034] d... 6368755.192329: check_cfs_rq_runtime <-put_prev_entity",
		want: Event{Task: "<...>", PID: 13267, TGID: -1, CPU: 34, Flags: "d...",
			Timestamp: 6368755*time.Second + 192329*time.Microsecond, TimestampRaw: "6368755.192329",
			Message: "check_cfs_rq_runtime <-put_prev_entity"},
	},
	// The next lines are recorded lines with fields widened to what big
	// machines print: 4-digit CPUs, 7-digit PIDs, the 15-byte comm limit.
	{
		name: "4-digit cpu",
		line: "           <...>-4851    [1234] ...1.  1399.148350: tracing_mark_write: hello gobcc marker 1",
		want: Event{Task: "<...>", PID: 4851, TGID: -1, CPU: 1234, Flags: "...1.",
			Timestamp: 1399*time.Second + 148350*time.Microsecond, TimestampRaw: "1399.148350",
			Function: "tracing_mark_write", Message: "hello gobcc marker 1"},
	},
	{
		name: "7-digit pid and tgid, 15-byte comm",
		line: " qemu-system-x86-4194301 (4194300) [003] d..2. 90001.000001: bpf_trace_printk: x",
		want: Event{Task: "qemu-system-x86", PID: 4194301, TGID: 4194300, CPU: 3, Flags: "d..2.",
			Timestamp: 90001*time.Second + time.Microsecond, TimestampRaw: "90001.000001",
			Function: "bpf_trace_printk", Message: "x"},
	},
	{
		name: "idle task",
		line: "          <idle>-0       [001] d.s3.  1407.800000: bpf_trace_printk: from softirq",
		want: Event{Task: "<idle>", PID: 0, TGID: -1, CPU: 1, Flags: "d.s3.",
			Timestamp: 1407*time.Second + 800*time.Millisecond, TimestampRaw: "1407.800000",
			Function: "bpf_trace_printk", Message: "from softirq"},
	},
	{
		name: "message that looks like a header",
		line: "            bash-10892   [000] ...1.  1666.225055: tracing_mark_write: x-12 [001] d... 1.0: f: m",
		want: Event{Task: "bash", PID: 10892, TGID: -1, CPU: 0, Flags: "...1.",
			Timestamp: 1666*time.Second + 225055*time.Microsecond, TimestampRaw: "1666.225055",
			Function: "tracing_mark_write", Message: "x-12 [001] d... 1.0: f: m"},
	},
	{
		name: "empty message without trailing space",
		line: "            bash-10892   [000] ...1.  1666.225055: bpf_trace_printk:",
		want: Event{Task: "bash", PID: 10892, TGID: -1, CPU: 0, Flags: "...1.",
			Timestamp: 1666*time.Second + 225055*time.Microsecond, TimestampRaw: "1666.225055",
			Function: "bpf_trace_printk"},
	},
}

func TestParseLine(t *testing.T) {
	for _, tc := range parseCases {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := ParseLine(tc.line)
			if !ok {
				t.Fatalf("ParseLine(%q) not ok", tc.line)
			}
			want := tc.want
			want.Raw = strings.TrimSuffix(tc.line, "\n")
			want.Parsed = true
			if want.Lost == 0 {
				want.LostCPU = -1
			}
			if got != want {
				t.Errorf("ParseLine(%q)\n got %+v\nwant %+v", tc.line, got, want)
			}
		})
	}
}

func TestParseLineGarbage(t *testing.T) {
	garbage := []string{
		"",
		"\n",
		"hello world",
		"# tracer: nop",
		"#           TASK-PID     CPU#  |||||  TIMESTAMP  FUNCTION",
		"#              | |         |   |||||     |         |",
		"CPU:0 [LOST x EVENTS]",
		"CPU:0 [LOST 12 EVENTS",
		"CPU: [LOST 12 EVENTS]",
		// A line cut short, as BCC's readline(1024) leaves them.
		"           <...>-4851    [000] ...1.  1399.14",
		"           <...>-4851    [000] ...1.  1399.148350",
		"           <...>-4851    [000] ...1.",
		"           <...>-4851    [000",
		"           <...>-4851",
		"            bash-abc    [000] ...1.  1399.148350: f: m",
		"            bash-12     [0a0] ...1.  1399.148350: f: m",
		"            bash-12     (  1x) [000] ...1.  1399.148350: f: m",
		"            bash-12     [000] ...1.  1399.1483a0: f: m",
		"            bash-12     [000] ...1.  1399.1234567890: f: m",
		"            bash-12     [000] ...1.  99999999999999999999.0: f: m",
		"            bash-12[000] ...1.  1399.148350: f: m",
		"getppid hit pid=4943: colon inside",
	}
	for _, line := range garbage {
		ev, ok := ParseLine(line)
		if ok || ev.Parsed {
			t.Errorf("ParseLine(%q) = %+v, want not ok", line, ev)
			continue
		}
		if ev.Raw != strings.TrimSuffix(line, "\n") {
			t.Errorf("ParseLine(%q).Raw = %q, want the line", line, ev.Raw)
		}
		if ev.PID != -1 || ev.TGID != -1 || ev.CPU != -1 || ev.LostCPU != -1 || ev.Lost != 0 {
			t.Errorf("ParseLine(%q) = %+v, want numeric fields absent", line, ev)
		}
	}
}

func TestParseBufferSizeKB(t *testing.T) {
	cases := []struct {
		content          string
		perCPU, expanded int
	}{
		{"7 (expanded: 1408)\n", 7, 1408},
		{"1408\n", 1408, 1408},
		{"4", 4, 4},
	}
	for _, tc := range cases {
		perCPU, expanded, err := parseBufferSizeKB(tc.content)
		if err != nil || perCPU != tc.perCPU || expanded != tc.expanded {
			t.Errorf("parseBufferSizeKB(%q) = %d, %d, %v; want %d, %d", tc.content, perCPU, expanded, err, tc.perCPU, tc.expanded)
		}
	}
	for _, bad := range []string{"", "X\n", "seven", "7 (expanded 1408)", "7 (expanded: x)", "7 (expanded: 1408"} {
		if _, _, err := parseBufferSizeKB(bad); !errors.Is(err, ErrUnexpectedFormat) {
			t.Errorf("parseBufferSizeKB(%q) error = %v, want ErrUnexpectedFormat", bad, err)
		}
	}
}

func BenchmarkParseLine(b *testing.B) {
	lines := make([]string, len(parseCases))
	for i, tc := range parseCases {
		lines[i] = tc.line
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if _, ok := ParseLine(lines[i%len(lines)]); !ok {
			b.Fatal("line did not parse")
		}
	}
}
