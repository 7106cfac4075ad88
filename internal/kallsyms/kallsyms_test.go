package kallsyms

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing"
	"testing/iotest"
)

// recordedPath is a hand-made /proc/kallsyms in the kernel's exact format
// (tab before [module]) with what this machine's kernel lacks: modules,
// names defined twice, data symbols between functions, per-CPU offsets.
const recordedPath = "../../testdata/kallsyms_recorded.txt"

func parseRecorded(t *testing.T) *Table {
	t.Helper()
	f, err := os.Open(recordedPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	table, err := Parse(f)
	if err != nil {
		t.Fatalf("Parse(%s): %v", recordedPath, err)
	}
	return table
}

func TestParseKeepsNonDataSymbols(t *testing.T) {
	table := parseRecorded(t)
	// 24 lines less 4 data (D, r, b, and d in a module), 2 at address 0
	// and, on amd64 only as in BCC, 1 per-CPU offset.
	dropped := []string{"some_data_between_functions", "some_rodata_between_functions", "some_bss", "dummy_data", "fixed_percpu_data", "__per_cpu_start"}
	want := 18
	if runtime.GOARCH == "amd64" {
		dropped = append(dropped, "cpu_tss_rw")
		want = 17
	}
	if got := table.Len(); got != want {
		t.Errorf("Len() = %d, want %d", got, want)
	}
	for _, name := range dropped {
		if addr, ok := table.Address(name); ok {
			t.Errorf("Address(%q) = %#x, want not found: data and per-CPU symbols are dropped", name, addr)
		}
	}
	if addr, ok := table.Address("arch_cpu_idle"); !ok || addr != 0xffffffff81000200 {
		t.Errorf("Address(weak arch_cpu_idle) = %#x, %v; want 0xffffffff81000200", addr, ok)
	}
}

func TestLookup(t *testing.T) {
	table := parseRecorded(t)
	tests := []struct {
		addr uint64
		want Symbol
	}{
		{0xffffffff81000300, Symbol{"schedule", "kernel", 0xffffffff81000300, 0}},
		{0xffffffff81000301, Symbol{"schedule", "kernel", 0xffffffff81000300, 1}},
		{0xffffffff8100037f, Symbol{"schedule", "kernel", 0xffffffff81000300, 0x7f}},
		{0xffffffff81000380, Symbol{"schedule.cold", "kernel", 0xffffffff81000380, 0}},
		// Aliases: the first name listed, as the kernel's own %pS picks.
		{0xffffffff81000000, Symbol{"srso_alias_untrain_ret", "kernel", 0xffffffff81000000, 0}},
		{0xffffffff8100003f, Symbol{"srso_alias_untrain_ret", "kernel", 0xffffffff81000000, 0x3f}},
		// A dropped data symbol does not cut the function before it short.
		{0xffffffff81000215, Symbol{"arch_cpu_idle", "kernel", 0xffffffff81000200, 0x15}},
		{0xffffffff81000250, Symbol{"cleanup", "kernel", 0xffffffff81000240, 0x10}},
		// Past vmlinux text, up to the next symbol, like BCC.
		{0xffffffff90000000, Symbol{"_etext", "kernel", 0xffffffff81000500, 0xefffb00}},
		{0xffffffffc0201010, Symbol{"ftrace_trampoline", "__builtin__ftrace", 0xffffffffc0201000, 0x10}},
		// Module lines come unsorted; aliases keep file order.
		{0xffffffffc0a01005, Symbol{"nft_register_chain", "nf_tables", 0xffffffffc0a01000, 5}},
		{0xffffffffc0a01100, Symbol{"cleanup", "nf_tables", 0xffffffffc0a01100, 0}},
		{0xffffffffc0a02abc, Symbol{"nft_do_chain", "nf_tables", 0xffffffffc0a02000, 0xabc}},
		{0xffffffffc0b000ff, Symbol{"cleanup", "dummy", 0xffffffffc0b00000, 0xff}},
		{0xffffffffc0c00000 + MaxTailSpan, Symbol{"bpf_prog_6deef7357e7b4530_gobcc", "bpf", 0xffffffffc0c00000, MaxTailSpan}},
	}
	for _, tt := range tests {
		got, ok := table.Lookup(tt.addr)
		if !ok || got != tt.want {
			t.Errorf("Lookup(%#x) = %+v, %v; want %+v", tt.addr, got, ok, tt.want)
		}
	}
	notFound := []uint64{0, 0xffffffff80ffffff, 0xffffffffc0c00000 + MaxTailSpan + 1, ^uint64(0)}
	if runtime.GOARCH == "amd64" {
		// Elsewhere BCC keeps per-CPU offsets, so these would resolve.
		notFound = append(notFound, 0x1000, 0x1f000)
	}
	for _, addr := range notFound {
		if got, ok := table.Lookup(addr); ok {
			t.Errorf("Lookup(%#x) = %+v, want not found", addr, got)
		}
	}
}

func TestFormat(t *testing.T) {
	table := parseRecorded(t)
	tests := []struct {
		addr                   uint64
		showModule, showOffset bool
		want                   string
	}{
		{0xffffffff81000310, false, false, "schedule"},
		{0xffffffff81000310, false, true, "schedule+0x10"},
		{0xffffffff81000310, true, false, "schedule [kernel]"},
		{0xffffffff81000310, true, true, "schedule+0x10 [kernel]"},
		{0xffffffff81000300, true, true, "schedule+0x0 [kernel]"},
		{0xffffffffc0a02abc, true, true, "nft_do_chain+0xabc [nf_tables]"},
		{0xffffffffc0201000, true, false, "ftrace_trampoline [__builtin__ftrace]"},
		{0x10, false, false, "[unknown]"},
		{0x10, true, true, "[unknown]"},
		{^uint64(0), true, true, "[unknown]"},
	}
	for _, tt := range tests {
		if got := table.Format(tt.addr, tt.showModule, tt.showOffset); got != tt.want {
			t.Errorf("Format(%#x, %v, %v) = %q, want %q", tt.addr, tt.showModule, tt.showOffset, got, tt.want)
		}
		if got := string(table.AppendFormat([]byte("x:"), tt.addr, tt.showModule, tt.showOffset)); got != "x:"+tt.want {
			t.Errorf("AppendFormat(x:, %#x, %v, %v) = %q, want %q", tt.addr, tt.showModule, tt.showOffset, got, "x:"+tt.want)
		}
	}
}

func TestAddress(t *testing.T) {
	table := parseRecorded(t)
	tests := []struct {
		name string
		want uint64
	}{
		{"schedule", 0xffffffff81000300},
		{"schedule.cold", 0xffffffff81000380},
		{"_text", 0xffffffff81000000},
		{"nft_chain_alias", 0xffffffffc0a01000},
		// Defined three times: the highest address, as BCC's ksymname.
		{"cleanup", 0xffffffffc0b00000},
		{"kernel:cleanup", 0xffffffff81000240},
		{"nf_tables:cleanup", 0xffffffffc0a01100},
		{"dummy:cleanup", 0xffffffffc0b00000},
		{"nf_tables:nft_do_chain", 0xffffffffc0a02000},
		{"bpf:bpf_prog_6deef7357e7b4530_gobcc", 0xffffffffc0c00000},
	}
	for _, tt := range tests {
		if got, ok := table.Address(tt.name); !ok || got != tt.want {
			t.Errorf("Address(%q) = %#x, %v; want %#x", tt.name, got, ok, tt.want)
		}
	}
	for _, name := range []string{"", "no_such_symbol", "dummy:schedule", "kernel:nft_do_chain", ":cleanup", "cleanup:", "sched"} {
		if got, ok := table.Address(name); ok {
			t.Errorf("Address(%q) = %#x, want not found", name, got)
		}
	}
}

func TestParseErrors(t *testing.T) {
	hidden := "0000000000000000 T _stext\n0000000000000000 t foo\t[nf_tables]\n"
	if _, err := Parse(strings.NewReader(hidden)); !errors.Is(err, ErrAddressesHidden) {
		t.Errorf("Parse(all addresses 0) error = %v, want ErrAddressesHidden", err)
	} else if !strings.Contains(err.Error(), "kptr_restrict") {
		t.Errorf("ErrAddressesHidden message %q does not say how to fix it", err)
	}
	for _, input := range []string{"", "\n\n", "ffffffff81000000 D only_data\n"} {
		if _, err := Parse(strings.NewReader(input)); !errors.Is(err, ErrNoSymbols) {
			t.Errorf("Parse(%q) error = %v, want ErrNoSymbols", input, err)
		}
	}
	for _, input := range []string{
		"ffffffff81000000 T\n",
		"ffffffff81000000\n",
		"xyz T foo\n",
		"ffffffff81000000 TT foo\n",
		"1ffffffff81000000 T foo\n",
		"ffffffff81000000 T " + strings.Repeat("x", 300<<10) + "\n",
	} {
		if _, err := Parse(strings.NewReader(input)); !errors.Is(err, ErrMalformed) {
			t.Errorf("Parse(%.40q) error = %v, want ErrMalformed", input, err)
		}
	}
	// No trailing newline, CRLF and runs of spaces are all accepted.
	table, err := Parse(strings.NewReader("ffffffff81000000  T  a\r\nFFFFFFFF81000100 t b\t[m]"))
	if err != nil {
		t.Fatal(err)
	}
	if got := table.Format(0xffffffff81000101, true, true); got != "b+0x1 [m]" {
		t.Errorf("Format in tolerant input = %q, want %q", got, "b+0x1 [m]")
	}
	if got := table.Format(0xffffffff81000001, true, true); got != "a+0x1 [kernel]" {
		t.Errorf("Format in tolerant input = %q, want %q", got, "a+0x1 [kernel]")
	}
}

func TestZeroTable(t *testing.T) {
	var table Table
	if sym, ok := table.Lookup(0xffffffff81000000); ok {
		t.Errorf("zero Table Lookup = %+v, want not found", sym)
	}
	if addr, ok := table.Address("schedule"); ok {
		t.Errorf("zero Table Address = %#x, want not found", addr)
	}
	if got := table.Format(1, true, true); got != "[unknown]" {
		t.Errorf("zero Table Format = %q, want [unknown]", got)
	}
}

// TestConcurrentUse is meant for -race: the lazy name indexes are built
// while other goroutines look up.
func TestConcurrentUse(t *testing.T) {
	table := parseRecorded(t)
	var wg sync.WaitGroup
	errs := make(chan string, 64)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 200 {
				if addr, ok := table.Address("nf_tables:cleanup"); !ok || addr != 0xffffffffc0a01100 {
					errs <- "Address(nf_tables:cleanup) wrong"
					return
				}
				if addr, ok := table.Address("schedule"); !ok || addr != 0xffffffff81000300 {
					errs <- "Address(schedule) wrong"
					return
				}
				if got := table.Format(0xffffffff81000300+uint64(g), false, true); got != "schedule+0x"+string(rune('0'+g)) {
					errs <- "Format wrong: " + got
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

// TestLargeInputAgainstReference parses an input several read chunks long,
// with aliases everywhere (so some straddle coarse index blocks and lines
// straddle chunks), and checks Lookup and Address against a linear search.
func TestLargeInputAgainstReference(t *testing.T) {
	type ref struct {
		addr         uint64
		name, module string
	}
	var input strings.Builder
	var refs []ref // kept symbols, in input order
	addr := uint64(0xffffffff81000000)
	rng := rand.New(rand.NewPCG(7, 11))
	for i := 0; input.Len() < 3*chunkSize; i++ {
		if rng.IntN(4) != 0 { // one in four shares the previous address
			addr += 1 + rng.Uint64N(0x400)
		}
		name := fmt.Sprintf("fn_%d_%s", i, strings.Repeat("x", rng.IntN(40)))
		kind := "tTWD"[rng.IntN(4)]
		module := KernelModule
		suffix := "\n"
		if i > 50000 {
			module = fmt.Sprintf("mod%d", i%3)
			suffix = "\t[" + module + "]\n"
		}
		fmt.Fprintf(&input, "%016x %c %s%s", addr, kind, name, suffix)
		if kind != 'D' {
			refs = append(refs, ref{addr, name, module})
		}
	}
	table, err := Parse(iotest.HalfReader(strings.NewReader(input.String())))
	if err != nil {
		t.Fatal(err)
	}
	if table.Len() != len(refs) {
		t.Fatalf("Len() = %d, want %d", table.Len(), len(refs))
	}
	// The input is sorted, so the reference answer for an address is the
	// first kept symbol of the highest address at or below it.
	expect := func(addr uint64) (Symbol, bool) {
		j := sort.Search(len(refs), func(j int) bool { return refs[j].addr > addr })
		if j == 0 || (j == len(refs) && addr-refs[j-1].addr > MaxTailSpan) {
			return Symbol{}, false
		}
		first := j - 1
		for first > 0 && refs[first-1].addr == refs[j-1].addr {
			first--
		}
		r := refs[first]
		return Symbol{Name: r.name, Module: r.module, Addr: r.addr, Offset: addr - r.addr}, true
	}
	probes := []uint64{0, refs[0].addr - 1, refs[len(refs)-1].addr + MaxTailSpan, refs[len(refs)-1].addr + MaxTailSpan + 1}
	for _, r := range refs {
		probes = append(probes, r.addr, r.addr-1, r.addr+1)
	}
	for _, addr := range probes {
		want, wantOK := expect(addr)
		if got, ok := table.Lookup(addr); got != want || ok != wantOK {
			t.Fatalf("Lookup(%#x) = %+v, %v; want %+v, %v", addr, got, ok, want, wantOK)
		}
	}
	for _, r := range refs {
		if got, ok := table.Address(r.module + ":" + r.name); !ok || got != r.addr {
			t.Fatalf("Address(%s:%s) = %#x, %v; want %#x", r.module, r.name, got, ok, r.addr)
		}
	}
}
