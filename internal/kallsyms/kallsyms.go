// Package kallsyms resolves kernel addresses to symbol names and back, from
// /proc/kallsyms, the way BCC Python's BPF.ksym and BPF.ksymname do.
//
// An address anywhere inside a function resolves to the nearest symbol at or
// below it (so call sites and return addresses from stack traces resolve, not
// only exact function entries), with its offset and module.
//
// Which symbols are kept follows BCC's bcc_procutils_each_ksym: every symbol
// except data symbols (types b, B, d, D, r, R) is kept, so text (t, T), weak
// (w, W) and absolute or other symbols (a, A, ...) take part in lookups.
// Dropping data symbols matters for the result, not only for memory: a data
// symbol between two functions would otherwise end the preceding function
// early and name the tail of its code after a variable. Lines with address 0
// and, on amd64, addresses below the kernel half of the address space (per-CPU
// offsets) are dropped as BCC does. Symbols of vmlinux get the module name
// "kernel", as in BCC's "[kernel]" output.
//
// A Table is immutable after Load or Parse and safe for concurrent use.
package kallsyms

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"iter"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// Path is where the kernel publishes its symbol table.
const Path = "/proc/kallsyms"

// KernelModule is the module name given to symbols of vmlinux itself, which
// /proc/kallsyms lists without a [module] column. It is BCC's name for them.
const KernelModule = "kernel"

// MaxTailSpan bounds how far past the highest symbol an address still
// resolves to it. /proc/kallsyms gives no sizes, so every other symbol ends
// where the next one starts, but the last one would otherwise swallow the
// whole rest of the address space. 1 MiB is longer than any kernel function,
// trampoline or JITed BPF program in practice. BCC has no such bound.
const MaxTailSpan = 1 << 20

// unknownName is BCC's text for an address no symbol covers.
const unknownName = "[unknown]"

// ErrAddressesHidden is returned when /proc/kallsyms lists symbols but every
// address reads 0: the kernel hides them from this process.
var ErrAddressesHidden = errors.New("kernel symbol addresses are hidden " +
	"(every address in /proc/kallsyms reads 0): run as root (CAP_SYSLOG) and " +
	"allow it with `sysctl kernel.kptr_restrict=0` (2 hides them even from root)")

// ErrNoSymbols is returned when the input holds no usable kernel symbol.
var ErrNoSymbols = errors.New("no kernel symbols found")

// ErrMalformed is returned for a line that is not "address type name [module]".
var ErrMalformed = errors.New("malformed kallsyms line")

// minKernelAddress is BCC's kernelAddrSpace: on x86-64 kallsyms also lists
// per-CPU variables as small offsets, which are not addresses at all.
var minKernelAddress = func() uint64 {
	if runtime.GOARCH == "amd64" {
		return 0x00ffffffffffffff
	}
	return 0
}()

// Symbol is a kernel symbol, as found for an address.
type Symbol struct {
	// Name is the symbol name, e.g. "schedule".
	Name string
	// Module is the kernel module holding the symbol, or KernelModule for
	// vmlinux itself.
	Module string
	// Addr is the symbol's start address.
	Addr uint64
	// Offset is how far the looked-up address lies past Addr.
	Offset uint64
}

// entry is one kept symbol while parsing: nameOff first points into the
// raw input chunk, then into the Table's name arena.
type entry struct {
	addr uint64
	meta
}

// meta is what a Table keeps per symbol beside its address, packed small
// because a kernel has 100k+ symbols: the name lives in the name arena.
type meta struct {
	nameOff uint32
	nameLen uint16
	module  uint16
}

// indexStride is how many addresses one coarse index slot covers. The coarse
// index (16 KiB for a kernel) stays in cache, so a lookup touches only a few
// cache lines of the 1 MiB address array instead of ~17 scattered ones.
const indexStride = 32

// Table is a kernel symbol table sorted by address. The zero value is an
// empty table in which nothing is found.
type Table struct {
	addrs   []uint64 // sorted; aliases in input order
	metas   []meta   // parallel to addrs
	index   []uint64 // addrs[i*indexStride]
	names   string   // arena: every kept name, back to back
	modules []string // module names indexed by meta.module

	byNameOnce sync.Once
	byName     map[string]uint32 // name -> index of the symbol Address returns

	byModuleNameOnce sync.Once
	byModuleName     map[moduleName]uint32
}

type moduleName struct{ module, name string }

// Load reads and parses /proc/kallsyms.
func Load() (*Table, error) {
	f, err := os.Open(Path)
	if err != nil {
		return nil, fmt.Errorf("kallsyms: %w", err)
	}
	defer f.Close()
	t, err := Parse(f)
	if err != nil {
		return nil, fmt.Errorf("kallsyms: %s: %w", Path, err)
	}
	return t, nil
}

// chunkSize is the unit in which input is read and kept until parsed. Big
// reads matter: each read of /proc/kallsyms is a syscall in which the kernel
// formats at most what was asked for. Reading into fixed chunks instead of
// one growing buffer means bytes are not copied again as it grows.
const chunkSize = 1 << 20

// maxLineLen bounds a line; the kernel's own limit (KSYM_NAME_LEN) is 512.
const maxLineLen = 64 << 10

// Parse reads a table in /proc/kallsyms format:
//
//	ffffffff81000000 T _text
//	ffffffffc0a01000 t nft_do_chain	[nf_tables]
func Parse(r io.Reader) (*Table, error) {
	p := parser{modules: map[string]uint16{KernelModule: 0}, moduleNames: []string{KernelModule}}
	var carry []byte // a line cut by the end of the previous chunk
	for {
		buf := make([]byte, chunkSize)
		n := copy(buf, carry)
		read, err := io.ReadFull(r, buf[n:])
		n += read
		eof := err == io.EOF || err == io.ErrUnexpectedEOF
		if err != nil && !eof {
			return nil, fmt.Errorf("reading: %w", err)
		}
		complete := n
		if !eof {
			complete = bytes.LastIndexByte(buf[:n], '\n') + 1
			if n-complete > maxLineLen || complete == 0 {
				return nil, fmt.Errorf("line %d: %w: longer than %d bytes", p.lineNo+1, ErrMalformed, maxLineLen)
			}
		}
		if err := p.chunk(buf[:complete]); err != nil {
			return nil, err
		}
		if eof {
			break
		}
		carry = buf[complete:n]
	}
	return p.finish()
}

type parser struct {
	chunks      [][]byte
	entries     [][]entry // per chunk, nameOff relative to that chunk
	kept        int
	nameBytes   int
	modules     map[string]uint16
	moduleNames []string
	lineNo      int
	lines       int // non-blank
	zeroLines   int
}

func (p *parser) chunk(text []byte) error {
	// Sized once per chunk, so the entries are never copied by growth.
	entries := make([]entry, 0, bytes.Count(text, []byte{'\n'})+1)
	for lineStart := 0; lineStart < len(text); {
		lineEnd := len(text)
		if nl := bytes.IndexByte(text[lineStart:], '\n'); nl >= 0 {
			lineEnd = lineStart + nl + 1
		}
		p.lineNo++
		e, keep, err := p.line(text[lineStart:lineEnd])
		if err != nil {
			return fmt.Errorf("line %d: %w", p.lineNo, err)
		}
		if keep {
			e.nameOff += uint32(lineStart)
			entries = append(entries, e)
		}
		lineStart = lineEnd
	}
	p.kept += len(entries)
	p.chunks = append(p.chunks, text)
	p.entries = append(p.entries, entries)
	return nil
}

// line parses "address type name [module]"; the entry's nameOff is
// relative to line.
func (p *parser) line(line []byte) (entry, bool, error) {
	addrText, rest := field(line)
	if len(addrText) == 0 {
		return entry{}, false, nil // blank line
	}
	p.lines++
	typeText, rest := field(rest)
	name, rest := field(rest)
	if len(typeText) != 1 || len(name) == 0 {
		return entry{}, false, fmt.Errorf("%w: %q", ErrMalformed, line)
	}
	addr, ok := parseHex(addrText)
	if !ok {
		return entry{}, false, fmt.Errorf("%w: bad address in %q", ErrMalformed, line)
	}
	if addr == 0 {
		p.zeroLines++
		return entry{}, false, nil
	}
	if addr == ^uint64(0) || addr < minKernelAddress {
		return entry{}, false, nil
	}
	switch typeText[0] {
	case 'b', 'B', 'd', 'D', 'r', 'R':
		return entry{}, false, nil
	}
	if len(name) > 0xffff {
		return entry{}, false, fmt.Errorf("%w: symbol name of %d bytes", ErrMalformed, len(name))
	}
	module := uint16(0)
	if modText, _ := field(rest); len(modText) >= 2 && modText[0] == '[' && modText[len(modText)-1] == ']' {
		var err error
		if module, err = p.module(modText[1 : len(modText)-1]); err != nil {
			return entry{}, false, err
		}
	}
	p.nameBytes += len(name)
	if p.nameBytes > 0xffffffff {
		return entry{}, false, fmt.Errorf("%w: symbol names exceed 4 GiB", ErrMalformed)
	}
	nameOff := len(line) - len(rest) - len(name)
	return entry{addr: addr, meta: meta{nameOff: uint32(nameOff), nameLen: uint16(len(name)), module: module}}, true, nil
}

func (p *parser) module(name []byte) (uint16, error) {
	// The map lookup with string(name) does not allocate.
	if index, ok := p.modules[string(name)]; ok {
		return index, nil
	}
	if len(p.moduleNames) > 0xffff {
		return 0, fmt.Errorf("%w: more than %d modules", ErrMalformed, 0xffff)
	}
	index := uint16(len(p.moduleNames))
	p.moduleNames = append(p.moduleNames, string(name))
	p.modules[string(name)] = index
	return index, nil
}

func (p *parser) finish() (*Table, error) {
	if p.kept == 0 {
		if p.lines > 0 && p.zeroLines == p.lines {
			return nil, ErrAddressesHidden
		}
		return nil, ErrNoSymbols
	}
	// Gather the names, exactly sized, into one string: the input chunks
	// (mostly addresses, types and dropped lines) can then be freed.
	var arena strings.Builder
	arena.Grow(p.nameBytes)
	all := make([]entry, 0, p.kept)
	for i, entries := range p.entries {
		chunk := p.chunks[i]
		for _, e := range entries {
			name := chunk[e.nameOff : e.nameOff+uint32(e.nameLen)]
			e.nameOff = uint32(arena.Len())
			arena.Write(name)
			all = append(all, e)
		}
	}
	// Arena offsets grow in input order, so sorting by (addr, nameOff) is a
	// stable sort by address: aliases keep the kernel's order, in which the
	// preferred name (non-weak, fewest leading underscores) comes first.
	// vmlinux comes already sorted, which the sort detects cheaply.
	slices.SortFunc(all, func(a, b entry) int {
		if c := cmp.Compare(a.addr, b.addr); c != 0 {
			return c
		}
		return cmp.Compare(a.nameOff, b.nameOff)
	})
	t := &Table{
		addrs:   make([]uint64, len(all)),
		metas:   make([]meta, len(all)),
		index:   make([]uint64, 0, (len(all)+indexStride-1)/indexStride),
		names:   arena.String(),
		modules: p.moduleNames,
	}
	for i, e := range all {
		t.addrs[i] = e.addr
		t.metas[i] = e.meta
		if i%indexStride == 0 {
			t.index = append(t.index, e.addr)
		}
	}
	return t, nil
}

// field splits off the first whitespace-separated field of line.
func field(line []byte) (word, rest []byte) {
	start := 0
	for start < len(line) && isSpace(line[start]) {
		start++
	}
	end := start
	for end < len(line) && !isSpace(line[end]) {
		end++
	}
	return line[start:end], line[end:]
}

// isSpace treats every control character as a separator: one comparison
// per byte, and kernel symbol names are printable.
func isSpace(c byte) bool { return c <= ' ' }

func parseHex(text []byte) (uint64, bool) {
	if len(text) == 0 || len(text) > 16 {
		return 0, false
	}
	var v uint64
	for _, c := range text {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c -= 'a' - 10
		case 'A' <= c && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		v = v<<4 | uint64(c)
	}
	return v, true
}

// Len reports how many symbols the table holds.
func (t *Table) Len() int { return len(t.addrs) }

// All iterates over the symbols in address order (aliases in the order
// /proc/kallsyms lists them), with Offset 0.
func (t *Table) All() iter.Seq[Symbol] {
	return func(yield func(Symbol) bool) {
		for i, a := range t.addrs {
			if !yield(Symbol{Name: t.name(i), Module: t.module(i), Addr: a}) {
				return
			}
		}
	}
}

func (t *Table) name(i int) string {
	m := t.metas[i]
	return t.names[m.nameOff : m.nameOff+uint32(m.nameLen)]
}

func (t *Table) module(i int) string { return t.modules[t.metas[i].module] }

// Lookup finds the symbol covering addr: the one with the highest address at
// or below addr. Where several names share that address it returns the one
// /proc/kallsyms lists first, which is the one the kernel itself prints in
// stack traces. An address below the lowest symbol, or more than MaxTailSpan
// past the highest one, is not found.
func (t *Table) Lookup(addr uint64) (Symbol, bool) {
	// Hand-rolled upper bounds: sort.Search's closure call would double
	// the cost. First the block in the coarse index, then within it.
	lo, hi := 0, len(t.index)
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if t.index[mid] <= addr {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	if lo == 0 {
		return Symbol{}, false
	}
	lo, hi = (lo-1)*indexStride+1, min(lo*indexStride, len(t.addrs))
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if t.addrs[mid] <= addr {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	i := lo - 1
	if lo == len(t.addrs) && addr-t.addrs[i] > MaxTailSpan {
		return Symbol{}, false
	}
	for i > 0 && t.addrs[i-1] == t.addrs[i] {
		i--
	}
	return Symbol{Name: t.name(i), Module: t.module(i), Addr: t.addrs[i], Offset: addr - t.addrs[i]}, true
}

// Format renders addr as BCC's BPF.ksym(addr, show_module, show_offset)
// does: "name", "name+0x1a", "name [module]" or "name+0x1a [module]", and
// "[unknown]" (never with offset or module) when no symbol covers addr.
// Symbols of vmlinux show as "[kernel]".
func (t *Table) Format(addr uint64, showModule, showOffset bool) string {
	var buf [128]byte
	return string(t.AppendFormat(buf[:0], addr, showModule, showOffset))
}

// AppendFormat appends Format's text to dst, for callers that format many
// addresses and want to avoid allocating a string for each.
func (t *Table) AppendFormat(dst []byte, addr uint64, showModule, showOffset bool) []byte {
	sym, ok := t.Lookup(addr)
	if !ok {
		return append(dst, unknownName...)
	}
	dst = append(dst, sym.Name...)
	if showOffset {
		dst = append(dst, "+0x"...)
		dst = strconv.AppendUint(dst, sym.Offset, 16)
	}
	if showModule {
		module := sym.Module
		// BCC prints os.path.basename(module).
		if slash := strings.LastIndexByte(module, '/'); slash >= 0 {
			module = module[slash+1:]
		}
		dst = append(dst, " ["...)
		dst = append(dst, module...)
		dst = append(dst, ']')
	}
	return dst
}

// Address returns the address of the named symbol, as BCC's
// BPF.ksymname(name) does (which returns -1 where this returns false).
//
// A name defined more than once (static functions of the same name in
// different files or modules) gives the highest address, as in BCC. To pick
// one, qualify the name with its module the way the kernel's own
// kallsyms_lookup_name and kprobe_events do: "nf_tables:nft_do_chain", or
// "kernel:name" for vmlinux. An exact name is tried before the qualified
// reading, so a name that itself contains ':' still resolves.
func (t *Table) Address(name string) (uint64, bool) {
	t.byNameOnce.Do(t.buildByName)
	if i, ok := t.byName[name]; ok {
		return t.addrs[i], true
	}
	module, symbol, qualified := strings.Cut(name, ":")
	if !qualified {
		return 0, false
	}
	t.byModuleNameOnce.Do(t.buildByModuleName)
	if i, ok := t.byModuleName[moduleName{module, symbol}]; ok {
		return t.addrs[i], true
	}
	return 0, false
}

// buildByName indexes names on first use: a tracer that only symbolizes
// stacks never pays for it. Entries are sorted by address, so the last
// write for a name is its highest address, which is BCC's answer.
func (t *Table) buildByName() {
	t.byName = make(map[string]uint32, len(t.addrs))
	for i := range t.addrs {
		t.byName[t.name(i)] = uint32(i)
	}
}

func (t *Table) buildByModuleName() {
	t.byModuleName = make(map[moduleName]uint32, len(t.addrs))
	for i := range t.addrs {
		t.byModuleName[moduleName{t.module(i), t.name(i)}] = uint32(i)
	}
}
