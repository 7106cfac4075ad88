// Package bcc is BCC's Python front end in Go: it compiles BPF programs
// written in BCC's C dialect at run time through libbcc, loads them through
// the kernel's verifier, attaches them, and gives their tables, events,
// symbols and trace output to Go code.
//
// # What New does
//
// [New] (or [NewContext], whose context can cancel a long compile) takes the
// program's C text in [Options] and
//
//  1. compiles it with libbcc (clang and LLVM), by default in a helper
//     process: the same executable re-executed, so that LLVM's memory and
//     any libbcc crash stay out of the caller's process
//     ([Options.InProcess] compiles in-process instead);
//  2. creates the program's tables (BPF maps);
//  3. as BCC does, loads and attaches every function whose name says where it
//     belongs (TRACEPOINT_PROBE, RAW_TRACEPOINT_PROBE, kprobe__, ...), unless
//     [Options.NoAutoAttach];
//  4. ends the helper once every function is loaded ([BPF.FreeBCCMemory]
//     ends it earlier).
//
// libbcc is loaded with dlopen when first needed: a program importing this
// package starts without it, and [ErrLibbccNotFound] says when it is
// missing.
//
// # Ownership
//
// The [BPF] returned by New owns every file descriptor, attachment, perf or
// ring buffer reader, symbol cache and the helper process it makes. Close
// releases them all, in the right order (readers, then attachments, then
// programs and maps); after Close nothing of it is left in the kernel or
// the process. Descriptors it hands out ([Table.FD], [Function.FD]) stay
// its own: do not close them. Values read from tables own their bytes and
// outlive Close. A [BPF] is safe for concurrent use. Objects made without a
// BPF ([KernelSymbols], [TracePipe]) are the caller's, and a [TracePipe]
// must be closed.
//
// # Errors
//
// Errors wrap sentinels for [errors.Is]: [ErrCompile], [ErrVerifier],
// [ErrNotSupported] (the kernel refuses a feature), [ErrPermission],
// [ErrTableNotFound], [ErrFunctionNotFound], [ErrTracepointNotFound],
// [ErrKeyNotExist], [ErrClosed], [ErrPipeBusy] and more. Two error types
// carry details for [errors.As]: [*CompileError] (clang's diagnostics,
// located in the user's file) and [*VerifierError] (the errno and the
// verifier's log, its source references mapped to the user's lines). A
// cancelled [NewContext] returns an error that wraps the context's error.
//
// # Options
//
// One rule throughout: settings that every call needs are a struct passed
// by value ([Options] of New); optional settings are a struct named
// XxxOptions passed as a trailing variadic parameter, opts ...XxxOptions,
// taking none (the defaults) or one; more than one is an error
// ([ErrTooManyOptions]). For example b.Ksym(addr) and
// b.Ksym(addr, symbols.Options{ShowOffset: true}), which are BCC's
// b.ksym(addr) and b.ksym(addr, show_offset=True).
//
// # Where things are
//
//   - Compile and load: [New], [NewContext], [Options], [BPF.LoadFunc],
//     [Function], [ProgType], [CompileError], [VerifierError].
//   - Attach: the BPF.Attach* and Detach* methods (tracepoints, raw
//     tracepoints, kprobes, uprobes, USDT, perf events, XDP, sockets).
//     Package perf names perf events; package features says what the
//     kernel allows; package probes lists what there is to attach to.
//   - Tables: [BPF.Table], [Table] (items, lookups, batch operations, per-CPU
//     values, histograms), [TableOf] for typed access, [Value] and [CType]
//     for values read from C.
//   - Events: [Table.OpenPerfBuffer], [Table.OpenRingBuffer], [Table.Events]
//     and [BPF.PerfBufferPoll], [BPF.RingBufferPoll].
//   - Symbols: [BPF.Ksym], [BPF.KsymName] for the kernel; [BPF.Sym],
//     [BPF.ResolveUser], [BPF.SymName] for processes; stack tables' Walk.
//     Package symbols does the same without a BPF object.
//   - Trace output (bpf_trace_printk): [BPF.TraceFields], [BPF.TracePrint];
//     package tracepipe reads it without a program.
//
// Packages cflags and debugflags build Options.CFlags and Options.Debug;
// package headers picks the kernel headers a compile uses (Options.Headers),
// package cache manages the compile cache.
//
// # Example
//
// BCC's "kmalloc callers" script: count kmalloc calls by call site and
// print them with kernel symbol names.
//
//	b, err := bcc.New(bcc.Options{Text: `
//	    BPF_HASH(callers, u64, u64);
//	    TRACEPOINT_PROBE(kmem, kmalloc) {
//	        u64 ip = args->call_site;
//	        callers.increment(ip);
//	        return 0;
//	    }`})
//	if err != nil {
//	    log.Fatal(err) // *bcc.CompileError or *bcc.VerifierError say why
//	}
//	defer b.Close()
//	callers, err := b.Table("callers")
//	if err != nil {
//	    log.Fatal(err)
//	}
//	time.Sleep(time.Second)
//	items, err := callers.Items()
//	if err != nil {
//	    log.Fatal(err)
//	}
//	for _, it := range items {
//	    fmt.Printf("%-40s %d\n", b.Ksym(it.Key.Uint64(), symbols.Options{ShowOffset: true}), it.Value.Uint64())
//	}
package bcc
