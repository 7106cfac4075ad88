package ctype

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gobcc/gobcc/internal/testutil"
)

// parityTable is one table as testdata/ctype_parity.py reports it.
type parityTable struct {
	Name         string
	KeyDesc      string `json:"key_desc"`
	LeafDesc     string `json:"leaf_desc"`
	KeySize      int    `json:"key_size"`
	LeafSize     int    `json:"leaf_size"`
	PyKeySize    int    `json:"py_key_size"`
	PyLeafSize   int    `json:"py_leaf_size"`
	PyKeyError   string `json:"py_key_error"`
	PyLeafError  string `json:"py_leaf_error"`
	Items        []parityItem
	keyT, leafT  *Type
	keys, leaves []Value
}

type parityItem struct {
	KeyHex  string `json:"key_hex"`
	LeafHex string `json:"leaf_hex"`
	PyKey   any    `json:"py_key"`
	PyLeaf  any    `json:"py_leaf"`
}

// parityWant is what ctype_parity.c stores in each table, as Value.String
// spells it: the test's own check, independent of Python.
var parityWant = map[string][2]string{
	"t_u8":     {"200", "65000"},
	"t_s16":    {"-1234", "-2000000000"},
	"t_s64":    {"-5000000000", "18364758544493064720"},
	"t_pad":    {`{c: "P", x: 1234605616436508552, s: 48879}`, `{a: 255, b: 65535, c: -32768, d: -123456, e: -9000000000000000000, f: 18000000000000000000}`},
	"t_union":  {"1", `{i: 6513249, f: 9.12700582146515e-39, b: "abc"}`},
	"t_bits":   {"1", "{a: 5, b: 17, c: 737894400291, e: -5, d: 126}"},
	"t_enum":   {"-3", "5"},
	"t_anon":   {"1", `{k: -7, x: 305419896, y: 22136, p: "p", q: "q"}`},
	"t_arr2":   {"1", `{m: [[1, 2, 3], [4, 5, 6]], after: "Z"}`},
	"t_ptr":    {"18446612716735190648", "{p: 18446744071578845184, s: 140733193432013}"},
	"t_packed": {`{a: "k", b: 3735928559, c: 4660}`, "42"},
	"t_i128": {"-1267650600228229401496703205383",
		`{c: "i", v: -3541774862152233910272, u: 170141183460469231731687303715884105737}`},
	"t_sc":     {"-100", "{a: -1, arr: [-128, 0, 127], ub: [1, 200, 255], ok: true}"},
	"t_bool":   {"true", "Q"},
	"t_names":  {"1", `{comm: "bash", tags: ["red", "green"]}`},
	"t_nested": {"1", `{p: {c: "n", x: 77, s: 88}, named: {z: -99}, flags: [1, 2, 4, 8]}`},
	"t_bfn":    {"1", `{a: 9, p: {c: "b", x: 72623859790382856, s: 513}, z: 3}`},
	"t_comm":   {"1", "gobcc-test"},
	"t_fl":     {"1", "{f: 3.1415927410125732, d: -3.141592653589793}"},
	"t_mat":    {"1", "[10, 20, 30, 40, 50, 60]"},
	"t_u128":   {"1", "1267650600228229401496703205381"},
}

// runParity runs testdata/ctype_parity.py with BCC Python and parses and
// decodes its report.
func runParity(t *testing.T) map[string]*parityTable {
	t.Helper()
	testutil.RequireRoot(t)
	const python = "/usr/bin/python3"
	if err := exec.Command(python, "-c", "import bcc").Run(); err != nil {
		testutil.RequireKernel(t, "BCC Python not usable: %v", err)
	}
	dir := filepath.Join("..", "..", "testdata")
	cmd := exec.Command(python, filepath.Join(dir, "ctype_parity.py"), filepath.Join(dir, "ctype_parity.c"))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("ctype_parity.py: %v\n%s", err, stderr.String())
	}
	dec := json.NewDecoder(bytes.NewReader(out))
	dec.UseNumber()
	var list []*parityTable
	if err := dec.Decode(&list); err != nil {
		t.Fatalf("parsing ctype_parity.py output: %v", err)
	}
	tables := map[string]*parityTable{}
	for _, tb := range list {
		tables[tb.Name] = tb
		if tb.keyT, err = Parse(tb.KeyDesc, tb.KeySize); err != nil {
			t.Fatalf("%s key: %v", tb.Name, err)
		}
		if tb.leafT, err = Parse(tb.LeafDesc, tb.LeafSize); err != nil {
			t.Fatalf("%s leaf: %v", tb.Name, err)
		}
		for _, it := range tb.Items {
			k, err1 := tb.keyT.Decode(mustHex(t, it.KeyHex))
			l, err2 := tb.leafT.Decode(mustHex(t, it.LeafHex))
			if err1 != nil || err2 != nil {
				t.Fatalf("%s: decode: %v %v", tb.Name, err1, err2)
			}
			tb.keys = append(tb.keys, k)
			tb.leaves = append(tb.leaves, l)
		}
	}
	return tables
}

func mustHex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// matchPython compares a decoded value with BCC Python's decoding of the
// same bytes. One representation difference is built in: Python holds a
// 128-bit integer as a list of two 64-bit halves, low first. Python bytes
// (chars, char arrays) compare with our text up to the first NUL.
func matchPython(v Value, py any) error {
	if b, ok := pyBytes(py); ok {
		if v.Kind() != Char && v.Kind() != CharArray {
			return fmt.Errorf("python bytes %x, ours %s", b, v.Kind())
		}
		if v.Str() != string(b) {
			return fmt.Errorf("python bytes %q, ours %q", b, v.Str())
		}
		return nil
	}
	switch p := py.(type) {
	case map[string]any:
		if !v.Type().IsAggregate() {
			return fmt.Errorf("python has a struct, we have %s", v.Type())
		}
		if len(p) != len(v.Type().lookup) {
			return fmt.Errorf("python has %d members, we have %d", len(p), len(v.Type().lookup))
		}
		for name, pv := range p {
			f, ok := v.Field(name)
			if !ok {
				return fmt.Errorf("no member %q", name)
			}
			if err := matchPython(f, pv); err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
		}
		return nil
	case []any:
		if v.is128() && len(p) == 2 {
			lo, hi := fmt.Sprint(p[0]), fmt.Sprint(p[1])
			d := v.Bytes()
			wantLo, wantHi := fmt.Sprint(uint64le(d[:8])), fmt.Sprint(uint64le(d[8:]))
			if v.Type().IsSigned() {
				wantLo, wantHi = fmt.Sprint(int64(uint64le(d[:8]))), fmt.Sprint(int64(uint64le(d[8:])))
			}
			if lo != wantLo || hi != wantHi {
				return fmt.Errorf("python halves [%s %s], ours [%s %s]", lo, hi, wantLo, wantHi)
			}
			return nil
		}
		if v.Kind() != Array || v.Len() != len(p) {
			return fmt.Errorf("python has a list of %d, we have %s", len(p), v.Type())
		}
		for i, pv := range p {
			if err := matchPython(v.Index(i), pv); err != nil {
				return fmt.Errorf("[%d]: %w", i, err)
			}
		}
		return nil
	case bool:
		if v.Kind() != Bool || v.Bool() != p {
			return fmt.Errorf("python %v, ours %s %v", p, v.Kind(), v)
		}
		return nil
	case json.Number:
		if strings.ContainsAny(string(p), ".eE") {
			if v.Kind() != Float {
				return fmt.Errorf("python float %s, ours %s", p, v.Kind())
			}
			f, _ := p.Float64()
			if f != v.Float64() {
				return fmt.Errorf("python %s, ours %v", p, v.Float64())
			}
			return nil
		}
		if v.Kind() == Float {
			f, _ := p.Float64()
			if f != v.Float64() {
				return fmt.Errorf("python %s, ours %v", p, v.Float64())
			}
			return nil
		}
		if v.Kind() != Int && v.Kind() != Uint || v.Big().String() != string(p) {
			return fmt.Errorf("python %s, ours %s %v", p, v.Kind(), v)
		}
		return nil
	}
	return fmt.Errorf("unexpected python value %#v", py)
}

func uint64le(b []byte) uint64 {
	var x uint64
	for i := 7; i >= 0; i-- {
		x = x<<8 | uint64(b[i])
	}
	return x
}

// pyBytes recognizes Python's bytes, which ctype_parity.py writes as
// {"bytes": hex}.
func pyBytes(py any) ([]byte, bool) {
	m, ok := py.(map[string]any)
	if !ok || len(m) != 1 {
		return nil, false
	}
	s, ok := m["bytes"].(string)
	if !ok {
		return nil, false
	}
	b, err := hex.DecodeString(s)
	return b, err == nil
}

// TestParityWithBCCPython decodes the raw bytes of real tables, written by a
// BPF program, and compares the result with the program's known values and
// with BCC Python's decoding of the same bytes. Where Python decodes wrongly
// or not at all, the documented difference is asserted instead.
func TestParityWithBCCPython(t *testing.T) {
	tables := runParity(t)
	if len(tables) != len(parityWant) {
		t.Errorf("python reported %d tables, want %d", len(tables), len(parityWant))
	}
	// Python gets these right; compare everything.
	same := []string{"t_u8", "t_s16", "t_s64", "t_pad", "t_union", "t_enum", "t_anon",
		"t_ptr", "t_packed", "t_i128", "t_bool", "t_nested", "t_fl", "t_u128"}
	for name, want := range parityWant {
		tb := tables[name]
		if tb == nil {
			t.Errorf("%s: not reported", name)
			continue
		}
		found := false
		for i := range tb.Items {
			k, l := tb.keys[i], tb.leaves[i]
			// Round trip through the natural Go form.
			for _, v := range []Value{k, l} {
				enc, err := v.Type().Encode(v.Interface())
				if err != nil || !bytes.Equal(enc, v.Bytes()) {
					t.Errorf("%s: Encode(Interface()) = %x, %v; want %x", name, enc, err, v.Bytes())
				}
			}
			if k.String() != want[0] {
				continue
			}
			found = true
			if l.String() != want[1] {
				t.Errorf("%s: leaf = %s, want %s", name, l, want[1])
			}
		}
		if !found {
			t.Errorf("%s: no item with key %s among %d", name, want[0], len(tb.Items))
		}
	}
	for _, name := range same {
		tb := tables[name]
		if tb == nil {
			continue
		}
		if tb.PyKeySize != tb.KeySize || tb.PyLeafSize != tb.LeafSize {
			t.Errorf("%s: python sizes %d/%d, libbcc %d/%d", name, tb.PyKeySize, tb.PyLeafSize, tb.KeySize, tb.LeafSize)
		}
		for i, it := range tb.Items {
			if err := matchPython(tb.keys[i], it.PyKey); err != nil {
				t.Errorf("%s key %s: %v", name, tb.keys[i], err)
			}
			if err := matchPython(tb.leaves[i], it.PyLeaf); err != nil {
				t.Errorf("%s leaf %s: %v", name, tb.leaves[i], err)
			}
		}
	}
	t.Run("differences", func(t *testing.T) { parityDifferences(t, tables) })
}

// parityDifferences asserts how BCC Python goes wrong where we do not.
func parityDifferences(t *testing.T, tables map[string]*parityTable) {
	only := func(name string) (*parityTable, Value, any) {
		tb := tables[name]
		if tb == nil || len(tb.Items) != 1 {
			t.Fatalf("%s: want exactly one item", name)
		}
		if err := matchPython(tb.keys[0], tb.Items[0].PyKey); err != nil {
			t.Errorf("%s key: %v", name, err)
		}
		return tb, tb.leaves[0], tb.Items[0].PyLeaf
	}
	field := func(py any, name string) any { return py.(map[string]any)[name] }

	// signed char: Python's str2ctype has no entry, it cannot build the type.
	if tb := tables["t_sc"]; tb == nil || !strings.Contains(tb.PyKeyError, "signed char") ||
		!strings.Contains(tb.PyLeafError, "signed char") {
		t.Errorf("t_sc: expected Python to fail on signed char, got %+v", tb)
	}

	// Bitfields of mixed types: Python 3.11's ctypes lays them out unlike
	// GCC (12 bytes, d read from the wrong place); the fields before agree.
	tb, l, py := only("t_bits")
	if tb.PyLeafSize == tb.LeafSize {
		t.Errorf("t_bits: Python now lays the struct out at %d bytes like libbcc", tb.PyLeafSize)
	}
	for _, name := range []string{"a", "b", "c", "e"} {
		f, _ := l.Field(name)
		if err := matchPython(f, field(py, name)); err != nil {
			t.Errorf("t_bits.%s: %v", name, err)
		}
	}
	if d, _ := l.Field("d"); matchPython(d, field(py, "d")) == nil {
		t.Errorf("t_bits.d: Python now agrees (%v)", field(py, "d"))
	}

	// 2-D arrays: the description keeps only the outer dimension, Python
	// reads m as its first two ints and "after" from inside m.
	tb, l, py = only("t_arr2")
	if tb.PyLeafSize != 12 || tb.LeafSize != 28 {
		t.Errorf("t_arr2: sizes python %d libbcc %d", tb.PyLeafSize, tb.LeafSize)
	}
	m, _ := l.Field("m")
	if err := matchPython(m.Index(0), []any{json.Number("1"), json.Number("2"), json.Number("3")}); err != nil {
		t.Errorf("t_arr2.m[0]: %v", err)
	}
	if fmt.Sprint(field(py, "m")) != "[1 2]" {
		t.Errorf("t_arr2: Python's m = %v, want its known wrong [1 2]", field(py, "m"))
	}
	if !l.Type().Lossy {
		t.Errorf("t_arr2: type not marked Lossy")
	}

	// Same for a 2-D char array; the members before it agree.
	_, l, py = only("t_names")
	comm, _ := l.Field("comm")
	if err := matchPython(comm, field(py, "comm")); err != nil {
		t.Errorf("t_names.comm: %v", err)
	}
	if b, _ := pyBytes(field(py, "tags")); string(b) != "re" {
		t.Errorf("t_names: Python's tags = %q, want its known wrong \"re\"", b)
	}

	// A libbcc "struct_packed" nested in a bitfield struct: Python aligns it
	// to 1 and reads p from the wrong offset.
	tb, l, py = only("t_bfn")
	if tb.PyLeafSize == tb.LeafSize {
		t.Errorf("t_bfn: Python now lays it out at %d bytes", tb.PyLeafSize)
	}
	if p, _ := l.Field("p"); matchPython(p, field(py, "p")) == nil {
		t.Errorf("t_bfn.p: Python now agrees")
	}

	// Top-level arrays: described as their element type, Python decodes the
	// first element only.
	_, l, py = only("t_comm")
	if b, _ := pyBytes(py); string(b) != l.Str()[:1] {
		t.Errorf("t_comm: Python %q, ours %q", b, l.Str())
	}
	_, l, py = only("t_mat")
	if err := matchPython(l.Index(0), py); err != nil || l.Len() != 6 {
		t.Errorf("t_mat: Python %v, ours %s: %v", py, l, err)
	}
}

func TestParityFilesExist(t *testing.T) {
	for _, f := range []string{"ctype_parity.c", "ctype_parity.py"} {
		if _, err := os.Stat(filepath.Join("..", "..", "testdata", f)); err != nil {
			t.Error(err)
		}
	}
}
