package kallsyms

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"

	"github.com/gobcc/gobcc/internal/testutil"
)

// helperEnv makes the test binary, re-run as another user, load
// /proc/kallsyms and report the outcome instead of running tests.
const helperEnv = "GOBCC_KALLSYMS_HELPER"

func TestMain(m *testing.M) {
	if os.Getenv(helperEnv) == "load" {
		table, err := Load()
		switch {
		case errors.Is(err, ErrAddressesHidden):
			fmt.Println("hidden")
		case err != nil:
			fmt.Println("error:", err)
		default:
			fmt.Println("loaded", table.Len())
		}
		os.Exit(0)
	}
	os.Exit(testutil.RunWithLeakCheck(m))
}

// loadReal loads this machine's /proc/kallsyms, which needs root to show
// addresses.
func loadReal(tb testing.TB) *Table {
	tb.Helper()
	testutil.RequireRoot(tb)
	table, err := Load()
	if errors.Is(err, ErrAddressesHidden) {
		testutil.RequireKernel(tb, "%v", err)
	}
	if err != nil {
		tb.Fatalf("Load: %v", err)
	}
	return table
}

// symbols lists every symbol of table in address order.
func symbols(table *Table) []Symbol {
	all := make([]Symbol, table.Len())
	for i := range all {
		all[i] = Symbol{Name: table.name(i), Module: table.module(i), Addr: table.addrs[i]}
	}
	return all
}

// nextAddr returns the first symbol address above addr, where a function
// at addr must end at the latest.
func nextAddr(tb testing.TB, table *Table, addr uint64) uint64 {
	tb.Helper()
	for _, next := range table.addrs {
		if next > addr {
			return next
		}
	}
	tb.Fatalf("no symbol above %#x", addr)
	return 0
}

// firstDefined returns the first of names the running kernel defines:
// allocator entry points were renamed (__kmalloc -> __kmalloc_noprof).
func firstDefined(table *Table, names ...string) (string, uint64, bool) {
	for _, name := range names {
		if addr, ok := table.Address(name); ok {
			return name, addr, true
		}
	}
	return "", 0, false
}

func TestRealKernelAddressesInsideFunctions(t *testing.T) {
	table := loadReal(t)
	if table.Len() < 10000 {
		t.Errorf("Load kept %d symbols, a kernel has far more", table.Len())
	}
	for _, candidates := range [][]string{
		{"schedule"},
		{"__kmalloc_noprof", "__kmalloc"},
		{"kmem_cache_alloc_noprof", "kmem_cache_alloc"},
		{"vfs_read"},
	} {
		name, start, ok := firstDefined(table, candidates...)
		if !ok {
			t.Errorf("none of %v in /proc/kallsyms", candidates)
			continue
		}
		end := nextAddr(t, table, start)
		for _, addr := range []uint64{start, start + 1, start + (end-start)/2, end - 1} {
			want := Symbol{Name: name, Module: KernelModule, Addr: start, Offset: addr - start}
			if got, ok := table.Lookup(addr); !ok || got != want {
				t.Errorf("Lookup(%#x) = %+v, %v; want %+v", addr, got, ok, want)
			}
		}
		if got, _ := table.Lookup(end); got.Name == name {
			t.Errorf("Lookup(%#x), the next symbol's address, still gives %q", end, name)
		}
	}
	first := table.addrs[0]
	if got, ok := table.Lookup(first - 1); ok {
		t.Errorf("Lookup(first symbol - 1 = %#x) = %+v, want not found", first-1, got)
	}
	if got, ok := table.Lookup(0x400000); ok {
		t.Errorf("Lookup(user address 0x400000) = %+v, want not found", got)
	}
}

func TestRealKernelRoundTrip(t *testing.T) {
	table := loadReal(t)
	all := symbols(table)
	count := map[string]int{}
	for _, sym := range all {
		count[sym.Name]++
	}
	for i, sym := range all {
		name := sym.Name
		addr, ok := table.Address(name)
		if !ok {
			t.Fatalf("Address(%q) not found, but it is in the table", name)
		}
		if count[name] == 1 && addr != sym.Addr {
			t.Fatalf("Address(%q) = %#x, want %#x", name, addr, sym.Addr)
		}
		qualified := sym.Module + ":" + name
		if got, ok := table.Address(qualified); !ok || (count[name] == 1 && got != sym.Addr) {
			t.Fatalf("Address(%q) = %#x, %v; want %#x", qualified, got, ok, sym.Addr)
		}
		found, ok := table.Lookup(addr)
		if !ok || found.Addr != addr || found.Offset != 0 {
			t.Fatalf("Lookup(Address(%q) = %#x) = %+v, %v", name, addr, found, ok)
		}
		if i > 0 && all[i-1].Addr == sym.Addr {
			continue // an alias: Lookup names the first of the group
		}
		if found.Name != name {
			t.Fatalf("Lookup(%#x) = %q, want %q", addr, found.Name, name)
		}
		if i+1 < len(all) && all[i+1].Addr > addr+1 {
			if inside, _ := table.Lookup(all[i+1].Addr - 1); inside.Name != name {
				t.Fatalf("Lookup(%#x), the last byte before the next symbol, = %q, want %q", all[i+1].Addr-1, inside.Name, name)
			}
		}
	}
}

// TestRealKernelHiddenForUnprivileged re-runs this test binary as user
// nobody: without root the kernel shows zeros, unless its sysctls allow
// unprivileged users to see addresses.
func TestRealKernelHiddenForUnprivileged(t *testing.T) {
	testutil.RequireRoot(t)
	kptrRestrict := readSysctl(t, "/proc/sys/kernel/kptr_restrict")
	perfParanoid := readSysctl(t, "/proc/sys/kernel/perf_event_paranoid")
	// kallsyms_show_value(): with kptr_restrict 0, addresses are shown to
	// whoever may use perf (perf_event_paranoid <= 1); otherwise only to
	// CAP_SYSLOG, which nobody lacks.
	wantHidden := kptrRestrict != 0 || perfParanoid > 1

	// go test's build directory is private to root: copy the binary
	// somewhere nobody can execute it.
	dir, err := os.MkdirTemp("", "gobcc-kallsyms-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	binary, err := os.ReadFile(self)
	if err != nil {
		t.Fatal(err)
	}
	copyPath := filepath.Join(dir, "kallsyms.test")
	if err := os.WriteFile(copyPath, binary, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(copyPath)
	cmd.Env = append(os.Environ(), helperEnv+"=load")
	cmd.Dir = dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("running test binary as nobody: %v\n%s", err, out)
	}
	got := strings.TrimSpace(string(out))
	if wantHidden && got != "hidden" {
		t.Errorf("Load as nobody (kptr_restrict=%d, perf_event_paranoid=%d) = %q, want ErrAddressesHidden", kptrRestrict, perfParanoid, got)
	}
	if !wantHidden && !strings.HasPrefix(got, "loaded ") {
		t.Errorf("Load as nobody (kptr_restrict=%d, perf_event_paranoid=%d) = %q, want a table", kptrRestrict, perfParanoid, got)
	}
}

func readSysctl(tb testing.TB, path string) int {
	tb.Helper()
	text, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	v, err := strconv.Atoi(strings.TrimSpace(string(text)))
	if err != nil {
		tb.Fatalf("%s: %v", path, err)
	}
	return v
}

// loadNamedProgram loads a tiny socket filter so that /proc/kallsyms has a
// real module column: JITed programs appear as bpf_prog_<tag>_<name> [bpf].
func loadNamedProgram(t *testing.T, name string) *ebpf.Program {
	t.Helper()
	prog, err := ebpf.NewProgram(&ebpf.ProgramSpec{
		Name:         name,
		Type:         ebpf.SocketFilter,
		License:      "GPL",
		Instructions: asm.Instructions{asm.Mov.Imm(asm.R0, 0), asm.Return()},
	})
	if err != nil {
		testutil.RequireKernel(t, "loading a BPF program: %v", err)
	}
	t.Cleanup(func() { prog.Close() })
	return prog
}

// TestMatchesBCC asks BCC Python (testdata/kallsyms_bcc.py) for ksym and
// ksymname of the same addresses and names and wants identical strings.
func TestMatchesBCC(t *testing.T) {
	testutil.RequireRoot(t)
	loadNamedProgram(t, "gobcc_ksym")
	table := loadReal(t)

	var bpfProg uint64
	var vmlinux []Symbol
	for _, sym := range symbols(table) {
		if sym.Module == "bpf" && strings.HasSuffix(sym.Name, "_gobcc_ksym") {
			bpfProg = sym.Addr
		}
		if sym.Module == KernelModule {
			vmlinux = append(vmlinux, sym)
		}
	}
	if bpfProg == 0 {
		testutil.RequireKernel(t, "JITed BPF programs are not in /proc/kallsyms (net.core.bpf_jit_kallsyms=0?)")
	}

	// Addresses whose answer cannot change while the two processes load
	// their tables: vmlinux text, and inside our own BPF program.
	// Other engineers' programs come and go in the [bpf] range.
	var addrs []uint64
	var aliasAddrs []uint64
	const samples = 14
	for k := range samples {
		i := (k*len(vmlinux))/samples + 1
		for i+1 < len(vmlinux) && (vmlinux[i-1].Addr == vmlinux[i].Addr || vmlinux[i+1].Addr == vmlinux[i].Addr) {
			i++
		}
		start, end := vmlinux[i].Addr, vmlinux[i+1].Addr
		addrs = append(addrs, start, start+1, end-1)
	}
	for i := 1; i < len(vmlinux) && len(aliasAddrs) < 10; i += 97 {
		for ; i < len(vmlinux); i++ {
			if vmlinux[i-1].Addr == vmlinux[i].Addr {
				aliasAddrs = append(aliasAddrs, vmlinux[i].Addr+2)
				break
			}
		}
	}
	for _, fn := range []string{"schedule", "vfs_read", "__kmalloc_noprof", "kmem_cache_alloc_noprof"} {
		if addr, ok := table.Address(fn); ok {
			addrs = append(addrs, addr+0x10)
		}
	}
	addrs = append(addrs, 0, 0x1000, 0x7fffffffe000, table.addrs[0]-1, bpfProg, bpfProg+1, bpfProg+8)
	if len(addrs) < 50 {
		t.Fatalf("only %d addresses to compare", len(addrs))
	}

	count := map[string]int{}
	for _, sym := range vmlinux {
		count[sym.Name]++
	}
	var names []string
	var duplicates int
	for i := 0; i < len(vmlinux) && len(names) < 12; i += len(vmlinux) / 12 {
		names = append(names, vmlinux[i].Name)
	}
	for _, sym := range vmlinux {
		if name := sym.Name; count[name] > 1 && duplicates < 4 {
			names = append(names, name)
			duplicates++
			count[name] = 0 // once
		}
	}
	names = append(names, "schedule", "no_such_kernel_symbol_gobcc")

	var queries strings.Builder
	for _, addr := range addrs {
		fmt.Fprintf(&queries, "ksym %x\n", addr)
	}
	for _, addr := range aliasAddrs {
		fmt.Fprintf(&queries, "ksym %x\n", addr)
	}
	for _, name := range names {
		fmt.Fprintf(&queries, "ksymname %s\n", name)
	}
	answers := runBCC(t, queries.String())
	if len(answers) != len(addrs)+len(aliasAddrs)+len(names) {
		t.Fatalf("BCC gave %d answers to %d queries", len(answers), len(addrs)+len(aliasAddrs)+len(names))
	}

	for i, addr := range addrs {
		ours := strings.Join([]string{
			table.Format(addr, false, false), table.Format(addr, true, false),
			table.Format(addr, false, true), table.Format(addr, true, true),
		}, "\t")
		if ours != answers[i] {
			t.Errorf("ksym(%#x): ours %q, BCC %q", addr, ours, answers[i])
		}
	}
	answers = answers[len(addrs):]
	// BCC sorts with an unstable std::sort, so which alias it names is an
	// accident of the sort; it must still be one of them, at our offset.
	for i, addr := range aliasAddrs {
		bccName, _, _ := strings.Cut(answers[i], "\t")
		sym, _ := table.Lookup(addr)
		if got, ok := table.Address("kernel:" + bccName); !ok || got != sym.Addr {
			t.Errorf("ksym(%#x): BCC %q is not an alias of ours %q at %#x", addr, bccName, sym.Name, sym.Addr)
		}
		if want := fmt.Sprintf("+0x%x [kernel]", sym.Offset); !strings.HasSuffix(answers[i], want) {
			t.Errorf("ksym(%#x): BCC %q does not end in %q", addr, answers[i], want)
		}
	}
	answers = answers[len(aliasAddrs):]
	for i, name := range names {
		want := answers[i]
		got := "-1"
		if addr, ok := table.Address(name); ok {
			got = strconv.FormatUint(addr, 10)
		}
		if got != want {
			t.Errorf("ksymname(%q): ours %s, BCC %s", name, got, want)
		}
	}
}

func runBCC(t *testing.T, queries string) []string {
	t.Helper()
	const python = "/usr/bin/python3"
	if err := exec.Command(python, "-c", "import bcc").Run(); err != nil {
		testutil.RequireKernel(t, "BCC Python is not usable with %s: %v", python, err)
	}
	cmd := exec.Command(python, "../../testdata/kallsyms_bcc.py")
	cmd.Stdin = strings.NewReader(queries)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("kallsyms_bcc.py: %v\n%s", err, stderr.String())
	}
	return strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
}
