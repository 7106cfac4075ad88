package bcc

import (
	"bufio"
	"errors"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/gobcc/gobcc/cflags"
	"github.com/gobcc/gobcc/internal/bpfsys"
	"github.com/gobcc/gobcc/internal/testutil"
)

// allTypesProg declares a table of every type BCC's Table() factory knows.
const allTypesProg = `
struct lpm_key { u32 prefixlen; u32 addr; };
BPF_HASH(hash, u32, u64, 64);
BPF_ARRAY(arr, u64, 8);
BPF_PERCPU_HASH(pchash, u32, u32, 16);
BPF_PERCPU_ARRAY(pcarr, u16, 4);
BPF_TABLE("lru_hash", u32, u64, lru, 4);
BPF_TABLE("lru_percpu_hash", u32, u64, lrupc, 4);
BPF_PROG_ARRAY(progs, 4);
BPF_PERF_OUTPUT(events);
BPF_CGROUP_ARRAY(cgs, 4);
BPF_LPM_TRIE(trie, struct lpm_key, u64, 16);
BPF_ARRAY(inner, u64, 4);
BPF_ARRAY(inner2, u64, 4);
BPF_ARRAY_OF_MAPS(aom, "inner", 4);
BPF_HASH_OF_MAPS(hom, int, "inner", 4);
BPF_DEVMAP(devs, 4);
BPF_CPUMAP(cpus, 4);
BPF_XSKMAP(xsks, 4);
BPF_SOCKMAP(socks, 4);
BPF_SOCKHASH(sockh, u32, 4);
BPF_STACK_TRACE(stacks, 16);
BPF_QUEUE(queue, u64, 4);
BPF_RINGBUF_OUTPUT(ring, 1);
int tail(void *ctx) { return 0; }
`

func newAllTypes(t *testing.T) *BPF {
	t.Helper()
	testutil.RequireRoot(t)
	b, err := New(Options{Text: allTypesProg, NoAutoAttach: true})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func mustTable(t *testing.T, b *BPF, name string) *Table {
	t.Helper()
	tb, err := b.Table(name)
	if err != nil {
		t.Fatal(err)
	}
	return tb
}

func TestHashAndArrayBasics(t *testing.T) {
	b := newAllTypes(t)
	defer b.Close()
	h := mustTable(t, b, "hash")
	for i := 0; i < 10; i++ {
		if err := h.Update(i, i*i); err != nil {
			t.Fatal(err)
		}
	}
	if n, _ := h.Len(); n != 10 {
		t.Errorf("hash Len = %d, want 10", n)
	}
	if v, err := h.Lookup(7); err != nil || v.Uint64() != 49 {
		t.Errorf("hash[7] = %v, %v; want 49", v, err)
	}
	if err := h.Delete(7); err != nil {
		t.Fatal(err)
	}
	if _, err := h.Lookup(7); !errors.Is(err, ErrKeyNotExist) {
		t.Errorf("deleted key: %v, want ErrKeyNotExist", err)
	}
	if err := h.Delete(7); !errors.Is(err, ErrKeyNotExist) {
		t.Errorf("delete twice: %v, want ErrKeyNotExist", err)
	}
	if err := h.Clear(); err != nil {
		t.Fatal(err)
	}
	if n, _ := h.Len(); n != 0 {
		t.Errorf("hash Len after Clear = %d", n)
	}

	a := mustTable(t, b, "arr")
	if n, _ := a.Len(); n != 8 {
		t.Errorf("array Len = %d, want max entries 8", n)
	}
	if err := a.Update(-1, 99); err != nil {
		t.Fatal(err)
	}
	if v, _ := a.Lookup(7); v.Uint64() != 99 {
		t.Errorf("arr[-1] did not set arr[7]: %v", v)
	}
	if _, err := a.Lookup(8); !errors.Is(err, ErrKeyNotExist) {
		t.Errorf("arr[8]: %v, want ErrKeyNotExist", err)
	}
	if _, err := a.Lookup(-9); !errors.Is(err, ErrKeyNotExist) {
		t.Errorf("arr[-9]: %v, want ErrKeyNotExist", err)
	}
	if err := a.Delete(-1); err != nil {
		t.Fatal(err)
	}
	if v, err := a.Lookup(7); err != nil || v.Uint64() != 0 {
		t.Errorf("Delete did not zero arr[7]: %v %v", v, err)
	}
	if _, err := a.Sum(0); !errors.Is(err, ErrWrongTableType) {
		t.Errorf("Sum on an array: %v, want ErrWrongTableType", err)
	}
}

func TestPerCPUSumMaxAverage(t *testing.T) {
	b := newAllTypes(t)
	defer b.Close()
	ncpu, err := bpfsys.PossibleCPUs()
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"pchash", "pcarr", "lrupc"} {
		tb := mustTable(t, b, name)
		if tb.PossibleCPUs() != ncpu {
			t.Errorf("%s: PossibleCPUs = %d, want %d", name, tb.PossibleCPUs(), ncpu)
		}
		vals := make([]any, ncpu)
		want := 0
		for c := range vals {
			vals[c] = 10 * (c + 1)
			want += 10 * (c + 1)
		}
		if err := tb.Update(1, vals); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		per, err := tb.LookupPerCPU(1)
		if err != nil || len(per) != ncpu || per[ncpu-1].Uint64() != uint64(10*ncpu) {
			t.Fatalf("%s: LookupPerCPU = %v, %v", name, per, err)
		}
		sum, err := tb.Sum(1)
		if err != nil || sum.Uint64() != uint64(want) {
			t.Errorf("%s: Sum = %v, %v; want %d", name, sum, err, want)
		}
		if sum.Type() != tb.LeafType() {
			t.Errorf("%s: Sum has type %v, want the leaf type %v", name, sum.Type(), tb.LeafType())
		}
		mx, err := tb.Max(1)
		if err != nil || mx.Uint64() != uint64(10*ncpu) {
			t.Errorf("%s: Max = %v, %v", name, mx, err)
		}
		avg, err := tb.Average(1)
		if err != nil || avg != float64(want)/float64(ncpu) {
			t.Errorf("%s: Average = %v, %v", name, avg, err)
		}
		if _, err := tb.Lookup(1); !errors.Is(err, ErrWrongTableType) {
			t.Errorf("%s: Lookup on per-CPU: %v", name, err)
		}
	}
	// u16 leaves wrap at 16 bits, as BCC's sLeaf(sum(...)) does.
	pc := mustTable(t, b, "pcarr")
	if err := pc.Update(0, 0xffff); err != nil {
		t.Fatal(err)
	}
	sum, _ := pc.Sum(0)
	if want := uint64(0xffff*ncpu) & 0xffff; sum.Uint64() != want {
		t.Errorf("u16 Sum over %d CPUs = %d, want %d (wrapped)", ncpu, sum.Uint64(), want)
	}
	// Per-CPU arrays Zero and Clear every CPU's slot.
	if err := pc.Zero(); err != nil {
		t.Fatal(err)
	}
	if sum, _ := pc.Sum(0); sum.Uint64() != 0 {
		t.Errorf("Sum after Zero = %d", sum.Uint64())
	}
}

func TestLRUEvicts(t *testing.T) {
	b := newAllTypes(t)
	defer b.Close()
	for _, name := range []string{"lru", "lrupc"} {
		tb := mustTable(t, b, name)
		for i := 0; i < 100; i++ {
			if err := tb.Update(i, i); err != nil {
				t.Fatalf("%s: update %d: %v", name, i, err)
			}
		}
		n, err := tb.Len()
		if err != nil || n == 0 || n > 4+2*tb.PossibleCPUs()+4 {
			t.Errorf("%s: Len after 100 inserts into 4 entries = %d, %v", name, n, err)
		}
		if name == "lru" {
			if v, err := tb.Lookup(99); err != nil || v.Uint64() != 99 {
				t.Errorf("lru: newest entry missing: %v %v", v, err)
			}
		}
	}
}

const tailCallProg = `
BPF_PROG_ARRAY(progs, 4);
BPF_ARRAY(out, u64, 1);
int tail(void *ctx) {
    int k = 0;
    u64 v = 0x7a11ca11;
    out.update(&k, &v);
    return 0;
}
TRACEPOINT_PROBE(syscalls, sys_enter_getpid) {
    if (bpf_get_current_pid_tgid() >> 32 != TEST_PID)
        return 0;
    progs.call(args, 2);
    return 0;
}
`

func TestProgArrayTailCall(t *testing.T) {
	testutil.RequireRoot(t)
	b, err := New(Options{Text: tailCallProg, CFlags: []string{cflags.Define("TEST_PID", os.Getpid())}})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	progs, out := mustTable(t, b, "progs"), mustTable(t, b, "out")
	syscall.Getpid()
	if v, _ := out.Lookup(0); v.Uint64() != 0 {
		t.Fatalf("tail ran before it was set: %#x", v.Uint64())
	}
	fn, err := b.LoadFunc("tail", Tracepoint)
	if err != nil {
		t.Fatal(err)
	}
	if err := progs.SetFunction(2, fn); err != nil {
		t.Fatal(err)
	}
	syscall.Getpid()
	if v, _ := out.Lookup(0); v.Uint64() != 0x7a11ca11 {
		t.Errorf("tail call did not run: out[0] = %#x", v.Uint64())
	}
	// Reading a prog array gives program IDs.
	info, err := bpfsys.ProgInfoByFD(fn.FD)
	if err != nil {
		t.Fatal(err)
	}
	v, err := progs.Lookup(2)
	if err != nil || v.Uint64() != uint64(info.ID) {
		t.Errorf("progs[2] = %v, %v; want program ID %d", v, err, info.ID)
	}
	items, err := progs.Items()
	if err != nil || len(items) != 1 || items[0].Key.Uint64() != 2 {
		t.Errorf("prog array Items = %v, %v; want the one set slot", items, err)
	}
	if err := progs.Delete(2); err != nil {
		t.Fatal(err)
	}
	if err := out.Update(0, 0); err != nil {
		t.Fatal(err)
	}
	syscall.Getpid()
	if v, _ := out.Lookup(0); v.Uint64() != 0 {
		t.Errorf("tail ran after Delete: %#x", v.Uint64())
	}
	if err := progs.Update(0, out); !errors.Is(err, ErrTypeMismatch) {
		t.Errorf("table into prog array: %v, want ErrTypeMismatch", err)
	}
	if err := out.SetFunction(0, fn); !errors.Is(err, ErrWrongTableType) {
		t.Errorf("SetFunction on an array: %v, want ErrWrongTableType", err)
	}
	if err := progs.Zero(); !errors.Is(err, ErrWrongTableType) {
		t.Errorf("Zero on prog array: %v", err)
	}
}

func cgroup2Mount(t *testing.T) string {
	t.Helper()
	f, err := os.Open("/proc/self/mounts")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		fs := strings.Fields(s.Text())
		if len(fs) > 2 && fs[2] == "cgroup2" {
			return fs[1]
		}
	}
	testutil.RequireKernel(t, "no cgroup2 mount")
	return ""
}

func TestHandleTables(t *testing.T) {
	b := newAllTypes(t)
	before := openFDs(t)

	// Perf event array: store a perf event fd; the kernel refuses reads.
	pe, err := unix.PerfEventOpen(&unix.PerfEventAttr{Type: unix.PERF_TYPE_SOFTWARE, Config: unix.PERF_COUNT_SW_BPF_OUTPUT,
		Sample_type: unix.PERF_SAMPLE_RAW}, -1, 0, -1, unix.PERF_FLAG_FD_CLOEXEC)
	if err != nil {
		t.Fatal(err)
	}
	events := mustTable(t, b, "events")
	if err := events.Update(0, pe); err != nil {
		t.Errorf("perf event array update: %v", err)
	}
	if _, err := events.Lookup(0); !errors.Is(err, ErrWrongTableType) {
		t.Errorf("perf event array lookup: %v, want ErrWrongTableType", err)
	}
	if _, err := events.Items(); !errors.Is(err, ErrWrongTableType) {
		t.Errorf("perf event array Items: %v, want ErrWrongTableType", err)
	}
	if err := events.Delete(0); err != nil {
		t.Errorf("perf event array delete: %v", err)
	}
	if err := events.Update(1, 0); err == nil {
		t.Errorf("perf event array took fd 0 (stdin)")
	}
	unix.Close(pe)

	// Cgroup array: a cgroup path, opened and closed by Update.
	cgs := mustTable(t, b, "cgs")
	if err := cgs.Update(1, cgroup2Mount(t)); err != nil {
		t.Errorf("cgroup array update with a path: %v", err)
	}
	if err := cgs.Update(2, "/proc"); err == nil {
		t.Errorf("cgroup array took /proc")
	}
	if err := cgs.Update(2, "/nonexistent"); !errors.Is(err, unix.ENOENT) {
		t.Errorf("cgroup array missing path: %v", err)
	}
	if err := cgs.Clear(); err != nil {
		t.Errorf("cgroup array clear: %v", err)
	}
	if err := cgs.Delete(1); !errors.Is(err, ErrKeyNotExist) {
		t.Errorf("cgroup slot after Clear: %v, want ErrKeyNotExist", err)
	}

	// Maps of maps: store a table, read back its map ID.
	inner2 := mustTable(t, b, "inner2")
	info, err := bpfsys.MapInfoByFD(inner2.FD())
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"aom", "hom"} {
		tb := mustTable(t, b, name)
		if err := tb.Update(3, inner2); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		v, err := tb.Lookup(3)
		if err != nil || v.Uint64() != uint64(info.ID) {
			t.Errorf("%s[3] = %v, %v; want inner map ID %d", name, v, err, info.ID)
		}
		items, err := tb.Items()
		if err != nil || len(items) != 1 {
			t.Errorf("%s Items = %v, %v", name, items, err)
		}
		if err := tb.Update(0, inner2.FD()); err != nil {
			t.Errorf("%s: by fd: %v", name, err)
		}
		if err := tb.Update(1, mustTable(t, b, "hash")); err == nil {
			t.Errorf("%s took a hash of another shape", name)
		}
		if err := tb.Clear(); err != nil {
			t.Errorf("%s clear: %v", name, err)
		}
		if items, _ := tb.Items(); len(items) != 0 {
			t.Errorf("%s after Clear: %v", name, items)
		}
	}

	// devmap (ifindex) and cpumap (queue size) read back what was stored.
	lo, err := net.InterfaceByName("lo")
	if err != nil {
		t.Fatal(err)
	}
	devs := mustTable(t, b, "devs")
	if err := devs.Update(0, lo.Index); err != nil {
		t.Errorf("devmap update: %v", err)
	} else if v, err := devs.Lookup(0); err != nil || v.Int64() != int64(lo.Index) {
		t.Errorf("devmap[0] = %v, %v; want %d", v, err, lo.Index)
	}
	cpus := mustTable(t, b, "cpus")
	if err := cpus.Update(0, 192); err != nil {
		t.Errorf("cpumap update: %v", err)
	} else if v, err := cpus.Lookup(0); err != nil || v.Uint64() != 192 {
		t.Errorf("cpumap[0] = %v, %v", v, err)
	}
	for _, tb := range []*Table{devs, cpus} {
		if err := tb.Clear(); err != nil {
			t.Errorf("%s clear: %v", tb.Name(), err)
		}
		if items, err := tb.Items(); err != nil || len(items) != 0 {
			t.Errorf("%s after Clear: %v %v", tb.Name(), items, err)
		}
	}

	// xskmap: an AF_XDP socket fd goes in; reads are refused.
	xsk, err := unix.Socket(unix.AF_XDP, unix.SOCK_RAW|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	xsks := mustTable(t, b, "xsks")
	if err := xsks.Update(0, xsk); err != nil {
		t.Errorf("xskmap update: %v", err)
	}
	if _, err := xsks.Lookup(0); !errors.Is(err, ErrWrongTableType) {
		t.Errorf("xskmap lookup: %v", err)
	}
	if err := xsks.Clear(); err != nil {
		t.Errorf("xskmap clear: %v", err)
	}
	unix.Close(xsk)

	// sockmap and sockhash take established TCP sockets.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	raw, _ := conn.(*net.TCPConn).SyscallConn()
	var sockErr [2]error
	raw.Control(func(fd uintptr) {
		sockErr[0] = mustTable(t, b, "socks").Update(1, int(fd))
		sockErr[1] = mustTable(t, b, "sockh").Update(7, int(fd))
	})
	for i, name := range []string{"socks", "sockh"} {
		tb := mustTable(t, b, name)
		if sockErr[i] != nil {
			t.Errorf("%s update with a TCP socket: %v", name, sockErr[i])
		}
		if _, err := tb.Lookup(1); !errors.Is(err, ErrWrongTableType) {
			t.Errorf("%s lookup: %v", name, err)
		}
		if err := tb.Clear(); err != nil {
			t.Errorf("%s clear: %v", name, err)
		}
	}
	if err := mustTable(t, b, "sockh").Delete(7); !errors.Is(err, ErrKeyNotExist) {
		t.Errorf("sockhash entry after Clear: %v", err)
	}
	conn.Close()
	ln.Close()

	// Keyless and program-written tables refuse what they cannot do.
	for _, c := range []struct {
		table string
		op    func(*Table) error
	}{
		{"stacks", func(tb *Table) error { return tb.Update(0, []byte{}) }},
		{"stacks", func(tb *Table) error { return tb.Zero() }},
		{"queue", func(tb *Table) error { _, err := tb.Items(); return err }},
		{"queue", func(tb *Table) error { return tb.Update(0, 1) }},
		{"ring", func(tb *Table) error { _, err := tb.Len(); return err }},
		{"hash", func(tb *Table) error { _, err := tb.Sum(0); return err }},
		{"stacks", func(tb *Table) error { _, err := tb.ItemsLookupBatch(); return err }},
	} {
		if err := c.op(mustTable(t, b, c.table)); !errors.Is(err, ErrWrongTableType) {
			t.Errorf("%s: %v, want ErrWrongTableType", c.table, err)
		}
	}
	if err := mustTable(t, b, "stacks").Clear(); err != nil {
		t.Errorf("stack trace clear: %v", err)
	}
	if after := openFDs(t); after != before {
		t.Errorf("table operations leaked %d fds", after-before)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := mustTableAfterClose(b, "hash"); !errors.Is(err, ErrClosed) {
		t.Errorf("after Close: %v", err)
	}
}

func mustTableAfterClose(b *BPF, name string) (*Table, error) { return b.Table(name) }

func TestLPMTrieLongestPrefix(t *testing.T) {
	b := newAllTypes(t)
	defer b.Close()
	trie := mustTable(t, b, "trie")
	ip := func(a, b2, c, d byte) uint32 { return uint32(a) | uint32(b2)<<8 | uint32(c)<<16 | uint32(d)<<24 }
	set := map[string]any{"prefixlen": 8, "addr": ip(10, 0, 0, 0)}
	if err := trie.Update(set, 8); err != nil {
		t.Fatal(err)
	}
	if err := trie.Update(map[string]any{"prefixlen": 24, "addr": ip(10, 1, 2, 0)}, 24); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		addr uint32
		want uint64
	}{{ip(10, 9, 9, 9), 8}, {ip(10, 1, 2, 3), 24}} {
		v, err := trie.Lookup(map[string]any{"prefixlen": 32, "addr": c.addr})
		if err != nil || v.Uint64() != c.want {
			t.Errorf("lookup %#x: %v %v, want /%d", c.addr, v, err, c.want)
		}
	}
	if _, err := trie.Lookup(map[string]any{"prefixlen": 32, "addr": ip(11, 0, 0, 1)}); !errors.Is(err, ErrKeyNotExist) {
		t.Errorf("no matching prefix: %v", err)
	}
	if n, err := trie.Len(); n != 2 || err != nil {
		t.Errorf("trie Len = %d, %v", n, err)
	}
	if err := trie.Zero(); err != nil {
		t.Errorf("trie Zero: %v", err)
	}
	if v, _ := trie.Lookup(set); v.Uint64() != 0 {
		t.Errorf("trie after Zero: %v", v)
	}
	if err := trie.Clear(); err != nil {
		t.Fatal(err)
	}
	if n, _ := trie.Len(); n != 0 {
		t.Errorf("trie Len after Clear = %d", n)
	}
}

func TestBatchOperations(t *testing.T) {
	b := newAllTypes(t)
	defer b.Close()
	h := mustTable(t, b, "hash")
	keys := make([]any, 50)
	vals := make([]any, 50)
	for i := range keys {
		keys[i], vals[i] = i, 1000+i
	}
	if err := h.ItemsUpdateBatch(keys, vals); err != nil {
		t.Fatal(err)
	}
	items, err := h.ItemsLookupBatch()
	if err != nil || len(items) != 50 {
		t.Fatalf("ItemsLookupBatch: %d items, %v", len(items), err)
	}
	for _, it := range items {
		if it.Value.Uint64() != 1000+it.Key.Uint64() {
			t.Errorf("batch item %v = %v", it.Key, it.Value)
		}
	}
	if err := h.ItemsDeleteBatch(keys[:10]); err != nil {
		t.Fatal(err)
	}
	if n, _ := h.Len(); n != 40 {
		t.Errorf("Len after deleting 10 = %d", n)
	}
	if err := h.ItemsDeleteBatch(keys[5:15]); !errors.Is(err, ErrKeyNotExist) {
		t.Errorf("deleting missing keys: %v, want ErrKeyNotExist", err)
	}
	if err := h.Zero(); err != nil {
		t.Fatal(err)
	}
	if v, err := h.Lookup(20); err != nil || v.Uint64() != 0 {
		t.Errorf("after Zero hash[20] = %v, %v", v, err)
	}
	if n, _ := h.Len(); n != 40 {
		t.Errorf("Zero removed keys: Len = %d", n)
	}
	got, err := h.ItemsLookupAndDeleteBatch()
	if err != nil || len(got) != 40 {
		t.Errorf("ItemsLookupAndDeleteBatch: %d, %v", len(got), err)
	}
	if n, _ := h.Len(); n != 0 {
		t.Errorf("Len after lookup-and-delete = %d", n)
	}
	if err := h.ItemsUpdateBatch(keys, vals); err != nil {
		t.Fatal(err)
	}
	if err := h.ItemsDeleteBatch(nil); err != nil {
		t.Fatal(err)
	}
	if n, _ := h.Len(); n != 0 {
		t.Errorf("Len after ItemsDeleteBatch(nil) = %d", n)
	}

	for _, c := range []struct {
		name string
		err  error
		want error
	}{
		{"length mismatch", h.ItemsUpdateBatch(keys, vals[:3]), ErrBatchSize},
		{"empty", h.ItemsUpdateBatch(nil, nil), ErrBatchSize},
		{"over capacity", h.ItemsUpdateBatch(make([]any, 65), make([]any, 65)), ErrBatchSize},
		{"bad key", h.ItemsUpdateBatch([]any{"x"}, []any{1}), ErrTypeMismatch},
		{"array delete", mustTable(t, b, "arr").ItemsDeleteBatch([]any{1}), ErrWrongTableType},
		{"array lookup-and-delete", func() error { _, err := mustTable(t, b, "arr").ItemsLookupAndDeleteBatch(); return err }(), ErrWrongTableType},
		{"devmap batch lookup", func() error { _, err := mustTable(t, b, "devs").ItemsLookupBatch(); return err }(), ErrWrongTableType},
	} {
		if !errors.Is(c.err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, c.err, c.want)
		}
	}

	// Arrays and per-CPU tables batch too.
	a := mustTable(t, b, "arr")
	if err := a.ItemsUpdateBatch([]any{0, -1}, []any{5, 6}); err != nil {
		t.Fatal(err)
	}
	items, err = a.ItemsLookupBatch()
	if err != nil || len(items) != 8 || items[0].Value.Uint64() != 5 || items[7].Value.Uint64() != 6 {
		t.Errorf("array batch = %v, %v", items, err)
	}
	pc := mustTable(t, b, "pchash")
	if err := pc.ItemsUpdateBatch([]any{1, 2}, []any{3, 4}); err != nil {
		t.Fatal(err)
	}
	items, err = pc.ItemsLookupBatch()
	if err != nil || len(items) != 2 || len(items[0].PerCPU) != pc.PossibleCPUs() {
		t.Errorf("per-CPU batch = %v, %v", items, err)
	}
}

func TestArrayClearIsBatched(t *testing.T) {
	testutil.RequireRoot(t)
	b, err := New(Options{Text: `BPF_ARRAY(big, u32, 10000); BPF_PERCPU_ARRAY(pbig, u64, 5000);`, NoAutoAttach: true})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	for _, name := range []string{"big", "pbig"} {
		tb := mustTable(t, b, name)
		for _, i := range []int{0, 4095, 4096, 4999, -1} {
			if err := tb.Update(i, 7); err != nil {
				t.Fatal(err)
			}
		}
		if err := tb.Clear(); err != nil {
			t.Fatal(err)
		}
		items, err := tb.Items()
		if err != nil || len(items) != tb.MaxEntries() {
			t.Fatalf("%s: %d items, %v", name, len(items), err)
		}
		for _, it := range items {
			nonzero := it.Value.IsValid() && it.Value.Uint64() != 0
			for _, v := range it.PerCPU {
				nonzero = nonzero || v.Uint64() != 0
			}
			if nonzero {
				t.Errorf("%s[%v] not cleared: %v %v", name, it.Key, it.Value, it.PerCPU)
			}
		}
	}
}
