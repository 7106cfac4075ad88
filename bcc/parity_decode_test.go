package bcc

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"sort"
	"syscall"
	"testing"

	"github.com/gobcc/gobcc/cflags"
	"github.com/gobcc/gobcc/internal/testutil"
)

type pyTable struct {
	Name     string `json:"name"`
	KeyDesc  string `json:"key_desc"`
	LeafDesc string `json:"leaf_desc"`
	KeySize  int    `json:"key_size"`
	LeafSize int    `json:"leaf_size"`
	Items    []struct {
		KeyHex  string `json:"key_hex"`
		LeafHex string `json:"leaf_hex"`
		PyKey   any    `json:"py_key"`
		PyLeaf  any    `json:"py_leaf"`
	} `json:"items"`
}

// TestDecodeParityWithBCCPython loads testdata/ctype_parity.c (21 tables of
// scalar, struct, union, bitfield, enum, pointer, packed, __int128, signed
// char, bool, 2-D array and nested anonymous types) through BCC Python and
// through gobcc, fills both the same way, and checks that gobcc reads the
// same descriptions, sizes and bytes, and decodes scalars to the values
// Python shows. (internal/ctype's parity test checks the decoding of every
// field of the same bytes against Python's ctypes.)
func TestDecodeParityWithBCCPython(t *testing.T) {
	testutil.RequireRoot(t)
	out, err := exec.Command("/usr/bin/python3", "../testdata/ctype_parity.py", "../testdata/ctype_parity.c").Output()
	if err != nil {
		t.Fatalf("BCC Python: %v", err)
	}
	var ref []pyTable
	if err := json.Unmarshal(out, &ref); err != nil {
		t.Fatal(err)
	}
	b, err := New(Options{
		SrcFile: "../testdata/ctype_parity.c",
		CFlags:  []string{cflags.Define("TEST_PID", os.Getpid()), "-w"},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	syscall.Getpid() // fires sys_enter_getpid, which fills the tables
	if len(ref) < 15 {
		t.Fatalf("only %d tables from Python", len(ref))
	}
	total := 0
	for _, pt := range ref {
		total += len(pt.Items)
	}
	if total < 20 {
		t.Fatalf("BCC Python filled only %d items", total)
	}
	for _, pt := range ref {
		tb, err := b.Table(pt.Name)
		if err != nil {
			t.Fatal(err)
		}
		if tb.KeyDesc() != pt.KeyDesc || tb.LeafDesc() != pt.LeafDesc || tb.KeySize() != pt.KeySize || tb.LeafSize() != pt.LeafSize {
			t.Errorf("%s: descriptions differ: gobcc %s/%s %d/%d, BCC %s/%s %d/%d", pt.Name,
				tb.KeyDesc(), tb.LeafDesc(), tb.KeySize(), tb.LeafSize(), pt.KeyDesc, pt.LeafDesc, pt.KeySize, pt.LeafSize)
		}
		items, err := tb.Items()
		if err != nil {
			t.Fatal(err)
		}
		var got, want []string
		for _, it := range items {
			got = append(got, hex.EncodeToString(it.Key.Bytes())+"="+hex.EncodeToString(it.Value.Bytes()))
		}
		for _, it := range pt.Items {
			want = append(want, it.KeyHex+"="+it.LeafHex)
		}
		sort.Strings(got)
		sort.Strings(want)
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s: items differ:\ngobcc %v\nBCC   %v", pt.Name, got, want)
			continue
		}
		// Scalars Python decodes to plain numbers must read the same here.
		for _, it := range items {
			k := hex.EncodeToString(it.Key.Bytes())
			for _, p := range pt.Items {
				if p.KeyHex != k {
					continue
				}
				checkScalar(t, pt.Name+" key", it.Key, p.PyKey)
				checkScalar(t, pt.Name+" leaf", it.Value, p.PyLeaf)
			}
		}
	}
}

func checkScalar(t *testing.T, what string, v Value, py any) {
	t.Helper()
	n, ok := py.(float64)
	if !ok || !v.Type().IsInteger() || v.Type().Size > 8 {
		return
	}
	var got float64
	if v.Type().IsSigned() {
		got = float64(v.Int64())
	} else {
		got = float64(v.Uint64())
	}
	if got != n {
		t.Errorf("%s: gobcc %v, BCC %v", what, got, n)
	}
}
