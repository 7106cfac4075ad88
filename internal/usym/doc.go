// Package usym resolves user-space addresses to symbols and symbols to
// addresses, in pure Go, the way libbcc's bcc_symcache (bcc_syms.cc,
// bcc_elf.c, bcc_proc.c, bcc_perf_map.c) does for BCC Python's BPF.sym,
// so a tracing process never needs libbcc loaded to name its stacks.
//
// A Resolver owns every cache: per-process module maps read from
// /proc/PID/maps, and ELF symbol tables shared between processes that map
// the same file (keyed by device and inode). Files are opened through
// /proc/PID/root, so processes in other mount namespaces and chroots
// resolve. Symbols come from .symtab and .dynsym of the mapped file and of
// its separate debug file, found as gdb and libbcc find it: first
// /usr/lib/debug/.build-id/xx/yyyy.debug, then the .gnu_debuglink name
// next to the binary, in its .debug directory and under /usr/lib/debug,
// with the link's CRC checked. Addresses no mapped file names fall back
// to /tmp/perf-PID.map, the file JIT compilers write. C++ (and Rust) names
// are demangled with github.com/ianlancetaylor/demangle.
//
// The reverse direction serves uprobes: ResolveSymbol turns a symbol of a
// binary or library into the file offset a uprobe attaches at (libbcc's
// bcc_resolve_symname), FunctionSymbols lists function symbols matching a
// regexp (bcc_foreach_function_symbol), and WhichSO finds a library by
// short name ("c" -> /lib/x86_64-linux-gnu/libc.so.6) from a process's
// maps or /etc/ld.so.cache (bcc_procutils_which_so); FindBinary adds
// executables on $PATH. With a pid, the Resolver's ResolveSymbol,
// ResolveAddress and FunctionSymbols name the file through /proc/PID/root,
// as libbcc does. ResolveIFUNC, the one use of cgo here, asks this
// process's dynamic linker which implementation an IFUNC resolves to.
//
// Like libbcc, only function symbols (STT_FUNC and STT_GNU_IFUNC) name
// addresses, and an address inside nested symbols resolves to the
// innermost one that covers it.
package usym
