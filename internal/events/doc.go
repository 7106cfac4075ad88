// Package events is gobcc's event engine: it reads perf rings and BPF ring
// buffers and waits for them, with no knowledge of BPF objects or tables
// (package bcc wires it to its Table and BPF types).
//
//   - PerfRing and RingBuf parse a ring in place, on any memory: the
//     kernel's mapping or, in tests, a byte slice.
//   - PerfReader opens and maps BPF output perf rings, one per CPU;
//     RingReader maps a BPF ring buffer map. Both hand records to
//     callbacks and count them.
//   - Poller waits on many rings with one epoll descriptor and reads them
//     on the caller's goroutine, paced by the pacer (pace.go): batching
//     while records arrive fast, flushing perf rings that do not wake it.
//
// Design and measurements: docs/design-events.md.
package events
