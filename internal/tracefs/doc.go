// Package tracefs finds the kernel's tracefs, looks up tracepoints, and
// reads and parses trace_pipe, the stream that bpf_trace_printk writes to.
//
// It is the Go counterpart of BCC Python's BPF.get_tracepoints,
// BPF.tracepoint_exists, trace_readline, trace_fields and trace_print.
//
// # Line format
//
// A trace_pipe line, as printed by kernels from 3.x to 6.x, is
//
//	<task>-<pid> [(<tgid>)] [<cpu>] [<flags>] <seconds>: <function>: <message>
//
// where the tgid column appears only with the record-tgid trace option,
// flags are 4 characters on older kernels ("d...") and 5 on kernels that
// added a migrate-disable column ("d..1."), and the flags column disappears
// with the noirq-info option. For bpf_trace_printk the function is
// "bpf_trace_printk" on current kernels, an address such as "0x00000001"
// on 4.13 and a few later releases, and empty on 4.12 and earlier (giving
// "<seconds>: : message").
// When the kernel overwrites events nobody read, it inserts a line
// "CPU:<n> [LOST <count> EVENTS]". [ParseLine] understands all of these and
// returns lines it cannot parse with Event.Parsed false instead of dropping
// them, unlike BCC's trace_fields, which silently skips lost-event lines and
// every line carrying a tgid column.
//
// # Buffer size and lost lines
//
// Until something expands the ring buffer (enabling an event or tracer,
// or writing buffer_size_kb), buffer_size_kb reads "7 (expanded: 1408)":
// each CPU has only 7 KiB. bpf_trace_printk and trace_marker do not expand
// it, so when they are the only users the buffer stays at 7 KiB per CPU.
// A reader that falls a couple of pages behind the writer then loses lines
// in whole pages, about 145 bpf_trace_printk lines each, reported as
// "CPU:N [LOST 145 EVENTS]" (or a multiple). Above about 50,000 lines per
// second this is the norm; on a busy machine (2 CPUs, load average 7) both
// this reader and BCC's lost lines already at 20,000 per second, because
// the reader is not scheduled soon enough. No reader speed fixes that; a
// larger buffer does: [SetBufferSizeKB] enlarges the buffer of every CPU (it
// needs root and affects every user of the global trace buffer).
//
// # One reader
//
// trace_pipe is a consuming read shared by the whole machine, and the kernel
// admits one open reader at a time: [OpenPipe] returns an error wrapping
// [ErrPipeBusy] when another process (or another [Pipe] in this one) holds
// it.
package tracefs
