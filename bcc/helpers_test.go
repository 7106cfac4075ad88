package bcc

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/gobcc/gobcc/features"
	"github.com/gobcc/gobcc/headers"
	"github.com/gobcc/gobcc/internal/memlock"
	"github.com/gobcc/gobcc/internal/testutil"
	"github.com/gobcc/gobcc/internal/usym/usymtest"
	"github.com/gobcc/gobcc/symbols"
)

// debugProg exercises every disassembler class BCC's compiles produce
// here: map loads, helper calls, stores, jumps, ALU with immediates.
const debugProg = `
struct k { u32 a; char name[8]; u64 arr[2]; int neg; };
struct v { u64 x; struct { u16 p; } in; };
BPF_HASH(h, struct k, struct v);
BPF_HASH(h2, u64, int);
BPF_ARRAY(arr, u32, 4);
struct kb { u8 a:3; u8 b:5; u16 c; union { u32 x; u16 y; } u; _Bool flag; char ch; u32 wide:20; u32 rest:12; };
BPF_HASH(h3, struct kb, u64);
TRACEPOINT_PROBE(sched, sched_process_exec) {
	struct k key = {};
	key.a = bpf_get_current_pid_tgid() >> 32;
	bpf_get_current_comm(&key.name, sizeof(key.name));
	key.neg = -3;
	struct v zero = {}, *val = h.lookup_or_try_init(&key, &zero);
	if (val) {
		val->x += 1;
		val->in.p |= 0x10;
	}
	u64 n = args->pid & 0xff;
	int one = 1;
	h2.update(&n, &one);
	return 0;
}
`

// bccDebugDump prints, through BCC Python, every helper this file tests.
const bccDebugDump = `
import json, sys, ctypes as ct
from bcc import BPF, XDPAction
b = BPF(text=sys.argv[1])
t = b["h"]
k = t.Key(); k.a = 5; k.name = b"ab"; k.arr[0] = 1; k.arr[1] = 2; k.neg = -3
v = t.Leaf(); v.x = 255; getattr(v, "in").p = 7
t2 = b["h2"]
t3 = b["h3"]
kb = t3.Key(); kb.a = 5; kb.b = 17; kb.c = 300; kb.u.x = 0x12345678; kb.flag = True; kb.ch = b"A"; kb.wide = 0xabcde; kb.rest = 0x123
out = {
  "key3": t3.key_sprintf(kb).decode(),
  "key3_bytes": ct.string_at(ct.byref(kb), ct.sizeof(t3.Key)).hex(),
  "disasm": b.disassemble_func("tracepoint__sched__sched_process_exec"),
  "dump": b.dump_func("tracepoint__sched__sched_process_exec").hex(),
  "decode": b.decode_table("h", sizeinfo=True),
  "decode2": b.decode_table("h2"),
  "key": t.key_sprintf(k).decode(), "leaf": t.leaf_sprintf(v).decode(),
  "key2": t2.key_sprintf(t2.Key(18446744073709551615)).decode(), "leaf2": t2.leaf_sprintf(t2.Leaf(-5)).decode(),
  "scan": ct.string_at(ct.byref(t.key_scanf(b'{ 9 "x y" [ 0x1 2 ] -1 }')), ct.sizeof(t.Key)).hex(),
  "libc": BPF.find_library("c").decode(),
  "malloc": sorted([[n.decode(), a] for (n, a) in BPF.get_user_functions_and_addresses(BPF.find_library("c"), b"malloc")]),
  "malloc_addrs": sorted(BPF.get_user_addresses(BPF.find_library("c"), b"malloc")),
  "rawtp_mod": BPF.support_raw_tracepoint_in_module(),
  "xdp": [XDPAction.XDP_ABORTED, XDPAction.XDP_DROP, XDPAction.XDP_PASS, XDPAction.XDP_TX, XDPAction.XDP_REDIRECT],
}
print(json.dumps(out))
`

type bccDebug struct {
	Disasm, Dump, Decode, Decode2, Key, Leaf, Key2, Leaf2, Scan, Libc string
	Key3                                                              string
	Key3Bytes                                                         string `json:"key3_bytes"`
	Malloc                                                            [][2]any
	MallocAddrs                                                       []uint64 `json:"malloc_addrs"`
	RawtpMod                                                          bool     `json:"rawtp_mod"`
	XDP                                                               []int
}

func runBCCDebug(t *testing.T) bccDebug {
	t.Helper()
	out, err := exec.Command(usymtest.Python, "-c", bccDebugDump, debugProg).Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("BCC Python: %v\n%s", err, ee.Stderr)
		}
		t.Fatalf("BCC Python: %v", err)
	}
	var d bccDebug
	if err := json.Unmarshal(out, &d); err != nil {
		t.Fatalf("BCC Python's output: %v\n%s", err, out)
	}
	return d
}

var fdNumbers = regexp.MustCompile(`fd #-?\d+|FD \d+, ID \d+`)

// bccUpperWord is BCC's numbering of lddw's second half: the next
// instruction's index (a bug DisassembleFunc does not copy).
var bccUpperWord = regexp.MustCompile(`(?m)^ *\d+:      \(64-bit upper word\)$`)

// TestDebugHelpersMatchBCC compares DumpFunc, DisassembleFunc,
// DecodeTable, Key/LeafSprintf, KeyScanf, symbols.FindLibrary,
// symbols.GetUserFunctionsAndAddresses, symbols.GetUserAddresses,
// features.SupportRawTracepointInModule and XDPAction with BCC Python on the same
// program. Map descriptor numbers differ between the processes and are
// masked.
func TestDebugHelpersMatchBCC(t *testing.T) {
	testutil.RequireRoot(t)
	want := runBCCDebug(t)
	// Compiled now, as BCC does: a cached program's map loads are
	// relocations (see DumpFunc).
	b, err := New(Options{Text: debugProg, NoCache: true})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	const fn = "tracepoint__sched__sched_process_exec"

	dump, err := b.DumpFunc(fn)
	if err != nil {
		t.Fatal(err)
	}
	bccDump, err := hex.DecodeString(want.Dump)
	if err != nil {
		t.Fatal(err)
	}
	if len(dump) == 0 || len(dump)%8 != 0 || !slices.Equal(maskMapFDs(dump), maskMapFDs(bccDump)) {
		t.Errorf("DumpFunc: %d bytes, BCC %d, or they differ beyond map descriptors:\n%x\n%x", len(dump), len(bccDump), maskMapFDs(dump), maskMapFDs(bccDump))
	}
	dis, err := b.DisassembleFunc(fn)
	if err != nil {
		t.Fatal(err)
	}
	mask := func(s string) string {
		return bccUpperWord.ReplaceAllString(fdNumbers.ReplaceAllString(s, "fd #N"), "UPPER")
	}
	if mask(dis) != mask(want.Disasm) {
		t.Errorf("DisassembleFunc:\n%s\nBCC:\n%s", dis, want.Disasm)
	}
	for _, s := range []string{"call bpf_get_current_pid_tgid#14", "= <map at fd #", "(64-bit upper word)", "exit"} {
		if !strings.Contains(dis, s) {
			t.Errorf("DisassembleFunc lacks %q:\n%s", s, dis)
		}
	}
	if _, err := b.DumpFunc("nosuch"); !errors.Is(err, ErrFunctionNotFound) {
		t.Errorf("DumpFunc(nosuch): want ErrFunctionNotFound, got %v", err)
	}

	for _, c := range []struct {
		table    string
		sizeInfo bool
		want     string
	}{{"h", true, want.Decode}, {"h2", false, want.Decode2}} {
		got, err := b.DecodeTable(c.table, c.sizeInfo)
		if err != nil {
			t.Fatal(err)
		}
		if mask(got) != mask(c.want) {
			t.Errorf("DecodeTable(%s):\n%s\nBCC:\n%s", c.table, got, c.want)
		}
	}

	h, _ := b.Table("h")
	h2, _ := b.Table("h2")
	// The key and leaf BCC formatted, read back and formatted again.
	for _, c := range []struct {
		t         *Table
		key, leaf string
	}{{h, want.Key, want.Leaf}, {h2, want.Key2, want.Leaf2}} {
		kb, err := c.t.KeyScanf(c.key)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := c.t.KeySprintf(kb); err != nil || got != c.key {
			t.Errorf("%s: KeySprintf(KeyScanf(%q)) = %q, %v", c.t.Name(), c.key, got, err)
		}
		lb, err := c.t.LeafScanf(c.leaf)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := c.t.LeafSprintf(lb); err != nil || got != c.leaf {
			t.Errorf("%s: LeafSprintf(LeafScanf(%q)) = %q, %v", c.t.Name(), c.leaf, got, err)
		}
	}
	// Bitfield runs and unions print as libbcc's LLVM types have them.
	h3, _ := b.Table("h3")
	kb, err := hex.DecodeString(want.Key3Bytes)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := h3.KeySprintf(kb); err != nil || got != want.Key3 {
		t.Errorf("h3: KeySprintf = %q, %v; BCC %q", got, err, want.Key3)
	}
	if got, err := h3.KeyScanf(want.Key3); err != nil || hex.EncodeToString(got) != want.Key3Bytes {
		t.Errorf("h3: KeyScanf(%q) = %x, %v; BCC's bytes %s", want.Key3, got, err, want.Key3Bytes)
	}
	if want.Key != `{ 0x5 "ab" [ 0x1 0x2 ] 0xfffffffd }` {
		t.Errorf("BCC's key_sprintf changed: %s", want.Key)
	}
	scanned, err := h.KeyScanf(`{ 9 "x y" [ 0x1 2 ] -1 }`)
	if err != nil {
		t.Fatal(err)
	}
	if hex.EncodeToString(scanned) != want.Scan {
		t.Errorf("KeyScanf: %x, BCC %s", scanned, want.Scan)
	}
	// The scanned key works as a key.
	if err := h.Update(scanned, make([]byte, h.LeafSize())); err != nil {
		t.Errorf("Update with a scanned key: %v", err)
	}
	if _, err := h.KeyScanf(`{ 9 "x" [ 1 ] }`); !errors.Is(err, ErrScanf) {
		t.Errorf("short array: want ErrScanf, got %v", err)
	}

	if p, err := symbols.FindLibrary("c"); err != nil || p != want.Libc {
		t.Errorf("symbols.FindLibrary(c) = %q, %v; BCC %q", p, err, want.Libc)
	}
	if _, err := symbols.FindLibrary("nosuchlib-gobcc"); !errors.Is(err, symbols.ErrLibraryNotFound) {
		t.Errorf("symbols.FindLibrary(nosuch): want symbols.ErrLibraryNotFound, got %v", err)
	}
	fns, err := symbols.GetUserFunctionsAndAddresses("c", "malloc")
	if err != nil {
		t.Fatal(err)
	}
	var got [][2]any
	for _, f := range fns {
		got = append(got, [2]any{f.Name, float64(f.Addr)})
	}
	slices.SortFunc(got, func(a, b [2]any) int {
		if c := strings.Compare(a[0].(string), b[0].(string)); c != 0 {
			return c
		}
		return int(a[1].(float64) - b[1].(float64))
	})
	// BCC lists a pair once per symbol table (.symtab and .dynsym).
	if len(got) == 0 || !slices.Equal(fmtPairs(got), slices.Compact(fmtPairs(want.Malloc))) {
		t.Errorf("symbols.GetUserFunctionsAndAddresses(c, malloc):\n%v\nBCC:\n%v", got, want.Malloc)
	}
	addrs, err := symbols.GetUserAddresses("c", "malloc")
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(addrs)
	if !slices.Equal(addrs, want.MallocAddrs) {
		t.Errorf("symbols.GetUserAddresses(c, malloc) = %x, BCC %x", addrs, want.MallocAddrs)
	}
	if ok, err := features.SupportRawTracepointInModule(); err != nil || ok != want.RawtpMod {
		t.Errorf("features.SupportRawTracepointInModule() = %v, %v; BCC %v", ok, err, want.RawtpMod)
	}
	for i, a := range []XDPAction{XDPAborted, XDPDrop, XDPPass, XDPTx, XDPRedirect} {
		if i >= len(want.XDP) || int(a) != want.XDP[i] {
			t.Errorf("%v = %d, BCC %v", a, int(a), want.XDP)
		}
	}
}

// fmtPairs formats BCC's JSON [name, address] pairs (or ours) as "name addr".
func fmtPairs(p [][2]any) []string {
	var out []string
	for _, x := range p {
		out = append(out, fmt.Sprintf("%v %.0f", x[0], x[1]))
	}
	return out
}

func TestDisassembleInsnsLddwConstant(t *testing.T) {
	// r1 = 0x100000002 (lddw with a non-zero upper half), r0 = 0, exit;
	// a truncated lddw last.
	insns := []byte{
		0x18, 0x01, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0,
		0xb7, 0, 0, 0, 0, 0, 0, 0,
		0x95, 0, 0, 0, 0, 0, 0, 0,
	}
	got, err := DisassembleInsns("f", insns)
	if err != nil {
		t.Fatal(err)
	}
	want := "Disassemble of BPF program f:\n   0: (18) r1 = 0x100000002\n   1:      (64-bit upper word)\n   2: (b7) r0 = 0\n   3: (95) exit"
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	if _, err := DisassembleInsns("f", insns[:5]); err == nil {
		t.Error("5 bytes: want an error")
	}
}

func TestGenerateAutoIncludesMatchesBCC(t *testing.T) {
	words := []string{"struct", "bio", "*b;", "u64", "ts", "=", "bpf_ktime_get_ns();", "skb->len", "kmalloc", "filename"}
	out, err := exec.Command(usymtest.Python, "-c",
		"import sys\nfrom bcc import BPF\nsys.stdout.write(BPF.generate_auto_includes(sys.argv[1:]))", words[0], words[1], words[2], words[3],
		words[4], words[5], words[6], words[7], words[8], words[9]).Output()
	if err != nil {
		t.Fatalf("BCC Python: %v", err)
	}
	got := headers.GenerateAutoIncludes(words)
	if got != string(out) || !strings.Contains(got, "linux/blkdev.h") {
		t.Errorf("headers.GenerateAutoIncludes:\n%s\nBCC:\n%s", got, out)
	}
	if headers.GenerateAutoIncludes([]string{"u32", "pid"}) != "" {
		t.Error("no keyword: want no includes")
	}
}

// TestNewWarnsWhenMemlockRaiseFails: on a kernel that charges maps to
// RLIMIT_MEMLOCK, a refused setrlimit does not stop New (the maps may fit
// under the limit, and libbcc retries as BCC does); it becomes a warning.
func TestNewWarnsWhenMemlockRaiseFails(t *testing.T) {
	testutil.RequireRoot(t)
	saved := systemMemlock
	defer func() { systemMemlock = saved }()
	sets := 0
	systemMemlock = memlock.Ops{
		Release: func() (string, error) { return "5.4.0-old", nil },
		Get:     func() (unix.Rlimit, error) { return unix.Rlimit{Cur: 8 << 20, Max: 8 << 20}, nil },
		Set:     func(unix.Rlimit) error { sets++; return unix.EPERM },
	}
	b, err := New(Options{Text: `BPF_ARRAY(a, u64, 1);`})
	if err != nil {
		t.Fatalf("New failed instead of warning: %v", err)
	}
	defer b.Close()
	if sets != 1 {
		t.Errorf("setrlimit attempted %d times, want 1", sets)
	}
	found := false
	for _, w := range b.Warnings() {
		found = found || strings.Contains(w, "RLIMIT_MEMLOCK") && strings.Contains(w, "operation not permitted")
	}
	if !found {
		t.Errorf("no RLIMIT_MEMLOCK warning in %q", b.Warnings())
	}
}

// maskMapFDs zeroes the immediate of 64-bit loads of a map descriptor
// (BPF_PSEUDO_MAP_FD): the descriptor numbers of two processes differ.
func maskMapFDs(insns []byte) []byte {
	out := slices.Clone(insns)
	for i := 0; i+16 <= len(out); i += 8 {
		if out[i] == 0x18 {
			if out[i+1]>>4 == 1 {
				clear(out[i+4 : i+8])
			}
			i += 8
		}
	}
	return out
}
