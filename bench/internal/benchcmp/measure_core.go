package benchcmp

import (
	"bufio"
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gobcc/gobcc/bcc"
)

// The core measurements of issue 2: compile+load, the whole seed run, table
// reads and clears, kernel symbols, and the tracing process's memory.

const (
	seedFile  = "testdata/kmalloc_callers.c"
	largeFile = "testdata/bench_large.c"
)

func init() {
	for _, prog := range []struct{ key, file, what string }{
		{"seed", seedFile, "the seed program (1 tracepoint, 1 hash)"},
		{"large", largeFile, "a 114-line program (6 tracepoints, 8 tables)"},
	} {
		for _, mode := range []string{"helper", "inprocess", "warm"} {
			note := "bcc.New vs BPF(text=...) in a fresh process: compile, create tables, load and attach. " +
				"BCC Python loads libbcc and LLVM (~0.1 s) at `import bcc`, before its timer starts; a cold gobcc New loads them inside New " +
				"(in the helper, every time), so the gobcc number includes that cost. The seed-run rows compare whole processes."
			if mode == "warm" {
				note = "bcc.New with the program in the compile cache (one untimed New before the samples fills it) vs BPF(text=...), " +
					"which compiles every time: gobcc creates the tables and loads the functions through bpf(2), with no helper and no libbcc."
			}
			Register(Measurement{
				Name:   "new/" + prog.key + "/" + mode,
				Group:  "compile",
				Title:  fmt.Sprintf("New of %s, %s", prog.what, modeTitle(mode)),
				Unit:   Seconds,
				Gobcc:  measureNew,
				Python: "compile_load.py",
				Args:   map[string]string{"src": prog.file, "mode": mode},
				Warmup: mode == "warm",
				Note:   note,
			})
		}
	}
	for _, mode := range []string{"helper", "inprocess", "warm"} {
		Register(Measurement{
			Name:     "seed-run/" + mode,
			Warmup:   mode == "warm",
			Group:    "process",
			Title:    "Whole seed run as a process, " + modeTitle(mode),
			Unit:     Seconds,
			Gobcc:    measureSeedRun,
			Python:   "seed_run.py",
			Args:     map[string]string{"mode": mode},
			WallTime: true,
			Note:     "Wall time from exec to exit: start, compile, attach, print the callers table once with ksym names, exit.",
		})
	}
	for _, mode := range []string{"helper", "inprocess", "warm"} {
		for _, which := range []string{"peak", "steady"} {
			Register(Measurement{
				Name:      "rss/" + which + "/" + mode,
				Warmup:    mode == "warm",
				Group:     "memory",
				Title:     fmt.Sprintf("RSS of the tracing process, %s (%s), %s", which, map[string]string{"peak": "VmHWM", "steady": "VmRSS"}[which], modeTitle(mode)),
				Unit:      Megabytes,
				Gobcc:     measureRSS,
				Python:    "rss.py",
				Args:      map[string]string{"mode": mode, "which": which, "settle_ms": "1000"},
				QuickArgs: map[string]string{"settle_ms": "0"},
				Note:      "The seed program: New, 1 s of tracing, one Items; then /proc/self/status of the tracing process (the helper's memory is gone with it).",
			})
		}
	}
	for _, size := range []struct{ key, n string }{{"100k", "100000"}, {"1m", "1000000"}} {
		for _, mode := range []struct{ key, title string }{{"items", "items()"}, {"batch", "items_lookup_batch()"}} {
			Register(Measurement{
				Name:      "items/" + size.key + "/" + mode.key,
				Group:     "tables",
				Title:     fmt.Sprintf("Items on a hash of %s u64→u64 vs %s", size.key, mode.title),
				Unit:      Seconds,
				Gobcc:     measureItems,
				Python:    "items.py",
				Args:      map[string]string{"n": size.n, "mode": mode.key},
				QuickArgs: map[string]string{"n": "1000"},
				Note:      "The table is filled from user space first (untimed); then one full read. gobcc's Values decode lazily, BCC's items() builds ctypes objects.",
			})
		}
	}
	Register(Measurement{
		Name:      "clear/100k",
		Group:     "tables",
		Title:     "Clear on a hash of 100k u64→u64 vs clear()",
		Unit:      Seconds,
		Gobcc:     measureClear,
		Python:    "clear.py",
		Args:      map[string]string{"n": "100000"},
		QuickArgs: map[string]string{"n": "1000"},
		Note:      "Filled from user space first (untimed).",
	})
	Register(Measurement{
		Name:      "ksym",
		Group:     "symbols",
		Title:     "Ksym lookups/s (addresses inside kernel functions)",
		Unit:      PerSecond,
		Gobcc:     measureKsym,
		Python:    "ksym.py",
		Args:      map[string]string{"n": "200000"},
		QuickArgs: map[string]string{"n": "2000"},
		Note:      "b.Ksym vs BPF.ksym on text-symbol addresses +1 from /proc/kallsyms, the same sequence on both sides; the first lookup (loading kallsyms) is not timed.",
	})
	Register(Measurement{
		Name:      "ksymname",
		Group:     "symbols",
		Title:     "KsymName lookups/s",
		Unit:      PerSecond,
		Gobcc:     measureKsymName,
		Python:    "ksymname.py",
		Args:      map[string]string{"n": "100000", "python_n": "20"},
		QuickArgs: map[string]string{"n": "1000", "python_n": "2"},
		Note:      "b.KsymName vs BPF.ksymname on text-symbol names from /proc/kallsyms; BCC takes ~0.1 s per name, so it does only python_n of them.",
	})
}

func modeTitle(mode string) string {
	switch mode {
	case "inprocess":
		return "gobcc in-process, cold"
	case "warm":
		return "gobcc from the compile cache"
	}
	return "gobcc with its compile helper, cold"
}

// newOptions reads the program named by the src argument and sets the
// compile mode from the mode argument (helper or inprocess).
func newOptions(p Params, defaultSrc string) (bcc.Options, error) {
	src := p.String("src", defaultSrc)
	text, err := os.ReadFile(src)
	if err != nil {
		return bcc.Options{}, err
	}
	opts := bcc.Options{Text: string(text), Name: src}
	switch mode := p.String("mode", "helper"); mode {
	case "helper":
		opts.NoCache = true
	case "inprocess":
		opts.InProcess, opts.NoCache = true, true
	case "warm":
	default:
		return bcc.Options{}, fmt.Errorf("mode=%q: want helper, inprocess or warm", mode)
	}
	return opts, nil
}

func measureNew(p Params) (float64, error) {
	opts, err := newOptions(p, seedFile)
	if err != nil {
		return 0, err
	}
	start := time.Now()
	b, err := bcc.New(opts)
	elapsed := time.Since(start)
	if err != nil {
		return 0, err
	}
	return elapsed.Seconds(), b.Close()
}

// measureSeedRun is the seed article's script run once: the runner times
// the whole process.
func measureSeedRun(p Params) (float64, error) {
	opts, err := newOptions(p, seedFile)
	if err != nil {
		return 0, err
	}
	b, err := bcc.New(opts)
	if err != nil {
		return 0, err
	}
	defer b.Close()
	callers, err := b.Table("callers")
	if err != nil {
		return 0, err
	}
	items, err := callers.Items()
	if err != nil {
		return 0, err
	}
	// sorted(b["callers"].items()), as the article prints them.
	slices.SortFunc(items, func(x, y bcc.Item) int {
		return cmp.Compare(x.Key.Uint64(), y.Key.Uint64())
	})
	w := bufio.NewWriter(os.Stdout)
	for _, it := range items {
		fmt.Fprintf(w, "%s %d\n", b.Ksym(it.Key.Uint64()), it.Value.Uint64())
	}
	fmt.Fprintln(w)
	if err := w.Flush(); err != nil {
		return 0, err
	}
	return 0, b.Close()
}

func measureRSS(p Params) (float64, error) {
	opts, err := newOptions(p, seedFile)
	if err != nil {
		return 0, err
	}
	settle, err := p.Int("settle_ms", 1000)
	if err != nil {
		return 0, err
	}
	field := map[string]string{"peak": "VmHWM", "steady": "VmRSS"}[p.String("which", "peak")]
	if field == "" {
		return 0, fmt.Errorf("which=%q: want peak or steady", p.String("which", ""))
	}
	b, err := bcc.New(opts)
	if err != nil {
		return 0, err
	}
	defer b.Close()
	time.Sleep(time.Duration(settle) * time.Millisecond)
	callers, err := b.Table("callers")
	if err != nil {
		return 0, err
	}
	if _, err := callers.Items(); err != nil {
		return 0, err
	}
	kb, err := StatusKB(field)
	if err != nil {
		return 0, err
	}
	return float64(kb) / 1024, nil
}

// StatusKB reads a "Vm...: N kB" line of /proc/self/status: the memory
// rows of every probe read it.
func StatusKB(field string) (int, error) {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(data), "\n") {
		rest, ok := strings.CutPrefix(line, field+":")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) != 2 || f[1] != "kB" {
			break
		}
		return strconv.Atoi(f[0])
	}
	return 0, fmt.Errorf("/proc/self/status: no %s line", field)
}

// hashProgram declares the table the table benchmarks fill: a hash of n
// u64 -> u64 entries, as scripts/bench/benchlib.py's HASH_PROGRAM.
func hashProgram(n int) string {
	return fmt.Sprintf("BPF_HASH(big, u64, u64, %d);\n", n)
}

// newFilledHash compiles hashProgram(n) and fills it with keys 1..n, value
// 2*key, from user space with batch updates.
func newFilledHash(n int) (*bcc.BPF, *bcc.Table, error) {
	b, err := bcc.New(bcc.Options{Text: hashProgram(n), Name: "big.c"})
	if err != nil {
		return nil, nil, err
	}
	t, err := b.Table("big")
	if err == nil {
		err = FillHashU64(t.FD(), n)
	}
	if err != nil {
		b.Close()
		return nil, nil, err
	}
	return b, t, nil
}

// FillHashU64 stores keys 1..n with value 2*key in a u64 -> u64 map, in
// batches of up to 64k entries.
func FillHashU64(fd, n int) error {
	const chunk = 65536
	keys := make([]byte, 0, 8*chunk)
	values := make([]byte, 0, 8*chunk)
	for first := 1; first <= n; first += chunk {
		keys, values = keys[:0], values[:0]
		count := min(chunk, n-first+1)
		for k := first; k < first+count; k++ {
			keys = binary.NativeEndian.AppendUint64(keys, uint64(k))
			values = binary.NativeEndian.AppendUint64(values, uint64(2*k))
		}
		done, err := mapUpdateBatch(fd, keys, values, uint32(count))
		if err != nil {
			return fmt.Errorf("fill: %d of %d stored: %w", first-1+int(done), n, err)
		}
	}
	return nil
}

func measureItems(p Params) (float64, error) {
	n, err := p.Int("n", 100000)
	if err != nil {
		return 0, err
	}
	b, t, err := newFilledHash(n)
	if err != nil {
		return 0, err
	}
	defer b.Close()
	start := time.Now()
	items, err := t.Items()
	elapsed := time.Since(start)
	if err != nil {
		return 0, err
	}
	if len(items) != n {
		return 0, fmt.Errorf("Items returned %d entries, want %d", len(items), n)
	}
	return elapsed.Seconds(), b.Close()
}

func measureClear(p Params) (float64, error) {
	n, err := p.Int("n", 100000)
	if err != nil {
		return 0, err
	}
	b, t, err := newFilledHash(n)
	if err != nil {
		return 0, err
	}
	defer b.Close()
	start := time.Now()
	err = t.Clear()
	elapsed := time.Since(start)
	if err != nil {
		return 0, err
	}
	left, err := t.Len()
	if err != nil {
		return 0, fmt.Errorf("after Clear: %w", err)
	}
	if left != 0 {
		return 0, fmt.Errorf("after Clear: %d entries left", left)
	}
	return elapsed.Seconds(), b.Close()
}

// TextSymbol is a function symbol of /proc/kallsyms.
type TextSymbol struct {
	Addr uint64
	Name string
}

// ErrNoSymbols means /proc/kallsyms lists no function addresses (they are
// hidden from this process, or the file is empty).
var ErrNoSymbols = errors.New("/proc/kallsyms lists no function addresses")

// TextSymbols lists the function symbols (types t and T) of /proc/kallsyms
// with non-zero addresses, except BPF programs, in file order, as
// scripts/bench/benchlib.py's text_symbols does.
func TextSymbols() ([]TextSymbol, error) { return readTextSymbols() }

// SymbolSample picks n symbols spread over syms: index i*7919 mod len, the
// same sequence benchlib.py's symbol_sample picks.
func SymbolSample(syms []TextSymbol, n int) []TextSymbol {
	out := make([]TextSymbol, n)
	for i := range out {
		out[i] = syms[(i*7919)%len(syms)]
	}
	return out
}

// newSymbolsBPF returns a BPF object for the symbol lookups, which are its
// methods as in BCC; it needs no program.
func newSymbolsBPF() (*bcc.BPF, error) {
	return bcc.New(bcc.Options{Text: "BPF_ARRAY(unused, u64, 1);\n", Name: "symbols.c"})
}

// symbolSample prepares a symbol lookup row: n kernel function symbols
// (parameter "n", default defaultN) and a BPF object to look them up with,
// which the caller closes.
func symbolSample(p Params, defaultN int) ([]TextSymbol, *bcc.BPF, error) {
	n, err := p.Int("n", defaultN)
	if err != nil {
		return nil, nil, err
	}
	syms, err := TextSymbols()
	if err != nil {
		return nil, nil, err
	}
	b, err := newSymbolsBPF()
	if err != nil {
		return nil, nil, err
	}
	return SymbolSample(syms, n), b, nil
}

func measureKsym(p Params) (float64, error) {
	sample, b, err := symbolSample(p, 200000)
	if err != nil {
		return 0, err
	}
	defer b.Close()
	n := len(sample)
	// The first lookup loads kallsyms, in both front ends: not timed.
	if name := b.Ksym(sample[0].Addr + 1); name == "[unknown]" {
		return 0, fmt.Errorf("Ksym(%#x) is unknown", sample[0].Addr+1)
	}
	unknown := 0
	start := time.Now()
	for _, s := range sample {
		if b.Ksym(s.Addr+1) == "[unknown]" {
			unknown++
		}
	}
	elapsed := time.Since(start)
	if unknown > 0 {
		return 0, fmt.Errorf("%d of %d addresses unknown", unknown, n)
	}
	return float64(n) / elapsed.Seconds(), b.Close()
}

func measureKsymName(p Params) (float64, error) {
	sample, b, err := symbolSample(p, 100000)
	if err != nil {
		return 0, err
	}
	defer b.Close()
	n := len(sample)
	if _, err := b.KsymName(sample[0].Name); err != nil {
		return 0, err
	}
	start := time.Now()
	for _, s := range sample {
		if _, err := b.KsymName(s.Name); err != nil {
			return 0, err
		}
	}
	elapsed := time.Since(start)
	return float64(n) / elapsed.Seconds(), b.Close()
}
